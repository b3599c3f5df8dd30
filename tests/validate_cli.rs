//! `payrun validate` through the real binary: exit codes (0 valid, 1 invalid rows, 2 unreadable
//! file / missing column / bad flag), the one-object JSON shape, the text output and
//! `--errors-out`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_payrun"))
        .args(args)
        .current_dir(dir)
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

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A TRON wallet address (not a token contract: those are refused as recipients).
const TRON: &str = "T9yD14UmQyKLWP5Jb1VvxodobHseGvKQZi";

#[test]
fn exit_0_and_json_shape_for_a_valid_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "address,amount,currency,network\n{TRON},1.50,usdt,tron\n{TRON},2,USDT,TRX-TRC20\n"
    );
    write(dir.path(), "ok.csv", body.as_bytes());
    let (code, stdout, _) = run(dir.path(), &["--json", "validate", "ok.csv"]);
    assert_eq!(code, 0, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "rows": 2, "valid": 2, "invalid": 0,
            "totals": [{"currency": "USDT", "network": "TRX-TRC20", "count": 2, "amount": "3.50"}],
            "error_count": 0, "warning_count": 0,
            "errors": [], "warnings": []
        })
    );
    assert_eq!(
        stdout.trim_end().lines().count(),
        1,
        "exactly one JSON document"
    );
}

#[test]
fn exit_1_text_output_and_errors_out() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "address,amount,currency,network\n{TRON},\"1,5\",USDT,TRX-TRC20\n{TRON},3,USDT,TRX-TRC20\n"
    );
    write(dir.path(), "bad.csv", body.as_bytes());
    let (code, stdout, _) = run(
        dir.path(),
        &["validate", "bad.csv", "--errors-out", "problems.csv"],
    );
    assert_eq!(code, 1);
    assert!(stdout.contains("2 rows, 1 valid, 1 invalid"), "{stdout}");
    assert!(
        stdout.contains("line 2, amount: \"1,5\" uses a decimal comma; write 1.5"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.path().join("problems.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("line,column,code,message,severity"));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("2,amount,amount_decimal_comma,") && row.ends_with(",error"),
        "{row}"
    );
    assert_eq!(lines.next(), None);
}

#[test]
fn exit_2_for_whole_file_problems() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nocol.csv",
        b"wallet,currency,network\nx,USDT,TRON\n",
    );
    let (code, stdout, stderr) = run(dir.path(), &["--json", "validate", "nocol.csv"]);
    assert_eq!(code, 2);
    // `--json` still prints one document: the exit code and the error stderr shows.
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["exit_code"], 2, "{doc}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("missing column 'amount'"),
        "{doc}"
    );
    assert!(
        stderr.contains(
            "payrun: nocol.csv: missing column 'amount': the header must name one of: amount"
        ),
        "{stderr}"
    );
    write(
        dir.path(),
        "nonet.csv",
        b"address,amount,currency\nx,1,USDT\n",
    );
    let (code, _, stderr) = run(dir.path(), &["validate", "nonet.csv"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("'network'")
            && stderr.contains("network, chain")
            && stderr.contains("--network"),
        "{stderr}"
    );
    // ...and the flag fills it in.
    let (code, _, _) = run(dir.path(), &["validate", "--network", "TRON", "nonet.csv"]);
    assert_eq!(code, 1, "x is not an address, but the sheet is readable");

    write(
        dir.path(),
        "latin1.csv",
        b"address,amount,currency,network\nx,1,USDT,TRON\nM\xfcller,1,USDT,TRON\n",
    );
    let (code, _, stderr) = run(dir.path(), &["validate", "latin1.csv"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("line 3: the text is not UTF-8"), "{stderr}");

    // A character split across two cells (`\xc3` ends a cell, `\xa9` starts the next) is not
    // UTF-8, though the cells' bytes back to back are ("é"); the rows around it, with real
    // accents, are read. Rows are checked as UTF-8 in runs of hundreds at once.
    let mut split = b"name,address,amount,currency,network\n".to_vec();
    for line in 2..=1400u32 {
        if line == 650 {
            split.extend_from_slice(b"Zo\xc3,\xa9x,1,USDT,TRON\n");
        } else {
            split.extend_from_slice(format!("Zo\u{eb} {line},x,1,USDT,TRON\n").as_bytes());
        }
    }
    write(dir.path(), "split.csv", &split);
    let (code, _, stderr) = run(dir.path(), &["validate", "split.csv"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("line 650: the text is not UTF-8"),
        "{stderr}"
    );
    let fixed = String::from_utf8_lossy(&split).replace('\u{fffd}', "e");
    write(dir.path(), "split.csv", fixed.as_bytes());
    let (code, stdout, stderr) = run(dir.path(), &["validate", "split.csv"]);
    assert_eq!(
        code, 1,
        "x is not an address, but every row is read: {stderr}"
    );
    assert!(
        !stderr.contains("UTF-8") && !stdout.contains("UTF-8"),
        "{stderr}"
    );

    write(
        dir.path(),
        "header-only.csv",
        b"address,amount,currency,network\n\n",
    );
    let (code, _, stderr) = run(dir.path(), &["validate", "header-only.csv"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no data rows"), "{stderr}");

    let (code, _, stderr) = run(dir.path(), &["validate", "missing.csv"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("payrun: missing.csv: cannot read the file"),
        "{stderr}"
    );

    let (code, _, stderr) = run(dir.path(), &["validate", "--network", "XRP", "nonet.csv"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--network XRP"), "{stderr}");
    let (code, _, _) = run(
        dir.path(),
        &["validate", "--fee-option", "maybe", "nonet.csv"],
    );
    assert_eq!(code, 2);
    let (code, _, stderr) = run(dir.path(), &["validate", "--sheet", "A", "nonet.csv"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn xlsx_worksheet_selection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let first = wb.add_worksheet();
    first.set_name("Notes").unwrap();
    first.write_string(0, 0, "nothing here").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Pay").unwrap();
    for (c, h) in ["address", "amount", "currency", "network"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, TRON).unwrap();
    ws.write_number(1, 1, 12.5).unwrap();
    ws.write_string(1, 2, "USDT").unwrap();
    ws.write_string(1, 3, "TRON").unwrap();
    wb.save(&path).unwrap();
    let (code, stdout, _) = run(
        dir.path(),
        &["--json", "validate", "--sheet", "Pay", "book.xlsx"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("\"amount\":\"12.5\""), "{stdout}");
    let (code, _, stderr) = run(dir.path(), &["validate", "--sheet", "Nope", "book.xlsx"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no worksheet named 'Nope'; the workbook has: Notes, Pay"),
        "{stderr}"
    );
    // The first worksheet has no amount column.
    let (code, _, stderr) = run(dir.path(), &["validate", "book.xlsx"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing column 'address'"), "{stderr}");
}

/// A command line that does not parse is a usage error (exit 2); with `--json` it is still one
/// document on stdout naming the error. Help stays help.
#[test]
fn json_usage_errors_are_one_document_too() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["run", "x.csv", "--json", "--mode", "triple"][..],
        &["--json", "run", "x.csv", "--max-total", "1,000:USDT"],
        &["report", "x.csv", "--json"],
        &["approve", "x.csv", "--json"],
    ] {
        let (code, stdout, stderr) = run(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        let doc: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout:?}"));
        assert_eq!(doc["exit_code"], 2, "{doc}");
        assert!(doc["error"].as_str().unwrap().contains("error:"), "{doc}");
        assert!(stderr.contains("error:"), "{stderr}");
    }
    let (code, stdout, _) = run(dir.path(), &["--json", "--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage"), "{stdout}");
}
