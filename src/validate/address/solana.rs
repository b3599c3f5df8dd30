//! Solana addresses: base58 (Bitcoin alphabet) of exactly 32 bytes, 32 to 44 characters.
//! Solana addresses carry no checksum, so a typo that keeps the shape cannot be detected.
//! The canonical key is the address itself (base58 is case-sensitive); it carries the decoded
//! 32-byte key for the curve check (`recipients::solana_key_on_curve`).

use super::base58::{self, Base58Error};
use super::{AddressError, AddressKey};

const EXPECTED: &str = "a Solana address is 32 to 44 base58 characters";
const KEY_LEN: usize = 32;
const MIN_CHARS: usize = 32;
const MAX_CHARS: usize = 44;

pub(super) fn check(address: &str) -> Result<AddressKey<'_>, AddressError> {
    if !(MIN_CHARS..=MAX_CHARS).contains(&address.len()) {
        return Err(AddressError::Format(format!(
            "{} characters: {EXPECTED}",
            address.len()
        )));
    }
    // One spare byte so that a value longer than 32 bytes fails instead of fitting.
    let mut buf = [0u8; KEY_LEN + 1];
    match base58::decode(address.as_bytes(), &mut buf) {
        Ok(KEY_LEN) => {
            let mut key = [0u8; KEY_LEN];
            key.copy_from_slice(&buf[..KEY_LEN]);
            Ok(AddressKey::same_decoded(address, key))
        }
        Err(Base58Error::InvalidCharacter { character, index }) => {
            Err(AddressError::Format(format!(
                "character '{character}' at position {} is not used in Solana addresses \
                 (0, O, I and l never are): {EXPECTED}",
                index + 1
            )))
        }
        Ok(_) | Err(_) => Err(AddressError::Format(format!(
            "the address does not decode to a 32-byte Solana key: {EXPECTED}"
        ))),
    }
}
