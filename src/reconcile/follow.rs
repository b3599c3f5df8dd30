//! Following a run's open orders with status lookups (`payrun status`, `--wait`): which
//! orders are still asked about after each refresh. An order the gateway does not know
//! ([`UNKNOWN_POLLS`] lookups in a row find nothing; at once without `--wait`) or that cannot
//! be looked up at all is given up on, with the reason — the caller records it in the book as
//! `unresolved` and tells the user. Pure bookkeeping: no I/O.

use std::collections::{BTreeSet, HashMap};

use crate::model::OrderId;
use crate::submit::Refreshed;

/// How many status lookups in a row may find an order unknown to the gateway before `status
/// --wait` stops asking about it (a plain `status` stops after its one pass).
pub const UNKNOWN_POLLS: u32 = 5;

/// Why `status` stops asking about an order after what the last lookup learned, if it does:
/// `misses` counts the lookups in a row that found the order unknown (this one included).
pub fn give_up_after(what: &Refreshed, misses: u32, wait: bool) -> Option<String> {
    match what {
        Refreshed::Unknown(why) if misses >= UNKNOWN_POLLS || !wait => Some(format!(
            "status: {why}; {misses} lookup(s) in a row found nothing"
        )),
        Refreshed::NoLookup(why) => Some(format!("status: cannot look this order up: {why}")),
        _ => None,
    }
}

/// The orders followed so far: the lookups in a row that found each unknown, and those no
/// longer asked about.
#[derive(Debug, Default)]
pub struct Follow {
    wait: bool,
    misses: HashMap<OrderId, u32>,
    given_up: BTreeSet<OrderId>,
}

impl Follow {
    /// `wait`: `status --wait` (several passes) rather than one pass.
    pub fn new(wait: bool) -> Self {
        Follow {
            wait,
            ..Default::default()
        }
    }

    /// Takes what one refresh learned; returns the orders given up on now, each with why.
    pub fn take(&mut self, learned: Vec<(OrderId, Refreshed)>) -> Vec<(OrderId, String)> {
        let mut now = Vec::new();
        for (id, what) in learned {
            let n = match what {
                Refreshed::Unknown(_) => {
                    let n = self.misses.entry(id.clone()).or_default();
                    *n += 1;
                    *n
                }
                Refreshed::Answered => {
                    self.misses.remove(&id);
                    0
                }
                _ => self.misses.get(&id).copied().unwrap_or(0),
            };
            if let Some(why) = give_up_after(&what, n, self.wait) {
                self.given_up.insert(id.clone());
                now.push((id, why));
            }
        }
        now
    }

    /// Whether `status` still asks about `id`.
    pub fn follows(&self, id: &OrderId) -> bool {
        !self.given_up.contains(id)
    }

    /// The orders given up on, in order.
    pub fn given_up(&self) -> &BTreeSet<OrderId> {
        &self.given_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_order_is_given_up_after_the_bound_or_at_once_without_wait() {
        let unknown = Refreshed::Unknown("the gateway does not know this order (000202)".into());
        for n in 1..UNKNOWN_POLLS {
            assert_eq!(give_up_after(&unknown, n, true), None, "{n}");
        }
        let why = give_up_after(&unknown, UNKNOWN_POLLS, true).unwrap();
        assert!(
            why.contains("000202") && why.contains("5 lookup(s)"),
            "{why}"
        );
        // A plain `status` makes one pass: it says so after it.
        assert!(give_up_after(&unknown, 1, false).is_some());
        // An order that cannot be looked up is given up at once; an answer or a failed lookup
        // never is.
        let none = Refreshed::NoLookup("2328 looks payouts up by uuid only".into());
        assert!(give_up_after(&none, 0, true)
            .unwrap()
            .contains("cannot look this order up"));
        assert_eq!(give_up_after(&Refreshed::Answered, 9, true), None);
        assert_eq!(give_up_after(&Refreshed::NoAnswer, 9, true), None);
    }

    #[test]
    fn misses_count_in_a_row_and_an_answer_resets_them() {
        let id = OrderId("o-1".into());
        let unknown = || (id.clone(), Refreshed::Unknown("not found".into()));
        let mut f = Follow::new(true);
        for _ in 0..UNKNOWN_POLLS - 1 {
            assert!(f.take(vec![unknown()]).is_empty());
        }
        // An answer in between starts the count again.
        assert!(f.take(vec![(id.clone(), Refreshed::Answered)]).is_empty());
        for _ in 0..UNKNOWN_POLLS - 1 {
            assert!(f.take(vec![unknown()]).is_empty());
        }
        assert!(f.follows(&id));
        let gone = f.take(vec![unknown()]);
        assert_eq!(gone.len(), 1);
        assert!(!f.follows(&id));
        assert_eq!(f.given_up().len(), 1);
    }
}
