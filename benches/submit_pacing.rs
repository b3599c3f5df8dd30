//! Submission pacing against the in-process sandbox with 50 ms added latency and its real rate
//! limits on (2328: 10 req/s per project; BlockATM: per-endpoint requests per minute).
//!
//! First the headline figures, printed: 60 orders at 2328's published 10 req/s, and BlockATM
//! batches of 50 at 4 req/s (sandbox limit 240/min) — achieved rate / configured rate, rows per
//! second against rate × chunk size, and the number of 429s. Then criterion times shorter runs
//! (20 orders; 5 batches) so regressions in the time a paced run takes show up.

#[path = "../tests/pacing_support/mod.rs"]
mod pacing_support;

use std::time::Duration;

use criterion::{criterion_group, Criterion};
use pacing_support::{measure, Scenario};

fn headline() {
    let out = measure(&Scenario::g2328(60));
    println!("{}", out.line("2328 single, 60 orders at 10/s, +50 ms"));
    let out = measure(&Scenario::blockatm_batch(12, 50, 4.0));
    println!("{}", out.line("BlockATM batch, 12 x 50 at 4/s, +50 ms"));
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("submit_pacing");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(25));
    g.bench_function("2328_20_orders_at_10_per_s", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let out = measure(&Scenario::g2328(20));
                    assert_eq!(out.too_many, 0, "{out:?}");
                    out.elapsed
                })
                .sum()
        })
    });
    g.bench_function("blockatm_5_batches_of_50_at_4_per_s", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let out = measure(&Scenario::blockatm_batch(5, 50, 4.0));
                    assert_eq!(out.too_many, 0, "{out:?}");
                    out.elapsed
                })
                .sum()
        })
    });
    g.finish();
}

criterion_group!(group, benches);

fn main() {
    headline();
    group();
    Criterion::default().configure_from_args().final_summary();
}
