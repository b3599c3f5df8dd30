//! Whether 32 bytes are the compressed form of a point on the ed25519 curve, answered without
//! decompressing the point: the Solana curve check (`recipients::solana_key_on_curve`) asks it
//! for every SPL-token recipient, and curve25519-dalek's `CompressedEdwardsY::decompress`
//! costs ~4.4 µs a key (an exponentiation in `sqrt_ratio_i`), ~16 % of the CPU of validating
//! the 1M-row benchmark sheet. This module gives the same answer for every 32-byte input
//! (tested against dalek: edge cases, 100,000 keys here, a proptest, and 1,000,000+ keys in
//! release with `cargo run --release --example curve_agree`) in ~1.6 µs a key against dalek's
//! 5.8 µs on the same loaded machine (`cargo bench --bench curve`: 3.6×; the figures, and the
//! crate that was measured first, malachite: 2.2 µs for the symbol alone, LGPL-3.0, are in
//! docs/validate.md, "Performance").
//!
//! The decoding (RFC 8032 §5.1.3, as curve25519-dalek 4 does it): y is the low 255 bits of the
//! little-endian key, reduced mod p = 2^255 − 19 when ≥ p; bit 255 is the sign of x and does
//! not decide validity (dalek accepts x = 0 with the sign bit set, unlike the RFC's step 4, and
//! so does this). With u = y² − 1 and v = d·y² + 1 (d = −121665/121666 mod p), the point
//! exists iff u/v is a square mod p, u = 0 included; v is never 0 because −1/d is not a square.
//! So: on the curve ⇔ the Legendre symbol (u·v | p) is 0 or 1.
//!
//! The Legendre symbol is a variable-time binary GCD (the input is a public address): the
//! "posdivsteps" Jacobi algorithm of libsecp256k1 (`secp256k1_jacobi64_maybe_var`, after
//! Bernstein–Yang's safegcd and Hamburg's Jacobi variant), 62 steps at a time on the low 64
//! bits, each batch's 2×2 matrix then applied to the full values held as five 62-bit limbs.
//! Every quantity stays non-negative. It gives up after `BATCHES` batches (never seen on
//! random keys), and then dalek's decompression answers instead. The field arithmetic (three
//! products mod p) is on four 64-bit limbs here: dalek 4 does not export its `FieldElement`.

use curve25519_dalek::edwards::CompressedEdwardsY;

/// Whether `key` (a Solana address's 32 bytes, the compressed Edwards y with x's sign in bit
/// 255) decompresses to a point: exactly `CompressedEdwardsY(*key).decompress().is_some()`.
pub fn on_curve(key: &[u8; 32]) -> bool {
    match on_curve_fast(key) {
        Some(on) => on,
        None => CompressedEdwardsY(*key).decompress().is_some(),
    }
}

/// The Legendre-symbol answer; `None` only if the GCD did not finish within `BATCHES`.
pub fn on_curve_fast(key: &[u8; 32]) -> Option<bool> {
    let y = decode_y(key);
    let yy = mul(&y, &y);
    let u = sub_one(&yy);
    let v = add_one(&mul(&D, &yy));
    let w = mul(&u, &v);
    if w == [0; 4] {
        return Some(true);
    }
    legendre_is_one(&w)
}

/// p = 2^255 − 19, four little-endian 64-bit limbs.
const P: [u64; 4] = [
    0xffff_ffff_ffff_ffed,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
];

/// d = −121665/121666 mod p (RFC 8032 §5.1), little-endian limbs; the tests check
/// d·121666 + 121665 ≡ 0.
const D: [u64; 4] = [
    0x75eb_4dca_1359_78a3,
    0x0070_0a4d_4141_d8ab,
    0x8cc7_4079_7779_e898,
    0x5203_6cee_2b6f_fe73,
];

/// y from the key: the low 255 bits, little-endian, reduced into [0, p).
fn decode_y(key: &[u8; 32]) -> [u64; 4] {
    let mut y = [0u64; 4];
    for (limb, chunk) in y.iter_mut().zip(key.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(b);
    }
    y[3] &= u64::MAX >> 1;
    canonical(y)
}

