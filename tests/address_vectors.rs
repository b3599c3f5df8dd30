//! Address checking against published vectors (BIP-173, BIP-350, EIP-55) and real-world
//! addresses whose checksums were verified independently (a separate base58/SHA-256,
//! bech32, Keccak-256 and CRC16 computation), each with a one-character typo that must fail
//! with `address_checksum`. Plus whitespace, invisible and look-alike variants, and a
//! property test that `check` never panics.

use payrun::validate::address::{check, AddressError, AddressFamily};
use proptest::prelude::*;

use AddressFamily::*;

const ALL_FAMILIES: [AddressFamily; 8] =
    [Tron, Evm, Bitcoin, Litecoin, Dogecoin, Dash, Solana, Ton];

/// `"ok"` or the error code, so a failing assertion says which kind came back.
fn kind(family: AddressFamily, address: &str) -> &'static str {
    match check(family, address) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn assert_kinds(family: AddressFamily, cases: &[(&str, &str)]) {
    for (address, expected) in cases {
        let got = check(family, address);
        let got_kind = match &got {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(got_kind, *expected, "{family:?} {address:?} gave {got:?}");
    }
}

fn assert_valid_unchanged(family: AddressFamily, addresses: &[&str]) {
    for address in addresses {
        assert_eq!(
            check(family, address).as_deref(),
            Ok(*address),
            "{family:?} {address:?}"
        );
    }
}

// ---------------------------------------------------------------- BIP-173 / BIP-350

#[test]
fn bip173_valid_v0_addresses() {
    assert_eq!(
        check(Bitcoin, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4").as_deref(),
        Ok("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    );
    assert_kinds(
        Bitcoin,
        &[
            (
                "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
                "address_testnet",
            ),
            (
                "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
                "address_testnet",
            ),
        ],
    );
}

#[test]
fn bip173_valid_v1_plus_with_bech32_are_refused_since_bip350() {
    // Listed valid in BIP-173; BIP-350 requires bech32m for versions 1 to 16.
    assert_kinds(
        Bitcoin,
        &[
            (
                "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
                "address_checksum",
            ),
            ("BC1SW50QA3JX3S", "address_checksum"),
            ("bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj", "address_checksum"),
        ],
    );
}

#[test]
fn bip173_invalid_segwit_addresses() {
    assert_kinds(
        Bitcoin,
        &[
            // Invalid human-readable part
            (
                "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",
                "address_format",
            ),
            // Invalid checksum
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
                "address_checksum",
            ),
            // Invalid witness version
            (
                "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",
                "address_format",
            ),
            // Invalid program length
            ("bc1rw5uspcuh", "address_format"),
            (
                "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
                "address_format",
            ),
            // Invalid program length for witness version 0 (per BIP141)
            ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "address_format"),
            // Mixed case
            (
                "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
                "address_format",
            ),
            // zero padding of more than 4 bits
            ("bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "address_format"),
            // Non-zero padding in 8-to-5 conversion
            (
                "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",
                "address_format",
            ),
            // Empty data section
            ("bc1gmk9yu", "address_format"),
        ],
    );
}

#[test]
fn bip350_valid_addresses() {
    assert_eq!(
        check(Bitcoin, "BC1SW50QGDZ25J").as_deref(),
        Ok("bc1sw50qgdz25j")
    );
    assert_valid_unchanged(
        Bitcoin,
        &[
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
            "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ],
    );
    assert_kinds(
        Bitcoin,
        &[
            (
                "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
                "address_testnet",
            ),
            (
                "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
                "address_testnet",
            ),
            (
                "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
                "address_testnet",
            ),
        ],
    );
}

#[test]
fn bip350_invalid_addresses() {
    assert_kinds(
        Bitcoin,
        &[
            // Invalid human-readable part
            (
                "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
                "address_format",
            ),
            // Invalid checksum (Bech32 instead of Bech32m)
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
                "address_checksum",
            ),
            (
                "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
                "address_checksum",
            ),
            (
                "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
                "address_checksum",
            ),
            // Invalid checksum (Bech32m instead of Bech32)
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
                "address_checksum",
            ),
            (
                "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
                "address_checksum",
            ),
            // Invalid character in checksum
            (
                "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
                "address_format",
            ),
            // Invalid witness version
            (
                "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
                "address_format",
            ),
            // Invalid program length (1 byte)
            ("bc1pw5dgrnzv", "address_format"),
            // Invalid program length (41 bytes)
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
                "address_format",
            ),
            // Invalid program length for witness version 0 (per BIP141)
            ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "address_format"),
            // Mixed case
            (
                "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
                "address_format",
            ),
            // zero padding of more than 4 bits
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
                "address_format",
            ),
            // Non-zero padding in 8-to-5 conversion
            (
                "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
                "address_format",
            ),
            // Empty data section
            ("bc1gmk9yu", "address_format"),
        ],
    );
}

