//! `payrun run SHEET`: read → open the book → decide which run this is → plan → quote →
//! confirm → submit → reconcile → results ledger. Re-running the same command resumes the run
//! from the book and never pays a row twice; a sheet the book already paid is never paid again
//! unless the user starts a new run (`--new-run`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::Context as _;

use crate::book::choice::{choose, Choice, Wanted};
use crate::book::{self, Book, OrderRecord, RunBook, SheetInfo, SheetSnapshot, SnapshotRow};
use crate::cli::submit::{pacing_rate, settings};
use crate::cli::RunArgs;
use crate::commands::connect::{connect, runtime, Connection};
use crate::commands::load::{
    checked_run_id, load_sheet, plan_of, print_problems, sheet_info, stem,
};
use crate::commands::{already_paid, approve, controls, date_of, open_book, results, Context};
use crate::exit::{Exit, ExitCode};
use crate::model::{OrderId, Status};
use crate::plan::PlannedOrder;
use crate::quote::render::to_text;
use crate::quote::{self, QuoteReport};
use crate::reconcile::status_pass;
use crate::reconcile::triage::{triage, Triage};
use crate::submit::progress::Progress;
use crate::submit::stop::{interrupt_on_ctrl_c, Stop};
use crate::submit::{Engine, Pacers, Settings};
use crate::validate::problem::codes;
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

/// `payrun run SHEET`: the whole flow, each step one call.
pub fn execute(ctx: &Context, args: &RunArgs) -> anyhow::Result<ExitCode> {
    if let Some(code) = already_paid::answer_early(ctx, args)? {
        return Ok(code);
    }
    let sheet = load_sheet(ctx, &args.sheet)?;
    print_problems(&mut std::io::stderr(), &sheet.report)?;
    if let Some(code) = refuse_invalid_rows(args, &sheet, ctx.global.json)? {
        return Ok(code);
    }
    let key_column = controls::key_column(&sheet.columns, args.sheet.key.as_deref())?;
    let settings = settings(&ctx.config, &args.submit)?;
    let (rate, above) = (args.submit.rate, args.submit.rate_above_limit);
    let rate = pacing_rate(
        &ctx.config,
        ctx.global.sandbox,
        ctx.config.gateway,
        rate,
        above,
    )?;
    let book = open_book(ctx)?;
    let conn = connect(&ctx.config, ctx.global.sandbox)?;
    let account = book.account(&conn.account)?;
    let info = sheet_info(&args.sheet.sheet, &sheet);
    let (run, sheet, unfinished) = match open_run(ctx, args, &book, account, &info, sheet)? {
        Opened::Run(run, sheet, unfinished) => (*run, *sheet, unfinished),
        Opened::Answered(code) => return Ok(code),
    };
    let s = Scope {
        ctx,
        args,
        book: &book,
        account,
        run: &run,
        info: &info,
        conn: &conn,
    };
    let _lease = book.lease(&run)?;
    // The results ledger must be writable before money moves, not found unwritable after.
    for target in results::ledger_targets(&run, Some(&args.sheet.sheet)) {
        crate::commands::outputs::check_writable(&target)?;
    }
    let mut plan = plan_of(&sheet, &run.run_id);
    if let Some(code) = refuse_reused_order_ids(&s, &plan)? {
        return Ok(code);
    }
    controls::check_controls(args, &plan)?;
    let history = Some((book.as_ref(), account));
    let recipients = controls::recipient_checks(&sheet, key_column, history, true)?;
    let mut triage = triage_run(&s, &mut plan)?;
    let rt = runtime()?;
    let pacers = Pacers::for_gateway(ctx.config.gateway, rate);
    let Some(mut quote) = price(&s, &rt, &pacers, &mut triage)? else {
        return Ok(ExitCode::Incomplete);
    };
    let pending = triage.to_send.len() + triage.in_doubt.len();
    if pending > 0 {
        // The confirmation shows what changed since the previous run of this sheet.
        quote.variance =
            controls::previous_variance(&book, account, &info.path, &sheet, Some(run.pk))?;
        if book.run_counts(&run)?.sent() == 0 {
            if let Some(r) = crate::commands::repeats::recent_repeats(&book, account, &run, &plan)?
            {
                quote.warnings.push(format!(
                    "{} of {} payouts repeat payouts run {} sent in the last {} hours: is this \
                     sheet a copy of one already paid? [payout_repeats_recent_run]",
                    r.rows,
                    plan.len(),
                    r.runs.join(", "),
                    crate::commands::repeats::WINDOW_HOURS
                ));
            }
        }
    }
    save_plan(&s, &sheet, &plan, &quote, &triage, &recipients.keys)?;
    drop(sheet);
    if pending > 0 {
        let mut to_ack = recipients.to_ack.clone();
        if let Some(n) = unfinished {
            to_ack.insert(codes::PREVIOUS_RUN_UNFINISHED, n);
        }
        approve_and_confirm(&s, &plan, &quote, &triage, &to_ack)?;
    } else {
        eprintln!(
            "nothing to send: every valid row of run {} already has an answer from the gateway",
            run.run_id
        );
    }
    let stop = pay(&s, &rt, pacers, settings, &triage)?;
    finish(&s, &stop)
}

