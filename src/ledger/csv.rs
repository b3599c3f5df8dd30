//! The CSV results ledger: UTF-8 (no BOM), comma-separated, RFC 4180 quoting, `\n` line ends.
//! One line per sheet row: the sheet's own columns first, then the result columns
//! (`ledger::result_headers`, prefixed `payrun_` where the sheet already uses a name). Every
//! text cell is formula-neutralised (`ledger::neutralise`), headers included; amounts are
//! written as exact decimals.

use std::borrow::Cow;

use super::neutralise::neutralise;
use super::{original_headers, original_width, result_headers, Ledger, LedgerError, ResultCell};

fn csv_err(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Csv(e.to_string())
}

/// The ledger as CSV bytes.
pub fn render(ledger: &Ledger) -> Result<Vec<u8>, LedgerError> {
    let originals = original_headers(ledger);
    let width = original_width(ledger);
    let mut w = ::csv::WriterBuilder::new().from_writer(Vec::new());
    let header: Vec<Cow<'_, str>> = originals
        .iter()
        .map(|h| neutralise(h))
        .chain(result_headers(&originals).into_iter().map(Cow::Owned))
        .collect();
    w.write_record(header.iter().map(|h| h.as_bytes()))
        .map_err(csv_err)?;
    for row in &ledger.rows {
        let mut record: Vec<Cow<'_, str>> = (0..width).map(|i| neutralise(row.cell(i))).collect();
        record.extend(row.result_cells().into_iter().map(|c| match c {
            ResultCell::Text(t) => neutralise(t),
            ResultCell::Amount(d) => Cow::Owned(d.to_string()),
            ResultCell::Empty => Cow::Borrowed(""),
        }));
        w.write_record(record.iter().map(|c| c.as_bytes()))
            .map_err(|e| LedgerError::Csv(format!("sheet line {}: {e}", row.line)))?;
    }
    w.into_inner().map_err(csv_err)
}
