//! Typed flag values: clap parses each flag's text straight into one of these, so nothing
//! downstream sees a raw string (a bad value is a usage error naming the flag, exit 2): the
//! gateway, the submission mode, the fee option, `AMOUNT:CURRENCY`, a request rate
//! ([`PerSecond`]) and a span of time ([`Seconds`]). Rates and spans are positive, finite
//! numbers within bounds no pacer or clock overflows on; the configuration reads `PAYRUN_RATE`
//! and `rate =` through the same rule.

use crate::model::{FeeOption, GatewayKind};
use clap::ValueEnum;
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A rate in requests per second: finite, at least [`PerSecond::MIN`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct PerSecond(f64);

impl PerSecond {
    /// The slowest rate taken: one request every 1000 seconds.
    pub const MIN: f64 = 0.001;

    /// `v` requests per second, or why it is not a rate.
    pub fn new(v: f64) -> Result<PerSecond, String> {
        if v.is_finite() && v >= Self::MIN {
            Ok(PerSecond(v))
        } else if v.is_finite() && v > 0.0 {
            Err(format!(
                "{v} is too slow: the slowest rate is {} request per second",
                Self::MIN
            ))
        } else {
            Err(format!(
                "must be a positive number of requests per second, got {v}"
            ))
        }
    }

    /// Parses a number of requests per second (surrounding spaces allowed).
    pub fn parse(s: &str) -> Result<PerSecond, String> {
        let t = s.trim();
        let v: f64 = t
            .parse()
            .map_err(|_| format!("must be a positive number of requests per second, got '{t}'"))?;
        PerSecond::new(v)
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl FromStr for PerSecond {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PerSecond::parse(s)
    }
}

impl fmt::Display for PerSecond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::submit::pacing::fmt_rate(self.0))
    }
}

/// A span of time in seconds: positive, finite, at most [`Seconds::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Seconds(f64);

impl Seconds {
    /// The longest span taken: 30 days.
    pub const MAX: f64 = 30.0 * 86_400.0;

    /// `v` seconds, or why it is not a span of time.
    pub fn new(v: f64) -> Result<Seconds, String> {
        if v.is_finite() && v > 0.0 && v <= Self::MAX {
            Ok(Seconds(v))
        } else {
            Err(format!(
                "must be a positive number of seconds (at most {} = 30 days), got {v}",
                Self::MAX
            ))
        }
    }

    /// Parses a number of seconds (surrounding spaces allowed).
    pub fn parse(s: &str) -> Result<Seconds, String> {
        let t = s.trim();
        let v: f64 = t
            .parse()
            .map_err(|_| format!("must be a positive number of seconds, got '{t}'"))?;
        Seconds::new(v)
    }

    pub fn get(self) -> f64 {
        self.0
    }

    pub fn duration(self) -> Duration {
        // In range by construction: positive, finite, at most 30 days.
        Duration::from_secs_f64(self.0)
    }
}

impl FromStr for Seconds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Seconds::parse(s)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `--gateway`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GatewayArg {
    /// The 2328 gateway (one payout per request, fee calculator)
    #[value(name = "2328")]
    G2328,
    /// BlockATM (contract-based, batches)
    #[value(name = "blockatm")]
    BlockAtm,
}

impl From<GatewayArg> for GatewayKind {
    fn from(g: GatewayArg) -> GatewayKind {
        match g {
            GatewayArg::G2328 => GatewayKind::G2328,
            GatewayArg::BlockAtm => GatewayKind::BlockAtm,
        }
    }
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One payout per request
    Single,
    /// BlockATM batches of --chunk-size orders
    Batch,
}

/// `--decimal-separator`: the sheet's decimal mark, stated by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecimalSeparatorArg {
    /// A point: 1234.50 (1.500 is one and a half)
    #[value(name = ".", alias = "point")]
    Point,
    /// A comma, points grouping thousands: 1.234,50 (1.500 is fifteen hundred)
    #[value(name = ",", alias = "comma")]
    Comma,
}