/// What every step of one `run` command works on: the command, its book and gateway
/// account, the run and the sheet it reads, and the gateway connection.
struct Scope<'a> {
    ctx: &'a Context,
    args: &'a RunArgs,
    book: &'a Arc<Book>,
    account: i64,
    run: &'a book::Run,
    info: &'a SheetInfo,
    conn: &'a Connection,
}

/// Sends the run's work through the engine, then the status pass (`reconcile::status_pass`);
/// Ctrl-C finishes what is in flight and sends nothing new. Returns the run's stop signal
/// (fatal answer, interruption) for the exit code.
fn pay(
    s: &Scope<'_>,
    rt: &tokio::runtime::Runtime,
    pacers: Pacers,
    settings: Settings,
    triage: &Triage,
) -> anyhow::Result<Arc<Stop>> {
    let pending = triage.to_send.len() + triage.in_doubt.len();
    let run_book = Arc::new(RunBook::new(s.book.clone(), s.account, Some(s.run.clone())));
    let progress = Arc::new(Progress::new(pending as u64, "paying", s.ctx.global.json));
    let gateway = s.conn.gateway.clone();
    let expect = s.conn.expect.clone();
    let engine = Engine::new(
        gateway,
        expect,
        run_book,
        pacers,
        settings,
        progress.clone(),
    );
    let stop = engine.stop.clone();
    let ctrl_c = interrupt_on_ctrl_c(stop.clone(), rt.handle(), Some(INTERRUPTED));
    let callback = s.ctx.config.callback_url.as_deref();
    let to_send = triage.to_send.iter().map(|o| o.request(callback)).collect();
    let outcome = rt.block_on(async {
        engine.pay(triage.in_doubt.clone(), to_send).await?;
        if !stop.is_set() && pending > 0 {
            status_pass::after_sending(&engine).await?;
        }
        Ok::<_, book::BookError>(())
    });
    ctrl_c.abort();
    progress.finish();
    outcome?;
    Ok(stop)
}

/// What `run` prints on Ctrl-C.
const INTERRUPTED: &str = "\ninterrupted: finishing the requests in flight, sending nothing new";

/// Invalid rows stop the run (exit 1) unless `--skip-invalid`, which says what is left out.
fn refuse_invalid_rows(
    args: &RunArgs,
    sheet: &LoadedSheet,
    json: bool,
) -> anyhow::Result<Option<ExitCode>> {
    let report = &sheet.report;
    if report.invalid == 0 {
        return Ok(None);
    }
    if !args.skip_invalid {
        let message = format!(
            "{} of {} rows are invalid; nothing was sent. Fix them, or pass --skip-invalid to pay only the valid rows.",
            report.invalid, report.rows
        );
        eprintln!("{message}");
        if json {
            // The one document of `--json`: the outcome and the validation report.
            let doc = serde_json::json!({
                "exit_code": ExitCode::Incomplete.code(),
                "error": message,
                "validation": report,
            });
            crate::outln!("{doc}");
        }
        return Ok(Some(ExitCode::Incomplete));
    }
    eprintln!(
        "--skip-invalid: {} invalid row(s) will not be paid",
        report.invalid
    );
    Ok(None)
}

