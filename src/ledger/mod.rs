//! The results ledger (docs/design.md, "Results ledger"): the types a finished or resumed run is shown
//! as — one `LedgerRow` per sheet row, the sheet's own columns first — and the entry point that
//! writes it in the format a file's extension asks for. The book is the source of truth; a
//! `Ledger` is a view of it built by the caller. Each format lives in its own file:
//! `csv`, `xlsx`, `json`, and `summary` (the run summary as markdown, text or JSON);
//! `neutralise` holds the spreadsheet-formula defence and `atomic` the crash-safe file writes.

pub mod atomic;
pub mod csv;
pub mod json;
pub mod neutralise;
pub mod scale;
pub mod summary;
pub mod xlsx;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::{GatewayId, GatewayKind, OrderId, Status};

/// The whole results view of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    /// The sheet's original header texts, exactly as written (duplicates and blanks included).
    pub columns: Vec<String>,
    /// One entry per sheet row, in sheet order.
    pub rows: Vec<LedgerRow>,
    pub run: RunInfo,
}

/// Which run a ledger belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub gateway: GatewayKind,
    /// The sheet's file name (or path) as the user gave it.
    pub sheet: String,
    /// When this view was produced (RFC 3339).
    pub generated_at: String,
    /// Who approved the plan the run paid (docs/book.md, "Approvals"), when one was required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

/// One sheet row and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRow {
    /// The sheet line the user sees (header is line 1).
    pub line: u64,
    /// The original cells, in the order of `Ledger::columns`.
    pub cells: Vec<String>,
    pub order_id: Option<OrderId>,
    pub status: Status,
    /// The gateway's own word for the status (`SUCCESS`, `aml_risk`...).
    pub gateway_status: Option<String>,
    pub gateway_id: Option<GatewayId>,
    pub txid: Option<String>,
    /// What the merchant was debited.
    pub merchant_amount: Option<Decimal>,
    /// What the recipient receives on chain.
    pub network_amount: Option<Decimal>,
    /// The fee the gateway charged.
    pub fee: Option<Decimal>,
    /// Why the row is invalid or failed (`aml_risk`, a refusal's code and message...).
    pub error: Option<String>,
    pub updated_at: Option<String>,
    // Not written as columns; used by the summary.
    pub currency: Option<String>,
    pub network: Option<String>,
    /// The amount as written in the sheet, when it parsed.
    pub amount: Option<Decimal>,
    /// The fee quoted before the run (None where the gateway gives no quote, e.g. BlockATM).
    pub quoted_fee: Option<Decimal>,
    /// An earlier order of the run that no line of the sheet asks for any more (its row was
    /// edited or corrected since, or removed): shown after the sheet's lines. Refused
    /// (failed, cancelled), it is history, not an outcome of the run
    /// ([`LedgerRow::decides_outcome`]).
    pub earlier: bool,
}

/// The columns payrun appends after the sheet's own, in this order.
pub const RESULT_COLUMNS: [&str; 10] = [
    "order_id",
    "status",
    "gateway_status",
    "gateway_id",
    "txid",
    "merchant_amount",
    "network_amount",
    "fee",
    "error",
    "updated_at",
];

/// The prefix a result column gets when the sheet already has a column of that name.
pub const CLASH_PREFIX: &str = "payrun_";

/// Why a ledger could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "cannot write {path}: unsupported extension {ext:?}; use .csv, .xlsx, .json or .md (the run summary)"
    )]
    UnsupportedExtension { path: PathBuf, ext: String },
    #[error("{path} already exists; refusing to overwrite it")]
    Exists { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the CSV ledger: {0}")]
    Csv(String),
    #[error("cannot write the XLSX ledger ({context}): {message}")]
    Xlsx { context: String, message: String },
    #[error("cannot write the JSON ledger: {0}")]
    Json(String),
    #[error("summary: the {what} of {group} is too large to add up exactly")]
    Overflow { what: String, group: String },
}

/// The output formats, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
    /// `.md`: the run summary for finance, not the row-by-row ledger.
    SummaryMarkdown,
}

impl Format {
    /// The format for `path`'s extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Format, LedgerError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            "json" => Ok(Format::Json),
            "md" => Ok(Format::SummaryMarkdown),
            _ => Err(LedgerError::UnsupportedExtension {
                path: path.to_path_buf(),
                ext: if ext.is_empty() {
                    "(none)".into()
                } else {
                    format!(".{ext}")
                },
            }),
        }
    }
}

/// The file's bytes in `format`.
pub fn render(format: Format, ledger: &Ledger) -> Result<Vec<u8>, LedgerError> {
    match format {
        Format::Csv => csv::render(ledger),
        Format::Xlsx => xlsx::render(ledger),
        Format::Json => json::render(ledger),
        Format::SummaryMarkdown => {
            let s = summary::Summary::from_ledger(ledger)?;
            Ok(summary::to_markdown(&s).into_bytes())
        }
    }
}

/// Writes the ledger to `path` in the format its extension names (`.csv`, `.xlsx`, `.json`, or
/// `.md` for the run summary), atomically: an existing file is replaced whole or not at all.
pub fn write(path: &Path, ledger: &Ledger) -> Result<(), LedgerError> {
    let format = Format::from_path(path)?;
    let bytes = render(format, ledger)?;
    atomic::write_replace(path, &bytes)
}

/// How many original columns are written: the header's width, or wider when a row has more
/// cells than the header (a ragged CSV); no cell is ever dropped.
pub fn original_width(ledger: &Ledger) -> usize {
    ledger
        .rows
        .iter()
        .map(|r| r.cells.len())
        .max()
        .unwrap_or(0)
        .max(ledger.columns.len())
}

