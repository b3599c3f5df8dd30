//! Rates and waits through the real binary against the in-process sandbox: a rate that is not a
//! positive number is refused when the command line is parsed (exit 2, nothing sent); a rate
//! above the gateway's published limit is refused unless `--rate-above-limit` is given, and
//! then a 429 storm slows the pacer down instead of hammering the gateway (the sandbox keeps
//! its real 2328 limit of 10/s here); `status --wait` ends on orders the gateway does not know,
//! and `--timeout` bounds it.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use payrun::sandbox::Sandbox;

/// The env for `gw` (a local sandbox: rates above the gateway's published limit are allowed
/// there, with a note).
fn strict_env(sb: &Sandbox, gw: Gw) -> HashMap<String, String> {
    env_for(sb, gw)
}

/// The env for `gw` pointed at a host that is not this machine (a name that never resolves:
/// `.invalid`), so the gateway's published limit applies; the rate is refused before any
/// request could leave.
fn remote_env(sb: &Sandbox, gw: Gw) -> HashMap<String, String> {
    let mut env = env_for(sb, gw);
    let url = match gw {
        Gw::G2328 => "https://payrun-test.invalid/api",
        Gw::BlockAtm => "https://payrun-test.invalid",
    };
    env.insert("PAYRUN_BASE_URL".into(), url.into());
    env
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn rates_and_seconds_that_are_not_positive_numbers_are_refused_and_nothing_is_sent() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sheet = write_sheet(d, "pay.csv", 3);
    let sheet = sheet.to_str().unwrap();
    let env = strict_env(&sb, Gw::G2328);
    for bad in ["0", "-1", "abc", "NaN", "inf", "-0.5", ""] {
        for cmd in [
            vec!["run", sheet, "--yes", "--rate", bad],
            vec!["quote", sheet, "--rate", bad],
            vec!["status", sheet, "--rate", bad],
        ] {
            let o = run_ok(d, &env, &cmd);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{cmd:?}: {}", text(&o));
            assert!(
                err.contains("--rate") && err.contains("requests per second"),
                "{cmd:?}: the message names the flag and what it wants: {err}"
            );
        }
    }
    for (flag, bad) in [
        ("--interval", "0"),
        ("--interval", "-1"),
        ("--interval", "soon"),
        ("--timeout", "0"),
        ("--timeout", "-2"),
        ("--timeout", "1e99"),
    ] {
        let o = run_ok(d, &env, &["status", sheet, "--wait", flag, bad]);
        assert_eq!(o.status.code(), Some(2), "{flag} {bad}: {}", text(&o));
        let err = stderr(&o);
        assert!(
            err.contains(flag) && err.contains("seconds"),
            "{flag} {bad}: {err}"
        );
    }
    // The environment's rate goes through the same rule.
    for bad in ["0", "-1", "abc"] {
        let mut env = env.clone();
        env.insert("PAYRUN_RATE".into(), bad.into());
        let o = run_ok(d, &env, &["run", sheet, "--yes"]);
        assert_eq!(o.status.code(), Some(2), "PAYRUN_RATE={bad}: {}", text(&o));
        assert!(stderr(&o).contains("PAYRUN_RATE"), "{}", text(&o));
    }
    assert!(sb.requests().is_empty(), "{:?}", sb.requests());
    assert!(sb.payouts().is_empty());
    assert!(
        !d.join("book.sqlite").exists(),
        "a refused command opened the book"
    );
}

