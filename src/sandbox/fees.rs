//! The sandbox's documented fee model and amount parsing.
//!
//! 2328 (`fee_option` as documented):
//! - platform fee: 1 % of `amount`, rounded *up* to the asset's decimals;
//! - network fee: a fixed amount per (currency, network), see [`network_fee`];
//! - `total_fee` = platform + network;
//! - `deduct`: `merchant_amount = amount`, `network_amount = amount - total_fee` (refused when
//!   that is not positive); `add`: `merchant_amount = amount + total_fee`, `network_amount = amount`.
//!
//! BlockATM: a flat [`BLOCKATM_ORDER_FEE`] (1 USDT) per order, plus a `gasAmount` per chain
//! ([`blockatm_gas`]) set when the payout becomes final. The merchant is debited
//! `amount + fee` at creation; the recipient receives `amount`.
//!
//! The TRX network fee (0.1) makes the seed's example come out as documented: 1.00 TRX with
//! `deduct` → `merchant_amount` 1, `network_amount` 0.89.
//!
//! USD prices ([`usd_price`]) are fixed sandbox figures used for `amount_usd`, `total_fee_usd`,
//! `balance_usd` and `from_currency` conversion.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::model::FeeOption;

/// The platform fee rate: 1 %.
pub fn platform_fee_rate() -> Decimal {
    Decimal::new(1, 2)
}

/// BlockATM: the flat per-order platform fee, in the payout token.
pub const BLOCKATM_ORDER_FEE: i64 = 1;

/// The fixed network fee of the sandbox for `currency` on `network` (2328 codes).
pub fn network_fee(currency: &str, network: &str) -> Decimal {
    let (mantissa, scale) = match (currency, network) {
        ("USDT", "TRX-TRC20") => (1, 0),
        ("TRX", "TRX-TRC20") => (1, 1),
        ("USDT" | "USDC", "ETH-ERC20") => (3, 0),
        ("ETH", "ETH-ERC20") => (1, 3),
        ("USDT" | "USDC", "BSC-BEP20") => (3, 1),
        ("BNB", "BSC-BEP20") => (5, 4),
        ("USDT" | "USDC", "AVAX-C") => (3, 1),
        ("AVAX", "AVAX-C") => (1, 2),
        ("USDT" | "USDC", "POL-MATIC") => (1, 1),
        ("POL", "POL-MATIC") => (1, 1),
        ("USDT", "TON") => (5, 1),
        ("TON", "TON") => (5, 2),
        ("USDT" | "USDC", "SOL") => (5, 1),
        ("SOL", "SOL") => (1, 3),
        ("BTC", "BTC") => (1, 4),
        ("LTC", "LTC") => (1, 3),
        ("DASH", "DASH") => (1, 3),
        ("DOGE", "DOGE") => (1, 0),
        _ => (1, 0),
    };
    Decimal::new(mantissa, scale)
}

/// BlockATM: the gas reported per order when it becomes final, in the payout token.
pub fn blockatm_gas(chain: &str) -> Decimal {
    match chain {
        "ETH-ERC20" => Decimal::new(21, 1),
        "ARB-ERC20" => Decimal::new(12, 2),
        _ => Decimal::new(35, 2),
    }
}

/// Fixed sandbox USD price of one unit of `currency`.
pub fn usd_price(currency: &str) -> Decimal {
    let (mantissa, scale) = match currency {
        "USDT" | "USDC" => (1, 0),
        "TRX" => (3, 1),
        "ETH" => (3000, 0),
        "BNB" => (600, 0),
        "AVAX" => (30, 0),
        "POL" => (5, 1),
        "TON" => (5, 0),
        "SOL" => (150, 0),
        "BTC" => (60000, 0),
        "LTC" => (80, 0),
        "DASH" => (30, 0),
        "DOGE" => (15, 2),
        _ => (1, 0),
    };
    Decimal::new(mantissa, scale)
}

