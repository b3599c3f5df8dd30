//! Quote economy: the real `payrun quote SHEET --json` on a 100,000-row sheet with 50 distinct
//! amounts on 2 networks makes exactly 100 `calc` calls (one per distinct currency, network,
//! amount, fee option, from currency) — counted from the sandbox's own request record — and
//! sends nothing that moves money. BlockATM, which has no calculator and no fee option, quotes
//! its documented fee as an estimate and names no fee option.

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

/// BlockATM has no fee option: its fee is charged on top of each amount. Its quote names none
/// (it said "fee option: deduct" beside merchant debits of amount + fee) and its cost report
/// leaves the column empty, even when the sheet has a `fee_option` column.
#[test]
fn a_blockatm_quote_names_no_fee_option() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_for(&sb, Gw::BlockAtm);
    let sheet = dir.path().join("pay.csv");
    std::fs::write(
        &sheet,
        format!(
            "to_address,amount,currency,fee_option\n{},10.00,USDT,deduct\n{},20.00,USDT,\n",
            tron_address(1),
            tron_address(2)
        ),
    )
    .unwrap();
    let report = dir.path().join("cost.xlsx");
    let args = |extra: &[&'static str]| {
        let mut a = vec!["quote", sheet.to_str().unwrap()];
        a.extend_from_slice(extra);
        a
    };
    let o = run_ok(dir.path(), &env, &args(&[]));
    let out = text(&o);
    assert!(!out.contains("fee option:"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("TOTAL") && l.contains("~2.00")),
        "the total fee is an estimate too: {out}"
    );
    let o = run_ok(dir.path(), &env, &args(&["--json"]));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(v["fee_options"], serde_json::json!({}), "{v}");
    let total = &v["grand_totals"][0];
    assert_eq!(total["merchant_debit"], "32.00", "amount + 1 a payout: {v}");
    let mut with_out = args(&["--out"]);
    with_out.push(report.to_str().unwrap());
    let o = run_ok(dir.path(), &env, &with_out);
    assert!(report.exists(), "{}", text(&o));
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(&report).unwrap();
    let cells: Vec<Vec<String>> = wb
        .worksheet_range("rows")
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c: &Data| c.to_string()).collect())
        .collect();
    let col = cells[0].iter().position(|h| h == "fee_option").unwrap();
    assert_eq!(cells.len(), 3, "{cells:?}");
    assert!(cells[1..].iter().all(|r| r[col].is_empty()), "{cells:?}");
}

/// `run --json` refused because the fee calculator refused a row prints one document that
/// says why and lists the row (it printed `"error": null`).
#[test]
fn a_run_refused_for_unpriced_rows_says_why_in_json() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_for(&sb, Gw::G2328);
    let sheet = dir.path().join("tiny.csv");
    std::fs::write(
        &sheet,
        "to_address,amount,currency,network\n0x10c932eCE8048a7386160BF1463A4Db09c266138,0.0001,ETH,ETH-ERC20\n",
    )
    .unwrap();
    let o = run_ok(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("could not be priced"),
        "{doc}"
    );
    assert_eq!(
        doc["quote"]["unpriced"].as_array().unwrap().len(),
        1,
        "{doc}"
    );
    assert!(sb.payouts().is_empty());
}
