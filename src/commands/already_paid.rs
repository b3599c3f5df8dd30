//! `payrun run` on a sheet the book already paid (docs/book.md, "A new pay period, or the same
//! run again?", case 3): nothing is sent, the results ledger beside the sheet (and beside this
//! copy of it) is brought up to date, and the answer says which run paid it and when.
//!
//! Two ways to that answer:
//! - [`answer_early`], before the sheet is read: the sheet's SHA-256 names a finished run of the
//!   account, and every results ledger of it beside the sheet is current (`book::ledgers`).
//!   Nothing in it can send money, so it reads only that record: a million-order run is
//!   answered in the time it takes to hash the sheet.
//! - [`answer`], after the sheet is read and the run chosen: checks the run's events, rebuilds
//!   the results ledger and records it.

use std::path::Path;

use crate::book::runs::sheet_key;
use crate::book::{Book, Run};
use crate::cli::RunArgs;
use crate::commands::date_of;
use crate::commands::{connect, open_book, results, Context};
use crate::exit::ExitCode;
use crate::ledger::Ledger;
use crate::model::GatewayKind;

/// The answer from the book alone, when it has one; None when the full path must decide (the
/// sheet unknown or changed, its run unfinished, a ledger out of date, `--json`, or any flag
/// that names or corrects a run).
pub fn answer_early(ctx: &Context, args: &RunArgs) -> anyhow::Result<Option<ExitCode>> {
    if ctx.global.json
        || ctx.global.run_id.is_some()
        || args.new_run
        || args.retry_failed
        || args.accept_edits
    {
        return Ok(None);
    }
    let Some(key) = connect::account_key(&ctx.config, ctx.global.sandbox) else {
        return Ok(None);
    };
    let sheet = &args.sheet.sheet;
    // A workbook's identity includes the worksheet read, known only once it is opened.
    if !matches!(
        crate::sheet::SheetKind::of(sheet),
        Ok(crate::sheet::SheetKind::Csv)
    ) {
        return Ok(None);
    }
    // Only a regular file is hashed here: a FIFO would block (and could not be read again),
    // a directory has no content; the full path refuses them by name.
    if !std::fs::metadata(sheet).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let Ok(sha256) = crate::validate::file_sha256(sheet) else {
        return Ok(None);
    };
    let book = open_book(ctx)?;
    let Some(account) = book.find_account(&key)? else {
        return Ok(None);
    };
    let path = sheet_key(sheet);
    let key = crate::book::identity::SheetKey {
        path: &path,
        worksheet: None,
        sha256: &sha256,
        payouts: None,
    };
    let (by_path, by_sha) = book.runs_of_sheet(account, &key)?;
    let Some(run) = by_sha else { return Ok(None) };
    if by_path.is_some_and(|p| p.pk != run.pk) {
        return Ok(None);
    }
    let Some((note, targets)) = results::current_ledgers(&book, &run, Some(sheet))? else {
        return Ok(None);
    };
    if !note.finished {
        return Ok(None);
    }
    tracing::info!(
        "run {}: answered from the book's record of its current results ledger; the sheet was not read",
        run.run_id
    );
    let code = exit_code(note.accepted);
    say(ctx, &run, &path, code, &note.count_line, &targets, None)?;
    Ok(Some(code))
}

/// The answer once the run is chosen: checks the run's events, rebuilds and records the results
/// ledger beside its sheet and beside `sheet` (this copy).
pub fn answer(
    ctx: &Context,
    book: &Book,
    gateway: GatewayKind,
    run: &Run,
    sheet: &Path,
) -> anyhow::Result<ExitCode> {
    book.verify_run_events(run.pk, &run.run_id)?;
    let (ledger, written) = results::write_beside_sheet(book, gateway, run, Some(sheet))?;
    tracing::info!("run {}: results ledger rebuilt from the book", run.run_id);
    results::pack_settled_runs(book, run.account, ctx.config.pack_after);
    let statuses = results::outcome_statuses(&ledger);
    let code = results::exit_code_of(&statuses);
    say(
        ctx,
        run,
        &sheet_key(sheet),
        code,
        &results::count_line(&ledger),
        &written,
        Some(&ledger),
    )?;
    Ok(code)
}

fn exit_code(accepted: bool) -> ExitCode {
    if accepted {
        ExitCode::Success
    } else {
        ExitCode::Incomplete
    }
}

/// Prints the answer: which run paid the sheet and when (and from which path, for a copy), the
/// rows by status, the results ledgers; `--json`, the summary of `ledger`.
fn say(
    ctx: &Context,
    run: &Run,
    path: &str,
    code: ExitCode,
    count_line: &str,
    written: &[std::path::PathBuf],
    ledger: Option<&Ledger>,
) -> anyhow::Result<()> {
    let moved = if run.sheet_path != path {
        format!(" (from {}; this copy is not paid again)", run.sheet_path)
    } else {
        String::new()
    };
    if code == ExitCode::Success {
        eprintln!(
            "already paid as run {} on {}{moved}: nothing sent. For a new payout period run again with --new-run.",
            run.run_id,
            date_of(&run.started_at)
        );
    } else {
        eprintln!(
            "already run as {} on {}{moved}, not every row paid ({count_line}): nothing sent. \
             --retry-failed sends refused rows again in that run; conflicts need a person \
             to look at the gateway; --new-run starts a new payout period.",
            run.run_id,
            date_of(&run.started_at),
        );
    }
    match ledger {
        Some(ledger) if ctx.global.json => {
            let summary = crate::ledger::summary::Summary::from_ledger(ledger)?;
            crate::outln!("{}", serde_json::to_string_pretty(&summary)?);
        }
        _ => {
            crate::outln!("{count_line}");
            for w in written {
                crate::outln!("results: {}", w.display());
            }
        }
    }
    Ok(())
}
