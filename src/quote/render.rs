//! The quote report as people and files read it: a text table (`quote`, and `run`'s
//! confirmation), Markdown, CSV and JSON files; the workbook is in `xlsx`.

use std::path::Path;

use rust_decimal::Decimal;

use crate::ledger::scale::Scales;
use crate::quote::{QuoteLine, QuoteReport};

/// The file kinds `quote --out` writes, by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Csv,
    Json,
    Markdown,
    Xlsx,
}

impl OutFormat {
    /// The kind a path's extension names (case-insensitive): `.csv`, `.json`, `.md`, `.xlsx`;
    /// None for anything else.
    pub fn of_path(path: &Path) -> Option<OutFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => OutFormat::Csv,
            "json" => OutFormat::Json,
            "md" => OutFormat::Markdown,
            "xlsx" => OutFormat::Xlsx,
            _ => return None,
        })
    }
}

/// The preview as a text table.
pub fn to_text(r: &QuoteReport) -> String {
    // Each currency's amounts with one number of decimals, table and totals alike.
    let mut scales = Scales::default();
    for l in &r.lines {
        scales.add_written(&l.currency, l.amount);
        for a in [l.fees, l.merchant_debit, l.recipients_receive] {
            scales.add(&l.currency, a);
        }
    }
    let show = |c: &str, a: Decimal| scales.show(c, a);
    let mut s = String::new();
    // Nothing to price (a resume with only orders in doubt to resolve): no empty table.
    if !r.lines.is_empty() {
        s.push_str(&format!(
            "{:<8} {:<10} {:>6} {:>20} {:>16} {:>20} {:>20}\n",
            "currency", "network", "rows", "amount", "fees", "merchant debit", "recipients get"
        ));
    }
    for l in &r.lines {
        s.push_str(&format!(
            "{:<8} {:<10} {:>6} {:>20} {:>16} {:>20} {:>20}{}\n",
            l.currency,
            l.network,
            l.rows,
            show(&l.currency, l.amount),
            format!(
                "{}{}",
                if l.estimate { "~" } else { "" },
                show(&l.currency, l.fees)
            ),
            show(&l.currency, l.merchant_debit),
            show(&l.currency, l.recipients_receive),
            if l.unpriced_rows > 0 {
                format!("  ({} rows unpriced)", l.unpriced_rows)
            } else {
                String::new()
            }
        ));
    }
    for g in &r.grand_totals {
        // A total over an estimated fee is an estimate too.
        let estimate = r
            .lines
            .iter()
            .any(|l| l.estimate && l.currency == g.currency);
        s.push_str(&format!(
            "{:<8} {:<10} {:>6} {:>20} {:>16} {:>20} {:>20}\n",
            g.currency,
            "TOTAL",
            g.rows,
            show(&g.currency, g.amount),
            format!(
                "{}{}",
                if estimate { "~" } else { "" },
                show(&g.currency, g.fees)
            ),
            show(&g.currency, g.merchant_debit),
            show(&g.currency, g.recipients_receive)
        ));
    }
    if !r.fee_options.is_empty() {
        let f: Vec<String> = r
            .fee_options
            .iter()
            .map(|(k, n)| format!("{k} ({n} rows)"))
            .collect();
        s.push_str(&format!("fee option: {}\n", f.join(", ")));
    }
    for (c, b) in &r.balances {
        s.push_str(&format!("balance: {b} {c}\n"));
    }
    for n in &r.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    for w in &r.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    if !r.unpriced.is_empty() {
        s.push_str(&format!(
            "{} row(s) the fee calculator refused, left out of every total above:\n",
            r.unpriced.len()
        ));
        for u in &r.unpriced {
            s.push_str(&format!(
                "  line {}: {} {} on {}: {}\n",
                u.line, u.amount, u.currency, u.network, u.reason
            ));
        }
    }
    if let Some(v) = &r.variance {
        s.push_str(&crate::variance::to_text(v));
    }
    s
}

/// The preview as a markdown document (the dry-run cost report finance files).
pub fn to_markdown(r: &QuoteReport, sheet: &str) -> String {
    let mut s = format!(
        "# Payout cost preview\n\nSheet: `{sheet}`  \nGateway: {}  \n\n",
        r.gateway
    );
    s.push_str("| currency | network | rows | amount | fees | merchant debit | recipients receive |\n|---|---|---:|---:|---:|---:|---:|\n");
    for l in &r.lines {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {}{} | {} | {} |\n",
            l.currency,
            l.network,
            l.rows,
            l.amount,
            if l.estimate { "~" } else { "" },
            l.fees,
            l.merchant_debit,
            l.recipients_receive
        ));
    }
    for g in &r.grand_totals {
        s.push_str(&format!(
            "| **{}** | **total** | {} | {} | {} | {} | {} |\n",
            g.currency, g.rows, g.amount, g.fees, g.merchant_debit, g.recipients_receive
        ));
    }
    for n in &r.notes {
        s.push_str(&format!("\nNote: {n}\n"));
    }
    for w in &r.warnings {
        s.push_str(&format!("\n**Warning:** {w}\n"));
    }
    if !r.unpriced.is_empty() {
        s.push_str("\n## Rows the fee calculator refused (not in the totals)\n\n| line | amount | currency | network | reason |\n|---:|---:|---|---|---|\n");
        for u in &r.unpriced {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                u.line,
                u.amount,
                u.currency,
                u.network,
                u.reason.replace('|', "\\|")
            ));
        }
    }
    if let Some(v) = &r.variance {
        s.push_str(&format!(
            "\n## Variance\n\n```\n{}```\n",
            crate::variance::to_text(v)
        ));
    }
    s
}

fn to_csv(r: &QuoteReport) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let extra = ["fees_are_estimate", "unpriced_rows"];
    w.write_record(QuoteLine::COLUMNS.iter().chain(&extra))?;
    for l in &r.lines {
        let mut cells = l.cells();
        cells.extend([l.estimate.to_string(), l.unpriced_rows.to_string()]);
        w.write_record(&cells)?;
    }
    for g in &r.grand_totals {
        let mut cells = g.cells();
        cells.extend([String::new(), String::new()]);
        w.write_record(&cells)?;
    }
    Ok(w.into_inner()?)
}

/// Writes the preview to `path` as `format`, atomically (a file `payrun` writes is 0600).
pub fn write_out(
    path: &Path,
    format: OutFormat,
    r: &QuoteReport,
    sheet: &str,
) -> anyhow::Result<()> {
    let bytes = match format {
        OutFormat::Csv => to_csv(r)?,
        OutFormat::Json => serde_json::to_vec_pretty(r)?,
        OutFormat::Markdown => to_markdown(r, sheet).into_bytes(),
        OutFormat::Xlsx => crate::quote::xlsx::render(r)?,
    };
    crate::ledger::atomic::write_replace(path, &bytes)?;
    Ok(())
}
