//! The validation report: counts, totals per currency and network, every error and warning.
//! Serialises to exactly the documented JSON shape; renders the human summary; writes the
//! problems as CSV for `--errors-out` (cells a spreadsheet would run as formulas neutralised).

use std::collections::BTreeMap;
use std::io::Write;

use rust_decimal::Decimal;
use serde::Serialize;

use super::problem::Problem;

/// At most this many errors, and as many warnings, are kept for the summary and the JSON
/// document; the counts stay exact and every problem is streamed as found (`Report::add`).
pub const MAX_KEPT_PROBLEMS: usize = 1000;

/// Whether a problem makes its row invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Count and total of the valid rows of one currency on one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Total {
    pub currency: String,
    pub network: String,
    pub count: u64,
    /// Serialised as a decimal string.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// The result of validating a sheet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// XLSX: the worksheet read (absent for CSV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worksheet: Option<String>,
    /// Data rows read (blank rows are not rows).
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Valid rows only, sorted by network then currency.
    pub totals: Vec<Total>,
    /// Every error found (`errors` keeps the first `MAX_KEPT_PROBLEMS`).
    pub error_count: u64,
    /// Every warning found (`warnings` keeps the first `MAX_KEPT_PROBLEMS`).
    pub warning_count: u64,
    /// The first errors, in line order.
    pub errors: Vec<Problem>,
    /// The first warnings, in line order.
    pub warnings: Vec<Problem>,
    /// Lines first counted valid, then found ambiguous once a later row showed the file's
    /// decimal comma (`load` takes their payouts back).
    #[serde(skip)]
    pub retracted: Vec<u64>,
}

/// Accumulates totals per (network, currency). The names are registry statics, so a short
/// list compared by pointer is faster than a map keyed by text.
#[derive(Debug, Default)]
pub struct Totals(Vec<Running>);

/// One (network, currency) total: `count` rows summing to `mantissa` × 10^−`scale`, the exact
/// parts of a `Decimal` (|mantissa| < 2^96). Amounts of the sum's scale (nearly all: a sheet
/// writes its amounts with the same decimals) are added as integers; any other goes through
/// `model::exact_add`, whose `Decimal` arithmetic was most of the merge thread's own work.
#[derive(Debug)]
struct Running {
    network: &'static str,
    currency: &'static str,
    count: u64,
    mantissa: i128,
    scale: u32,
}

/// The largest mantissa a `Decimal` holds (96 bits).
const MAX_MANTISSA: i128 = (1 << 96) - 1;

impl Running {
    fn sum(&self) -> Decimal {
        Decimal::from_i128_with_scale(self.mantissa, self.scale)
    }

    fn set(&mut self, sum: Decimal) {
        self.mantissa = sum.mantissa();
        self.scale = sum.scale();
    }
}

impl Totals {
    /// Where the (network, currency) total is, compared by pointer (registry statics).
    fn index_of(&self, network: &'static str, currency: &'static str) -> Option<usize> {
        self.0
            .iter()
            .position(|t| std::ptr::eq(t.network, network) && std::ptr::eq(t.currency, currency))
    }

    /// Adds one valid row; false when the sum would overflow or round (`model::exact_add`).
    pub fn add(&mut self, network: &'static str, currency: &'static str, amount: Decimal) -> bool {
        let i = match self.index_of(network, currency) {
            Some(i) => i,
            None => {
                self.0.push(Running {
                    network,
                    currency,
                    count: 0,
                    mantissa: 0,
                    scale: amount.scale(),
                });
                self.0.len() - 1
            }
        };
        let t = &mut self.0[i];
        if amount.scale() == t.scale {
            // Both within 96 bits, so the i128 sum cannot overflow; within 96 bits again it
            // is exactly what `Decimal` addition gives at this scale.
            let m = t.mantissa + amount.mantissa();
            if m.abs() <= MAX_MANTISSA {
                t.mantissa = m;
                t.count += 1;
                return true;
            }
        }
        match crate::model::exact_add(t.sum(), amount) {
            Some(sum) => {
                t.set(sum);
                t.count += 1;
                true
            }
            None => false,
        }
    }

    /// Takes back one row added with `add`.
    pub fn remove(&mut self, network: &'static str, currency: &'static str, amount: Decimal) {
        if let Some(i) = self.index_of(network, currency) {
            let t = &mut self.0[i];
            t.count -= 1;
            let sum = t.sum() - amount;
            t.set(sum);
        }
    }