/// The USD value of `amount` of `currency`, to cents.
pub fn to_usd(amount: Decimal, currency: &str) -> Decimal {
    (amount * usd_price(currency)).round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

/// Converts `amount` of `from` into `to` at the sandbox prices, rounded up to `decimals`.
pub fn convert(amount: Decimal, from: &str, to: &str, decimals: u32) -> Decimal {
    let price_to = usd_price(to);
    if price_to.is_zero() {
        return amount;
    }
    (amount * usd_price(from) / price_to)
        .round_dp_with_strategy(decimals, RoundingStrategy::AwayFromZero)
}

/// The 2328 fee computation for one payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees2328 {
    pub merchant_amount: Decimal,
    pub network_amount: Decimal,
    pub total_fee: Decimal,
}

/// Computes the 2328 fees (see the module doc). `Err` when `deduct` leaves nothing to send.
pub fn compute_2328(
    amount: Decimal,
    decimals: u32,
    currency: &str,
    network: &str,
    fee_option: FeeOption,
) -> Result<Fees2328, String> {
    let platform = (amount * platform_fee_rate())
        .round_dp_with_strategy(decimals, RoundingStrategy::AwayFromZero);
    let total_fee = platform + network_fee(currency, network);
    match fee_option {
        FeeOption::Deduct => {
            let network_amount = amount - total_fee;
            if network_amount <= Decimal::ZERO {
                return Err(format!(
                    "amount {amount} does not cover the fees {total_fee} {currency}"
                ));
            }
            Ok(Fees2328 {
                merchant_amount: amount,
                network_amount,
                total_fee,
            })
        }
        FeeOption::Add => Ok(Fees2328 {
            merchant_amount: amount + total_fee,
            network_amount: amount,
            total_fee,
        }),
    }
}

/// Parses a plain positive decimal string (`123`, `1.50`) with at most `decimals` places.
pub fn parse_amount(text: &str, decimals: u32) -> Result<Decimal, String> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(int) || frac.is_some_and(|f| !digits_only(f)) {
        return Err("must be a plain decimal string such as 12.50".into());
    }
    if frac.map_or(0, str::len) > decimals as usize {
        return Err(format!("has more than {decimals} decimal places"));
    }
    let value = Decimal::from_str(text).map_err(|_| "is out of range".to_string())?;
    if value <= Decimal::ZERO {
        return Err("must be greater than zero".into());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn deduct_takes_fees_from_the_amount() {
        let f = compute_2328(d("100"), 6, "USDT", "TRX-TRC20", FeeOption::Deduct).unwrap();
        assert_eq!(f.total_fee, d("2"));
        assert_eq!(f.merchant_amount, d("100"));
        assert_eq!(f.network_amount, d("98"));
    }

    #[test]
    fn add_puts_fees_on_top() {
        let f = compute_2328(d("100"), 6, "USDT", "ETH-ERC20", FeeOption::Add).unwrap();
        assert_eq!(f.total_fee, d("4"));
        assert_eq!(f.merchant_amount, d("104"));
        assert_eq!(f.network_amount, d("100"));
    }

    #[test]
    fn platform_fee_rounds_up_to_the_decimals() {
        let f = compute_2328(d("0.000001"), 6, "USDT", "TRX-TRC20", FeeOption::Add).unwrap();
        assert_eq!(f.total_fee, d("1.000001"));
    }

    #[test]
    fn deduct_refuses_amounts_that_do_not_cover_fees() {
        assert!(compute_2328(d("1"), 6, "USDT", "TRX-TRC20", FeeOption::Deduct).is_err());
    }

    #[test]
    fn amounts_must_be_plain_and_within_decimals() {
        assert_eq!(parse_amount("1.50", 6).unwrap().to_string(), "1.50");
        for bad in [
            "",
            "1e5",
            "-1",
            "+1",
            "1,5",
            " 1",
            "1.",
            ".5",
            "0",
            "0.000",
            "1.1234567",
        ] {
            assert!(parse_amount(bad, 6).is_err(), "{bad:?} accepted");
        }
    }
}