#[test]
fn segwit_real_addresses_and_typos() {
    assert_valid_unchanged(Bitcoin, &["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"]);
    assert_valid_unchanged(
        Litecoin,
        &[
            "ltc1qn39l4h59x4s0hr90pn3p4qflhhm5ahe6x9u6jg",
            "ltc1q4damdzpqsj964pva4w4y3vky7uq8ett20s9682",
        ],
    );
    assert_eq!(
        check(Litecoin, "LTC1QN39L4H59X4S0HR90PN3P4QFLHHM5AHE6X9U6JG").as_deref(),
        Ok("ltc1qn39l4h59x4s0hr90pn3p4qflhhm5ahe6x9u6jg")
    );
    assert_kinds(
        Bitcoin,
        &[
            (
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp",
                "address_checksum",
            ),
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj2",
                "address_checksum",
            ),
            // regtest
            (
                "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                "address_testnet",
            ),
            // a Litecoin address in a Bitcoin column
            (
                "ltc1qn39l4h59x4s0hr90pn3p4qflhhm5ahe6x9u6jg",
                "address_format",
            ),
        ],
    );
    assert_kinds(
        Litecoin,
        &[
            (
                "ltc1qn39l4h59x4s0hr90pn3p4qflhhm5ahe7x9u6jg",
                "address_checksum",
            ),
            // a stray '1' (not in the bech32 alphabet) after the prefix
            (
                "ltc1qn39l4h59x4s0hr90pn3p4qflhhm5ahe1x9u6jg",
                "address_format",
            ),
            (
                "tltc1qw508d6qejxtdg4y5r3zarvary0c5xw7klfsuq0",
                "address_testnet",
            ),
            (
                "rltc1qw508d6qejxtdg4y5r3zarvary0c5xw7k693xs3",
                "address_testnet",
            ),
            // a Bitcoin segwit address in a Litecoin column
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                "address_format",
            ),
        ],
    );
}

// ---------------------------------------------------------------- EIP-55

const EIP55_VECTORS: [&str; 8] = [
    // all caps
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    // all lower
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    // normal
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
];

#[test]
fn eip55_vectors_pass_with_lower_case_key() {
    for address in EIP55_VECTORS {
        assert_eq!(
            check(Evm, address),
            Ok(address.to_ascii_lowercase()),
            "{address}"
        );
    }
}

#[test]
fn eip55_vectors_with_one_letter_case_flipped_fail_with_checksum() {
    let mut flipped = 0;
    for address in EIP55_VECTORS {
        for (i, c) in address.char_indices().skip(2) {
            if !c.is_ascii_alphabetic() {
                continue;
            }
            let mut variant = address.to_owned();
            let swapped = if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            };
            variant.replace_range(i..=i, &swapped.to_string());
            assert_eq!(kind(Evm, &variant), "address_checksum", "{variant}");
            flipped += 1;
        }
    }
    assert!(flipped > 100, "only {flipped} variants tried");
}

