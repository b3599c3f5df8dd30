//! EVM addresses (Ethereum, BSC, Avalanche C-chain, Polygon, Arbitrum): `0x` and 40 hex digits.
//! All-lower or all-upper hex carries no checksum and is accepted; mixed case must match the
//! EIP-55 checksum (Keccak-256 of the lower-case hex). The canonical key is lower case.

use super::{AddressError, AddressKey};

const EXPECTED: &str = "an EVM address is 0x followed by 40 hexadecimal characters (0-9, a-f)";
const HEX_LEN: usize = 40;

pub(super) fn check(address: &str) -> Result<AddressKey<'_>, AddressError> {
    let body = match address.strip_prefix("0x") {
        Some(body) => body,
        None if address.starts_with("0X") => {
            return Err(AddressError::Format(format!(
                "the prefix must be a lower-case 0x, not 0X: {EXPECTED}"
            )))
        }
        None => {
            return Err(AddressError::Format(format!(
                "the address does not start with 0x: {EXPECTED}"
            )))
        }
    };
    if body.len() != HEX_LEN {
        return Err(AddressError::Format(format!(
            "{} hexadecimal characters after 0x instead of 40: {EXPECTED}",
            body.len()
        )));
    }
    // One pass without branches on the (random) hex digits: classify, lower-case, and note
    // whether any character is not hex; only then look for the first one, for the message.
    // Byte flags over a fixed-length array: the compiler checks all 40 characters in a few
    // 16-byte steps (over the slice, with `bool`s, it packed and unpacked lanes: 3 % of
    // validating the benchmark sheet).
    let mut hex = [0u8; HEX_LEN];
    hex.copy_from_slice(body.as_bytes());
    let (mut lower_seen, mut upper_seen, mut not_hex) = (0u8, 0u8, 0u8);
    // "0x" and the lower-cased hex: the key, and the text EIP-55 hashes.
    let mut lower = [0u8; HEX_LEN];
    for i in 0..HEX_LEN {
        let b = hex[i];
        let digit = u8::from(b.wrapping_sub(b'0') < 10);
        let low = u8::from(b.wrapping_sub(b'a') < 6);
        let up = u8::from(b.wrapping_sub(b'A') < 6);
        lower_seen |= low;
        upper_seen |= up;
        not_hex |= 1 ^ (digit | low | up);
        lower[i] = b | (up << 5);
    }
    let (has_lower, has_upper) = (lower_seen != 0, upper_seen != 0);
    if not_hex != 0 {
        if let Some((i, b)) = body
            .bytes()
            .enumerate()
            .find(|(_, b)| !b.is_ascii_hexdigit())
        {
            return Err(AddressError::Format(format!(
                "character '{}' at position {} is not hexadecimal: {EXPECTED}",
                char::from(b),
                i + 3
            )));
        }
    }
    if has_lower && has_upper && !eip55_matches(&hex, &lower) {
        return Err(AddressError::Checksum(
            "the EVM address has mixed upper and lower case that does not match its EIP-55 \
             checksum, so it has a typo; copy the address again from the recipient"
                .into(),
        ));
    }
    let mut key = [0u8; 2 + HEX_LEN];
    key[..2].copy_from_slice(b"0x");
    key[2..].copy_from_slice(&lower);
    Ok(AddressKey::inline(&key))
}

/// EIP-55: a hex letter is upper case exactly when the matching nibble of
/// Keccak-256(lower-case hex) is 8 or more.
fn eip55_matches(body: &[u8; HEX_LEN], lower: &[u8; HEX_LEN]) -> bool {
    let hash = keccak256_40(lower);
    // The case each character must have (1: upper): the high bit of its nibble of the hash,
    // spelled out first so the comparison below runs over whole arrays (indexing the hash by
    // i / 2 in the loop was three quarters of `check`'s own time).
    let mut want_upper = [0u8; HEX_LEN];
    for (pair, byte) in want_upper.chunks_exact_mut(2).zip(hash) {
        pair[0] = byte >> 7;
        pair[1] = (byte >> 3) & 1;
    }
    // Branch-free (the case pattern is random): note any letter whose case disagrees.
    let mut mismatches = 0u8;
    for (&c, &want) in body.iter().zip(&want_upper) {
        let letter = u8::from((c | 0x20).wrapping_sub(b'a') < 26);
        let upper = u8::from(c.wrapping_sub(b'A') < 26);
        mismatches |= letter & (upper ^ want);
    }
    mismatches == 0
}

/// Keccak-256 (the original padding, as Ethereum uses it, not SHA3-256's) of exactly 40 bytes:
/// one block, so the permutation is called once on a state filled by hand. Through the `sha3`
/// crate's `Digest` the same hash took ~20 % longer (its buffering and finalisation), and it is
/// 11 % of validating the 1M-row benchmark sheet (docs/validate.md, "Performance"). The tests
/// check it against `sha3::Keccak256`.
fn keccak256_40(input: &[u8; HEX_LEN]) -> [u8; 32] {
    let mut state = [0u64; 25];
    for (lane, chunk) in state.iter_mut().zip(input.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *lane = u64::from_le_bytes(b);
    }
    // Keccak's pad10*1 for a 136-byte rate: 0x01 after the 40 bytes, 0x80 in the last byte.
    state[HEX_LEN / 8] ^= 0x01;
    state[136 / 8 - 1] ^= 0x80 << 56;
    keccak::f1600(&mut state);
    let mut out = [0u8; 32];
    for (chunk, lane) in out.chunks_exact_mut(8).zip(state) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak256_of_40_bytes_is_the_sha3_crates() {
        use sha3::{Digest, Keccak256};
        let mut input = [0u8; HEX_LEN];
        for seed in 0..2_000u32 {
            for (i, b) in input.iter_mut().enumerate() {
                *b = b"0123456789abcdef"
                    [((seed as usize).wrapping_mul(31) + i * (seed as usize % 7 + 1)) % 16];
            }
            if seed % 3 == 0 {
                input[(seed as usize) % HEX_LEN] = (seed % 256) as u8;
            }
            let want: [u8; 32] = Keccak256::digest(input).into();
            assert_eq!(keccak256_40(&input), want, "input {input:?}");
        }
    }

    #[test]
    fn eip55_checks_each_letter_against_its_hash_nibble() {
        let good = "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let mut lower = [0u8; HEX_LEN];
        lower.copy_from_slice(good.to_ascii_lowercase().as_bytes());
        let arr = |s: &str| <[u8; HEX_LEN]>::try_from(s.as_bytes()).unwrap();
        assert!(eip55_matches(&arr(good), &lower));
        // upper-casing every letter is wrong for this address
        let upper = good.to_ascii_uppercase();
        assert!(!eip55_matches(&arr(&upper), &lower));
    }

    #[test]
    fn key_is_lower_case_and_case_alone_needs_no_checksum() {
        let lower = "0xde709f2102306220921060314715629080e2fb77";
        assert_eq!(
            check(lower).map(|k| k.as_str().to_owned()).as_deref(),
            Ok(lower)
        );
        let upper = "0xDE709F2102306220921060314715629080E2FB77";
        assert_eq!(
            check(upper).map(|k| k.as_str().to_owned()).as_deref(),
            Ok(lower)
        );
    }
}