/// `x` (< 2^256) reduced into [0, p).
fn canonical(mut x: [u64; 4]) -> [u64; 4] {
    // 2^255 ≡ 19: fold bit 255 in; then x < 2^255 + 19 < 2p.
    let top = x[3] >> 63;
    x[3] &= u64::MAX >> 1;
    let mut carry = u128::from(top * 19);
    for limb in x.iter_mut() {
        let s = u128::from(*limb) + carry;
        *limb = s as u64;
        carry = s >> 64;
    }
    if !less_than_p(&x) {
        let mut borrow = false;
        for (limb, p) in x.iter_mut().zip(P) {
            let (d1, b1) = limb.overflowing_sub(p);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *limb = d2;
            borrow = b1 || b2;
        }
    }
    x
}

fn less_than_p(x: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if x[i] != P[i] {
            return x[i] < P[i];
        }
    }
    false
}

/// a·b mod p for a, b < 2^256; the result is in [0, p).
fn mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut t = [0u64; 8];
    for i in 0..4 {
        let mut carry = 0u128;
        for j in 0..4 {
            let s = u128::from(a[i]) * u128::from(b[j]) + u128::from(t[i + j]) + carry;
            t[i + j] = s as u64;
            carry = s >> 64;
        }
        t[i + 4] = carry as u64;
    }
    // 2^256 ≡ 38: r = low + 38·high, then the carry (< 39) once more.
    let mut r = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let s = u128::from(t[i]) + 38 * u128::from(t[i + 4]) + carry;
        r[i] = s as u64;
        carry = s >> 64;
    }
    let mut carry = carry * 38;
    for limb in r.iter_mut() {
        let s = u128::from(*limb) + carry;
        *limb = s as u64;
        carry = s >> 64;
    }
    // A carry out here leaves r tiny (< 38·39), so adding its 38 cannot carry again.
    if carry != 0 {
        r[0] += 38;
    }
    canonical(r)
}

/// x − 1 mod p for x in [0, p).
fn sub_one(x: &[u64; 4]) -> [u64; 4] {
    if *x == [0; 4] {
        return [P[0] - 1, P[1], P[2], P[3]];
    }
    let mut r = *x;
    for limb in r.iter_mut() {
        let (d, borrow) = limb.overflowing_sub(1);
        *limb = d;
        if !borrow {
            break;
        }
    }
    r
}

/// x + 1 mod p for x in [0, p).
fn add_one(x: &[u64; 4]) -> [u64; 4] {
    let mut r = *x;
    for limb in r.iter_mut() {
        let (s, carry) = limb.overflowing_add(1);
        *limb = s;
        if !carry {
            break;
        }
    }
    if r == P {
        [0; 4]
    } else {
        r
    }
}

/// The low 62 bits.
const M62: u64 = u64::MAX >> 2;

/// Batches of 62 steps before giving up. On random keys the five-limb phase ends (f and g
/// both below 2^124) after about 12 batches; `curve_agree` counts the keys that gave up
/// (none in 2,262,182).
const BATCHES: u32 = 40;

/// −1/f mod 256 for odd f, indexed by (f >> 1) & 127: x = f·(2 − f²) ≡ 1/f mod 64 (f² ≡ 1
/// mod 8), and x·(f·x − 2) = −x·(2 − f·x) ≡ −1/f mod 4096 (Newton's step).
const NEG_INV_256: [u64; 128] = {
    let mut t = [0u64; 128];
    let mut k = 0;
    while k < 128 {
        let f = 2 * k as u64 + 1;
        let x = f.wrapping_mul(2u64.wrapping_sub(f.wrapping_mul(f)));
        t[k] = x.wrapping_mul(f.wrapping_mul(x).wrapping_sub(2)) & 255;
        k += 1;
    }
    t
};

/// A number < 2^310 as five non-negative 62-bit limbs, little-endian.
type Limbs62 = [u64; 5];

/// The 2×2 matrix of one batch: (f, g) ← ((u·f + v·g), (q·f + r·g)) / 2^62; entries in
/// [0, 2^62] (see `posdivsteps_62`).
struct Matrix {
    u: u64,
    v: u64,
    q: u64,
    r: u64,
}

