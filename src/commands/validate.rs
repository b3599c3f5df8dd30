//! `payrun validate SHEET`: read and check every row, print the summary and every problem (or
//! one JSON object with `--json`), optionally write the problems as CSV. Exit 0 when every row
//! is valid, 1 when any row is invalid, 2 when the file cannot be read or a flag is wrong.

use crate::cli::ValidateArgs;
use crate::commands::Context;
use crate::exit::{Exit, ExitCode};
use crate::validate::{self, ValidateOptions};

pub fn execute(ctx: &Context, args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let opts = ValidateOptions::from_args(&args.sheet, &ctx.config)?;
    let path = &args.sheet.sheet;
    if let Some(out) = &args.errors_out {
        crate::commands::outputs::check_output(out, ctx.config.book.as_deref().ok(), Some(path))?;
    }
    let report = validate::validate_file(path, &opts)
        .map_err(|e| Exit::usage(format!("{}: {e}", path.display())))?;
    if let Some(out) = &args.errors_out {
        let mut bytes = Vec::new();
        report
            .write_problems_csv(&mut bytes)
            .map_err(|e| Exit::usage(format!("{}: {e}", out.display())))?;
        crate::ledger::atomic::write_replace(out, &bytes)?;
    }
    if ctx.global.json {
        crate::outln!("{}", serde_json::to_string(&report)?);
    } else {
        crate::out!("{}", report.render_text(&path.display().to_string()));
    }
    Ok(if report.all_valid() {
        ExitCode::Success
    } else {
        ExitCode::Incomplete
    })
}
