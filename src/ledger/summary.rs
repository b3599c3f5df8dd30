//! The run summary finance files: per currency+network, how many rows were paid and for how
//! much, what is still outstanding, how many are pending, in doubt, not sent, invalid, failed
//! (grouped by reason) or cancelled, and the fees quoted before the run against the fees the
//! gateway actually charged. Computed from a `Ledger`; serialisable for `--json`, and rendered
//! as markdown (`report --out summary.md`) or plain text for the terminal.
//!
//! Fee accounting covers the rows that completed (what was actually paid and charged):
//! `fees_charged = fees_quoted + fee_drift + fees_charged_unquoted`, where `fees_quoted` and
//! `fee_drift` (charged − quoted) cover the completed rows that had both a quote and a reported
//! fee, and `fees_charged_unquoted` the completed rows charged without a quote (BlockATM has no
//! quote endpoint). Quotes of rows not (yet) charged are in `fees_quoted_unsettled`. Amounts
//! add up per currency only: different currencies are never summed together.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::Serialize;

use super::scale::Scales;
use super::{Ledger, LedgerError, LedgerRow, RunInfo};
use crate::model::Status;

/// The reason shown for a failed row that carries none.
pub const NO_REASON: &str = "(no reason given)";

/// Row counts by status, and failed rows by reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub rows: u64,
    pub completed: u64,
    pub pending: u64,
    pub in_doubt: u64,
    pub not_sent: u64,
    pub invalid: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Rows changed since their order was sent, not sent again.
    pub held: u64,
    /// Rows whose gateway answer contradicts what was sent: never counted as paid.
    pub conflict: u64,
    /// Earlier orders the gateway refused whose row was corrected or removed since: history,
    /// not counted in `rows` nor as failed or cancelled (`LedgerRow::decides_outcome`).
    pub earlier_refused: u64,
    /// Failed rows per reason (`error`, else the gateway's status word).
    pub failures_by_reason: BTreeMap<String, u64>,
}

/// The money of a group of rows that share a currency. Exact decimals, serialised as strings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Money {
    /// Σ sheet amount of the completed rows.
    pub paid_amount: Decimal,
    /// Σ `merchant_amount` of the completed rows.
    pub merchant_debited: Decimal,
    /// Σ `network_amount` of the completed rows.
    pub recipients_received: Decimal,
    /// Σ sheet amount of the rows pending or in doubt (sent, not final).
    pub outstanding_amount: Decimal,
    /// Σ `fee` of the completed rows.
    pub fees_charged: Decimal,
    /// Σ `quoted_fee` of the completed rows that have both a quote and a fee.
    pub fees_quoted: Decimal,
    /// Σ (`fee` − `quoted_fee`) over the same rows: positive means charged more than quoted.
    pub fee_drift: Decimal,
    /// Σ `fee` of the completed rows that had no quote.
    pub fees_charged_unquoted: Decimal,
    /// Σ `quoted_fee` of the rows not charged (yet): not completed, or no fee reported.
    pub fees_quoted_unsettled: Decimal,
}

/// One currency on one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupSummary {
    pub currency: Option<String>,
    pub network: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    #[serde(flatten)]
    pub money: Money,
}

/// One currency over all its networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrencyTotals {
    pub currency: Option<String>,
    #[serde(flatten)]
    pub money: Money,
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub run: RunInfo,
    /// Sorted by currency then network (rows with neither last).
    pub groups: Vec<GroupSummary>,
    pub currencies: Vec<CurrencyTotals>,
    /// Counts over every row.
    pub totals: Counts,
}

fn key(v: Option<&str>) -> Option<String> {
    v.map(|s| s.trim().to_uppercase()).filter(|s| !s.is_empty())
}