/// The run a `run` command goes on with (and the sheet, still needed), or how it ended
/// without one.
enum Opened {
    /// The run to work on, the sheet, and how many rows another, unfinished run of this sheet
    /// has not finished (a new run started beside it: acknowledged before anything is sent).
    Run(Box<book::Run>, Box<LoadedSheet>, Option<usize>),
    Answered(ExitCode),
}

/// Decides which run this is (`book::choice`) and opens it: a new run, a resumed one, the
/// "already paid" answer, or the refusal of a paid sheet that has changed since (exit 2,
/// with what changed).
fn open_run(
    ctx: &Context,
    args: &RunArgs,
    book: &Arc<Book>,
    account: i64,
    info: &SheetInfo,
    sheet: LoadedSheet,
) -> anyhow::Result<Opened> {
    let wanted_run = ctx
        .global
        .run_id
        .as_deref()
        .map(checked_run_id)
        .transpose()?;
    let wanted = Wanted {
        run_id: wanted_run.as_deref(),
        new_run: args.new_run,
        correcting: args.retry_failed || args.accept_edits,
    };
    let run = match choose(book, account, wanted, info)? {
        Choice::AlreadyPaid(run) => {
            // The ledger is built from the book; the sheet read is not needed any more.
            drop(sheet);
            note_never_begun(book, account, info, &run, &args.sheet.sheet)?;
            let gateway = ctx.config.gateway;
            let code = already_paid::answer(ctx, book, gateway, &run, &args.sheet.sheet)?;
            return Ok(Opened::Answered(code));
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
            let unfinished = unfinished_run_of_sheet(book, account, info)?;
            let run = book.create_run(
                account,
                wanted_run.as_deref(),
                &stem(&args.sheet.sheet),
                info,
                &sheet.columns,
            )?;
            eprintln!("new run {}", run.run_id);
            return Ok(Opened::Run(Box::new(run), Box::new(sheet), unfinished));
        }
    };
    Ok(Opened::Run(Box::new(run), Box::new(sheet), None))
}

/// Names the runs of this sheet begun after `paid` that sent nothing (a `--new-run` stopped
/// by a control or not confirmed): a plain re-run answers "already paid" and never pays them,
/// and says how to.
fn note_never_begun(
    book: &Book,
    account: i64,
    info: &SheetInfo,
    paid: &book::Run,
    sheet: &std::path::Path,
) -> anyhow::Result<()> {
    let key = crate::book::identity::SheetKey::of(info);
    for r in book.sheet_runs(account, &key)? {
        if r.run.pk <= paid.pk {
            break;
        }
        let counts = book.run_counts(&r.run)?;
        if counts.unfinished() && counts.sent() == 0 {
            eprintln!(
                "note: run {} of this sheet (started {}) sent nothing; `payrun run {} --run-id {}` \
                 pays it as a new payout period",
                r.run.run_id,
                r.run.started_at,
                sheet.display(),
                r.run.run_id
            );
        }
    }
    Ok(())
}

/// The rows the latest unfinished run of this sheet (by path or content) that sent something
/// has not finished (not sent or in doubt): a new run started beside it (`--new-run`,
/// a new `--run-id`) pays those rows, and those it did pay, again as a new period. Says so.
fn unfinished_run_of_sheet(
    book: &Book,
    account: i64,
    info: &SheetInfo,
) -> anyhow::Result<Option<usize>> {
    let key = crate::book::identity::SheetKey::of(info);
    for run in book.sheet_runs(account, &key)?.iter().map(|r| &r.run) {
        let counts = book.run_counts(run)?;
        // A run that sent nothing (stopped by a control, not confirmed) pays nothing twice.
        if counts.unfinished() && counts.sent() > 0 {
            let open = counts.get(Status::NotSent) + counts.get(Status::InDoubt);
            eprintln!(
                "warning: run {} of this sheet (started {}) is unfinished: {open} row(s) not \
                 sent or in doubt. A new run pays every row again as a new payout period; \
                 `payrun run` without --new-run or --run-id resumes {} instead \
                 [{}]",
                run.run_id,
                run.started_at,
                run.run_id,
                codes::PREVIOUS_RUN_UNFINISHED
            );
            return Ok(Some(open.max(1) as usize));
        }
    }
    Ok(None)
}

