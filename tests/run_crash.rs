//! Crash tests: the real binary is SIGKILLed at several moments (between an intent and its
//! result, mid-batch) and re-run until it finishes; the sandbox's record must show every row
//! paid exactly once and nothing else paid.

mod common;

use std::time::{Duration, Instant};

use common::*;
use payrun::sandbox::faults::{FaultKind, FaultRule};

/// Starts `payrun run`, kills it after `kill_after`, repeats with the next delay; then runs it
/// to completion.
fn crash_and_resume(gw: Gw, enforce_unique: bool, rows: u32, kills: &[u64], extra: &[&str]) {
    let mut cfg = sandbox_config();
    cfg.enforce_order_no_unique = enforce_unique;
    // Latency on every request, so kills land while requests are in flight.
    cfg.faults = vec![FaultRule {
        kind: FaultKind::Latency(Duration::from_millis(120)),
        path_contains: None,
        every: 1,
        remaining: None,
    }];
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", rows);
    let env = env_for(&sb, gw);
    let mut args = vec![
        "run",
        sheet.to_str().unwrap(),
        "--yes",
        "--rate",
        "50",
        "--concurrency",
        "3",
    ];
    args.extend_from_slice(extra);
    let mut killed = 0;
    for &ms in kills {
        let mut child = payrun(dir.path(), &env, &args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut finished = false;
        while start.elapsed() < Duration::from_millis(ms) {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if !finished {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        let _ = child.wait();
    }
    assert!(killed > 0, "no run was killed; the test proved nothing");
    let mut last = String::new();
    for _ in 0..5 {
        let o = run_ok(dir.path(), &env, &args);
        last = text(&o);
        if o.status.code() == Some(0) {
            assert_paid_exactly_once(&sb, rows);
            return;
        }
    }
    panic!("never finished after the crashes:\n{last}");
}

#[test]
fn sigkill_at_many_moments_2328() {
    crash_and_resume(Gw::G2328, true, 24, &[250, 330, 410, 520, 650, 800], &[]);
}

#[test]
fn sigkill_mid_batch_blockatm() {
    crash_and_resume(
        Gw::BlockAtm,
        true,
        24,
        &[250, 330, 410, 520, 650],
        &["--chunk-size", "4"],
    );
}

#[test]
fn sigkill_blockatm_without_order_no_uniqueness() {
    // The sandbox would accept a repeated orderNo as a second payout: only the client's
    // book and lookups stand between a crash and a double pay.
    crash_and_resume(
        Gw::BlockAtm,
        false,
        20,
        &[250, 330, 410, 520, 650],
        &["--chunk-size", "3"],
    );
    crash_and_resume(
        Gw::BlockAtm,
        false,
        12,
        &[260, 340, 420, 560],
        &["--mode", "single"],
    );
}
