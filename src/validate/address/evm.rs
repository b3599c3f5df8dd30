//! EVM addresses (Ethereum, BSC, Avalanche C-chain, Polygon, Arbitrum): `0x` and 40 hex digits.
//! All-lower or all-upper hex carries no checksum and is accepted; mixed case must match the
//! EIP-55 checksum (Keccak-256 of the lower-case hex). The canonical key is lower case.

use sha3::{Digest, Keccak256};

use super::AddressError;

const EXPECTED: &str = "an EVM address is 0x followed by 40 hexadecimal characters (0-9, a-f)";
const HEX_LEN: usize = 40;

pub(super) fn check(address: &str) -> Result<String, AddressError> {
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
    let mut has_lower = false;
    let mut has_upper = false;
    for (i, b) in body.bytes().enumerate() {
        match b {
            b'0'..=b'9' => {}
            b'a'..=b'f' => has_lower = true,
            b'A'..=b'F' => has_upper = true,
            _ => {
                return Err(AddressError::Format(format!(
                    "character '{}' at position {} is not hexadecimal: {EXPECTED}",
                    char::from(b),
                    i + 3
                )))
            }
        }
    }
    let mut key = String::with_capacity(2 + HEX_LEN);
    key.push_str("0x");
    key.extend(body.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    if has_lower && has_upper && !eip55_matches(body.as_bytes(), &key.as_bytes()[2..]) {
        return Err(AddressError::Checksum(
            "the EVM address has mixed upper and lower case that does not match its EIP-55 \
             checksum, so it has a typo; copy the address again from the recipient"
                .into(),
        ));
    }
    Ok(key)
}

/// EIP-55: a hex letter is upper case exactly when the matching nibble of
/// Keccak-256(lower-case hex) is 8 or more.
fn eip55_matches(body: &[u8], lower: &[u8]) -> bool {
    let hash = Keccak256::digest(lower);
    body.iter().enumerate().all(|(i, &c)| {
        if !c.is_ascii_alphabetic() {
            return true;
        }
        let byte = hash[i / 2];
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        c.is_ascii_uppercase() == (nibble >= 8)
    })
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
        assert_eq!(check(lower).as_deref(), Ok(lower));
        let upper = "0xDE709F2102306220921060314715629080E2FB77";
        assert_eq!(check(upper).as_deref(), Ok(lower));
    }
}
