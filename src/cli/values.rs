//! Typed flag values: clap parses each flag's text straight into one of these, so nothing
//! downstream sees a raw string (a bad value is a usage error naming the flag, exit 2).

use std::str::FromStr;

use clap::ValueEnum;
use rust_decimal::Decimal;

use crate::model::{FeeOption, GatewayKind};

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
