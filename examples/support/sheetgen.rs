//! Generated sheets (CSV and XLSX) of valid mixed-network rows with passthrough columns.
//! Needs `addrgen` as a sibling module.
#![allow(dead_code)]

use super::addrgen;
use std::io::Write;

pub const HEADER: [&str; 8] = [
    "name",
    "employee_id",
    "email",
    "address",
    "amount",
    "currency",
    "network",
    "memo",
];

/// The cells of generated row `i`.
pub fn cells(i: u64) -> [String; 8] {
    let (network, currency, address, memo, decimals) = addrgen::row_for(i);
    let frac = decimals.min(2);
    let whole = 1 + (i * 7919) % 5000;
    let cents = (i * 31) % 100;
    let amount = if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{cents:02}")
    };
    [
        format!("Payee {i}"),
        format!("E{:07}", i),
        format!("payee{i}@example.com"),
        address,
        amount,
        currency.to_string(),
        network.to_string(),
        memo.unwrap_or_default(),
    ]
}

pub fn write_csv(path: &std::path::Path, rows: u64) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "{}", HEADER.join(","))?;
    for i in 0..rows {
        writeln!(w, "{}", cells(i).join(","))?;
    }
    w.flush()
}

pub fn write_xlsx(path: &std::path::Path, rows: u64) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Payouts")?;
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for i in 0..rows {
        let r = (i + 1) as u32;
        for (c, v) in cells(i).iter().enumerate() {
            if c == 4 {
                // Amounts as numbers, as a spreadsheet holds them.
                let f: f64 = v.parse().unwrap_or(0.0);
                ws.write_number(r, c as u16, f)?;
            } else {
                ws.write_string(r, c as u16, v)?;
            }
        }
    }
    wb.save(path)
}
