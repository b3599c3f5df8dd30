//! Validation rules through the library's `load` (what quote and run use): the payouts it
//! builds, XLSX cell kinds, BlockATM rules, EVM case-insensitive duplicates.

use std::path::{Path, PathBuf};

use payrun::model::{FeeOption, GatewayKind};
use payrun::networks;
use payrun::validate::{load, validate_file, LoadedSheet, ValidateOptions};

/// A TRON wallet address (not a token contract: those are refused as recipients).
const TRON: &str = "T9yD14UmQyKLWP5Jb1VvxodobHseGvKQZi";
// EIP-55 test vector.
const EVM: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn csv(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("sheet.csv");
    std::fs::write(&p, body).unwrap();
    p
}

fn codes(s: &LoadedSheet) -> Vec<(u64, &str)> {
    s.report.errors.iter().map(|p| (p.line, p.code)).collect()
}

#[test]
fn valid_rows_become_payouts_with_their_text_preserved() {
    let dir = tempfile::tempdir().unwrap();
    let lower = EVM.to_lowercase();
    let p = csv(
        dir.path(),
        &format!(
            "Name,To_Address,Amount,Token,Chain,Fee_Option,Order_ID,Reference,Note\n\
             Ann,{TRON},1.50,usdt,Tron,,pay-1,INV-7,May\n\
             Bob,{lower},0.000001,USDC,ethereum,add,,INV-8,\n"
        ),
    );
    let s = load(&p, &ValidateOptions::new(GatewayKind::G2328)).unwrap();
    assert_eq!(s.report.valid, 2, "{:?}", s.report.errors);
    assert_eq!(s.columns[0], "Name");
    assert_eq!(s.sha256.len(), 64);
    let a = s.rows[0].payout.as_ref().unwrap();
    assert_eq!(s.rows[0].cells[0], "Ann");
    assert_eq!(
        (a.line, a.network.code, a.currency.as_str()),
        (2, "TRX-TRC20", "USDT")
    );
    assert_eq!(a.amount.to_string(), "1.50");
    assert_eq!(a.fee_option, FeeOption::Deduct);
    assert_eq!(a.explicit_order_id.as_deref(), Some("pay-1"));
    assert_eq!(a.remark.as_deref(), Some("May"));
    // `Reference` is a passthrough column (no longer an alias of the order id): kept verbatim,
    // never taken as an order id.
    assert_eq!(s.columns[7], "Reference");
    assert_eq!(s.rows[0].cells[7], "INV-7");
    assert_eq!(s.rows[1].cells[7], "INV-8");
    let b = s.rows[1].payout.as_ref().unwrap();
    assert_eq!(b.address_key, lower);
    assert_eq!(b.fee_option, FeeOption::Add);
    assert_eq!(b.amount.scale(), 6);
    assert_eq!(b.explicit_order_id, None);
}

#[test]
fn several_problems_in_one_row_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        "address,amount,currency,network,memo\nTXX,-3,USDT,TRX-TRC20,hello\n",
    );
    let s = load(&p, &ValidateOptions::new(GatewayKind::G2328)).unwrap();
    assert_eq!(
        codes(&s),
        vec![
            (2, "address_format"),
            (2, "amount_not_positive"),
            (2, "memo_not_supported")
        ]
    );
    assert!(s.rows[0].payout.is_none());
}

#[test]
fn evm_duplicates_compare_case_insensitively_and_amounts_numerically() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        &format!(
            "address,amount,currency,network\n{EVM},10,USDT,ETH-ERC20\n{},10.000,USDT,ERC20\n{EVM},10,USDC,ETH-ERC20\n",
            EVM.to_lowercase()
        ),
    );
    let s = load(&p, &ValidateOptions::new(GatewayKind::G2328)).unwrap();
    assert_eq!(codes(&s), vec![(3, "duplicate_row")]);
    assert!(s.report.errors[0].message.contains("line 2"));
    let mut opts = ValidateOptions::new(GatewayKind::G2328);
    opts.allow_duplicates = true;
    assert!(load(&p, &opts).unwrap().report.errors.is_empty());
}

