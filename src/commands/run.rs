//! `payrun run SHEET`: read → open the book → decide which run this is → plan → quote →
//! confirm → submit → reconcile → results ledger. Re-running the same command resumes the run
//! from the book and never pays a row twice; a sheet the book already paid is never paid again
//! unless the user starts a new run (`--new-run`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use crate::book::choice::{choose, Choice, Wanted};
use crate::book::{self, OrderRecord, RunBook, SheetSnapshot, SnapshotRow};
use crate::cli::submit::{pacing_rate, settings};
use crate::cli::RunArgs;
use crate::commands::connect::{connect, runtime};
use crate::commands::load::{
    checked_run_id, load_sheet, plan_of, print_problems, sheet_info, stem,
};
use crate::commands::{already_paid, approve, controls, date_of, open_book, results, Context};
use crate::exit::{Exit, ExitCode};
use crate::model::{OrderId, Status};
use crate::plan::PlannedOrder;
use crate::quote::render::to_text;
use crate::quote::{self, QuoteReport};
use crate::reconcile::triage::triage;
use crate::submit::progress::Progress;
use crate::submit::stop::Stop;
use crate::submit::{Engine, Pacers};
use crate::validate::LoadedSheet;
use crate::variance;

fn confirm(
    args: &RunArgs,
    report: &QuoteReport,
    place: &str,
    sending: usize,
    resolving: usize,
    to_ack: &BTreeMap<&'static str, usize>,
) -> anyhow::Result<()> {
    eprintln!("{place}");
    eprint!("{}", to_text(report));
    eprintln!("{sending} payout(s) to send, {resolving} to resolve from an earlier try.");
    controls::acknowledge(to_ack, &args.accept, args.yes)?;
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
    if !answer.trim().eq_ignore_ascii_case("yes") {
        return Err(Exit::usage("not confirmed; nothing was sent").into());
    }
    Ok(())
}