/// Whether the Legendre symbol (x | p) is 1, for x in (0, p); `None` if not found within
/// `BATCHES`. Invariant: (g | f)·(−1)^jac is the answer, f odd, f, g ≥ 0. Once f and g fit
/// in two limbs the rest is the classic binary Jacobi symbol on `u128`, then `u64`.
fn legendre_is_one(x: &[u64; 4]) -> Option<bool> {
    let mut f: Limbs62 = to_62(&P);
    let mut g: Limbs62 = to_62(x);
    let mut eta: i64 = -1;
    let mut jac: u64 = 0;
    let mut len = 5;
    for _ in 0..BATCHES {
        let m;
        (eta, m) = posdivsteps_62(eta, f[0] | (f[1] << 62), g[0] | (g[1] << 62), &mut jac);
        apply(len, &mut f, &mut g, &m);
        if f[0] == 1 && f[1..len].iter().all(|&l| l == 0) {
            return Some(jac & 1 == 0);
        }
        if len > 2 && f[len - 1] == 0 && g[len - 1] == 0 {
            len -= 1;
        }
        if len == 2 {
            return jacobi_u128(
                u128::from(g[0]) | (u128::from(g[1]) << 62),
                u128::from(f[0]) | (u128::from(f[1]) << 62),
                jac,
            );
        }
    }
    None
}

fn to_62(x: &[u64; 4]) -> Limbs62 {
    [
        x[0] & M62,
        ((x[0] >> 62) | (x[1] << 2)) & M62,
        ((x[1] >> 60) | (x[2] << 4)) & M62,
        ((x[2] >> 58) | (x[3] << 6)) & M62,
        x[3] >> 56,
    ]
}

/// 62 "posdivsteps" on the low 64 bits `f0`, `g0` of f (odd) and g: each halves g when it is
/// even (the symbol times (2 | f)), else if eta < 0 swaps f and g (reciprocity) and negates
/// eta, and adds to g the multiple w of f that clears its low bits (the symbol unchanged).
/// Runs of zeros are taken at once, and w clears up to eight bits (libsecp256k1 clears at most
/// four or six, and no more than eta + 1: fewer bits made more, slower rounds here: 2.2 µs a
/// key with its bounds, 1.6 µs with eight bits and only the i bound, same answers). Bit 0 of
/// `jac` flips with the symbol. Returns the new eta and the matrix.
///
/// The entries stay in [0, 2^62]: with i steps left they are ≤ 2^(62−i) after each halving;
/// adding w·(u, v) to (q, r), w < 2^limit with limit ≤ i, makes (q, r) < 2^(62−i+limit), and
/// the next halving takes at least limit steps.
fn posdivsteps_62(mut eta: i64, f0: u64, g0: u64, jac: &mut u64) -> (i64, Matrix) {
    let (mut u, mut v, mut q, mut r) = (1u64, 0u64, 0u64, 1u64);
    let (mut f, mut g) = (f0, g0);
    let mut i: u32 = 62;
    loop {
        // A sentinel bit at i counts zeros only up to i.
        let zeros = (g | (u64::MAX << i)).trailing_zeros();
        g >>= zeros;
        u <<= zeros;
        v <<= zeros;
        eta -= i64::from(zeros);
        i -= zeros;
        // Each factor 2 taken out of g multiplies the symbol by (2 | f), −1 iff f ≡ 3, 5 mod 8.
        *jac ^= u64::from(zeros) & ((f >> 1) ^ (f >> 2));
        if i == 0 {
            break;
        }
        // All ones when eta < 0: then swap f and g (reciprocity: −1 iff both are ≡ 3 mod 4)
        // and negate eta. Without branches: the swap is a coin toss a branch predictor misses
        // (2.9 → 2.2 µs a key).
        let c = (eta >> 63) as u64;
        let x = (f ^ g) & c;
        f ^= x;
        g ^= x;
        let x = (u ^ q) & c;
        u ^= x;
        q ^= x;
        let x = (v ^ r) & c;
        v ^= x;
        r ^= x;
        eta = (eta ^ c as i64).wrapping_sub(c as i64);
        *jac ^= ((f & g) >> 1) & c;
        // Clear up to eight bits of g, no more than the i steps left.
        let mask = (u64::MAX >> (64 - i)) & 255;
        let w = g.wrapping_mul(NEG_INV_256[(f as usize >> 1) & 127]) & mask;
        g = g.wrapping_add(f.wrapping_mul(w));
        q = q.wrapping_add(u.wrapping_mul(w));
        r = r.wrapping_add(v.wrapping_mul(w));
    }
    (eta, Matrix { u, v, q, r })
}