    /// Sorted by network, then currency (the same pair may come from two equal statics).
    pub fn into_vec(self) -> Vec<Total> {
        let mut merged: BTreeMap<(&str, &str), (u64, Decimal)> = BTreeMap::new();
        for t in self.0 {
            let e = merged
                .entry((t.network, t.currency))
                .or_insert((0, Decimal::ZERO));
            e.0 += t.count;
            e.1 = e.1.checked_add(t.sum()).unwrap_or(e.1);
        }
        merged
            .into_iter()
            .filter(|(_, (count, _))| *count > 0)
            .map(|((network, currency), (count, amount))| Total {
                currency: currency.to_string(),
                network: network.to_string(),
                count,
                amount,
            })
            .collect()
    }
}

impl Report {
    /// Counts a problem, and keeps it while fewer than `MAX_KEPT_PROBLEMS` of its severity are.
    pub fn add(&mut self, severity: Severity, p: Problem) {
        let (count, list) = match severity {
            Severity::Error => (&mut self.error_count, &mut self.errors),
            Severity::Warning => (&mut self.warning_count, &mut self.warnings),
        };
        *count += 1;
        if list.len() < MAX_KEPT_PROBLEMS {
            list.push(p);
        }
    }

    /// True when every row is valid.
    pub fn all_valid(&self) -> bool {
        self.invalid == 0
    }

    /// The human summary and the kept problems, one per line (`line 12, amount: …`).
    pub fn render_text(&self, sheet: &str) -> String {
        let mut s = self.render_summary(sheet);
        for (title, list, count) in [
            ("errors", &self.errors, self.error_count),
            ("warnings", &self.warnings, self.warning_count),
        ] {
            if list.is_empty() {
                continue;
            }
            s.push_str(&problems_title(title, list.len(), count));
            for p in list {
                s.push_str(&format!("  {}\n", problem_line(p)));
            }
        }
        s
    }

    /// The counts and totals, without the problems (`payrun validate` streams those first).
    pub fn render_summary(&self, sheet: &str) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let worksheet = match &self.worksheet {
            Some(w) => format!(" (worksheet '{w}')"),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "{sheet}{worksheet}: {} rows, {} valid, {} invalid",
            self.rows, self.valid, self.invalid
        );
        if !self.totals.is_empty() {
            let _ = writeln!(s, "valid rows by currency and network:");
            let wcur = self
                .totals
                .iter()
                .map(|t| t.currency.len())
                .max()
                .unwrap_or(0);
            let wnet = self
                .totals
                .iter()
                .map(|t| t.network.len())
                .max()
                .unwrap_or(0);
            for t in &self.totals {
                let _ = writeln!(
                    s,
                    "  {:<wcur$}  {:<wnet$}  {:>7} rows  {}",
                    t.currency, t.network, t.count, t.amount
                );
            }
        }
        s
    }

    /// The kept problems as CSV: `line,column,code,message,severity`.
    pub fn write_problems_csv(&self, out: impl Write) -> std::io::Result<()> {
        let mut w = ProblemsCsv::new(out)?;
        for (severity, list) in [
            (Severity::Error, &self.errors),
            (Severity::Warning, &self.warnings),
        ] {
            for p in list {
                w.write(severity, p)?;
            }
        }
        w.finish()
    }
}

/// `errors (3):`, or `errors (1200, the first 1000 listed):`.
fn problems_title(title: &str, listed: usize, count: u64) -> String {
    if listed as u64 == count {
        format!("{title} ({count}):\n")
    } else {
        format!("{title} ({count}, the first {listed} listed):\n")
    }
}

/// The `--errors-out` CSV written one problem at a time, as they are found (cells a
/// spreadsheet would run as formulas neutralised).
pub struct ProblemsCsv<W: Write> {
    w: csv::Writer<W>,
}

fn csv_io(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl<W: Write> ProblemsCsv<W> {
    /// Writes the header `line,column,code,message,severity`.
    pub fn new(out: W) -> std::io::Result<Self> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["line", "column", "code", "message", "severity"])
            .map_err(csv_io)?;
        Ok(ProblemsCsv { w })
    }

    pub fn write(&mut self, severity: Severity, p: &Problem) -> std::io::Result<()> {
        self.w
            .write_record([
                p.line.to_string().as_str(),
                &neutralise(&p.column),
                p.code,
                &neutralise(&p.message),
                severity.as_str(),
            ])
            .map_err(csv_io)
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    /// Flushes and hands back the output.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.w.into_inner().map_err(|e| e.into_error())
    }
}

