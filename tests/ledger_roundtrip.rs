//! Every ledger format written through `ledger::write` and read back with an independent
//! reader (csv crate, calamine, serde_json): values unchanged, formula cells neutralised in CSV
//! and stored as plain strings in XLSX (amounts as number cells where a double holds them
//! exactly), exact amounts, no temporary file left behind.

mod ledger_support;

use std::fs;
use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};
use ledger_support::{dec, tricky_ledger};
use payrun::ledger::{self, Ledger, LedgerError, ResultCell};

/// What one ledger row should read back as: original cells padded to `width`, then the
/// result cells as text (amounts as their exact decimal text).
fn expected_cells(l: &Ledger, row: usize, width: usize) -> Vec<String> {
    let r = &l.rows[row];
    let mut v: Vec<String> = (0..width).map(|i| r.cell(i).to_string()).collect();
    v.extend(r.result_cells().into_iter().map(|c| match c {
        ResultCell::Text(t) => t.to_string(),
        ResultCell::Amount(d) => d.to_string(),
        ResultCell::Empty => String::new(),
    }));
    v
}

fn expected_header(width: usize) -> Vec<String> {
    let mut h: Vec<String> = ledger_support::COLUMNS
        .iter()
        .map(|s| s.to_string())
        .collect();
    h.push("column_9".into());
    assert_eq!(h.len(), width);
    h.extend(
        [
            "payrun_order_id",
            "payrun_status",
            "gateway_status",
            "gateway_id",
            "txid",
            "merchant_amount",
            "network_amount",
            "fee",
            "error",
            "updated_at",
        ]
        .map(String::from),
    );
    h
}

fn only_file(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn fixture_is_ragged_and_clashing() {
    let l = tricky_ledger();
    assert_eq!(ledger::original_width(&l), 9);
    assert!(l.rows.iter().any(|r| r.cells.len() < l.columns.len()));
}

#[test]
fn csv_reads_back_unchanged_except_formula_cells_which_get_a_quote() {
    let l = tricky_ledger();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payroll.results.csv");
    ledger::write(&path, &l).unwrap();
    assert_eq!(only_file(dir.path()), vec!["payroll.results.csv"]);

    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(&path)
        .unwrap();
    let records: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(records.len(), 1 + l.rows.len());
    assert_eq!(records[0], expected_header(9));

    let amount_cols = [9 + 5, 9 + 6, 9 + 7];
    for (i, got) in records[1..].iter().enumerate() {
        let want = expected_cells(&l, i, 9);
        assert_eq!(got.len(), want.len(), "row {i}");
        for (c, (g, w)) in got.iter().zip(&want).enumerate() {
            let triggers = ['=', '+', '-', '@', '\t', '\r'];
            if !amount_cols.contains(&c) && w.starts_with(triggers) {
                assert_eq!(g, &format!("'{w}"), "row {i} col {c} must be neutralised");
            } else {
                assert_eq!(g, w, "row {i} col {c}");
            }
        }
    }
    // Spot checks written out in full, so the test does not only mirror the writer's logic.
    let first = &records[1];
    assert_eq!(first[0], "Zoë \"Zed\" Müller, Jr.\nsecond line");
    assert_eq!(first[5], "'=HYPERLINK(\"http://evil.example\",\"click\")");
    assert_eq!(first[6], "'+1");
    assert_eq!(first[9], "'-starts-with-dash");
    assert_eq!(first[10], "completed");
    assert_eq!(first[11], "'@SUM(A1:A9)");
    assert_eq!(first[13], "'=cmd|' /C calc'!A0");
    assert_eq!(first[14], "123456789012345.123456789");
    assert_eq!(first[15], "0.000000000000000001");
    assert_eq!(dec(&first[14]), dec("123456789012345.123456789"));
    let second = &records[2];
    assert_eq!(second[0], "'\tTabbed");
    assert_eq!(second[1], "'\rcarriage");
    assert_eq!(second[5], "日本語 ; semi");
    assert_eq!(second[7], "  spaced  ");
    assert_eq!(second[17], "'-2 aml_risk, \"flagged\"");
    assert_eq!(second[14], "", "no merchant amount: empty cell");
    assert_eq!(records[4][8], "'@extra cell");
    assert_eq!(records[3][10], "invalid");
}

/// Whether an XLSX cell holds what the ledger says: an amount (the sheet's amount column on a
/// row whose amount parsed, or merchant amount, network amount, fee) as a number cell when
/// its decimal round-trips exactly through a double, every other value as the same string.
fn xlsx_cell_matches(got: Option<&Data>, want: &str, amount: bool) -> bool {
    match got {
        Some(Data::Float(f)) if amount => {
            let d = dec(want);
            payrun::ledger::xlsx::exact_double(d) == Some(*f)
                && format!("{f}").parse::<rust_decimal::Decimal>().ok() == Some(d)
        }
        Some(Data::String(s)) => {
            s == want && !(amount && payrun::ledger::xlsx::exact_double(dec(want)).is_some())
        }
        _ => false,
    }
}

#[test]
fn xlsx_reads_back_every_cell_exactly_amounts_as_numbers_where_exact_and_no_formula() {
    let l = tricky_ledger();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payroll.results.xlsx");
    ledger::write(&path, &l).unwrap();
    assert_eq!(only_file(dir.path()), vec!["payroll.results.xlsx"]);

    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(wb.sheet_names(), vec!["Results".to_string()]);
    let range = wb.worksheet_range("Results").unwrap();
    assert_eq!(range.start(), Some((0, 0)));
    let header: Vec<String> = (0..19)
        .map(|c| match range.get_value((0, c)) {
            Some(Data::String(s)) => s.clone(),
            other => panic!("header {c}: {other:?}"),
        })
        .collect();
    assert_eq!(header, expected_header(9));
    let mut numbers = 0;
    for i in 0..l.rows.len() {
        let want = expected_cells(&l, i, 9);
        for (c, w) in want.iter().enumerate() {
            let got = range.get_value(((i + 1) as u32, c as u32));
            if w.is_empty() {
                assert!(
                    matches!(got, None | Some(Data::Empty)),
                    "row {i} col {c}: {got:?}"
                );
                continue;
            }
            // Column 2 is the sheet's amount; 14-16 merchant amount, network amount, fee.
            let amount = (c == 2 && l.rows[i].amount.is_some_and(|a| w.parse() == Ok(a)))
                || (14..=16).contains(&c);
            assert!(
                xlsx_cell_matches(got, w, amount),
                "row {i} col {c}: {got:?}, want {w:?}"
            );
            numbers += usize::from(matches!(got, Some(Data::Float(_))));
        }
    }
    assert!(numbers >= 4, "exact amounts are number cells");
    // The formula-looking cell is a string cell, exactly as written, not a formula.
    assert_eq!(
        range.get_value((1, 5)),
        Some(&Data::String(
            "=HYPERLINK(\"http://evil.example\",\"click\")".into()
        ))
    );
    assert_eq!(
        range.get_value((1, 14)),
        Some(&Data::String("123456789012345.123456789".into()))
    );
    let formulas = wb.worksheet_formula("Results").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no cell may be a formula"
    );
}

