//! Variance: how a plan differs from an earlier run of the same sheet — rows unchanged, amount
//! changed (with the delta), address changed, added, removed, and the totals per currency then
//! and now. Pure: both sides are lists of payouts keyed by order id (the new plan derived under
//! the earlier run's id, so an unchanged row has the same order id on both sides).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::OrderId;

/// One payout on one side of the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub order_id: OrderId,
    pub line: u64,
    pub address: String,
    pub amount: Decimal,
    pub currency: String,
}

/// A row whose payout changed between the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub line: u64,
    pub currency: String,
    pub old_amount: Decimal,
    pub new_amount: Decimal,
    /// `new - old`.
    pub delta: Decimal,
    pub old_address: String,
    pub new_address: String,
}

impl Change {
    pub fn address_changed(&self) -> bool {
        !self.old_address.eq_ignore_ascii_case(&self.new_address)
    }
}

/// A row only one side has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Only {
    pub line: u64,
    pub address: String,
    pub amount: Decimal,
    pub currency: String,
}

/// Totals of one currency, then and now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrencyVariance {
    pub currency: String,
    pub then: Decimal,
    pub now: Decimal,
    pub delta: Decimal,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variance {
    /// The earlier run compared against.
    pub previous_run: String,
    pub unchanged: u64,
    pub changed: Vec<Change>,
    pub added: Vec<Only>,
    pub removed: Vec<Only>,
    pub totals: Vec<CurrencyVariance>,
}

impl Variance {
    /// Rows whose address changed.
    pub fn address_changes(&self) -> impl Iterator<Item = &Change> {
        self.changed.iter().filter(|c| c.address_changed())
    }

    /// Whether anything differs.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// The sides of a run's orders (as sent).
pub fn sides_of_orders(orders: &[crate::book::OrderRecord]) -> Vec<Side> {
    orders
        .iter()
        .map(|r| Side {
            order_id: r.order_id.clone(),
            line: r.line,
            address: r.request.to_address.clone(),
            amount: r.request.amount,
            currency: r.request.currency.clone(),
        })
        .collect()
}

/// The sides of a plan.
pub fn sides_of_plan(plan: &[crate::plan::PlannedOrder]) -> Vec<Side> {
    plan.iter()
        .map(|o| Side {
            order_id: o.order_id.clone(),
            line: o.payout.line,
            address: o.payout.address.clone(),
            amount: o.payout.amount,
            currency: o.payout.currency.clone(),
        })
        .collect()
}

fn only(s: &Side) -> Only {
    Only {
        line: s.line,
        address: s.address.clone(),
        amount: s.amount,
        currency: s.currency.clone(),
    }
}

/// Compares `now` with `then`. Rows with the same order id are unchanged; of the rest, a new
/// row at the line of an old one is that row changed, and anything left is added or removed.
pub fn compare(previous_run: &str, then: &[Side], now: &[Side]) -> Variance {
    let then_ids: HashMap<&OrderId, &Side> = then.iter().map(|s| (&s.order_id, s)).collect();
    let now_ids: HashMap<&OrderId, &Side> = now.iter().map(|s| (&s.order_id, s)).collect();
    let unchanged = now
        .iter()
        .filter(|s| then_ids.contains_key(&s.order_id))
        .count() as u64;
    let mut old_by_line: BTreeMap<u64, &Side> = then
        .iter()
        .filter(|s| !now_ids.contains_key(&s.order_id))
        .map(|s| (s.line, s))
        .collect();
    let mut changed = Vec::new();
    let mut added = Vec::new();
    for s in now.iter().filter(|s| !then_ids.contains_key(&s.order_id)) {
        match old_by_line.remove(&s.line) {
            Some(old) => changed.push(Change {
                line: s.line,
                currency: s.currency.clone(),
                old_amount: old.amount,
                new_amount: s.amount,
                delta: s.amount - old.amount,
                old_address: old.address.clone(),
                new_address: s.address.clone(),
            }),
            None => added.push(only(s)),
        }
    }
    let removed: Vec<Only> = old_by_line.values().map(|s| only(s)).collect();
    let mut totals: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for s in then {
        totals.entry(s.currency.clone()).or_default().0 += s.amount;
    }
    for s in now {
        totals.entry(s.currency.clone()).or_default().1 += s.amount;
    }
    Variance {
        previous_run: previous_run.to_string(),
        unchanged,
        changed,
        added,
        removed,
        totals: totals
            .into_iter()
            .map(|(currency, (then, now))| CurrencyVariance {
                currency,
                then,
                now,
                delta: now - then,
            })
            .collect(),
    }
}

fn signed(d: Decimal) -> String {
    if d > Decimal::ZERO {
        format!("+{d}")
    } else {
        d.to_string()
    }
}

/// The variance as text for the terminal.
pub fn to_text(v: &Variance) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compared with run {}: {} unchanged, {} changed, {} added, {} removed",
        v.previous_run,
        v.unchanged,
        v.changed.len(),
        v.added.len(),
        v.removed.len()
    );
    for c in &v.changed {
        if c.address_changed() {
            let _ = writeln!(
                out,
                "  row {}: address changed from {} to {} ({} {} → {})",
                c.line, c.old_address, c.new_address, c.currency, c.old_amount, c.new_amount
            );
        } else {
            let _ = writeln!(
                out,
                "  row {}: amount {} → {} {} ({})",
                c.line,
                c.old_amount,
                c.new_amount,
                c.currency,
                signed(c.delta)
            );
        }
    }
    for a in &v.added {
        let _ = writeln!(
            out,
            "  row {}: added, {} {} to {}",
            a.line, a.amount, a.currency, a.address
        );
    }
    for r in &v.removed {
        let _ = writeln!(
            out,
            "  row {}: removed, {} {} to {}",
            r.line, r.amount, r.currency, r.address
        );
    }
    for t in &v.totals {
        let _ = writeln!(
            out,
            "  {} total: then {}, now {} ({})",
            t.currency,
            t.then,
            t.now,
            signed(t.delta)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(id: &str, line: u64, addr: &str, amount: i64) -> Side {
        Side {
            order_id: OrderId(id.into()),
            line,
            address: addr.into(),
            amount: Decimal::new(amount, 2),
            currency: "USDT".into(),
        }
    }

    #[test]
    fn unchanged_changed_added_removed_and_totals() {
        let then = [
            side("a", 2, "A", 1000),
            side("b", 3, "B", 2000),
            side("c", 4, "C", 3000),
        ];
        let now = [
            side("a", 2, "A", 1000),
            side("b2", 3, "B", 2500),
            side("c2", 4, "X", 3000),
            side("d", 5, "D", 100),
        ];
        let v = compare("r1", &then, &now);
        assert_eq!(v.unchanged, 1);
        assert_eq!(v.changed.len(), 2);
        assert_eq!(v.changed[0].delta, Decimal::new(500, 2));
        assert!(!v.changed[0].address_changed());
        assert!(v.changed[1].address_changed());
        assert_eq!(v.added.len(), 1);
        assert!(v.removed.is_empty());
        assert_eq!(v.totals[0].then, Decimal::new(6000, 2));
        assert_eq!(v.totals[0].now, Decimal::new(6600, 2));
        let text = to_text(&v);
        assert!(
            text.contains("row 4: address changed from C to X"),
            "{text}"
        );
        assert!(
            text.contains("row 3: amount 20.00 → 25.00 USDT (+5.00)"),
            "{text}"
        );
        let v = compare("r1", &then, &then[..2]);
        assert_eq!(v.removed.len(), 1);
        assert!(compare("r1", &then, &then).is_empty());
    }
}
