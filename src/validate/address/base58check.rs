//! Legacy base58check addresses of Bitcoin, Litecoin, Dogecoin and Dash (a version byte, a
//! 20-byte hash, a 4-byte double-SHA-256 checksum), and the shared 25-byte base58check decoder
//! that TRON uses too. Decoding goes onto a stack buffer: no heap allocation on success.

use sha2::{Digest, Sha256};

use super::base58::{self, Base58Error};
use super::{AddressError, AddressKey};

/// Version byte plus 20-byte hash.
pub(super) const PAYLOAD_LEN: usize = 21;
const CHECKSUM_LEN: usize = 4;
const DECODED_LEN: usize = PAYLOAD_LEN + CHECKSUM_LEN;

/// Why a string is not a 25-byte base58check value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base58CheckError {
    /// A character outside the base58 alphabet, at this (ASCII) index.
    Char { ch: char, at: usize },
    /// It decodes, but not to 25 bytes.
    Length,
    /// 25 bytes whose last 4 are not the checksum of the first 21.
    Checksum,
}

/// Decodes a 25-byte base58check value and verifies its checksum, returning the 21-byte
/// payload (version byte first). Expects the pre-scanned (ASCII) address.
pub(super) fn decode_25(address: &str) -> Result<[u8; PAYLOAD_LEN], Base58CheckError> {
    // One spare byte so that a too-long value fails with BufferTooSmall rather than fitting.
    let mut buf = [0u8; DECODED_LEN + 1];
    let len = match base58::decode(address.as_bytes(), &mut buf) {
        Ok(len) => len,
        Err(Base58Error::InvalidCharacter { character, index }) => {
            return Err(Base58CheckError::Char {
                ch: character,
                at: index,
            })
        }
        Err(Base58Error::NonAscii { index }) => {
            let ch = address
                .get(index..)
                .and_then(|rest| rest.chars().next())
                .unwrap_or('\u{FFFD}');
            return Err(Base58CheckError::Char { ch, at: index });
        }
        Err(Base58Error::TooLong) => return Err(Base58CheckError::Length),
    };
    if len != DECODED_LEN {
        return Err(Base58CheckError::Length);
    }
    let (payload, checksum) = buf[..DECODED_LEN].split_at(PAYLOAD_LEN);
    let digest = Sha256::digest(Sha256::digest(payload));
    if digest[..CHECKSUM_LEN] != *checksum {
        return Err(Base58CheckError::Checksum);
    }
    let mut out = [0u8; PAYLOAD_LEN];
    out.copy_from_slice(payload);
    Ok(out)
}

/// What one network accepts and how it describes itself to a user.
pub(super) struct LegacyNetwork {
    /// "Bitcoin", "Litecoin", ...
    pub name: &'static str,
    /// What a valid address looks like, e.g. "a Bitcoin address starts with 1, 3 or bc1".
    pub expected: &'static str,
    pub mainnet_versions: &'static [u8],
    pub testnet_versions: &'static [u8],
}

pub(super) const BITCOIN: LegacyNetwork = LegacyNetwork {
    name: "Bitcoin",
    expected: "a Bitcoin address starts with 1, 3 or bc1",
    mainnet_versions: &[0x00, 0x05],
    testnet_versions: &[0x6f, 0xc4],
};

pub(super) const LITECOIN: LegacyNetwork = LegacyNetwork {
    name: "Litecoin",
    expected: "a Litecoin address starts with L, M, 3 or ltc1",
    mainnet_versions: &[0x30, 0x32, 0x05],
    testnet_versions: &[0x6f, 0xc4, 0x3a],
};

pub(super) const DOGECOIN: LegacyNetwork = LegacyNetwork {
    name: "Dogecoin",
    expected: "a Dogecoin address is 34 characters starting with D, 9 or A",
    mainnet_versions: &[0x1e, 0x16],
    testnet_versions: &[0x71, 0xc4],
};

pub(super) const DASH: LegacyNetwork = LegacyNetwork {
    name: "Dash",
    expected: "a Dash address is 34 characters starting with X or 7",
    mainnet_versions: &[0x4c, 0x10],
    testnet_versions: &[0x8c, 0x13],
};

/// Checks a legacy (base58check) address of `net`. The canonical key is the address itself.
pub(super) fn check<'a>(
    net: &LegacyNetwork,
    address: &'a str,
) -> Result<AddressKey<'a>, AddressError> {
    let payload = decode_25(address).map_err(|e| decode_error(e, net.name, net.expected))?;
    let version = payload[0];
    if net.mainnet_versions.contains(&version) {
        return Ok(AddressKey::same(address));
    }
    if net.testnet_versions.contains(&version) {
        return Err(AddressError::Testnet(format!(
            "this is a {} testnet address; payouts need a mainnet address",
            net.name
        )));
    }
    Err(AddressError::Format(format!(
        "this is not a {} address (version byte 0x{version:02x}; it may belong to another \
         network): {}",
        net.name, net.expected
    )))
}

/// Maps a base58check failure to the user-facing error for one network.
pub(super) fn decode_error(e: Base58CheckError, name: &str, expected: &str) -> AddressError {
    match e {
        Base58CheckError::Char { ch, at } => AddressError::Format(format!(
            "character '{ch}' at position {} is not used in {name} addresses \
             (0, O, I and l never are): {expected}",
            at + 1
        )),
        Base58CheckError::Length => {
            AddressError::Format(format!("wrong length for a {name} address: {expected}"))
        }
        Base58CheckError::Checksum => AddressError::Checksum(format!(
            "the {name} address checksum does not match, so it has a typo; \
             copy the address again from the recipient"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_address_decodes_to_its_hash160() {
        // 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa = version 0x00 + 62e907b15cbf27d5425399ebf6f0fb50ebb88f18
        let payload = decode_25("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").unwrap();
        assert_eq!(payload[0], 0x00);
        assert_eq!(
            hex::encode(&payload[1..]),
            "62e907b15cbf27d5425399ebf6f0fb50ebb88f18"
        );
    }

    #[test]
    fn decode_errors_are_classified() {
        assert_eq!(
            decode_25("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"),
            Err(Base58CheckError::Checksum)
        );
        assert_eq!(
            decode_25("1A1zP1eP5QGefi2DMPTfTL5SLmv7Div0Na"),
            Err(Base58CheckError::Char { ch: '0', at: 31 })
        );
        // one character dropped: still 25 bytes (a leading zero byte plus 24), so the
        // checksum catches it; one character added: 26 bytes, the wrong length
        assert_eq!(
            decode_25("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN"),
            Err(Base58CheckError::Checksum)
        );
        assert_eq!(
            decode_25("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNaa"),
            Err(Base58CheckError::Length)
        );
        assert_eq!(decode_25("1"), Err(Base58CheckError::Length));
    }
}
