//! Crash at every step, on the book: the real binary aborts (no clean-up, as a SIGKILL leaves
//! it) at a named point — before an intent commit, between intent and send, after the gateway
//! answered but before the answer is committed, inside the answer's transaction, during the
//! results rewrite — at several hits of each; then it is re-run until done. The sandbox's own
//! record must show every row paid exactly once, for both gateways, BlockATM batches and
//! singles, with orderNo uniqueness on and off; and `book verify` must find the book whole.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;

const POINTS: [&str; 5] = [
    "before_intent",
    "after_intent",
    "after_send",
    "in_commit",
    "in_results",
];

fn crash_then_finish(gw: Gw, unique: bool, extra: &[&str], rows: u32, hits: &[u32]) {
    for point in POINTS {
        let mut cfg = sandbox_config();
        cfg.enforce_order_no_unique = unique;
        let sb = start(cfg);
        let root = tempfile::tempdir().unwrap();
        let book = root.path().join("book.sqlite");
        let mut env: HashMap<String, String> = env_for(&sb, gw);
        env.insert("PAYRUN_BOOK".into(), book.display().to_string());
        let sheet = write_sheet(root.path(), "pay.csv", rows);
        let mut args = vec!["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"];
        args.extend_from_slice(extra);
        let mut crashed = 0;
        for n in hits {
            let mut cmd = payrun(root.path(), &env, &args);
            cmd.env("HOME", root.path().join("home"));
            cmd.env(payrun::failpoint::ENV, format!("{point}:{n}"));
            let o = cmd.output().unwrap();
            if o.status.code().is_none() || o.status.code() == Some(134) {
                crashed += 1;
            }
        }
        assert!(
            crashed > 0,
            "{gw:?} {point}: no crash happened; the test proved nothing"
        );
        let mut last = String::new();
        let mut done = false;
        for _ in 0..6 {
            let mut cmd = payrun(root.path(), &env, &args);
            cmd.env("HOME", root.path().join("home"));
            let o = cmd.output().unwrap();
            last = text(&o);
            if o.status.code() == Some(0) {
                done = true;
                break;
            }
        }
        assert!(done, "{gw:?} {point}: never finished:\n{last}");
        assert_paid_exactly_once(&sb, rows);
        let mut v = payrun(root.path(), &env, &["book", "verify"]);
        v.env("HOME", root.path().join("home"));
        let o = v.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{gw:?} {point}: {}", text(&o));
        assert!(
            no_temp_left(root.path()),
            "{gw:?} {point}: a temp file was left"
        );
    }
}

fn no_temp_left(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
}

#[test]
fn crash_at_every_step_2328() {
    crash_then_finish(Gw::G2328, true, &[], 6, &[1, 3, 5]);
}

#[test]
fn crash_at_every_step_blockatm_batches() {
    crash_then_finish(Gw::BlockAtm, true, &["--chunk-size", "2"], 6, &[1, 2, 3]);
}

#[test]
fn crash_at_every_step_blockatm_without_order_no_uniqueness() {
    crash_then_finish(Gw::BlockAtm, false, &["--chunk-size", "2"], 6, &[1, 2, 3]);
    crash_then_finish(Gw::BlockAtm, false, &["--mode", "single"], 5, &[1, 3]);
}