/// The reason a failed row is counted under.
fn failure_reason(row: &LedgerRow) -> String {
    [row.error.as_deref(), row.gateway_status.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or(NO_REASON)
        .to_string()
}

impl Counts {
    fn add(&mut self, row: &LedgerRow) {
        if !row.decides_outcome() {
            self.earlier_refused += 1;
            return;
        }
        self.rows += 1;
        match row.status {
            Status::Completed => self.completed += 1,
            Status::Pending => self.pending += 1,
            Status::InDoubt => self.in_doubt += 1,
            Status::NotSent => self.not_sent += 1,
            Status::Invalid => self.invalid += 1,
            Status::Cancelled => self.cancelled += 1,
            Status::Held => self.held += 1,
            Status::Conflict => self.conflict += 1,
            Status::Failed => {
                self.failed += 1;
                *self
                    .failures_by_reason
                    .entry(failure_reason(row))
                    .or_insert(0) += 1;
            }
        }
    }
}

/// Adds exactly or reports which total overflowed.
fn add_to(total: &mut Decimal, v: Decimal, what: &str, group: &str) -> Result<(), LedgerError> {
    *total = crate::model::exact_add(*total, v).ok_or_else(|| LedgerError::Overflow {
        what: what.into(),
        group: group.into(),
    })?;
    Ok(())
}

impl Money {
    fn add(&mut self, row: &LedgerRow, group: &str) -> Result<(), LedgerError> {
        let completed = row.status == Status::Completed;
        if completed {
            if let Some(a) = row.amount {
                add_to(&mut self.paid_amount, a, "amount paid", group)?;
            }
            if let Some(a) = row.merchant_amount {
                add_to(&mut self.merchant_debited, a, "merchant debit", group)?;
            }
            if let Some(a) = row.network_amount {
                add_to(&mut self.recipients_received, a, "amount received", group)?;
            }
        }
        if matches!(row.status, Status::Pending | Status::InDoubt) {
            if let Some(a) = row.amount {
                add_to(&mut self.outstanding_amount, a, "outstanding amount", group)?;
            }
        }
        match (completed, row.fee, row.quoted_fee) {
            (true, Some(fee), Some(quoted)) => {
                add_to(&mut self.fees_charged, fee, "fees charged", group)?;
                add_to(&mut self.fees_quoted, quoted, "fees quoted", group)?;
                let drift = fee
                    .checked_sub(quoted)
                    .ok_or_else(|| LedgerError::Overflow {
                        what: "fee drift".into(),
                        group: group.into(),
                    })?;
                add_to(&mut self.fee_drift, drift, "fee drift", group)?;
            }
            (true, Some(fee), None) => {
                add_to(&mut self.fees_charged, fee, "fees charged", group)?;
                add_to(&mut self.fees_charged_unquoted, fee, "unquoted fees", group)?;
            }
            (_, _, Some(quoted)) => {
                add_to(
                    &mut self.fees_quoted_unsettled,
                    quoted,
                    "unsettled quotes",
                    group,
                )?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn label(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(none)")
}

fn sort_key(v: &Option<String>) -> (bool, String) {
    (v.is_none(), v.clone().unwrap_or_default())
}

impl Summary {
    /// Adds up the ledger. Fails only if a total exceeds what a decimal holds exactly.
    pub fn from_ledger(ledger: &Ledger) -> Result<Summary, LedgerError> {
        type GroupKey = ((bool, String), (bool, String));
        let mut groups: BTreeMap<GroupKey, GroupSummary> = BTreeMap::new();
        let mut currencies: BTreeMap<(bool, String), CurrencyTotals> = BTreeMap::new();
        let mut totals = Counts::default();
        for row in &ledger.rows {
            let currency = key(row.currency.as_deref());
            let network = key(row.network.as_deref());
            let name = format!("{} on {}", label(&currency), label(&network));
            let g = groups
                .entry((sort_key(&currency), sort_key(&network)))
                .or_insert_with(|| GroupSummary {
                    currency: currency.clone(),
                    network: network.clone(),
                    counts: Counts::default(),
                    money: Money::default(),
                });
            g.counts.add(row);
            g.money.add(row, &name)?;
            currencies
                .entry(sort_key(&currency))
                .or_insert_with(|| CurrencyTotals {
                    currency: currency.clone(),
                    money: Money::default(),
                })
                .money
                .add(row, label(&currency))?;
            totals.add(row);
        }
        Ok(Summary {
            run: ledger.run.clone(),
            groups: groups.into_values().collect(),
            currencies: currencies.into_values().collect(),
            totals,
        })
    }
}

/// Escapes text from the sheet or the gateway for a markdown table cell.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' | '\t' => out.push(' '),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A drift with an explicit sign (`+1.5`, `-0.2`, `0`).
fn signed(d: Decimal) -> String {
    if d > Decimal::ZERO {
        format!("+{d}")
    } else {
        d.to_string()
    }
}

fn status_rows(c: &Counts) -> [(&'static str, u64); 9] {
    [
        ("Completed (paid)", c.completed),
        ("Pending", c.pending),
        ("In doubt", c.in_doubt),
        ("Not sent", c.not_sent),
        ("Held", c.held),
        ("Conflict", c.conflict),
        ("Invalid", c.invalid),
        ("Failed", c.failed),
        ("Cancelled", c.cancelled),
    ]
}

fn failures_md(out: &mut String, c: &Counts) {
    if c.failures_by_reason.is_empty() {
        return;
    }
    out.push_str("\nFailures by reason:\n\n| Reason | Rows |\n|---|---:|\n");
    for (reason, n) in &c.failures_by_reason {
        let _ = writeln!(out, "| {} | {n} |", md(reason));
    }
}

/// The summary as a markdown document finance can file.
pub fn to_markdown(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Payout run summary: {}\n", md(&s.run.run_id));
    out.push_str("| | |\n|---|---|\n");
    let _ = writeln!(out, "| Run id | {} |", md(&s.run.run_id));
    let _ = writeln!(out, "| Gateway | {} |", s.run.gateway);
    let _ = writeln!(out, "| Sheet | {} |", md(&s.run.sheet));
    let _ = writeln!(out, "| Generated | {} |", md(&s.run.generated_at));
    if let Some(a) = &s.run.approved_by {
        let _ = writeln!(out, "| Approved by | {} |", md(a));
    }

    out.push_str("\n## All rows\n\n| Status | Rows |\n|---|---:|\n");
    for (name, n) in status_rows(&s.totals) {
        let _ = writeln!(out, "| {name} | {n} |");
    }
    let _ = writeln!(out, "| **Total** | **{}** |", s.totals.rows);
    failures_md(&mut out, &s.totals);

    for g in &s.groups {
        let (c, m) = (&g.counts, &g.money);
        let _ = writeln!(
            out,
            "\n## {} on {}\n",
            md(label(&g.currency)),
            md(label(&g.network))
        );
        out.push_str("| | |\n|---|---:|\n");
        let _ = writeln!(out, "| Rows | {} |", c.rows);
        for (name, n) in status_rows(c) {
            let _ = writeln!(out, "| {name} | {n} |");
        }
        let _ = writeln!(out, "| Amount paid | {} |", m.paid_amount);
        let _ = writeln!(out, "| Merchant debited | {} |", m.merchant_debited);
        let _ = writeln!(out, "| Recipients received | {} |", m.recipients_received);
        let _ = writeln!(
            out,
            "| Outstanding (pending, in doubt) | {} |",
            m.outstanding_amount
        );
        let _ = writeln!(out, "| Fees quoted (paid rows) | {} |", m.fees_quoted);
        let _ = writeln!(out, "| Fees charged | {} |", m.fees_charged);
        let _ = writeln!(
            out,
            "| Drift (charged − quoted) | {} |",
            signed(m.fee_drift)
        );
        let _ = writeln!(
            out,
            "| Fees charged without a quote | {} |",
            m.fees_charged_unquoted
        );
        let _ = writeln!(
            out,
            "| Quoted, not charged yet | {} |",
            m.fees_quoted_unsettled
        );
        failures_md(&mut out, c);
    }

    if !s.currencies.is_empty() {
        out.push_str(
            "\n## Totals per currency\n\n\
             | Currency | Amount paid | Merchant debited | Recipients received | Outstanding | Fees quoted | Fees charged | Drift |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for t in &s.currencies {
            let m = &t.money;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                md(label(&t.currency)),
                m.paid_amount,
                m.merchant_debited,
                m.recipients_received,
                m.outstanding_amount,
                m.fees_quoted,
                m.fees_charged,
                signed(m.fee_drift)
            );
        }
    }
    out.push_str(
        "\nFees charged = fees quoted + drift + fees charged without a quote (completed rows only).\n",
    );
    out
}

/// `n row` / `n rows`.
fn rows(n: u64) -> String {
    if n == 1 {
        "1 row".into()
    } else {
        format!("{n} rows")
    }
}

/// The row counts in the summary's words, leaving out the empty ones: `4 paid, 2 in progress,
/// 1 failed`.
pub fn count_words(c: &Counts) -> String {
    let parts: Vec<String> = [
        (c.completed, "paid"),
        (c.pending, "in progress"),
        (c.in_doubt, "in doubt"),
        (c.not_sent, "not sent"),
        (c.failed, "failed"),
        (c.cancelled, "cancelled"),
        (c.held, "held"),
        (c.conflict, "conflict"),
        (c.invalid, "invalid"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| format!("{n} {w}"))
    .collect();
    let mut words = if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    };
    if c.earlier_refused > 0 {
        let s = if c.earlier_refused == 1 { "" } else { "s" };
        let _ = write!(
            words,
            " (and {} earlier order{s} refused, since corrected or removed)",
            c.earlier_refused
        );
    }
    words
}

/// Every amount of one currency shown with one number of decimals across the whole output.
fn scales(s: &Summary) -> Scales {
    let mut scales = Scales::default();
    for g in &s.groups {
        let m = &g.money;
        let currency = g.currency.as_deref().unwrap_or("");
        // Sheet amounts keep the decimals the user wrote; gateway amounts count without
        // trailing zeros.
        scales.add_written(currency, m.paid_amount);
        scales.add_written(currency, m.outstanding_amount);
        for a in [m.fees_quoted, m.fees_charged, m.fee_drift] {
            scales.add(currency, a);
        }
    }
    scales
}

/// The summary as a few lines for the terminal: the counts in words, then one line per
/// currency and network that has payable rows (each currency's amounts with one scale), then the
/// failures by reason.
pub fn to_text(s: &Summary) -> String {
    let t = &s.totals;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {} ({}), sheet {}: {}: {}",
        s.run.run_id,
        s.run.gateway,
        s.run.sheet,
        rows(t.rows),
        count_words(t)
    );
    if let Some(a) = &s.run.approved_by {
        let _ = writeln!(out, "  approved by {a}");
    }
    let scales = scales(s);
    for g in &s.groups {
        if g.currency.is_none() && g.network.is_none() {
            // Rows with neither (invalid ones) are counted above.
            continue;
        }
        let (c, m) = (&g.counts, &g.money);
        let currency = g.currency.as_deref().unwrap_or("");
        let f = |d: Decimal| scales.show(currency, d);
        let mut line = format!(
            "  {} {}: {}/{} paid, {} paid out",
            label(&g.currency),
            label(&g.network),
            c.completed,
            rows(c.rows),
            f(m.paid_amount),
        );
        if !m.outstanding_amount.is_zero() {
            line.push_str(&format!(", {} in progress", f(m.outstanding_amount)));
        }
        if !m.fees_quoted.is_zero() || !m.fees_charged.is_zero() {
            line.push_str(&format!(
                "; fees quoted {}, charged {}",
                f(m.fees_quoted),
                f(m.fees_charged)
            ));
            if m.fee_drift.is_zero() {
                line.push_str(", no drift");
            } else {
                let drift = f(m.fee_drift);
                let sign = if m.fee_drift > Decimal::ZERO { "+" } else { "" };
                line.push_str(&format!(", drift {sign}{drift}"));
            }
            // Charged = quoted + drift + this: say it, or "charged" reads as a drift missed.
            if !m.fees_charged_unquoted.is_zero() {
                line.push_str(&format!(
                    " ({} charged on rows without a quote)",
                    f(m.fees_charged_unquoted)
                ));
            }
        }
        let _ = writeln!(out, "{line}");
        for (reason, n) in &c.failures_by_reason {
            let _ = writeln!(out, "    failed: {reason} x{n}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escaping_neutralises_table_breakers() {
        assert_eq!(md("a|b\nc"), "a\\|b c");
        assert_eq!(md("<script>"), "\\<script\\>");
        assert_eq!(md("aml_risk"), "aml\\_risk");
    }

    #[test]
    fn one_currency_shows_one_number_of_decimals_on_every_line() {
        let group = |network: &str, paid: Decimal, fee: Decimal| GroupSummary {
            currency: Some("USDT".into()),
            network: Some(network.into()),
            counts: Counts {
                rows: 1,
                completed: 1,
                ..Default::default()
            },
            money: Money {
                paid_amount: paid,
                fees_quoted: fee,
                fees_charged: fee,
                ..Default::default()
            },
        };
        let summary = Summary {
            run: RunInfo {
                run_id: "r".into(),
                gateway: crate::model::GatewayKind::G2328,
                sheet: "s.csv".into(),
                generated_at: String::new(),
                approved_by: None,
            },
            totals: Counts {
                rows: 2,
                completed: 2,
                ..Default::default()
            },
            groups: vec![
                group("TRX-TRC20", Decimal::new(1500, 0), Decimal::new(1, 0)),
                group("BSC-BEP20", Decimal::new(12345, 3), Decimal::new(5, 1)),
            ],
            currencies: Vec::new(),
        };
        let text = to_text(&summary);
        assert!(
            text.contains("1500.000 paid out; fees quoted 1.000"),
            "{text}"
        );
        assert!(
            text.contains("12.345 paid out; fees quoted 0.500"),
            "{text}"
        );
        assert!(!text.contains("without a quote"), "{text}");
        // Fees charged on rows never quoted (an earlier order, a resume) are named, so the
        // charged total does not read as a drift missed.
        let mut g = group("TRX-TRC20", Decimal::new(20, 0), Decimal::new(1, 0));
        g.money.fees_charged = Decimal::new(21, 1);
        g.money.fees_charged_unquoted = Decimal::new(11, 1);
        let summary = Summary {
            groups: vec![g],
            ..summary
        };
        let text = to_text(&summary);
        assert!(
            text.contains(
                "fees quoted 1.0, charged 2.1, no drift (1.1 charged on rows without a quote)"
            ),
            "{text}"
        );
    }

    #[test]
    fn drift_shows_its_sign() {
        assert_eq!(signed(Decimal::new(15, 1)), "+1.5");
        assert_eq!(signed(Decimal::new(-2, 1)), "-0.2");
        assert_eq!(signed(Decimal::ZERO), "0");
    }
}