/// `line 12, amount: message` (`line 12: message` for a whole-row problem).
pub fn problem_line(p: &Problem) -> String {
    if p.column.is_empty() {
        format!("line {}: {} [{}]", p.line, p.message, p.code)
    } else {
        format!("line {}, {}: {} [{}]", p.line, p.column, p.message, p.code)
    }
}

/// Prefixes a cell a spreadsheet would run as a formula with `'`.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::problem::codes;

    fn sample() -> Report {
        let mut t = Totals::default();
        assert!(t.add("TRX-TRC20", "USDT", Decimal::new(150, 2)));
        assert!(t.add("TRX-TRC20", "USDT", Decimal::new(2, 0)));
        assert!(t.add("BTC", "BTC", Decimal::new(1, 3)));
        Report {
            worksheet: None,
            rows: 4,
            valid: 3,
            invalid: 1,
            error_count: 1,
            warning_count: 0,
            retracted: vec![],
            totals: t.into_vec(),
            errors: vec![Problem::new(
                5,
                "amount",
                codes::AMOUNT_NOT_POSITIVE,
                "zero",
            )],
            warnings: vec![],
        }
    }

    #[test]
    fn json_shape_is_the_documented_one() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "rows": 4, "valid": 3, "invalid": 1,
                "totals": [
                    {"currency": "BTC", "network": "BTC", "count": 1, "amount": "0.001"},
                    {"currency": "USDT", "network": "TRX-TRC20", "count": 2, "amount": "3.50"}
                ],
                "error_count": 1, "warning_count": 0,
                "errors": [{"line": 5, "column": "amount", "code": "amount_not_positive", "message": "zero"}],
                "warnings": []
            })
        );
    }

    #[test]
    fn text_lists_totals_and_problems() {
        let s = sample().render_text("pay.csv");
        assert!(s.starts_with("pay.csv: 4 rows, 3 valid, 1 invalid"), "{s}");
        assert!(s.contains("USDT  TRX-TRC20        2 rows  3.50"), "{s}");
        assert!(
            s.contains("line 5, amount: zero [amount_not_positive]"),
            "{s}"
        );
    }

    #[test]
    fn problems_csv_neutralises_formulas() {
        let mut r = sample();
        r.warnings
            .push(Problem::new(7, "=cmd", codes::MEMO_TOO_LONG, "-x"));
        let mut buf = Vec::new();
        r.write_problems_csv(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "line,column,code,message,severity\n5,amount,amount_not_positive,zero,error\n\
             7,'=cmd,memo_too_long,'-x,warning\n"
        );
    }

    #[test]
    fn totals_add_as_exact_add_does_whatever_the_scales() {
        use std::str::FromStr;
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let amounts = [
            "1.00",
            "2920.31",
            "0.5",
            "3",
            "7.125",
            "1.10",
            "0.000001",
            "12",
            "99.99",
            "39614081257132168796771975.16",
            "1",
            "0.01",
            "39614081257132168796771975",
            "5.5",
            "0.1",
        ];
        let (net, cur) = ("TRX-TRC20", "USDT");
        let mut totals = Totals::default();
        let (mut want, mut count, mut refused) = (Decimal::ZERO, 0u64, 0);
        for (i, a) in amounts.iter().cycle().take(200).enumerate() {
            let a = d(a);
            let added = totals.add(net, cur, a);
            match crate::model::exact_add(want, a) {
                Some(sum) => {
                    assert!(added, "step {i}: {want} + {a}");
                    want = sum;
                    count += 1;
                }
                None => {
                    assert!(!added, "step {i}: {want} + {a} must be refused");
                    refused += 1;
                }
            }
            let got = totals
                .0
                .iter()
                .find(|t| t.currency == cur)
                .map(Running::sum);
            assert_eq!(
                got.map(|g| (g, g.scale())),
                Some((want, want.scale())),
                "step {i}"
            );
        }
        assert!(
            refused > 10 && count > 100,
            "{refused} refused, {count} added"
        );
        totals.remove(net, cur, d("1.00"));
        let v = totals.into_vec();
        assert_eq!(v[0].count, count - 1);
        assert_eq!(v[0].amount, want - d("1.00"));
    }
}