impl From<DecimalSeparatorArg> for crate::validate::amount::DecimalSeparator {
    fn from(a: DecimalSeparatorArg) -> Self {
        match a {
            DecimalSeparatorArg::Point => Self::Point,
            DecimalSeparatorArg::Comma => Self::Comma,
        }
    }
}

/// `--fee-option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FeeOptionArg {
    /// Fees come out of the amount: the recipient gets amount − fees
    #[default]
    Deduct,
    /// Fees are added on top: the recipient gets the amount
    Add,
}

impl From<FeeOptionArg> for FeeOption {
    fn from(f: FeeOptionArg) -> FeeOption {
        match f {
            FeeOptionArg::Deduct => FeeOption::Deduct,
            FeeOptionArg::Add => FeeOption::Add,
        }
    }
}

/// `AMOUNT:CURRENCY` (`5000:USDT`), for `--max-total` and `--expect-total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountCurrency {
    /// A plain decimal, scale kept.
    pub amount: Decimal,
    /// Upper case.
    pub currency: String,
}

/// Parses `AMOUNT:CURRENCY`: a plain decimal (no exponent, no separators) and a currency code.
pub fn amount_currency(v: &str) -> Result<AmountCurrency, String> {
    let (a, c) = v
        .split_once(':')
        .ok_or_else(|| format!("expected AMOUNT:CURRENCY, e.g. 5000:USDT, not {v:?}"))?;
    let a = a.trim();
    let plain = !a.is_empty()
        && a.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && a.bytes().filter(|&b| b == b'.').count() <= 1;
    let amount = Decimal::from_str(a)
        .ok()
        .filter(|_| plain)
        .ok_or_else(|| format!("{a:?} is not a plain decimal amount"))?;
    let currency = c.trim().to_ascii_uppercase();
    if currency.is_empty() || !currency.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("{c:?} is not a currency code"));
    }
    Ok(AmountCurrency { amount, currency })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_positive_finite_numbers() {
        assert_eq!(PerSecond::parse("10").unwrap().get(), 10.0);
        assert_eq!(PerSecond::parse(" 1.5 ").unwrap().get(), 1.5);
        assert_eq!(PerSecond::parse("0.001").unwrap().get(), 0.001);
        for bad in [
            "0", "-1", "-0.5", "abc", "", "NaN", "nan", "inf", "-inf", "1e999", "0.0001",
        ] {
            let e = PerSecond::parse(bad).unwrap_err();
            assert!(e.contains("per second"), "{bad}: {e}");
        }
        assert!(PerSecond::new(f64::NAN).is_err());
        assert!(PerSecond::new(f64::INFINITY).is_err());
        assert!(PerSecond::new(-0.0).is_err());
        assert!(PerSecond::new(1e300).is_ok());
    }

    #[test]
    fn seconds_are_positive_finite_and_bounded() {
        assert_eq!(
            Seconds::parse("0.2").unwrap().duration(),
            Duration::from_millis(200)
        );
        assert_eq!(
            Seconds::parse("2592000").unwrap().duration(),
            Duration::from_secs(2_592_000)
        );
        for bad in ["0", "-2", "x", "NaN", "inf", "1e20", "2592001"] {
            let e = Seconds::parse(bad).unwrap_err();
            assert!(e.contains("seconds"), "{bad}: {e}");
        }
    }

    #[test]
    fn amount_currency_is_typed_at_parse_time() {
        let v = amount_currency("5000.50:usdt").unwrap();
        assert_eq!(v.amount.to_string(), "5000.50");
        assert_eq!(v.currency, "USDT");
        for bad in [
            "5000",
            "1e3:USDT",
            "1,000:USDT",
            ":USDT",
            "5:",
            "-5:USDT",
            "5:US DT",
        ] {
            assert!(amount_currency(bad).is_err(), "{bad}");
        }
    }
}
