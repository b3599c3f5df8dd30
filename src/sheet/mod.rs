//! Sheet reading: turns a CSV or XLSX payout sheet into batches of raw rows, each with the line
//! number the user sees in a spreadsheet (the header is line 1). This module owns the header
//! mapping (the payout fields and their aliases, docs/design.md, "The sheet"), the whole-file error type
//! and the dispatch by file type; `csv.rs` and `xlsx.rs` are the two readers, `batch.rs` the
//! compact row storage they fill, `cellnum.rs` the float → decimal text conversion.

pub mod batch;
pub mod cellnum;
pub mod csv;
pub mod layout;
pub mod xlsx;

use std::path::Path;

pub use batch::{Batch, CellKind, Oversize, RowNote, RowView, RowsText};

/// A cell larger than this is a row error (`cell_too_large`), never an out-of-memory.
pub const MAX_CELL_BYTES: usize = 1024 * 1024;
/// A record larger than this (all cells together) is a row error (`row_too_large`).
pub const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;
/// A record with more cells than this is a row error (`row_too_large`).
pub const MAX_FIELDS: usize = 16_384;

/// The payout fields a sheet column can map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Address,
    Amount,
    Currency,
    Network,
    Memo,
    OrderId,
    FeeOption,
    FromCurrency,
    Remark,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Address,
        Field::Amount,
        Field::Currency,
        Field::Network,
        Field::Memo,
        Field::OrderId,
        Field::FeeOption,
        Field::FromCurrency,
        Field::Remark,
    ];

    /// The field's canonical name (used in messages when the sheet has no such column).
    pub fn name(self) -> &'static str {
        self.aliases()[0]
    }

    /// The header names accepted for the field, canonical first (docs/design.md, "The sheet").
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Address => &["address", "to_address", "recipient", "wallet"],
            Field::Amount => &["amount"],
            Field::Currency => &["currency", "symbol", "token"],
            Field::Network => &["network", "chain"],
            Field::Memo => &["memo", "tag", "destination_tag"],
            Field::OrderId => &["order_id", "orderno"],
            Field::FeeOption => &["fee_option"],
            Field::FromCurrency => &["from_currency"],
            Field::Remark => &["remark", "note", "description"],
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The field a header text names, if any, matched as [`header_key`] says.
    pub fn from_header(text: &str) -> Option<Field> {
        let norm = header_key(text);
        Field::ALL
            .into_iter()
            .find(|f| f.aliases().iter().any(|a| *a == norm))
    }
}

/// The form every header text is matched in (payout fields, the recipient key column,
/// `--key`): trimmed, ASCII lower case, spaces and hyphens as underscores (`Order ID`,
/// `destination-tag`, `Employee ID` → `order_id`, `destination_tag`, `employee_id`).
pub fn header_key(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The sheet's header: every original column name, and which column holds which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The header texts exactly as written (passthrough columns included).
    pub names: Vec<String>,
    index: [Option<usize>; 9],
}

impl Columns {
    /// Maps a header row. Two columns naming the same field are an error.
    pub fn from_header(names: Vec<String>) -> Result<Columns, SheetError> {
        let mut index: [Option<usize>; 9] = [None; 9];
        for (i, name) in names.iter().enumerate() {
            if let Some(f) = Field::from_header(name) {
                if let Some(first) = index[f.index()] {
                    return Err(SheetError::DuplicateColumn {
                        field: f.name(),
                        first: names[first].clone(),
                        second: name.clone(),
                    });
                }
                index[f.index()] = Some(i);
            }
        }
        Ok(Columns { names, index })
    }

    /// The column index holding `field`, if the sheet has one.
    pub fn get(&self, field: Field) -> Option<usize> {
        self.index[field.index()]
    }

    /// How problems name the field's column: the header as written, else the canonical name.
    pub fn label(&self, field: Field) -> &str {
        match self.get(field) {
            Some(i) => self.names[i].trim(),
            None => field.name(),
        }
    }

    /// A `MissingColumn` error for `field` unless the sheet has it.
    pub fn require(&self, field: Field, alternative: &str) -> Result<(), SheetError> {
        if self.get(field).is_some() {
            return Ok(());
        }
        Err(SheetError::MissingColumn {
            field: field.name(),
            accepted: field.aliases().join(", "),
            alternative: alternative.to_string(),
        })
    }
}

/// A problem with the whole file (exit code 2); row problems go into the validation report.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("{path} is {what}; the sheet must be a .csv or .xlsx file")]
    NotAFile { path: String, what: &'static str },
    #[error("unsupported file type '{0}': payrun reads .csv and .xlsx sheets")]
    UnsupportedType(String),
    #[error("line {line}: the text is not UTF-8{detail}; save the sheet as \"CSV UTF-8\"")]
    NotUtf8 { line: u64, detail: String },
    #[error(
        "line {line}: a quote (\") opened in this row is never closed, so every line from here \
         to the end of the file would be read as one cell; close the quote, or remove it"
    )]
    UnclosedQuote { line: u64 },
    #[error("the sheet is empty: the first line must be the header")]
    Empty,
    #[error("the sheet has a header but no data rows")]
    NoDataRows,
    #[error("missing column '{field}': the header must name one of: {accepted}{alternative}")]
    MissingColumn {
        field: &'static str,
        accepted: String,
        alternative: String,
    },
    #[error("columns '{first}' and '{second}' both mean '{field}'; keep only one")]
    DuplicateColumn {
        field: &'static str,
        first: String,
        second: String,
    },
    #[error("line 1: the header is larger than {} bytes", MAX_RECORD_BYTES)]
    HeaderTooLarge,
    #[error("no worksheet named '{name}'; the workbook has: {available}")]
    UnknownWorksheet { name: String, available: String },
    #[error("the workbook has no worksheet")]
    NoWorksheet,
    #[error("every worksheet is hidden ({available}); name the one to read with --sheet NAME")]
    NoVisibleWorksheet { available: String },
    #[error(
        "worksheet '{worksheet}': payout column {column} '{name}' is hidden; unhide it and check \
         its values, or pass --include-hidden"
    )]
    HiddenColumn {
        worksheet: String,
        column: String,
        name: String,
    },
    #[error("cannot read the workbook: {0}")]
    Workbook(String),
    #[error("{0}")]
    Options(String),
    #[error(
        "line {line} has an amount with a decimal comma, and more than {pending} earlier rows \
         have dot-grouped amounts (like 1.500) that this makes ambiguous; pass \
         --decimal-separator , or --decimal-separator ."
    )]
    AmbiguousSeparators { line: u64, pending: usize },
}