#[test]
fn evm_real_addresses_typos_and_shapes() {
    // USDT and USDC contracts on Ethereum (EIP-55 verified independently)
    for address in [
        "0xdAC17F958D2ee523a2206206994597C13D831ec7",
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    ] {
        assert_eq!(check(Evm, address), Ok(address.to_ascii_lowercase()));
    }
    assert_kinds(
        Evm,
        &[
            // one digit changed in a checksummed address
            (
                "0xdAC17F958D2ee523a2206206994597C13D831ec8",
                "address_checksum",
            ),
            (
                "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d358",
                "address_checksum",
            ),
            // one letter's case changed
            (
                "0xdAC17F958D2ee523a2206206994597C13D831Ec7",
                "address_checksum",
            ),
            // shapes
            (
                "0XdAC17F958D2ee523a2206206994597C13D831ec7",
                "address_format",
            ),
            ("dAC17F958D2ee523a2206206994597C13D831ec7", "address_format"),
            (
                "0xdAC17F958D2ee523a2206206994597C13D831ec",
                "address_format",
            ),
            (
                "0xdAC17F958D2ee523a2206206994597C13D831ec77",
                "address_format",
            ),
            (
                "0xgAC17F958D2ee523a2206206994597C13D831ec7",
                "address_format",
            ),
            ("0x", "address_format"),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "address_format"),
        ],
    );
}

// ---------------------------------------------------------------- TRON

#[test]
fn tron_addresses() {
    // USDT TRC20 contract, and 0x41 + the genesis hash160 (computed)
    assert_valid_unchanged(
        Tron,
        &[
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "TJzCP527E8Pbpt5qwf7NyUmaFZfRQhiAJx",
        ],
    );
    assert_kinds(
        Tron,
        &[
            ("TR7NHqjeKRxGTCi8q8ZY4pL8otSzgjLj6t", "address_checksum"),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", "address_checksum"),
            // wrong length, wrong first letter, bad characters, other families
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6", "address_format"),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6tt", "address_format"),
            ("tR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "address_format"),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj0t", "address_format"),
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "address_format"),
            (
                "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                "address_format",
            ),
        ],
    );
    let message = check(Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("34 characters starting with T"),
        "{message}"
    );
}

// ---------------------------------------------------------------- base58check families

#[test]
fn bitcoin_legacy_addresses() {
    // Genesis coinbase P2PKH; P2SH example from the Bitcoin wiki
    assert_valid_unchanged(
        Bitcoin,
        &[
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        ],
    );
    assert_kinds(
        Bitcoin,
        &[
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "address_checksum"),
            ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz", "address_checksum"),
            // testnet P2PKH (0x6f) and P2SH (0xc4)
            ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "address_testnet"),
            ("mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt", "address_testnet"),
            ("2N2GDNJ4rEm6NxfMC9ck8VuRdheQzXWaNZv", "address_testnet"),
            // valid base58check of other networks: wrong version byte
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "address_format"),
            ("DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L", "address_format"),
            ("LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA", "address_format"),
            // not base58 at all / too long
            (
                "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                "address_format",
            ),
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNaa", "address_format"),
            (
                "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                "address_format",
            ),
        ],
    );
    let message = check(Bitcoin, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
        .unwrap_err()
        .to_string();
    assert!(message.contains("0x41"), "{message}");
}

#[test]
fn litecoin_legacy_addresses() {
    // L and M from Litecoin Core's key_io_valid.json; 3 is the legacy P2SH version 0x05
    assert_valid_unchanged(
        Litecoin,
        &[
            "LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA",
            "MHrYRxAiMNBTku3eoDHwhA1LQGDjUStZW2",
            "LUEweDxDA4WhvWiNXXSxjM9CYzHPJv4QQF",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        ],
    );
    assert_kinds(
        Litecoin,
        &[
            ("LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeB", "address_checksum"),
            ("MHrYRxAiMNBTku3eoDHwhA1LQGDjUStZW3", "address_checksum"),
            ("QXaUgLHkZcbJb2j5XgMYzY8cF9YM48Y81Z", "address_testnet"),
            ("QVcyVJw6Fs9U6r7Emin9abs4r2rpPhBE1A", "address_testnet"),
            ("mwXn5Vhicdav8Av3KMokx4YNuHoGRKxtWs", "address_testnet"),
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "address_format"),
        ],
    );
}

