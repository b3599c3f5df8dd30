//! The repeat warning: a new run whose payouts were, for the most part, just paid by another
//! run of the account (a corrected copy of a paid sheet saved under another name, one row
//! removed) is named in the confirmation (`payout_repeats_recent_run`). The sheet is other
//! content, so "which run a command means" calls it new; only the payouts themselves tell.
//! A warning, not a stop: two sheets sharing payouts on purpose are paid as asked.
//!
//! A payout repeats when its payout fields (network, address, amount, currency, memo, fee
//! option, from currency: the digest `plan` derives) equal those of an order another run of
//! the account sent within [`WINDOW_HOURS`] and the gateway did not refuse. It is said when
//! at least half of the rows repeat: a new pay period with unchanged salaries comes weeks
//! later, a corrected copy within hours.

use std::collections::HashSet;

use crate::book::{Book, BookError, Run};
use crate::model::Status;
use crate::plan::PlannedOrder;

/// How recent a run must be for its payouts to count as "just paid".
pub const WINDOW_HOURS: i64 = 72;

/// What repeats: how many rows of the plan, and the runs (ids) that paid them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeats {
    pub rows: usize,
    pub runs: Vec<String>,
}

/// The rows of `plan` (of `run`, which has sent nothing yet) that other runs of `account`
/// started within the window already sent, when they are at least half of the plan.
pub fn recent_repeats(
    book: &Book,
    account: i64,
    run: &Run,
    plan: &[PlannedOrder],
) -> Result<Option<Repeats>, BookError> {
    if plan.is_empty() {
        return Ok(None);
    }
    let cutoff = (chrono::Utc::now() - chrono::Duration::hours(WINDOW_HOURS))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut paid: HashSet<String> = HashSet::new();
    let mut runs = Vec::new();
    for other in book.runs(Some(account))? {
        if other.pk == run.pk || other.started_at < cutoff {
            continue;
        }
        let before = paid.len();
        book.for_each_run_order(account, other.pk, |o| {
            if o.sent && !matches!(o.status, Status::Failed | Status::Cancelled) {
                paid.insert(o.digest);
            }
        })?;
        if paid.len() > before {
            runs.push(other.run_id);
        }
    }
    let rows = plan
        .iter()
        .filter(|o| paid.contains(&o.fields_digest))
        .count();
    Ok((rows > 0 && rows * 2 >= plan.len()).then_some(Repeats { rows, runs }))
}
