//! Retrying a gateway call: the policy as a pure function ([`decide`]: given what a call ended
//! with and how many tries were made, stop or retry after a wait; no I/O, no clock, no
//! randomness of its own, so every case is tested on its own), and the one driver every retry
//! loop uses ([`Retries`]: counts the tries of each kind, draws the jitter, waits).

use std::time::Duration;

use crate::gateway::GatewayError;
use crate::submit::stop::Stop;

/// What to do after a failed call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Give up on this order for this run (it keeps its recorded state).
    Stop,
    /// Try again (same order id) after the wait.
    Retry(Duration),
}

/// The bounds of retrying.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Tries after 429s before giving up on the order for this run.
    pub max_rate_limited: u32,
    /// Tries after 5xx, timeouts and unreadable answers.
    pub max_transient: u32,
    /// First backoff step.
    pub base: Duration,
    /// Largest backoff step.
    pub cap: Duration,
    /// Wait after a 429 that did not say how long.
    pub default_rate_wait: Duration,
    /// Longest wait a 429 may ask for before payrun gives up instead.
    pub max_rate_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_rate_limited: 10,
            max_transient: 6,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
            default_rate_wait: Duration::from_secs(1),
            max_rate_wait: Duration::from_secs(300),
        }
    }
}

/// `attempt` counts the tries already made that ended in `err` (1 after the first failure).
/// `jitter` is a number in [0, 1): the backoff is spread over [half, full] of its step.
pub fn decide(policy: &RetryPolicy, err: &GatewayError, attempt: u32, jitter: f64) -> Decision {
    match err {
        GatewayError::RateLimited { retry_after } => {
            if attempt >= policy.max_rate_limited {
                return Decision::Stop;
            }
            let wait = retry_after.unwrap_or(policy.default_rate_wait);
            if wait > policy.max_rate_wait {
                Decision::Stop
            } else {
                Decision::Retry(wait)
            }
        }
        GatewayError::Unavailable { .. } | GatewayError::Ambiguous { .. } => {
            if attempt >= policy.max_transient {
                return Decision::Stop;
            }
            let exp = attempt.saturating_sub(1).min(20);
            let step = policy.base.saturating_mul(1u32 << exp).min(policy.cap);
            let jitter = jitter.clamp(0.0, 1.0);
            Decision::Retry(step.mul_f64(0.5 + jitter / 2.0))
        }
        // Not applied for a reason a retry now does not fix (a clock outside the receive
        // window): the order goes back to not sent; the next run sends it.
        GatewayError::Rejected { .. }
        | GatewayError::NotApplied { .. }
        | GatewayError::Duplicate { .. }
        | GatewayError::NotFound { .. }
        | GatewayError::Auth { .. }
        | GatewayError::Banned { .. }
        | GatewayError::Unsupported(_) => Decision::Stop,
    }
}

/// The state of one call's retries: the tries that ended rate limited and those that ended
/// otherwise are counted apart (each kind has its own bound in [`RetryPolicy`]). Every retry
/// loop in payrun (sending, batches, lookups, fee quotes) is driven by one of these.
#[derive(Debug, Clone)]
pub struct Retries {
    policy: RetryPolicy,
    rate_limited: u32,
    other: u32,
}

impl Retries {
    /// No tries made yet.
    pub fn new(policy: RetryPolicy) -> Self {
        Retries {
            policy,
            rate_limited: 0,
            other: 0,
        }
    }

    /// Counts a try that ended in `err` and decides what follows (random jitter).
    pub fn after(&mut self, err: &GatewayError) -> Decision {
        self.after_with_jitter(err, rand::random::<f64>())
    }

    /// [`Retries::after`] with the jitter given (tests).
    pub fn after_with_jitter(&mut self, err: &GatewayError, jitter: f64) -> Decision {
        let tries = match err {
            GatewayError::RateLimited { .. } => &mut self.rate_limited,
            _ => &mut self.other,
        };
        *tries += 1;
        decide(&self.policy, err, *tries, jitter)
    }