#[test]
fn dogecoin_addresses() {
    // D (0x1e) real; A (0x16) computed from a known hash160
    assert_valid_unchanged(
        Dogecoin,
        &[
            "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L",
            "A1TG3QCihNTvfF67tcng864kBsarnaPyFm",
        ],
    );
    assert_kinds(
        Dogecoin,
        &[
            ("DH5yaieqoZN36fDVciNyRueRGvGLR3mr7M", "address_checksum"),
            ("A1TG3QCihNTvfF67tcng864kBsarnaPyFn", "address_checksum"),
            ("ndD9eHKwJndf5gn17o6gFVqLTn2hXk9FFJ", "address_testnet"),
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "address_format"),
            ("XxKhGNv6ECbqVswm9KYcLPQnyWgZ86jJ6Q", "address_format"),
        ],
    );
}

#[test]
fn dash_addresses() {
    // X (0x4c) real; 7 (0x10) computed from a known hash160
    assert_valid_unchanged(
        Dash,
        &[
            "XxKhGNv6ECbqVswm9KYcLPQnyWgZ86jJ6Q",
            "7bRe8kQzSHgfkeFbk6nmDLS2Qr3CXPgTPo",
        ],
    );
    assert_kinds(
        Dash,
        &[
            ("XxKhGNv6ECbqVswm9KYcLPQnyWgZ86jJ6R", "address_checksum"),
            ("7bRe8kQzSHgfkeFbk6nmDLS2Qr3CXPgTPp", "address_checksum"),
            ("yVLSEDNiUf9KAPYLn86HLtBaTPzAhDfksR", "address_testnet"),
            ("8oST65JrZq5JCwfrpMnifiFPJMp2hRhLb7", "address_testnet"),
            ("DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L", "address_format"),
        ],
    );
}

// ---------------------------------------------------------------- Solana

#[test]
fn solana_addresses() {
    assert_valid_unchanged(
        Solana,
        &[
            "11111111111111111111111111111111",
            "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
            "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB",
            "So11111111111111111111111111111111111111112",
        ],
    );
    assert_kinds(
        Solana,
        &[
            // decodes to 31 bytes / 33 bytes
            (
                "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5D",
                "address_format",
            ),
            ("1111111111111111111111111111111", "address_format"),
            ("111111111111111111111111111111111", "address_format"),
            (
                "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt0v",
                "address_format",
            ),
            (
                "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1vv",
                "address_format",
            ),
            (
                "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                "address_format",
            ),
        ],
    );
}

// ---------------------------------------------------------------- TON

const USDT_TON_RAW: &str = "0:b113a994b5024a16719f69139328eb759596c38a25f59028b146fecdc3621dfe";

#[test]
fn ton_forms_of_one_account_share_a_key() {
    for form in [
        "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs", // USDT jetton master, bounceable
        "UQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_p0p", // non-bounceable
        "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id/sDs", // standard base64
        USDT_TON_RAW,
        "0:B113A994B5024A16719F69139328EB759596C38A25F59028B146FECDC3621DFE",
    ] {
        assert_eq!(check(Ton, form).as_deref(), Ok(USDT_TON_RAW), "{form}");
    }
    assert_eq!(
        check(Ton, "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N").as_deref(),
        Ok("0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8")
    );
    assert_eq!(
        check(Ton, "Ef8zMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM0vF").as_deref(),
        Ok("-1:3333333333333333333333333333333333333333333333333333333333333333")
    );
}

