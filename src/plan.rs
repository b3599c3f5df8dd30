//! The plan stage: a deterministic order id per valid row.
//!
//! An id is derived from the run id, the row's payout fields (network, canonical address,
//! amount, currency, memo, fee option, from currency) and its occurrence number among identical
//! rows — never from its position, so inserting, deleting or reordering other rows leaves every
//! id unchanged, and re-running the same sheet gives the same ids. An explicit `order_id` column
//! wins. Format: `[A-Za-z0-9_-]`, at most 64 characters.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::gateway::PayoutRequest;
use crate::model::{OrderId, Payout};

/// How many characters of the run id prefix a derived id.
const RUN_PREFIX_MAX: usize = 24;

/// A payout with its order id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOrder {
    pub order_id: OrderId,
    pub payout: Payout,
    /// A digest of the payout fields, to notice a row edited after it was sent.
    pub fields_digest: String,
}

impl PlannedOrder {
    /// The request this order sends (create, batch item and fee calc alike); `url_callback`
    /// is the configured webhook address, if any.
    pub fn request(&self, url_callback: Option<&str>) -> PayoutRequest {
        let p = &self.payout;
        PayoutRequest {
            order_id: self.order_id.clone(),
            currency: p.currency.clone(),
            network: p.network.code.to_string(),
            amount: p.amount,
            to_address: p.address.clone(),
            memo: p.memo.clone(),
            fee_option: p.fee_option,
            from_currency: p.from_currency.clone(),
            remark: p.remark.clone(),
            url_callback: url_callback.map(String::from),
        }
    }
}

/// The canonical text of a payout's fields (amount normalised, so `1.5` and `1.50` agree).
fn canonical_fields(p: &Payout) -> String {
    let mut amount = p.amount;
    amount = amount.normalize();
    format!(
        "net={}\u{1f}addr={}\u{1f}amt={}\u{1f}cur={}\u{1f}memo={}\u{1f}fee={}\u{1f}from={}",
        p.network.code,
        p.address_key,
        amount,
        p.currency.to_ascii_uppercase(),
        p.memo.as_deref().unwrap_or(""),
        p.fee_option.as_str(),
        p.from_currency
            .as_deref()
            .unwrap_or("")
            .to_ascii_uppercase(),
    )
}

/// A short hex digest of the payout fields.
pub fn fields_digest(p: &Payout) -> String {
    let d = Sha256::digest(canonical_fields(p).as_bytes());
    hex::encode(&d[..16])
}