#[test]
fn json_reads_back_with_columns_by_header_and_exact_amounts() {
    let l = tricky_ledger();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payroll.results.json");
    ledger::write(&path, &l).unwrap();
    assert_eq!(only_file(dir.path()), vec!["payroll.results.json"]);

    let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["run"]["run_id"], "payroll-2024-03");
    assert_eq!(v["run"]["gateway"], "2328");
    assert_eq!(v["run"]["sheet"], "payroll.csv");
    assert_eq!(v["run"]["generated_at"], "2024-03-31T12:00:00Z");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let r0 = &rows[0];
    assert_eq!(r0["line"], 2);
    assert_eq!(
        r0["columns"]["name"],
        "Zoë \"Zed\" Müller, Jr.\nsecond line"
    );
    assert_eq!(
        r0["columns"]["note"],
        "=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    assert_eq!(r0["columns"]["status"], "+1");
    assert_eq!(r0["columns"]["Order_ID"], "");
    assert_eq!(r0["order_id"], "-starts-with-dash");
    assert_eq!(r0["status"], "completed");
    assert_eq!(r0["merchant_amount"], "123456789012345.123456789");
    assert_eq!(r0["network_amount"], "0.000000000000000001");
    assert_eq!(r0["fee"], "1.50");
    assert!(r0["error"].is_null());
    let keys: Vec<&String> = r0.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "line",
            "columns",
            "order_id",
            "status",
            "gateway_status",
            "gateway_id",
            "txid",
            "merchant_amount",
            "network_amount",
            "fee",
            "error",
            "updated_at"
        ]
    );
    assert_eq!(rows[1]["columns"]["name"], "\tTabbed");
    assert_eq!(rows[1]["error"], "-2 aml_risk, \"flagged\"");
    assert_eq!(rows[2]["columns"]["note"], "", "ragged short row padded");
    assert_eq!(rows[3]["columns"]["column_9"], "@extra cell");
    assert_eq!(rows[3]["status"], "pending");
}

#[test]
fn json_keeps_every_cell_of_a_repeated_header() {
    let mut l = tricky_ledger();
    l.columns[7] = "name".into();
    let v = ledger::json::to_value(&l).unwrap();
    assert_eq!(
        v["rows"][0]["columns"]["name"],
        "Zoë \"Zed\" Müller, Jr.\nsecond line"
    );
    assert_eq!(v["rows"][1]["columns"]["name (2)"], "  spaced  ");
}

#[test]
fn rewriting_replaces_the_file_and_markdown_is_the_summary() {
    let mut l = tricky_ledger();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    ledger::write(&path, &l).unwrap();
    l.rows.truncate(1);
    ledger::write(&path, &l).unwrap();
    let n = csv::Reader::from_path(&path).unwrap().records().count();
    assert_eq!(n, 1);
    let md = dir.path().join("summary.md");
    ledger::write(&md, &l).unwrap();
    let text = fs::read_to_string(&md).unwrap();
    assert!(text.starts_with("# Payout run summary: payroll-2024-03"));
    assert_eq!(only_file(dir.path()), vec!["r.csv", "summary.md"]);
}

#[test]
fn an_unknown_extension_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let err = ledger::write(&dir.path().join("r.xls"), &tricky_ledger()).unwrap_err();
    assert!(matches!(err, LedgerError::UnsupportedExtension { .. }));
    assert!(err.to_string().contains(".csv, .xlsx, .json or .md"));
    assert!(only_file(dir.path()).is_empty());
}
