//! `payrun validate SHEET`: read and check every row, print every problem as it is found and
//! then the summary (or one JSON object with `--json`, listing the first problems and counting
//! all), optionally stream the problems as CSV. Exit 0 when every row is valid, 1 when any row
//! is invalid, 2 when the file cannot be read or a flag is wrong. Memory does not grow with the
//! number of problems.

use crate::cli::ValidateArgs;
use crate::commands::Context;
use crate::exit::{Exit, ExitCode};
use crate::ledger::atomic::Replacement;
use crate::validate::report::{problem_line, ProblemsCsv};
use crate::validate::{self, Severity};

pub fn execute(ctx: &Context, args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let opts = args.sheet.validate_options(&ctx.config)?;
    let path = &args.sheet.sheet;
    let out_error = |out: &std::path::Path, e: &dyn std::fmt::Display| {
        Exit::usage(format!("{}: {e}", out.display()))
    };
    let mut errors_out = match &args.errors_out {
        Some(out) => {
            crate::commands::outputs::check_output(
                out,
                ctx.config.book.as_deref().ok(),
                Some(path),
            )?;
            let file = Replacement::create(out).map_err(|e| out_error(out, &e))?;
            Some(ProblemsCsv::new(file).map_err(|e| out_error(out, &e))?)
        }
        None => None,
    };
    let json = ctx.global.json;
    let mut write_failed: Option<std::io::Error> = None;
    let report = validate::validate_file(path, &opts, |severity, p| {
        if !json {
            match severity {
                Severity::Error => crate::outln!("{}", problem_line(p)),
                Severity::Warning => crate::outln!("warning: {}", problem_line(p)),
            }
        }
        if let Some(w) = errors_out.as_mut() {
            if write_failed.is_none() {
                if let Err(e) = w.write(severity, p) {
                    write_failed = Some(e);
                }
            }
        }
    })
    .map_err(|e| Exit::usage(format!("{}: {e}", path.display())))?;
    if let (Some(w), Some(out)) = (errors_out, &args.errors_out) {
        if let Some(e) = write_failed {
            return Err(out_error(out, &e).into());
        }
        let file = w.into_inner().map_err(|e| out_error(out, &e))?;
        file.commit()?;
    }
    if json {
        crate::outln!("{}", serde_json::to_string(&report)?);
    } else {
        crate::out!("{}", report.render_summary(&path.display().to_string()));
        if report.error_count + report.warning_count > 0 {
            crate::outln!(
                "{} errors, {} warnings (listed above)",
                report.error_count,
                report.warning_count
            );
        }
    }
    Ok(if report.all_valid() {
        ExitCode::Success
    } else {
        ExitCode::Incomplete
    })
}
