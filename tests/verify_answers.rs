//! Every gateway answer is checked against what was sent: the real binary against a sandbox
//! that lies (one field at a time), or answers an order id with a payout it already held. Each
//! row ends `conflict`, nothing is counted as paid, and the run exits 1 — on the create path,
//! the BlockATM batch path and the status/lookup path. A clock outside BlockATM's receive
//! window (000105) pays every row once the clock is right, in the same run.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use payrun::sandbox::FaultRule;

fn env_with_book(sb: &payrun::sandbox::Sandbox, gw: Gw, dir: &Path) -> HashMap<String, String> {
    let mut env = env_for(sb, gw);
    env.insert(
        "PAYRUN_BOOK".into(),
        dir.join("book.sqlite").display().to_string(),
    );
    env
}

fn payrun_in(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> std::process::Output {
    let mut c = payrun(dir, env, args);
    c.env("HOME", dir.join("home"));
    c.output().unwrap()
}

fn statuses(dir: &Path) -> Vec<(String, String)> {
    read_csv_rows(&dir.join("pay.results.csv"))
        .into_iter()
        .map(|r| (r["status"].clone(), r["error"].clone()))
        .collect()
}

/// Runs a 3-row sheet against a sandbox with `faults`; asserts every row ends in conflict
/// naming `field`, exit 1, and the summary counts nothing as paid.
fn lie(gw: Gw, faults: &[&str], extra: &[&str], field: &str, then_status: bool) {
    let mut cfg = sandbox_config();
    cfg.faults = faults
        .iter()
        .map(|f| FaultRule::parse(f).unwrap())
        .collect();
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, gw, dir.path());
    let sheet = write_sheet(dir.path(), "pay.csv", 3);
    let mut args = vec!["run", sheet.to_str().unwrap(), "--yes", "--rate", "100"];
    args.extend_from_slice(extra);
    let mut o = payrun_in(dir.path(), &env, &args);
    if then_status {
        std::thread::sleep(std::time::Duration::from_millis(300));
        o = payrun_in(dir.path(), &env, &["status", sheet.to_str().unwrap()]);
    }
    let out = text(&o);
    let rows = statuses(dir.path());
    assert_eq!(rows.len(), 3, "{gw:?} {faults:?}: {out}");
    for (status, error) in &rows {
        assert_eq!(status, "conflict", "{gw:?} {faults:?}: {rows:?}\n{out}");
        assert!(
            error.contains(field),
            "{gw:?} {faults:?}: names {field}: {error}"
        );
    }
    assert_eq!(o.status.code(), Some(1), "{gw:?} {faults:?}: {out}");
    // Nothing counted as paid, even once the sandbox settled the payouts.
    let mut j = payrun_in(
        dir.path(),
        &env,
        &[
            "--json",
            "report",
            "--out",
            dir.path().join("r.json").to_str().unwrap(),
        ],
    );
    assert_eq!(j.status.code(), Some(0), "{}", text(&j));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::mem::take(&mut j.stdout)).unwrap();
    assert_eq!(summary["totals"]["completed"], 0, "{summary}");
    assert_eq!(summary["totals"]["conflict"], 3, "{summary}");
    // A re-run sends nothing for a conflict.
    let before = sb.payouts().len();
    let o = payrun_in(dir.path(), &env, &args);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), before, "a conflict is never re-sent");
}

#[test]
fn a_lying_2328_create_answer_is_a_conflict_per_field() {
    for (field, name) in [
        ("amount", "amount"),
        ("address", "to_address"),
        ("currency", "currency"),
        ("network", "network"),
        ("memo", "memo"),
    ] {
        lie(
            Gw::G2328,
            &[&format!("lie={field}@/v1/payout")],
            &[],
            name,
            false,
        );
    }
}

#[test]
fn a_lying_2328_status_answer_is_a_conflict() {
    lie(Gw::G2328, &["lie=amount@/status/"], &[], "amount", true);
    lie(
        Gw::G2328,
        &["lie=address@/status/"],
        &[],
        "to_address",
        true,
    );
}

#[test]
fn a_lying_blockatm_batch_item_and_detail_are_conflicts() {
    // Batch items carry only ids and times: an added lie is still caught.
    lie(
        Gw::BlockAtm,
        &["lie=amount@/payout/batch"],
        &[],
        "amount",
        false,
    );
    for (field, name) in [
        ("amount", "amount"),
        ("address", "to_address"),
        ("symbol", "currency"),
        ("contract", "contract"),
    ] {
        lie(
            Gw::BlockAtm,
            &[&format!("lie={field}@/payout/detail")],
            &[],
            name,
            true,
        );
    }
}

#[test]
fn an_order_id_the_gateway_already_held_is_a_conflict_not_a_payment() {
    lie(
        Gw::G2328,
        &["foreign@/v1/payout"],
        &[],
        "already had a payout",
        false,
    );
    lie(
        Gw::BlockAtm,
        &["foreign@/payout/"],
        &["--mode", "single"],
        "created_at",
        false,
    );
    lie(
        Gw::BlockAtm,
        &["foreign@/payout/"],
        &[],
        "created_at",
        false,
    );
}

#[test]
fn a_clock_outside_the_receive_window_pays_every_row_once_it_is_right() {
    for extra in [&[][..], &["--mode", "single"][..]] {
        let mut cfg = sandbox_config();
        cfg.faults = vec![FaultRule::parse("skew@/payout/").unwrap()];
        let sb = start(cfg);
        let dir = tempfile::tempdir().unwrap();
        let env = env_with_book(&sb, Gw::BlockAtm, dir.path());
        let sheet = write_sheet(dir.path(), "pay.csv", 4);
        let mut args = vec!["run", sheet.to_str().unwrap(), "--yes", "--rate", "100"];
        args.extend_from_slice(extra);
        let o = payrun_in(dir.path(), &env, &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains("clock"), "the message names the clock: {out}");
        assert_eq!(sb.payouts().len(), 0);
        assert!(
            statuses(dir.path()).iter().all(|(s, _)| s == "not_sent"),
            "{out}"
        );
        // The clock is right again: the same run sends every row.
        sb.set_faults(vec![]);
        let o = payrun_in(dir.path(), &env, &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(out.contains("resuming run pay-"), "{out}");
        assert_paid_exactly_once(&sb, 4);
    }
}