    /// Counts a try that ended in `err` and, when the policy says retry, waits as long as it
    /// says. True: try again now. False: give up — the policy said stop, or `stop` was set
    /// (Ctrl-C, a fatal answer) before or during the wait.
    pub async fn wait_after(&mut self, err: &GatewayError, stop: &Stop) -> bool {
        match self.after(err) {
            Decision::Retry(wait) => stop.sleep(wait).await,
            Decision::Stop => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn rate_limited_waits_as_asked() {
        let e = GatewayError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            decide(&p(), &e, 1, 0.3),
            Decision::Retry(Duration::from_secs(7))
        );
    }

    #[test]
    fn rate_limited_without_a_wait_uses_the_default() {
        let e = GatewayError::RateLimited { retry_after: None };
        assert_eq!(
            decide(&p(), &e, 1, 0.9),
            Decision::Retry(Duration::from_secs(1))
        );
    }

    #[test]
    fn rate_limited_gives_up_after_the_bound_or_an_absurd_wait() {
        let e = GatewayError::RateLimited { retry_after: None };
        assert_eq!(decide(&p(), &e, 10, 0.0), Decision::Stop);
        let e = GatewayError::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(decide(&p(), &e, 1, 0.0), Decision::Stop);
    }

    #[test]
    fn transient_errors_back_off_exponentially_with_jitter() {
        let e = GatewayError::Unavailable {
            message: "503".into(),
        };
        assert_eq!(
            decide(&p(), &e, 1, 0.0),
            Decision::Retry(Duration::from_millis(125))
        );
        assert_eq!(
            decide(&p(), &e, 1, 1.0),
            Decision::Retry(Duration::from_millis(250))
        );
        assert_eq!(
            decide(&p(), &e, 3, 1.0),
            Decision::Retry(Duration::from_millis(1000))
        );
        let a = GatewayError::Ambiguous {
            message: "timeout".into(),
        };
        assert_eq!(
            decide(&p(), &a, 2, 1.0),
            Decision::Retry(Duration::from_millis(500))
        );
    }

    #[test]
    fn backoff_is_capped() {
        let policy = RetryPolicy {
            max_transient: 100,
            ..p()
        };
        let e = GatewayError::Unavailable {
            message: "x".into(),
        };
        assert_eq!(
            decide(&policy, &e, 50, 1.0),
            Decision::Retry(Duration::from_secs(30))
        );
    }

    #[test]
    fn transient_errors_stop_after_the_bound() {
        let e = GatewayError::Ambiguous {
            message: "x".into(),
        };
        assert_eq!(decide(&p(), &e, 6, 0.5), Decision::Stop);
        assert!(matches!(decide(&p(), &e, 5, 0.5), Decision::Retry(_)));
    }

    #[test]
    fn final_and_fatal_answers_never_retry() {
        for e in [
            GatewayError::Rejected {
                code: "x".into(),
                message: "y".into(),
            },
            GatewayError::Duplicate {
                code: "000106".into(),
                message: "dup".into(),
            },
            GatewayError::NotFound {
                code: "000202".into(),
                message: "none".into(),
            },
            GatewayError::Auth {
                message: "sig".into(),
            },
            GatewayError::Banned {
                message: "418".into(),
            },
            GatewayError::Unsupported("no"),
        ] {
            assert_eq!(decide(&p(), &e, 1, 0.5), Decision::Stop, "{e:?}");
        }
    }

    #[test]
    fn the_driver_counts_rate_limits_and_other_failures_apart() {
        let mut r = Retries::new(p());
        let busy = GatewayError::RateLimited { retry_after: None };
        let down = GatewayError::Unavailable {
            message: "503".into(),
        };
        // Nine 429s do not use up the five retries of a 503, nor the other way round.
        for _ in 0..9 {
            assert!(matches!(
                r.after_with_jitter(&busy, 0.0),
                Decision::Retry(_)
            ));
        }
        for _ in 0..5 {
            assert!(matches!(
                r.after_with_jitter(&down, 0.0),
                Decision::Retry(_)
            ));
        }
        assert_eq!(r.after_with_jitter(&busy, 0.0), Decision::Stop);
        assert_eq!(r.after_with_jitter(&down, 0.0), Decision::Stop);
    }

    #[tokio::test]
    async fn the_driver_gives_up_at_once_when_the_run_is_stopping() {
        let stop = Stop::default();
        stop.interrupt();
        let mut r = Retries::new(p());
        let down = GatewayError::Unavailable {
            message: "503".into(),
        };
        assert!(!r.wait_after(&down, &stop).await);
        let mut r = Retries::new(p());
        assert!(Retries::new(p()).after(&down) != Decision::Stop);
        let running = Stop::default();
        let busy = GatewayError::RateLimited {
            retry_after: Some(Duration::from_millis(1)),
        };
        assert!(r.wait_after(&busy, &running).await);
    }
}
