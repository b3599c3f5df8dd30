//! Recipient plausibility (docs/design.md, "Validation"): addresses that are valid but are not
//! anyone's wallet — each asset's own token contract or mint, zero and burn addresses, and
//! system programs. Paying one of them loses the money, so such a recipient is an error
//! (`recipient_not_wallet`). Also Solana's curve check: an address off the ed25519 curve is a
//! program-derived address (a token account, a vault), not a wallet, and an SPL token sent
//! there through the gateway may not reach the person meant (`recipient_off_curve`, a warning).
//!
//! The registry is data, compared with the address's canonical key (EVM lower case, TON raw
//! `wc:hex`, the base58 families as written). Sources, per entry group:
//! - Tether: <https://tether.to/en/supported-protocols> (USDT contract per chain);
//! - Circle: <https://developers.circle.com/stablecoins/usdc-contract-addresses> (USDC);
//! - TRON: <https://developers.tron.network/docs/account> (the all-zero address
//!   `T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb` = 0x41 + 20 zero bytes; the black-hole address
//!   `TLsV52sRDL79HXGGm9yzwKibb6BeruhUzy` used for burns);
//! - Ethereum and EVM chains: the zero address and `0x…dEaD`, the conventional burn address;
//! - Solana: <https://docs.solanalabs.com/runtime/programs> (System Program),
//!   <https://spl.solana.com/token> (Token Program, Associated Token Account Program),
//!   <https://spl.solana.com/token-2022> (Token-2022), wrapped SOL mint `So111…112`;
//! - TON: <https://docs.ton.org> (the zero account); USDT jetton master from Tether's list;
//! - Bitcoin: `1111111111111111111114oLvT2`, the P2PKH address of the all-zero key hash.

use std::sync::OnceLock;

use rustc_hash::FxHashSet;

/// Why an address is not a wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotWallet {
    /// The network code the entry holds on.
    pub network: &'static str,
    /// The canonical key (see the module doc).
    pub key: &'static str,
    /// What it is, for the message (`the USDT token contract`).
    pub what: &'static str,
}

const fn nw(network: &'static str, key: &'static str, what: &'static str) -> NotWallet {
    NotWallet { network, key, what }
}

/// EVM networks payrun knows; the zero and burn addresses hold on every one of them.
const EVM: &[&str] = &["ETH-ERC20", "BSC-BEP20", "AVAX-C", "POL-MATIC", "ARB-ERC20"];

const EVM_ZERO: &str = "0x0000000000000000000000000000000000000000";
const EVM_DEAD: &str = "0x000000000000000000000000000000000000dead";

/// Every non-wallet address per network. EVM keys are lower case (the canonical key).
pub static REGISTRY: &[NotWallet] = &[
    // TRON (Tether, Circle, TRON docs).
    nw(
        "TRX-TRC20",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "the USDT token contract",
    ),
    nw(
        "TRX-TRC20",
        "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8",
        "the USDC token contract",
    ),
    nw(
        "TRX-TRC20",
        "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb",
        "TRON's all-zero address",
    ),
    nw(
        "TRX-TRC20",
        "TLsV52sRDL79HXGGm9yzwKibb6BeruhUzy",
        "TRON's black-hole (burn) address",
    ),
    // Ethereum (Tether, Circle).
    nw(
        "ETH-ERC20",
        "0xdac17f958d2ee523a2206206994597c13d831ec7",
        "the USDT token contract",
    ),
    nw(
        "ETH-ERC20",
        "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
        "the USDC token contract",
    ),
    // BNB Smart Chain (Tether, Circle).
    nw(
        "BSC-BEP20",
        "0x55d398326f99059ff775485246999027b3197955",
        "the USDT token contract",
    ),
    nw(
        "BSC-BEP20",
        "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d",
        "the USDC token contract",
    ),
    // Polygon PoS (Tether, Circle: native USDC and bridged USDC.e).
    nw(
        "POL-MATIC",
        "0xc2132d05d31c914a87c6611c10748aeb04b58e8f",
        "the USDT token contract",
    ),
    nw(
        "POL-MATIC",
        "0x3c499c542cef5e3811e1192ce70d8cc03d5c3359",
        "the USDC token contract",
    ),
    nw(
        "POL-MATIC",
        "0x2791bca1f2de4661ed88a30c99a7a9449aa84174",
        "the USDC.e token contract",
    ),
    // Arbitrum One (Tether, Circle: native USDC and bridged USDC.e).
    nw(
        "ARB-ERC20",
        "0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9",
        "the USDT token contract",
    ),
    nw(
        "ARB-ERC20",
        "0xaf88d065e77c8cc2239327c5edb3a432268e5831",
        "the USDC token contract",
    ),
    nw(
        "ARB-ERC20",
        "0xff970a61a04b1ca14834a43f5de4533ebddb5cc8",
        "the USDC.e token contract",
    ),
    // Avalanche C-Chain (Tether, Circle).
    nw(
        "AVAX-C",
        "0x9702230a8ea53601f5cd2dc00fdbc13d4df4a8c7",
        "the USDT token contract",
    ),
    nw(
        "AVAX-C",
        "0xb97ef9ef8734c71904d8002f8b6bc66dd9c48a6e",
        "the USDC token contract",
    ),
    // Solana (Solana docs, SPL docs, Tether, Circle).
    nw(
        "SOL",
        "11111111111111111111111111111111",
        "Solana's System Program",
    ),
    nw(
        "SOL",
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "Solana's Token Program",
    ),
    nw(
        "SOL",
        "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
        "Solana's Token-2022 Program",
    ),
    nw(
        "SOL",
        "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
        "Solana's Associated Token Account Program",
    ),
    nw(
        "SOL",
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
        "the USDC mint",
    ),
    nw(
        "SOL",
        "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB",
        "the USDT mint",
    ),
    nw(
        "SOL",
        "So11111111111111111111111111111111111111112",
        "the wrapped SOL mint",
    ),
    // TON (TON docs, Tether): raw keys.
    nw(
        "TON",
        "0:0000000000000000000000000000000000000000000000000000000000000000",
        "TON's zero address",
    ),
    nw(
        "TON",
        "0:b113a994b5024a16719f69139328eb759596c38a25f59028b146fecdc3621dfe",
        "the USDT jetton master contract",
    ),
    // Bitcoin: the all-zero key hash.
    nw(
        "BTC",
        "1111111111111111111114oLvT2",
        "the address of the all-zero key hash (a burn address)",
    ),
];