#[test]
fn ton_invalid_forms() {
    assert_kinds(
        Ton,
        &[
            (
                "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw3Id_sDs",
                "address_checksum",
            ),
            (
                "UQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_p0q",
                "address_checksum",
            ),
            // test-only flag (0x91, 0xd1) with correct CRC
            (
                "kQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_ntm",
                "address_testnet",
            ),
            (
                "0QCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_iaj",
                "address_testnet",
            ),
            // unknown flag 0x12 / workchain byte 0x01, with correct CRC
            (
                "EgCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_nSi",
                "address_format",
            ),
            (
                "EQGxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_k0w",
                "address_format",
            ),
            // mixed base64 alphabets, bad characters, wrong length
            (
                "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2+d_sDs",
                "address_format",
            ),
            (
                "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sD=",
                "address_format",
            ),
            (
                "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sD",
                "address_format",
            ),
            // raw form problems
            (
                "1:b113a994b5024a16719f69139328eb759596c38a25f59028b146fecdc3621dfe",
                "address_format",
            ),
            (
                "0:b113a994b5024a16719f69139328eb759596c38a25f59028b146fecdc3621df",
                "address_format",
            ),
            (
                "0:g113a994b5024a16719f69139328eb759596c38a25f59028b146fecdc3621dfe",
                "address_format",
            ),
            (
                "0:b113a994b5024a16719f69139328eb759596c38a25f59028b146fecdc3621dfe:",
                "address_format",
            ),
            ("0:", "address_format"),
            (":", "address_format"),
        ],
    );
}

// ---------------------------------------------------------------- characters

