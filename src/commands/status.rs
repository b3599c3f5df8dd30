//! `payrun status [SHEET | --run-id ID]`: refresh every order of the run the gateway has that
//! is not final (2328 status by uuid, BlockATM detail by orderNo), record each change in the
//! book, rewrite the results ledger beside the run's sheet; with
//! `--wait`, poll until no order is pending (an order in doubt is refreshed too, but only `run`
//! can be relied on to resolve it, so it never keeps the wait going).

use std::sync::Arc;
use std::time::Duration;

use crate::book::RunBook;
use crate::cli::StatusArgs;
use crate::commands::connect::{connect, runtime};
use crate::commands::{open_book, results, select_run, Context};
use crate::exit::{Exit, ExitCode};
use crate::ledger::summary::{self, Summary};
use crate::model::{OrderId, Status};
use crate::submit::progress::Progress;
use crate::submit::retry::RetryPolicy;
use crate::submit::stop::Stop;
use crate::submit::{Engine, Mode, Pacers, Settings};

/// The statuses a refresh may still change: pending, and in doubt.
fn open(s: Status) -> bool {
    matches!(s, Status::Pending | Status::InDoubt)
}

/// `payrun status`.
pub fn execute(ctx: &Context, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(Exit::usage("--interval must be a positive number of seconds").into());
    }
    let book_file = open_book(ctx)?;
    let run = select_run(ctx, &book_file, args.select.sheet.as_deref())?;
    let gateway = crate::commands::gateway_of(&book_file, &run)?;
    let mut config = ctx.config.clone();
    config.gateway = gateway;
    let conn = connect(&config, ctx.global.sandbox)?;
    let account = book_file
        .find_account(&conn.account)
        .map_err(|e| Exit::usage(e.to_string()))?;
    if account != Some(run.account) {
        return Err(Exit::usage(format!(
            "run {} belongs to another gateway account than {}",
            run.run_id,
            conn.account.label()
        ))
        .into());
    }
    let rt = runtime()?;
    let book = Arc::new(RunBook::new(
        book_file.clone(),
        run.account,
        Some(run.clone()),
    ));
    let first = book
        .ids_where(open)
        .map_err(|e| Exit::usage(e.to_string()))?;
    let stop = Arc::new(Stop::default());
    let engine = Engine {
        expect: conn.expect.clone(),
        gateway: conn.gateway.clone(),
        book: book.clone(),
        pacers: Pacers::for_gateway(gateway, args.rate.or(ctx.config.rate)),
        settings: Settings {
            mode: Mode::Single,
            chunk_size: 1,
            concurrency: 4,
            policy: RetryPolicy::default(),
        },
        stop: stop.clone(),
        progress: Arc::new(Progress::new(first.len() as u64, "refreshing", true)),
    };
    let write_ledger = || -> anyhow::Result<Option<Summary>> {
        let (ledger, _) = results::write_beside_sheet(&book_file, gateway, &run, None)?;
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
        last = write_ledger()?.or(last);
        if stop.interrupted() {
            if let Some(b) = &bar {
                b.finish();
            }
            eprintln!("interrupted");
            return Ok(ExitCode::Interrupted);
        }
        let still: Vec<OrderId> = book
            .ids_where(open)
            .map_err(|e| Exit::usage(e.to_string()))?;
        if let Some(b) = &bar {
            for _ in 0..ids.len().saturating_sub(still.len()) {
                b.finished(false);
            }
        }
        // Only pending orders are waited for: an order in doubt may never become final through
        // lookups (2328 looks up by uuid, which it lacks), so it is refreshed while others are
        // pending but never keeps the wait alive; `run` resolves it.
        let pending = !book
            .ids_where(|s| s == Status::Pending)
            .map_err(|e| Exit::usage(e.to_string()))?
            .is_empty();
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
    let orders = book.orders().map_err(|e| Exit::usage(e.to_string()))?;
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
        Some(s) if ctx.global.json => crate::outln!("{}", serde_json::to_string_pretty(s)?),
        Some(s) => crate::out!("{}", summary::to_text(s)),
        None => {
            let count = |st: Status| orders.values().filter(|r| r.status == st).count();
            crate::outln!(
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
