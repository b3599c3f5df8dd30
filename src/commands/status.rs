//! `payrun status [SHEET | --run-id ID]`: refresh every order of the run the gateway has that
//! is not final (2328 status by uuid, BlockATM detail by orderNo), record each change in the
//! book, rewrite the results ledger beside the run's sheet; with
//! `--wait`, poll until no order is pending (an order in doubt is refreshed too, but only `run`
//! can be relied on to resolve it, so it never keeps the wait going).
//!
//! The wait always ends. An order the gateway does not know ([`UNKNOWN_POLLS`](crate::reconcile::follow::UNKNOWN_POLLS) lookups in a
//! row find nothing) or that cannot be looked up is reported, recorded in the book as
//! `unresolved` with the reason, and no longer polled; `--timeout` bounds the whole command
//! (the orders still pending are listed, the ledger rewritten, exit 1).

use std::sync::Arc;

use crate::book::{self, Book, Run, RunBook};
use crate::cli::StatusArgs;
use crate::commands::connect::{connect, runtime};
use crate::commands::{open_existing_book, results, select_run, Context};
use crate::exit::{Exit, ExitCode};
use crate::ledger::summary::{self, Summary};
use crate::model::{GatewayKind, OrderId, Status};
use crate::reconcile::follow::Follow;
use crate::submit::progress::Progress;
use crate::submit::retry::RetryPolicy;
use crate::submit::stop::interrupt_on_ctrl_c;
use crate::submit::{Engine, Mode, Pacers, Settings};

/// At most this many orders are named in a message; the ledger has them all.
const NAMED: usize = 20;

/// The statuses a refresh may still change: pending, and in doubt.
fn open(s: Status) -> bool {
    matches!(s, Status::Pending | Status::InDoubt)
}

/// "id (line N), id (line M), … and K more".
fn name_orders(book: &RunBook, ids: &[OrderId]) -> String {
    let mut named: Vec<String> = ids
        .iter()
        .take(NAMED)
        .map(|id| match book.get(id) {
            Ok(Some(r)) => format!("{id} (line {})", r.line),
            _ => id.to_string(),
        })
        .collect();
    if ids.len() > NAMED {
        named.push(format!("and {} more", ids.len() - NAMED));
    }
    named.join(", ")
}

/// `payrun status`: connect for the run's account, follow its open orders, report.
pub fn execute(ctx: &Context, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let book_file = open_existing_book(ctx)?;
    let run = select_run(ctx, &book_file, args.select.sheet.as_deref())?;
    let gateway = crate::commands::gateway_of(&book_file, &run)?;
    let (rate, above) = (args.rate, args.rate_above_limit);
    let rate =
        crate::cli::submit::pacing_rate(&ctx.config, ctx.global.sandbox, gateway, rate, above)?;
    let mut config = ctx.config.clone();
    config.gateway = gateway;
    let conn = connect(&config, ctx.global.sandbox)?;
    if book_file.find_account(&conn.account)? != Some(run.account) {
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
    let first = book.ids_where(open)?;
    let lookups = Settings {
        mode: Mode::Single,
        chunk_size: 1,
        concurrency: 4,
        policy: RetryPolicy::default(),
    };
    let progress = Arc::new(Progress::new(first.len() as u64, "refreshing", true));
    let pacers = Pacers::for_gateway(gateway, rate);
    let (client, expect) = (conn.gateway.clone(), conn.expect.clone());
    let engine = Engine::new(client, expect, book.clone(), pacers, lookups, progress);
    let ctrl_c = interrupt_on_ctrl_c(engine.stop.clone(), rt.handle(), None);
    let deadline = args
        .timeout
        .map(|t| tokio::time::Instant::from_std(started + t.duration()));
    let target = Target {
        book: &book_file,
        gateway,
        run: &run,
    };
    let polled = poll(ctx, args, &rt, &engine, &target, first, deadline);
    ctrl_c.abort();
    let Some(polled) = polled? else {
        eprintln!("interrupted");
        return Ok(ExitCode::Interrupted);
    };
    report(ctx, args, &book, &polled)
}

/// The run whose results ledger `status` rewrites after each pass.
struct Target<'a> {
    book: &'a Arc<Book>,
    gateway: GatewayKind,
    run: &'a Run,
}

/// What following the orders ended with.
struct Polled {
    /// The summary of the last results ledger written.
    last: Summary,
    follow: Follow,
    timed_out: bool,
}

