//! `payrun run SHEET`: read → open the book → decide which run this is → plan → quote →
//! confirm → submit → reconcile → results ledger. Re-running the same command resumes the run
//! from the book and never pays a row twice; a sheet the book already paid is never paid again
//! unless the user starts a new run (`--new-run`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::book::runs::sheet_key;
use crate::book::{self, Book, OrderRecord, Run, RunBook, SheetInfo, SheetSnapshot, SnapshotRow};
use crate::cli::{RunArgs, SheetArgs};
use crate::commands::connect::{connect, runtime};
use crate::commands::quote::{self, request_of, QuoteReport};
use crate::commands::{already_paid, approve, controls, open_book, results, Context};
use crate::exit::{Exit, ExitCode};
use crate::model::{OrderId, Status};
use crate::plan::{self, PlannedOrder};
use crate::submit::progress::Progress;
use crate::submit::retry::RetryPolicy;
use crate::submit::stop::Stop;
use crate::submit::{Engine, Mode, Pacers, Settings};
use crate::validate::{self, LoadedSheet, Report, ValidateOptions};
use crate::variance;

/// A sheet read, validated and planned.
pub struct Loaded {
    pub sheet: LoadedSheet,
    pub plan: Vec<PlannedOrder>,
    pub run_id: String,
}

/// Reads and validates a sheet. Whole-file problems are usage errors (exit 2).
pub fn load_sheet(ctx: &Context, args: &SheetArgs) -> anyhow::Result<LoadedSheet> {
    let opts = ValidateOptions::from_args(args, &ctx.config)?;
    let sheet = validate::load(&args.sheet, &opts)
        .map_err(|e| Exit::usage(format!("{}: {e}", args.sheet.display())))?;
    if let Some(w) = &sheet.worksheet {
        eprintln!("{}: worksheet '{w}'", args.sheet.display());
    }
    Ok(sheet)
}

/// The valid rows of a sheet planned under a run id.
pub fn plan_of(sheet: &LoadedSheet, run_id: &str) -> Vec<PlannedOrder> {
    let payouts: Vec<_> = sheet.rows.iter().filter_map(|r| r.payout.clone()).collect();
    plan::plan(run_id, &payouts)
}

/// What the book records of the sheet at `path` as read: where it is, its name, the worksheet
/// read and the SHA-256 of its bytes.
pub fn sheet_info(path: &Path, sheet: &LoadedSheet) -> SheetInfo {
    SheetInfo {
        path: sheet_key(path),
        name: path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        worksheet: sheet.worksheet.clone(),
        sha256: sheet.sha256.clone(),
    }
}

/// Reads, validates and plans a sheet under `--run-id` or the id a new run of it would get
/// (for `quote`, which sends nothing).
pub fn load_and_plan(ctx: &Context, args: &SheetArgs) -> anyhow::Result<Loaded> {
    let sheet = load_sheet(ctx, args)?;
    let run_id = match &ctx.global.run_id {
        Some(r) => checked_run_id(r)?,
        None => format!(
            "{}-{}",
            stem(&args.sheet),
            chrono::Utc::now().format("%Y%m%d")
        ),
    };
    let plan = plan_of(&sheet, &run_id);
    Ok(Loaded {
        sheet,
        plan,
        run_id,
    })
}

