//! Writes the sample sheets in `samples/` (payroll.csv, blockatm.csv, affiliates.xlsx,
//! broken.csv) with real addresses derived by `support/addrgen.rs` (correct checksums), so the
//! samples can be regenerated: `cargo run --example make_samples`.

#[path = "support/addrgen.rs"]
mod addrgen;

use addrgen::*;
use std::fmt::Write as _;

fn payroll() -> String {
    let rows: Vec<[String; 8]> = vec![
        [
            "Alice Martin",
            "E1001",
            "alice@example.com",
            &tron("alice"),
            "1250.00",
            "USDT",
            "TRX-TRC20",
            "",
        ],
        [
            "Bruno Costa",
            "E1002",
            "bruno@example.com",
            &tron("bruno"),
            "980.50",
            "USDT",
            "TRX-TRC20",
            "",
        ],
        [
            "Chen Wei",
            "E1003",
            "chen@example.com",
            &tron("chen"),
            "150",
            "TRX",
            "TRX-TRC20",
            "",
        ],
        [
            "Dana Cohen",
            "E1004",
            "dana@example.com",
            &evm("dana"),
            "2100.00",
            "USDC",
            "ETH-ERC20",
            "",
        ],
        [
            "Emeka Obi",
            "E1005",
            "emeka@example.com",
            &evm("emeka").to_lowercase(),
            "1500.00",
            "USDT",
            "ETH-ERC20",
            "",
        ],
        [
            "Fatima Zahra",
            "E1006",
            "fatima@example.com",
            &evm("fatima"),
            "875.25",
            "USDT",
            "BSC-BEP20",
            "",
        ],
        [
            "Gustav Berg",
            "E1007",
            "gustav@example.com",
            &evm("gustav"),
            "640.00",
            "USDC",
            "POL-MATIC",
            "",
        ],
        [
            "Hana Sato",
            "E1008",
            "hana@example.com",
            &evm("hana"),
            "1120.75",
            "USDT",
            "AVAX-C",
            "",
        ],
        [
            "Ivan Petrov",
            "E1009",
            "ivan@example.com",
            &ton("ivan"),
            "310.5",
            "TON",
            "TON",
            "48213377",
        ],
        [
            "Julia Rossi",
            "E1010",
            "julia@example.com",
            &ton("julia"),
            "990.00",
            "USDT",
            "TON",
            "payroll-may",
        ],
        [
            "Kofi Mensah",
            "E1011",
            "kofi@example.com",
            &sol("kofi"),
            "1340.00",
            "USDC",
            "SOL",
            "7781920",
        ],
        [
            "Lena Vogel",
            "E1012",
            "lena@example.com",
            &sol("lena"),
            "4.25",
            "SOL",
            "SOL",
            "",
        ],
        [
            "Mateo Ruiz",
            "E1013",
            "mateo@example.com",
            &btc_p2pkh("mateo"),
            "0.0125",
            "BTC",
            "BTC",
            "",
        ],
        [
            "Nora Lind",
            "E1014",
            "nora@example.com",
            &btc_bech32("nora"),
            "0.02",
            "BTC",
            "BTC",
            "",
        ],
        [
            "Omar Haddad",
            "E1015",
            "omar@example.com",
            &btc_taproot("omar"),
            "0.00875",
            "BTC",
            "BTC",
            "",
        ],
        [
            "Priya Nair",
            "E1016",
            "priya@example.com",
            &btc_p2sh("priya"),
            "0.015",
            "BTC",
            "BTC",
            "",
        ],
        [
            "Quinn Walsh",
            "E1017",
            "quinn@example.com",
            &ltc_bech32("quinn"),
            "6.4",
            "LTC",
            "LTC",
            "",
        ],
        [
            "Rosa Silva",
            "E1018",
            "rosa@example.com",
            &ltc("rosa"),
            "3.75",
            "LTC",
            "LTC",
            "",
        ],
        [
            "Sven Olsen",
            "E1019",
            "sven@example.com",
            &doge("sven"),
            "4200",
            "DOGE",
            "DOGE",
            "",
        ],
        [
            "Tariq Aziz",
            "E1020",
            "tariq@example.com",
            &dash("tariq"),
            "12.5",
            "DASH",
            "DASH",
            "",
        ],
    ]
    .into_iter()
    .map(|r| r.map(String::from))
    .collect();
    let mut s = String::from("name,employee_id,email,address,amount,currency,network,memo\n");
    for r in rows {
        let _ = writeln!(s, "{}", r.join(","));
    }
    s
}

