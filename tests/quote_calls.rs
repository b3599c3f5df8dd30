//! Quote economy: the real `payrun quote SHEET --json` on a 100,000-row sheet with 50 distinct
//! amounts on 2 networks makes exactly 100 `calc` calls (one per distinct currency, network,
//! amount, fee option, from currency) — counted from the sandbox's own request record — and
//! sends nothing that moves money.

mod common;

use std::fmt::Write as _;
use std::time::Instant;

use common::*;

const ROWS: u32 = 100_000;
const AMOUNTS: u32 = 50;

/// A valid EVM address (all lower case: valid without an EIP-55 checksum) derived from `n`.
fn evm_address(n: u32) -> String {
    let mix = u128::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
    format!("0x{n:08x}{mix:032x}")
}

/// Rows alternate TRX-TRC20 / ETH-ERC20 (USDT on both); amounts cycle through 50 values; every
/// row has its own address, so no row is a duplicate of another.
fn write_big_sheet(dir: &std::path::Path) -> std::path::PathBuf {
    let mut s = String::with_capacity(ROWS as usize * 70);
    s.push_str("to_address,amount,currency,network,name\n");
    for i in 0..ROWS {
        let amount = 50 + (i / 2) % AMOUNTS;
        let (address, network) = if i % 2 == 0 {
            (tron_address(i + 1), "TRX-TRC20")
        } else {
            (evm_address(i + 1), "ETH-ERC20")
        };
        writeln!(s, "{address},{amount}.25,USDT,{network},Person {i}").unwrap();
    }
    let p = dir.join("big.csv");
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn a_100k_row_sheet_with_50_amounts_on_2_networks_makes_100_calc_calls() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_big_sheet(dir.path());
    let env = env_for(&sb, Gw::G2328);
    let started = Instant::now();
    // The sandbox's rate limit is off here (see common::sandbox_config) and the client paced at
    // 500 req/s, so the time measured is quote's own work, not the gateway's 10 req/s.
    let o = run_ok(
        dir.path(),
        &env,
        &["quote", sheet.to_str().unwrap(), "--json", "--rate", "500"],
    );
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let requests = sb.requests();
    let calcs = requests
        .iter()
        .filter(|r| r.path.contains("/v1/payout/calc"))
        .count();
    eprintln!(
        "quote of {ROWS} rows ({AMOUNTS} amounts x 2 networks): {calcs} calc calls, {} requests in all, {:.2}s (debug build, binary start to exit)",
        requests.len(),
        took.as_secs_f64()
    );
    assert_eq!(calcs, 100, "{requests:#?}");
    // Every calc was answered (no retries hiding in the count), and nothing else was POSTed:
    // a quote never creates a payout.
    assert!(
        requests
            .iter()
            .filter(|r| r.path.contains("/v1/payout/calc"))
            .all(|r| r.response_status == Some(200)),
        "{requests:#?}"
    );
    let others: Vec<_> = requests
        .iter()
        .filter(|r| !r.path.contains("/v1/payout/calc") && r.method != "GET")
        .collect();
    assert!(others.is_empty(), "{others:#?}");
    assert!(sb.payouts().is_empty());

    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(report["calc_calls"], 100, "{report:#}");
    let lines = report["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "{report:#}");
    for line in lines {
        assert_eq!(line["rows"], 50_000, "{line:#}");
        assert_eq!(line["unpriced_rows"], 0, "{line:#}");
        // 1,000 rows of each of 50.25 .. 99.25: 50,000 × 74.75.
        assert_eq!(line["amount"], "3737500.00", "{line:#}");
    }
}
