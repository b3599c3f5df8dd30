//! Pacing against the in-process sandbox with 50 ms added latency and its real rate limits on:
//! the engine sustains at least 95% of the configured rate with zero 429s — 2328 single creates
//! at the published 10 req/s, and BlockATM batches delivering rate × chunk-size rows per second.
//! Plus the window-edge arithmetic, without a network: the client's pacer against the
//! sandbox's own sliding-window limiter, with adversarial arrival jitter.

mod pacing_support;

use std::time::{Duration, Instant};

use pacing_support::{measure, Scenario};
use payrun::sandbox::ratelimit::{RateDecision, RateLimiter};
use payrun::submit::pacing::{Pacer, WINDOW_GUARD};

#[test]
fn g2328_sustains_the_published_rate_without_429() {
    let out = measure(&Scenario::g2328(60));
    eprintln!("{}", out.line("2328 single, 60 orders"));
    assert_eq!(out.paid, 60, "{out:?}");
    assert_eq!(out.requests, 60, "a request was repeated: {out:?}");
    assert_eq!(out.too_many, 0, "{out:?}");
    assert!(out.ratio() >= 0.95, "{out:?}");
    assert!(
        out.ratio() <= 1.0,
        "faster than the published limit: {out:?}"
    );
}

#[test]
fn blockatm_batches_deliver_rate_times_chunk_rows_per_second() {
    // 4 batch requests per second (the sandbox's per-endpoint limit set to 240/min to match),
    // 50 orders each: 200 rows per second.
    let s = Scenario::blockatm_batch(12, 50, 4.0);
    let out = measure(&s);
    eprintln!("{}", out.line("BlockATM batch, 12 x 50 orders at 4 req/s"));
    assert_eq!(out.paid, 600, "{out:?}");
    assert_eq!(out.requests, 12, "{out:?}");
    assert_eq!(out.too_many, 0, "{out:?}");
    assert!(out.ratio() >= 0.95, "{out:?}");
    assert!(out.ratio() <= 1.0, "{out:?}");
    assert!(
        out.rows_ratio() >= 0.95,
        "rows/s below rate x chunk: {out:?}"
    );
}

/// Grants `n` requests at the pacer's spacing and offers them to the sandbox limiter with the
/// given arrival delay per request; returns how many were refused.
fn refused(
    pacer: &Pacer,
    limit: u32,
    window: Duration,
    n: u32,
    delay: impl Fn(u32) -> Duration,
) -> usize {
    let mut rl = RateLimiter::default();
    let t0 = Instant::now();
    (0..n)
        .filter(|&k| {
            let arrival = t0 + pacer.period() * k + delay(k);
            rl.check("p", limit, window, 0, arrival) != RateDecision::Allow
        })
        .count()
}

#[test]
fn guarded_pacing_survives_arrival_jitter_at_window_edges() {
    let second = Duration::from_secs(1);
    // The worst case for a sliding window: the first request of each window arrives late by
    // almost the guard, the rest on time.
    let jitter = |k: u32| {
        if k.is_multiple_of(10) {
            WINDOW_GUARD - Duration::from_micros(1)
        } else {
            Duration::ZERO
        }
    };
    let guarded = Pacer::for_window(10.0, second);
    assert_eq!(refused(&guarded, 10, second, 200, jitter), 0);
    assert_eq!(refused(&guarded, 10, second, 200, |_| Duration::ZERO), 0);
    // Exact spacing agrees with the limiter only when nothing is ever late...
    let exact = Pacer::new(10.0);
    assert_eq!(refused(&exact, 10, second, 200, |_| Duration::ZERO), 0);
    // ...and a single late request then costs a 429 (what the guard is for).
    let one_late = |k: u32| {
        if k == 0 {
            Duration::from_millis(1)
        } else {
            Duration::ZERO
        }
    };
    assert_eq!(refused(&exact, 10, second, 200, one_late), 1);
    // BlockATM: 100 per minute per endpoint.
    let minute = Duration::from_secs(60);
    let blockatm = Pacer::for_window(100.0 / 60.0, minute);
    let late_every_100 = |k: u32| {
        if k.is_multiple_of(100) {
            WINDOW_GUARD - Duration::from_micros(1)
        } else {
            Duration::ZERO
        }
    };
    assert_eq!(refused(&blockatm, 100, minute, 400, late_every_100), 0);
}

/// The intent is recorded before the pacer's slot, so a stop can come between the two. An
/// order never sent before goes back to not sent (nothing left the client); one that was
/// already in doubt stays in doubt. Nothing waiting for a slot is sent after the stop.
#[test]
fn a_stop_while_waiting_for_the_pacer_sends_nothing_more_and_keeps_doubt() {
    use payrun::book::Event;
    use payrun::model::Status;

    let mut s = Scenario::g2328(3);
    s.rate = Some(1.0); // one request per 1.03 s
    s.concurrency = 3;
    s.latency = Duration::ZERO;
    let sb = pacing_support::sandbox_for(&s);
    let dir = tempfile::tempdir().unwrap();
    let reqs = pacing_support::requests(3);
    let (engine, timed) = pacing_support::engine_for(&s, &sb, dir.path(), &reqs);
    // The third order was in doubt from an earlier run (an intent without an answer).
    let earlier = reqs[2].clone();
    engine
        .book
        .record(vec![Event::Intent {
            order_id: earlier.order_id.clone(),
            line: 4,
            digest: String::new(),
            request: earlier.clone(),
            at: payrun::book::now(),
        }])
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = engine.stop.clone();
    rt.block_on(async {
        // Take the pacer's immediate slot: every order now waits ~1 s for its own.
        engine.pacers.create.ready().await;
        let sending = tokio::spawn({
            let engine = engine.clone();
            async move { engine.send(reqs).await }
        });
        tokio::time::sleep(Duration::from_millis(400)).await;
        stop.interrupt();
        let stopped = Instant::now();
        sending.await.unwrap().unwrap();
        // The waits end with the stop, not with the slots (the next was 0.6 s away).
        let took = stopped.elapsed();
        assert!(took < Duration::from_millis(400), "{took:?}");
    });
    // Every order was waiting for a slot when the stop came: nothing left the client.
    assert!(timed.starts().is_empty());
    assert!(sb.payouts().is_empty());
    assert!(sb.requests().is_empty());
    let records = engine.book.orders().expect("the book reads back");
    assert_eq!(records.len(), 3, "{records:#?}");
    for (id, r) in &records {
        if *id == earlier.order_id {
            assert_eq!(r.status, Status::InDoubt, "{r:#?}");
        } else {
            assert_eq!(r.status, Status::NotSent, "{r:#?}");
            assert_eq!(
                r.error.as_deref(),
                Some("stopped before the request was sent")
            );
        }
    }
}
