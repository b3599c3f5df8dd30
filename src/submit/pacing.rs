//! Request pacing: a governor rate limiter (no bursts: requests are spread evenly at the
//! configured rate) plus a shared pause that a 429 sets for every worker at once, and a
//! slow-down: a 429 above the published limit, or 429s that keep coming at or under it, lower
//! the pacer's rate for the rest of the run ([`slowed_rate`]).
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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use crate::model::GatewayKind;

/// Slack added to every rate-limit window for the jitter between a request leaving the pacer
/// and arriving at the gateway (a new connection's handshake, a thread descheduled on a busy
/// machine: measured at up to ~25 ms on a loaded 2-core box against the loopback sandbox). At
/// 2328's 10 req/s this paces at 97.1% of the published rate; at BlockATM's 100 req/min, 99.95%.
pub const WINDOW_GUARD: Duration = Duration::from_millis(30);

/// The slowest a 429 slows a pacer down to, as a fraction of the published limit (2328:
/// 1.25/s; BlockATM: 12.5 requests a minute per endpoint).
pub const SLOWEST_FRACTION: f64 = 1.0 / 8.0;

/// A gateway's published rate limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishedLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window they are counted over.
    pub window: Duration,
    /// What the limit is counted per ("project", "endpoint").
    pub per: &'static str,
}

impl PublishedLimit {
    /// 2328: 10 requests per second per project (every endpoint shares it). BlockATM: 100
    /// requests per minute per endpoint.
    pub fn of(kind: GatewayKind) -> PublishedLimit {
        match kind {
            GatewayKind::G2328 => PublishedLimit {
                requests: 10,
                window: Duration::from_secs(1),
                per: "project",
            },
            GatewayKind::BlockAtm => PublishedLimit {
                requests: 100,
                window: Duration::from_secs(60),
                per: "endpoint",
            },
        }
    }

    /// The limit in requests per second.
    pub fn per_second(&self) -> f64 {
        f64::from(self.requests) / self.window.as_secs_f64().max(1e-9)
    }

    /// Whether `rate` (requests per second) is above the limit. A rate that rounds to the limit
    /// (within 0.1%: `1.667` for BlockATM's 100 a minute) is not.
    pub fn exceeded_by(&self, rate: f64) -> bool {
        above(rate, self.per_second())
    }
}

impl std::fmt::Display for PublishedLimit {
    /// "10 requests/s per project", "100 requests/min per endpoint (1.667/s)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.window.as_secs() {
            60 => write!(
                f,
                "{} requests/min per {} ({}/s)",
                self.requests,
                self.per,
                fmt_rate(self.per_second())
            ),
            _ => write!(
                f,
                "{} requests/s per {}",
                fmt_rate(self.per_second()),
                self.per
            ),
        }
    }
}

