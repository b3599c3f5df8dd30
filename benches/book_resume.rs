//! The book on a finished run: each step `payrun run` takes when the same sheet comes back with
//! nothing to send, on a book of 100,000 finished orders (override with `PAYRUN_BENCH_ORDERS`)
//! built once in a temp dir through the public API (see `examples/support/bookgen.rs`; the
//! 1,000,000-order figures come from `examples/book_probe.rs`). Small samples: a few minutes
//! on two cores. `already_paid_current_ledgers` is what `run` reads to answer a paid sheet
//! whose results ledger is current (the rest of that path is hashing the sheet).

#[path = "../examples/support/addrgen.rs"]
mod addrgen;
#[path = "../examples/support/bookgen.rs"]
mod bookgen;

use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, Criterion};
use payrun::book::Book;

fn orders() -> u64 {
    std::env::var("PAYRUN_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn book_resume(c: &mut Criterion) {
    let n = orders();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("book.sqlite");
    let t = Instant::now();
    let plan = bookgen::plan(n);
    let snapshot = bookgen::snapshot(&plan);
    bookgen::build(&path, &plan, &snapshot, false).expect("build the book");
    drop(snapshot);
    let (db, wal) = bookgen::file_sizes(&path);
    eprintln!(
        "book of {n} finished orders built in {:.1} s: {} B on disk, {:.1} B per order",
        t.elapsed().as_secs_f64(),
        db + wal,
        (db + wal) as f64 / n as f64
    );

    let book = Book::open(&path).expect("open");
    let (account, run) = bookgen::find_run(&book).expect("book").expect("run");
    let mut g = c.benchmark_group(format!("book_resume_{n}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("Book::open", |b| {
        b.iter(|| Book::open(&path).expect("open"))
    });
    g.bench_function("runs_of_sheet", |b| {
        b.iter(|| bookgen::runs_of_sheet(&book, account, n))
    });
    g.bench_function("run_counts", |b| {
        b.iter(|| bookgen::run_counts(&book, &run))
    });
    g.bench_function("verify_run_events", |b| {
        b.iter(|| bookgen::verify(&book, &run))
    });
    g.bench_function("run_orders_map", |b| {
        b.iter(|| bookgen::orders_map(&book, account, &run))
    });
    let orders = bookgen::orders_map(&book, account, &run);
    g.bench_function("triage", |b| {
        b.iter_batched_ref(
            || plan.clone(),
            |p| bookgen::triage_all(p, &orders),
            BatchSize::LargeInput,
        )
    });
    drop(orders);
    g.bench_function("ledger_of", |b| b.iter(|| bookgen::ledger(&book, &run)));
    // The quick answer to a sheet already paid: its results ledger written once beside the
    // sheet (the run pointed at a sheet in the temp dir), then found current.
    let sheet = dir.path().join("pay-20261129.csv");
    rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.execute(
                "UPDATE runs SET sheet_path = ?1 WHERE id = ?2",
                rusqlite::params![sheet.to_string_lossy(), run.pk],
            )
        })
        .expect("point the run at the temp dir");
    let (_, run) = bookgen::find_run(&book).expect("book").expect("run");
    payrun::commands::results::write_beside_sheet(
        &book,
        payrun::model::GatewayKind::G2328,
        &run,
        None,
    )
    .expect("write the results ledger");
    g.bench_function("already_paid_current_ledgers", |b| {
        b.iter(|| {
            let found = payrun::commands::results::current_ledgers(&book, &run, None)
                .expect("current_ledgers");
            assert!(found.is_some_and(|(note, _)| note.finished));
        })
    });
    g.finish();
}

criterion_group!(benches, book_resume);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
