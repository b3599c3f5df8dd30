//! `payrun status [SHEET | --run-id ID]`: refresh every order of the run the gateway has that
//! is not final (2328 status by uuid, BlockATM detail by orderNo), record each change in the
//! book, rewrite the results ledger beside the run's sheet; with
//! `--wait`, poll until no order is pending (an order in doubt is refreshed too, but only `run`
//! can be relied on to resolve it, so it never keeps the wait going).
//!
//! The wait always ends. An order the gateway does not know ([`UNKNOWN_POLLS`] lookups in a
//! row find nothing) or that cannot be looked up is reported, recorded in the book as
//! `unresolved` with the reason, and no longer polled; `--timeout` bounds the whole command
//! (the orders still pending are listed, the ledger rewritten, exit 1).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::book::RunBook;
use crate::cli::StatusArgs;
use crate::commands::connect::{connect, runtime};
use crate::commands::{open_book, results, select_run, Context};
use crate::exit::{Exit, ExitCode};
use crate::ledger::summary::{self, Summary};
use crate::model::{OrderId, Status};
use crate::submit::progress::Progress;
use crate::submit::retry::RetryPolicy;
use crate::submit::stop::interrupt_on_ctrl_c;
use crate::submit::{Engine, Mode, Pacers, Refreshed, Settings};

/// How many status lookups in a row may find an order unknown to the gateway before `status
/// --wait` stops asking about it (a plain `status` stops after its one pass).
pub const UNKNOWN_POLLS: u32 = 5;

/// At most this many orders are named in a message; the ledger has them all.
const NAMED: usize = 20;

/// The statuses a refresh may still change: pending, and in doubt.
fn open(s: Status) -> bool {
    matches!(s, Status::Pending | Status::InDoubt)
}

/// Why `status` stops asking about an order after what the last lookup learned, if it does:
/// `misses` counts the lookups in a row that found the order unknown (this one included).
fn give_up_after(what: &Refreshed, misses: u32, wait: bool) -> Option<String> {
    match what {
        Refreshed::Unknown(why) if misses >= UNKNOWN_POLLS || !wait => Some(format!(
            "status: {why}; {misses} lookup(s) in a row found nothing"
        )),
        Refreshed::NoLookup(why) => Some(format!("status: cannot look this order up: {why}")),
        _ => None,
    }
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

/// `payrun status`.
pub fn execute(ctx: &Context, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let book_file = open_book(ctx)?;
    let run = select_run(ctx, &book_file, args.select.sheet.as_deref())?;
    let gateway = crate::commands::gateway_of(&book_file, &run)?;
    let rate = crate::cli::submit::pacing_rate(
        &ctx.config,
        ctx.global.sandbox,
        gateway,
        args.rate,
        args.rate_above_limit,
    )?;
    let mut config = ctx.config.clone();
    config.gateway = gateway;
    let conn = connect(&config, ctx.global.sandbox)?;
    let account = book_file.find_account(&conn.account)?;
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
    let first = book.ids_where(open)?;
    let engine = Engine::new(
        conn.gateway.clone(),
        conn.expect.clone(),
        book.clone(),
        Pacers::for_gateway(gateway, rate),
        Settings {
            mode: Mode::Single,
            chunk_size: 1,
            concurrency: 4,
            policy: RetryPolicy::default(),
        },
        Arc::new(Progress::new(first.len() as u64, "refreshing", true)),
    );
    let stop = engine.stop.clone();
    let write_ledger = || -> anyhow::Result<Option<Summary>> {
        let (ledger, _) = results::write_beside_sheet(&book_file, gateway, &run, None)?;
        Ok(Some(Summary::from_ledger(&ledger)?))
    };
    let bar = (args.wait && !ctx.global.json)
        .then(|| Progress::new(first.len() as u64, "settling", false));
    let ctrl_c = interrupt_on_ctrl_c(stop.clone(), rt.handle(), None);
    let deadline = args
        .timeout
        .map(|t| tokio::time::Instant::from_std(started + t.duration()));
    let past_deadline = || deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
    let interrupted = |bar: &Option<Progress>| {
        if let Some(b) = bar {
            b.finish();
        }
        eprintln!("interrupted");
        ExitCode::Interrupted
    };
    // Lookups in a row that found an order unknown; orders no longer asked about.
    let mut misses: HashMap<OrderId, u32> = HashMap::new();
    let mut given_up: BTreeSet<OrderId> = BTreeSet::new();
    let mut ids = first;
    let mut last = None;
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
                for (id, what) in learned? {
                    let n = match what {
                        Refreshed::Unknown(_) => {
                            let n = misses.entry(id.clone()).or_default();
                            *n += 1;
                            *n
                        }
                        Refreshed::Answered => {
                            misses.remove(&id);
                            0
                        }
                        _ => misses.get(&id).copied().unwrap_or(0),
                    };
                    if let Some(why) = give_up_after(&what, n, args.wait) {
                        let line = book.get(&id).ok().flatten().map(|r| r.line);
                        engine.unresolved(&id, why.clone())?;
                        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                        let msg = format!("order {id}{at}: {why}; no longer polled");
                        match &bar {
                            Some(b) => b.note(&msg),
                            None => eprintln!("{msg}"),
                        }
                        given_up.insert(id);
                    }
                }
            }
        }
        if let Some(e) = stop.fatal_error() {
            return Err(Exit::refused(format!("the gateway refused: {e}")).into());
        }
        last = write_ledger()?.or(last);
        if stop.interrupted() {
            return Ok(interrupted(&bar));
        }
        let still: Vec<OrderId> = book
            .ids_where(open)?
            .into_iter()
            .filter(|id| !given_up.contains(id))
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
            .any(|id| !given_up.contains(&id));
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
            return Ok(interrupted(&bar));
        }
        if past_deadline() {
            timed_out = true;
            break;
        }
    }
    ctrl_c.abort();
    if let Some(b) = &bar {
        b.finish();
    }
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
    let unknown: Vec<OrderId> = given_up
        .iter()
        .filter(|id| orders.get(*id).is_some_and(|r| r.status == Status::Pending))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        eprintln!(
            "{} accepted order(s) the gateway does not know now: {}; check the gateway account \
             (`payrun status` asks again)",
            unknown.len(),
            name_orders(&book, &unknown)
        );
    }
    if timed_out {
        let mut pending: Vec<&crate::book::OrderRecord> = orders
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
                name_orders(&book, &ids)
            );
        }
    }
    let all_completed =
        !timed_out && !orders.is_empty() && orders.values().all(|r| r.status == Status::Completed);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_order_is_given_up_after_the_bound_or_at_once_without_wait() {
        let unknown = Refreshed::Unknown("the gateway does not know this order (000202)".into());
        for n in 1..UNKNOWN_POLLS {
            assert_eq!(give_up_after(&unknown, n, true), None, "{n}");
        }
        let why = give_up_after(&unknown, UNKNOWN_POLLS, true).unwrap();
        assert!(
            why.contains("000202") && why.contains("5 lookup(s)"),
            "{why}"
        );
        // A plain `status` makes one pass: it says so after it.
        assert!(give_up_after(&unknown, 1, false).is_some());
        // An order that cannot be looked up is given up at once; an answer or a failed lookup
        // never is.
        let none = Refreshed::NoLookup("2328 looks payouts up by uuid only".into());
        assert!(give_up_after(&none, 0, true)
            .unwrap()
            .contains("cannot look this order up"));
        assert_eq!(give_up_after(&Refreshed::Answered, 9, true), None);
        assert_eq!(give_up_after(&Refreshed::NoAnswer, 9, true), None);
    }
}