fn blockatm() -> String {
    let mut s = String::from("recipient,amount,symbol,remark,name\n");
    for (i, (who, amount)) in [
        ("aiko", "500.00"),
        ("ben", "1250.50"),
        ("carla", "75"),
        ("dmitri", "310.25"),
        ("eva", "990.00"),
    ]
    .iter()
    .enumerate()
    {
        let _ = writeln!(
            s,
            "{},{amount},USDT,May affiliate payout {},{}",
            tron(&format!("blockatm-{who}")),
            i + 1,
            who
        );
    }
    s
}

fn affiliates(path: &std::path::Path) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("May 2024")?;
    let header = [
        "Affiliate",
        "Wallet",
        "Amount",
        "Token",
        "Chain",
        "Tag",
        "Reference",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let rows: Vec<(&str, String, f64, &str, &str, &str, &str)> = vec![
        (
            "north-media",
            tron("north-media"),
            412.5,
            "USDT",
            "TRON",
            "",
            "aff-2024-05-001",
        ),
        (
            "coinreviews",
            evm("coinreviews"),
            1200.0,
            "USDC",
            "Ethereum",
            "",
            "aff-2024-05-002",
        ),
        (
            "bsc-daily",
            evm("bsc-daily"),
            87.35,
            "USDT",
            "BEP20",
            "",
            "aff-2024-05-003",
        ),
        (
            "polyfans",
            evm("polyfans"),
            230.0,
            "USDT",
            "Polygon",
            "",
            "aff-2024-05-004",
        ),
        (
            "tonclub",
            ton("tonclub"),
            55.125,
            "TON",
            "TON",
            "90210",
            "aff-2024-05-005",
        ),
        (
            "solstream",
            sol("solstream"),
            640.0,
            "USDC",
            "Solana",
            "4471",
            "aff-2024-05-006",
        ),
        (
            "satoshi-blog",
            btc_bech32("satoshi-blog"),
            0.0042,
            "BTC",
            "Bitcoin",
            "",
            "aff-2024-05-007",
        ),
        (
            "doge-hub",
            doge("doge-hub"),
            1500.0,
            "DOGE",
            "DOGE",
            "",
            "aff-2024-05-008",
        ),
    ];
    for (i, (name, wallet, amount, token, chain, tag, reference)) in rows.into_iter().enumerate() {
        let r = (i + 1) as u32;
        ws.write_string(r, 0, name)?;
        ws.write_string(r, 1, wallet)?;
        ws.write_number(r, 2, amount)?;
        ws.write_string(r, 3, token)?;
        ws.write_string(r, 4, chain)?;
        if !tag.is_empty() {
            ws.write_string(r, 5, tag)?;
        }
        ws.write_string(r, 6, reference)?;
    }
    wb.save(path)
}

/// Replaces the character at `at` with another of the same alphabet (a checksum typo).
fn typo(addr: &str, at: usize) -> String {
    let mut chars: Vec<char> = addr.chars().collect();
    chars[at] = if chars[at] == 'z' { 'y' } else { 'z' };
    chars.into_iter().collect()
}

