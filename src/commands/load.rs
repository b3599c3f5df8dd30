//! Reading a sheet for a command: validate it with the command's options, print the
//! worksheet read and every problem, and plan its valid rows under a run id (`run`, `quote`,
//! `approve`).

use std::io::Write;
use std::path::Path;

use crate::book::runs::sheet_key;
use crate::book::SheetInfo;
use crate::cli::SheetArgs;
use crate::commands::Context;
use crate::exit::Exit;
use crate::plan::{self, PlannedOrder};
use crate::validate::{self, LoadedSheet, Report};

/// A sheet read, validated and planned.
pub struct Loaded {
    pub sheet: LoadedSheet,
    pub plan: Vec<PlannedOrder>,
    pub run_id: String,
}

/// Reads and validates a sheet. Whole-file problems are usage errors (exit 2).
pub fn load_sheet(ctx: &Context, args: &SheetArgs) -> anyhow::Result<LoadedSheet> {
    let opts = args.validate_options(&ctx.config)?;
    let sheet = validate::load(&args.sheet, &opts)
        .map_err(|e| Exit::usage(format!("{}: {e}", args.sheet.display())))?;
    if let Some(w) = &sheet.worksheet {
        eprintln!("{}: worksheet '{w}'", args.sheet.display());
    }
    Ok(sheet)
}

/// The valid rows of a sheet planned under a run id.
pub fn plan_of(sheet: &LoadedSheet, run_id: &str) -> Vec<PlannedOrder> {
    let payouts: Vec<_> = sheet.rows.iter().filter_map(|r| r.payout.clone()).collect();
    plan::plan(run_id, &payouts)
}

/// What the book records of the sheet at `path` as read: where it is, its name, the worksheet
/// read, the SHA-256 of its bytes and of what it pays (`SheetInfo::payouts_sha256`).
pub fn sheet_info(path: &Path, sheet: &LoadedSheet) -> SheetInfo {
    SheetInfo {
        payouts_sha256: plan::payouts_digest(sheet.rows.iter().filter_map(|r| r.payout.as_ref())),
        path: sheet_key(path),
        name: path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        worksheet: sheet.worksheet.clone(),
        sha256: sheet.sha256.clone(),
    }
}

/// Reads, validates and plans a sheet under `--run-id` or the id a new run of it would get
/// (for `quote`, which sends nothing).
pub fn load_and_plan(ctx: &Context, args: &SheetArgs) -> anyhow::Result<Loaded> {
    let sheet = load_sheet(ctx, args)?;
    let run_id = match &ctx.global.run_id {
        Some(r) => checked_run_id(r)?,
        None => format!(
            "{}-{}",
            stem(&args.sheet),
            chrono::Utc::now().format("%Y%m%d")
        ),
    };
    let plan = plan_of(&sheet, &run_id);
    Ok(Loaded {
        sheet,
        plan,
        run_id,
    })
}

pub fn checked_run_id(r: &str) -> Result<String, Exit> {
    let r = r.trim();
    if r.is_empty() || r.len() > 64 || r.chars().any(|c| c.is_control()) {
        return Err(Exit::usage(
            "--run-id must be 1 to 64 characters, without control characters",
        ));
    }
    Ok(r.to_string())
}

pub fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
}

/// Prints every row problem as `line 12, amount: …`.
pub fn print_problems(w: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    for p in &report.errors {
        writeln!(
            w,
            "line {}, {}: {} [{}]",
            p.line, p.column, p.message, p.code
        )?;
    }
    for p in &report.warnings {
        writeln!(
            w,
            "warning: line {}, {}: {} [{}]",
            p.line, p.column, p.message, p.code
        )?;
    }
    let unlisted = (report.error_count + report.warning_count)
        .saturating_sub((report.errors.len() + report.warnings.len()) as u64);
    if unlisted > 0 {
        writeln!(
            w,
            "… and {unlisted} more problems ({} errors, {} warnings in all); payrun validate \
             --errors-out FILE lists every one",
            report.error_count, report.warning_count
        )?;
    }
    Ok(())
}