#[test]
fn a_rate_above_the_published_limit_is_refused_naming_it_unless_allowed() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sheet = write_sheet(d, "pay.csv", 3);
    let sheet = sheet.to_str().unwrap();
    for (gw, rate, limit) in [
        (Gw::G2328, "50", "10 requests/s per project"),
        (Gw::BlockAtm, "2", "100 requests/min per endpoint"),
    ] {
        // Against the local sandbox the rate is allowed, with a note naming the limit.
        let o = run_ok(d, &strict_env(&sb, gw), &["quote", sheet, "--rate", rate]);
        assert_eq!(o.status.code(), Some(0), "{gw:?}: {}", text(&o));
        assert!(stderr(&o).contains("local"), "{}", text(&o));
        let before = sb.requests().len();
        let env = remote_env(&sb, gw);
        for cmd in [
            vec!["run", sheet, "--yes", "--rate", rate],
            vec!["quote", sheet, "--rate", rate],
        ] {
            let o = run_ok(d, &env, &cmd);
            assert_eq!(o.status.code(), Some(2), "{gw:?} {cmd:?}: {}", text(&o));
            let err = stderr(&o);
            assert!(
                err.contains(&format!("published limit of {limit}"))
                    && err.contains("--rate-above-limit"),
                "{gw:?} {cmd:?}: {err}"
            );
        }
        // The environment's rate is held to the limit too.
        let mut env = env.clone();
        env.insert("PAYRUN_RATE".into(), rate.into());
        let o = run_ok(d, &env, &["run", sheet, "--yes"]);
        assert_eq!(o.status.code(), Some(2), "{gw:?}: {}", text(&o));
        assert!(stderr(&o).contains("PAYRUN_RATE"), "{}", text(&o));
        assert_eq!(sb.requests().len(), before, "nothing sent");
    }
}

#[test]
fn above_the_limit_with_leave_a_429_storm_slows_the_pacer_down_and_pays_each_row_once() {
    const ROWS: u32 = 60;
    let mut cfg = sandbox_config();
    // The sandbox's real 2328 limit.
    cfg.rate_2328_per_sec = 10;
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sheet = write_sheet(d, "pay.csv", ROWS);
    let env = strict_env(&sb, Gw::G2328);
    let started = Instant::now();
    let o = run_ok(
        d,
        &env,
        &[
            "run",
            sheet.to_str().unwrap(),
            "--yes",
            "--rate",
            "50",
            "--rate-above-limit",
        ],
    );
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = stderr(&o);
    assert!(
        err.contains("above 2328's published limit") && err.contains("429") && err.contains("418"),
        "the warning: {err}"
    );
    let too_many = sb
        .requests()
        .iter()
        .filter(|r| r.response_status == Some(429))
        .count();
    let slow_downs: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("the gateway answered 429: slowing to "))
        .collect();
    eprintln!(
        "{ROWS} rows at --rate 50 against 10/s: {too_many} x 429, {} slow-downs {slow_downs:?}, {took:?}",
        slow_downs.len()
    );
    assert!(too_many < 10, "{too_many} x 429: {}", text(&o));
    assert!(!slow_downs.is_empty(), "no slow-down said: {err}");
    // Said once per slow-down: each line names a lower rate than the one before.
    let rates: Vec<f64> = slow_downs
        .iter()
        .map(|l| {
            l.trim_start_matches("the gateway answered 429: slowing to ")
                .trim_end_matches("/s")
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rates.windows(2).all(|w| w[1] < w[0]), "{rates:?}");
    assert_eq!(rates.first(), Some(&25.0), "{rates:?}");
    assert_paid_exactly_once(&sb, ROWS);
}

