//! The status pass `run` makes right after sending: one lookup of every accepted order that is
//! not final yet, when that is quick at the gateway's lookup rate (at most [`RECONCILE_SECS`]);
//! otherwise `payrun status --wait` follows them and the user is told so. Every answer is
//! judged and recorded by the engine like any other.

use std::time::Duration;

use crate::book::BookError;
use crate::model::{OrderId, Status};
use crate::submit::{Engine, Refreshed};

/// The longest status pass `run` makes after sending, in seconds.
pub const RECONCILE_SECS: u64 = 15;

/// How many lookups fit in [`RECONCILE_SECS`] at one lookup per `period`.
pub fn budget(period: Duration) -> usize {
    let per = period.as_secs_f64().max(1e-6);
    (RECONCILE_SECS as f64 / per) as usize
}

/// Looks up the run's pending orders once, when they fit in the budget; an order the gateway
/// accepted but cannot find is recorded as unresolved (it stays pending, never paid).
pub async fn after_sending(engine: &Engine) -> Result<(), BookError> {
    let pending: Vec<OrderId> = engine.book.ids_where(|s| s == Status::Pending)?;
    if pending.len() > budget(engine.pacers.lookup.period()) {
        eprintln!(
            "{} payouts are pending; follow them with `payrun status --wait` \
             (a status pass now would take over {RECONCILE_SECS} s at the gateway's lookup rate)",
            pending.len()
        );
        return Ok(());
    }
    if pending.is_empty() {
        return Ok(());
    }
    for (id, what) in engine.refresh(pending).await? {
        if let Refreshed::Unknown(why) = what {
            engine.unresolved(
                &id,
                format!(
                    "the gateway accepted this order but its status lookup does not find it: {why}"
                ),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_pass_is_bounded_by_the_lookup_rate() {
        // 2328: 10/s → 150 lookups; BlockATM: 100/min → 25.
        assert_eq!(budget(Duration::from_millis(100)), 150);
        assert_eq!(budget(Duration::from_millis(600)), 25);
    }
}
