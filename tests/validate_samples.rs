//! Runs the real `payrun` binary on the committed samples: the valid ones exit 0 with every row
//! valid; `broken.csv` exits 1 with exactly the problems `samples/README.md` lists.

use std::process::Command;

fn payrun(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_payrun"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PAYRUN_GATEWAY")
        .env_remove("PAYRUN_NETWORK")
        .output()
        .expect("run payrun");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let (code, stdout, stderr) = payrun(args);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}\nstderr: {stderr}"));
    (code, v)
}

fn problems(v: &serde_json::Value, key: &str) -> Vec<(u64, String, String)> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["column"].as_str().unwrap().to_string(),
                p["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn payroll_csv_is_valid() {
    let (code, v) = json(&["--json", "validate", "samples/payroll.csv"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (v["rows"].as_u64(), v["invalid"].as_u64()),
        (Some(20), Some(0)),
        "{v}"
    );
    assert!(problems(&v, "warnings").is_empty(), "{v}");
    let networks: std::collections::BTreeSet<&str> = v["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["network"].as_str().unwrap())
        .collect();
    assert_eq!(networks.len(), 11, "{networks:?}");
}

#[test]
fn affiliates_xlsx_is_valid() {
    let (code, v) = json(&["--json", "validate", "samples/affiliates.xlsx"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (v["rows"].as_u64(), v["valid"].as_u64()),
        (Some(8), Some(8))
    );
    let ton = v["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["network"] == "TON")
        .unwrap();
    assert_eq!(ton["amount"], "55.125");
}

#[test]
fn blockatm_csv_is_valid_on_its_contract_chain_only() {
    let (code, v) = json(&[
        "--json",
        "--gateway",
        "blockatm",
        "validate",
        "--network",
        "TRX-TRC20",
        "samples/blockatm.csv",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["valid"].as_u64(), Some(5));
    // The same sheet for a contract on Ethereum: TRON addresses are not Ethereum addresses.
    let (code, v) = json(&[
        "--json",
        "--gateway",
        "blockatm",
        "validate",
        "--network",
        "ETH-ERC20",
        "samples/blockatm.csv",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["invalid"].as_u64(), Some(5));
}

#[test]
fn broken_csv_reports_exactly_the_documented_problems() {
    let (code, v) = json(&["--json", "validate", "samples/broken.csv"]);
    assert_eq!(code, 1);
    assert_eq!(
        (
            v["rows"].as_u64(),
            v["valid"].as_u64(),
            v["invalid"].as_u64()
        ),
        (Some(32), Some(5), Some(27))
    );
    let expected_errors: Vec<(u64, &str, &str)> = vec![
        (2, "address", "address_checksum"),
        (3, "address", "address_format"),
        (4, "address", "address_whitespace"),
        (5, "address", "address_lookalike"),
        (6, "address", "address_testnet"),
        (7, "address", "address_missing"),
        (8, "network", "network_unknown"),
        (9, "network", "network_not_supported"),
        (10, "currency", "currency_not_on_network"),
        (11, "currency", "currency_unknown"),
        (12, "amount", "amount_precision"),
        (13, "amount", "amount_not_positive"),
        (14, "amount", "amount_thousands_separator"),
        (15, "amount", "amount_decimal_comma"),
        (16, "amount", "amount_currency_sign"),
        (17, "amount", "amount_exponent"),
        (18, "amount", "amount_format"),
        (19, "memo", "memo_not_supported"),
        (20, "memo", "memo_too_long"),
        (21, "order_id", "order_id_format"),
        (22, "fee_option", "fee_option_invalid"),
        (24, "", "duplicate_row"),
        (26, "order_id", "order_id_duplicate"),
        (27, "amount", "amount_missing"),
        (28, "currency", "currency_missing"),
        (29, "network", "network_missing"),
        (33, "address", "address_format"),
        (33, "amount", "amount_exponent"),
    ];
    let expected: Vec<(u64, String, String)> = expected_errors
        .into_iter()
        .map(|(l, c, k)| (l, c.to_string(), k.to_string()))
        .collect();
    assert_eq!(problems(&v, "errors"), expected);
    assert_eq!(
        problems(&v, "warnings"),
        vec![(
            32,
            "memo".to_string(),
            "memo_missing_shared_address".to_string()
        )]
    );
    // --allow-duplicates lifts exactly the duplicate_row error.
    let (_, v2) = json(&[
        "--json",
        "validate",
        "--allow-duplicates",
        "samples/broken.csv",
    ]);
    assert_eq!(v2["invalid"].as_u64(), Some(26));
    assert!(!problems(&v2, "errors")
        .iter()
        .any(|p| p.2 == "duplicate_row"));
}
