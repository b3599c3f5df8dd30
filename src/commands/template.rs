//! `payrun template --out FILE.csv|.xlsx`: writes an empty payout sheet with the documented
//! headers (docs/design.md, "The sheet") and one example row, never over an existing file. In the XLSX
//! template every column is text-formatted, so amounts typed into it stay exact decimals
//! (not floats) and ids keep their leading zeros.

use std::path::Path;

use rust_xlsxwriter::{Format, FormatBorder, Workbook, XlsxError};

use crate::cli::TemplateArgs;
use crate::exit::{Exit, ExitCode};
use crate::ledger::{atomic, LedgerError};

/// The template's headers, in order.
pub const HEADERS: [&str; 10] = [
    "to_address",
    "amount",
    "currency",
    "network",
    "memo",
    "order_id",
    "fee_option",
    "remark",
    "name",
    "email",
];

/// The example row (a valid TRON address; memo and order_id left empty: no memo on TRON, and
/// order ids are derived unless the sheet gives its own). Marked as an example so nobody pays
/// it by accident.
pub const EXAMPLE_ROW: [&str; 10] = [
    "T9yD14UmQyKLWP5Jb1VvxodobHseGvKQZi",
    "10.50",
    "USDT",
    "TRX-TRC20",
    "",
    "",
    "deduct",
    crate::validate::row::EXAMPLE_REMARK,
    "Jane Example",
    "jane@example.com",
];

/// The CSV template.
pub fn render_csv() -> Result<Vec<u8>, LedgerError> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let err = |e: ::csv::Error| LedgerError::Csv(e.to_string());
    w.write_record(HEADERS).map_err(err)?;
    w.write_record(EXAMPLE_ROW).map_err(err)?;
    w.into_inner().map_err(|e| LedgerError::Csv(e.to_string()))
}

/// The XLSX template: header bold and frozen, every column text-formatted.
pub fn render_xlsx() -> Result<Vec<u8>, LedgerError> {
    fn build() -> Result<Vec<u8>, XlsxError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("Payouts")?;
        let bold = Format::new()
            .set_bold()
            .set_border_bottom(FormatBorder::Thin);
        let text = Format::new().set_num_format("@");
        for (c, (h, v)) in (0u16..).zip(HEADERS.iter().zip(EXAMPLE_ROW)) {
            sheet.set_column_format(c, &text)?;
            let width = h.len().max(v.len()).clamp(10, 40) + 2;
            sheet.set_column_width(c, width as f64)?;
            sheet.write_string_with_format(0, c, *h, &bold)?;
            if !v.is_empty() {
                sheet.write_string_with_format(1, c, v, &text)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        workbook.save_to_buffer()
    }
    build().map_err(|e| LedgerError::Xlsx {
        context: "template".into(),
        message: e.to_string(),
    })
}

/// Writes the template to `path` (.csv or .xlsx), refusing to overwrite.
pub fn write_template(path: &Path) -> Result<(), Exit> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let bytes = match ext.as_str() {
        "csv" => render_csv(),
        "xlsx" => render_xlsx(),
        _ => {
            return Err(Exit::usage(format!(
                "{}: a template is a .csv or .xlsx file",
                path.display()
            )))
        }
    }
    .map_err(|e| Exit::usage(e.to_string()))?;
    atomic::write_new(path, &bytes).map_err(|e| match e {
        LedgerError::Exists { path } => Exit::usage(format!(
            "{} already exists; refusing to overwrite it (choose another --out or remove it)",
            path.display()
        )),
        other => Exit::usage(other.to_string()),
    })
}

/// `payrun template`.
pub fn execute(args: &TemplateArgs) -> anyhow::Result<ExitCode> {
    write_template(&args.out)?;
    crate::outln!(
        "wrote {}: one row per payout; replace the example row",
        args.out.display()
    );
    Ok(ExitCode::Success)
}
