//! `payrun quote --out FILE.xlsx`: the cost report as a workbook finance can file — a `rows`
//! sheet with every planned row and its quoted fee (or why the calculator refused it), a
//! `totals` sheet per currency and network, and a `variance` sheet against the previous run of
//! the sheet when the book has one (docs/design.md, "Controls before money moves"). A number
//! (amount, fee, count) is a number cell when it round-trips exactly through a double
//! (`ledger::xlsx::exact_double`), else right-aligned text exactly as computed; every other
//! cell is a string cell, so no value can become a formula.

use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};

use crate::ledger::xlsx::{write_amount, AmountFormats};
use crate::quote::{QuoteLine, QuoteReport};

fn text(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn table(sheet: &mut Worksheet, header: &[&str], rows: &[Vec<String>]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let right = Format::new()
        .set_num_format("@")
        .set_align(FormatAlign::Right);
    let mut formats = AmountFormats::default();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let xr = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(cell.chars().count().min(60));
            }
            match cell.parse::<Decimal>() {
                Ok(d) if !cell.is_empty() => {
                    write_amount(sheet, xr, c as u16, d, &mut formats, &right)?;
                }
                _ => {
                    sheet.write_string(xr, c as u16, cell)?;
                }
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, (*w + 2) as f64)?;
    }
    Ok(())
}

/// The workbook's bytes.
pub fn render(r: &QuoteReport) -> anyhow::Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|q| {
            vec![
                q.line.to_string(),
                q.order_id.to_string(),
                q.address.clone(),
                q.amount.to_string(),
                q.currency.clone(),
                q.network.clone(),
                q.fee_option.to_string(),
                text(q.fee),
                text(q.merchant_debit),
                text(q.recipient_gets),
                q.refused.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let sheet = wb.add_worksheet().set_name("rows")?;
    table(
        sheet,
        &[
            "line",
            "order_id",
            "address",
            "amount",
            "currency",
            "network",
            "fee_option",
            "fee",
            "merchant_debit",
            "recipient_gets",
            "not_priced_because",
        ],
        &rows,
    )?;
    let mut totals: Vec<Vec<String>> = r
        .lines
        .iter()
        .map(|l| {
            let mut cells = l.cells();
            cells.push(l.unpriced_rows.to_string());
            cells
        })
        .collect();
    totals.extend(r.grand_totals.iter().map(|g| {
        let mut cells = g.cells();
        cells.push(String::new());
        cells
    }));
    let sheet = wb.add_worksheet().set_name("totals")?;
    let header: Vec<&str> = QuoteLine::COLUMNS
        .iter()
        .copied()
        .chain(["unpriced_rows"])
        .collect();
    table(sheet, &header, &totals)?;
    if let Some(v) = &r.variance {
        let mut out: Vec<Vec<String>> = Vec::new();
        for c in &v.changed {
            out.push(vec![
                c.line.to_string(),
                if c.address_changed() {
                    "address changed".into()
                } else {
                    "amount changed".into()
                },
                c.currency.clone(),
                c.old_amount.to_string(),
                c.new_amount.to_string(),
                c.delta.to_string(),
                c.old_address.clone(),
                c.new_address.clone(),
            ]);
        }
        for a in &v.added {
            out.push(vec![
                a.line.to_string(),
                "added".into(),
                a.currency.clone(),
                String::new(),
                a.amount.to_string(),
                a.amount.to_string(),
                String::new(),
                a.address.clone(),
            ]);
        }
        for d in &v.removed {
            out.push(vec![
                d.line.to_string(),
                "removed".into(),
                d.currency.clone(),
                d.amount.to_string(),
                String::new(),
                (-d.amount).to_string(),
                d.address.clone(),
                String::new(),
            ]);
        }
        for t in &v.totals {
            out.push(vec![
                String::new(),
                format!("total (unchanged rows: {})", v.unchanged),
                t.currency.clone(),
                t.then.to_string(),
                t.now.to_string(),
                t.delta.to_string(),
                String::new(),
                String::new(),
            ]);
        }
        let sheet = wb.add_worksheet().set_name("variance")?;
        sheet.write_string(0, 9, format!("compared with run {}", v.previous_run))?;
        table(
            sheet,
            &[
                "line",
                "change",
                "currency",
                "then",
                "now",
                "delta",
                "old_address",
                "new_address",
            ],
            &out,
        )?;
    }
    Ok(wb.save_to_buffer()?)
}