/// Refreshes the open orders, records what the gateway says and rewrites the results ledger
/// after each pass; with `--wait`, again every `--interval` while an order it still follows is
/// pending, until `--timeout`. None: interrupted (Ctrl-C). A fatal gateway answer: exit 3.
fn poll(
    ctx: &Context,
    args: &StatusArgs,
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    target: &Target<'_>,
    first: Vec<OrderId>,
    deadline: Option<tokio::time::Instant>,
) -> anyhow::Result<Option<Polled>> {
    let book = &engine.book;
    let stop = &engine.stop;
    let bar = (args.wait && !ctx.global.json)
        .then(|| Progress::new(first.len() as u64, "settling", false));
    let finish_bar = || {
        if let Some(b) = &bar {
            b.finish();
        }
    };
    let past_deadline = || deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
    let mut follow = Follow::new(args.wait);
    let mut ids = first;
    let mut last: Summary;
    let mut timed_out = false;
    loop {
        // A refresh cut short by the deadline is dropped: its lookups only read, and each
        // answer already taken is in the book.
        let learned = rt.block_on(async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, engine.refresh(ids.clone()))
                    .await
                    .ok(),
                None => Some(engine.refresh(ids.clone()).await),
            }
        });
        match learned {
            None => timed_out = true,
            Some(learned) => {
                for (id, why) in follow.take(learned?) {
                    let line = book.get(&id).ok().flatten().map(|r| r.line);
                    engine.unresolved(&id, why.clone())?;
                    let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                    let msg = format!("order {id}{at}: {why}; no longer polled");
                    match &bar {
                        Some(b) => b.note(&msg),
                        None => eprintln!("{msg}"),
                    }
                }
            }
        }
        if let Some(e) = stop.fatal_error() {
            return Err(Exit::refused(format!("the gateway refused: {e}")).into());
        }
        let (ledger, _) =
            results::write_beside_sheet(target.book, target.gateway, target.run, None)?;
        results::pack_settled_runs(target.book, target.run.account, ctx.config.pack_after);
        last = Summary::from_ledger(&ledger)?;
        if stop.interrupted() {
            finish_bar();
            return Ok(None);
        }
        let still: Vec<OrderId> = book
            .ids_where(open)?
            .into_iter()
            .filter(|id| follow.follows(id))
            .collect();
        if let Some(b) = &bar {
            for _ in 0..ids.len().saturating_sub(still.len()) {
                b.finished(false);
            }
        }
        // Only pending orders are waited for: an order in doubt may never become final through
        // lookups (2328 looks up by uuid, which it lacks), so it is refreshed while others are
        // pending but never keeps the wait alive; `run` resolves it. Nor does an order the
        // gateway does not know.
        let pending = book
            .ids_where(|s| s == Status::Pending)?
            .into_iter()
            .any(|id| follow.follows(&id));
        if !args.wait || !pending {
            break;
        }
        if timed_out || past_deadline() {
            timed_out = true;
            break;
        }
        ids = still;
        let mut nap = args.interval.duration();
        if let Some(d) = deadline {
            nap = nap.min(d.saturating_duration_since(tokio::time::Instant::now()));
        }
        let slept = rt.block_on(stop.sleep(nap));
        if !slept && stop.interrupted() {
            finish_bar();
            return Ok(None);
        }
        if past_deadline() {
            timed_out = true;
            break;
        }
    }
    finish_bar();
    Ok(Some(Polled {
        last,
        follow,
        timed_out,
    }))
}

/// Says what is left open (in doubt, unknown to the gateway, still pending at the timeout),
/// prints the summary, and ends with 0 only when every order completed.
fn report(
    ctx: &Context,
    args: &StatusArgs,
    book: &RunBook,
    polled: &Polled,
) -> anyhow::Result<ExitCode> {
    let orders = book.orders()?;
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
    let unknown: Vec<OrderId> = polled
        .follow
        .given_up()
        .iter()
        .filter(|id| orders.get(*id).is_some_and(|r| r.status == Status::Pending))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        eprintln!(
            "{} accepted order(s) the gateway does not know now: {}; check the gateway account \
             (`payrun status` asks again)",
            unknown.len(),
            name_orders(book, &unknown)
        );
    }
    if polled.timed_out {
        let mut pending: Vec<&book::OrderRecord> = orders
            .values()
            .filter(|r| r.status == Status::Pending)
            .collect();
        pending.sort_by_key(|r| r.line);
        let ids: Vec<OrderId> = pending.iter().map(|r| r.order_id.clone()).collect();
        let secs = args.timeout.map(|t| t.to_string()).unwrap_or_default();
        if ids.is_empty() {
            eprintln!("timed out after {secs} s");
        } else {
            eprintln!(
                "timed out after {secs} s; {} order(s) still pending: {}",
                ids.len(),
                name_orders(book, &ids)
            );
        }
    }
    // Every order a sheet line stands on completed, and no line held (edited since sent and
    // not sent again ends a run with exit 1, as `run` does); an earlier order the gateway
    // refused whose row was corrected or removed since is history
    // (`LedgerRow::decides_outcome`).
    let t = &polled.last.totals;
    let all_completed = !polled.timed_out
        && !orders.is_empty()
        && t.completed > 0
        && t.pending + t.in_doubt + t.not_sent + t.failed + t.cancelled + t.conflict + t.held == 0;
    if ctx.global.json {
        crate::outln!("{}", serde_json::to_string_pretty(&polled.last)?);
    } else {
        crate::out!("{}", summary::to_text(&polled.last));
    }
    Ok(if all_completed {
        ExitCode::Success
    } else {
        ExitCode::Incomplete
    })
}