/// The sheet as the results ledger shows it.
fn snapshot(sheet: &LoadedSheet, plan: &[PlannedOrder], quote: &QuoteReport) -> SheetSnapshot {
    let ids: HashMap<u64, &OrderId> = plan.iter().map(|o| (o.payout.line, &o.order_id)).collect();
    let mut reasons: HashMap<u64, Vec<String>> = HashMap::new();
    for p in &sheet.report.errors {
        reasons
            .entry(p.line)
            .or_default()
            .push(format!("{}: {}", p.column, p.message));
    }
    SheetSnapshot {
        columns: sheet.columns.clone(),
        sheet_sha256: sheet.sha256.clone(),
        rows: sheet
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

/// The longest status pass `run` makes after sending, in seconds.
const RECONCILE_SECS: u64 = 15;

/// How many lookups fit in `RECONCILE_SECS` at one lookup per `period`.
fn reconcile_budget(period: Duration) -> usize {
    let per = period.as_secs_f64().max(1e-6);
    (RECONCILE_SECS as f64 / per) as usize
}

/// `payrun run SHEET`.
pub fn execute(ctx: &Context, args: &RunArgs) -> anyhow::Result<ExitCode> {
    if let Some(code) = already_paid::answer_early(ctx, args)? {
        return Ok(code);
    }
    let sheet = load_sheet(ctx, &args.sheet)?;
    let report = &sheet.report;
    print_problems(&mut std::io::stderr(), report)?;
    if report.invalid > 0 {
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
    }
    let key_column = controls::key_column(&sheet.columns, args.sheet.key.as_deref())?;
    let settings = settings(&ctx.config, &args.submit)?;
    let rate = pacing_rate(
        &ctx.config,
        ctx.global.sandbox,
        ctx.config.gateway,
        args.submit.rate,
        args.submit.rate_above_limit,
    )?;
    let wanted_run = ctx
        .global
        .run_id
        .as_deref()
        .map(checked_run_id)
        .transpose()?;
    let book = open_book(ctx)?;
    let conn = connect(&ctx.config, ctx.global.sandbox)?;
    let account = book.account(&conn.account)?;
    let info = sheet_info(&args.sheet.sheet, &sheet);
    let gateway = ctx.config.gateway;
    let run = match choose(
        &book,
        account,
        Wanted {
            run_id: wanted_run.as_deref(),
            new_run: args.new_run,
            correcting: args.retry_failed || args.accept_edits,
        },
        &info,
    )? {
        Choice::AlreadyPaid(run) => {
            // The ledger is built from the book; the sheet read is not needed any more.
            drop(sheet);
            return already_paid::answer(ctx, &book, gateway, &run, &args.sheet.sheet);
        }
        Choice::Differs(run) => {
            let previous = book.run_orders(account, run.pk)?;
            let then: Vec<OrderRecord> = previous.into_iter().filter(|r| r.sent).collect();
            let plan = plan_of(&sheet, &run.run_id);
            let v = variance::compare(
                &run.run_id,
                &variance::sides_of_orders(&then),
                &variance::sides_of_plan(&plan),
            );
            eprint!("{}", variance::to_text(&v));
            return Err(Exit::usage(format!(
                "{} was paid as run {} on {}, and has changed since: nothing was sent. \
                 Run again with --new-run to pay it as a new payout period, or with \
                 --retry-failed / --accept-edits to correct run {}",
                args.sheet.sheet.display(),
                run.run_id,
                date_of(&run.started_at),
                run.run_id
            ))
            .into());
        }
        Choice::Resume(run) => {
            eprintln!("resuming run {} (started {})", run.run_id, run.started_at);
            run
        }
        Choice::New => {
            let run = book.create_run(
                account,
                wanted_run.as_deref(),
                &stem(&args.sheet.sheet),
                &info,
                &sheet.columns,
            )?;
            eprintln!("new run {}", run.run_id);
            run
        }
    };
    let _lease = book.lease(&run)?;
    let mut plan = plan_of(&sheet, &run.run_id);
    // Explicit order ids: never one another run of the account used.
    let mut reused = Vec::new();
    for o in plan.iter().filter(|o| o.payout.explicit_order_id.is_some()) {
        if let Some(other) = book.order_run(account, o.order_id.as_str())? {
            if other != run.run_id {
                reused.push(format!(
                    "line {}, order_id: {} was already used by run {other} [order_id_used]",
                    o.payout.line, o.order_id
                ));
            }
        }
    }
    if !reused.is_empty() {
        for r in &reused {
            eprintln!("{r}");
        }
        eprintln!(
            "nothing was sent: an order id is paid once per account; give these rows new order ids"
        );
        return Ok(ExitCode::Incomplete);
    }
    controls::check_controls(args, &plan)?;
    // Recipient controls against the book (docs/book.md, "Recipients").
    let recipient_keys = controls::recipient_keys(&sheet, key_column.as_ref().map(|k| k.0));
    let key_label = key_column.as_ref().map(|k| k.1.as_str()).unwrap_or("");
    let recipient_warnings =
        controls::recipient_warnings(&sheet, &recipient_keys, key_label, Some((&book, account)))?;
    for p in &recipient_warnings {
        eprintln!(
            "warning: line {}, {}: {} [{}]",
            p.line, p.column, p.message, p.code
        );
    }
    let to_ack = controls::to_acknowledge(report.warnings.iter().chain(&recipient_warnings));
    book.run_counts(&run)?;
    book.verify_run_events(run.pk, &run.run_id)?;
    let orders: HashMap<OrderId, OrderRecord> = book
        .run_orders(account, run.pk)?
        .into_iter()
        .map(|r| (r.order_id.clone(), r))
        .collect();
    let mut triage = triage(
        &run.run_id,
        &mut plan,
        &orders,
        args.retry_failed,
        args.accept_edits,
    );
    for (line, why) in &triage.held {
        eprintln!("held: line {line}: {why}");
    }
    let rt = runtime()?;
    let pacers = Pacers::for_gateway(gateway, rate);
    let quote = if triage.to_send.is_empty() {
        // Nothing new to send: no fee preview; keep the fees the earlier read quoted.
        let (snap, _) = book.snapshot(&run)?;
        QuoteReport {
            gateway: gateway.to_string(),
            fee_by_order: snap
                .rows
                .iter()
                .filter_map(|r| Some((r.order_id.clone()?, r.quoted_fee?)))
                .collect(),
            ..Default::default()
        }
    } else {
        rt.block_on(async {
            let mut q =
                quote::compute(conn.gateway.as_ref(), &pacers.create, &triage.to_send).await?;
            quote::check_balance(conn.gateway.as_ref(), &pacers.lookup, &mut q).await;
            Ok::<_, crate::gateway::GatewayError>(q)
        })
        // Auth, ban or an unreachable gateway: nothing is sent (exit 3).
        .map_err(|e| Exit::refused(format!("{}: {e}", conn.base_url)))?
    };
    if !quote.unpriced.is_empty() {
        eprint!("{}", to_text(&quote));
        if !args.skip_invalid {
            eprintln!(
                "{} row(s) could not be priced; nothing was sent. Fix them, or pass --skip-invalid to pay only the priced rows.",
                quote.unpriced.len()
            );
            return Ok(ExitCode::Incomplete);
        }
        eprintln!(
            "--skip-invalid: {} row(s) the fee calculator refused will not be paid",
            quote.unpriced.len()
        );
        let refused: HashSet<&OrderId> = quote.unpriced.iter().map(|u| &u.order_id).collect();
        triage.to_send.retain(|o| !refused.contains(&o.order_id));
    }
    let pending_work = triage.to_send.len() + triage.in_doubt.len();
    // The confirmation shows what changed since the previous run of this sheet.
    let mut quote = quote;
    if pending_work > 0 {
        quote.variance =
            controls::previous_variance(&book, account, &info.path, &sheet, Some(run.pk))?;
    }
    let callback = ctx.config.callback_url.clone();
    let snap = snapshot(&sheet, &plan, &quote);
    let sheet_changed = {
        let (old, old_held) = book.snapshot(&run)?;
        old != snap || old_held != triage.held
    };
    let to_plan: Vec<(OrderRecord, Option<String>)> = triage
        .to_send
        .iter()
        .map(|o| {
            (
                OrderRecord::planned(
                    o.payout.line,
                    o.fields_digest.clone(),
                    o.request(callback.as_deref()),
                    book::now(),
                ),
                recipient_keys.get(&o.payout.line).cloned(),
            )
        })
        .collect();
    if sheet_changed || !to_plan.is_empty() {
        book.save_plan(account, &run, &info, &snap, &triage.held, &to_plan)?;
    }
    if pending_work > 0 {
        // Four eyes (docs/book.md, "Approvals"): checked before anything is sent.
        if args.require_approval || ctx.config.require_approval {
            let runner = approve::runner_name(args.runner.as_deref()).ok_or_else(|| {
                Exit::usage("approval required: name who runs it with --runner NAME")
            })?;
            let approval = approve::check(&book, account, &run, &info, &plan, &runner)?;
            if approval.used_by.is_none() {
                book.use_approval(account, &run, &approval, &runner)?;
            }
            eprintln!(
                "approved by {} at {} (approval #{}); run by {runner}",
                approval.plan.approver, approval.plan.at, approval.seq
            );
        }
        let place = format!(
            "{} payout: {}, {} via {}, run {}",
            match conn.account.mode {
                book::Mode::Live => "LIVE",
                book::Mode::Sandbox => "SANDBOX",
            },
            conn.account.gateway,
            conn.account.label(),
            conn.base_url,
            run.run_id
        );
        confirm(
            args,
            &quote,
            &place,
            triage.to_send.len(),
            triage.in_doubt.len(),
            &to_ack,
        )?;
    } else {
        eprintln!(
            "nothing to send: every valid row of run {} already has an answer from the gateway",
            run.run_id
        );
    }
    let run_book = Arc::new(RunBook::new(book.clone(), account, Some(run.clone())));
    let stop = Arc::new(Stop::default());
    let progress = Arc::new(Progress::new(
        pending_work as u64,
        "paying",
        ctx.global.json,
    ));
    let engine = Engine {
        expect: conn.expect.clone(),
        gateway: conn.gateway.clone(),
        book: run_book.clone(),
        pacers,
        settings,
        stop: stop.clone(),
        progress: progress.clone(),
    };
    let outcome: Result<(), book::BookError> = rt.block_on(async {
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
            .map(|o| o.request(callback.as_deref()))
            .collect();
        reqs.extend(absent);
        if !stop.is_set() && !reqs.is_empty() {
            engine.send(reqs).await?;
        }
        // Reconcile: one status pass over accepted, non-final orders — when it is quick at the
        // gateway's lookup rate; otherwise `payrun status --wait` follows them.
        if !stop.is_set() && pending_work > 0 {
            let pending: Vec<OrderId> = run_book.ids_where(|s| s == Status::Pending)?;
            let budget = reconcile_budget(engine.pacers.lookup.period());
            if pending.len() > budget {
                eprintln!(
                    "{} payouts are pending; follow them with `payrun status --wait` \
                     (a status pass now would take over {RECONCILE_SECS} s at the gateway's lookup rate)",
                    pending.len()
                );
            } else if !pending.is_empty() {
                for (id, what) in engine.refresh(pending).await? {
                    if let crate::submit::Refreshed::Unknown(why) = what {
                        engine.unresolved(
                            &id,
                            format!("the gateway accepted this order but its status lookup does not find it: {why}"),
                        )?;
                    }
                }
            }
        }
        ctrl_c.abort();
        Ok(())
    });
    progress.finish();
    outcome?;
    drop(engine);
    let (ledger, written) =
        results::write_beside_sheet(&book, gateway, &run, Some(&args.sheet.sheet))?;
    let summary = crate::ledger::summary::Summary::from_ledger(&ledger)?;
    if ctx.global.json {
        crate::outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        crate::out!("{}", crate::ledger::summary::to_text(&summary));
        crate::outln!("book: {} (run {})", book.path().display(), run.run_id);
        for w in &written {
            crate::outln!("results: {}", w.display());
        }
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
