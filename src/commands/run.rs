//! `payrun run SHEET`: validate → plan → quote → confirm → submit → reconcile → results ledger.
//! Re-running the same command resumes from the journal and never pays a row twice.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::cli::{RunArgs, SheetArgs};
use crate::commands::connect::{connect, runtime};
use crate::commands::quote::{self, request_of, QuoteReport};
use crate::commands::results;
use crate::commands::Context;
use crate::exit::{Exit, ExitCode};
use crate::gateway::PayoutRequest;
use crate::journal::{
    self, Event, Header, Index, Journal, JournalError, OrderRecord, SheetSnapshot, SnapshotRow,
};
use crate::model::{GatewayKind, OrderId, Status};
use crate::plan::{self, PlannedOrder};
use crate::submit::book::Book;
use crate::submit::progress::Progress;
use crate::submit::retry::RetryPolicy;
use crate::submit::stop::Stop;
use crate::submit::{Engine, Mode, Pacers, Settings};
use crate::validate::{self, LoadedSheet, Report, ValidateOptions};

/// A sheet read, validated and planned.
pub struct Loaded {
    pub sheet: LoadedSheet,
    pub plan: Vec<PlannedOrder>,
    pub run_id: String,
}

/// Reads, validates and plans a sheet. Whole-file problems are usage errors (exit 2).
pub fn load_and_plan(ctx: &Context, args: &SheetArgs) -> anyhow::Result<Loaded> {
    let opts = ValidateOptions::from_args(args, &ctx.config)?;
    let sheet = validate::load(&args.sheet, &opts).map_err(|e| Exit::usage(e.to_string()))?;
    let run_id = match &ctx.global.run_id {
        Some(r) if !r.trim().is_empty() => r.trim().to_string(),
        Some(_) => return Err(Exit::usage("--run-id must not be empty").into()),
        None => stem(&args.sheet),
    };
    let payouts: Vec<_> = sheet.rows.iter().filter_map(|r| r.payout.clone()).collect();
    let plan = plan::plan(&run_id, &payouts);
    Ok(Loaded {
        sheet,
        plan,
        run_id,
    })
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
}

/// `<sheet stem>.ledger.jsonl` beside the sheet, unless `--ledger`.
pub fn journal_path(ctx: &Context, sheet: &Path) -> PathBuf {
    ctx.global
        .ledger
        .clone()
        .unwrap_or_else(|| sheet.with_file_name(format!("{}.ledger.jsonl", stem(sheet))))
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
    Ok(())
}

/// Parses `AMOUNT:CURRENCY`.
fn parse_amount_currency(flag: &str, v: &str) -> Result<(Decimal, String), Exit> {
    let (a, c) = v.split_once(':').ok_or_else(|| {
        Exit::usage(format!(
            "{flag} {v}: expected AMOUNT:CURRENCY, e.g. 5000:USDT"
        ))
    })?;
    let amount = Decimal::from_str(a.trim())
        .map_err(|_| Exit::usage(format!("{flag} {v}: '{a}' is not a plain decimal amount")))?;
    let currency = c.trim().to_ascii_uppercase();
    if currency.is_empty() {
        return Err(Exit::usage(format!("{flag} {v}: the currency is missing")));
    }
    Ok((amount, currency))
}

