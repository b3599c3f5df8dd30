//! Resume cost: replaying a journal of 1,000,000 orders that are all done (one intent and one
//! completed result each, as `run` writes them). Issue 4 target: ≤ 2 s, sending nothing.
//!
//! `cargo bench --bench journal_replay` (set PAYRUN_BENCH_ORDERS to change the size).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use payrun::gateway::{PayoutRequest, PayoutState};
use payrun::journal::{self, Event, Header, Source};
use payrun::model::{FeeOption, GatewayId, GatewayKind, OrderId, Status};
use rust_decimal::Decimal;

fn orders() -> usize {
    std::env::var("PAYRUN_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Writes a done journal of `n` orders (cached between bench runs).
fn journal_file(n: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("replay-{n}.ledger.jsonl"));
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!("replay-{n}.tmp"));
    let mut w = BufWriter::new(std::fs::File::create(&tmp).unwrap());
    let header = Header {
        version: journal::FORMAT_VERSION,
        run_id: "bench".into(),
        gateway: GatewayKind::G2328,
        sheet: "bench.csv".into(),
        sheet_sha256: "0".repeat(64),
        created_at: journal::now(),
    };
    serde_json::to_writer(&mut w, &header).unwrap();
    w.write_all(b"\n").unwrap();
    let at = journal::now();
    for i in 0..n {
        let id = OrderId(format!("bench-{i:032x}"));
        let amount = Decimal::new(100_000 + i as i64 % 50_000, 2);
        let request = PayoutRequest {
            order_id: id.clone(),
            currency: "USDT".into(),
            network: "TRX-TRC20".into(),
            amount,
            to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            memo: None,
            fee_option: FeeOption::Deduct,
            from_currency: None,
            remark: None,
            url_callback: None,
        };
        let intent = Event::Intent {
            order_id: id.clone(),
            line: i as u64 + 2,
            digest: format!("{i:032x}"),
            request,
            at: at.clone(),
        };
        let result = Event::Result {
            order_id: id.clone(),
            source: Source::Create,
            state: PayoutState {
                order_id: id,
                gateway_id: Some(GatewayId(format!("019dea62-1727-72aa-ac2c-{i:012x}"))),
                status: Status::Completed,
                gateway_status: "completed".into(),
                txid: Some(format!("{i:064x}")),
                merchant_amount: Some(amount),
                network_amount: Some(amount - Decimal::ONE),
                fee: Some(Decimal::ONE),
                error: None,
                updated_at: Some(at.clone()),
                echo: Default::default(),
            },
            at: at.clone(),
        };
        for ev in [intent, result] {
            serde_json::to_writer(&mut w, &ev).unwrap();
            w.write_all(b"\n").unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// Replays the way `run` does: open under the lock (memory-mapped) and index every order.
fn replay(path: &Path) -> usize {
    let header = journal::read_header(path).unwrap();
    let (_journal, r) = journal::Journal::open(path, &header).unwrap();
    assert!(r.orders.statuses().all(|(_, s)| s == Status::Completed));
    r.orders.len()
}

fn bench(c: &mut Criterion) {
    let n = orders();
    let path = journal_file(n);
    let size = std::fs::metadata(&path).unwrap().len();
    let t = Instant::now();
    assert_eq!(replay(&path), n);
    eprintln!(
        "journal_replay: {n} orders, {:.0} MB, one cold-ish replay {:.2} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mut g = c.benchmark_group("journal_replay");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function(format!("replay_{n}_done_orders"), |b| {
        b.iter(|| replay(&path))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
