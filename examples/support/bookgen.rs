//! A book of N finished orders in one run of one account, written through the public API
//! exactly as `payrun run` writes it (plan, intents, create answers, status answers), and the
//! steps `payrun run` takes on it when the same sheet comes back finished. Shared by
//! `examples/book_probe.rs` and `benches/book_resume.rs` via `#[path]`; needs `addrgen` as a
//! sibling module.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::addrgen;
use payrun::book::runs::AccountKey;
use payrun::book::{
    now, Book, BookError, Event, Mode, OrderRecord, Run, RunCounts, SheetInfo, SheetSnapshot,
    SnapshotRow, Source,
};
use payrun::commands::results;
use payrun::gateway::PayoutState;
use payrun::ledger::Ledger;
use payrun::model::{FeeOption, GatewayId, GatewayKind, OrderId, Payout, Status};
use payrun::networks;
use payrun::plan::{self, PlannedOrder};
use payrun::reconcile::triage::{triage, Triage};
use payrun::validate::address;

/// The run id: derived order ids look like the real ones, `pay-20261129-<32 hex>`.
pub const RUN_ID: &str = "pay-20261129";
/// Events per `Book::record` call while building (one transaction, one fsync each).
pub const BATCH: usize = 10_000;
/// The fee every generated answer reports (USDT on TRC20).
pub const FEE: Decimal = Decimal::from_parts(110, 0, 0, false, 2);

pub const COLUMNS: [&str; 8] = [
    "name",
    "employee_id",
    "email",
    "address",
    "amount",
    "currency",
    "network",
    "memo",
];

/// The account every generated run belongs to (a 2328 live project).
pub fn account_key() -> AccountKey {
    AccountKey::g2328(Mode::Live, PROJECT)
}

/// The 2328 project of that account (`PAYRUN_PROJECT` for the real binary).
pub const PROJECT: &str = "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f";

/// The sheet the run read (`n` only changes its hash).
pub fn sheet_info(n: u64) -> SheetInfo {
    SheetInfo {
        path: "/home/payroll/2026-11/pay-20261129.csv".into(),
        name: "pay-20261129.csv".into(),
        worksheet: None,
        sha256: hex::encode(Sha256::digest(format!("book-probe-sheet-{n}").as_bytes())),
        payouts_sha256: None,
    }
}

/// Row `i`'s amount: `2.00` to `5001.99`, two decimals (`10.01`-like).
fn amount(i: u64) -> Decimal {
    let whole = 2 + (i * 7919) % 5000;
    let cents = (i * 31) % 100;
    Decimal::new((whole * 100 + cents) as i64, 2)
}

/// N valid TRON USDT payouts (sheet lines 2..N+1), planned under [`RUN_ID`].
pub fn plan(n: u64) -> Vec<PlannedOrder> {
    let net = networks::lookup("TRX-TRC20").expect("TRX-TRC20 is in the registry");
    let payouts: Vec<Payout> = (0..n)
        .map(|i| {
            let addr = addrgen::tron(&format!("book-probe-{i}"));
            let key = address::check(net.family, &addr).expect("a valid TRON address");
            Payout {
                line: i + 2,
                network: net,
                currency: "USDT".into(),
                address: addr,
                address_key: key,
                amount: amount(i),
                memo: None,
                fee_option: FeeOption::Deduct,
                from_currency: None,
                remark: None,
                explicit_order_id: None,
            }
        })
        .collect();
    plan::plan(RUN_ID, &payouts)
}

/// The sheet as the run read it (what the results ledger shows): eight cells a row.
pub fn snapshot(plan: &[PlannedOrder]) -> SheetSnapshot {
    let rows = plan
        .iter()
        .map(|o| {
            let i = o.payout.line - 2;
            SnapshotRow {
                line: o.payout.line,
                cells: vec![
                    format!("Payee {i}"),
                    format!("E{i:07}"),
                    format!("payee{i}@example.com"),
                    o.payout.address.clone(),
                    o.payout.amount.to_string(),
                    "USDT".into(),
                    "TRX-TRC20".into(),
                    String::new(),
                ],
                order_id: Some(o.order_id.clone()),
                invalid: None,
                currency: Some(o.payout.currency.clone()),
                network: Some(o.payout.network.code.to_string()),
                amount: Some(o.payout.amount),
                quoted_fee: Some(FEE),
            }
        })
        .collect();
    SheetSnapshot {
        columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows,
        sheet_sha256: sheet_info(plan.len() as u64).sha256,
    }
}

/// A UUID-looking gateway id and a 64-hex txid, deterministic per order.
fn ids_of(order: &OrderId) -> (GatewayId, String) {
    let d = Sha256::digest(order.as_str().as_bytes());
    let u = uuid::Builder::from_random_bytes(d[..16].try_into().unwrap()).into_uuid();
    let tx = hex::encode(Sha256::digest(d));
    (GatewayId(u.to_string()), tx)
}

fn state(o: &PlannedOrder, status: Status) -> PayoutState {
    let (gateway_id, txid) = ids_of(&o.order_id);
    PayoutState {
        order_id: o.order_id.clone(),
        gateway_id: Some(gateway_id),
        status,
        gateway_status: status.as_str().into(),
        txid: (status == Status::Completed).then_some(txid),
        merchant_amount: Some(o.payout.amount),
        network_amount: Some(o.payout.amount - FEE),
        fee: Some(FEE),
        error: None,
        updated_at: Some("2026-11-29 10:15:42".into()),
        // What a 2328 answer echoes, as payrun keeps it to check it against the request.
        echo: Box::new(payrun::gateway::Echo {
            answer: Some(payrun::gateway::AnswerKind::Status2328),
            order_id: Some(o.order_id.to_string()),
            to_address: Some(o.payout.address.clone()),
            amount: Some(o.payout.amount),
            currency: Some(o.payout.currency.clone()),
            network: Some(o.payout.network.code.to_string()),
            memo: None,
            memo_carried: true,
            contract_id: None,
            created_at: Some("2026-11-29T10:15:40+00:00".into()),
        }),
    }
}

