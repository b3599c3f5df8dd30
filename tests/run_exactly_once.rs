//! End to end: the real `payrun` binary against the in-process sandbox over loopback HTTP.
//! Every assertion about money comes from the sandbox's own record of the payouts it created.

mod common;

use std::time::Duration;

use common::*;
use payrun::sandbox::faults::{FaultKind, FaultRule};

fn rule(kind: FaultKind, every: u32) -> FaultRule {
    FaultRule {
        kind,
        path_contains: None,
        every,
        remaining: None,
    }
}

/// Runs `payrun run` until it exits 0 (at most `tries` times); returns the outputs.
fn run_until_done(
    dir: &std::path::Path,
    env: &std::collections::HashMap<String, String>,
    args: &[&str],
    tries: usize,
) -> Vec<String> {
    let mut outs = Vec::new();
    for _ in 0..tries {
        let o = run_ok(dir, env, args);
        let done = o.status.code() == Some(0);
        outs.push(text(&o));
        if done {
            return outs;
        }
    }
    panic!("payrun never finished:\n{}", outs.join("\n=====\n"));
}

#[test]
fn pays_every_row_once_and_a_rerun_sends_nothing() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let sb = start(sandbox_config());
        let dir = tempfile::tempdir().unwrap();
        let sheet = write_sheet(dir.path(), "pay.csv", 12);
        let env = env_for(&sb, gw);
        let args = ["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"];
        let o = run_ok(dir.path(), &env, &args);
        assert_eq!(o.status.code(), Some(0), "{gw:?} {}", text(&o));
        assert_paid_exactly_once(&sb, 12);
        // The run is `<sheet stem>-<YYYYMMDD>` (UTC).
        let run_id = book_orders(&book_path(dir.path(), &env))[0]["run_id"]
            .as_str()
            .unwrap()
            .to_string();
        let today = chrono::Utc::now().date_naive();
        let days = [today, today.pred_opt().unwrap()];
        assert!(
            days.iter()
                .any(|d| run_id == format!("pay-{}", d.format("%Y%m%d"))),
            "{gw:?}: run id {run_id}"
        );
        let creates_before = sb.requests().len();
        let o = run_ok(dir.path(), &env, &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(&format!("already paid as run {run_id}")),
            "{gw:?}: {}",
            text(&o)
        );
        assert_paid_exactly_once(&sb, 12);
        // The re-run may refresh statuses (GET), but it posts nothing: no create, no batch,
        // not even a fee preview.
        let posts: Vec<_> = sb.requests()[creates_before..]
            .iter()
            .filter(|r| r.method == "POST")
            .map(|r| r.path.clone())
            .collect();
        assert!(posts.is_empty(), "{gw:?}: a re-run posted {posts:?}");
        let results = std::fs::read_to_string(dir.path().join("pay.results.csv")).unwrap();
        assert_eq!(results.lines().count(), 13, "{results}");
        assert!(results
            .lines()
            .next()
            .unwrap()
            .starts_with("to_address,amount,currency,network,name,order_id,status"));
    }
}

/// With no book named (`PAYRUN_BOOK` empty, no `--book`, no profile), the book is the platform
/// data directory's — here inside the test's own `HOME`.
#[test]
fn without_a_book_named_the_platform_data_dir_holds_it() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 2);
    let mut env = env_for(&sb, Gw::G2328);
    env.insert("PAYRUN_BOOK".into(), String::new());
    let o = run_ok(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--rate", "100"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_paid_exactly_once(&sb, 2);
    // Linux: ~/.local/share/payrun/book.sqlite; macOS: ~/Library/Application Support/payrun/….
    fn find(d: &std::path::Path) -> Option<std::path::PathBuf> {
        for e in std::fs::read_dir(d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                if let Some(f) = find(&p) {
                    return Some(f);
                }
            } else if p.ends_with("payrun/book.sqlite") {
                return Some(p);
            }
        }
        None
    }
    let book = find(&home_of(dir.path())).expect("the book in the data dir under HOME");
    assert!(!dir.path().join("book.sqlite").exists());
    let intents = book_events(&book)
        .into_iter()
        .filter(|e| e["event"] == "intent")
        .count();
    assert_eq!(intents, 2);
}