/// The original headers, padded to `original_width` with `column_N` (1-based position) for
/// cells that had no header.
pub fn original_headers(ledger: &Ledger) -> Vec<String> {
    let width = original_width(ledger);
    (0..width)
        .map(|i| {
            ledger
                .columns
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("column_{}", i + 1))
        })
        .collect()
}

/// The headers of payrun's result columns for a sheet with `originals` as headers. A result
/// column whose name the sheet already uses (compared case-insensitively, surrounding spaces
/// ignored) is written as `payrun_<name>` (repeated until free): the sheet's own columns keep
/// their names, because they are the user's data and an explicit `order_id` column is an input
/// the next run reads back.
pub fn result_headers(originals: &[String]) -> Vec<String> {
    let taken: HashSet<String> = originals.iter().map(|h| h.trim().to_lowercase()).collect();
    RESULT_COLUMNS
        .iter()
        .map(|name| {
            let mut candidate = (*name).to_string();
            while taken.contains(&candidate) {
                candidate = format!("{CLASH_PREFIX}{candidate}");
            }
            candidate
        })
        .collect()
}

/// One result cell, typed so each writer can treat text and amounts differently.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultCell<'a> {
    /// Text from the sheet, the gateway or payrun (neutralised in CSV).
    Text(&'a str),
    /// A decimal amount payrun computed or parsed; written exactly, never as a float.
    Amount(Decimal),
    Empty,
}

impl LedgerRow {
    /// A row with its line, original cells and status, every other field empty.
    pub fn new(line: u64, cells: Vec<String>, status: Status) -> LedgerRow {
        LedgerRow {
            line,
            cells,
            order_id: None,
            status,
            gateway_status: None,
            gateway_id: None,
            txid: None,
            merchant_amount: None,
            network_amount: None,
            fee: None,
            error: None,
            updated_at: None,
            currency: None,
            network: None,
            amount: None,
            quoted_fee: None,
            earlier: false,
        }
    }

    /// Whether the row counts toward the run's outcome (its exit code and its count line):
    /// every sheet line does, and an earlier order does unless the gateway refused it — a
    /// refused order whose row was corrected (`--retry-failed`) or removed is history, while
    /// an earlier order paid, pending or in doubt is money that moved or may have.
    pub fn decides_outcome(&self) -> bool {
        !(self.earlier && matches!(self.status, Status::Failed | Status::Cancelled))
    }

    /// The original cell at `i`, empty past the row's end.
    pub fn cell(&self, i: usize) -> &str {
        self.cells.get(i).map(String::as_str).unwrap_or("")
    }

    /// The result cells in `RESULT_COLUMNS` order.
    pub fn result_cells(&self) -> [ResultCell<'_>; 10] {
        fn text(v: Option<&str>) -> ResultCell<'_> {
            v.map(ResultCell::Text).unwrap_or(ResultCell::Empty)
        }
        fn amount(v: Option<Decimal>) -> ResultCell<'static> {
            v.map(ResultCell::Amount).unwrap_or(ResultCell::Empty)
        }
        [
            text(self.order_id.as_ref().map(|o| o.0.as_str())),
            ResultCell::Text(self.status.as_str()),
            text(self.gateway_status.as_deref()),
            text(self.gateway_id.as_ref().map(|g| g.0.as_str())),
            text(self.txid.as_deref()),
            amount(self.merchant_amount),
            amount(self.network_amount),
            amount(self.fee),
            text(self.error.as_deref()),
            text(self.updated_at.as_deref()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn result_headers_without_clash_are_the_documented_names() {
        let h = result_headers(&names(&["to_address", "amount", "name"]));
        assert_eq!(h, RESULT_COLUMNS.map(String::from).to_vec());
    }

    #[test]
    fn clashing_result_headers_are_prefixed_case_insensitively() {
        let h = result_headers(&names(&[" Order_ID ", "STATUS", "payrun_status", "fee"]));
        assert_eq!(h[0], "payrun_order_id");
        assert_eq!(h[1], "payrun_payrun_status");
        assert_eq!(h[7], "payrun_fee");
        assert_eq!(h[2], "gateway_status");
        let all: HashSet<_> = h.iter().collect();
        assert_eq!(all.len(), h.len());
    }

    #[test]
    fn extension_picks_the_format_and_others_are_refused() {
        assert_eq!(Format::from_path(Path::new("a.CSV")).unwrap(), Format::Csv);
        assert_eq!(
            Format::from_path(Path::new("a.xlsx")).unwrap(),
            Format::Xlsx
        );
        assert_eq!(
            Format::from_path(Path::new("a.json")).unwrap(),
            Format::Json
        );
        assert_eq!(
            Format::from_path(Path::new("s.md")).unwrap(),
            Format::SummaryMarkdown
        );
        let err = Format::from_path(Path::new("a.xls"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(".xls") && err.contains(".csv, .xlsx, .json or .md"),
            "{err}"
        );
        let err = Format::from_path(Path::new("noext"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("(none)"), "{err}");
    }

    #[test]
    fn ragged_rows_widen_the_header() {
        let ledger = Ledger {
            columns: names(&["a"]),
            rows: vec![LedgerRow::new(2, names(&["1", "2", "3"]), Status::NotSent)],
            run: RunInfo {
                run_id: "r".into(),
                gateway: GatewayKind::G2328,
                sheet: "s.csv".into(),
                generated_at: "t".into(),
                approved_by: None,
            },
        };
        assert_eq!(
            original_headers(&ledger),
            names(&["a", "column_2", "column_3"])
        );
    }
}
