//! The XLSX results ledger (rust_xlsxwriter): one worksheet `Results`, the header row bold and
//! frozen, an autofilter over the whole table, column widths fitted to the content (within
//! bounds). Every original cell is written with `write_string`, so a cell like `=HYPERLINK(..)`
//! is stored as a string cell that Excel shows as text and never evaluates: no `'` prefix is
//! needed (or added) here. Amounts are written as TEXT cells too: an Excel number is an IEEE
//! f64 (about 15-17 significant digits), which would silently turn `123456789012345.123456789`
//! or an 18-decimal token amount into a different number; as text the exact decimal survives,
//! and the cell is right-aligned with the `@` (text) number format so it reads like a number.

use rust_xlsxwriter::{
    DocProperties, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

use super::{original_headers, original_width, result_headers, Ledger, LedgerError, ResultCell};

/// The narrowest and widest column, in Excel character units.
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 60;

/// The worksheet's name.
pub const SHEET_NAME: &str = "Results";

fn xerr(context: impl Into<String>) -> impl FnOnce(XlsxError) -> LedgerError {
    let context = context.into();
    move |e| LedgerError::Xlsx {
        context,
        message: e.to_string(),
    }
}

/// The display width of a cell: its longest line, in characters.
fn text_width(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn row_index(i: usize) -> Result<u32, LedgerError> {
    u32::try_from(i).map_err(|_| LedgerError::Xlsx {
        context: format!("row {i}"),
        message: "more rows than a worksheet holds".into(),
    })
}

fn col_index(i: usize) -> Result<u16, LedgerError> {
    u16::try_from(i).map_err(|_| LedgerError::Xlsx {
        context: format!("column {}", i + 1),
        message: "more columns than a worksheet holds".into(),
    })
}

/// The ledger as XLSX bytes.
pub fn render(ledger: &Ledger) -> Result<Vec<u8>, LedgerError> {
    let mut workbook = Workbook::new();
    workbook.set_properties(
        &DocProperties::new()
            .set_title(format!("payrun results: {}", ledger.run.run_id))
            .set_subject(format!(
                "{} via {}, generated {}",
                ledger.run.sheet, ledger.run.gateway, ledger.run.generated_at
            )),
    );
    let sheet = workbook.add_worksheet();
    fill(sheet, ledger)?;
    workbook.save_to_buffer().map_err(xerr("saving"))
}

fn fill(sheet: &mut Worksheet, ledger: &Ledger) -> Result<(), LedgerError> {
    sheet.set_name(SHEET_NAME).map_err(xerr("sheet name"))?;
    let header_format = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let amount_format = Format::new()
        .set_num_format("@")
        .set_align(FormatAlign::Right);

    let originals = original_headers(ledger);
    let width = original_width(ledger);
    let headers: Vec<String> = originals
        .iter()
        .cloned()
        .chain(result_headers(&originals))
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| text_width(h)).collect();
    for (c, h) in headers.iter().enumerate() {
        sheet
            .write_string_with_format(0, col_index(c)?, h, &header_format)
            .map_err(xerr(format!("header {}", c + 1)))?;
    }

    for (r, row) in ledger.rows.iter().enumerate() {
        let xr = row_index(r + 1)?;
        let at = |c: usize| format!("sheet line {}, column {}", row.line, c + 1);
        for (c, col_width) in widths.iter_mut().enumerate().take(width) {
            let cell = row.cell(c);
            if cell.is_empty() {
                continue;
            }
            *col_width = (*col_width).max(text_width(cell));
            sheet
                .write_string(xr, col_index(c)?, cell)
                .map_err(xerr(at(c)))?;
        }
        for (k, cell) in row.result_cells().into_iter().enumerate() {
            let c = width + k;
            match cell {
                ResultCell::Text(t) => {
                    widths[c] = widths[c].max(text_width(t));
                    sheet
                        .write_string(xr, col_index(c)?, t)
                        .map_err(xerr(at(c)))?;
                }
                ResultCell::Amount(d) => {
                    let t = d.to_string();
                    widths[c] = widths[c].max(t.len());
                    sheet
                        .write_string_with_format(xr, col_index(c)?, t, &amount_format)
                        .map_err(xerr(at(c)))?;
                }
                ResultCell::Empty => {}
            }
        }
    }

    for (c, w) in widths.iter().enumerate() {
        // +2 leaves room for the autofilter's drop-down button.
        let w = (w + 2).clamp(MIN_WIDTH, MAX_WIDTH);
        sheet
            .set_column_width(col_index(c)?, w as f64)
            .map_err(xerr("column width"))?;
    }
    let last_col = col_index(headers.len().saturating_sub(1))?;
    let last_row = row_index(ledger.rows.len())?;
    sheet.set_freeze_panes(1, 0).map_err(xerr("freeze"))?;
    sheet
        .autofilter(0, 0, last_row, last_col)
        .map_err(xerr("autofilter"))?;
    Ok(())
}
