//! Request pacing: a governor rate limiter (no bursts: requests are spread evenly at the
//! configured rate) plus a shared pause that a 429 sets for every worker at once.
//!
//! Gateways count requests as they *arrive*, over windows (2328: 10 per second; BlockATM: 100
//! per minute per endpoint). Spacing requests exactly `1/rate` apart when they leave the pacer
//! puts the N+1-th request of a window exactly one window after the first, so any delay of the
//! first on its way to the wire (scheduling, connection pool, loopback) that the N+1-th does not
//! have lands two requests too close together and costs a 429 — and a 429 costs a whole
//! `Retry-After` second of pause for every worker. [`Pacer::for_window`] therefore spreads the N
//! requests of a window over the window plus [`WINDOW_GUARD`]: the client never goes above the
//! published limit, whatever that jitter, up to the guard.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// Slack added to every rate-limit window for the jitter between a request leaving the pacer
/// and arriving at the gateway (a new connection's handshake, a thread descheduled on a busy
/// machine: measured at up to ~25 ms on a loaded 2-core box against the loopback sandbox). At
/// 2328's 10 req/s this paces at 97.1% of the published rate; at BlockATM's 100 req/min, 99.95%.
pub const WINDOW_GUARD: Duration = Duration::from_millis(30);

/// Paces requests to one rate-limited endpoint.
#[derive(Debug)]
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    not_before: Mutex<Option<Instant>>,
    rate: f64,
    period: Duration,
}

impl Pacer {
    /// Exactly `rate` requests per second (positive and finite; anything else is taken as 1),
    /// one every `1/rate`, with no guard.
    pub fn new(rate: f64) -> Pacer {
        let rate = sane(rate);
        Pacer::with_period(rate, Duration::from_secs_f64(1.0 / rate))
    }

    /// For a gateway that allows `rate` requests per second counted over windows of `window`
    /// (2328: 1 s; BlockATM: 60 s): the `rate × window` requests of a window are spread evenly
    /// over `window` + [`WINDOW_GUARD`], so that no window, however it is placed and whatever
    /// the jitter up to the guard, sees more than the limit.
    pub fn for_window(rate: f64, window: Duration) -> Pacer {
        let rate = sane(rate);
        let window = window.max(Duration::from_millis(1));
        let per_window = rate * window.as_secs_f64();
        // Rounded up: never faster than the guarded spacing.
        let nanos = ((window + WINDOW_GUARD).as_nanos() as f64 / per_window).ceil();
        Pacer::with_period(rate, Duration::from_nanos(nanos as u64))
    }

    fn with_period(rate: f64, period: Duration) -> Pacer {
        let period = period.max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .expect("period is positive")
            .allow_burst(NonZeroU32::MIN);
        Pacer {
            limiter: RateLimiter::direct(quota),
            not_before: Mutex::new(None),
            rate,
            period,
        }
    }

    /// The configured rate (requests per second), as given.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The spacing actually kept between two requests.
    pub fn period(&self) -> Duration {
        self.period
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

fn sane(rate: f64) -> f64 {
    if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        1.0
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

    #[test]
    fn window_pacing_stays_under_the_limit_with_the_guard_to_spare() {
        // 2328: 10 per 1 s window → one every 103 ms (97.1% of the published rate).
        let p = Pacer::for_window(10.0, Duration::from_secs(1));
        assert_eq!(p.period(), Duration::from_millis(103));
        assert_eq!(p.rate(), 10.0);
        // Ten intervals (the 1st and the 11th request of a window) span window + guard.
        assert_eq!(p.period() * 10, Duration::from_secs(1) + WINDOW_GUARD);
        // BlockATM: 100 per 60 s window → 600.3 ms.
        let p = Pacer::for_window(100.0 / 60.0, Duration::from_secs(60));
        assert!(
            p.period() >= Duration::from_micros(600_300),
            "{:?}",
            p.period()
        );
        assert!(
            p.period() < Duration::from_micros(600_301),
            "{:?}",
            p.period()
        );
        assert!(p.period() * 100 >= Duration::from_secs(60) + WINDOW_GUARD);
        // Exact pacing has no guard; nonsense rates fall back to 1/s.
        assert_eq!(Pacer::new(10.0).period(), Duration::from_millis(100));
        assert_eq!(Pacer::new(f64::NAN).period(), Duration::from_secs(1));
        assert_eq!(Pacer::for_window(-3.0, Duration::from_secs(1)).rate(), 1.0);
    }

    #[tokio::test]
    async fn window_pacing_spreads_requests_by_the_guarded_period() {
        let p = Pacer::for_window(50.0, Duration::from_secs(1));
        let start = std::time::Instant::now();
        for _ in 0..11 {
            p.ready().await;
        }
        // Ten intervals of 20.6 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
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
