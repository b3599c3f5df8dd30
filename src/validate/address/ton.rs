//! TON addresses in both forms. Raw: `wc:hex64` with workchain 0 or -1. User-friendly: 48
//! characters of base64 or base64url for 36 bytes = flags (0x11 bounceable, 0x51
//! non-bounceable, +0x80 test-only) + workchain byte + 32-byte account id + CRC16-XMODEM (big
//! endian) of the first 34 bytes. The canonical key of both forms is the raw form with
//! lower-case hex, so the forms of one account compare equal.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use crc::{Crc, CRC_16_XMODEM};

use super::{AddressError, AddressKey};

const EXPECTED: &str =
    "a TON address is 48 characters (like EQ… or UQ…) or 0: followed by 64 hexadecimal digits";
const FRIENDLY_CHARS: usize = 48;
const FRIENDLY_BYTES: usize = 36;
const ACCOUNT_BYTES: usize = 32;
const HEX_CHARS: usize = 2 * ACCOUNT_BYTES;

const TAG_BOUNCEABLE: u8 = 0x11;
const TAG_NON_BOUNCEABLE: u8 = 0x51;
const TAG_TEST_ONLY: u8 = 0x80;

static CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_XMODEM);

pub(super) fn check(address: &str) -> Result<AddressKey<'_>, AddressError> {
    // ':' is ASCII: a byte search splits where `split_once(':')` would
    match address.bytes().position(|b| b == b':') {
        Some(i) => check_raw(&address[..i], &address[i + 1..]),
        None => check_friendly(address),
    }
}

fn format_error(problem: &str) -> AddressError {
    AddressError::Format(format!("{problem}: {EXPECTED}"))
}

fn check_raw<'a>(workchain: &str, hex: &str) -> Result<AddressKey<'a>, AddressError> {
    let wc: i8 = match workchain {
        "0" => 0,
        "-1" => -1,
        _ => {
            return Err(format_error(&format!(
                "workchain '{workchain}' is neither 0 nor -1"
            )))
        }
    };
    if hex.len() != HEX_CHARS {
        return Err(format_error(&format!(
            "{} hexadecimal digits after the colon instead of 64",
            hex.len()
        )));
    }
    if let Some((i, ch)) = hex.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format_error(&format!(
            "character '{ch}' at position {} is not hexadecimal",
            workchain.len() + 2 + i
        )));
    }
    let prefix: &[u8] = if wc == 0 { b"0:" } else { b"-1:" };
    let mut key = [0u8; 3 + HEX_CHARS];
    key[..prefix.len()].copy_from_slice(prefix);
    let n = prefix.len() + HEX_CHARS;
    key[prefix.len()..n].copy_from_slice(hex.as_bytes());
    key[prefix.len()..n].make_ascii_lowercase();
    Ok(AddressKey::inline(&key[..n]))
}

fn check_friendly<'a>(address: &str) -> Result<AddressKey<'a>, AddressError> {
    if address.len() != FRIENDLY_CHARS {
        return Err(format_error(&format!("{} characters", address.len())));
    }
    let mut url_safe = false;
    let mut standard = false;
    for (i, b) in address.bytes().enumerate() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => {}
            b'-' | b'_' => url_safe = true,
            b'+' | b'/' => standard = true,
            _ => {
                return Err(format_error(&format!(
                    "character '{}' at position {} is not used in TON addresses",
                    char::from(b),
                    i + 1
                )))
            }
        }
    }
    if url_safe && standard {
        return Err(format_error("the address mixes - or _ with + or /"));
    }
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    let mut bytes = [0u8; FRIENDLY_BYTES];
    match engine.decode_slice(address, &mut bytes) {
        Ok(FRIENDLY_BYTES) => {}
        _ => return Err(format_error("the address is not valid base64")),
    }
    let (body, crc) = bytes.split_at(FRIENDLY_BYTES - 2);
    if CRC16.checksum(body).to_be_bytes() != *crc {
        return Err(AddressError::Checksum(
            "the TON address checksum does not match, so it has a typo; copy the address \
             again from the recipient"
                .into(),
        ));
    }
    let tag = body[0];
    if tag & TAG_TEST_ONLY != 0 {
        return Err(AddressError::Testnet(
            "this is a TON testnet (test-only) address; payouts need a mainnet address".into(),
        ));
    }
    if tag != TAG_BOUNCEABLE && tag != TAG_NON_BOUNCEABLE {
        return Err(format_error(&format!("flag byte 0x{tag:02x} is unknown")));
    }
    let prefix: &[u8] = match body[1] {
        0x00 => b"0:",
        0xff => b"-1:",
        other => {
            return Err(format_error(&format!(
                "workchain byte 0x{other:02x} is neither 0 nor -1"
            )))
        }
    };
    let mut key = [0u8; 3 + HEX_CHARS];
    key[..prefix.len()].copy_from_slice(prefix);
    for (i, b) in body[2..].iter().enumerate() {
        key[prefix.len() + 2 * i] = hex_digit(b >> 4);
        key[prefix.len() + 2 * i + 1] = hex_digit(b & 0x0f);
    }
    Ok(AddressKey::inline(&key[..prefix.len() + HEX_CHARS]))
}

fn hex_digit(nibble: u8) -> u8 {
    b"0123456789abcdef"[usize::from(nibble & 0x0f)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(address: &str) -> Result<String, AddressError> {
        check(address).map(|k| k.as_str().to_owned())
    }

    #[test]
    fn crc16_is_xmodem() {
        // the catalogue's check value for CRC-16/XMODEM
        assert_eq!(CRC16.checksum(b"123456789"), 0x31c3);
    }

    #[test]
    fn bounceable_and_non_bounceable_forms_give_the_raw_key() {
        let raw = "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8";
        assert_eq!(
            key("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N").as_deref(),
            Ok(raw)
        );
        assert_eq!(
            key("UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI").as_deref(),
            Ok(raw)
        );
        assert_eq!(key(raw).as_deref(), Ok(raw));
    }
}
