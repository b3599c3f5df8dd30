//! Validation of sheet rows (docs/design.md, "Validation"): every rule, every row, every problem of a
//! row. This module owns the options, the two entry points — `validate_file` (streaming, for
//! `payrun validate`) and `load` (the whole sheet with its `Payout`s, for quote and run) — and
//! the row types they return. The rules live in `row.rs`, `amount.rs`, `memo.rs`,
//! `duplicates.rs`; `pipeline.rs` runs them in parallel; `report.rs` shapes the result.

pub mod address;
pub mod amount;
pub mod chars;
pub mod curve;
pub mod duplicates;
pub mod lookalike;
pub mod memo;
pub mod pipeline;
pub mod probe_table;
pub mod problem;
pub mod recipients;
pub mod report;
pub mod row;

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::model::{FeeOption, GatewayKind, Payout};
use crate::networks::{self, NetworkSpec};
use crate::sheet::{self, Columns, Field, SheetError};
pub use problem::Problem;
pub use report::{Report, Severity, Total};
use row::RowRules;

/// How a sheet is validated.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    pub gateway: GatewayKind,
    /// `--currency`: the currency of rows without one.
    pub currency: Option<String>,
    /// `--network`: the network of rows without one (2328).
    pub network: Option<String>,
    /// BlockATM: the contract's chain (`config.network`); every row pays on it.
    pub contract_network: Option<&'static NetworkSpec>,
    /// XLSX: the worksheet (default: the first visible one).
    pub sheet_name: Option<String>,
    /// XLSX: read hidden rows and hidden payout columns instead of refusing them.
    pub include_hidden: bool,
    /// `--decimal-separator`: the decimal mark of text amounts, when stated.
    pub decimal_separator: Option<amount::DecimalSeparator>,
    pub allow_duplicates: bool,
    /// Fee option of rows without one.
    pub default_fee_option: FeeOption,
}

impl ValidateOptions {
    /// Options for 2328 with no flags.
    pub fn new(gateway: GatewayKind) -> Self {
        ValidateOptions {
            gateway,
            currency: None,
            network: None,
            contract_network: None,
            sheet_name: None,
            include_hidden: false,
            decimal_separator: None,
            allow_duplicates: false,
            default_fee_option: FeeOption::Deduct,
        }
    }

    /// Checks the options as a whole (a currency the gateway does not pay out, an unknown
    /// network, a network the gateway does not serve…) before any sheet is read.
    pub fn check(&self) -> Result<(), SheetError> {
        self.rules(false).map(|_| ())
    }

    /// Resolves the flags into row rules.
    fn rules(&self, keep_rows: bool) -> Result<RowRules, SheetError> {
        let bad = |m: String| SheetError::Options(m);
        let currency = self
            .currency
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_ascii_uppercase);
        if let Some(c) = &currency {
            let known = networks::NETWORKS
                .iter()
                .any(|n| n.asset(self.gateway, c).is_some());
            if !known {
                return Err(bad(format!(
                    "--currency {c}: not a currency the {} gateway pays out",
                    self.gateway
                )));
            }
        }
        let network = match self.network.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(n) => Some(
                networks::lookup(n)
                    .ok_or_else(|| bad(format!("--network {n}: unknown network")))?,
            ),
        };
        if let Some(n) = network {
            if !n.served_by(self.gateway) {
                return Err(bad(format!(
                    "--network {}: the {} gateway does not pay out on it",
                    n.code, self.gateway
                )));
            }
        }
        let chain = match self.gateway {
            GatewayKind::G2328 => None,
            GatewayKind::BlockAtm => match (self.contract_network, network) {
                (Some(c), Some(n)) if !std::ptr::eq(c, n) => {
                    return Err(bad(format!(
                        "--network {} differs from the BlockATM contract's chain {}",
                        n.code, c.code
                    )))
                }
                (c, n) => c.or(n),
            },
        };
        Ok(RowRules {
            gateway: self.gateway,
            currency,
            network,
            chain,
            default_fee_option: self.default_fee_option,
            keep_rows,
            decimal_separator: self.decimal_separator,
        })
    }

    /// Opens the sheet these options name.
    fn open(&self, path: &Path) -> Result<Box<dyn sheet::BatchSource>, SheetError> {
        sheet::open(
            path,
            self.sheet_name.as_deref(),
            self.include_hidden,
            pipeline::BATCH_ROWS,
        )
    }

    /// Checks that the header has every column these options need.
    fn require_columns(&self, columns: &Columns, rules: &RowRules) -> Result<(), SheetError> {
        columns.require(Field::Address, "")?;
        columns.require(Field::Amount, "")?;
        if rules.currency.is_none() {
            columns.require(Field::Currency, " (or pass --currency)")?;
        }
        match self.gateway {
            GatewayKind::G2328 if rules.network.is_none() => {
                columns.require(Field::Network, " (or pass --network)")?
            }
            GatewayKind::BlockAtm if rules.chain.is_none() => columns.require(
                Field::Network,
                " (or set the contract's chain with PAYRUN_NETWORK or --network)",
            )?,
            _ => {}
        }
        Ok(())
    }
}

