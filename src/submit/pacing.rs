//! Request pacing: a governor rate limiter (no bursts: requests are spread evenly at the
//! configured rate) plus a shared pause that a 429 sets for every worker at once.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// Paces requests to one rate-limited endpoint.
#[derive(Debug)]
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    not_before: Mutex<Option<Instant>>,
    rate: f64,
}

impl Pacer {
    /// `rate` requests per second (must be positive and finite).
    pub fn new(rate: f64) -> Pacer {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .expect("period is positive")
            .allow_burst(NonZeroU32::MIN);
        Pacer {
            limiter: RateLimiter::direct(quota),
            not_before: Mutex::new(None),
            rate,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Waits until a request may leave.
    pub async fn ready(&self) {
        loop {
            let until = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        self.limiter.until_ready().await;
    }

    /// Holds every request back for `d` (after a 429).
    pub fn pause(&self, d: Duration) {
        let t = Instant::now() + d;
        let mut nb = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if nb.is_none_or(|old| old < t) {
            *nb = Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spreads_requests_at_the_rate() {
        let p = Pacer::new(50.0);
        let start = std::time::Instant::now();
        for _ in 0..11 {
            p.ready().await;
        }
        // 11 requests at 50/s: the first is immediate, ten more take ~200 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(180), "{took:?}");
        assert!(took < Duration::from_millis(600), "{took:?}");
    }

    #[tokio::test]
    async fn pause_holds_requests_back() {
        let p = Pacer::new(1000.0);
        p.ready().await;
        p.pause(Duration::from_millis(150));
        let start = std::time::Instant::now();
        p.ready().await;
        assert!(start.elapsed() >= Duration::from_millis(140));
    }
}
