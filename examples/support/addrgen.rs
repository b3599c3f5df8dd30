//! Real, valid mainnet addresses derived from a seed, for generated and sample sheets: each one
//! is encoded with its family's checksum (base58check version bytes, EIP-55, bech32 per BIP-173,
//! TON CRC16-XMODEM), never invented. Shared by the examples and the bench via `#[path]`.
#![allow(dead_code)]

use base64::Engine;
use sha2::{Digest, Sha256};
use sha3::Keccak256;

/// 32 deterministic bytes from a seed.
pub fn bytes32(seed: &str) -> [u8; 32] {
    Sha256::digest(seed.as_bytes()).into()
}

fn base58check(version: u8, seed: &str) -> String {
    let mut payload = vec![version];
    payload.extend_from_slice(&bytes32(seed)[..20]);
    bs58::encode(payload).with_check().into_string()
}

/// TRON: base58check, version 0x41.
pub fn tron(seed: &str) -> String {
    base58check(0x41, seed)
}

/// EVM: `0x` + 40 hex with the EIP-55 mixed-case checksum.
pub fn evm(seed: &str) -> String {
    let lower = hex::encode(&bytes32(seed)[..20]);
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::from("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        out.push(if c.is_ascii_alphabetic() && nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

/// Bitcoin P2PKH (`1…`).
pub fn btc_p2pkh(seed: &str) -> String {
    base58check(0x00, seed)
}

/// Bitcoin P2SH (`3…`).
pub fn btc_p2sh(seed: &str) -> String {
    base58check(0x05, seed)
}

fn segwit_v0(hrp: &str, seed: &str) -> String {
    let hrp = bech32::Hrp::parse(hrp).expect("valid hrp");
    bech32::segwit::encode(hrp, bech32::segwit::VERSION_0, &bytes32(seed)[..20])
        .expect("20-byte v0 program")
}

/// Bitcoin P2WPKH (`bc1q…`, bech32).
pub fn btc_bech32(seed: &str) -> String {
    segwit_v0("bc", seed)
}

/// Bitcoin P2TR (`bc1p…`, bech32m, witness v1, 32 bytes).
pub fn btc_taproot(seed: &str) -> String {
    let hrp = bech32::Hrp::parse("bc").expect("valid hrp");
    bech32::segwit::encode(hrp, bech32::segwit::VERSION_1, &bytes32(seed)).expect("v1 program")
}

/// Litecoin `L…`.
pub fn ltc(seed: &str) -> String {
    base58check(0x30, seed)
}

/// Litecoin `M…` (P2SH).
pub fn ltc_p2sh(seed: &str) -> String {
    base58check(0x32, seed)
}

/// Litecoin `ltc1q…`.
pub fn ltc_bech32(seed: &str) -> String {
    segwit_v0("ltc", seed)
}

/// Dogecoin `D…`.
pub fn doge(seed: &str) -> String {
    base58check(0x1e, seed)
}

/// Dogecoin P2SH (`9…`/`A…`).
pub fn doge_p2sh(seed: &str) -> String {
    base58check(0x16, seed)
}

/// Dash `X…`.
pub fn dash(seed: &str) -> String {
    base58check(0x4c, seed)
}

/// Solana: base58 of a 32-byte key on the ed25519 curve (a wallet's public key, as a real
/// wallet address is; an off-curve key is a program-derived address). The seed is extended
/// with a counter until the key decompresses (about every other try).
pub fn sol(seed: &str) -> String {
    (0u32..)
        .map(|i| match i {
            0 => bytes32(seed),
            _ => bytes32(&format!("{seed}#{i}")),
        })
        .find(|b| {
            curve25519_dalek::edwards::CompressedEdwardsY(*b)
                .decompress()
                .is_some()
        })
        .map(|b| bs58::encode(b).into_string())
        .unwrap_or_default()
}

/// TON user-friendly, bounceable, workchain 0, base64url.
pub fn ton(seed: &str) -> String {
    let mut data = vec![0x11u8, 0x00];
    data.extend_from_slice(&bytes32(seed));
    let crc = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM).checksum(&data);
    data.extend_from_slice(&crc.to_be_bytes());
    base64::engine::general_purpose::URL_SAFE.encode(data)
}

/// One generated row: (network, currency, address, memo, amount decimals).
pub fn row_for(i: u64) -> (&'static str, &'static str, String, Option<String>, u32) {
    let seed = format!("payrun-gen-{i}");
    match i % 12 {
        0 => ("TRX-TRC20", "USDT", tron(&seed), None, 6),
        1 => ("ETH-ERC20", "USDC", evm(&seed), None, 6),
        2 => ("BSC-BEP20", "USDT", evm(&seed), None, 18),
        3 => ("POL-MATIC", "USDT", evm(&seed), None, 6),
        4 => ("AVAX-C", "USDC", evm(&seed), None, 6),
        5 => (
            "TON",
            "TON",
            ton(&seed),
            Some(format!("{}", 100_000 + i)),
            9,
        ),
        6 => ("SOL", "USDT", sol(&seed), Some(format!("inv{i}")), 6),
        7 => (
            "BTC",
            "BTC",
            if i % 24 == 7 {
                btc_bech32(&seed)
            } else {
                btc_p2pkh(&seed)
            },
            None,
            8,
        ),
        8 => ("LTC", "LTC", ltc(&seed), None, 8),
        9 => ("DOGE", "DOGE", doge(&seed), None, 8),
        10 => ("DASH", "DASH", dash(&seed), None, 8),
        _ => ("TRX-TRC20", "TRX", tron(&seed), None, 6),
    }
}
