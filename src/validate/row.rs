//! Validation of one row on its own (pure, run in parallel): network, currency, amount, address,
//! memo, order id, fee option and from currency, every problem of the row reported. What needs
//! other rows (duplicates, order id uniqueness, shared-address memos) is computed from the keys
//! this returns, in sheet order, by the pipeline.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::address;
use super::amount;
use super::chars::trim;
use super::duplicates::{duplicate_key, hash128, hash64, recipient_hash};
use super::lookalike;
use super::memo;
use super::problem::{codes, quote, Problem};
use super::recipients;
use crate::model::{FeeOption, GatewayKind, OrderId, Payout};
use crate::networks::{self, NetworkSpec, NETWORKS};
use crate::sheet::{CellKind, Columns, Field, Oversize, RowView, RowsText};

/// The remark of `payrun template`'s example row: a row carrying it is never paid.
pub const EXAMPLE_REMARK: &str = "EXAMPLE - replace or delete this row";

/// The options a row is checked against, already resolved.
#[derive(Debug, Clone)]
pub struct RowRules {
    pub gateway: GatewayKind,
    /// `--currency`, upper case.
    pub currency: Option<String>,
    /// `--network` (2328: fills empty network cells).
    pub network: Option<&'static NetworkSpec>,
    /// BlockATM: the contract's chain, every row's network.
    pub chain: Option<&'static NetworkSpec>,
    pub default_fee_option: FeeOption,
    /// Build `Payout`s and keep every cell's text (load), or only count (validate).
    pub keep_rows: bool,
    /// `--decimal-separator`: how text amounts read (None: unstated).
    pub decimal_separator: Option<amount::DecimalSeparator>,
}

/// The result of checking one row alone.
#[derive(Debug, Default)]
pub struct RowOutcome {
    pub line: u64,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// Index of a cell that is not UTF-8 (a whole-file error).
    pub not_utf8: Option<usize>,
    /// A well-formed explicit order id: its hash and text.
    pub order_id: Option<Box<(u128, String)>>,
    /// Set when the row passed every single-row check.
    pub valid: Option<ValidRow>,
    /// Every cell as text (only with `keep_rows`).
    pub cells: Vec<String>,
    /// The separators of a text amount when no convention is stated (for the file-wide
    /// ambiguity verdict the pipeline gives).
    pub separators: Option<amount::Separators>,
}

/// What the cross-row checks and the totals need from a valid row.
#[derive(Debug)]
pub struct ValidRow {
    pub duplicate_key: u128,
    /// Memo networks: (network+address hash, memo hash).
    pub memo_use: Option<(u128, Option<u64>)>,
    /// The address's look-alike shape and identity (`lookalike.rs`).
    pub lookalike: Option<(u64, u64)>,
    pub network: &'static str,
    pub currency: &'static str,
    pub amount: Decimal,
    pub payout: Option<Box<Payout>>,
}

/// Checks rows of one sheet.
pub struct RowChecker<'a> {
    rules: &'a RowRules,
    columns: &'a Columns,
}

impl<'a> RowChecker<'a> {
    pub fn new(rules: &'a RowRules, columns: &'a Columns) -> Self {
        RowChecker { rules, columns }
    }

    /// The header text of column `i` for messages.
    fn column_name(&self, i: usize) -> String {
        match self.columns.names.get(i) {
            Some(n) if !n.trim().is_empty() => n.trim().to_string(),
            _ => format!("column {}", i + 1),
        }
    }

    /// Checks one row alone (see `check_into`).
    pub fn check(&self, row: RowView<'_>) -> RowOutcome {
        let mut out = RowOutcome::default();
        self.check_into(row, &mut out);
        out
    }

    /// Checks one row alone into `out`, which is reset first. The pipeline checks a batch's
    /// rows in place in its vector of outcomes: returning each outcome (about 240 bytes) and
    /// moving it into the vector was a `memmove` per row, 3.5 % of `validate`'s CPU.
    pub fn check_into(&self, row: RowView<'_>, out: &mut RowOutcome) {
        self.check_in(row, None, out);
    }