/// Control totals: refuse (exit 3) before anything is sent when they are not met.
pub fn check_controls(args: &RunArgs, plan: &[PlannedOrder]) -> Result<(), Exit> {
    let mut totals: HashMap<String, Decimal> = HashMap::new();
    for o in plan {
        *totals
            .entry(o.payout.currency.to_ascii_uppercase())
            .or_default() += o.payout.amount;
    }
    let mut problems = Vec::new();
    for m in &args.max_total {
        let (cap, cur) = parse_amount_currency("--max-total", m)?;
        let have = totals.get(&cur).copied().unwrap_or_default();
        if have > cap {
            problems.push(format!("the {cur} total {have} exceeds --max-total {cap}"));
        }
    }
    if let Some(n) = args.expect_count {
        if plan.len() != n {
            problems.push(format!(
                "{} rows would be paid, --expect-count says {n}",
                plan.len()
            ));
        }
    }
    for e in &args.expect_total {
        let (want, cur) = parse_amount_currency("--expect-total", e)?;
        let have = totals.get(&cur).copied().unwrap_or_default();
        if have != want {
            problems.push(format!(
                "the {cur} total is {have}, --expect-total says {want}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Exit::refused(format!(
            "control totals not met, nothing was sent: {}",
            problems.join("; ")
        )))
    }
}

/// What the journal says about each planned order.
#[derive(Debug, Default)]
pub struct Triage {
    /// Never sent, or certainly not applied: to send.
    pub to_send: Vec<PlannedOrder>,
    /// Sent with no known outcome: resolve first.
    pub in_doubt: Vec<OrderId>,
    /// Rows changed since they were sent: reported, never re-sent.
    pub held: Vec<(PlannedOrder, String)>,
}

/// Sorts planned orders by their journal state, holding back rows edited after being sent.
pub fn triage(plan: &[PlannedOrder], orders: &Index) -> Result<Triage, JournalError> {
    let planned: HashSet<&OrderId> = plan.iter().map(|o| &o.order_id).collect();
    // Sent orders whose row no longer plans to the same id: the row was edited or removed.
    // (Only these few full records are decoded.)
    let mut vanished: Vec<OrderRecord> = Vec::new();
    for (id, status) in orders.statuses() {
        if !planned.contains(id) && status != Status::NotSent {
            vanished.extend(orders.record(id)?);
        }
    }
    let by_line: HashMap<u64, &OrderRecord> = vanished.iter().map(|r| (r.line, r)).collect();
    // The requests of vanished orders (few) are decoded to describe and match them.
    let vanished_requests: HashMap<&OrderId, PayoutRequest> = vanished
        .iter()
        .filter_map(|r| Some((&r.order_id, r.request.decode().ok()?)))
        .collect();
    let by_address: HashMap<(String, String), &OrderRecord> = vanished
        .iter()
        .filter_map(|r| {
            let req = vanished_requests.get(&r.order_id)?;
            Some((
                (req.network.clone(), req.to_address.to_ascii_lowercase()),
                r,
            ))
        })
        .collect();
    let mut t = Triage::default();
    for o in plan {
        let known = orders
            .status(&o.order_id)
            .map(|status| (status, orders.digest(&o.order_id).unwrap_or("")));
        match known {
            Some((status, digest))
                if digest != o.fields_digest && !digest.is_empty() && status != Status::NotSent =>
            {
                t.held.push((o.clone(), format!(
                    "line {}: order {} was already sent with other payout fields; it is not sent again (use a new order id or run id to pay the edited row)",
                    o.payout.line, o.order_id
                )));
            }
            Some((Status::InDoubt, _)) => t.in_doubt.push(o.order_id.clone()),
            Some((Status::NotSent, _)) => t.to_send.push(o.clone()),
            // The gateway has them: nothing to do.
            Some(_) => {}
            None => {
                let key = (
                    o.payout.network.code.to_string(),
                    o.payout.address.to_ascii_lowercase(),
                );
                let earlier = by_line.get(&o.payout.line).or_else(|| by_address.get(&key));
                match earlier {
                    Some(prev) => {
                        let was = vanished_requests
                            .get(&prev.order_id)
                            .map(|r| format!("{} {} to {}", r.amount, r.currency, r.to_address))
                            .unwrap_or_else(|| "different payout fields".into());
                        t.held.push((o.clone(), format!(
                            "line {}: changed since it was sent as order {} ({was}, now {} {} to {}); not sent — check the sheet, then use a new --run-id to pay it as a new payout",
                            o.payout.line, prev.order_id, o.payout.amount, o.payout.currency, o.payout.address
                        )))
                    }
                    None => t.to_send.push(o.clone()),
                }
            }
        }
    }
    Ok(t)
}

