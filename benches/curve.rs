//! The Solana curve check, per key: curve25519-dalek's `CompressedEdwardsY::decompress` (what
//! the check was) against `payrun::validate::curve::on_curve` (a Legendre symbol), over the
//! same 4,096 pseudo-random keys. `cargo bench --bench curve`; criterion's time is per batch
//! of 4,096 keys and its throughput line gives keys/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use curve25519_dalek::edwards::CompressedEdwardsY;
use std::hint::black_box;

fn keys(n: usize) -> Vec<[u8; 32]> {
    let mut s = 42u64;
    let mut next = move || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let mut k = [0u8; 32];
            for chunk in k.chunks_exact_mut(8) {
                chunk.copy_from_slice(&next().to_le_bytes());
            }
            k
        })
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
