//! EVM addresses (Ethereum, BSC, Avalanche C-chain, Polygon, Arbitrum): `0x` and 40 hex digits.
//! All-lower or all-upper hex carries no checksum and is accepted; mixed case must match the
//! EIP-55 checksum (Keccak-256 of the lower-case hex). The canonical key is lower case.

use sha3::{Digest, Keccak256};

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
    let mut has_lower = false;
    let mut has_upper = false;
    let mut all_hex = true;
    // "0x" and the lower-cased hex: the key, and the text EIP-55 hashes.
    let mut key = [0u8; 2 + HEX_LEN];
    key[..2].copy_from_slice(b"0x");
    for (k, &b) in key[2..].iter_mut().zip(body.as_bytes()) {
        let digit = b.wrapping_sub(b'0') < 10;
        let lower = b.wrapping_sub(b'a') < 6;
        let upper = b.wrapping_sub(b'A') < 6;
        has_lower |= lower;
        has_upper |= upper;
        all_hex &= digit | lower | upper;
        *k = b | (u8::from(upper) << 5);
    }
    if !all_hex {
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
    if has_lower && has_upper && !eip55_matches(body.as_bytes(), &key[2..]) {
        return Err(AddressError::Checksum(
            "the EVM address has mixed upper and lower case that does not match its EIP-55 \
             checksum, so it has a typo; copy the address again from the recipient"
                .into(),
        ));
    }
    Ok(AddressKey::inline(&key))
}

/// EIP-55: a hex letter is upper case exactly when the matching nibble of
/// Keccak-256(lower-case hex) is 8 or more.
fn eip55_matches(body: &[u8], lower: &[u8]) -> bool {
    let hash = Keccak256::digest(lower);
    // Branch-free (the case pattern is random): count letters whose case disagrees.
    let mut mismatches = 0u8;
    for (i, &c) in body.iter().enumerate() {
        let byte = hash[i / 2];
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        let letter = u8::from((c | 0x20).wrapping_sub(b'a') < 26);
        let upper = u8::from(c.wrapping_sub(b'A') < 26);
        let want_upper = u8::from(nibble >= 8);
        mismatches |= letter & (upper ^ want_upper);
    }
    mismatches == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eip55_checks_each_letter_against_its_hash_nibble() {
        let good = "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let lower = good.to_ascii_lowercase();
        assert!(eip55_matches(good.as_bytes(), lower.as_bytes()));
        // upper-casing every letter is wrong for this address
        let upper = good.to_ascii_uppercase();
        assert!(!eip55_matches(upper.as_bytes(), lower.as_bytes()));
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