#[test]
fn every_fault_kind_still_pays_each_row_exactly_once() {
    let faults = [
        ("5xx", rule(FaultKind::Error5xx, 3)),
        (
            "429 burst",
            FaultRule {
                remaining: Some(3),
                ..rule(FaultKind::Burst429(4), 5)
            },
        ),
        ("apply then drop", rule(FaultKind::ApplyThenDrop, 3)),
        (
            "apply then late",
            rule(FaultKind::ApplyThenLate(Duration::from_millis(2500)), 4),
        ),
        ("malformed", rule(FaultKind::Malformed, 3)),
    ];
    for gw in [Gw::G2328, Gw::BlockAtm] {
        for (name, fault) in &faults {
            let mut cfg = sandbox_config();
            // Faults on every payout endpoint (create, batch, calc, lookups).
            let mut fault = fault.clone();
            fault.path_contains = Some(match gw {
                Gw::G2328 => "/v1/payout".into(),
                Gw::BlockAtm => "/payout/".into(),
            });
            cfg.faults = vec![fault];
            let sb = start(cfg);
            let dir = tempfile::tempdir().unwrap();
            short_timeouts(dir.path(), 1.0);
            let sheet = write_sheet(dir.path(), "pay.csv", 10);
            let env = env_for(&sb, gw);
            let mut args = vec!["run", sheet.to_str().unwrap(), "--yes", "--rate", "100"];
            if gw == Gw::BlockAtm {
                args.extend(["--chunk-size", "3"]);
            }
            let outs = run_until_done(dir.path(), &env, &args, 6);
            eprintln!("{gw:?} {name}: finished after {} run(s)", outs.len());
            assert_paid_exactly_once(&sb, 10);
        }
    }
}

#[test]
fn blockatm_without_order_no_uniqueness_the_client_alone_prevents_double_pays() {
    let mut cfg = sandbox_config();
    cfg.enforce_order_no_unique = false;
    cfg.faults = vec![FaultRule {
        path_contains: Some("/payout/".into()),
        ..rule(FaultKind::ApplyThenDrop, 2)
    }];
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    short_timeouts(dir.path(), 1.0);
    let sheet = write_sheet(dir.path(), "pay.csv", 9);
    let env = env_for(&sb, Gw::BlockAtm);
    let args = [
        "run",
        sheet.to_str().unwrap(),
        "--yes",
        "--rate",
        "100",
        "--mode",
        "batch",
        "--chunk-size",
        "4",
    ];
    run_until_done(dir.path(), &env, &args, 8);
    assert_paid_exactly_once(&sb, 9);
}

#[test]
fn an_edited_paid_row_is_reported_and_not_paid_again() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 5);
    let env = env_for(&sb, Gw::G2328);
    let args = ["run", sheet.to_str().unwrap(), "--yes", "--rate", "100"];
    assert_eq!(run_ok(dir.path(), &env, &args).status.code(), Some(0));
    // Edit the amount of the third data row (line 4).
    let text_before = std::fs::read_to_string(&sheet).unwrap();
    let edited: Vec<String> = text_before
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 3 {
                l.replace(",10.03,", ",99.99,")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(edited.join("\n"), text_before.trim_end());
    std::fs::write(&sheet, edited.join("\n") + "\n").unwrap();
    // The run of this sheet is finished and the sheet changed since: the variance, the
    // choices, exit 2, nothing sent.
    let o = run_ok(dir.path(), &env, &args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("row 4: amount 10.03 → 99.99"), "{out}");
    for choice in ["--new-run", "--retry-failed", "--accept-edits"] {
        assert!(out.contains(choice), "{choice}: {out}");
    }
    assert_paid_exactly_once(&sb, 5);
    // Correcting the run without accepting the edit: the edited row is held and reported by
    // its line, not paid again (exit 1).
    let mut retry = args.to_vec();
    retry.push("--retry-failed");
    let o = run_ok(dir.path(), &env, &retry);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("line 4"), "{}", text(&o));
    let ledger = read_csv_rows(&dir.path().join("pay.results.csv"));
    let row = ledger.iter().find(|r| r["amount"] == "99.99").unwrap();
    assert_eq!(row["status"], "held", "{ledger:?}");
    assert_paid_exactly_once(&sb, 5);
    assert!(sb.payouts().iter().all(|p| p.amount.to_string() != "99.99"));
}

#[test]
fn a_second_run_of_the_same_sheet_exits_2_while_the_first_sends() {
    let mut cfg = sandbox_config();
    cfg.faults = vec![rule(FaultKind::Latency(Duration::from_millis(300)), 1)];
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 8);
    let env = env_for(&sb, Gw::G2328);
    let args = [
        "run",
        sheet.to_str().unwrap(),
        "--yes",
        "--rate",
        "100",
        "--concurrency",
        "1",
    ];
    let mut first = payrun(dir.path(), &env, &args).spawn().unwrap();
    // Wait until the first run is sending (its first intent is in the book).
    let book = book_path(dir.path(), &env);
    let sending = wait_until(20.0, || {
        try_book_events(&book).is_ok_and(|evs| evs.iter().any(|e| e["event"] == "intent"))
    });
    assert!(sending, "the first run never sent");
    let second = run_ok(dir.path(), &env, &args);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("being sent by another payrun process"),
        "{}",
        text(&second)
    );
    assert_eq!(first.wait().unwrap().code(), Some(0));
    assert_paid_exactly_once(&sb, 8);
}

