//! A hand-built ledger with the values that break naive writers: huge and tiny amounts,
//! commas, quotes, newlines, non-ASCII, formula-looking cells, a header clash and ragged rows.
#![allow(dead_code)]

use payrun::ledger::{Ledger, LedgerRow, RunInfo};
use payrun::model::{GatewayId, GatewayKind, OrderId, Status};
use rust_decimal::Decimal;
use std::str::FromStr;

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub const COLUMNS: [&str; 8] = [
    "name",
    "to_address",
    "amount",
    "currency",
    "network",
    "note",
    "status",
    "Order_ID",
];

pub fn run_info() -> RunInfo {
    RunInfo {
        run_id: "payroll-2024-03".into(),
        gateway: GatewayKind::G2328,
        sheet: "payroll.csv".into(),
        generated_at: "2024-03-31T12:00:00Z".into(),
        approved_by: None,
    }
}

pub fn tricky_ledger() -> Ledger {
    let completed = LedgerRow {
        order_id: Some(OrderId("-starts-with-dash".into())),
        gateway_status: Some("@SUM(A1:A9)".into()),
        gateway_id: Some(GatewayId("9ed25264-8be4-439f-acf5-2a8732538d27".into())),
        txid: Some("=cmd|' /C calc'!A0".into()),
        merchant_amount: Some(dec("123456789012345.123456789")),
        network_amount: Some(dec("0.000000000000000001")),
        fee: Some(dec("1.50")),
        updated_at: Some("2024-03-31T11:59:00Z".into()),
        currency: Some("USDT".into()),
        network: Some("TRX-TRC20".into()),
        amount: Some(dec("123456789012345.123456789")),
        quoted_fee: Some(dec("1.25")),
        ..LedgerRow::new(
            2,
            strings(&[
                "Zoë \"Zed\" Müller, Jr.\nsecond line",
                "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
                "123456789012345.123456789",
                "USDT",
                "TRX-TRC20",
                "=HYPERLINK(\"http://evil.example\",\"click\")",
                "+1",
                "",
            ]),
            Status::Completed,
        )
    };
    let failed = LedgerRow {
        order_id: Some(OrderId("ord_2".into())),
        gateway_status: Some("failed".into()),
        error: Some("-2 aml_risk, \"flagged\"".into()),
        currency: Some("USDT".into()),
        network: Some("TRX-TRC20".into()),
        amount: Some(dec("0.000000000000000001")),
        quoted_fee: Some(dec("0.5")),
        ..LedgerRow::new(
            3,
            strings(&[
                "\tTabbed",
                "\rcarriage",
                "0.000000000000000001",
                "usdt",
                "trx-trc20",
                "日本語 ; semi",
                "_x0041_ literal",
                "  spaced  ",
            ]),
            Status::Failed,
        )
    };
    // Shorter than the header (a ragged CSV row), never sent.
    let invalid = LedgerRow {
        error: Some("amount: 1,000 has a thousands separator".into()),
        ..LedgerRow::new(4, strings(&["Short row", "", "1,000"]), Status::Invalid)
    };
    // Longer than the header: the extra cell must survive.
    let extra = LedgerRow {
        order_id: Some(OrderId("ord_4".into())),
        currency: Some("BTC".into()),
        network: Some("BTC".into()),
        amount: Some(dec("0.5")),
        ..LedgerRow::new(
            5,
            strings(&[
                "Extra",
                "bc1q",
                "0.5",
                "BTC",
                "BTC",
                "",
                "",
                "",
                "@extra cell",
            ]),
            Status::Pending,
        )
    };
    Ledger {
        columns: strings(&COLUMNS),
        rows: vec![completed, failed, invalid, extra],
        run: run_info(),
    }
}
