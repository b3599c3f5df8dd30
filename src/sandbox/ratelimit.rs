//! Sliding-window rate limits per key (2328: per project per second; BlockATM: per endpoint
//! per minute), with an optional ban (HTTP 418) for a client that keeps going after 429s.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a ban (418) lasts.
pub const BAN_DURATION: Duration = Duration::from_secs(60);

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allow,
    /// Over the limit: wait this long before the window frees a slot.
    Limited {
        retry_after: Duration,
    },
    /// Banned (HTTP 418) after continued hammering.
    Banned,
}

#[derive(Debug, Default)]
struct KeyState {
    accepted: VecDeque<Instant>,
    strikes: u32,
    banned_until: Option<Instant>,
}

/// The limiter for all keys.
#[derive(Debug, Default)]
pub struct RateLimiter {
    keys: HashMap<String, KeyState>,
}

impl RateLimiter {
    /// Checks one request against `limit` requests per `window` for `key` (limit 0 = off).
    /// `ban_after` > 0: after that many 429s in a row the key is banned for [`BAN_DURATION`].
    pub fn check(
        &mut self,
        key: &str,
        limit: u32,
        window: Duration,
        ban_after: u32,
        now: Instant,
    ) -> RateDecision {
        if limit == 0 {
            return RateDecision::Allow;
        }
        let st = self.keys.entry(key.to_string()).or_default();
        if let Some(until) = st.banned_until {
            if now < until {
                return RateDecision::Banned;
            }
            st.banned_until = None;
            st.strikes = 0;
        }
        while st
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            st.accepted.pop_front();
        }
        if st.accepted.len() < limit as usize {
            st.accepted.push_back(now);
            st.strikes = 0;
            return RateDecision::Allow;
        }
        st.strikes += 1;
        if ban_after > 0 && st.strikes > ban_after {
            st.banned_until = Some(now + BAN_DURATION);
            return RateDecision::Banned;
        }
        let oldest = st.accepted.front().copied().unwrap_or(now);
        let retry_after = window.saturating_sub(now.saturating_duration_since(oldest));
        RateDecision::Limited { retry_after }
    }
}

/// Whole seconds to announce in `Retry-After`: rounded up, at least 1.
pub fn retry_after_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_per_window_then_429_then_free_again() {
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        let w = Duration::from_secs(1);
        for _ in 0..3 {
            assert_eq!(rl.check("p", 3, w, 0, t0), RateDecision::Allow);
        }
        match rl.check("p", 3, w, 0, t0 + Duration::from_millis(400)) {
            RateDecision::Limited { retry_after } => {
                assert_eq!(retry_after, Duration::from_millis(600))
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert_eq!(rl.check("other", 3, w, 0, t0), RateDecision::Allow);
        assert_eq!(rl.check("p", 3, w, 0, t0 + w), RateDecision::Allow);
    }

    #[test]
    fn zero_limit_is_off() {
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(
                rl.check("p", 0, Duration::from_secs(1), 0, t0),
                RateDecision::Allow
            );
        }
    }

    #[test]
    fn hammering_after_429_gets_banned_when_configured() {
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        let w = Duration::from_secs(60);
        assert_eq!(rl.check("e", 1, w, 2, t0), RateDecision::Allow);
        assert!(matches!(
            rl.check("e", 1, w, 2, t0),
            RateDecision::Limited { .. }
        ));
        assert!(matches!(
            rl.check("e", 1, w, 2, t0),
            RateDecision::Limited { .. }
        ));
        assert_eq!(rl.check("e", 1, w, 2, t0), RateDecision::Banned);
        assert_eq!(
            rl.check("e", 1, w, 2, t0 + Duration::from_secs(30)),
            RateDecision::Banned
        );
        assert_eq!(
            rl.check("e", 1, w, 2, t0 + BAN_DURATION),
            RateDecision::Allow
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