fn confirm(
    args: &RunArgs,
    report: &QuoteReport,
    sending: usize,
    resolving: usize,
) -> anyhow::Result<()> {
    eprint!("{}", quote::to_text(report));
    eprintln!("{sending} payout(s) to send, {resolving} to resolve from an earlier run.");
    if args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Exit::usage(
            "no terminal to confirm on: pass --yes to pay without confirmation",
        )
        .into());
    }
    eprint!("Type yes to pay: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        return Err(Exit::usage("not confirmed; nothing was sent").into());
    }
    Ok(())
}

fn snapshot(loaded: &Loaded, quote: &QuoteReport) -> SheetSnapshot {
    let ids: HashMap<u64, &OrderId> = loaded
        .plan
        .iter()
        .map(|o| (o.payout.line, &o.order_id))
        .collect();
    let mut reasons: HashMap<u64, Vec<String>> = HashMap::new();
    for p in &loaded.sheet.report.errors {
        reasons
            .entry(p.line)
            .or_default()
            .push(format!("{}: {}", p.column, p.message));
    }
    SheetSnapshot {
        columns: loaded.sheet.columns.clone(),
        sheet_sha256: loaded.sheet.sha256.clone(),
        rows: loaded
            .sheet
            .rows
            .iter()
            .map(|r| {
                let order_id = ids.get(&r.line).map(|id| (*id).clone());
                SnapshotRow {
                    line: r.line,
                    cells: r.cells.clone(),
                    quoted_fee: order_id
                        .as_ref()
                        .and_then(|id| quote.fee_by_order.get(id).copied()),
                    order_id,
                    invalid: r.payout.is_none().then(|| {
                        reasons
                            .get(&r.line)
                            .map(|v| v.join("; "))
                            .unwrap_or_else(|| "invalid".into())
                    }),
                    currency: r.payout.as_ref().map(|p| p.currency.clone()),
                    network: r.payout.as_ref().map(|p| p.network.code.to_string()),
                    amount: r.payout.as_ref().map(|p| p.amount),
                }
            })
            .collect(),
    }
}

/// Submission settings from flags, config and gateway.
pub fn settings(ctx: &Context, args: &crate::cli::SubmitArgs) -> Result<Settings, Exit> {
    let mode = match args.mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => match (ctx.config.gateway, ctx.config.payout_type) {
            (GatewayKind::BlockAtm, crate::cli::config::PayoutType::Balance) => Mode::Batch,
            _ => Mode::Single,
        },
        Some("single") => Mode::Single,
        Some("batch") => {
            if ctx.config.gateway != GatewayKind::BlockAtm {
                return Err(Exit::usage(
                    "--mode batch: 2328 has no batch endpoint (one payout per request)",
                ));
            }
            if ctx.config.payout_type == crate::cli::config::PayoutType::Allowance {
                return Err(Exit::usage("--mode batch: allowance payouts need fromAddress, which the batch endpoint does not carry; use --mode single"));
            }
            Mode::Batch
        }
        Some(other) => {
            return Err(Exit::usage(format!(
                "--mode {other}: expected single or batch"
            )))
        }
    };
    let chunk_size = args.chunk_size.unwrap_or(50);
    if chunk_size == 0 || chunk_size > 1000 {
        return Err(Exit::usage("--chunk-size must be between 1 and 1000"));
    }
    let concurrency = args.concurrency.unwrap_or(4);
    if concurrency == 0 || concurrency > 64 {
        return Err(Exit::usage("--concurrency must be between 1 and 64"));
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(Exit::usage(
                "--rate must be a positive number of requests per second",
            ));
        }
    }
    Ok(Settings {
        mode,
        chunk_size,
        concurrency,
        policy: RetryPolicy::default(),
    })
}