/// What a valid recipient is when it is not a wallet: `None` for an ordinary address.
/// `key` is the canonical key the address checks return.
pub fn not_wallet(network: &str, key: &str) -> Option<&'static str> {
    // Nearly every key is an ordinary address: one hash lookup of the key answers for it
    // before network names are compared and the registry is scanned (that scan, string
    // compares on every row, was 2 % of `validate`'s CPU).
    if !registry_keys().may_hold(key) {
        return None;
    }
    if EVM.contains(&network) {
        if key == EVM_ZERO {
            return Some("the zero address");
        }
        if key == EVM_DEAD {
            return Some("the 0x…dEaD burn address");
        }
    }
    REGISTRY
        .iter()
        .find(|e| e.network == network && e.key == key)
        .map(|e| e.what)
}

/// Every key `not_wallet` can answer for, whatever the network: the registry's and the EVM
/// zero and burn addresses, behind a filter of their last eight bytes.
struct RegistryKeys {
    keys: FxHashSet<&'static str>,
    /// One bit per key, picked by `filter_bit`: a 512-byte filter turns away nearly every
    /// ordinary address with one multiply and one bit test (the set's own lookup, hashing the
    /// whole key, was 1.4 % of validating the benchmark sheet).
    filter: [u64; FILTER_WORDS],
}

const FILTER_WORDS: usize = 64;

/// The filter bit of `key`: from its last eight bytes (shorter keys all share bit 0).
fn filter_bit(key: &str) -> usize {
    let Some(tail) = key.as_bytes().last_chunk::<8>() else {
        return 0;
    };
    let mixed = u64::from_le_bytes(*tail).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> (64 - (FILTER_WORDS * 64).trailing_zeros())) as usize
}

impl RegistryKeys {
    fn may_hold(&self, key: &str) -> bool {
        let bit = filter_bit(key);
        self.filter[bit / 64] & (1 << (bit % 64)) != 0 && self.keys.contains(key)
    }
}

fn registry_keys() -> &'static RegistryKeys {
    static KEYS: OnceLock<RegistryKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let keys: FxHashSet<&'static str> = REGISTRY
            .iter()
            .map(|e| e.key)
            .chain([EVM_ZERO, EVM_DEAD])
            .collect();
        let mut filter = [0u64; FILTER_WORDS];
        for key in &keys {
            let bit = filter_bit(key);
            filter[bit / 64] |= 1 << (bit % 64);
        }
        RegistryKeys { keys, filter }
    })
}

/// Solana: whether the 32-byte key is a point on the ed25519 curve (a wallet's public key).
/// `None` when the address does not decode (the address check reports that).
pub fn solana_on_curve(address: &str) -> Option<bool> {
    let bytes = bs58::decode(address).into_vec().ok()?;
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    Some(solana_key_on_curve(&bytes))
}