/// What a sheet pays, however its file is laid out: SHA-256 (hex) of the sorted
/// [`fields_digest`]s of its payouts, one per payout (so two identical rows count twice);
/// `None` for no payout. Line ends, a byte order mark, other columns and the order of the
/// rows do not change it; any payout field of any row does (docs/book.md, "Which run").
pub fn payouts_digest<'a>(payouts: impl Iterator<Item = &'a Payout>) -> Option<String> {
    let mut digests: Vec<String> = payouts.map(fields_digest).collect();
    if digests.is_empty() {
        return None;
    }
    digests.sort_unstable();
    let mut h = Sha256::new();
    for d in &digests {
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    Some(hex::encode(h.finalize()))
}

/// The run id as it appears in derived ids: `[A-Za-z0-9_-]` only, at most 24 characters.
pub fn sanitize_run_id(run_id: &str) -> String {
    let s: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(RUN_PREFIX_MAX)
        .collect();
    if s.is_empty() {
        "run".into()
    } else {
        s
    }
}

/// The derived id of a payout: `<run prefix>-<32 hex of SHA-256>`.
pub fn derive_order_id(run_id: &str, p: &Payout, occurrence: u32) -> OrderId {
    let mut h = Sha256::new();
    h.update(b"payrun-order-v1\x1f");
    h.update(run_id.as_bytes());
    h.update(b"\x1f");
    h.update(canonical_fields(p).as_bytes());
    h.update(format!("\x1focc={occurrence}").as_bytes());
    let d = h.finalize();
    OrderId(format!(
        "{}-{}",
        sanitize_run_id(run_id),
        hex::encode(&d[..16])
    ))
}

/// The id of a retry of a refused order (`--retry-failed`): a new order of the same run,
/// derived from the refused order's id and the attempt number (1, 2, …), so a resumed retry
/// finds the same id again.
pub fn retry_order_id(run_id: &str, refused: &OrderId, attempt: u32) -> OrderId {
    let d = Sha256::new()
        .chain_update(b"payrun-retry-v1\x1f")
        .chain_update(refused.as_str().as_bytes())
        .chain_update(format!("\x1fattempt={attempt}").as_bytes())
        .finalize();
    OrderId(format!(
        "{}-{}",
        sanitize_run_id(run_id),
        hex::encode(&d[..16])
    ))
}

/// Plans every payout: explicit ids kept, the others derived. Identical rows (possible with
/// `--allow-duplicates`) get occurrence numbers 0, 1, 2… in sheet order, so each is paid once.
pub fn plan(run_id: &str, payouts: &[Payout]) -> Vec<PlannedOrder> {
    let mut occurrences: HashMap<String, u32> = HashMap::new();
    payouts
        .iter()
        .map(|p| {
            let digest = fields_digest(p);
            let order_id = match &p.explicit_order_id {
                Some(id) => OrderId(id.clone()),
                None => {
                    let n = occurrences.entry(canonical_fields(p)).or_insert(0);
                    let id = derive_order_id(run_id, p, *n);
                    *n += 1;
                    id
                }
            };
            PlannedOrder {
                order_id,
                payout: p.clone(),
                fields_digest: digest,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeeOption;
    use crate::networks;
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use std::collections::HashSet;
    use std::str::FromStr;

    fn payout(addr: &str, amount: &str, memo: Option<&str>, line: u64) -> Payout {
        Payout {
            line,
            network: networks::lookup("TON").unwrap(),
            currency: "USDT".into(),
            address: addr.into(),
            address_key: addr.into(),
            amount: Decimal::from_str(amount).unwrap(),
            memo: memo.map(String::from),
            fee_option: FeeOption::Deduct,
            from_currency: None,
            remark: None,
            explicit_order_id: None,
        }
    }

    fn ids(plan: &[PlannedOrder]) -> Vec<String> {
        plan.iter().map(|p| p.order_id.0.clone()).collect()
    }

    #[test]
    fn ids_have_the_documented_shape() {
        let p = plan("payroll 2026/11 — ü", &[payout("a", "1", None, 2)]);
        let id = &p[0].order_id.0;
        assert!(OrderId::is_valid(id), "{id}");
        assert!(id.len() <= 64);
        assert!(id.starts_with("payroll_2026_11____"), "{id}");
    }

    #[test]
    fn identical_rows_get_distinct_ids_and_scale_does_not_matter() {
        let rows = [payout("a", "1.5", None, 2), payout("a", "1.50", None, 3)];
        let p = plan("r", &rows);
        assert_ne!(p[0].order_id, p[1].order_id);
        assert_eq!(p[0].fields_digest, p[1].fields_digest);
        let single = plan("r", &rows[1..]);
        assert_eq!(
            single[0].order_id, p[0].order_id,
            "first occurrence keeps its id"
        );
    }

    #[test]
    fn every_payout_field_and_the_run_id_change_the_id() {
        let base = payout("a", "1", Some("m"), 2);
        let id = |p: &Payout, run: &str| plan(run, std::slice::from_ref(p))[0].order_id.clone();
        let b = id(&base, "r");
        assert_ne!(b, id(&base, "r2"));
        let mut v = base.clone();
        v.amount = Decimal::from_str("1.01").unwrap();
        assert_ne!(b, id(&v, "r"));
        let mut v = base.clone();
        v.memo = None;
        assert_ne!(b, id(&v, "r"));
        let mut v = base.clone();
        v.fee_option = FeeOption::Add;
        assert_ne!(b, id(&v, "r"));
        let mut v = base.clone();
        v.currency = "TON".into();
        assert_ne!(b, id(&v, "r"));
        let mut v = base.clone();
        v.from_currency = Some("USDT".into());
        assert_ne!(b, id(&v, "r"));
        let mut v = base.clone();
        v.address_key = "b".into();
        assert_ne!(b, id(&v, "r"));
        let mut v = base.clone();
        v.line = 99;
        v.remark = Some("not a payout field".into());
        assert_eq!(b, id(&v, "r"), "line and remark are not payout fields");
    }

    #[test]
    fn explicit_ids_win() {
        let mut p = payout("a", "1", None, 2);
        p.explicit_order_id = Some("INV-7".into());
        assert_eq!(plan("r", &[p])[0].order_id.0, "INV-7");
        assert!(!OrderId::is_valid("has space"));
        assert!(!OrderId::is_valid(""));
        assert!(!OrderId::is_valid(&"x".repeat(65)));
    }

    fn arb_rows() -> impl Strategy<Value = Vec<Payout>> {
        // A small alphabet so identical rows occur often.
        prop::collection::vec((0u8..4, 1u32..4, prop::option::of(0u8..2)), 1..40).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (a, amt, memo))| {
                    payout(
                        &format!("addr{a}"),
                        &amt.to_string(),
                        memo.map(|m| if m == 0 { "x" } else { "y" }),
                        i as u64 + 2,
                    )
                })
                .collect()
        })
    }

    /// The multiset of (fields, occurrence) → id, which is what must be stable.
    fn id_set(rows: &[Payout]) -> HashSet<String> {
        ids(&plan("run", rows)).into_iter().collect()
    }

    proptest! {
        #[test]
        fn same_sheet_same_ids(rows in arb_rows()) {
            prop_assert_eq!(ids(&plan("run", &rows)), ids(&plan("run", &rows)));
        }

        #[test]
        fn ids_are_unique_within_a_plan(rows in arb_rows()) {
            let all = ids(&plan("run", &rows));
            let set: HashSet<_> = all.iter().collect();
            prop_assert_eq!(set.len(), all.len());
        }

        #[test]
        fn reordering_keeps_every_id(rows in arb_rows(), seed in any::<u64>()) {
            let mut shuffled = rows.clone();
            // Deterministic shuffle from the seed (Fisher-Yates with an LCG).
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = (s >> 33) as usize % (i + 1);
                shuffled.swap(i, j);
            }
            prop_assert_eq!(id_set(&rows), id_set(&shuffled));
        }

        #[test]
        fn inserting_or_deleting_a_distinct_row_keeps_the_others(rows in arb_rows(), at in any::<prop::sample::Index>()) {
            let before = plan("run", &rows);
            let mut with = rows.clone();
            let pos = at.index(rows.len() + 1);
            with.insert(pos, payout("someone-else", "7.77", None, 999));
            let after = plan("run", &with);
            let after_ids: HashSet<_> = ids(&after).into_iter().collect();
            for o in &before {
                prop_assert!(after_ids.contains(&o.order_id.0));
            }
            // Deleting it again gives back exactly the old ids.
            with.remove(pos);
            prop_assert_eq!(ids(&plan("run", &with)), ids(&before));
        }

        #[test]
        fn deleting_a_row_keeps_the_ids_of_rows_unlike_it(rows in arb_rows(), at in any::<prop::sample::Index>()) {
            let pos = at.index(rows.len());
            let removed = rows[pos].clone();
            let mut fewer = rows.clone();
            fewer.remove(pos);
            let before = plan("run", &rows);
            let after: HashSet<_> = ids(&plan("run", &fewer)).into_iter().collect();
            for o in before.iter().filter(|o| fields_digest(&o.payout) != fields_digest(&removed)) {
                prop_assert!(after.contains(&o.order_id.0));
            }
        }
    }
}