/// One sheet row as quote and run need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// The sheet line (header = 1).
    pub line: u64,
    /// Every column of the header, as text (for the results ledger).
    pub cells: Vec<String>,
    /// The payout, when the row is valid.
    pub payout: Option<Payout>,
}

/// A whole sheet in memory.
#[derive(Debug, Clone)]
pub struct LoadedSheet {
    /// The header texts as written.
    pub columns: Vec<String>,
    pub rows: Vec<SheetRow>,
    pub report: Report,
    /// XLSX: the worksheet read.
    pub worksheet: Option<String>,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Validates a sheet streaming: memory does not grow with the file beyond the duplicate index.
/// Every problem goes to `on_problem` as it is found; the report keeps the first ones.
pub fn validate_file(
    path: &Path,
    opts: &ValidateOptions,
    on_problem: impl FnMut(Severity, &Problem) + Send,
) -> Result<Report, SheetError> {
    let rules = opts.rules(false)?;
    let source = opts.open(path)?;
    opts.require_columns(source.columns(), &rules)?;
    let bytes = std::fs::metadata(path).ok().map(|m| m.len());
    let bytes = bytes.filter(|_| sheet::SheetKind::of(path).ok() == Some(sheet::SheetKind::Csv));
    pipeline::run(
        source,
        &rules,
        opts.allow_duplicates,
        bytes,
        |_| {},
        on_problem,
    )
}

/// Reads and validates the whole sheet, keeping every row.
pub fn load(path: &Path, opts: &ValidateOptions) -> Result<LoadedSheet, SheetError> {
    let rules = opts.rules(true)?;
    sheet::check_regular_file(path)?;
    let sha256 = file_sha256(path)?;
    let source = opts.open(path)?;
    opts.require_columns(source.columns(), &rules)?;
    let columns = source.columns().names.clone();
    let worksheet = source.worksheet().map(str::to_string);
    let mut rows = Vec::new();
    let bytes = std::fs::metadata(path).ok().map(|m| m.len());
    let bytes = bytes.filter(|_| sheet::SheetKind::of(path).ok() == Some(sheet::SheetKind::Csv));
    let report = pipeline::run(
        source,
        &rules,
        opts.allow_duplicates,
        bytes,
        |r| rows.push(r),
        |_, _| {},
    )?;
    // Rows found ambiguous only once a later row showed the file's decimal comma.
    for line in &report.retracted {
        if let Ok(i) = rows.binary_search_by_key(line, |r| r.line) {
            rows[i].payout = None;
        }
    }
    Ok(LoadedSheet {
        columns,
        rows,
        report,
        worksheet,
        sha256,
    })
}

pub fn file_sha256(path: &Path) -> Result<String, SheetError> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