/// `solana_on_curve` of an address already decoded (the address check keeps the 32 bytes it
/// decoded: `AddressKey::decoded32`), so validation decodes each address once. The answer for
/// a key seen recently on this thread comes from a small cache (`CURVE_CACHE_SLOTS`): the
/// check (`curve::on_curve`, a Legendre symbol with curve25519-dalek's decompression as its
/// answer) costs about 1.5 µs, and a payout sheet often pays one recipient on several rows.
pub fn solana_key_on_curve(key: &[u8; 32]) -> bool {
    let decompress = || super::curve::on_curve(key);
    CURVE_CACHE.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return decompress();
        };
        if cache.is_empty() {
            cache.resize(CURVE_CACHE_SLOTS, ([0; 32], CurveAnswer::Unknown));
        }
        // Decoded keys are uniform bytes: their first ones pick the slot. Keys that share a
        // slot only evict each other; the whole key is compared.
        let slot = usize::from(u16::from_le_bytes([key[0], key[1]])) % CURVE_CACHE_SLOTS;
        let (held, answer) = &mut cache[slot];
        match *answer {
            CurveAnswer::On if held == key => true,
            CurveAnswer::Off if held == key => false,
            _ => {
                let on = decompress();
                *held = *key;
                *answer = if on {
                    CurveAnswer::On
                } else {
                    CurveAnswer::Off
                };
                on
            }
        }
    })
}

/// Slots of the per-thread curve cache (33 bytes each: 135 KB a thread).
const CURVE_CACHE_SLOTS: usize = 4096;

#[derive(Clone, Copy)]
enum CurveAnswer {
    Unknown,
    On,
    Off,
}

thread_local! {
    /// Direct-mapped: key → whether it is on the curve, for the keys last seen on this thread.
    static CURVE_CACHE: std::cell::RefCell<Vec<([u8; 32], CurveAnswer)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether a currency on Solana is an SPL token (anything but SOL itself), for the off-curve
/// warning.
pub fn is_spl_token(network: &str, currency: &str) -> bool {
    network == "SOL" && !currency.eq_ignore_ascii_case("SOL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_a_valid_address_of_its_network() {
        for e in REGISTRY {
            let net = crate::networks::lookup(e.network).expect("known network");
            // TON entries are stored as raw keys, which the TON check accepts too.
            let key = crate::validate::address::check(net.family, e.key)
                .unwrap_or_else(|err| panic!("{} {}: {err}", e.network, e.key));
            assert_eq!(key, e.key, "{} entry is not in canonical form", e.network);
            // ...and the filter in front of the registry lets every entry through.
            assert_eq!(not_wallet(e.network, e.key), Some(e.what), "{}", e.key);
        }
        // The filter turns ordinary keys away: most of 10,000 fail at its bit test alone.
        let keys = registry_keys();
        let passed = (0..10_000u32)
            .filter(|n| {
                let key = format!("0x{:040x}", u128::from(*n) * 0x9e37_79b9_7f4a_7c15);
                let bit = filter_bit(&key);
                keys.filter[bit / 64] & (1 << (bit % 64)) != 0
            })
            .count();
        assert!(passed < 200, "{passed} of 10,000 passed the filter");
    }

    #[test]
    fn contracts_zero_and_burn_addresses_are_found_and_wallets_are_not() {
        assert_eq!(
            not_wallet("TRX-TRC20", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
            Some("the USDT token contract")
        );
        assert!(not_wallet("ARB-ERC20", EVM_DEAD).is_some());
        assert!(not_wallet("ETH-ERC20", EVM_ZERO).is_some());
        // A contract of one chain is an ordinary address on a chain where it is not one.
        assert!(not_wallet("BSC-BEP20", "0xdac17f958d2ee523a2206206994597c13d831ec7").is_none());
        assert!(not_wallet("TRX-TRC20", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8").is_none());
    }

    #[test]
    fn the_curve_check_tells_wallets_from_program_addresses() {
        // The System Program's key (all zero bytes) decompresses: y = 0 is on the curve.
        // A wallet key: the ed25519 base point's compressed form.
        let base =
            bs58::encode(curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED.to_bytes())
                .into_string();
        assert_eq!(solana_on_curve(&base), Some(true));
        // An address found off the curve (searched deterministically below).
        let off = (0u8..=255)
            .map(|i| bs58::encode([i; 32]).into_string())
            .find(|a| solana_on_curve(a) == Some(false))
            .expect("some constant key is off the curve");
        assert_eq!(solana_on_curve(&off), Some(false));
        assert_eq!(solana_on_curve("not base58 0OIl"), None);
    }

    #[test]
    fn the_cached_curve_answer_is_the_decompression_s() {
        // Many keys per cache slot (they share their first two bytes), each asked twice and
        // out of order: every answer must be curve25519-dalek's own.
        let keys: Vec<[u8; 32]> = (0u32..3000)
            .map(|i| {
                let mut k = [0u8; 32];
                k[..4].copy_from_slice(&(i % 7).to_le_bytes());
                k[4..8].copy_from_slice(&i.to_le_bytes());
                k[31] = (i % 251) as u8;
                k
            })
            .collect();
        let truth = |k: &[u8; 32]| {
            curve25519_dalek::edwards::CompressedEdwardsY(*k)
                .decompress()
                .is_some()
        };
        let on = keys.iter().filter(|k| truth(k)).count();
        assert!(on > 100 && on < keys.len() - 100, "both answers occur");
        for k in keys.iter().chain(keys.iter().rev()).chain(keys.iter()) {
            assert_eq!(solana_key_on_curve(k), truth(k));
        }
    }
}
