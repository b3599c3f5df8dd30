//! Controls before money moves, end to end: the real binary against the sandbox, each test
//! with its own temp book. Recipients that are not wallets, look-alike addresses, a recipient
//! whose address changed since the last period, shared deposit addresses without a memo, and
//! quotes with rows the fee calculator refuses. Every "nothing was sent" is checked against the
//! sandbox's own record of the payouts it created.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// Writes a sheet with the columns employee_id, to_address, amount, currency, network, memo.
fn sheet(dir: &Path, name: &str, rows: &[[&str; 6]]) -> PathBuf {
    let mut s = String::from("employee_id,to_address,amount,currency,network,memo\n");
    for r in rows {
        s.push_str(&r.join(","));
        s.push('\n');
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

/// `payrun run SHEET --yes --accept CODES`.
fn run_accepting(
    dir: &Path,
    env: &HashMap<String, String>,
    sheet: &Path,
    codes: &str,
) -> std::process::Output {
    run_ok(
        dir,
        env,
        &["run", sheet.to_str().unwrap(), "--yes", "--accept", codes],
    )
}

/// Two different TRON test addresses sharing their first four characters after the constant
/// `T` and their last four, found by a bounded, deterministic search.
fn tron_lookalikes() -> (String, String) {
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    for n in 1..40_000 {
        let a = tron_address(n);
        let shape = (a[1..5].to_string(), a[a.len() - 4..].to_string());
        if let Some(first) = seen.get(&shape) {
            return (first.clone(), a);
        }
        seen.insert(shape, a);
    }
    panic!("no look-alike pair among 40000 test addresses");
}

#[test]
fn recipients_that_are_not_wallets_are_errors_and_never_paid() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let wallet = tron_address(1);
    let rows = [
        [
            "e1",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "10",
            "USDT",
            "TRX-TRC20",
            "",
        ],
        [
            "e2",
            "0xdAC17F958D2ee523a2206206994597C13D831ec7",
            "10",
            "USDT",
            "ETH-ERC20",
            "",
        ],
        [
            "e3",
            "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
            "10",
            "USDC",
            "ETH-ERC20",
            "",
        ],
        [
            "e4",
            "0x0000000000000000000000000000000000000000",
            "10",
            "USDT",
            "BSC-BEP20",
            "",
        ],
        [
            "e5",
            "0x000000000000000000000000000000000000dEaD",
            "10",
            "USDT",
            "ETH-ERC20",
            "",
        ],
        [
            "e6",
            "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb",
            "10",
            "USDT",
            "TRX-TRC20",
            "",
        ],
        [
            "e7",
            "11111111111111111111111111111111",
            "10",
            "USDT",
            "SOL",
            "",
        ],
        [
            "e8",
            "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            "10",
            "USDC",
            "SOL",
            "",
        ],
        ["e9", &wallet, "10", "USDT", "TRX-TRC20", ""],
    ];
    let s = sheet(dir.path(), "pay.csv", &rows);
    let o = run_ok(dir.path(), &env, &["validate", s.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for line in 2..=9 {
        assert!(
            out.contains(&format!("line {line}, to_address:"))
                && out.contains("recipient_not_wallet"),
            "line {line} is not refused: {out}"
        );
    }
    assert!(
        !out.contains("line 10, to_address"),
        "a wallet is refused: {out}"
    );
    assert_eq!(out.matches("recipient_not_wallet").count(), 8, "{out}");
    // run refuses the sheet; with --skip-invalid only the wallet is paid.
    let o = run_ok(dir.path(), &env, &["run", s.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(sb.payouts().is_empty(), "nothing is sent: {}", text(&o));
    let o = run_ok(
        dir.path(),
        &env,
        &["run", s.to_str().unwrap(), "--yes", "--skip-invalid"],
    );
    // Exit 1: the invalid rows stay unpaid in the results ledger.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let paid: Vec<String> = sb.payouts().into_iter().map(|p| p.address).collect();
    assert_eq!(paid, vec![wallet], "only the wallet is paid: {}", text(&o));
}

#[test]
fn an_off_curve_solana_address_for_a_token_stops_the_run_until_acknowledged() {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let off = (0u8..=255)
        .map(|i| [i; 32])
        .find(|b| CompressedEdwardsY(*b).decompress().is_none())
        .map(|b| bs58::encode(b).into_string())
        .expect("an off-curve key");
    let on = bs58::encode(curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED.to_bytes())
        .into_string();
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let s = sheet(
        dir.path(),
        "sol.csv",
        &[
            ["", &on, "10", "USDT", "SOL", ""],
            ["", &off, "11", "USDT", "SOL", ""],
        ],
    );
    let o = run_ok(dir.path(), &env, &["validate", s.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "a warning, not an error: {out}");
    assert_eq!(out.matches("recipient_off_curve").count(), 1, "{out}");
    assert!(out.contains("line 3"), "{out}");
    let o = run_ok(dir.path(), &env, &["run", s.to_str().unwrap(), "--yes"]);
    let out = text(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--yes alone acknowledges nothing: {out}"
    );
    assert!(out.contains("--accept recipient_off_curve"), "{out}");
    assert!(sb.payouts().is_empty(), "nothing is sent: {out}");
    let o = run_accepting(dir.path(), &env, &s, "recipient_off_curve");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 2);
}

#[test]
fn look_alike_addresses_in_one_sheet_stop_the_run_until_acknowledged() {
    let (a, b) = tron_lookalikes();
    assert_ne!(a, b);
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let s = sheet(
        dir.path(),
        "pay.csv",
        &[
            ["e1", &a, "10", "USDT", "TRX-TRC20", ""],
            ["e2", &tron_address(30_001), "12", "USDT", "TRX-TRC20", ""],
            ["e1", &b, "10", "USDT", "TRX-TRC20", ""],
        ],
    );
    let o = run_ok(dir.path(), &env, &["quote", s.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("line 4, to_address: this address and line 2's differ"),
        "{out}"
    );
    assert!(out.contains("recipient_lookalike"), "{out}");
    // The same key with two addresses in one sheet.
    assert!(out.contains("recipient e1 is paid to"), "{out}");
    let o = run_ok(dir.path(), &env, &["run", s.to_str().unwrap(), "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("recipient_lookalike"), "{out}");
    assert!(sb.payouts().is_empty(), "nothing is sent: {out}");
    // Acknowledging one kind is not enough.
    let o = run_accepting(dir.path(), &env, &s, "recipient_lookalike");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(sb.payouts().is_empty());
    let o = run_accepting(
        dir.path(),
        &env,
        &s,
        "recipient_lookalike,recipient_address_changed",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 3);
}

#[test]
fn a_look_alike_of_an_address_already_paid_names_the_run() {
    let (a, b) = tron_lookalikes();
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let june = sheet(
        dir.path(),
        "june.csv",
        &[["", &a, "10", "USDT", "TRX-TRC20", ""]],
    );
    let o = run_ok(dir.path(), &env, &["run", june.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let other = sheet(
        dir.path(),
        "bonus.csv",
        &[["", &b, "25", "USDT", "TRX-TRC20", ""]],
    );
    let o = run_ok(dir.path(), &env, &["quote", other.to_str().unwrap()]);
    let out = text(&o);
    assert!(
        out.contains(&format!("differs from {a}, paid in run june-")),
        "{out}"
    );
    let o = run_ok(dir.path(), &env, &["run", other.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 1, "nothing new is sent");
    // The same address paid again is no look-alike.
    let again = sheet(
        dir.path(),
        "again.csv",
        &[["", &a, "11", "USDT", "TRX-TRC20", ""]],
    );
    let o = run_ok(dir.path(), &env, &["run", again.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 2);
}

#[test]
fn second_period_with_a_changed_employee_address_is_stopped_until_acknowledged() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let (a1, a2, a3, new2) = (
        tron_address(1),
        tron_address(2),
        tron_address(3),
        tron_address(77),
    );
    let june = |addr2: &str| {
        sheet(
            dir.path(),
            "payroll.csv",
            &[
                ["E1", &a1, "100", "USDT", "TRX-TRC20", ""],
                ["E2", addr2, "200", "USDT", "TRX-TRC20", ""],
                ["E3", &a3, "300", "USDT", "TRX-TRC20", ""],
            ],
        )
    };
    let s = june(&a2);
    let o = run_ok(dir.path(), &env, &["run", s.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 3);
    // July: E2 "changed wallets".
    let s = june(&new2);
    let o = run_ok(
        dir.path(),
        &env,
        &["run", s.to_str().unwrap(), "--yes", "--new-run"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains(&format!("recipient E2 was paid to {a2} in run payroll-")),
        "{out}"
    );
    assert!(out.contains("recipient_address_changed"), "{out}");
    assert!(!out.contains("recipient E1"), "E1 did not change: {out}");
    assert_eq!(sb.payouts().len(), 3, "nothing is sent: {out}");
    // --key names the column explicitly; a column that does not exist is a usage error.
    let o = run_ok(
        dir.path(),
        &env,
        &["quote", s.to_str().unwrap(), "--key", "staff_no"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = run_ok(
        dir.path(),
        &env,
        &[
            "run",
            s.to_str().unwrap(),
            "--yes",
            "--key",
            "employee_id",
            "--accept",
            "recipient_address_changed",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let paid: Vec<String> = sb.payouts().into_iter().map(|p| p.address).collect();
    assert_eq!(paid.len(), 6);
    assert_eq!(paid.iter().filter(|p| **p == new2).count(), 1);
    // The book now knows E2's new address: August with it is not stopped.
    let o = run_ok(
        dir.path(),
        &env,
        &["run", s.to_str().unwrap(), "--yes", "--new-run"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 9);
}

#[test]
fn a_shared_deposit_address_without_memo_is_paid_only_when_acknowledged() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let exchange = format!("0:{}", "ab".repeat(32));
    let s = sheet(
        dir.path(),
        "ton.csv",
        &[
            ["", &exchange, "10", "USDT", "TON", "1001"],
            ["", &exchange, "11", "USDT", "TON", "1002"],
            ["", &exchange, "12", "USDT", "TON", ""],
        ],
    );
    let o = run_ok(dir.path(), &env, &["run", s.to_str().unwrap(), "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("memo_missing_shared_address"), "{out}");
    assert!(sb.payouts().is_empty(), "nothing is sent: {out}");
    let o = run_accepting(dir.path(), &env, &s, "memo_missing_shared_address");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 3);
}

#[test]
fn rows_the_fee_calculator_refuses_are_listed_left_out_and_not_sent() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    // 0.5 USDT on TRON does not cover the sandbox's 1 USDT network fee (fee option deduct).
    let s = sheet(
        dir.path(),
        "pay.csv",
        &[
            ["", &tron_address(1), "10", "USDT", "TRX-TRC20", ""],
            ["", &tron_address(2), "0.5", "USDT", "TRX-TRC20", ""],
            ["", &tron_address(3), "20", "USDT", "TRX-TRC20", ""],
        ],
    );
    let o = run_ok(dir.path(), &env, &["--json", "quote", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let q: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    let unpriced = q["unpriced"].as_array().expect("unpriced rows");
    assert_eq!(unpriced.len(), 1, "{q}");
    assert_eq!(unpriced[0]["line"], 3);
    assert!(!unpriced[0]["reason"].as_str().unwrap().is_empty());
    let total = &q["grand_totals"][0];
    assert_eq!(total["rows"], 2);
    assert_eq!(total["amount"], "30", "{q}");
    // recipients get 30 less the two rows' fees: never the refused row's 0.5.
    let receive = dec(total["recipients_receive"].as_str().unwrap());
    let fees = dec(total["fees"].as_str().unwrap());
    assert_eq!(receive + fees, dec("30"), "{q}");
    let o = run_ok(dir.path(), &env, &["quote", s.to_str().unwrap()]);
    let out = text(&o);
    assert!(out.contains("line 3: 0.5 USDT on TRX-TRC20"), "{out}");
    let o = run_ok(dir.path(), &env, &["run", s.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(sb.payouts().is_empty(), "nothing is sent: {}", text(&o));
    let o = run_ok(
        dir.path(),
        &env,
        &["run", s.to_str().unwrap(), "--yes", "--skip-invalid"],
    );
    let out = text(&o);
    let paid: Vec<String> = sb.payouts().into_iter().map(|p| p.address).collect();
    assert_eq!(paid.len(), 2, "{out}");
    assert!(!paid.contains(&tron_address(2)), "{out}");
}

#[test]
fn an_unreachable_gateway_fails_the_quote_quickly_with_exit_3() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let port = free_port();
    env.insert("PAYRUN_BASE_URL".into(), format!("http://127.0.0.1:{port}"));
    let s = write_sheet(dir.path(), "pay.csv", 3);
    let started = Instant::now();
    let o = run_ok(dir.path(), &env, &["quote", s.to_str().unwrap()]);
    let took = started.elapsed();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {out}");
    assert!(
        out.contains("unreachable") || out.contains("no answer"),
        "{out}"
    );
    assert!(o.stdout.is_empty(), "no totals are claimed: {out}");
}

#[test]
fn quote_and_the_confirmation_show_the_variance_against_the_previous_run() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let (a1, a2, a3, a4, new3) = (
        tron_address(1),
        tron_address(2),
        tron_address(3),
        tron_address(4),
        tron_address(33),
    );
    let s = sheet(
        dir.path(),
        "pay.csv",
        &[
            ["E1", &a1, "100", "USDT", "TRX-TRC20", ""],
            ["E2", &a2, "200", "USDT", "TRX-TRC20", ""],
            ["E3", &a3, "300", "USDT", "TRX-TRC20", ""],
        ],
    );
    let o = run_ok(dir.path(), &env, &["run", s.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Next period: E2 raised, E3 moved wallets, E4 joined.
    let s = sheet(
        dir.path(),
        "pay.csv",
        &[
            ["E1", &a1, "100", "USDT", "TRX-TRC20", ""],
            ["E2", &a2, "250", "USDT", "TRX-TRC20", ""],
            ["E3", &new3, "300", "USDT", "TRX-TRC20", ""],
            ["E4", &a4, "400", "USDT", "TRX-TRC20", ""],
        ],
    );
    let o = run_ok(dir.path(), &env, &["--json", "quote", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let q: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = &q["variance"];
    assert!(
        v["previous_run"].as_str().unwrap().starts_with("pay-"),
        "{v}"
    );
    assert_eq!(v["unchanged"], 1, "{v}");
    assert_eq!(v["changed"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["added"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["changed"][0]["delta"], "50", "{v}");
    assert_eq!(v["changed"][1]["new_address"], new3.as_str(), "{v}");
    assert_eq!(v["totals"][0]["then"], "600", "{v}");
    assert_eq!(v["totals"][0]["now"], "1050", "{v}");
    let o = run_ok(dir.path(), &env, &["quote", s.to_str().unwrap()]);
    let out = text(&o);
    assert!(out.contains("row 3: amount 200 → 250 USDT (+50)"), "{out}");
    assert!(
        out.contains(&format!("row 4: address changed from {a3} to {new3}")),
        "{out}"
    );
    assert!(out.contains("recipient E3 was paid to"), "{out}");
    // The workbook lists every planned row with its fee, and the variance.
    let xlsx = dir.path().join("cost.xlsx");
    let o = run_ok(
        dir.path(),
        &env,
        &[
            "quote",
            s.to_str().unwrap(),
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let rows = wb.worksheet_range("rows").unwrap();
    let cells: Vec<Vec<String>> = rows
        .rows()
        .map(|r| r.iter().map(|c: &Data| c.to_string()).collect())
        .collect();
    assert_eq!(cells.len(), 5, "header and four rows: {cells:?}");
    assert_eq!(cells[0][7], "fee");
    for r in &cells[1..] {
        let fee: rust_decimal::Decimal = r[7].parse().expect("a fee on every row");
        assert!(fee > rust_decimal::Decimal::ZERO, "{r:?}");
    }
    assert_eq!(cells[2][3], "250");
    let variance = wb.worksheet_range("variance").unwrap();
    let changes: Vec<String> = variance.rows().skip(1).map(|r| r[1].to_string()).collect();
    assert!(
        changes.contains(&"address changed".to_string()),
        "{changes:?}"
    );
    assert!(changes.contains(&"added".to_string()), "{changes:?}");
    // The confirmation of the new period shows the same comparison.
    let o = run_ok(
        dir.path(),
        &env,
        &[
            "run",
            s.to_str().unwrap(),
            "--yes",
            "--new-run",
            "--accept",
            "recipient_address_changed",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("compared with run pay-"), "{out}");
    assert!(
        out.contains("1 unchanged, 2 changed, 1 added, 0 removed"),
        "{out}"
    );
    assert_eq!(sb.payouts().len(), 7);
}

/// Runs `payrun ARGS` on a pseudo-terminal (util-linux `script`), typing `typed` at it.
fn on_terminal(
    dir: &Path,
    env: &HashMap<String, String>,
    args: &[&str],
    typed: &str,
) -> std::process::Output {
    use std::io::Write;
    let script = Path::new("/usr/bin/script");
    assert!(script.exists(), "the prompt tests need util-linux `script`");
    let line = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let c = payrun(dir, env, &[]);
    let mut cmd = std::process::Command::new(script);
    cmd.current_dir(dir)
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in c.get_envs() {
        if v.is_none() {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd.spawn().expect("script runs");
    let mut stdin = child.stdin.take().unwrap();
    // Answer each question once it has been asked (the terminal echoes what is typed).
    std::thread::sleep(Duration::from_millis(1500));
    for answer in typed.lines() {
        // The command may have ended already (a refused answer): the pipe is then closed.
        let _ = stdin.write_all(format!("{answer}\n").as_bytes());
        let _ = stdin.flush();
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn the_prompt_shows_where_the_money_goes_lists_the_warnings_and_takes_yes_in_any_case() {
    let (a, b) = tron_lookalikes();
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let s = sheet(
        dir.path(),
        "pay.csv",
        &[
            ["", &a, "10", "USDT", "TRX-TRC20", ""],
            ["", &b, "11", "USDT", "TRX-TRC20", ""],
        ],
    );
    // The wrong code typed: not acknowledged, nothing sent.
    let o = on_terminal(dir.path(), &env, &["run", s.to_str().unwrap()], "memo\nYES");
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("warnings not acknowledged"), "{out}");
    assert!(sb.payouts().is_empty(), "{out}");
    let o = on_terminal(
        dir.path(),
        &env,
        &["run", s.to_str().unwrap()],
        "recipient_lookalike\nYES",
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for shown in [
        "LIVE payout: 2328",
        "project 11111111-2222-4333-8444-555555555555",
        &sb.base_url_2328(),
        "run pay-",
        "fee option: deduct (2 rows)",
        "balance: ",
        "recipient_lookalike (1 row(s))",
        "Type yes to pay",
    ] {
        assert!(out.contains(shown), "the prompt lacks {shown:?}: {out}");
    }
    assert_eq!(sb.payouts().len(), 2, "{out}");
}