    /// `check_into` for a row of `rows`, the text of a run of rows checked as UTF-8 at once
    /// (`RowsText`): the row's text is sliced from it instead of checked again. The answer is
    /// the same as `check_into`'s; without `rows`, or when the row is not in it, the row is
    /// checked on its own.
    pub fn check_in<'r>(
        &self,
        row: RowView<'r>,
        rows: Option<&RowsText<'r>>,
        out: &mut RowOutcome,
    ) {
        let line = row.line();
        *out = RowOutcome {
            line,
            ..Default::default()
        };
        let width = self.columns.names.len();
        if let Some(o) = row.oversize() {
            let (code, column, message) = match o {
                Oversize::Cell { column } => (
                    codes::CELL_TOO_LARGE,
                    column,
                    format!(
                        "the cell is larger than {} bytes; the row was not read",
                        crate::sheet::MAX_CELL_BYTES
                    ),
                ),
                Oversize::Row { column } => (
                    codes::ROW_TOO_LARGE,
                    column,
                    format!(
                        "the row is larger than {} bytes or has more than {} cells; it was not read",
                        crate::sheet::MAX_RECORD_BYTES,
                        crate::sheet::MAX_FIELDS
                    ),
                ),
            };
            out.errors
                .push(Problem::new(line, &self.column_name(column), code, message));
            if self.rules.keep_rows {
                out.cells = vec![String::new(); width];
            }
            return;
        }
        // UTF-8 is checked once for the whole row; a cell is then a slice of the row's text.
        let Some(row_text) = row_text(&row, rows) else {
            out.not_utf8 = Some(first_non_utf8_cell(&row).unwrap_or(0));
            return;
        };
        let text = |i: usize| row_text.get(row.range(i)).unwrap_or("");
        if self.rules.keep_rows {
            out.cells = (0..width).map(|i| text(i).to_string()).collect();
        }
        if row.len() > width && (width..row.len()).any(|i| !trim(text(i)).is_empty()) {
            out.errors.push(Problem::new(
                line,
                "",
                codes::ROW_EXTRA_CELLS,
                format!(
                    "the row has {} cells but the header has {width}; is there an unquoted \
                     delimiter inside a value?",
                    row.len()
                ),
            ));
        }
        // Error values (#N/A...) anywhere.
        let mut error_cell = [false; 9];
        for i in 0..row.len().min(width) {
            if row.kind(i) != CellKind::Error {
                continue;
            }
            match Field::ALL.iter().find(|f| self.columns.get(**f) == Some(i)) {
                Some(f) => {
                    error_cell[*f as usize] = true;
                    out.errors.push(Problem::new(
                        line,
                        &self.column_name(i),
                        codes::CELL_ERROR,
                        format!(
                            "the cell holds the spreadsheet error {}; fix the formula",
                            quote(text(i))
                        ),
                    ));
                }
                None => out.warnings.push(Problem::new(
                    line,
                    &self.column_name(i),
                    codes::PASSTHROUGH_CELL_ERROR,
                    format!("the cell holds the spreadsheet error {}", quote(text(i))),
                )),
            }
        }
        // Every field's cell, read once: a field is asked for several times, and reading its
        // cell on each ask (column lookup, range, kind) was 5 % of validating the benchmark
        // sheet. An error cell (reported above) and a missing column read as empty text.
        let mut cells = [("", CellKind::Text); Field::ALL.len()];
        for f in Field::ALL {
            if let Some(i) = self.columns.get(f).filter(|_| !error_cell[f as usize]) {
                cells[f as usize] = (text(i), row.kind(i));
            }
        }
        let cell = |f: Field| -> (&str, CellKind) { cells[f as usize] };
        let has_error_cell = |f: Field| error_cell[f as usize];
        let label = |f: Field| self.columns.label(f);
        // Problems in the order of the sheet's columns.
        let mut problems: Vec<(usize, Problem)> = Vec::new();
        let mut push = |f: Field, code: &'static str, message: String| {
            let order = self.columns.get(f).unwrap_or(usize::MAX);
            problems.push((order, Problem::new(line, label(f), code, message)));
        };

        // Network.
        let network = if has_error_cell(Field::Network) {
            None
        } else {
            self.network(cell(Field::Network).0, &mut push)
        };
        // Currency.
        let currency_text = trim(cell(Field::Currency).0);
        let currency: Option<Cow<'_, str>> = if currency_text.is_empty() {
            self.rules.currency.as_deref().map(Cow::Borrowed)
        } else if currency_text.bytes().any(|b| b.is_ascii_lowercase()) {
            Some(Cow::Owned(currency_text.to_ascii_uppercase()))
        } else {
            Some(Cow::Borrowed(currency_text))
        };
        let mut asset = None;
        match (&currency, network) {
            (None, _) if !has_error_cell(Field::Currency) => push(
                Field::Currency,
                codes::CURRENCY_MISSING,
                "the currency is empty; fill it in or pass --currency".into(),
            ),
            (Some(cur), Some(net)) => {
                asset = net.asset(self.rules.gateway, cur);
                if asset.is_none() {
                    let (code, message) = self.currency_problem(cur, net);
                    push(Field::Currency, code, message);
                }
            }
            (Some(cur), None) if !self.currency_known(cur) => {
                push(
                    Field::Currency,
                    codes::CURRENCY_UNKNOWN,
                    self.unknown_currency(cur),
                );
            }
            _ => {}
        }
        // Amount.
        let (amount_text, amount_kind) = cell(Field::Amount);
        let mut amount = None;
        if !has_error_cell(Field::Amount) {
            match amount_kind {
                CellKind::Date => push(
                    Field::Amount,
                    codes::AMOUNT_DATE_CELL,
                    format!(
                        "the cell is a date ({amount_text}), not an amount; format the column \
                         as Number"
                    ),
                ),
                CellKind::Bool => push(
                    Field::Amount,
                    codes::AMOUNT_BOOLEAN_CELL,
                    format!("the cell is a TRUE/FALSE value ({amount_text}), not an amount"),
                ),
                _ => match if amount_kind == CellKind::Text {
                    if self.rules.decimal_separator.is_none() {
                        out.separators = Some(amount::separators(amount_text));
                    }
                    amount::parse_with(amount_text, self.rules.decimal_separator)
                } else {
                    amount::parse(amount_text)
                } {
                    Err(e) => push(Field::Amount, e.code, e.message),
                    Ok(d) => {
                        if let (Some(a), Some(net)) = (asset, network) {
                            let number_cell =
                                matches!(amount_kind, CellKind::Number | CellKind::ImpreciseNumber);
                            if let Err(e) = amount::check_precision(
                                &d,
                                a.decimals,
                                a.currency,
                                net.code,
                                number_cell,
                            ) {
                                push(Field::Amount, e.code, e.message);
                            }
                        }
                        amount = Some(d);
                    }
                },
            }
        }
        // Address.
        let address_text = cell(Field::Address).0;
        let mut address_key = None;
        if !has_error_cell(Field::Address) {
            match network {
                Some(net) => match address::check_key(net.family, address_text) {
                    Ok(k) => match recipients::not_wallet(net.code, k.as_str()) {
                        Some(what) => push(
                            Field::Address,
                            codes::RECIPIENT_NOT_WALLET,
                            format!(
                                "{} is {what} on {}, not a wallet: money sent there is lost",
                                quote(address_text),
                                net.code
                            ),
                        ),
                        None => address_key = Some(k),
                    },
                    Err(e) => push(Field::Address, e.code(), e.to_string()),
                },
                None if address_text.is_empty() => push(
                    Field::Address,
                    address::AddressError::Empty.code(),
                    address::AddressError::Empty.to_string(),
                ),
                None => {}
            }
        }
        // Memo.
        let (memo_text, memo_kind) = cell(Field::Memo);
        let memo = match memo::check_text(memo_text, memo_kind, network) {
            Ok(m) => m,
            Err((code, message)) => {
                push(Field::Memo, code, message);
                None
            }
        };
        // Order id.
        let (order_text, order_kind) = cell(Field::OrderId);
        let mut explicit_order_id = None;
        if !trim(order_text).is_empty() {
            match order_id_problem(order_text, order_kind) {
                Some(message) => push(Field::OrderId, codes::ORDER_ID_FORMAT, message),
                None => {
                    out.order_id = Some(Box::new((
                        hash128(&[order_text.as_bytes()]),
                        order_text.into(),
                    )));
                    explicit_order_id = Some(order_text.to_string());
                }
            }
        }
        // Fee option.
        let fee_text = trim(cell(Field::FeeOption).0);
        let mut fee_option = self.rules.default_fee_option;
        if !fee_text.is_empty() {
            if self.rules.gateway == GatewayKind::BlockAtm {
                out.warnings.push(Problem::new(
                    line,
                    label(Field::FeeOption),
                    codes::FEE_OPTION_IGNORED,
                    "BlockATM has no fee option; the value is ignored".to_string(),
                ));
            } else {
                match FeeOption::parse(fee_text) {
                    Some(f) => fee_option = f,
                    None => push(
                        Field::FeeOption,
                        codes::FEE_OPTION_INVALID,
                        format!(
                            "{} is not a fee option; write deduct or add",
                            quote(fee_text)
                        ),
                    ),
                }
            }
        }
        // From currency.
        let from_text = trim(cell(Field::FromCurrency).0);
        let mut from_currency = None;
        if !from_text.is_empty() {
            let upper = from_text.to_ascii_uppercase();
            if self.rules.gateway == GatewayKind::BlockAtm {
                push(
                    Field::FromCurrency,
                    codes::FROM_CURRENCY_NOT_SUPPORTED,
                    "BlockATM pays from the contract's balance; it has no auto-conversion".into(),
                );
            } else if !self.currency_known(&upper) {
                push(
                    Field::FromCurrency,
                    codes::FROM_CURRENCY_UNKNOWN,
                    format!(
                        "{} is not a currency 2328 holds; use one of {}",
                        quote(from_text),
                        self.known_currencies().join(", ")
                    ),
                );
            } else {
                from_currency = Some(upper);
            }
        }
        let remark_text = cell(Field::Remark).0;
        if trim(remark_text) == EXAMPLE_REMARK {
            push(
                Field::Remark,
                codes::EXAMPLE_ROW,
                "this is the template's example row: replace it with a real payout or delete it"
                    .into(),
            );
        }
        problems.sort_by_key(|(order, _)| *order);
        out.errors.extend(problems.into_iter().map(|(_, p)| p));
        if !out.errors.is_empty() {
            return;
        }
        let (Some(net), Some(asset), Some(amount), Some(address_key)) =
            (network, asset, amount, address_key)
        else {
            return;
        };
        let normalized = amount.normalize().serialize();
        // The address is hashed once (with its network): the duplicate key, the shared-address
        // memo index and the look-alike identity all start from this hash, where each hashed
        // the address again (the 128-bit hashes were 4.5 % of `validate`'s CPU).
        let recipient = recipient_hash(net.code, address_key.as_str());
        let duplicate_key =
            duplicate_key(recipient, asset.currency, &normalized, memo.unwrap_or(""));
        let memo_use = net
            .memo
            .then(|| (recipient, memo.map(|m| hash64(m.as_bytes()))));
        if self.rules.keep_rows {
            // A value filled in from a flag (or the BlockATM contract's chain) is shown in its
            // column as sent: the book's snapshot and the results ledger record it.
            for (field, value) in [
                (Field::Network, net.code),
                (Field::Currency, asset.currency),
                (Field::FeeOption, fee_option.as_str()),
            ] {
                if let Some(cell) = self.columns.get(field).and_then(|i| out.cells.get_mut(i)) {
                    if cell.trim().is_empty() {
                        *cell = value.to_string();
                    }
                }
            }
        }
        // The address check decoded a Solana address already; only a key it did not keep
        // (never for a valid Solana address) is decoded again here.
        let on_curve = || match address_key.decoded32() {
            Some(key) => Some(recipients::solana_key_on_curve(key)),
            None => recipients::solana_on_curve(address_text),
        };
        if recipients::is_spl_token(net.code, asset.currency) && on_curve() == Some(false) {
            out.warnings.push(Problem::new(
                line,
                label(Field::Address),
                codes::RECIPIENT_OFF_CURVE,
                format!(
                    "{} is off the ed25519 curve: a program-derived address (a token account or \
                     vault), not a wallet; {} sent there may not reach the person meant",
                    quote(address_text),
                    asset.currency
                ),
            ));
        }
        let lookalike = lookalike::shape(net.code, net.family, address_text)
            .map(|shape| (shape, lookalike::identity_of(recipient)));
        let payout = self.rules.keep_rows.then(|| {
            Box::new(Payout {
                line,
                network: net,
                currency: asset.currency.to_string(),
                address: address_text.to_string(),
                address_key: address_key.as_str().to_owned(),
                amount,
                memo: memo.map(str::to_string),
                fee_option,
                from_currency,
                remark: (!remark_text.trim().is_empty()).then(|| remark_text.to_string()),
                explicit_order_id,
            })
        });
        out.valid = Some(ValidRow {
            duplicate_key,
            memo_use,
            lookalike,
            network: net.code,
            currency: asset.currency,
            amount,
            payout,
        });
    }

    /// Resolves the row's network, reporting why it cannot be used.
    fn network(
        &self,
        cell: &str,
        push: &mut impl FnMut(Field, &'static str, String),
    ) -> Option<&'static NetworkSpec> {
        let gateway = self.rules.gateway;
        let named = trim(cell);
        let spec = if named.is_empty() {
            None
        } else {
            match networks::lookup(named) {
                Some(s) => Some(s),
                None => {
                    let served: Vec<&str> = NETWORKS
                        .iter()
                        .filter(|n| n.served_by(gateway))
                        .map(|n| n.code)
                        .collect();
                    push(
                        Field::Network,
                        codes::NETWORK_UNKNOWN,
                        format!(
                            "unknown network {}; use one of {}",
                            quote(named),
                            served.join(", ")
                        ),
                    );
                    return None;
                }
            }
        };
        if gateway == GatewayKind::BlockAtm {
            if let (Some(chain), Some(s)) = (self.rules.chain, spec) {
                if !std::ptr::eq(chain, s) {
                    push(
                        Field::Network,
                        codes::NETWORK_MISMATCH,
                        format!(
                            "the BlockATM contract pays on {}, not {}; a contract serves one chain",
                            chain.code, s.code
                        ),
                    );
                    return None;
                }
            }
            if let Some(chain) = self.rules.chain {
                return Some(chain);
            }
        }
        let spec = match spec.or(self.rules.network) {
            Some(s) => s,
            None => {
                push(
                    Field::Network,
                    codes::NETWORK_MISSING,
                    "the network is empty; fill it in or pass --network".into(),
                );
                return None;
            }
        };
        if !spec.served_by(gateway) {
            push(
                Field::Network,
                codes::NETWORK_NOT_SUPPORTED,
                format!("the {gateway} gateway does not pay out on {}", spec.code),
            );
            return None;
        }
        Some(spec)
    }

    fn known_currencies(&self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = NETWORKS
            .iter()
            .flat_map(|n| n.assets(self.rules.gateway).iter().map(|a| a.currency))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    fn currency_known(&self, cur: &str) -> bool {
        self.known_currencies()
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cur))
    }

    fn unknown_currency(&self, cur: &str) -> String {
        format!(
            "{} is not a currency the {} gateway pays out; use one of {}",
            quote(cur),
            self.rules.gateway,
            self.known_currencies().join(", ")
        )
    }

    fn currency_problem(&self, cur: &str, net: &NetworkSpec) -> (&'static str, String) {
        let gateway = self.rules.gateway;
        if !self.currency_known(cur) {
            return (codes::CURRENCY_UNKNOWN, self.unknown_currency(cur));
        }
        let there: Vec<&str> = net.assets(gateway).iter().map(|a| a.currency).collect();
        (
            codes::CURRENCY_NOT_ON_NETWORK,
            format!(
                "{cur} is not paid out on {} by {gateway}; there: {}",
                net.code,
                there.join(", ")
            ),
        )
    }
}

