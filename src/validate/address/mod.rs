//! Address checking per network family, with real checksums. Each family lives in its own file;
//! this module owns the family enum, the error type and the dispatch.

use std::fmt;

mod base58;
mod base58check;
mod chars;
mod evm;
mod key;
mod segwit;
mod solana;
mod ton;
mod tron;

pub use key::AddressKey;

/// The address formats payrun knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// TRON base58check, version byte 0x41.
    Tron,
    /// EVM `0x` + 40 hex, EIP-55 checksum when mixed case.
    Evm,
    /// BTC base58check P2PKH/P2SH, bech32 (v0) / bech32m (v1+) `bc1`.
    Bitcoin,
    /// LTC `L`/`M`/`3`, `ltc1`.
    Litecoin,
    /// DOGE `D`/`9`/`A`.
    Dogecoin,
    /// DASH `X`/`7`.
    Dash,
    /// SOL base58 of 32 bytes.
    Solana,
    /// TON raw `wc:hex64` and 48-char user-friendly base64/base64url with CRC16.
    Ton,
}

/// Why an address was refused. `code()` is the stable snake_case name shown to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// Empty cell.
    Empty,
    /// Whitespace, zero-width or other invisible characters (at char index `at`).
    Whitespace { at: usize },
    /// A character that looks like a Latin letter or digit but is not (e.g. Cyrillic `а`).
    LookAlike { at: usize, found: char },
    /// Wrong shape: length, alphabet, prefix, version byte, program length...
    Format(String),
    /// Well formed but the checksum does not match (a typo).
    Checksum(String),
    /// A testnet / test-only address where mainnet is required.
    Testnet(String),
}

impl AddressError {
    pub fn code(&self) -> &'static str {
        match self {
            AddressError::Empty => "address_missing",
            AddressError::Whitespace { .. } => "address_whitespace",
            AddressError::LookAlike { .. } => "address_lookalike",
            AddressError::Format(_) => "address_format",
            AddressError::Checksum(_) => "address_checksum",
            AddressError::Testnet(_) => "address_testnet",
        }
    }
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Empty => f.write_str("the address is empty"),
            AddressError::Whitespace { at } => write!(
                f,
                "the address contains a space or an invisible character at position {}; \
                 re-copy it from the source",
                at + 1
            ),
            AddressError::LookAlike { at, found } => write!(
                f,
                "the address contains '{found}' (U+{:04X}) at position {}, a character that \
                 only looks like a Latin letter or digit",
                *found as u32,
                at + 1
            ),
            AddressError::Format(m) | AddressError::Checksum(m) | AddressError::Testnet(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for AddressError {}

/// Checks `address` for `family`. On success returns the canonical key used to compare
/// addresses and derive order ids: EVM addresses lower-cased; TON user-friendly and raw forms
/// both mapped to the raw form `wc:hex64` (lower-case hex); every other family unchanged.
/// The input is never trimmed or repaired: any surrounding space is an error.
pub fn check(family: AddressFamily, address: &str) -> Result<String, AddressError> {
    check_key(family, address).map(|k| k.as_str().to_owned())
}

/// `check` without the heap: the same verdict, with the canonical key borrowed from `address`
/// when it is unchanged and held inline otherwise (the validation pipeline only hashes it).
pub fn check_key(family: AddressFamily, address: &str) -> Result<AddressKey<'_>, AddressError> {
    chars::prescan(address)?;
    match family {
        AddressFamily::Tron => tron::check(address),
        AddressFamily::Evm => evm::check(address),
        AddressFamily::Bitcoin => {
            segwit_or_legacy(&segwit::BITCOIN, &base58check::BITCOIN, address)
        }
        AddressFamily::Litecoin => {
            segwit_or_legacy(&segwit::LITECOIN, &base58check::LITECOIN, address)
        }
        AddressFamily::Dogecoin => base58check::check(&base58check::DOGECOIN, address),
        AddressFamily::Dash => base58check::check(&base58check::DASH, address),
        AddressFamily::Solana => solana::check(address),
        AddressFamily::Ton => ton::check(address),
    }
}

/// A segwit-prefixed address is bech32 — unless it mixes cases (never valid bech32) and is a
/// valid legacy address that merely starts with the same letters (e.g. Litecoin `LTC1DZ6u…`).
fn segwit_or_legacy<'a>(
    segwit_net: &segwit::SegwitNetwork,
    legacy: &base58check::LegacyNetwork,
    address: &'a str,
) -> Result<AddressKey<'a>, AddressError> {
    if !segwit::looks_segwit(address) {
        return base58check::check(legacy, address);
    }
    let mixed = address.bytes().any(|b| b.is_ascii_lowercase())
        && address.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        // A well-formed legacy address (even one with a checksum typo) is judged as legacy.
        let legacy_verdict = base58check::check(legacy, address);
        if matches!(legacy_verdict, Ok(_) | Err(AddressError::Checksum(_))) {
            return legacy_verdict;
        }
    }
    segwit::check(segwit_net, address)
}
