//! Crash points for the crash tests: `PAYRUN_TEST_CRASH_AT=<point>:<n>` makes the process abort
//! (no destructor, no flush — as a SIGKILL would leave it) the n-th time it reaches `<point>`.
//! Unset (always, outside the crash tests) it costs one relaxed atomic load per point.
//!
//! Points: `before_intent` (an intent is about to be committed), `after_intent` (committed,
//! the request not sent), `after_send` (the gateway answered, the answer not committed),
//! `in_commit` (inside the answer's transaction, before it commits), `in_results` (the
//! results ledger's temporary file written, not renamed).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable naming the crash point.
pub const ENV: &str = "PAYRUN_TEST_CRASH_AT";

static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

fn target() -> &'static Option<(String, u64)> {
    TARGET.get_or_init(|| {
        let v = std::env::var(ENV).ok()?;
        let (point, n) = v.split_once(':')?;
        Some((point.to_string(), n.parse().ok()?))
    })
}

/// Marks reaching `point`; aborts the process when it is the configured crash.
pub fn hit(point: &str) {
    if let Some((p, n)) = target() {
        if p == point && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            eprintln!("payrun: crash point {point}:{n} reached (test)");
            std::process::abort();
        }
    }
}