/// The row's text when all of it is UTF-8 and every cell boundary is a character boundary
/// (then every cell, a slice of it, is UTF-8 too). `None` means some cell is not UTF-8.
fn row_text<'a>(row: &RowView<'a>, rows: Option<&RowsText<'a>>) -> Option<&'a str> {
    let text = match rows.and_then(|r| r.row(row)) {
        Some(text) => text,
        None => std::str::from_utf8(row.data()).ok()?,
    };
    (0..row.len())
        .all(|i| text.is_char_boundary(row.range(i).end))
        .then_some(text)
}

/// The first cell that is not UTF-8 on its own.
fn first_non_utf8_cell(row: &RowView<'_>) -> Option<usize> {
    (0..row.len()).find(|&i| std::str::from_utf8(row.bytes(i)).is_err())
}

/// Why an explicit order id is refused, if it is.
fn order_id_problem(text: &str, kind: CellKind) -> Option<String> {
    if kind == CellKind::ImpreciseNumber {
        return Some(format!(
            "the order id is stored as a number ({text}) and has lost digits; format the \
             column as Text"
        ));
    }
    let len = text.chars().count();
    if len > OrderId::MAX_LEN {
        return Some(format!(
            "the order id has {len} characters; at most {} are allowed",
            OrderId::MAX_LEN
        ));
    }
    if let Some(c) = text.chars().find(|c| !OrderId::allows(*c)) {
        return Some(format!(
            "the order id {} contains {:?}; use only letters A-Z a-z, digits, '_' and '-'",
            quote(text),
            c
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_checked_for_charset_and_length() {
        assert!(order_id_problem("pay-2024_05-001", CellKind::Text).is_none());
        assert!(order_id_problem(&"a".repeat(64), CellKind::Text).is_none());
        assert!(order_id_problem(&"a".repeat(65), CellKind::Text).is_some());
        assert!(order_id_problem("a b", CellKind::Text).is_some());
        assert!(order_id_problem("ü", CellKind::Text).is_some());
        assert!(order_id_problem("12345678901234567000", CellKind::ImpreciseNumber).is_some());
    }
}