/// Explicit order ids another run of the account already used: listed, nothing sent (exit 1).
fn refuse_reused_order_ids(
    s: &Scope<'_>,
    plan: &[PlannedOrder],
) -> anyhow::Result<Option<ExitCode>> {
    let (book, account, run) = (s.book, s.account, s.run);
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
    if reused.is_empty() {
        return Ok(None);
    }
    for r in &reused {
        eprintln!("{r}");
    }
    eprintln!(
        "nothing was sent: an order id is paid once per account; give these rows new order ids"
    );
    Ok(Some(ExitCode::Incomplete))
}

/// Checks the run's events against their hashes, then sorts the planned orders by what the
/// book says of them (`reconcile::triage`); prints every held row.
fn triage_run(s: &Scope<'_>, plan: &mut [PlannedOrder]) -> anyhow::Result<Triage> {
    let (book, account, run, args) = (s.book, s.account, s.run, s.args);
    book.run_counts(run)?;
    book.verify_run_events(run.pk, &run.run_id)?;
    let orders: HashMap<OrderId, OrderRecord> = book
        .run_orders(account, run.pk)?
        .into_iter()
        .map(|r| (r.order_id.clone(), r))
        .collect();
    let triage = triage(
        &run.run_id,
        plan,
        &orders,
        args.retry_failed,
        args.accept_edits,
    );
    for (line, why) in &triage.held {
        eprintln!("held: line {line}: {why}");
    }
    Ok(triage)
}

/// The fee preview of what is to be sent (nothing new to send: the fees the earlier read
/// quoted). Rows the calculator refused stop the run (None: exit 1) unless `--skip-invalid`,
/// which takes them out of `triage.to_send`. Auth, ban or an unreachable gateway: exit 3.
fn price(
    s: &Scope<'_>,
    rt: &tokio::runtime::Runtime,
    pacers: &Pacers,
    triage: &mut Triage,
) -> anyhow::Result<Option<QuoteReport>> {
    let (book, run, conn, args) = (s.book, s.run, s.conn, s.args);
    let quote = if triage.to_send.is_empty() {
        let (snap, _) = book.snapshot(run)?;
        QuoteReport {
            gateway: conn.gateway.kind().to_string(),
            fee_by_order: snap
                .rows
                .iter()
                .filter_map(|r| Some((r.order_id.clone()?, r.quoted_fee?)))
                .collect(),
            ..Default::default()
        }
    } else {
        rt.block_on(quote::preview(
            conn.gateway.as_ref(),
            pacers,
            &triage.to_send,
            true,
        ))
        .with_context(|| conn.base_url.clone())?
    };
    if quote.unpriced.is_empty() {
        return Ok(Some(quote));
    }
    eprint!("{}", to_text(&quote));
    if !args.skip_invalid {
        let message = format!(
            "{} row(s) could not be priced; nothing was sent. Fix them, or pass --skip-invalid to pay only the priced rows.",
            quote.unpriced.len()
        );
        eprintln!("{message}");
        if s.ctx.global.json {
            // The one document of `--json`: the outcome and the quote with the refused rows.
            let doc = serde_json::json!({
                "exit_code": ExitCode::Incomplete.code(),
                "error": message,
                "quote": quote,
            });
            crate::outln!("{doc}");
        }
        return Ok(None);
    }
    eprintln!(
        "--skip-invalid: {} row(s) the fee calculator refused will not be paid",
        quote.unpriced.len()
    );
    let refused: HashSet<&OrderId> = quote.unpriced.iter().map(|u| &u.order_id).collect();
    triage.to_send.retain(|o| !refused.contains(&o.order_id));
    Ok(Some(quote))
}