fn journal_error(e: JournalError) -> anyhow::Error {
    Exit::usage(e.to_string()).into()
}

/// The longest status pass `run` makes after sending, in seconds.
const RECONCILE_SECS: u64 = 15;

/// How many lookups fit in `RECONCILE_SECS` at one lookup per `period`.
fn reconcile_budget(period: Duration) -> usize {
    let per = period.as_secs_f64().max(1e-6);
    (RECONCILE_SECS as f64 / per) as usize
}

/// `payrun run SHEET`.
pub fn execute(ctx: &Context, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_and_plan(ctx, &args.sheet)?;
    let report = &loaded.sheet.report;
    if report.invalid > 0 {
        print_problems(&mut std::io::stderr(), report)?;
        if !args.skip_invalid {
            eprintln!(
                "{} of {} rows are invalid; nothing was sent. Fix them, or pass --skip-invalid to pay only the valid rows.",
                report.invalid, report.rows
            );
            return Ok(ExitCode::Incomplete);
        }
        eprintln!(
            "--skip-invalid: {} invalid row(s) will not be paid",
            report.invalid
        );
    } else {
        print_problems(&mut std::io::stderr(), report)?;
    }
    let settings = settings(ctx, &args.submit)?;
    check_controls(args, &loaded.plan)?;
    let journal_path = journal_path(ctx, &args.sheet.sheet);
    let header = Header {
        version: journal::FORMAT_VERSION,
        run_id: loaded.run_id.clone(),
        gateway: ctx.config.gateway,
        sheet: args
            .sheet
            .sheet
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sheet_sha256: loaded.sheet.sha256.clone(),
        created_at: journal::now(),
    };
    let (journal, replay) = Journal::open(&journal_path, &header).map_err(journal_error)?;
    for w in &replay.warnings {
        eprintln!("warning: {w}");
    }
    let triage = triage(&loaded.plan, &replay.orders).map_err(journal_error)?;
    for (_, why) in &triage.held {
        eprintln!("held: {why}");
    }
    let conn = connect(&ctx.config, ctx.global.sandbox)?;
    let rt = runtime()?;
    let rate = args.submit.rate.or(ctx.config.rate);
    let pacers = Pacers::for_gateway(ctx.config.gateway, rate);
    let pending_work = triage.to_send.len() + triage.in_doubt.len();
    let quote = if pending_work == 0 {
        // Nothing to send: no fee preview is needed; keep the fees quoted by the earlier run.
        QuoteReport {
            gateway: ctx.config.gateway.to_string(),
            fee_by_order: replay
                .sheet
                .iter()
                .flat_map(|s| &s.rows)
                .filter_map(|r| Some((r.order_id.clone()?, r.quoted_fee?)))
                .collect(),
            ..Default::default()
        }
    } else {
        rt.block_on(async {
            let mut q = quote::compute(conn.gateway.as_ref(), &pacers.create, &loaded.plan).await?;
            quote::check_balance(conn.gateway.as_ref(), &pacers.lookup, &mut q).await;
            Ok::<_, crate::gateway::GatewayError>(q)
        })
        .map_err(|e| {
            if e.is_fatal() {
                Exit::refused(e.to_string())
            } else {
                Exit::usage(e.to_string())
            }
        })?
    };
    let snap = snapshot(&loaded, &quote);
    let book = Arc::new(Book::new(journal, replay.orders));
    if replay.sheet.as_ref() != Some(&snap) {
        book.record(vec![Event::Sheet {
            snapshot: snap.clone(),
            at: journal::now(),
        }])
        .map_err(journal_error)?;
    }
    if pending_work > 0 {
        confirm(args, &quote, triage.to_send.len(), triage.in_doubt.len())?;
    } else {
        eprintln!("nothing to send: every valid row already has an answer from the gateway");
    }
    let stop = Arc::new(Stop::default());
    let progress = Arc::new(Progress::new(
        pending_work as u64,
        "paying",
        ctx.global.json,
    ));
    let engine = Engine {
        gateway: conn.gateway.clone(),
        book: book.clone(),
        pacers,
        settings,
        stop: stop.clone(),
        progress: progress.clone(),
        planned: Arc::new(
            loaded
                .plan
                .iter()
                .map(|o| (o.order_id.clone(), (o.payout.line, o.fields_digest.clone())))
                .collect(),
        ),
    };
    let callback = ctx.config.callback_url.clone();
    let outcome: Result<(), JournalError> = rt.block_on(async {
        let ctrl_c = {
            let stop = stop.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!(
                        "\ninterrupted: finishing the requests in flight, sending nothing new"
                    );
                    stop.interrupt();
                }
            })
        };
        let absent = engine.resolve_in_doubt(triage.in_doubt.clone()).await?;
        let mut reqs: Vec<_> = triage
            .to_send
            .iter()
            .map(|o| request_of(o, callback.as_deref()))
            .collect();
        reqs.extend(absent);
        if !stop.is_set() {
            engine.send(reqs).await?;
        }
        // Reconcile: one status pass over accepted, non-final orders — when it is quick at the
        // gateway's lookup rate (BlockATM looks orders up one by one at 100/min); otherwise
        // `payrun status --wait` follows them.
        if !stop.is_set() {
            let pending: Vec<OrderId> = book
                .ids_where(|s| s == Status::Pending)
                .into_iter()
                .filter(|id| engine.planned.contains_key(id))
                .collect();
            let budget = reconcile_budget(engine.pacers.lookup.period());
            if pending.len() > budget {
                eprintln!(
                    "{} payouts are pending; follow them with `payrun status --wait` \
                     (a status pass now would take over {RECONCILE_SECS} s at the gateway's lookup rate)",
                    pending.len()
                );
            } else if !pending.is_empty() {
                if conn.sandbox.is_some() {
                    tokio::time::sleep(Duration::from_millis(700)).await;
                }
                engine.refresh(pending).await?;
            }
        }
        ctrl_c.abort();
        Ok(())
    });
    progress.finish();
    outcome.map_err(journal_error)?;
    drop(engine);
    let results_path = results::results_path(&journal_path);
    // (With --json the full summary document is always printed, so the ledger is rebuilt.)
    if !ctx.global.json && !book.changed() && results::up_to_date(&results_path, &journal_path) {
        // A resume that changed nothing: the results ledger written last time still holds.
        let statuses = results::row_statuses(&snap, |id| book.status(id));
        eprintln!("nothing changed; the results ledger is up to date");
        println!(
            "{}\nresults: {}",
            results::count_line(&statuses),
            results_path.display()
        );
        return Ok(results::exit_code_of(&statuses));
    }
    let orders = book.snapshot().map_err(journal_error)?;
    let ledger = results::build(&replay.header, &snap, &orders, &triage.held);
    crate::ledger::write(&results_path, &ledger)?;
    let summary = crate::ledger::summary::Summary::from_ledger(&ledger)?;
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", crate::ledger::summary::to_text(&summary));
        println!(
            "journal: {}\nresults: {}",
            journal_path.display(),
            results_path.display()
        );
    }
    if let Some(e) = stop.fatal_error() {
        return Err(Exit::refused(format!("the gateway stopped the run: {e}")).into());
    }
    if stop.interrupted() {
        return Ok(ExitCode::Interrupted);
    }
    Ok(results::exit_code_of(
        &ledger.rows.iter().map(|r| r.status).collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_pass_is_bounded_by_the_lookup_rate() {
        // 2328: 10/s → 150 lookups; BlockATM: 100/min → 25.
        assert_eq!(reconcile_budget(Duration::from_millis(100)), 150);
        assert_eq!(reconcile_budget(Duration::from_millis(600)), 25);
    }
}
