//! `payrun report [SHEET | --run-id ID] --out FILE`: a run's results ledger (or its summary,
//! `.md`) from the book, written atomically. Reads only; works beside a running `run`.

use crate::cli::ReportArgs;
use crate::commands::outputs::{check_new, check_output};
use crate::commands::{gateway_of, open_existing_book, results, select_run, Context};
use crate::exit::ExitCode;
use crate::ledger::summary::{self, Summary};

/// `payrun report`.
pub fn execute(ctx: &Context, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let book = open_existing_book(ctx)?;
    let sheet = args.select.sheet.as_deref();
    for out in std::iter::once(&args.out).chain(args.summary.iter()) {
        check_output(out, Some(book.path()), sheet)?;
        check_new(out, args.force)?;
    }
    let run = select_run(ctx, &book, sheet)?;
    for out in std::iter::once(&args.out).chain(args.summary.iter()) {
        check_output(out, None, Some(std::path::Path::new(&run.sheet_path)))?;
    }
    let gateway = gateway_of(&book, &run)?;
    let ledger = results::ledger_of(&book, gateway, &run)?;
    crate::ledger::write(&args.out, &ledger)?;
    let s = Summary::from_ledger(&ledger)?;
    if let Some(md) = &args.summary {
        crate::ledger::atomic::write_replace(md, summary::to_markdown(&s).as_bytes())?;
    }
    if ctx.global.json {
        crate::outln!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        eprintln!("wrote {} (run {})", args.out.display(), run.run_id);
    }
    Ok(ExitCode::Success)
}
