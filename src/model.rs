//! The domain types every stage shares: a validated payout, the id newtypes, the fee option,
//! the gateway kind and the one status vocabulary of the results ledger.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::networks::NetworkSpec;

/// `a + b` exactly, or `None`: when the sum overflows, and when it does not fit a `Decimal`
/// (96 bits of digits) at the scale of its terms, where `+` would silently round it. Totals
/// of money go through here (docs/design.md, "Money").
pub fn exact_add(a: Decimal, b: Decimal) -> Option<Decimal> {
    let sum = a.checked_add(b)?;
    // At the terms' scale the sum is exact; a smaller scale means digits were dropped, which
    // is exact only if they were zeros: then subtracting gives the terms back.
    if sum.scale() == a.scale().max(b.scale()) {
        return Some(sum);
    }
    (sum.checked_sub(b) == Some(a) && sum.checked_sub(a) == Some(b)).then_some(sum)
}

/// The merchant-side idempotency key of one payout (2328 `order_id`, BlockATM `orderNo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct OrderId(pub String);

/// The id the gateway assigned (2328 `uuid`, BlockATM `orderId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GatewayId(pub String);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for GatewayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl OrderId {
    /// The longest order id payrun sends, in characters (both gateways accept it).
    pub const MAX_LEN: usize = 64;

    /// Whether `c` may stand in an order id: `[A-Za-z0-9_-]`.
    pub fn allows(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || c == '-'
    }

    /// Whether `s` is an order id payrun may send: 1 to [`OrderId::MAX_LEN`] characters, each
    /// one [`OrderId::allows`]. (`validate` says which rule a sheet's order id breaks.)
    pub fn is_valid(s: &str) -> bool {
        (1..=Self::MAX_LEN).contains(&s.len()) && s.chars().all(Self::allows)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lets maps keyed by `OrderId` be searched with a `&str` (the derived `Hash` hashes the inner
/// `String`, which hashes as its `str`).
impl std::borrow::Borrow<str> for OrderId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Which payout gateway a run talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GatewayKind {
    #[serde(rename = "2328")]
    G2328,
    #[serde(rename = "blockatm")]
    BlockAtm,
}

impl GatewayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayKind::G2328 => "2328",
            GatewayKind::BlockAtm => "blockatm",
        }
    }
    pub fn parse(s: &str) -> Option<GatewayKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "2328" => Some(GatewayKind::G2328),
            "blockatm" => Some(GatewayKind::BlockAtm),
            _ => None,
        }
    }
}

impl fmt::Display for GatewayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// 2328 `fee_option`: who pays the fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FeeOption {
    /// Fees come out of the amount; the recipient gets `amount - fees`.
    #[default]
    Deduct,
    /// Fees are added on top; the recipient gets exactly `amount`.
    Add,
}

impl FeeOption {
    pub fn as_str(self) -> &'static str {
        match self {
            FeeOption::Deduct => "deduct",
            FeeOption::Add => "add",
        }
    }
    pub fn parse(s: &str) -> Option<FeeOption> {
        match s.trim().to_ascii_lowercase().as_str() {
            "deduct" => Some(FeeOption::Deduct),
            "add" => Some(FeeOption::Add),
            _ => None,
        }
    }
}

/// The one status vocabulary of the results ledger, for both gateways.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The row failed validation and was never sent.
    Invalid,
    /// Valid, not sent yet.
    #[default]
    NotSent,
    /// Sent; the outcome is not known yet (must be resolved by asking the gateway).
    InDoubt,
    /// Accepted by the gateway, not final yet.
    Pending,
    Completed,
    Failed,
    Cancelled,
    /// Valid, but changed since its order was sent: not sent again unless the user says so.
    Held,
    /// The gateway's answer contradicts what was sent (or an earlier final status): never
    /// counted as paid, never re-sent automatically.
    Conflict,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Invalid => "invalid",
            Status::NotSent => "not_sent",
            Status::InDoubt => "in_doubt",
            Status::Pending => "pending",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Held => "held",
            Status::Conflict => "conflict",
        }
    }

    /// The status named by its ledger word (`in_doubt`, `completed`, …).
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "invalid" => Status::Invalid,
            "not_sent" => Status::NotSent,
            "in_doubt" => Status::InDoubt,
            "pending" => Status::Pending,
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            "cancelled" => Status::Cancelled,
            "held" => Status::Held,
            "conflict" => Status::Conflict,
            _ => return None,
        })
    }
    /// Completed, failed and cancelled never change again.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One valid sheet row, ready to be planned and paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// The sheet line the user sees (header is line 1).
    pub line: u64,
    /// The network, resolved through the registry.
    pub network: &'static NetworkSpec,
    /// Currency code, upper case (`USDT`).
    pub currency: String,
    /// The address exactly as written (already validated; no whitespace).
    pub address: String,
    /// The address in canonical form for comparisons and order ids (EVM: lower case).
    pub address_key: String,
    /// The amount as written by the user, scale preserved (`1.50` stays `1.50`).
    pub amount: Decimal,
    pub memo: Option<String>,
    pub fee_option: FeeOption,
    pub from_currency: Option<String>,
    pub remark: Option<String>,
    /// An explicit `order_id` column value, already checked for format and uniqueness.
    pub explicit_order_id: Option<String>,
}

#[cfg(test)]
mod exact_add_tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_sum_that_would_round_is_refused() {
        assert_eq!(exact_add(d("1.10"), d("2.205")), Some(d("3.305")));
        assert_eq!(exact_add(d("-0.5"), d("0.5")), Some(d("0.0")));
        let big = d("100000000000000000000.12345678");
        // 21 + 8 digits: the exact sum needs 29 significant digits.
        assert_eq!(exact_add(big, d("900000000000000000000")), None);
        assert_eq!(
            exact_add(d("10000000000000000000000000000"), d("0.5")),
            None
        );
        assert_eq!(exact_add(Decimal::MAX, d("1")), None);
        // Trailing zeros that do not fit are not a rounding.
        assert_eq!(
            exact_add(d("9999999999999999999999999999"), d("0.0")),
            Some(d("9999999999999999999999999999"))
        );
    }
}
