//! Keys for measuring and checking the Solana curve check (`validate::curve`), shared by
//! `examples/curve_agree.rs` and `benches/curve.rs`: deterministic pseudo-random 32-byte keys
//! (splitmix64, no seed to keep) and keys holding a chosen y.

/// splitmix64 from `seed`: a deterministic stream of well-mixed `u64`s.
pub fn splitmix(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The key holding y (four little-endian limbs, may be ≥ p) and x's sign bit (bit 255).
pub fn key_of(y: [u64; 4], sign: bool) -> [u8; 32] {
    let mut k = [0u8; 32];
    for (chunk, limb) in k.chunks_exact_mut(8).zip(y) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    if sign {
        k[31] |= 0x80;
    }
    k
}
