//! The sheet as its owner sees it (docs/design.md, "The sheet"): hidden worksheets, hidden rows
//! and columns, merged cells over payout columns, and sheets that are not files, each through
//! the real binary. Every workbook is built here with rust_xlsxwriter.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use rust_xlsxwriter::{FilterCondition, Format, Workbook, Worksheet};

const HEADER: [&str; 5] = ["address", "amount", "currency", "network", "pay"];

/// Writes the header and `rows` TRX-TRC20 USDT rows (amount 10 + i, pay = yes).
fn fill(ws: &mut Worksheet, rows: u32, first_address: u32) {
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..rows {
        let r = i + 1;
        ws.write_string(r, 0, tron_address(first_address + i))
            .unwrap();
        ws.write_number(r, 1, f64::from(10 + i)).unwrap();
        ws.write_string(r, 2, "USDT").unwrap();
        ws.write_string(r, 3, "TRX-TRC20").unwrap();
        ws.write_string(r, 4, "yes").unwrap();
    }
}

fn save(dir: &Path, name: &str, wb: &mut Workbook) -> PathBuf {
    let p = dir.join(name);
    wb.save(&p).unwrap();
    p
}

fn validate(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = run_ok(dir, &Default::default(), args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Last month's sheet, hidden, comes first; "June" is the visible one.
fn hidden_first_sheet(dir: &Path) -> PathBuf {
    let mut wb = Workbook::new();
    let may = wb.add_worksheet();
    may.set_name("May").unwrap();
    fill(may, 1, 900);
    may.write_number(1, 1, 9999.0).unwrap();
    may.set_hidden(true);
    let june = wb.add_worksheet();
    june.set_name("June").unwrap();
    fill(june, 2, 1);
    june.set_active(true);
    save(dir, "pay.xlsx", &mut wb)
}

#[test]
fn the_first_visible_worksheet_is_read_and_named() {
    let dir = tempfile::tempdir().unwrap();
    hidden_first_sheet(dir.path());
    let (code, out, err) = validate(dir.path(), &["--json", "validate", "pay.xlsx"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let v = json(&out);
    assert_eq!(v["worksheet"], "June", "{v}");
    assert_eq!(v["rows"], 2);
    assert_eq!(v["totals"][0]["amount"], "21", "{v}");
    let (code, out, _) = validate(dir.path(), &["validate", "pay.xlsx"]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with("pay.xlsx (worksheet 'June'): 2 rows"),
        "{out}"
    );
    // Naming the hidden sheet reads it, and says so.
    let (code, out, err) = validate(
        dir.path(),
        &["--json", "validate", "--sheet", "May", "pay.xlsx"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(json(&out)["worksheet"], "May");
    assert_eq!(json(&out)["totals"][0]["amount"], "9999");
}

#[test]
fn run_pays_the_visible_worksheet_and_records_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = hidden_first_sheet(dir.path());
    let env = Default::default();
    let o = run_ok(
        dir.path(),
        &env,
        &["--sandbox", "run", sheet.to_str().unwrap(), "--yes"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("pay.xlsx: worksheet 'June'"),
        "{}",
        text(&o)
    );
    let rows = read_csv_rows(&dir.path().join("pay.results.csv"));
    let amounts: Vec<&str> = rows.iter().map(|r| r["amount"].as_str()).collect();
    assert_eq!(amounts, vec!["10", "11"], "{rows:?}");
    let book = book_path(dir.path(), &env);
    let conn = rusqlite::Connection::open(&book).unwrap();
    let ws: Option<String> = conn
        .query_row("SELECT worksheet FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ws.as_deref(), Some("June"));
}

/// Four rows; an autofilter on `pay` = yes hides row 4 ("no").
fn filtered(dir: &Path) -> PathBuf {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    fill(ws, 4, 1);
    ws.write_string(3, 4, "no").unwrap();
    ws.autofilter(0, 0, 4, 4).unwrap();
    ws.filter_column(4, &FilterCondition::new().add_list_filter("yes"))
        .unwrap();
    save(dir, "filtered.xlsx", &mut wb)
}

#[test]
fn a_row_hidden_by_a_filter_is_an_error_unless_included() {
    let dir = tempfile::tempdir().unwrap();
    filtered(dir.path());
    let (code, out, err) = validate(dir.path(), &["--json", "validate", "filtered.xlsx"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let v = json(&out);
    assert_eq!(
        (v["valid"].as_u64(), v["invalid"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(v["errors"][0]["line"], 4, "{v}");
    assert_eq!(v["errors"][0]["code"], "row_hidden", "{v}");
    let (code, out, err) = validate(
        dir.path(),
        &["--json", "validate", "--include-hidden", "filtered.xlsx"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(json(&out)["valid"], 4);
    // run refuses the sheet as it is: nothing is sent.
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &["--sandbox", "run", "filtered.xlsx", "--yes"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("row_hidden"), "{}", text(&o));
    assert!(!dir.path().join("filtered.results.csv").exists());
}

#[test]
fn a_hidden_payout_column_is_an_error_but_a_hidden_passthrough_column_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    fill(ws, 2, 1);
    ws.set_column_hidden(1).unwrap();
    save(dir.path(), "hidcol.xlsx", &mut wb);
    let (code, _, err) = validate(dir.path(), &["validate", "hidcol.xlsx"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("payout column B 'amount' is hidden") && err.contains("--include-hidden"),
        "{err}"
    );
    let (code, _, err) = validate(dir.path(), &["validate", "--include-hidden", "hidcol.xlsx"]);
    assert_eq!(code, Some(0), "{err}");

    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    fill(ws, 2, 1);
    ws.set_column_hidden(4).unwrap();
    save(dir.path(), "hidpass.xlsx", &mut wb);
    let (code, out, err) = validate(dir.path(), &["validate", "hidpass.xlsx"]);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn merged_network_cells_are_errors_naming_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    fill(ws, 5, 1);
    // D2:D4 = BSC-BEP20 (rows 2-4), D5:D6 = ETH-ERC20: only the first cell of each holds it.
    let evm = |i: u32| format!("0x{:040x}", 0x1234_5678u64 + u64::from(i));
    for r in 1..=5u32 {
        ws.write_string(r, 0, evm(r)).unwrap();
    }
    ws.merge_range(1, 3, 3, 3, "BSC-BEP20", &Format::new())
        .unwrap();
    ws.merge_range(4, 3, 5, 3, "ETH-ERC20", &Format::new())
        .unwrap();
    save(dir.path(), "merged.xlsx", &mut wb);
    for extra in [&[][..], &["--network", "ETH-ERC20"][..]] {
        let mut args = vec!["--json", "validate", "merged.xlsx"];
        args.extend_from_slice(extra);
        let (code, out, err) = validate(dir.path(), &args);
        assert_eq!(code, Some(1), "{out}{err}");
        let v = json(&out);
        assert_eq!(v["valid"], 0, "{v}");
        let merged: Vec<(u64, String)> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["code"] == "merged_cells")
            .map(|p| {
                (
                    p["line"].as_u64().unwrap(),
                    p["message"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let lines: Vec<u64> = merged.iter().map(|m| m.0).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6], "{v}");
        assert!(merged[1].1.contains("D2:D4"), "{merged:?}");
        assert!(merged[4].1.contains("D5:D6"), "{merged:?}");
        assert!(v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["code"] != "merged_cells" || p["column"] == "network"));
    }
}

#[test]
fn a_directory_or_a_fifo_as_the_sheet_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("folder.csv")).unwrap();
    let (code, _, err) = validate(dir.path(), &["validate", "folder.csv"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("folder.csv is a directory"), "{err}");
    #[cfg(unix)]
    {
        let fifo = dir.path().join("pipe.csv");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let (code, _, err) = validate(dir.path(), &["validate", "pipe.csv"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("pipe.csv is not a regular file"), "{err}");
        let o = run_ok(
            dir.path(),
            &Default::default(),
            &["--sandbox", "run", "pipe.csv", "--yes"],
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains("pipe.csv is not a regular file"),
            "{}",
            text(&o)
        );
    }
}

#[test]
fn csv_rows_are_numbered_as_a_spreadsheet_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    // Row 2 has a note over three file lines; row 3 is bad; row 4 is blank; row 5 is bad.
    let text = format!(
        "address,amount,currency,network,note\r\n\
         {a},1,USDT,TRX-TRC20,\"first\r\nsecond\r\nthird\"\r\n\
         {b},0,USDT,TRX-TRC20,x\r\n\
         \r\n\
         {c},-1,USDT,TRX-TRC20,y\r\n",
        a = tron_address(1),
        b = tron_address(2),
        c = tron_address(3)
    );
    std::fs::write(dir.path().join("notes.csv"), text).unwrap();
    let (code, out, err) = validate(dir.path(), &["--json", "validate", "notes.csv"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let v = json(&out);
    let lines: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 5], "{v}");
    let (_, out, _) = validate(dir.path(), &["validate", "notes.csv"]);
    assert!(
        out.contains("line 3, amount:") && out.contains("line 5, amount:"),
        "{out}"
    );
}

#[test]
fn memos_excel_mangled_or_with_invisible_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ton = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";
    let memos = [
        ("482134000001", None),
        ("4.82134E+11", Some("memo_exponent")),
        ("4821\u{200b}34", Some("memo_invisible_character")),
        ("\u{feff}482134", Some("memo_invisible_character")),
        (" 482134", Some("memo_whitespace")),
        ("pay for June", None),
    ];
    let mut text = String::from("address,amount,currency,network,memo\n");
    for (i, (m, _)) in memos.iter().enumerate() {
        text.push_str(&format!("{ton},{}.5,USDT,TON,{m}\n", i + 1));
    }
    std::fs::write(dir.path().join("memos.csv"), text).unwrap();
    let (code, out, err) = validate(dir.path(), &["--json", "validate", "memos.csv"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let v = json(&out);
    let got: Vec<(u64, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = memos
        .iter()
        .enumerate()
        .filter_map(|(i, (_, c))| c.map(|c| (i as u64 + 2, c.to_string())))
        .collect();
    assert_eq!(got, want, "{v}");
    assert_eq!(v["valid"], 2);
}

#[test]
fn problems_stream_and_only_the_first_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("address,amount,currency,network\n");
    for i in 0..2500 {
        body.push_str(&format!("nope{i},-1,USDT,TRX-TRC20\n"));
    }
    std::fs::write(dir.path().join("bad.csv"), body).unwrap();
    let (code, out, err) = validate(dir.path(), &["--json", "validate", "bad.csv"]);
    assert_eq!(code, Some(1), "{err}");
    let v = json(&out);
    assert_eq!(v["error_count"], 5000, "two problems per row");
    assert_eq!(v["errors"].as_array().unwrap().len(), 1000);
    assert_eq!(v["invalid"], 2500);
    let (code, out, _) = validate(
        dir.path(),
        &["validate", "--errors-out", "errors.csv", "bad.csv"],
    );
    assert_eq!(code, Some(1));
    let listed = out.lines().filter(|l| l.starts_with("line ")).count();
    assert_eq!(listed, 5000, "every problem is printed");
    assert!(out.contains("5000 errors, 0 warnings"), "{out}");
    let csv = std::fs::read_to_string(dir.path().join("errors.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5001, "header and every problem");
    assert!(
        csv.lines().last().unwrap().starts_with("2501,"),
        "in sheet order"
    );
    // run lists the kept problems and says how many more there are.
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &["--sandbox", "run", "bad.csv", "--yes"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("and 4000 more problems (5000 errors"),
        "{}",
        text(&o)
    );
}

#[test]
fn values_filled_from_flags_are_recorded_and_shown_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "address,amount,currency,network,fee_option\n\
         {a},11,,,\n\
         {b},12,USDT,TRX-TRC20,deduct\n",
        a = tron_address(1),
        b = tron_address(2)
    );
    std::fs::write(dir.path().join("flags.csv"), body).unwrap();
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &[
            "--sandbox",
            "run",
            "flags.csv",
            "--yes",
            "--network",
            "TRX-TRC20",
            "--currency",
            "USDT",
            "--fee-option",
            "add",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = read_csv_rows(&dir.path().join("flags.results.csv"));
    let shown: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["network"].as_str(),
                r["currency"].as_str(),
                r["fee_option"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("TRX-TRC20", "USDT", "add"),
            ("TRX-TRC20", "USDT", "deduct")
        ],
        "{rows:?}"
    );
    // The book's own view (a report rebuilt from it) says the same.
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &["report", "flags.csv", "--out", "again.csv"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let again = read_csv_rows(&dir.path().join("again.csv"));
    assert_eq!(again[0]["network"], "TRX-TRC20", "{again:?}");
    assert_eq!(again[0]["fee_option"], "add", "{again:?}");
}

/// A German Excel export: BOM, `;`, CRLF.
fn german(dir: &Path) -> PathBuf {
    let text = format!(
        "\u{feff}address;amount;currency;network\r\n\
         {a};1.500;USDT;TRX-TRC20\r\n\
         {b};1.234,50;USDT;TRX-TRC20\r\n\
         {c};7;USDT;TRX-TRC20\r\n",
        a = tron_address(1),
        b = tron_address(2),
        c = tron_address(3)
    );
    let p = dir.join("de.csv");
    std::fs::write(&p, text).unwrap();
    p
}

fn codes_by_line(v: &serde_json::Value) -> Vec<(u64, String)> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["code"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn dot_grouped_amounts_are_ambiguous_in_a_semicolon_file_until_the_convention_is_stated() {
    let dir = tempfile::tempdir().unwrap();
    german(dir.path());
    let (code, out, err) = validate(dir.path(), &["--json", "validate", "de.csv"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let v = json(&out);
    assert_eq!(
        codes_by_line(&v),
        vec![
            (2, "amount_ambiguous_separator".into()),
            (3, "amount_thousands_separator".into())
        ],
        "{v}"
    );
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("--decimal-separator ,"));
    let (code, out, err) = validate(
        dir.path(),
        &["--json", "validate", "--decimal-separator", ",", "de.csv"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(json(&out)["totals"][0]["amount"], "2741.50");
    let (code, out, _) = validate(
        dir.path(),
        &["--json", "validate", "--decimal-separator", ".", "de.csv"],
    );
    assert_eq!(code, Some(1));
    let v = json(&out);
    assert_eq!(
        codes_by_line(&v),
        vec![(3, "amount_thousands_separator".into())]
    );
    assert_eq!(v["totals"][0]["amount"], "8.500");
    // run under the stated convention sends 1500, not 1.5.
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &[
            "--sandbox",
            "run",
            "de.csv",
            "--yes",
            "--decimal-separator",
            ",",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &["report", "de.csv", "--out", "de.json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ledger = std::fs::read_to_string(dir.path().join("de.json")).unwrap();
    let ledger: serde_json::Value = serde_json::from_str(&ledger).unwrap();
    let debited: Vec<rust_decimal::Decimal> = ledger["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| dec(r["merchant_amount"].as_str().unwrap()))
        .collect();
    assert_eq!(
        debited,
        vec![dec("1500"), dec("1234.50"), dec("7")],
        "{ledger}"
    );
}

#[test]
fn a_later_decimal_comma_makes_earlier_dot_grouped_amounts_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "address,amount,currency,network\n{a},1.500,USDT,TRX-TRC20\n{b},2.5,USDT,TRX-TRC20\n\
         {c},\"12,5\",USDT,TRX-TRC20\n{d},3.000,USDT,TRX-TRC20\n",
        a = tron_address(1),
        b = tron_address(2),
        c = tron_address(3),
        d = tron_address(4)
    );
    std::fs::write(dir.path().join("mixed.csv"), body).unwrap();
    let (code, out, err) = validate(dir.path(), &["--json", "validate", "mixed.csv"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let v = json(&out);
    assert_eq!(
        codes_by_line(&v),
        vec![
            (2, "amount_ambiguous_separator".into()),
            (4, "amount_decimal_comma".into()),
            (5, "amount_ambiguous_separator".into())
        ],
        "{v}"
    );
    assert_eq!(
        (v["valid"].as_u64(), v["invalid"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        dec(v["totals"][0]["amount"].as_str().unwrap()),
        dec("2.5"),
        "{v}"
    );
    // Without the decimal comma, 1.500 is one and a half, as before.
    let body = format!(
        "address,amount,currency,network\n{a},1.500,USDT,TRX-TRC20\n",
        a = tron_address(1)
    );
    std::fs::write(dir.path().join("plain.csv"), body).unwrap();
    let (code, out, _) = validate(dir.path(), &["--json", "validate", "plain.csv"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(json(&out)["totals"][0]["amount"], "1.500");
    // run does not pay the retracted row either.
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &["--sandbox", "run", "mixed.csv", "--yes", "--skip-invalid"],
    );
    let o_text = text(&o);
    assert!(
        o_text.contains("3 invalid row(s) will not be paid"),
        "{o_text}"
    );
    let rows = read_csv_rows(&dir.path().join("mixed.results.csv"));
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses[0], "invalid", "{rows:?}");
    assert_eq!(statuses[2], "invalid", "{rows:?}");
    assert_eq!(statuses[3], "invalid", "{rows:?}");
    assert_ne!(statuses[1], "invalid", "{rows:?}");
}

/// Another worksheet of a paid workbook is another sheet: paying May's tab does not make
/// June's "already paid" (the file's hash is the same, the payouts are not), and each tab run
/// again is already paid.
#[test]
fn each_worksheet_of_a_workbook_is_its_own_sheet() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let mut wb = Workbook::new();
    let may = wb.add_worksheet();
    may.set_name("May").unwrap();
    fill(may, 2, 1);
    let june = wb.add_worksheet();
    june.set_name("June").unwrap();
    fill(june, 3, 1);
    june.write_number(1, 1, 500.0).unwrap();
    let sheet = save(dir.path(), "payouts.xlsx", &mut wb);
    let run = |tab: &str| {
        run_ok(
            dir.path(),
            &env,
            &["run", sheet.to_str().unwrap(), "--sheet", tab, "--yes"],
        )
    };
    let o = run("May");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 2);
    let o = run("June");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("already paid"), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 5, "June paid: {}", text(&o));
    for tab in ["May", "June"] {
        let o = run(tab);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(text(&o).contains("already paid"), "{tab}: {}", text(&o));
    }
    assert_eq!(sb.payouts().len(), 5);
}