/// What the build took.
#[derive(Debug, Clone, Copy)]
pub struct Built {
    pub plan: Duration,
    pub events: Duration,
    /// Packing the finished run (`Book::pack_if_finished`).
    pub pack: Duration,
}

/// Writes the run into a new book at `path`: the plan (sheet snapshot of every row, an order
/// not sent for each), then per order an intent, a create answer (pending, gateway id,
/// amounts, fee) and a status answer (completed, txid), `BATCH` events per `record`; then
/// packs the finished run, as `payrun run` does.
pub fn build(
    path: &Path,
    plan: &[PlannedOrder],
    snapshot: &SheetSnapshot,
    progress: bool,
) -> Result<Built, BookError> {
    build_for(
        path,
        plan,
        snapshot,
        progress,
        sheet_info(plan.len() as u64),
    )
}

/// [`build`] of a run that read the sheet `info` (a sheet written to disk, so the real binary
/// finds the run by its path and hash).
pub fn build_for(
    path: &Path,
    plan: &[PlannedOrder],
    snapshot: &SheetSnapshot,
    progress: bool,
    info: SheetInfo,
) -> Result<Built, BookError> {
    let book = Book::open(path)?;
    let account = book.account(&account_key())?;
    let run = book.create_run(
        account,
        Some(RUN_ID),
        "pay-20261129",
        &info,
        &snapshot.columns,
    )?;
    let t = Instant::now();
    let planned: Vec<(OrderRecord, Option<String>)> = plan
        .iter()
        .map(|o| {
            (
                OrderRecord::planned(
                    o.payout.line,
                    o.fields_digest.clone(),
                    o.request(None),
                    now(),
                ),
                None,
            )
        })
        .collect();
    book.save_plan(account, &run, &info, snapshot, &BTreeMap::new(), &planned)?;
    drop(planned);
    let plan_took = t.elapsed();
    let t = Instant::now();
    let mut done = 0usize;
    for chunk in plan.chunks(BATCH) {
        let intents: Vec<Event> = chunk
            .iter()
            .map(|o| Event::Intent {
                order_id: o.order_id.clone(),
                line: o.payout.line,
                digest: o.fields_digest.clone(),
                request: o.request(None),
                at: now(),
            })
            .collect();
        book.record(account, &intents)?;
        for (source, status) in [
            (Source::Create, Status::Pending),
            (Source::Status, Status::Completed),
        ] {
            let answers: Vec<Event> = chunk
                .iter()
                .map(|o| Event::Result {
                    order_id: o.order_id.clone(),
                    source,
                    state: state(o, status),
                    at: now(),
                })
                .collect();
            book.record(account, &answers)?;
        }
        done += chunk.len();
        if progress && (done % 100_000 < BATCH || done == plan.len()) {
            eprintln!(
                "  {done} orders written ({:.1} s)",
                t.elapsed().as_secs_f64()
            );
        }
    }
    let events = t.elapsed();
    // The run is finished: packed as `payrun run` packs it once its results ledger is written.
    let t = Instant::now();
    book.pack_if_finished(&run)?;
    Ok(Built {
        plan: plan_took,
        events,
        pack: t.elapsed(),
    })
}

/// The account and run of a built book (None: the book has no such run).
pub fn find_run(book: &Book) -> Result<Option<(i64, Run)>, BookError> {
    let Some(account) = book.find_account(&account_key())? else {
        return Ok(None);
    };
    Ok(book.run_by_id(account, RUN_ID)?.map(|r| (account, r)))
}

/// The step `choose` takes first: the latest run of the sheet by path and by content.
pub fn runs_of_sheet(book: &Book, account: i64, n: u64) -> (Option<Run>, Option<Run>) {
    let info = sheet_info(n);
    book.runs_of(account, &info).expect("runs_of")
}

pub fn run_counts(book: &Book, run: &Run) -> RunCounts {
    book.run_counts(run).expect("run_counts")
}

pub fn verify(book: &Book, run: &Run) {
    book.verify_run_events(run.pk, &run.run_id)
        .expect("verify_run_events");
}

/// `run_orders` into the map `triage` reads.
pub fn orders_map(book: &Book, account: i64, run: &Run) -> HashMap<OrderId, OrderRecord> {
    book.run_orders(account, run.pk)
        .expect("run_orders")
        .into_iter()
        .map(|r| (r.order_id.clone(), r))
        .collect()
}

/// `triage` of the whole plan against the book's orders (nothing to send when finished).
pub fn triage_all(plan: &mut [PlannedOrder], orders: &HashMap<OrderId, OrderRecord>) -> Triage {
    triage(RUN_ID, plan, orders, false, false)
}

pub fn ledger(book: &Book, run: &Run) -> Ledger {
    results::ledger_of(book, GatewayKind::G2328, run).expect("ledger_of")
}

/// The book's file and WAL sizes, in bytes.
pub fn file_sizes(path: &Path) -> (u64, u64) {
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    (len(path), len(Path::new(&wal)))
}

/// Removes a book and the files SQLite and payrun keep beside it.
pub fn remove_book(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(Path::new(&p));
    }
    if let Some(stem) = path.file_stem() {
        let leases = path.with_file_name(format!("{}.leases", stem.to_string_lossy()));
        let _ = std::fs::remove_dir_all(leases);
    }
}