/// (f, g) ← the batch's matrix times (f, g), divided by 2^62 (exact), on the low `len` limbs
/// (the others are 0).
fn apply(len: usize, f: &mut Limbs62, g: &mut Limbs62, m: &Matrix) {
    let (u, v, q, r) = (
        u128::from(m.u),
        u128::from(m.v),
        u128::from(m.q),
        u128::from(m.r),
    );
    let mut cf = u * u128::from(f[0]) + v * u128::from(g[0]);
    let mut cg = q * u128::from(f[0]) + r * u128::from(g[0]);
    cf >>= 62;
    cg >>= 62;
    for i in 1..len {
        cf += u * u128::from(f[i]) + v * u128::from(g[i]);
        cg += q * u128::from(f[i]) + r * u128::from(g[i]);
        f[i - 1] = cf as u64 & M62;
        g[i - 1] = cg as u64 & M62;
        cf >>= 62;
        cg >>= 62;
    }
    f[len - 1] = cf as u64;
    g[len - 1] = cg as u64;
}

/// The classic binary Jacobi symbol (a | n)·(−1)^jac for odd n, on two words (the end of the
/// GCD, once f and g are below 2^124: 1.6 → 1.25 µs a key); `None` if gcd(a, n) ≠ 1, which
/// x ≠ 0 mod p rules out.
fn jacobi_u128(mut a: u128, mut n: u128, mut jac: u64) -> Option<bool> {
    while a != 0 {
        if (a | n) >> 64 == 0 {
            return jacobi_u64(a as u64, n as u64, jac);
        }
        let z = a.trailing_zeros();
        a >>= z;
        jac ^= u64::from(z) & (((n >> 1) ^ (n >> 2)) as u64);
        if a < n {
            std::mem::swap(&mut a, &mut n);
            jac ^= ((a & n) >> 1) as u64;
        }
        a -= n;
    }
    (n == 1).then_some(jac & 1 == 0)
}

