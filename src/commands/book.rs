//! `payrun book verify` and `payrun book export --out FILE.jsonl`.

use crate::cli::BookCommand;
use crate::commands::outputs::check_output;
use crate::commands::{open_existing_book, Context};
use crate::exit::ExitCode;

/// `payrun book …`.
pub fn execute(ctx: &Context, cmd: &BookCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BookCommand::Verify => {
            let book = match open_existing_book(ctx) {
                Ok(b) => b,
                Err(e) if e.to_string().contains("altered outside payrun") => {
                    crate::outln!("BROKEN: {e}");
                    return Ok(ExitCode::Incomplete);
                }
                Err(e) => return Err(e),
            };
            let report = book.verify()?;
            if ctx.global.json {
                crate::outln!("{}", serde_json::to_string_pretty(&report)?);
            } else if let Some(p) = &report.first_problem {
                crate::outln!("book {}: BROKEN at {p}", book.path().display());
            } else {
                crate::outln!(
                    "book {}: intact ({} events, {} orders)",
                    book.path().display(),
                    report.events,
                    report.orders
                );
            }
            Ok(if report.ok() {
                ExitCode::Success
            } else {
                ExitCode::Incomplete
            })
        }
        BookCommand::Export(args) => {
            let book = open_existing_book(ctx)?;
            check_output(&args.out, Some(book.path()), None)?;
            crate::commands::outputs::check_new(&args.out, args.force)?;
            let mut buf = Vec::new();
            let n = book.export(&mut buf)?;
            crate::ledger::atomic::write_replace(&args.out, &buf)?;
            eprintln!("wrote {n} events to {}", args.out.display());
            Ok(ExitCode::Success)
        }
    }
}