fn checked_run_id(r: &str) -> Result<String, Exit> {
    let r = r.trim();
    if r.is_empty() || r.len() > 64 || r.chars().any(|c| c.is_control()) {
        return Err(Exit::usage(
            "--run-id must be 1 to 64 characters, without control characters",
        ));
    }
    Ok(r.to_string())
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
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
    let unlisted = (report.error_count + report.warning_count)
        .saturating_sub((report.errors.len() + report.warnings.len()) as u64);
    if unlisted > 0 {
        writeln!(
            w,
            "… and {unlisted} more problems ({} errors, {} warnings in all); payrun validate \
             --errors-out FILE lists every one",
            report.error_count, report.warning_count
        )?;
    }
    Ok(())
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
        let (cap, cur) = (m.amount, &m.currency);
        let have = totals.get(cur).copied().unwrap_or_default();
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
        let (want, cur) = (e.amount, &e.currency);
        let have = totals.get(cur).copied().unwrap_or_default();
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

/// Which run `payrun run SHEET` means (docs/book.md, "A new pay period, or the same run again?").
#[derive(Debug)]
pub enum Choice {
    /// No run of this sheet: a new one.
    New,
    /// Resume this run (unfinished, named by `--run-id`, or corrected with the flags).
    Resume(Run),
    /// A finished run with the same content: nothing to send.
    AlreadyPaid(Run),
    /// A finished run of the same path with other content: the user must choose.
    Differs(Run),
}

/// Decides which run a command means, from the book alone.
pub fn choose(
    book: &Book,
    account: i64,
    args: &RunArgs,
    run_id: Option<&str>,
    sheet: &SheetInfo,
) -> Result<Choice, book::BookError> {
    if let Some(id) = run_id {
        return Ok(match book.run_by_id(account, id)? {
            Some(run) => Choice::Resume(run),
            None => Choice::New,
        });
    }
    if args.new_run {
        return Ok(Choice::New);
    }
    let (by_path, by_sha) = book.runs_of_sheet(account, &sheet.path, &sheet.sha256)?;
    let correcting = args.retry_failed || args.accept_edits;
    if let Some(run) = &by_path {
        if book.run_counts(run)?.unfinished() {
            return Ok(Choice::Resume(run.clone()));
        }
    }
    if let Some(run) = &by_sha {
        if book.run_counts(run)?.unfinished() || correcting {
            return Ok(Choice::Resume(run.clone()));
        }
        return Ok(Choice::AlreadyPaid(run.clone()));
    }
    Ok(match by_path {
        Some(run) if correcting => Choice::Resume(run),
        Some(run) => Choice::Differs(run),
        None => Choice::New,
    })
}

/// What the book says about each planned order.
#[derive(Debug, Default)]
pub struct Triage {
    /// To send now (never sent, certainly not applied, or a correction as a new order).
    pub to_send: Vec<PlannedOrder>,
    /// Sent with no known outcome: resolve first.
    pub in_doubt: Vec<OrderId>,
    /// Rows changed since they were sent, by sheet line: reported, not sent.
    pub held: BTreeMap<u64, String>,
}

/// Sorts planned orders by their state in the book. A row whose order the run sent with other
/// payout fields (found by line, else by address) is held unless `--accept-edits` (any earlier
/// status) or `--retry-failed` (earlier order refused) says to send it as a new order; an
/// unchanged row whose order was refused is sent again under a retry id with `--retry-failed`.
/// Mutates `plan` in that last case, so the rows point at the new order.
pub fn triage(
    run_id: &str,
    plan: &mut [PlannedOrder],
    orders: &HashMap<OrderId, OrderRecord>,
    retry_failed: bool,
    accept_edits: bool,
) -> Triage {
    let planned: HashSet<&OrderId> = plan.iter().map(|o| &o.order_id).collect();
    // Sent orders no planned row has: rows edited or removed since they were sent.
    let vanished: Vec<&OrderRecord> = orders
        .values()
        .filter(|r| r.sent && !planned.contains(&r.order_id))
        .collect();
    let by_line: HashMap<u64, &OrderRecord> = vanished.iter().map(|r| (r.line, *r)).collect();
    let by_address: HashMap<(String, String), &OrderRecord> = vanished
        .iter()
        .map(|r| {
            (
                (
                    r.request.network.clone(),
                    r.request.to_address.to_ascii_lowercase(),
                ),
                *r,
            )
        })
        .collect();
    let refused = |s: Status| matches!(s, Status::Failed | Status::Cancelled);
    let mut t = Triage::default();
    for o in plan.iter_mut() {
        match orders.get(&o.order_id) {
            Some(rec) if rec.sent && rec.digest != o.fields_digest => {
                t.held.insert(
                    o.payout.line,
                    format!(
                        "order {} was already sent with other payout fields; not sent again",
                        o.order_id
                    ),
                );
            }
            Some(rec) if rec.status == Status::InDoubt => t.in_doubt.push(o.order_id.clone()),
            Some(rec) if rec.status == Status::NotSent => t.to_send.push(o.clone()),
            Some(rec) if retry_failed && refused(rec.status) => {
                let mut attempt = 1;
                let mut id = plan::retry_order_id(run_id, &rec.order_id, attempt);
                while let Some(r) = orders.get(&id).filter(|r| r.sent) {
                    if !refused(r.status) {
                        break;
                    }
                    attempt += 1;
                    id = plan::retry_order_id(run_id, &rec.order_id, attempt);
                }
                o.order_id = id;
                match orders.get(&o.order_id).map(|r| r.status) {
                    Some(Status::InDoubt) => t.in_doubt.push(o.order_id.clone()),
                    Some(s) if s != Status::NotSent => {}
                    _ => t.to_send.push(o.clone()),
                }
            }
            // The gateway has it (or it ended): nothing to do.
            Some(_) => {}
            None => {
                let key = (
                    o.payout.network.code.to_string(),
                    o.payout.address.to_ascii_lowercase(),
                );
                let earlier = by_line.get(&o.payout.line).or_else(|| by_address.get(&key));
                match earlier {
                    Some(prev) if accept_edits || (retry_failed && refused(prev.status)) => {
                        t.to_send.push(o.clone())
                    }
                    Some(prev) => {
                        let flag = if refused(prev.status) {
                            "--retry-failed"
                        } else {
                            "--accept-edits"
                        };
                        t.held.insert(o.payout.line, format!(
                            "changed since it was sent as order {} ({} {} to {}, {}; now {} {} to {}); not sent — check the sheet, then run again with {flag} to send it as a new order of this run",
                            prev.order_id, prev.request.amount, prev.request.currency, prev.request.to_address, prev.status,
                            o.payout.amount, o.payout.currency, o.payout.address
                        ));
                    }
                    None => t.to_send.push(o.clone()),
                }
            }
        }
    }
    // Orders in doubt that no row plans any more are resolved too: they may have been paid.
    let listed: HashSet<OrderId> = t.in_doubt.iter().cloned().collect();
    t.in_doubt.extend(
        vanished
            .iter()
            .filter(|r| r.status == Status::InDoubt && !listed.contains(&r.order_id))
            .map(|r| r.order_id.clone()),
    );
    t
}

fn confirm(
    args: &RunArgs,
    report: &QuoteReport,
    place: &str,
    sending: usize,
    resolving: usize,
    to_ack: &BTreeMap<&'static str, usize>,
) -> anyhow::Result<()> {
    eprintln!("{place}");
    eprint!("{}", quote::to_text(report));
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

/// Submission settings from flags, config and gateway.
pub fn settings(ctx: &Context, args: &crate::cli::SubmitArgs) -> Result<Settings, Exit> {
    use crate::cli::config::PayoutType;
    use crate::model::GatewayKind;
    let mode = match args.mode {
        None => match (ctx.config.gateway, ctx.config.payout_type) {
            (GatewayKind::BlockAtm, PayoutType::Balance) => Mode::Batch,
            _ => Mode::Single,
        },
        Some(crate::cli::ModeArg::Single) => Mode::Single,
        Some(crate::cli::ModeArg::Batch) => {
            if ctx.config.gateway != GatewayKind::BlockAtm {
                return Err(Exit::usage(
                    "--mode batch: 2328 has no batch endpoint (one payout per request)",
                ));
            }
            if ctx.config.payout_type == PayoutType::Allowance {
                return Err(Exit::usage("--mode batch: allowance payouts need fromAddress, which the batch endpoint does not carry; use --mode single"));
            }
            Mode::Batch
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
    Ok(Settings {
        mode,
        chunk_size,
        concurrency,
        policy: RetryPolicy::default(),
    })
}

/// The rate (requests per second) to pace `gateway` at: `--rate`, else `PAYRUN_RATE` / `rate =`,
/// else None (the published limit). Above the published limit it is refused (exit 2) unless
/// allowed (`--rate-above-limit`, `rate_above_limit = true`), and then a warning says so — or
/// unless the gateway is a local one (`--sandbox`, or a loopback base URL), which is not the
/// gateway whose limit is published.
pub fn pacing_rate(
    ctx: &Context,
    gateway: crate::model::GatewayKind,
    rate: Option<crate::cli::values::PerSecond>,
    above_limit: bool,
) -> Result<Option<f64>, Exit> {
    let local = ctx.global.sandbox || is_loopback(&ctx.config.effective_base_url());
    let choice = crate::cli::config::choose_rate(gateway, rate, above_limit, local, &ctx.config)
        .map_err(|e| Exit::usage(e.to_string()))?;
    if let Some(w) = &choice.warning {
        eprintln!("{w}");
    }
    Ok(choice.rate)
}

/// Whether a base URL names this machine (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    match url.host_str() {
        Some(h) if h.eq_ignore_ascii_case("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// A book problem ends the command with exit 2.
pub fn book_error(e: book::BookError) -> anyhow::Error {
    Exit::usage(e.to_string()).into()
}

/// The longest status pass `run` makes after sending, in seconds.
const RECONCILE_SECS: u64 = 15;

/// How many lookups fit in `RECONCILE_SECS` at one lookup per `period`.
fn reconcile_budget(period: Duration) -> usize {
    let per = period.as_secs_f64().max(1e-6);
    (RECONCILE_SECS as f64 / per) as usize
}

/// The date part (`YYYY-MM-DD`) of an RFC 3339 time.
pub(crate) fn date_of(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
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
    let settings = settings(ctx, &args.submit)?;
    let rate = pacing_rate(
        ctx,
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
    let account = book.account(&conn.account).map_err(book_error)?;
    let info = sheet_info(&args.sheet.sheet, &sheet);
    let gateway = ctx.config.gateway;
    let run =
        match choose(&book, account, args, wanted_run.as_deref(), &info).map_err(book_error)? {
            Choice::AlreadyPaid(run) => {
                // The ledger is built from the book; the sheet read is not needed any more.
                drop(sheet);
                return already_paid::answer(ctx, &book, gateway, &run, &args.sheet.sheet);
            }
            Choice::Differs(run) => {
                let previous = book.run_orders(account, run.pk).map_err(book_error)?;
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
                let run = book
                    .create_run(
                        account,
                        wanted_run.as_deref(),
                        &stem(&args.sheet.sheet),
                        &info,
                        &sheet.columns,
                    )
                    .map_err(book_error)?;
                eprintln!("new run {}", run.run_id);
                run
            }
        };
    let _lease = book.lease(&run).map_err(book_error)?;
    let mut plan = plan_of(&sheet, &run.run_id);
    // Explicit order ids: never one another run of the account used.
    let mut reused = Vec::new();
    for o in plan.iter().filter(|o| o.payout.explicit_order_id.is_some()) {
        if let Some(other) = book
            .order_run(account, o.order_id.as_str())
            .map_err(book_error)?
        {
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
    check_controls(args, &plan)?;
    // Recipient controls against the book (docs/book.md, "Recipients").
    let recipient_keys = controls::recipient_keys(&sheet, key_column.as_ref().map(|k| k.0));
    let key_label = key_column.as_ref().map(|k| k.1.as_str()).unwrap_or("");
    let recipient_warnings =
        controls::recipient_warnings(&sheet, &recipient_keys, key_label, Some((&book, account)))
            .map_err(book_error)?;
    for p in &recipient_warnings {
        eprintln!(
            "warning: line {}, {}: {} [{}]",
            p.line, p.column, p.message, p.code
        );
    }
    let to_ack = controls::to_acknowledge(report.warnings.iter().chain(&recipient_warnings));
    book.run_counts(&run).map_err(book_error)?;
    book.verify_run_events(run.pk, &run.run_id)
        .map_err(book_error)?;
    let orders: HashMap<OrderId, OrderRecord> = book
        .run_orders(account, run.pk)
        .map_err(book_error)?
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
        let (snap, _) = book.snapshot(&run).map_err(book_error)?;
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
        eprint!("{}", quote::to_text(&quote));
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
            controls::previous_variance(&book, account, &info.path, &sheet, Some(run.pk))
                .map_err(book_error)?;
    }
    let callback = ctx.config.callback_url.clone();
    let snap = snapshot(&sheet, &plan, &quote);
    let sheet_changed = {
        let (old, old_held) = book.snapshot(&run).map_err(book_error)?;
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
                    request_of(o, callback.as_deref()),
                    book::now(),
                ),
                recipient_keys.get(&o.payout.line).cloned(),
            )
        })
        .collect();
    if sheet_changed || !to_plan.is_empty() {
        book.save_plan(account, &run, &info, &snap, &triage.held, &to_plan)
            .map_err(book_error)?;
    }
    if pending_work > 0 {
        // Four eyes (docs/book.md, "Approvals"): checked before anything is sent.
        if args.require_approval || ctx.config.require_approval {
            let runner = approve::runner_name(args.runner.as_deref()).ok_or_else(|| {
                Exit::usage("approval required: name who runs it with --runner NAME")
            })?;
            let approval = approve::check(&book, account, &run, &info, &plan, &runner)?;
            if approval.used_by.is_none() {
                book.use_approval(account, &run, &approval, &runner)
                    .map_err(book_error)?;
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
            .map(|o| request_of(o, callback.as_deref()))
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
    outcome.map_err(book_error)?;
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