/// Where rows come from: a reader that hands out batches of rows after the header.
pub trait BatchSource: Send {
    /// The header.
    fn columns(&self) -> &Columns;
    /// XLSX: the worksheet read.
    fn worksheet(&self) -> Option<&str> {
        None
    }
    /// CSV: the delimiter detected from the header.
    fn delimiter(&self) -> Option<u8> {
        None
    }
    /// The next batch, or `None` at the end of the sheet. An empty batch never comes back.
    fn next_batch(&mut self) -> Result<Option<Batch>, SheetError>;
    /// Hands back a batch that was read and checked, so a later `next_batch` may refill its
    /// buffers instead of allocating new ones. Sources that cannot use it drop it.
    fn recycle(&mut self, batch: Batch) {
        drop(batch);
    }
}

/// The sheet's file type, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetKind {
    Csv,
    Xlsx,
}

impl SheetKind {
    pub fn of(path: &Path) -> Result<SheetKind, SheetError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Ok(SheetKind::Csv),
            "xlsx" | "xlsm" => Ok(SheetKind::Xlsx),
            other => Err(SheetError::UnsupportedType(other.to_string())),
        }
    }
}

/// Opens a sheet (CSV or XLSX by extension) and reads its header. `sheet_name` picks an XLSX
/// worksheet (the first visible one by default); it is refused for CSV files. `include_hidden`
/// reads hidden XLSX rows and payout columns as if they were shown.
pub fn open(
    path: &Path,
    sheet_name: Option<&str>,
    include_hidden: bool,
    batch_rows: usize,
) -> Result<Box<dyn BatchSource>, SheetError> {
    check_regular_file(path)?;
    match SheetKind::of(path)? {
        SheetKind::Csv => {
            if sheet_name.is_some() {
                return Err(SheetError::Options(
                    "--sheet picks a worksheet of an .xlsx file; a CSV file has none".into(),
                ));
            }
            let file = std::fs::File::open(path)?;
            Ok(Box::new(csv::CsvSource::new(file, batch_rows)?))
        }
        SheetKind::Xlsx => Ok(Box::new(xlsx::XlsxSource::open(
            path,
            sheet_name,
            include_hidden,
            batch_rows,
        )?)),
    }
}

/// A sheet must be a regular file: a directory, FIFO or device is refused by name before
/// anything reads from it (a FIFO would block, and could not be read twice).
pub fn check_regular_file(path: &Path) -> Result<(), SheetError> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Err(SheetError::NotAFile {
        path: path.display().to_string(),
        what,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_match_case_insensitively_after_trimming() {
        assert_eq!(Field::from_header(" To_Address "), Some(Field::Address));
        assert_eq!(Field::from_header("WALLET"), Some(Field::Address));
        assert_eq!(Field::from_header("Destination Tag"), Some(Field::Memo));
        assert_eq!(Field::from_header("orderNo"), Some(Field::OrderId));
        assert_eq!(Field::from_header("Order ID"), Some(Field::OrderId));
        assert_eq!(Field::from_header("chain"), Some(Field::Network));
        assert_eq!(Field::from_header("token"), Some(Field::Currency));
        assert_eq!(Field::from_header("Description"), Some(Field::Remark));
        assert_eq!(Field::from_header("employee_id"), None);
        assert_eq!(Field::from_header("amounts"), None);
    }

    #[test]
    fn columns_map_fields_and_keep_passthrough_names() {
        let c = Columns::from_header(vec![
            "Name".into(),
            "Wallet".into(),
            "Amount".into(),
            "email".into(),
        ])
        .unwrap();
        assert_eq!(c.get(Field::Address), Some(1));
        assert_eq!(c.get(Field::Amount), Some(2));
        assert_eq!(c.get(Field::Currency), None);
        assert_eq!(c.label(Field::Address), "Wallet");
        assert_eq!(c.label(Field::Currency), "currency");
        let err = c.require(Field::Currency, "").unwrap_err().to_string();
        assert!(
            err.contains("'currency'") && err.contains("symbol, token"),
            "{err}"
        );
    }

    #[test]
    fn two_columns_for_one_field_are_refused() {
        let err = Columns::from_header(vec!["address".into(), "wallet".into()]).unwrap_err();
        assert!(matches!(
            err,
            SheetError::DuplicateColumn {
                field: "address",
                ..
            }
        ));
    }
}