/// Records the sheet as the run now reads it and the intent-to-plan of every order to send,
/// when anything changed (the results ledger is built from this).
fn save_plan(
    s: &Scope<'_>,
    sheet: &LoadedSheet,
    plan: &[PlannedOrder],
    quote: &QuoteReport,
    triage: &Triage,
    recipient_keys: &HashMap<u64, String>,
) -> anyhow::Result<()> {
    let (book, account, run, info) = (s.book, s.account, s.run, s.info);
    let callback = s.ctx.config.callback_url.as_deref();
    let mut snap = snapshot(sheet, plan, quote);
    let (old, old_held) = book.snapshot(run)?;
    // A resume quotes only what it sends: a row whose order was sent before keeps the fee it
    // was quoted then (the summary's fees quoted against charged).
    let quoted_before: HashMap<&OrderId, rust_decimal::Decimal> = old
        .rows
        .iter()
        .filter_map(|r| Some((r.order_id.as_ref()?, r.quoted_fee?)))
        .collect();
    for row in &mut snap.rows {
        if let (None, Some(id)) = (row.quoted_fee, &row.order_id) {
            row.quoted_fee = quoted_before.get(id).copied();
        }
    }
    let sheet_changed = old != snap || old_held != triage.held;
    let to_plan: Vec<(OrderRecord, Option<String>)> = triage
        .to_send
        .iter()
        .map(|o| {
            (
                OrderRecord::planned(
                    o.payout.line,
                    o.fields_digest.clone(),
                    o.request(callback),
                    book::now(),
                ),
                recipient_keys.get(&o.payout.line).cloned(),
            )
        })
        .collect();
    if sheet_changed || !to_plan.is_empty() {
        book.save_plan(account, run, info, &snap, &triage.held, &to_plan)?;
    }
    Ok(())
}

/// Four eyes when required (docs/book.md, "Approvals"), then the confirmation: both before
/// anything is sent.
fn approve_and_confirm(
    s: &Scope<'_>,
    plan: &[PlannedOrder],
    quote: &QuoteReport,
    triage: &Triage,
    to_ack: &BTreeMap<&'static str, usize>,
) -> anyhow::Result<()> {
    let (ctx, args, book, account, run) = (s.ctx, s.args, s.book, s.account, s.run);
    let (info, conn) = (s.info, s.conn);
    if args.require_approval || ctx.config.require_approval {
        let runner = approve::runner_name(args.runner.as_deref())
            .ok_or_else(|| Exit::usage("approval required: name who runs it with --runner NAME"))?;
        let approval = approve::check(book, account, run, info, plan, &runner)?;
        if approval.used_by.is_none() {
            book.use_approval(account, run, &approval, &runner)?;
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
        quote,
        &place,
        triage.to_send.len(),
        triage.in_doubt.len(),
        to_ack,
    )
}

/// Writes the results ledger beside the sheet, prints the summary, and ends with the run's
/// exit code (a fatal gateway answer: exit 3; Ctrl-C: 130).
fn finish(s: &Scope<'_>, stop: &Stop) -> anyhow::Result<ExitCode> {
    let (ctx, args, book, run) = (s.ctx, s.args, s.book, s.run);
    let gateway = ctx.config.gateway;
    // Money moved: the summary is shown even when the ledger cannot be written.
    let (ledger, written, unwritten) =
        match results::write_beside_sheet(book, gateway, run, Some(&args.sheet.sheet)) {
            Ok((ledger, written)) => {
                results::pack_settled_runs(book, run.account, ctx.config.pack_after);
                (ledger, written, None)
            }
            Err(e) => (results::ledger_of(book, gateway, run)?, Vec::new(), Some(e)),
        };
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
    if let Some(e) = unwritten {
        return Err(e.context(format!(
            "the payouts above are recorded in the book as run {}, but its results ledger was \
             not written; write it with `payrun report --run-id {} --out FILE`",
            run.run_id, run.run_id
        )));
    }
    if summary.totals.in_doubt > 0 {
        eprintln!(
            "{} order(s) in doubt: the gateway has not confirmed them; run `payrun run {}` again \
             to resolve them (it asks the gateway about each before anything new is sent; \
             nothing is paid twice)",
            summary.totals.in_doubt,
            args.sheet.sheet.display()
        );
    }
    if let Some(e) = stop.fatal_error() {
        return Err(Exit::refused(format!("the gateway stopped the run: {e}")).into());
    }
    if stop.interrupted() {
        return Ok(ExitCode::Interrupted);
    }
    Ok(results::exit_code_of(&results::outcome_statuses(&ledger)))
}
