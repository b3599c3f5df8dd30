//! One number of decimals per currency across one output: every amount of a currency (amounts,
//! fees, debits, totals) is shown with the most decimals any of them has, so `2100.00` and
//! `2100` never stand side by side (docs/design.md, "Results ledger").

use std::collections::HashMap;

use rust_decimal::Decimal;

/// The decimals each currency is shown with: `(currency, amount)` pairs in, for each currency
/// the largest scale of its amounts (trailing zeros ignored, so a currency whose amounts are
/// all whole shows none).
#[derive(Debug, Default, Clone)]
pub struct Scales(HashMap<String, u32>);

impl Scales {
    /// Scales of every amount given.
    pub fn of<'a>(amounts: impl IntoIterator<Item = (&'a str, Decimal)>) -> Scales {
        let mut s = Scales::default();
        for (currency, amount) in amounts {
            s.add(currency, amount);
        }
        s
    }

    /// Counts one more amount of `currency`.
    pub fn add(&mut self, currency: &str, amount: Decimal) {
        let e = self.0.entry(currency.to_ascii_uppercase()).or_default();
        *e = (*e).max(amount.normalize().scale());
    }

    /// Counts an amount as the user wrote it: its decimals count even when they are zeros
    /// (`2100.00` shows every `USDC` amount with at least two).
    pub fn add_written(&mut self, currency: &str, amount: Decimal) {
        let e = self.0.entry(currency.to_ascii_uppercase()).or_default();
        *e = (*e).max(amount.scale());
    }

    /// `amount` with its currency's decimals (a currency never seen: as written).
    pub fn show(&self, currency: &str, amount: Decimal) -> String {
        match self.0.get(&currency.to_ascii_uppercase()) {
            Some(&scale) => {
                let mut d = amount.normalize();
                d.rescale(scale);
                d.to_string()
            }
            None => amount.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_amount_of_a_currency_gets_its_most_decimals() {
        let s = Scales::of([
            ("USDT", Decimal::new(210000, 2)),
            ("usdt", Decimal::new(73265, 4)),
            ("BTC", Decimal::new(5, 0)),
        ]);
        assert_eq!(s.show("USDT", Decimal::new(2100, 0)), "2100.0000");
        assert_eq!(s.show("USDT", Decimal::new(73265, 4)), "7.3265");
        assert_eq!(s.show("BTC", Decimal::new(500, 2)), "5");
        assert_eq!(s.show("ETH", Decimal::new(150, 2)), "1.50");
        let mut s = Scales::default();
        s.add_written("USDC", Decimal::new(210000, 2));
        s.add("USDC", Decimal::new(240, 1));
        assert_eq!(s.show("USDC", Decimal::new(24, 0)), "24.00");
    }
}