/// A rate for people: at most three decimals, no trailing zeros (`10`, `12.5`, `1.667`).
pub fn fmt_rate(rate: f64) -> String {
    let s = format!("{rate:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Whether `rate` is above `published` by more than rounding (0.1%).
fn above(rate: f64, published: f64) -> bool {
    rate > published * 1.001
}

/// The slow-down rule: the rate (requests per second) a pacer keeps after the gateway answered
/// 429 to a request sent at `rate`, for a gateway whose published limit is `published`.
/// `repeated`: another 429 came less than a window's worth of requests before this one (see
/// [`Pacer::rate_limited`]).
///
/// - Above the published limit: half the rate, but no lower than the limit (the gateway's
///   documented figure is the best guess of what it allows).
/// - At or under it, a lone 429 changes nothing: it is taken for jitter (a request late on its
///   way to the gateway), which the pause after it absorbs. A repeated one halves the rate
///   (the limit is shared, or lower than published), down to [`SLOWEST_FRACTION`] of it.
/// - Never faster than `rate`.
///
/// From `--rate 50` on 2328 (10/s): 25, 12.5, 10; then, only while 429s keep coming, 5, 2.5,
/// 1.25.
pub fn slowed_rate(rate: f64, published: f64, repeated: bool) -> f64 {
    if !(rate.is_finite() && rate > 0.0) {
        return sane(rate);
    }
    let published = if published.is_finite() && published > 0.0 {
        published
    } else {
        rate
    };
    let half = rate / 2.0;
    let next = if above(rate, published) {
        half.max(published)
    } else if repeated {
        half.max(published * SLOWEST_FRACTION)
    } else {
        rate
    };
    next.min(rate)
}

/// The limiter of one rate, and when it took over.
#[derive(Debug)]
struct Current {
    limiter: Arc<DefaultDirectRateLimiter>,
    rate: f64,
    period: Duration,
    /// Bumped at every slow-down.
    generation: u64,
    /// Requests granted so far.
    granted: u64,
    /// When the last 429 that counted was taken, and `granted` then (None: none yet).
    last_429: Option<(Instant, u64)>,
}

/// Paces requests to one rate-limited endpoint.
#[derive(Debug)]
pub struct Pacer {
    current: Mutex<Current>,
    not_before: Mutex<Option<Instant>>,
    /// The window the rate is counted over (None: exact spacing, no guard).
    window: Option<Duration>,
    /// The gateway's published limit (requests per second) a slow-down is measured against.
    published: f64,
}

impl Pacer {
    /// Exactly `rate` requests per second (positive and finite; anything else is taken as 1),
    /// one every `1/rate`, with no guard.
    pub fn new(rate: f64) -> Pacer {
        let rate = sane(rate);
        Pacer::with(rate, None)
    }

    /// For a gateway that allows `rate` requests per second counted over windows of `window`
    /// (2328: 1 s; BlockATM: 60 s): the `rate × window` requests of a window are spread evenly
    /// over `window` + [`WINDOW_GUARD`], so that no window, however it is placed and whatever
    /// the jitter up to the guard, sees more than the limit.
    pub fn for_window(rate: f64, window: Duration) -> Pacer {
        let rate = sane(rate);
        Pacer::with(rate, Some(window.max(Duration::from_millis(1))))
    }

    /// The published limit a 429 slows this pacer down against (default: its starting rate).
    pub fn with_published(mut self, published: f64) -> Pacer {
        self.published = sane(published);
        self
    }

    fn with(rate: f64, window: Option<Duration>) -> Pacer {
        let period = period_of(rate, window);
        Pacer {
            current: Mutex::new(Current {
                limiter: Arc::new(limiter(period)),
                rate,
                period,
                generation: 0,
                granted: 0,
                last_429: None,
            }),
            not_before: Mutex::new(None),
            window,
            published: rate,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rate kept now (requests per second): as configured, until a 429 slows it down.
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// The spacing actually kept between two requests now.
    pub fn period(&self) -> Duration {
        self.lock().period
    }

    /// The published limit this pacer slows down against (requests per second).
    pub fn published(&self) -> f64 {
        self.published
    }

    fn paused_until(&self) -> Option<Instant> {
        let until = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        until.filter(|t| *t > Instant::now())
    }

    /// Waits until a request may leave.
    pub async fn ready(&self) {
        loop {
            while let Some(t) = self.paused_until() {
                tokio::time::sleep_until(t).await;
            }
            let (generation, limiter) = {
                let c = self.lock();
                (c.generation, c.limiter.clone())
            };
            limiter.until_ready().await;
            // A slow-down or a pause that came while this request waited for its slot: wait
            // again, at the new pace, after the pause.
            let paused = self.paused_until().is_some();
            let mut c = self.lock();
            if c.generation == generation && !paused {
                c.granted += 1;
                return;
            }
        }
    }

    /// Holds every request back for `d` (after a 429).
    pub fn pause(&self, d: Duration) {
        let t = Instant::now() + d;
        let mut nb = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if nb.is_none_or(|old| old < t) {
            *nb = Some(t);
        }
    }

    /// The published limit's requests per window (2328: 10; BlockATM: 100).
    fn per_window(&self) -> f64 {
        self.published * self.window.unwrap_or(Duration::from_secs(1)).as_secs_f64()
    }

    /// The gateway answered 429 to a request that left at `sent` (when its slot was granted):
    /// every request is held back for `wait`, and the pacer may slow down ([`slowed_rate`]) for
    /// the rest of its life. A 429 to a request that left before the last 429 was taken is part
    /// of the same burst (requests in flight together) and counts once; a 429 is `repeated` when
    /// at most a window's worth of requests (the published limit's) were granted since the last
    /// one that counted. Returns the new rate when this 429 slowed the pacer down.
    pub fn rate_limited(&self, sent: Instant, wait: Duration) -> Option<f64> {
        self.pause(wait);
        let mut c = self.lock();
        if c.last_429.is_some_and(|(at, _)| sent < at) {
            return None;
        }
        let repeated = c
            .last_429
            .is_some_and(|(_, then)| (c.granted.saturating_sub(then) as f64) <= self.per_window());
        c.last_429 = Some((Instant::now(), c.granted));
        let next = slowed_rate(c.rate, self.published, repeated);
        if next >= c.rate {
            return None;
        }
        let period = period_of(next, self.window);
        c.limiter = Arc::new(limiter(period));
        c.rate = next;
        c.period = period;
        c.generation += 1;
        Some(next)
    }
}

/// The spacing for `rate`: exact without a window; with one, the `rate × window` requests of a
/// window spread over `window` + [`WINDOW_GUARD`], rounded up (never faster than that).
fn period_of(rate: f64, window: Option<Duration>) -> Duration {
    let nanos = match window {
        None => 1e9 / rate,
        Some(window) => {
            let per_window = rate * window.as_secs_f64();
            ((window + WINDOW_GUARD).as_nanos() as f64 / per_window).ceil()
        }
    };
    // Bounded: no rate below 1 per ~11.6 days nor above 1e9/s reaches governor.
    Duration::from_nanos(nanos.clamp(1.0, 1e15) as u64)
}

fn limiter(period: Duration) -> DefaultDirectRateLimiter {
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    RateLimiter::direct(quota)
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

    #[test]
    fn a_429_halves_the_rate_down_to_the_limit_then_only_when_repeated() {
        for repeated in [false, true] {
            // Above the published limit: halves, but stops at the limit.
            assert_eq!(slowed_rate(50.0, 10.0, repeated), 25.0);
            assert_eq!(slowed_rate(25.0, 10.0, repeated), 12.5);
            assert_eq!(slowed_rate(12.5, 10.0, repeated), 10.0);
            assert_eq!(slowed_rate(11.0, 10.0, repeated), 10.0);
            // Never faster: a rate set under the floor stays.
            assert_eq!(slowed_rate(0.5, 10.0, repeated), 0.5);
        }
        // At or under it, a lone 429 is jitter: nothing changes.
        assert_eq!(slowed_rate(10.0, 10.0, false), 10.0);
        assert_eq!(slowed_rate(10.005, 10.0, false), 10.005);
        assert_eq!(slowed_rate(4.0, 10.0, false), 4.0);
        // Repeated: halves down to an eighth of the limit.
        assert_eq!(slowed_rate(10.0, 10.0, true), 5.0);
        assert_eq!(slowed_rate(2.5, 10.0, true), 1.25);
        assert_eq!(slowed_rate(1.25, 10.0, true), 1.25);
        // BlockATM: 100/min; 1.667 is the limit, rounded.
        let b = 100.0 / 60.0;
        assert_eq!(slowed_rate(4.0, b, false), 2.0);
        assert_eq!(slowed_rate(2.0, b, false), b);
        assert_eq!(slowed_rate(1.667, b, false), 1.667);
        assert_eq!(slowed_rate(b, b, true), b / 2.0);
        assert_eq!(slowed_rate(b / 8.0, b, true), b / 8.0);
        // Nonsense in, something sane out (never a panic, never faster).
        assert_eq!(slowed_rate(f64::NAN, 10.0, true), 1.0);
        assert_eq!(slowed_rate(8.0, f64::NAN, true), 4.0);
        assert_eq!(slowed_rate(8.0, 0.0, true), 4.0);
        // From 50/s the rate reaches the floor in a bounded number of steps, and stays.
        let mut r = 50.0;
        let mut steps = 0;
        while slowed_rate(r, 10.0, true) < r {
            r = slowed_rate(r, 10.0, true);
            steps += 1;
        }
        assert_eq!((r, steps), (1.25, 6));
    }

    #[test]
    fn published_limits_and_rates_read_well() {
        let g = PublishedLimit::of(GatewayKind::G2328);
        assert_eq!(g.per_second(), 10.0);
        assert_eq!(g.to_string(), "10 requests/s per project");
        assert!(!g.exceeded_by(10.0));
        assert!(g.exceeded_by(10.5));
        let b = PublishedLimit::of(GatewayKind::BlockAtm);
        assert_eq!(b.to_string(), "100 requests/min per endpoint (1.667/s)");
        assert!(!b.exceeded_by(1.667));
        assert!(b.exceeded_by(1.7));
        assert_eq!(fmt_rate(12.5), "12.5");
        assert_eq!(fmt_rate(10.0), "10");
        assert_eq!(fmt_rate(100.0 / 60.0), "1.667");
        assert_eq!(fmt_rate(0.0001), "0");
    }

    #[tokio::test]
    async fn a_429_slows_the_pacer_once_per_rate() {
        let p = Pacer::for_window(50.0, Duration::from_secs(1)).with_published(10.0);
        p.ready().await;
        let sent = Instant::now();
        assert_eq!(p.rate_limited(sent, Duration::ZERO), Some(25.0));
        assert_eq!(p.rate(), 25.0);
        assert_eq!(p.period(), Duration::from_micros(41_200));
        // Another request sent at the old rate answered 429 too: the same burst, no second
        // slow-down.
        assert_eq!(p.rate_limited(sent, Duration::ZERO), None);
        assert_eq!(p.rate(), 25.0);
        // A request sent at the new rate that gets a 429 slows it down again.
        p.ready().await;
        assert_eq!(p.rate_limited(Instant::now(), Duration::ZERO), Some(12.5));
        p.ready().await;
        assert_eq!(p.rate_limited(Instant::now(), Duration::ZERO), Some(10.0));
        // At the limit now: another 429 right away keeps coming, so it halves again.
        p.ready().await;
        assert_eq!(p.rate_limited(Instant::now(), Duration::ZERO), Some(5.0));
        // Down to the floor, and no further.
        for _ in 0..10 {
            p.ready().await;
            p.rate_limited(Instant::now(), Duration::ZERO);
        }
        assert_eq!(p.rate(), 1.25);
        assert_eq!(p.rate_limited(Instant::now(), Duration::ZERO), None);
    }

    #[tokio::test]
    async fn at_the_limit_a_lone_429_only_pauses_and_429s_that_keep_coming_slow_down() {
        let p = Pacer::new(1000.0).with_published(1000.0);
        p.ready().await;
        // A lone 429: a pause, no slow-down.
        assert_eq!(p.rate_limited(Instant::now(), Duration::ZERO), None);
        assert_eq!(p.rate(), 1000.0);
        // A window's worth of requests (1000) and one more go by without a 429: the next 429 is
        // a lone one again.
        for _ in 0..1001 {
            p.ready().await;
        }
        assert_eq!(p.rate_limited(Instant::now(), Duration::ZERO), None);
        assert_eq!(p.rate(), 1000.0);
        // Another within the window's worth: the limit is lower than published; halve.
        for _ in 0..10 {
            p.ready().await;
        }
        assert_eq!(p.rate_limited(Instant::now(), Duration::ZERO), Some(500.0));
    }

    #[tokio::test]
    async fn after_a_slow_down_requests_leave_at_the_new_pace_after_the_pause() {
        let p = Arc::new(Pacer::new(1000.0).with_published(100.0));
        p.ready().await;
        // Above the limit: slow to 500/s, with a 100 ms pause, while nothing waits.
        assert_eq!(
            p.rate_limited(Instant::now(), Duration::from_millis(100)),
            Some(500.0)
        );
        let start = std::time::Instant::now();
        for _ in 0..6 {
            p.ready().await;
        }
        // The pause, then five intervals of 2 ms (not 1 ms).
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(108), "{took:?}");
        assert!(took < Duration::from_millis(400), "{took:?}");
    }

    #[tokio::test]
    async fn a_pause_that_comes_while_waiting_for_a_slot_holds_the_request() {
        let p = Arc::new(Pacer::new(5.0));
        p.ready().await;
        // The next slot is 200 ms away; a 429 elsewhere pauses everything for 400 ms.
        let waiting = tokio::spawn({
            let p = p.clone();
            async move {
                let start = std::time::Instant::now();
                p.ready().await;
                start.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        p.pause(Duration::from_millis(400));
        let took = waiting.await.unwrap();
        assert!(took >= Duration::from_millis(440), "{took:?}");
    }
}