/// One valid address per family, used for the whitespace and look-alike variants.
const VALID: [(AddressFamily, &str); 8] = [
    (Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
    (Evm, "0xdAC17F958D2ee523a2206206994597C13D831ec7"),
    (Bitcoin, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    (Litecoin, "LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA"),
    (Dogecoin, "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L"),
    (Dash, "XxKhGNv6ECbqVswm9KYcLPQnyWgZ86jJ6Q"),
    (Solana, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
    (Ton, "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs"),
];

#[test]
fn the_valid_samples_are_valid() {
    for (family, address) in VALID {
        assert!(check(family, address).is_ok(), "{family:?} {address}");
    }
}

#[test]
fn whitespace_and_invisible_characters_are_never_trimmed() {
    let invisibles = [
        ' ', '\t', '\n', '\r', '\u{00A0}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}',
        '\u{200F}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{202A}', '\u{202E}', '\u{2066}',
        '\u{3000}', '\u{202F}',
    ];
    for (family, address) in VALID {
        let last = address.chars().count();
        for ch in invisibles {
            for (variant, at) in [
                (format!("{ch}{address}"), 0),
                (format!("{address}{ch}"), last),
                (format!("{}{ch}{}", &address[..5], &address[5..]), 5),
            ] {
                assert_eq!(
                    check(family, &variant),
                    Err(AddressError::Whitespace { at }),
                    "{family:?} {variant:?}"
                );
            }
        }
    }
}

#[test]
fn cyrillic_and_greek_look_alikes_are_named() {
    // (Latin, look-alike) pairs; each replaces the first occurrence in a valid address.
    let pairs = [
        ('a', 'а'),
        ('e', 'е'),
        ('o', 'о'),
        ('p', 'р'),
        ('c', 'с'),
        ('y', 'у'),
        ('x', 'х'),
        ('i', 'і'),
        ('j', 'ј'),
        ('s', 'ѕ'),
        ('A', 'А'),
        ('B', 'В'),
        ('E', 'Е'),
        ('K', 'К'),
        ('M', 'М'),
        ('H', 'Н'),
        ('O', 'О'),
        ('P', 'Р'),
        ('C', 'С'),
        ('T', 'Т'),
        ('X', 'Х'),
        ('I', 'І'),
        ('o', 'ο'),
        ('a', 'α'),
        ('v', 'ν'),
        ('1', '１'),
        ('7', '７'),
        ('D', 'Ｄ'),
    ];
    let mut tried = 0;
    for (family, address) in VALID {
        for (latin, fake) in pairs {
            let Some(at_byte) = address.find(latin) else {
                continue;
            };
            let at = address[..at_byte].chars().count();
            let variant = format!("{}{fake}{}", &address[..at_byte], &address[at_byte + 1..]);
            assert_eq!(
                check(family, &variant),
                Err(AddressError::LookAlike { at, found: fake }),
                "{family:?} {variant}"
            );
            tried += 1;
        }
    }
    assert!(tried > 60, "only {tried} variants tried");
    let message = check(Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8\u{043E}tSzgjLj6t")
        .unwrap_err()
        .to_string();
    assert!(message.contains("U+043E"), "{message}");
    assert!(message.contains("position 25"), "{message}");
}

#[test]
fn empty_and_other_non_ascii() {
    for family in ALL_FAMILIES {
        assert_eq!(check(family, ""), Err(AddressError::Empty));
        assert_eq!(
            kind(family, "TR7NHqjeKQxGTCi8q8ZY4pL8ötSzgjLj6t"),
            "address_format"
        );
        assert_eq!(kind(family, "€"), "address_format");
    }
}

// ---------------------------------------------------------------- never panics

proptest! {
    #[test]
    fn check_never_panics_on_any_string(s in "\\PC*") {
        for family in ALL_FAMILIES {
            let _ = check(family, &s);
        }
    }

    #[test]
    fn check_never_panics_on_address_like_ascii(
        s in "[0-9A-Za-z:_+/=-]{0,100}",
    ) {
        for family in ALL_FAMILIES {
            let _ = check(family, &s);
        }
    }

    #[test]
    fn canonical_keys_are_valid_and_stable(index in 0usize..8, upper in any::<bool>()) {
        // the key of a valid address checks to itself (idempotent), whatever case the
        // case-insensitive families were written in
        let (family, address) = VALID[index];
        let written = match (family, upper) {
            (Bitcoin, true) => address.to_ascii_uppercase(),
            _ => address.to_owned(),
        };
        let key = check(family, &written).unwrap();
        prop_assert_eq!(check(family, &key), Ok(key.clone()));
    }

    #[test]
    fn check_never_panics_near_valid_addresses(
        index in 0usize..8,
        position in 0usize..100,
        replacement in proptest::char::any(),
        delete in any::<bool>(),
    ) {
        let (family, address) = VALID[index];
        let mut chars: Vec<char> = address.chars().collect();
        let position = position % chars.len();
        if delete {
            chars.remove(position);
        } else {
            chars[position] = replacement;
        }
        let variant: String = chars.into_iter().collect();
        let _ = check(family, &variant);
    }
}

/// A legacy Litecoin address that starts with the letters `LTC1` is not bech32: the mixed case
/// rules bech32 out, and its base58check checksum is valid.
#[test]
fn legacy_litecoin_starting_with_ltc1_is_valid() {
    use payrun::validate::address::{check, AddressFamily};
    let a = "LTC1DZ6uULfdkTEAecYUnMVxHn952KpssQ";
    assert_eq!(check(AddressFamily::Litecoin, a).as_deref(), Ok(a));
    // One character changed: still refused, as a checksum typo.
    let typo = "LTC1DZ6uULfdkTEAecYUnMVxHn952KpssR";
    assert_eq!(
        check(AddressFamily::Litecoin, typo).unwrap_err().code(),
        "address_checksum"
    );
    // A genuine mixed-case bech32 is still refused for mixing cases.
    let mixed = "ltc1Qg42tkwuuxefutzxezdkdel39gfstuap288mfea";
    assert_eq!(
        check(AddressFamily::Litecoin, mixed).unwrap_err().code(),
        "address_format"
    );
}