/// Runs `rows` rows on `sb` through `gw`, leaving them pending (the sandbox settles slowly).
fn run_leaving_pending(d: &Path, env: &HashMap<String, String>, rows: u32) {
    let sheet = write_sheet(d, "pay.csv", rows);
    let o = run_ok(
        d,
        env,
        &["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ledger = read_csv_rows(&d.join("pay.results.csv"));
    assert!(
        ledger.iter().all(|r| r["status"] == "pending"),
        "{ledger:?}"
    );
}

/// Runs `args` in `d` as a child, killed after `secs`; returns its output and how long it took.
fn run_bounded(
    d: &Path,
    env: &HashMap<String, String>,
    args: &[&str],
    secs: f64,
) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let mut child = payrun(d, env, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ended = wait_until(secs, || matches!(child.try_wait(), Ok(Some(_))));
    let took = started.elapsed();
    if !ended {
        let _ = child.kill();
    }
    let o = child.wait_with_output().unwrap();
    assert!(ended, "{args:?} did not end in {secs} s: {}", text(&o));
    (o, took)
}

#[test]
fn status_wait_ends_on_orders_the_gateway_does_not_know_and_records_why() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let mut cfg = sandbox_config();
        cfg.settle_after = Duration::from_secs(600);
        let first = start(cfg.clone());
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run_leaving_pending(d, &env_for(&first, gw), 3);
        let ids: Vec<String> = first.payouts().into_iter().map(|p| p.order_id).collect();
        assert_eq!(ids.len(), 3);
        first.shutdown();
        // The same credentials, a gateway that remembers nothing.
        let second = start(cfg);
        let env = env_for(&second, gw);
        std::fs::remove_file(d.join("pay.results.csv")).unwrap();
        let (o, took) = run_bounded(
            d,
            &env,
            &[
                "status",
                "pay.csv",
                "--wait",
                "--interval",
                "0.2",
                "--rate",
                "100",
            ],
            30.0,
        );
        assert_eq!(o.status.code(), Some(1), "{gw:?} {}", text(&o));
        let err = stderr(&o);
        for id in &ids {
            assert!(err.contains(id.as_str()), "{gw:?}: {id} not named: {err}");
        }
        assert!(err.contains("does not know"), "{gw:?}: {err}");
        // Five lookups per order, then no more.
        let lookups = second.requests();
        assert_eq!(lookups.len(), 5 * ids.len(), "{gw:?} {lookups:?}");
        assert!(second.payouts().is_empty(), "a status created a payout");
        eprintln!("{gw:?}: status --wait on 3 unknown orders ended in {took:?}");
        // The book says why, once per order; the orders keep their status.
        let book = book_path(d, &env);
        let unresolved: Vec<_> = book_events(&book)
            .into_iter()
            .filter(|e| e["event"] == "unresolved")
            .collect();
        assert_eq!(unresolved.len(), 3, "{gw:?} {unresolved:?}");
        for e in &unresolved {
            let why = e["error"].as_str().unwrap();
            assert!(
                why.contains("does not know") && why.contains("5 lookup(s)"),
                "{why}"
            );
        }
        // The results ledger was rewritten.
        let ledger = read_csv_rows(&d.join("pay.results.csv"));
        assert_eq!(ledger.len(), 3);
        assert!(
            ledger.iter().all(|r| r["status"] == "pending"),
            "{ledger:?}"
        );
        second.shutdown();
    }
}

#[test]
fn status_wait_timeout_ends_the_wait_naming_the_orders_still_pending() {
    let mut cfg = sandbox_config();
    cfg.settle_after = Duration::from_secs(600);
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = env_for(&sb, Gw::G2328);
    run_leaving_pending(d, &env, 2);
    let ids: Vec<String> = sb.payouts().into_iter().map(|p| p.order_id).collect();
    std::fs::remove_file(d.join("pay.results.csv")).unwrap();
    let (o, took) = run_bounded(
        d,
        &env,
        &[
            "status",
            "pay.csv",
            "--wait",
            "--interval",
            "0.2",
            "--timeout",
            "2",
        ],
        20.0,
    );
    eprintln!("status --wait --timeout 2 took {took:?}");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    let err = stderr(&o);
    assert!(err.contains("timed out after 2 s"), "{err}");
    for id in &ids {
        assert!(err.contains(id.as_str()), "{id} not named: {err}");
    }
    let ledger = read_csv_rows(&d.join("pay.results.csv"));
    assert_eq!(ledger.len(), 2);
    assert!(
        ledger.iter().all(|r| r["status"] == "pending"),
        "{ledger:?}"
    );

    // A timeout that comes in the middle of a refresh ends it too.
    use payrun::sandbox::faults::{FaultKind, FaultRule};
    sb.set_faults(vec![FaultRule {
        kind: FaultKind::Latency(Duration::from_secs(5)),
        path_contains: Some("/status/".into()),
        every: 1,
        remaining: None,
    }]);
    let (o, took) = run_bounded(d, &env, &["status", "pay.csv", "--timeout", "1"], 20.0);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(stderr(&o).contains("timed out after 1 s"), "{}", text(&o));
}