/// The journal once survived a torn last line. The book cannot tear (every write is one
/// SQLite transaction), so a book whose last events are gone was cut short outside payrun:
/// it is refused, with exit 2, and nothing is sent.
#[test]
fn a_book_cut_short_outside_payrun_is_refused_and_nothing_is_sent() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 4);
    let env = env_for(&sb, Gw::G2328);
    // The tail cut is of live events: a run just finished stays unpacked for a day (a packed
    // block deleted is in tests/book_packed.rs).
    let args = ["run", sheet.to_str().unwrap(), "--yes", "--rate", "100"];
    assert_eq!(run_ok(dir.path(), &env, &args).status.code(), Some(0));
    let book = book_path(dir.path(), &env);
    {
        let c = rusqlite::Connection::open(&book).unwrap();
        let cut = c
            .execute(
                "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)",
                [],
            )
            .unwrap();
        assert_eq!(cut, 1);
    }
    let requests = sb.requests().len();
    // A new sheet to pay: refused all the same.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let sheet2 = write_sheet(&other, "more.csv", 2);
    for a in [
        args.to_vec(),
        vec!["run", sheet2.to_str().unwrap(), "--yes", "--rate", "100"],
    ] {
        let o = run_ok(dir.path(), &env, &a);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("altered outside payrun"),
            "{}",
            text(&o)
        );
    }
    assert_eq!(
        sb.requests().len(),
        requests,
        "a refused book talked to the gateway"
    );
    assert_paid_exactly_once(&sb, 4);
    let o = run_ok(dir.path(), &env, &["book", "verify"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn control_totals_refuse_before_anything_is_sent() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 4); // 10.01+10.02+10.03+10.04 = 40.10 USDT
    let env = env_for(&sb, Gw::G2328);
    let s = sheet.to_str().unwrap();
    for extra in [
        &["--max-total", "40.09:USDT"][..],
        // A cap on a currency the sheet does not pay, its own left uncapped: a typo.
        &["--max-total", "100:USDC"],
        &["--expect-count", "5"],
        &["--expect-total", "40.11:USDT"],
    ] {
        let mut args = vec!["run", s, "--yes"];
        args.extend_from_slice(extra);
        let o = run_ok(dir.path(), &env, &args);
        assert_eq!(o.status.code(), Some(3), "{extra:?} {}", text(&o));
        assert!(sb.payouts().is_empty());
    }
    let o = run_ok(
        dir.path(),
        &env,
        &[
            "run",
            s,
            "--yes",
            "--max-total",
            "40.10:USDT",
            "--expect-count",
            "4",
            "--expect-total",
            "40.1:USDT",
            "--rate",
            "100",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_paid_exactly_once(&sb, 4);
}

#[test]
fn without_a_terminal_or_yes_nothing_is_sent() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 2);
    let env = env_for(&sb, Gw::G2328);
    let o = payrun(dir.path(), &env, &["run", sheet.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(sb.payouts().is_empty());
}

#[test]
fn secrets_never_appear_in_any_output() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let mut cfg = sandbox_config();
        cfg.faults = vec![rule(FaultKind::Error5xx, 4)];
        let sb = start(cfg);
        let dir = tempfile::tempdir().unwrap();
        let sheet = write_sheet(dir.path(), "pay.csv", 6);
        let env = env_for(&sb, gw);
        let mut all = String::new();
        for args in [
            vec![
                "-vvv",
                "run",
                sheet.to_str().unwrap(),
                "--yes",
                "--rate",
                "100",
            ],
            vec![
                "-vvv",
                "run",
                sheet.to_str().unwrap(),
                "--yes",
                "--rate",
                "100",
            ],
            vec!["-vv", "status", "pay.csv"],
            vec!["report", "pay.csv", "--out", "r.json"],
            vec!["book", "export", "--out", "events.jsonl"],
        ] {
            let o = payrun(dir.path(), &env, &args)
                .env("RUST_LOG", "trace")
                .output()
                .unwrap();
            all.push_str(&text(&o));
        }
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let p = f.unwrap().path();
            if p.is_file() {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
        assert!(all.contains("order_id"), "outputs were captured");
        for secret in [KEY_2328, API_KEY, SECRET] {
            assert!(!all.contains(secret), "{gw:?}: a secret leaked");
        }
    }
}

#[test]
fn a_resume_with_json_prints_one_json_document() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 3);
    let env = env_for(&sb, Gw::G2328);
    let args = [
        "--json",
        "run",
        sheet.to_str().unwrap(),
        "--yes",
        "--rate",
        "100",
    ];
    let book = book_path(dir.path(), &env);
    // The first run pays; the second and third find the sheet already paid and must still
    // print one JSON document each.
    for i in 0..3 {
        let before = if i > 0 {
            Some(book_record(&book))
        } else {
            None
        };
        let o = run_ok(dir.path(), &env, &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "run {i}: stdout is not one JSON document ({e}): {}",
                text(&o)
            )
        });
        assert!(doc.is_object());
        if i == 2 {
            assert_eq!(
                Some(book_record(&book)),
                before,
                "the third run changed nothing"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(400));
    }
    assert_paid_exactly_once(&sb, 3);
}