#[test]
fn blockatm_takes_the_contract_chain_and_its_currencies() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(
        dir.path(),
        &format!(
            "address,amount,currency,network,from_currency\n\
             {TRON},5,USDT,,\n{TRON},5,USDC,,\n{TRON},6,USDT,ETH-ERC20,\n{TRON},7,USDT,TRON,TRX\n"
        ),
    );
    let mut opts = ValidateOptions::new(GatewayKind::BlockAtm);
    opts.contract_network = networks::lookup("TRX-TRC20");
    let s = load(&p, &opts).unwrap();
    assert_eq!(
        codes(&s),
        vec![
            (3, "currency_not_on_network"),
            (4, "network_mismatch"),
            (5, "from_currency_not_supported")
        ]
    );
    assert_eq!(s.rows[0].payout.as_ref().unwrap().network.code, "TRX-TRC20");
    // Without a chain and without a network column the sheet cannot be checked.
    let p = csv(
        dir.path(),
        &format!("address,amount,currency\n{TRON},5,USDT\n"),
    );
    let err = load(&p, &ValidateOptions::new(GatewayKind::BlockAtm)).unwrap_err();
    assert!(err.to_string().contains("PAYRUN_NETWORK"), "{err}");
}

#[test]
fn flags_fill_missing_currency_and_network() {
    let dir = tempfile::tempdir().unwrap();
    let p = csv(dir.path(), &format!("wallet,amount\n{TRON},5\n"));
    let mut opts = ValidateOptions::new(GatewayKind::G2328);
    opts.currency = Some("usdt".into());
    opts.network = Some("trc20".into());
    let r = validate_file(&p, &opts, |_, _| {}).unwrap();
    assert_eq!((r.valid, r.totals[0].currency.as_str()), (1, "USDT"));
}

fn xlsx(dir: &Path, amount: impl Fn(&mut rust_xlsxwriter::Worksheet, u32)) -> PathBuf {
    let path = dir.join("book.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in [
        "address",
        "amount",
        "currency",
        "network",
        "memo",
        "employee_id",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, TRON).unwrap();
    ws.write_string(1, 2, "USDT").unwrap();
    ws.write_string(1, 3, "TRX-TRC20").unwrap();
    ws.write_number(1, 5, 1234.0).unwrap();
    amount(ws, 1);
    wb.save(&path).unwrap();
    path
}

#[test]
fn xlsx_amount_cells_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ValidateOptions::new(GatewayKind::G2328);
    // A number: shortest round-trip decimal; numeric text cells rendered the same way.
    let p = xlsx(dir.path(), |ws, r| {
        ws.write_number(r, 1, 12.5).unwrap();
    });
    let s = load(&p, &opts).unwrap();
    assert!(s.report.errors.is_empty(), "{:?}", s.report.errors);
    assert_eq!(
        s.rows[0].payout.as_ref().unwrap().amount.to_string(),
        "12.5"
    );
    assert_eq!(s.rows[0].cells[5], "1234");
    // 0.1 + 0.2 as a formula with its cached value.
    let p = xlsx(dir.path(), |ws, r| {
        ws.write_formula(
            r,
            1,
            rust_xlsxwriter::Formula::new("=0.1+0.2").set_result("0.30000000000000004"),
        )
        .unwrap();
    });
    let s = load(&p, &opts).unwrap();
    assert_eq!(codes(&s), vec![(2, "amount_precision")]);
    assert!(s.report.errors[0].message.contains("0.30000000000000004"));
    assert!(s.report.errors[0].message.contains("ROUND"));
    // A date, a boolean, an error value.
    let p = xlsx(dir.path(), |ws, r| {
        let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let d = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 5, 1).unwrap();
        ws.write_datetime_with_format(r, 1, &d, &fmt).unwrap();
    });
    assert_eq!(
        codes(&load(&p, &opts).unwrap()),
        vec![(2, "amount_date_cell")]
    );
    let p = xlsx(dir.path(), |ws, r| {
        ws.write_boolean(r, 1, true).unwrap();
    });
    assert_eq!(
        codes(&load(&p, &opts).unwrap()),
        vec![(2, "amount_boolean_cell")]
    );
    let p = xlsx(dir.path(), |ws, r| {
        ws.write_formula(
            r,
            1,
            rust_xlsxwriter::Formula::new("=1/0").set_result("#DIV/0!"),
        )
        .unwrap();
    });
    let s = load(&p, &opts).unwrap();
    assert_eq!(codes(&s), vec![(2, "cell_error")], "{:?}", s.report.errors);
}

#[test]
fn xlsx_long_numeric_memo_has_lost_digits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memo.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["address", "amount", "currency", "network", "memo"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let sol = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV";
    ws.write_string(1, 0, sol).unwrap();
    ws.write_number(1, 1, 5.0).unwrap();
    ws.write_string(1, 2, "USDT").unwrap();
    ws.write_string(1, 3, "SOL").unwrap();
    ws.write_number(1, 4, 12345678901234567890.0).unwrap();
    wb.save(&path).unwrap();
    let s = load(&path, &ValidateOptions::new(GatewayKind::G2328)).unwrap();
    assert_eq!(
        codes(&s),
        vec![(2, "memo_number_precision")],
        "{:?}",
        s.report.errors
    );
}
