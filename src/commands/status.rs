//! `payrun status`: refresh every order the gateway has that is not final (2328 status by
//! uuid, BlockATM detail by orderNo), journal each change, rewrite the results ledger; with
//! `--wait`, poll until no order is pending (an order in doubt is refreshed too, but only `run`
//! can be relied on to resolve it, so it never keeps the wait going).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cli::StatusArgs;
use crate::commands::connect::{connect, runtime};
use crate::commands::{results, Context};
use crate::exit::{Exit, ExitCode};
use crate::journal::Journal;
use crate::ledger::summary::{self, Summary};
use crate::model::{OrderId, Status};
use crate::submit::book::Book;
use crate::submit::progress::Progress;
use crate::submit::retry::RetryPolicy;
use crate::submit::stop::Stop;
use crate::submit::{Engine, Mode, Pacers, Settings};

/// `--ledger`, else the only `*.ledger.jsonl` in the current directory.
pub fn find_journal(flag: Option<&Path>) -> Result<PathBuf, Exit> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(".")
        .map_err(|e| Exit::usage(format!("cannot list the current directory: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".ledger.jsonl"))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Exit::usage(
            "no journal (*.ledger.jsonl) in the current directory: pass --ledger FILE",
        )),
        _ => Err(Exit::usage(
            "several journals in the current directory: pass --ledger FILE",
        )),
    }
}

/// The statuses a refresh may still change: pending, and in doubt.
fn open(s: Status) -> bool {
    matches!(s, Status::Pending | Status::InDoubt)
}

/// `payrun status`.
pub fn execute(ctx: &Context, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let path = find_journal(ctx.global.ledger.as_deref())?;
    let (journal, replay) =
        Journal::open_existing(&path).map_err(|e| Exit::usage(e.to_string()))?;
    for w in &replay.warnings {
        eprintln!("warning: {w}");
    }
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(Exit::usage("--interval must be a positive number of seconds").into());
    }
    let mut config = ctx.config.clone();
    config.gateway = replay.header.gateway;
    let conn = connect(&config, ctx.global.sandbox)?;
    let rt = runtime()?;
    let header = replay.header.clone();
    let snapshot = replay.sheet.clone();
    let first = replay.orders.ids_where(open);
    let book = Arc::new(Book::new(journal, replay.orders));
    let stop = Arc::new(Stop::default());
    let engine = Engine {
        gateway: conn.gateway.clone(),
        book: book.clone(),
        pacers: Pacers::for_gateway(header.gateway, args.rate.or(ctx.config.rate)),
        settings: Settings {
            mode: Mode::Single,
            chunk_size: 1,
            concurrency: 4,
            policy: RetryPolicy::default(),
        },
        stop: stop.clone(),
        progress: Arc::new(Progress::new(first.len() as u64, "refreshing", true)),
        planned: Arc::default(),
    };
    let write_ledger = |book: &Book| -> anyhow::Result<Option<Summary>> {
        let Some(snap) = &snapshot else {
            eprintln!(
                "warning: the journal has no sheet snapshot; the results ledger is not rewritten"
            );
            return Ok(None);
        };
        let ledger = results::build(&header, snap, &book.snapshot()?, &[]);
        crate::ledger::write(&results::results_path(&path), &ledger)?;
        Ok(Some(Summary::from_ledger(&ledger)?))
    };
    let bar = (args.wait && !ctx.global.json)
        .then(|| Progress::new(first.len() as u64, "settling", false));
    // One Ctrl-C listener for the whole command: once tokio has taken SIGINT over, a signal
    // that arrives while nobody listens would be lost, so it must not listen only in the pauses.
    let ctrl_c = {
        let stop = stop.clone();
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.interrupt();
            }
        })
    };
    let mut ids = first;
    let mut last = None;
    loop {
        let result = rt.block_on(engine.refresh(ids.clone()));
        result.map_err(|e| Exit::usage(e.to_string()))?;
        if let Some(e) = stop.fatal_error() {
            return Err(Exit::refused(format!("the gateway refused: {e}")).into());
        }
        last = write_ledger(&book)?.or(last);
        if stop.interrupted() {
            if let Some(b) = &bar {
                b.finish();
            }
            eprintln!("interrupted");
            return Ok(ExitCode::Interrupted);
        }
        let still: Vec<OrderId> = book.ids_where(open);
        if let Some(b) = &bar {
            for _ in 0..ids.len().saturating_sub(still.len()) {
                b.finished(false);
            }
        }
        // Only pending orders are waited for: an order in doubt may never become final through
        // lookups (2328 looks up by uuid, which it lacks), so it is refreshed while others are
        // pending but never keeps the wait alive; `run` resolves it.
        let pending = !book.ids_where(|s| s == Status::Pending).is_empty();
        if !args.wait || !pending {
            break;
        }
        ids = still;
        let slept = rt.block_on(stop.sleep(Duration::from_secs_f64(args.interval)));
        if !slept && stop.interrupted() {
            if let Some(b) = &bar {
                b.finish();
            }
            eprintln!("interrupted");
            return Ok(ExitCode::Interrupted);
        }
    }
    ctrl_c.abort();
    if let Some(b) = &bar {
        b.finish();
    }
    let orders = book.snapshot().map_err(|e| Exit::usage(e.to_string()))?;
    let in_doubt = orders
        .values()
        .filter(|r| r.status == Status::InDoubt)
        .count();
    if in_doubt > 0 {
        eprintln!(
            "{in_doubt} order(s) in doubt: the gateway has not confirmed them and a status lookup \
             cannot; run `payrun run` again with the same sheet to resolve them (it re-sends the \
             same order id or looks it up; nothing is paid twice)"
        );
    }
    let all_completed =
        !orders.is_empty() && orders.values().all(|r| r.status == Status::Completed);
    match &last {
        Some(s) if ctx.global.json => println!("{}", serde_json::to_string_pretty(s)?),
        Some(s) => print!("{}", summary::to_text(s)),
        None => {
            let count = |st: Status| orders.values().filter(|r| r.status == st).count();
            println!(
                "completed {}, failed {}, cancelled {}, pending {}, in doubt {}",
                count(Status::Completed),
                count(Status::Failed),
                count(Status::Cancelled),
                count(Status::Pending),
                count(Status::InDoubt)
            );
        }
    }
    Ok(if all_completed {
        ExitCode::Success
    } else {
        ExitCode::Incomplete
    })
}
