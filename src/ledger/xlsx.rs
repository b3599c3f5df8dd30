//! The XLSX results ledger (rust_xlsxwriter): one worksheet `Results`, the header row bold and
//! frozen, an autofilter over the whole table, column widths fitted to the content (within
//! bounds). Every original cell is written with `write_string`, so a cell like `=HYPERLINK(..)`
//! is stored as a string cell that Excel shows as text and never evaluates: no `'` prefix is
//! needed (or added) here.
//!
//! Amounts (the sheet's amount column on a valid row, merchant amount, network amount, fee)
//! are number cells when the decimal round-trips exactly through a double and Excel shows it
//! back unchanged (at most 15 significant digits), with a number format of the amount's own
//! decimals (`1250.00` stays `1250.00`), so finance can add them up; any other amount
//! (`123456789012345.123456789`, most 18-decimal token amounts) is a right-aligned text cell
//! with the `@` format, exactly as computed (docs/design.md, "Results ledger").

use rust_decimal::Decimal;
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

/// The double an amount is, when a number cell holds it exactly: the nearest double's
/// shortest decimal form is the same number, and it has at most 15 significant digits (what
/// Excel shows). `None`: the amount must be a text cell.
pub fn exact_double(d: Decimal) -> Option<f64> {
    let f: f64 = d.to_string().parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let back: Decimal = format!("{f}").parse().ok()?;
    let digits = d.normalize().mantissa().unsigned_abs().to_string().len();
    (back == d && digits <= 15).then_some(f)
}

/// Number formats by number of decimals (`0`, `0.0`, `0.00`, …), made once each.
#[derive(Default)]
pub struct AmountFormats(Vec<Option<Format>>);

impl AmountFormats {
    /// The format showing `decimals` places.
    pub fn of(&mut self, decimals: u32) -> &Format {
        let i = decimals as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        self.0[i].get_or_insert_with(|| {
            let pattern = if decimals == 0 {
                "0".to_string()
            } else {
                format!("0.{}", "0".repeat(i))
            };
            Format::new().set_num_format(pattern)
        })
    }
}

/// Writes an amount: a number cell when [`exact_double`] allows, else `text_format` text.
pub fn write_amount(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    d: Decimal,
    formats: &mut AmountFormats,
    text_format: &Format,
) -> Result<(), XlsxError> {
    match exact_double(d) {
        Some(f) => {
            sheet.write_number_with_format(row, col, f, formats.of(d.scale()))?;
        }
        None => {
            sheet.write_string_with_format(row, col, d.to_string(), text_format)?;
        }
    }
    Ok(())
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

    let mut formats = AmountFormats::default();
    let originals = original_headers(ledger);
    let width = original_width(ledger);
    // The sheet's amount column: a number cell on a row whose amount parsed as written.
    let amount_column = originals
        .iter()
        .position(|h| crate::sheet::Field::from_header(h) == Some(crate::sheet::Field::Amount));
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
            match cell.parse::<Decimal>() {
                Ok(d) if Some(c) == amount_column && row.amount == Some(d) => {
                    write_amount(sheet, xr, col_index(c)?, d, &mut formats, &amount_format)
                }
                _ => sheet.write_string(xr, col_index(c)?, cell).map(|_| ()),
            }
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
                    widths[c] = widths[c].max(d.to_string().len());
                    write_amount(sheet, xr, col_index(c)?, d, &mut formats, &amount_format)
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

#[cfg(test)]
mod exact_tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_number_cell_only_where_a_double_holds_the_amount_exactly() {
        assert_eq!(exact_double(d("1250.00")), Some(1250.0));
        assert_eq!(exact_double(d("0.1")), Some(0.1));
        assert_eq!(exact_double(d("-0.5")), Some(-0.5));
        assert_eq!(exact_double(d("0.000000000000000001")), Some(1e-18));
        assert_eq!(
            exact_double(d("999999999999999")),
            Some(999_999_999_999_999.0)
        );
        // More digits than Excel shows, or than a double holds.
        assert_eq!(exact_double(d("1234567890.123456")), None);
        assert_eq!(exact_double(d("123456789012345.123456789")), None);
        assert_eq!(exact_double(d("1.123456789012345678")), None);
        assert_eq!(exact_double(d("9999999999999999")), None);
    }
}
