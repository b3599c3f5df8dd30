//! The release-mode agreement run for the ed25519 curve check (`payrun::validate::curve`):
//! `cargo run --release --example curve_agree -- [KEYS]` (default 2,000,000) compares
//! `on_curve_fast` with curve25519-dalek's `CompressedEdwardsY::decompress` on that many
//! pseudo-random 32-byte keys (splitmix64, fixed seed; every other key with the sign bit set)
//! plus every y < 2^16, every p − y for y < 2^16, and y + p for y < 19, with and without the
//! sign bit. Prints the counts and the timing of both loops (µs a key, one pass each, so
//! a rough figure: `cargo bench --bench curve` is the measurement); exits 1 on any disagreement or on a key the GCD gave up on.

use std::time::Instant;

use curve25519_dalek::edwards::CompressedEdwardsY;
use payrun::validate::curve;

const P: [u64; 4] = [
    0xffff_ffff_ffff_ffed,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
];

#[path = "support/curvekeys.rs"]
mod curvekeys;
use curvekeys::key_of;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let mut next = curvekeys::splitmix(0x5eed);
    let mut keys: Vec<[u8; 32]> = (0..n)
        .map(|i| key_of([next(), next(), next(), next()], i % 2 == 1))
        .collect();
    let random = keys.len();
    for y in 0..(1u64 << 16) {
        let minus = [P[0] - y, P[1], P[2], P[3]];
        for sign in [false, true] {
            keys.push(key_of([y, 0, 0, 0], sign));
            keys.push(key_of(minus, sign));
        }
    }
    for y in 0..19 {
        for sign in [false, true] {
            keys.push(key_of([P[0] + y, P[1], P[2], P[3]], sign));
        }
    }

    let t = Instant::now();
    let truth: Vec<bool> = keys
        .iter()
        .map(|k| CompressedEdwardsY(*k).decompress().is_some())
        .collect();
    let dalek_us = t.elapsed().as_secs_f64() * 1e6 / keys.len() as f64;
    let t = Instant::now();
    let ours: Vec<Option<bool>> = keys.iter().map(curve::on_curve_fast).collect();
    let ours_us = t.elapsed().as_secs_f64() * 1e6 / keys.len() as f64;

    let mut bad = 0usize;
    let mut gave_up = 0usize;
    for ((k, want), got) in keys.iter().zip(&truth).zip(&ours) {
        match got {
            None => gave_up += 1,
            Some(g) if g != want => {
                bad += 1;
                if bad <= 10 {
                    eprintln!("disagree: {} dalek {want} ours {g}", hex::encode(k));
                }
            }
            Some(_) => {}
        }
    }
    let on = truth.iter().filter(|&&t| t).count();
    println!(
        "{} keys ({random} random, {} edge): {on} on the curve, {bad} disagreements, {gave_up} gave up",
        keys.len(),
        keys.len() - random
    );
    println!(
        "dalek decompress {dalek_us:.3} µs/key, Legendre check {ours_us:.3} µs/key ({:.1}x)",
        dalek_us / ours_us
    );
    if bad > 0 || gave_up > 0 {
        std::process::exit(1);
    }
}
