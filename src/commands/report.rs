//! `payrun report --out FILE`: the results ledger (or the run summary, `.md`) from the journal,
//! read without taking the journal's lock, written atomically.

use crate::cli::ReportArgs;
use crate::commands::status::find_journal;
use crate::commands::{results, Context};
use crate::exit::{Exit, ExitCode};
use crate::ledger::summary::{self, Summary};

/// `payrun report`.
pub fn execute(ctx: &Context, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let path = find_journal(ctx.global.ledger.as_deref())?;
    let replay = crate::journal::read(&path).map_err(|e| Exit::usage(e.to_string()))?;
    for w in &replay.warnings {
        eprintln!("warning: {w}");
    }
    let snap = replay.sheet.as_ref().ok_or_else(|| {
        Exit::usage(format!(
            "{}: the journal has no sheet snapshot (no run reached submission)",
            path.display()
        ))
    })?;
    let orders = replay
        .orders
        .records()
        .map_err(|e| Exit::usage(e.to_string()))?;
    let ledger = results::build(&replay.header, snap, &orders, &[]);
    crate::ledger::write(&args.out, &ledger)?;
    let s = Summary::from_ledger(&ledger)?;
    if let Some(md) = &args.summary {
        crate::ledger::atomic::write_replace(md, summary::to_markdown(&s).as_bytes())?;
    }
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        eprintln!("wrote {}", args.out.display());
    }
    Ok(ExitCode::Success)
}
