//! TRON addresses: base58check of 25 bytes with version byte 0x41, always 34 characters
//! starting with `T`. The canonical key is the address itself (base58 is case-sensitive).

use super::base58check::{decode_25, decode_error};
use super::{AddressError, AddressKey};

const NAME: &str = "TRON";
const EXPECTED: &str = "a TRON address is 34 characters starting with T";
const VERSION: u8 = 0x41;
const LENGTH: usize = 34;

pub(super) fn check(address: &str) -> Result<AddressKey<'_>, AddressError> {
    if address.len() != LENGTH || !address.starts_with('T') {
        if address.starts_with("0x") && address.len() == 42 {
            return Err(AddressError::Format(format!(
                "this looks like an EVM (0x…) address, not a TRON one: {EXPECTED}"
            )));
        }
        return Err(AddressError::Format(format!(
            "{} characters starting with '{}': {EXPECTED}",
            address.len(),
            address.chars().next().unwrap_or(' ')
        )));
    }
    let payload = decode_25(address).map_err(|e| decode_error(e, NAME, EXPECTED))?;
    if payload[0] != VERSION {
        return Err(AddressError::Format(format!(
            "version byte 0x{:02x} is not TRON's 0x41: {EXPECTED}",
            payload[0]
        )));
    }
    Ok(AddressKey::same(address))
}
