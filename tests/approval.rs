//! Four-eyes approval end to end: `payrun approve` records the plan in the book, and `run`
//! with approval required pays only a plan that an approval by another person matches row for
//! row — checked against the sandbox's own record of the payouts it created.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;

fn approve(dir: &Path, env: &HashMap<String, String>, sheet: &Path, who: &str) {
    let o = run_ok(
        dir,
        env,
        &["approve", sheet.to_str().unwrap(), "--approver", who],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

fn run_as(
    dir: &Path,
    env: &HashMap<String, String>,
    sheet: &Path,
    runner: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "run",
        sheet.to_str().unwrap(),
        "--yes",
        "--require-approval",
        "--runner",
        runner,
    ];
    args.extend_from_slice(extra);
    run_ok(dir, env, &args)
}

#[test]
fn a_matching_approval_by_another_person_pays_and_is_recorded() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let sheet = write_sheet(dir.path(), "payroll.csv", 3);
    // Without an approval: refused, nothing sent.
    let o = run_as(dir.path(), &env, &sheet, "bob", &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("no approval of this sheet"), "{out}");
    assert!(sb.payouts().is_empty(), "nothing is sent: {out}");
    approve(dir.path(), &env, &sheet, "Alice");
    let o = run_as(dir.path(), &env, &sheet, "bob", &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("approved by Alice"), "{out}");
    assert_paid_exactly_once(&sb, 3);
    // The book holds the approved plan (every order id and amount) and its use, in the chain.
    let events = book_events(&dir.path().join("book.sqlite"));
    let approval = events
        .iter()
        .find(|e| e["event"] == "approval")
        .expect("an approval event");
    assert_eq!(approval["approver"], "Alice");
    assert_eq!(approval["orders"].as_array().unwrap().len(), 3);
    assert_eq!(approval["totals"]["USDT"], "30.06");
    let paid_ids: std::collections::BTreeSet<String> =
        sb.payouts().into_iter().map(|p| p.order_id).collect();
    let approved_ids: std::collections::BTreeSet<String> = approval["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paid_ids, approved_ids,
        "the approved order ids are the ones paid"
    );
    assert!(events.iter().any(|e| e["event"] == "approval_used"));
    let o = run_ok(dir.path(), &env, &["book", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_ok(dir.path(), &env, &["runs"]);
    assert!(text(&o).contains("approved by Alice"), "{}", text(&o));
    let md = dir.path().join("summary.md");
    let o = run_ok(
        dir.path(),
        &env,
        &[
            "report",
            sheet.to_str().unwrap(),
            "--out",
            md.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary = std::fs::read_to_string(&md).unwrap();
    assert!(summary.contains("| Approved by | Alice |"), "{summary}");
    // The approval paid this run: a new period of the same sheet needs a new one.
    let o = run_as(dir.path(), &env, &sheet, "bob", &["--new-run"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("paid run payroll-"), "{out}");
    assert_eq!(sb.payouts().len(), 3, "nothing new is sent");
}

#[test]
fn a_plan_that_differs_from_the_approval_by_one_row_is_refused() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    let sheet = write_sheet(dir.path(), "payroll.csv", 3);
    approve(dir.path(), &env, &sheet, "alice");
    // After approval someone raises line 3's amount.
    let body = std::fs::read_to_string(&sheet).unwrap();
    std::fs::write(&sheet, body.replacen(",10.02,", ",99.02,", 1)).unwrap();
    let o = run_as(dir.path(), &env, &sheet, "bob", &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("differs from the one alice approved"), "{out}");
    assert!(out.contains("line 3: approved 10.02 USDT"), "{out}");
    assert!(out.contains("now 99.02 USDT"), "{out}");
    assert!(
        !out.contains("line 2:"),
        "only the changed row is named: {out}"
    );
    assert!(sb.payouts().is_empty(), "nothing is sent: {out}");
    // Approving the sheet as it now is lets it through.
    approve(dir.path(), &env, &sheet, "alice");
    let o = run_as(dir.path(), &env, &sheet, "bob", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 3);
}

#[test]
fn an_approval_by_the_runner_is_refused_also_when_required_by_the_profile() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &dir.path().join("book.sqlite"));
    std::fs::write(dir.path().join("payrun.toml"), "require_approval = true\n").unwrap();
    let sheet = write_sheet(dir.path(), "payroll.csv", 2);
    approve(dir.path(), &env, &sheet, "bob");
    let o = run_ok(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--runner", " BOB "],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains("approved by bob, who is also running it"),
        "{out}"
    );
    assert!(sb.payouts().is_empty(), "nothing is sent: {out}");
    approve(dir.path(), &env, &sheet, "carol");
    let o = run_ok(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--runner", "bob"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 2);
}
