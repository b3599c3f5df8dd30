//! The Solana curve check, per key: curve25519-dalek's `CompressedEdwardsY::decompress` (what
//! the check was) against `payrun::validate::curve::on_curve` (a Legendre symbol), over the
//! same 4,096 pseudo-random keys. `cargo bench --bench curve`; criterion's time is per batch
//! of 4,096 keys and its throughput line gives keys/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use curve25519_dalek::edwards::CompressedEdwardsY;
use std::hint::black_box;

#[path = "../examples/support/curvekeys.rs"]
mod curvekeys;

fn keys(n: usize) -> Vec<[u8; 32]> {
    let mut next = curvekeys::splitmix(42);
    (0..n)
        .map(|_| curvekeys::key_of([next(), next(), next(), next()], false))
        .collect()
}

fn bench(c: &mut Criterion) {
    let keys = keys(4096);
    let mut g = c.benchmark_group("curve_check");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("dalek_decompress", |b| {
        b.iter(|| {
            keys.iter()
                .filter(|k| CompressedEdwardsY(*black_box(*k)).decompress().is_some())
                .count()
        })
    });
    g.bench_function("legendre_on_curve", |b| {
        b.iter(|| {
            keys.iter()
                .filter(|k| payrun::validate::curve::on_curve(black_box(k)))
                .count()
        })
    });
    g.finish();
}

criterion_group!(group, bench);
criterion_main!(group);