/// `jacobi_u128` on one word.
fn jacobi_u64(mut a: u64, mut n: u64, mut jac: u64) -> Option<bool> {
    while a != 0 {
        let z = a.trailing_zeros();
        a >>= z;
        jac ^= u64::from(z) & ((n >> 1) ^ (n >> 2));
        if a < n {
            std::mem::swap(&mut a, &mut n);
            jac ^= (a & n) >> 1;
        }
        a -= n;
    }
    (n == 1).then_some(jac & 1 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dalek(key: &[u8; 32]) -> bool {
        CompressedEdwardsY(*key).decompress().is_some()
    }

    /// A key holding y (little-endian limbs, may be ≥ p) and the sign bit.
    fn key_of(y: [u64; 4], sign: bool) -> [u8; 32] {
        let mut k = [0u8; 32];
        for (chunk, limb) in k.chunks_exact_mut(8).zip(y) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        if sign {
            k[31] |= 0x80;
        }
        k
    }

    /// splitmix64: deterministic keys without a seed to keep.
    fn keys(n: usize, seed: u64) -> impl Iterator<Item = [u8; 32]> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        (0..n).map(move |_| key_of([next(), next(), next(), next()], false))
    }

    fn small(n: u64) -> [u64; 4] {
        [n, 0, 0, 0]
    }

    /// x^e mod p by square-and-multiply: an oracle for the Legendre symbol (Euler's
    /// criterion) independent of the GCD.
    fn pow(x: &[u64; 4], e: &[u64; 4]) -> [u64; 4] {
        let mut acc = small(1);
        for i in (0..256).rev() {
            acc = mul(&acc, &acc);
            if (e[i / 64] >> (i % 64)) & 1 == 1 {
                acc = mul(&acc, x);
            }
        }
        acc
    }

    /// (p − 1) / 2.
    const HALF: [u64; 4] = [
        0xffff_ffff_ffff_fff6,
        0xffff_ffff_ffff_ffff,
        0xffff_ffff_ffff_ffff,
        0x3fff_ffff_ffff_ffff,
    ];

    fn neg(x: &[u64; 4]) -> [u64; 4] {
        // p − x for x in (0, p).
        let mut r = [0u64; 4];
        let mut borrow = false;
        for i in 0..4 {
            let (d1, b1) = P[i].overflowing_sub(x[i]);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            r[i] = d2;
            borrow = b1 || b2;
        }
        r
    }

    #[test]
    fn d_is_minus_121665_over_121666() {
        let t = mul(&D, &small(121_666));
        assert_eq!(add_one(&mul(&small(121_665), &small(1))), small(121_666));
        assert_eq!(t, neg(&small(121_665)));
        // And d is in [0, p).
        assert!(less_than_p(&D));
    }

    #[test]
    fn field_arithmetic_agrees_with_its_identities() {
        let xs: Vec<[u64; 4]> = keys(200, 7).map(|k| decode_y(&k)).collect();
        let p_minus_1 = sub_one(&small(0));
        assert_eq!(p_minus_1, neg(&small(1)));
        assert_eq!(add_one(&p_minus_1), small(0));
        for w in xs.windows(3) {
            let (a, b, c) = (&w[0], &w[1], &w[2]);
            assert_eq!(mul(a, &small(1)), *a);
            assert_eq!(mul(&mul(a, b), c), mul(a, &mul(b, c)));
            assert_eq!(mul(a, b), mul(b, a));
            // a·(p − 1) = p − a.
            assert_eq!(mul(a, &p_minus_1), neg(a));
            assert!(less_than_p(&mul(a, b)));
        }
        // Inputs up to 2^256 − 1 (not reduced) multiply correctly too.
        let max = [u64::MAX; 4];
        let max_mod_p = small(37); // 2^256 − 1 = 2p + 37.
        assert_eq!(mul(&max, &max), mul(&max_mod_p, &max_mod_p));
        assert_eq!(canonical(max), max_mod_p);
        assert_eq!(canonical(P), small(0));
    }

    #[test]
    fn legendre_matches_eulers_criterion() {
        let mut squares = 0;
        for k in keys(2_000, 11) {
            let x = decode_y(&k);
            if x == [0; 4] {
                continue;
            }
            let euler = pow(&x, &HALF);
            assert!(euler == small(1) || euler == neg(&small(1)));
            let is_one = legendre_is_one(&x).expect("finishes");
            assert_eq!(is_one, euler == small(1), "x = {x:x?}");
            squares += usize::from(is_one);
        }
        assert!(squares > 900 && squares < 1100, "{squares} squares of 2000");
        // Small values: 2 is not a square mod p (p ≡ 5 mod 8), −1 is (p ≡ 1 mod 4), 4 is.
        assert_eq!(legendre_is_one(&small(2)), Some(false));
        assert_eq!(legendre_is_one(&neg(&small(1))), Some(true));
        assert_eq!(legendre_is_one(&small(4)), Some(true));
        assert_eq!(legendre_is_one(&small(1)), Some(true));
    }

    #[test]
    fn v_is_never_zero_because_minus_one_over_d_is_not_a_square() {
        // v = d·y² + 1 = 0 would need y² = −1/d; −1/d is a square iff −d is (they differ by
        // the square 1/d²).
        assert_eq!(legendre_is_one(&neg(&D)), Some(false));
        assert_eq!(pow(&neg(&D), &HALF), neg(&small(1)));
    }

    #[test]
    fn dalek_ignores_the_sign_bit_and_reduces_y_mod_p() {
        // The claims the module doc relies on, checked on dalek itself.
        for k in keys(300, 3) {
            let mut s = k;
            s[31] |= 0x80;
            assert_eq!(dalek(&k), dalek(&s));
        }
        // y and y + p (both < 2^255): the 19 values y in [0, 19).
        for y in 0..19u64 {
            let mut big = P;
            big[0] += y; // p + y < 2^255 for y < 19: no carry.
            for sign in [false, true] {
                assert_eq!(dalek(&key_of(small(y), sign)), dalek(&key_of(big, sign)));
                assert_eq!(on_curve(&key_of(big, sign)), dalek(&key_of(big, sign)));
            }
        }
        // u = 0 (y = ±1) decompresses, with either sign bit (dalek accepts x = 0 with the
        // sign bit set).
        for y in [small(1), neg(&small(1)), [P[0] + 1, P[1], P[2], P[3]]] {
            for sign in [false, true] {
                assert!(dalek(&key_of(y, sign)));
                assert!(on_curve(&key_of(y, sign)));
            }
        }
    }

    #[test]
    fn edge_keys_agree_with_dalek() {
        let mut ys = vec![
            small(0),
            small(1),
            small(2),
            small(19),
            neg(&small(1)),
            neg(&small(2)),
            P,
            [P[0] + 1, P[1], P[2], P[3]],
            [P[0] + 18, P[1], P[2], P[3]],
            [u64::MAX, u64::MAX, u64::MAX, u64::MAX >> 1],
            [u64::MAX; 4],
            D,
            neg(&D),
        ];
        for bit in 0..255 {
            let mut y = [0u64; 4];
            y[bit / 64] = 1 << (bit % 64);
            ys.push(y);
            ys.push(neg(&canonical(y)));
        }
        let mut on = 0;
        for y in ys {
            for sign in [false, true] {
                let k = key_of(y, sign);
                assert_eq!(on_curve(&k), dalek(&k), "y = {y:x?}, sign {sign}");
                assert!(on_curve_fast(&k).is_some());
                on += usize::from(dalek(&k));
            }
        }
        assert!(on > 20, "both answers occur ({on} on)");
        assert!(on_curve(&[0; 32]) && dalek(&[0; 32]));
        assert_eq!(on_curve(&[0xff; 32]), dalek(&[0xff; 32]));
        let base = curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED.to_bytes();
        assert!(on_curve(&base));
    }

    /// A program-derived address as Solana makes one (`find_program_address`): the first bump
    /// from 255 down whose SHA-256(seeds ‖ bump ‖ program ‖ "ProgramDerivedAddress") is off the
    /// curve, decided by dalek.
    fn pda(seeds: &[&[u8]], program: &[u8; 32]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        (0..=255u8)
            .rev()
            .map(|bump| {
                let mut h = Sha256::new();
                for s in seeds {
                    h.update(s);
                }
                h.update([bump]);
                h.update(program);
                h.update(b"ProgramDerivedAddress");
                let out: [u8; 32] = h.finalize().into();
                out
            })
            .find(|k| !dalek(k))
            .expect("a bump gives an off-curve key")
    }

    fn sol(address: &str) -> [u8; 32] {
        bs58::decode(address)
            .into_vec()
            .expect("base58")
            .try_into()
            .expect("32 bytes")
    }

    #[test]
    fn known_solana_keys() {
        // Program ids are ordinary keypairs' public keys: on the curve, like the System
        // Program's all-zero key.
        for program in [
            "11111111111111111111111111111111",
            "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
            "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
            "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
            "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB",
            "So11111111111111111111111111111111111111112",
        ] {
            let k = sol(program);
            assert_eq!(on_curve(&k), dalek(&k), "{program}");
        }
        assert!(on_curve(&sol("11111111111111111111111111111111")));
        // Associated token accounts (PDAs of the ATA program): off the curve.
        let ata = sol("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
        let token = sol("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
        for wallet in [
            "So11111111111111111111111111111111111111112",
            "11111111111111111111111111111111",
        ] {
            for mint in [
                "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB",
            ] {
                let k = pda(&[&sol(wallet), &token, &sol(mint)], &ata);
                assert!(!on_curve(&k), "ATA of {wallet} for {mint}");
            }
        }
    }

    #[test]
    fn random_keys_agree_with_dalek() {
        let mut on = 0;
        for (i, mut k) in keys(100_000, 1).enumerate() {
            if i % 2 == 1 {
                k[31] |= 0x80;
            }
            let fast = on_curve_fast(&k).expect("finishes");
            assert_eq!(fast, dalek(&k), "key {}", hex::encode(k));
            on += usize::from(fast);
        }
        assert!(on > 49_000 && on < 51_000, "{on} of 100,000 on the curve");
    }

    proptest! {
        #[test]
        fn any_key_agrees_with_dalek(k in any::<[u8; 32]>()) {
            prop_assert_eq!(on_curve(&k), dalek(&k));
            prop_assert!(on_curve_fast(&k).is_some());
        }
    }
}