fn broken() -> String {
    let tron_ok = tron("broken-ok");
    let sol_shared = sol("exchange-deposit");
    let evm_lookalike = evm("lookalike").replacen('a', "\u{0430}", 1);
    let long_memo = "m".repeat(300);
    let rows: Vec<[String; 8]> = [
        [
            "checksum typo",
            &typo(&tron("t1"), 10),
            "10",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "too short",
            "TXyz1234",
            "10",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "trailing space",
            &format!("\"{} \"", tron("t2")),
            "10",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "cyrillic a",
            &evm_lookalike,
            "10",
            "USDT",
            "ETH-ERC20",
            "",
            "",
            "",
        ],
        [
            "testnet",
            &{
                let mut p = vec![0x6fu8];
                p.extend_from_slice(&bytes32("testnet")[..20]);
                bs58::encode(p).with_check().into_string()
            },
            "0.001",
            "BTC",
            "BTC",
            "",
            "",
            "",
        ],
        ["no address", "", "10", "USDT", "TRX-TRC20", "", "", ""],
        [
            "unknown network",
            &tron("t3"),
            "10",
            "USDT",
            "XRP",
            "",
            "",
            "",
        ],
        [
            "arbitrum on 2328",
            &evm("arb"),
            "10",
            "USDT",
            "ARB-ERC20",
            "",
            "",
            "",
        ],
        [
            "usdc on tron",
            &tron("t4"),
            "10",
            "USDC",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "unknown currency",
            &tron("t5"),
            "10",
            "XYZ",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "too many decimals",
            &tron("t6"),
            "1.1234567",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        ["zero", &tron("t7"), "0", "USDT", "TRX-TRC20", "", "", ""],
        [
            "thousands",
            &tron("t8"),
            "\"1,250.00\"",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "decimal comma",
            &tron("t9"),
            "\"12,5\"",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "currency sign",
            &tron("t10"),
            "$100",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "exponent",
            &tron("t11"),
            "1e+21",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "not a number",
            &tron("t12"),
            "1/2",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "memo on tron",
            &tron("t13"),
            "10",
            "USDT",
            "TRX-TRC20",
            "12345",
            "",
            "",
        ],
        [
            "memo too long",
            &ton("t14"),
            "10",
            "TON",
            "TON",
            &long_memo,
            "",
            "",
        ],
        [
            "bad order id",
            &tron("t15"),
            "10",
            "USDT",
            "TRX-TRC20",
            "",
            "inv 01",
            "",
        ],
        [
            "bad fee option",
            &tron("t16"),
            "10",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "both",
        ],
        [
            "first of a pair",
            &tron_ok,
            "25.00",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        ["duplicate", &tron_ok, "25", "USDT", "TRX-TRC20", "", "", ""],
        [
            "explicit id",
            &tron("t17"),
            "10",
            "USDT",
            "TRX-TRC20",
            "",
            "ord-1",
            "",
        ],
        [
            "same explicit id",
            &tron("t18"),
            "10",
            "USDT",
            "TRX-TRC20",
            "",
            "ord-1",
            "add",
        ],
        [
            "no amount",
            &tron("t19"),
            "",
            "USDT",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        [
            "no currency",
            &tron("t20"),
            "10",
            "",
            "TRX-TRC20",
            "",
            "",
            "",
        ],
        ["no network", &tron("t21"), "10", "USDT", "", "", "", ""],
        [
            "shared deposit 1",
            &sol_shared,
            "10",
            "USDT",
            "SOL",
            "111",
            "",
            "",
        ],
        [
            "shared deposit 2",
            &sol_shared,
            "20",
            "USDT",
            "SOL",
            "222",
            "",
            "",
        ],
        [
            "shared deposit without memo",
            &sol_shared,
            "30",
            "USDT",
            "SOL",
            "",
            "",
            "",
        ],
        [
            "two mistakes",
            "0x1234",
            "1e3",
            "USDT",
            "ETH-ERC20",
            "",
            "",
            "",
        ],
    ]
    .into_iter()
    .map(|r| r.map(String::from))
    .collect();
    let mut s = String::from("name,address,amount,currency,network,memo,order_id,fee_option\n");
    for r in rows {
        let _ = writeln!(s, "{}", r.join(","));
    }
    s
}

const TOML: &str = r#"# payrun.toml — an example profile. Every key is optional; environment variables (PAYRUN_*)
# win over this file and command-line flags win over both. Secrets are never written here:
# give them as environment variables or point to a key file.

# Which payout gateway to use: "2328" or "blockatm".
gateway = "2328"

# Gateway base URL (default: https://api.2328.io/api for 2328, https://open.blockatm.net for
# BlockATM). Point it at a sandbox for tests.
# base_url = "https://api.2328.io/api"

# 2328: the project UUID.
project = "00000000-0000-0000-0000-000000000000"

# Files holding the API key (2328 Payout API key / BlockATM API key) and the BlockATM secret
# key. Relative paths are relative to this file. Or set PAYRUN_API_KEY / PAYRUN_API_SECRET.
# api_key_file = "keys/payout-api.key"
# api_secret_file = "keys/blockatm-secret.key"

# BlockATM: the payout contract and its chain (TRX-TRC20, ETH-ERC20 or ARB-ERC20).
# contract_id = "CONTRACT_001"
# network = "TRX-TRC20"

# BlockATM: "balance" (pay from the contract balance, default) or "allowance" (pay from the
# authorising address's allowance; needs from_address).
# payout_type = "balance"
# from_address = "T..."

# 2328: webhook URL sent with every payout (omit for none).
# callback_url = "https://example.com/payrun/webhook"

# Requests per second (default: the gateway's published limit: 2328 10/s, BlockATM 100/min).
# rate = 5

# Timeouts in seconds.
# connect_timeout_secs = 10
# request_timeout_secs = 30
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("payroll.csv"), payroll())?;
    std::fs::write(dir.join("blockatm.csv"), blockatm())?;
    std::fs::write(dir.join("broken.csv"), broken())?;
    std::fs::write(dir.join("payrun.toml"), TOML)?;
    affiliates(&dir.join("affiliates.xlsx"))?;
    eprintln!("wrote samples to {}", dir.display());
    Ok(())
}
