//! The book end to end: the real binary against one sandbox gateway that keeps its state
//! between runs (like a live one), each test with its own temp book. Every expectation about
//! money comes from the sandbox's own record of the payouts it created.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;

/// Runs payrun in `dir` (its HOME inside `dir`, never the user's) and waits for it.
fn payrun_in(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> std::process::Output {
    let mut cmd = payrun(dir, env, args);
    cmd.env("HOME", dir.join("home"));
    cmd.output().expect("payrun runs")
}

fn run(
    dir: &Path,
    env: &HashMap<String, String>,
    sheet: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["run", sheet.to_str().unwrap(), "--yes"];
    args.extend_from_slice(extra);
    payrun_in(dir, env, &args)
}

fn folder(root: &Path, name: &str) -> PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn next_months_identical_sheet_is_not_taken_for_paid_nor_paid_silently() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let sb = start(sandbox_config());
        let root = tempfile::tempdir().unwrap();
        let env = env_with_book(&sb, gw, &root.path().join("book.sqlite"));
        let june = folder(root.path(), "june");
        let sheet = write_sheet(&june, "payroll.csv", 3);
        let o = run(&june, &env, &sheet, &[]);
        assert_eq!(o.status.code(), Some(0), "{gw:?} {}", text(&o));
        assert_paid_exactly_once(&sb, 3);
        // July: the same salaries, the same file name, another folder.
        let july = folder(root.path(), "july");
        let sheet = write_sheet(&july, "payroll.csv", 3);
        let o = run(&july, &env, &sheet, &[]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(out.contains("already paid as run payroll-"), "{out}");
        assert!(out.contains("--new-run"), "{out}");
        assert_eq!(sb.payouts().len(), 3, "nothing new was paid: {out}");
        // Never "paid" with last month's payouts without saying so: the July results name the
        // June run, and --new-run pays the new period.
        let o = run(&july, &env, &sheet, &["--new-run"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let payouts = sb.payouts();
        assert_eq!(payouts.len(), 6, "a new period pays every row again");
        let mut ids: Vec<_> = payouts.iter().map(|p| p.order_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 6, "every payout has its own order id");
        assert!(
            text(&o).contains("-2"),
            "second run of the day gets -2: {}",
            text(&o)
        );
    }
}

#[test]
fn a_renamed_copy_of_a_paid_sheet_is_never_paid_again() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let sb = start(sandbox_config());
        let root = tempfile::tempdir().unwrap();
        let env = env_with_book(&sb, gw, &root.path().join("book.sqlite"));
        let sheet = write_sheet(root.path(), "june-payroll.csv", 4);
        assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
        let copy = root.path().join("june-payroll (1).csv");
        std::fs::copy(&sheet, &copy).unwrap();
        let o = run(root.path(), &env, &copy, &[]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(out.contains("already paid"), "{out}");
        assert!(!out.contains("000106"), "{out}");
        assert_paid_exactly_once(&sb, 4);
        // The copy gets its results too, and they say completed.
        let rows = read_csv_rows(&root.path().join("june-payroll (1).results.csv"));
        assert_eq!(rows.len(), 4);
        assert!(
            rows.iter()
                .all(|r| r["status"] == "completed" || r["status"] == "pending"),
            "{rows:?}"
        );
    }
}

#[test]
fn a_reference_column_is_carried_through_not_taken_as_the_order_id() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let mut s = String::from("to_address,amount,currency,network,reference\n");
    for i in 0..3u32 {
        s.push_str(&format!(
            "{},10.0{},USDT,TRX-TRC20,EMP-{i}\n",
            tron_address(i + 1),
            i + 1
        ));
    }
    let sheet = root.path().join("pay.csv");
    std::fs::write(&sheet, s).unwrap();
    let o = run(root.path(), &env, &sheet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let payouts = sb.payouts();
    assert_eq!(payouts.len(), 3);
    assert!(
        payouts.iter().all(|p| !p.order_id.starts_with("EMP-")),
        "{payouts:?}"
    );
    let o = run(root.path(), &env, &sheet, &["--new-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 6, "next period pays again");
}

#[test]
fn a_refused_row_fixed_is_retried_alone_in_its_run() {
    let mut cfg = sandbox_config();
    let flagged = tron_address(2);
    cfg.aml_flagged = vec![flagged.clone()];
    let sb = start(cfg);
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 3);
    // Wait for settlement: the flagged row fails.
    let mut last = String::new();
    for _ in 0..10 {
        let o = run(root.path(), &env, &sheet, &[]);
        last = text(&o);
        let rows = read_csv_rows(&root.path().join("pay.results.csv"));
        if rows.iter().any(|r| r["status"] == "failed") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = payrun_in(root.path(), &env, &["status", sheet.to_str().unwrap()]);
    }
    let rows = read_csv_rows(&root.path().join("pay.results.csv"));
    assert_eq!(
        rows.iter().filter(|r| r["status"] == "failed").count(),
        1,
        "{last}\n{rows:?}"
    );
    // Fix the address of the failed row.
    let text_before = std::fs::read_to_string(&sheet).unwrap();
    let fixed = tron_address(99);
    // ... and add a row: a correction sends the fixed row only, never one the run never had.
    let added = tron_address(50);
    std::fs::write(
        &sheet,
        text_before.replace(&flagged, &fixed) + &format!("{added},77.00,USDT,TRX-TRC20,New\n"),
    )
    .unwrap();
    let o = run(root.path(), &env, &sheet, &[]);
    let out = text(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a finished run whose sheet changed asks: {out}"
    );
    assert!(
        out.contains("--retry-failed") && out.contains("--new-run"),
        "{out}"
    );
    assert!(
        out.contains("address changed"),
        "the variance names the change: {out}"
    );
    assert_eq!(sb.payouts().len(), 3, "nothing sent");
    let o = run(root.path(), &env, &sheet, &["--retry-failed"]);
    let out = text(&o);
    let payouts = sb.payouts();
    assert_eq!(payouts.len(), 4, "only the fixed row is sent: {out}");
    assert_eq!(payouts[3].address, fixed);
    assert!(
        out.contains("added since run") && out.contains(&added),
        "the added row is held, named: {out}"
    );
    for i in [1u32, 3] {
        assert_eq!(
            payouts
                .iter()
                .filter(|p| p.address == tron_address(i))
                .count(),
            1,
            "row paid once"
        );
    }
    // The earlier (failed) payment stays in the results ledger; the added row shows as held.
    let rows = read_csv_rows(&root.path().join("pay.results.csv"));
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows.iter().any(|r| r["status"] == "failed"), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r["status"] == "held" && r["to_address"] == added),
        "{rows:?}"
    );
}

#[test]
fn a_sandbox_rehearsal_is_never_taken_for_the_live_run() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 3);
    let mut rehearsal = env.clone();
    rehearsal.remove("PAYRUN_BASE_URL");
    rehearsal.remove("PAYRUN_PROJECT");
    rehearsal.remove("PAYRUN_API_KEY");
    let o = run(root.path(), &rehearsal, &sheet, &["--sandbox"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        sb.payouts().len(),
        0,
        "the rehearsal used the embedded sandbox"
    );
    let o = run(root.path(), &env, &sheet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("already paid"), "{}", text(&o));
    assert_paid_exactly_once(&sb, 3);
}

#[test]
fn another_sheet_with_the_same_stem_keeps_the_first_runs_reports() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let a = folder(root.path(), "a");
    let b = folder(root.path(), "b");
    let first = write_sheet(&a, "pay.csv", 2);
    assert_eq!(run(&a, &env, &first, &[]).status.code(), Some(0));
    let mut s = String::from("to_address,amount,currency,network\n");
    s.push_str(&format!("{},77.00,USDT,TRX-TRC20\n", tron_address(50)));
    let second = b.join("pay.csv");
    std::fs::write(&second, s).unwrap();
    let o = run(&b, &env, &second, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 3);
    // The first run's report still shows its paid rows.
    let out = root.path().join("first.csv");
    let o = payrun_in(
        &a,
        &env,
        &[
            "report",
            first.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = read_csv_rows(&out);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "completed" || r["status"] == "pending"),
        "{rows:?}"
    );
}

fn sql(book: &Path, statement: &str) {
    let c = rusqlite::Connection::open(book).unwrap();
    c.execute_batch(statement).unwrap();
}

/// Edits JSON the book stores (compressed from schema 6 on: `payrun::book::codec`) the way a
/// person would: each value of `column` in the rows of `table` that `filter` selects is read,
/// has every `from` replaced by `to`, and is written back in the book's own encoding.
fn edit_json(book: &Path, table: &str, column: &str, filter: &str, edits: &[(&str, &str)]) {
    use payrun::book::codec;
    let c = rusqlite::Connection::open(book).unwrap();
    // An order's answer may be its last event's (codec::order_state): read through it.
    let last_event = match table {
        "orders" => "(SELECT body FROM events WHERE seq = last_seq)",
        _ => "NULL",
    };
    let mut stmt = c
        .prepare(&format!(
            "SELECT rowid, {column}, {last_event} FROM {table} WHERE {filter}"
        ))
        .unwrap();
    let rows: Vec<(i64, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                codec::order_state(r.get_ref(1)?, r.get_ref(2)?)
                    .unwrap()
                    .unwrap(),
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!rows.is_empty(), "{table} WHERE {filter}: nothing to edit");
    for (rowid, mut text) in rows {
        for (from, to) in edits {
            text = text.replace(from, to);
        }
        c.execute(
            &format!("UPDATE {table} SET {column} = ?2 WHERE rowid = ?1"),
            rusqlite::params![rowid, codec::encode(&text)],
        )
        .unwrap();
    }
}

#[test]
fn a_tampered_book_is_refused_with_the_place_named_and_nothing_is_sent() {
    type Edit = fn(&Path);
    let cases: [(&str, Edit, &str); 5] = [
        (
            "deleted intent",
            |b| {
                sql(b, "DELETE FROM events WHERE seq = (SELECT min(seq) FROM events WHERE kind = 'intent');")
            },
            "events were removed",
        ),
        (
            "edited status",
            |b| {
                sql(b, "UPDATE orders SET status = 'not_sent' WHERE id = (SELECT min(id) FROM orders);")
            },
            "does not match its seal",
        ),
        (
            "edited answer",
            |b| {
                edit_json(
                    b,
                    "orders",
                    "state",
                    "id = (SELECT min(id) FROM orders)",
                    &[(
                        "\"gateway_status\":\"",
                        "\"txid\":\"0xfeed\",\"gateway_status\":\"",
                    )],
                )
            },
            "does not match its seal",
        ),
        (
            "edited event",
            |b| {
                edit_json(
                    b,
                    "events",
                    "body",
                    "kind = 'result'",
                    &[
                        ("\"completed\"", "\"failed\""),
                        ("\"pending\"", "\"failed\""),
                    ],
                )
            },
            "does not match its hash",
        ),
        (
            "a stored event cut short",
            |b| {
                sql(b, "UPDATE events SET body = substr(body, 1, length(body) - 1) WHERE seq = (SELECT max(seq) FROM events WHERE kind = 'result');")
            },
            "is unreadable",
        ),
    ];
    for gw in [Gw::G2328, Gw::BlockAtm] {
        for (name, statement, says) in cases {
            let mut cfg = sandbox_config();
            cfg.enforce_order_no_unique = false;
            let sb = start(cfg);
            let root = tempfile::tempdir().unwrap();
            let book = root.path().join("book.sqlite");
            let env = env_with_book(&sb, gw, &book);
            // The edits are of live rows: a run just finished stays unpacked for a day (the
            // packed equivalents are in tests/book_packed.rs).
            let sheet = write_sheet(root.path(), "pay.csv", 3);
            assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
            assert_eq!(
                rusqlite::Connection::open(&book)
                    .unwrap()
                    .query_row("SELECT count(*) FROM orders", [], |r| r.get::<_, i64>(0))
                    .unwrap(),
                3,
                "the run's orders are live"
            );
            statement(&book);
            let before = sb.requests().len();
            let o = run(root.path(), &env, &sheet, &[]);
            let out = text(&o);
            assert_eq!(o.status.code(), Some(2), "{gw:?} {name}: {out}");
            assert!(out.contains(says), "{gw:?} {name}: {out}");
            assert!(
                sb.requests()[before..].iter().all(|r| r.method != "POST"),
                "{name}: sent"
            );
            assert_paid_exactly_once(&sb, 3);
            let o = payrun_in(root.path(), &env, &["book", "verify"]);
            assert_eq!(o.status.code(), Some(1), "{name}: verify: {}", text(&o));
        }
    }
}

#[test]
fn a_file_that_is_not_a_book_is_refused() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let sheet = write_sheet(root.path(), "pay.csv", 1);
    // A truncated book, another SQLite database, and a text file.
    let other = root.path().join("other.sqlite");
    sql(&other, "CREATE TABLE t(x);");
    let text_file = root.path().join("notes.txt");
    std::fs::write(
        &text_file,
        "hello, this is not a database at all, but long enough",
    )
    .unwrap();
    for (book, says) in [
        (other, "not a payrun book"),
        (text_file, "not a payrun book"),
    ] {
        let env = env_with_book(&sb, Gw::G2328, &book);
        let o = run(root.path(), &env, &sheet, &[]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
    }
    // Truncated: a real book cut in half.
    let book = root.path().join("book.sqlite");
    let env = env_with_book(&sb, Gw::G2328, &book);
    let many = write_sheet(root.path(), "many.csv", 40);
    assert_eq!(run(root.path(), &env, &many, &[]).status.code(), Some(0));
    let c = rusqlite::Connection::open(&book).unwrap();
    c.pragma_update(None, "wal_checkpoint", "TRUNCATE").unwrap();
    drop(c);
    let len = std::fs::metadata(&book).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&book).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let before = sb.payouts().len();
    let o = run(root.path(), &env, &many, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(sb.payouts().len(), before, "nothing sent");
}

#[test]
fn a_second_sender_of_the_same_run_exits_2() {
    let mut cfg = sandbox_config();
    cfg.faults = vec![payrun::sandbox::faults::FaultRule {
        kind: payrun::sandbox::faults::FaultKind::Latency(std::time::Duration::from_millis(300)),
        path_contains: None,
        every: 1,
        remaining: None,
    }];
    let sb = start(cfg);
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 8);
    let mut first = payrun(
        root.path(),
        &env,
        &[
            "run",
            sheet.to_str().unwrap(),
            "--yes",
            "--rate",
            "2",
            "--concurrency",
            "1",
        ],
    );
    first.env("HOME", root.path().join("home"));
    let mut child = first
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(20.0, || sb
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/v1/payout"))),
        "the first run started sending"
    );
    let o = run(root.path(), &env, &sheet, &[]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("another payrun process"), "{}", text(&o));
    // The lease dies with its holder: the run resumes and finishes.
    let o = run(root.path(), &env, &sheet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_paid_exactly_once(&sb, 8);
}

#[test]
fn runs_history_and_export_answer_from_the_book() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let book = root.path().join("book.sqlite");
    let env = env_with_book(&sb, Gw::G2328, &book);
    let sheet = write_sheet(root.path(), "pay.csv", 2);
    assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
    let json = |args: &[&str]| -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let o = payrun_in(root.path(), &env, &a);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let runs = json(&["runs"]);
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs[0]["rows"], 2);
    assert!(runs[0]["run_id"].as_str().unwrap().starts_with("pay-"));
    let h = json(&["history", "--address", &tron_address(1)]);
    assert_eq!(h.as_array().unwrap().len(), 1, "{h}");
    assert_eq!(h[0]["amount"], "10.01");
    let out = root.path().join("events.jsonl");
    let o = payrun_in(
        root.path(),
        &env,
        &["book", "export", "--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["event"] == "intent"));
    assert!(lines
        .iter()
        .all(|l| l["hash"].as_str().unwrap().len() == 64));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&book, &out, &root.path().join("pay.results.csv")] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is private", f.display());
        }
    }
    // No output may be the sheet or the book.
    for target in [&sheet, &book] {
        let o = payrun_in(
            root.path(),
            &env,
            &["report", "--out", target.to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    }
    assert!(std::fs::read_to_string(&sheet)
        .unwrap()
        .starts_with("to_address"));
    // A mistyped book is named, never created and answered as empty: "no runs", "no
    // payouts" or "intact" about a book nobody wrote would mislead.
    let typo = root.path().join("bok").join("book.sqlite");
    let mut env_typo = env.clone();
    env_typo.insert("PAYRUN_BOOK".into(), typo.to_str().unwrap().into());
    let report_out = root.path().join("r.csv");
    let export_out = root.path().join("e.jsonl");
    for args in [
        vec!["runs"],
        vec!["--json", "runs"],
        vec!["history", "--address", &tron_address(1)],
        vec!["book", "verify"],
        vec!["book", "export", "--out", export_out.to_str().unwrap()],
        vec!["status", sheet.to_str().unwrap()],
        vec![
            "report",
            sheet.to_str().unwrap(),
            "--out",
            report_out.to_str().unwrap(),
        ],
    ] {
        let o = payrun_in(root.path(), &env_typo, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(&format!("no book at {}", typo.display())),
            "{args:?}: {}",
            text(&o)
        );
    }
    assert!(!root.path().join("bok").exists(), "nothing created");
    assert!(!report_out.exists() && !export_out.exists());
}

#[test]
fn an_edited_row_is_sent_as_a_new_order_only_with_accept_edits() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::BlockAtm, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 3);
    assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
    let edited = std::fs::read_to_string(&sheet)
        .unwrap()
        .replace(",10.02,", ",12.50,");
    std::fs::write(&sheet, edited).unwrap();
    let o = run(root.path(), &env, &sheet, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("row 3: amount 10.02 → 12.50 USDT (+2.48)"),
        "{out}"
    );
    assert_eq!(sb.payouts().len(), 3, "nothing sent: {out}");
    let o = run(root.path(), &env, &sheet, &["--accept-edits"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let payouts = sb.payouts();
    assert_eq!(payouts.len(), 4, "only the edited row is sent: {out}");
    assert_eq!(payouts[3].amount.to_string(), "12.50");
    // Both payments of row 3 are in the results ledger: the earlier one is never hidden.
    let rows = read_csv_rows(&root.path().join("pay.results.csv"));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(
        rows[3]["error"].contains("earlier order of row 3"),
        "{rows:?}"
    );
    // Running it again is a resume of a finished run with this content: nothing sent.
    let o = run(root.path(), &env, &sheet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 4);
}

#[test]
fn an_explicit_order_id_another_run_used_is_a_row_error_naming_it() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let write = |name: &str, amount: &str| {
        let p = root.path().join(name);
        std::fs::write(
            &p,
            format!(
                "to_address,amount,currency,network,order_id\n{},{amount},USDT,TRX-TRC20,INV-0001\n",
                tron_address(7)
            ),
        )
        .unwrap();
        p
    };
    let first = write("a.csv", "10.00");
    assert_eq!(run(root.path(), &env, &first, &[]).status.code(), Some(0));
    let second = write("b.csv", "11.00");
    let o = run(root.path(), &env, &second, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("INV-0001 was already used by run a-"), "{out}");
    assert_eq!(sb.payouts().len(), 1, "nothing sent");
}

#[test]
fn a_paid_sheet_is_answered_from_a_current_ledger_and_rebuilt_when_the_ledger_or_run_changed() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "payroll.csv", 3);
    assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
    let results = root.path().join("payroll.results.csv");
    let fast = "the sheet was not read";
    let rebuilt = "results ledger rebuilt from the book";
    // The same sheet again: the results written by the run are current, the book answers.
    let o = run(root.path(), &env, &sheet, &["-v"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("already paid as run payroll-"), "{out}");
    assert!(out.contains("3 rows:"), "{out}");
    assert!(out.contains(fast) && !out.contains(rebuilt), "{out}");
    // The results file edited by hand: rebuilt from the book, then current again.
    let before = std::fs::read_to_string(&results).unwrap();
    std::fs::write(&results, "edited\n").unwrap();
    let o = run(root.path(), &env, &sheet, &["-v"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains(rebuilt) && !out.contains(fast), "{out}");
    let after = std::fs::read_to_string(&results).unwrap();
    assert_eq!(after.lines().count(), before.lines().count(), "{after}");
    assert!(run(root.path(), &env, &sheet, &["-v"])
        .stderr
        .windows(fast.len())
        .any(|w| w == fast.as_bytes()));
    // `status` refreshes the run and rewrites its ledger: that ledger is current too.
    std::thread::sleep(std::time::Duration::from_millis(800));
    let st = payrun_in(root.path(), &env, &["status", sheet.to_str().unwrap()]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
    let o = run(root.path(), &env, &sheet, &["-v"]);
    assert!(text(&o).contains(fast), "{}", text(&o));
    // A copy elsewhere has no ledger yet: rebuilt there, and never paid again.
    let copy = folder(root.path(), "copy").join("payroll.csv");
    std::fs::copy(&sheet, &copy).unwrap();
    let o = run(root.path(), &env, &copy, &["-v"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("this copy is not paid again") && out.contains(rebuilt),
        "{out}"
    );
    let o = run(root.path(), &env, &copy, &["-v"]);
    assert!(text(&o).contains(fast), "{}", text(&o));
    assert_paid_exactly_once(&sb, 3);
}

#[test]
fn a_gateway_refusing_the_credentials_ends_quote_and_run_with_exit_3_and_nothing_sent() {
    // The exit code comes from the one mapping of library errors (a gateway error is 3), and
    // the message names the gateway's address.
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let mut env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    env.insert("PAYRUN_API_KEY".into(), "not-the-key".into());
    let sheet = write_sheet(root.path(), "pay.csv", 2);
    let base = env["PAYRUN_BASE_URL"].clone();
    for args in [
        vec!["quote", sheet.to_str().unwrap()],
        vec!["run", sheet.to_str().unwrap(), "--yes"],
    ] {
        let o = payrun(root.path(), &env, &args).output().unwrap();
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(&base), "{args:?}: {}", text(&o));
    }
    assert_eq!(sb.payouts().len(), 0);
}

/// Files payrun writes are private even where a file of that name was readable by others
/// before: the book (an empty file made by hand, or a `.backup` copy), the results ledger
/// beside the sheet, and a report written over an existing file.
#[cfg(unix)]
#[test]
fn files_that_existed_readable_by_others_are_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let book = root.path().join("book.sqlite");
    let env = env_with_book(&sb, Gw::G2328, &book);
    let sheet = write_sheet(root.path(), "pay.csv", 2);
    let ledger = root.path().join("pay.results.csv");
    let report = root.path().join("report.json");
    for f in [&book, &ledger, &report] {
        std::fs::write(f, "").unwrap();
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let o = run(root.path(), &env, &sheet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = payrun_in(
        root.path(),
        &env,
        &[
            "report",
            sheet.to_str().unwrap(),
            "--out",
            report.to_str().unwrap(),
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for f in [&book, &ledger, &report] {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is private", f.display());
    }
}

/// A paid sheet saved again — by Excel as "CSV UTF-8" (a byte order mark, `\r\n`), with a
/// column of notes added, or with its rows in another order — pays what it paid: it is the
/// same content as the run that paid it, in its own folder or in place, never paid again.
#[test]
fn a_paid_sheet_saved_again_in_another_layout_is_never_paid_again() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let sb = start(sandbox_config());
        let root = tempfile::tempdir().unwrap();
        let env = env_with_book(&sb, gw, &root.path().join("book.sqlite"));
        let june = folder(root.path(), "june");
        let sheet = write_sheet(&june, "payroll.csv", 4);
        assert_eq!(run(&june, &env, &sheet, &[]).status.code(), Some(0));
        assert_paid_exactly_once(&sb, 4);
        let text_of = std::fs::read_to_string(&sheet).unwrap();
        let lines: Vec<&str> = text_of.lines().collect();
        let excel = format!("\u{FEFF}{}\r\n", lines.join("\r\n"));
        let mut reordered = vec![lines[0]];
        reordered.extend(lines[1..].iter().rev());
        let noted: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    format!("{l},notes")
                } else {
                    format!("{l},checked by Ana")
                }
            })
            .collect();
        let copies = folder(root.path(), "copies");
        for (name, content) in [
            ("june-excel.csv", excel.clone()),
            ("june-reordered.csv", reordered.join("\n") + "\n"),
            ("june-noted.csv", noted.join("\n") + "\n"),
        ] {
            let copy = copies.join(name);
            std::fs::write(&copy, content).unwrap();
            let o = run(&copies, &env, &copy, &[]);
            let out = text(&o);
            assert_eq!(o.status.code(), Some(0), "{gw:?} {name}: {out}");
            assert!(
                out.contains("already paid as run payroll-"),
                "{name}: {out}"
            );
            assert_paid_exactly_once(&sb, 4);
        }
        // Saved again in place: the same run, already paid (not "changed since").
        std::fs::write(&sheet, &excel).unwrap();
        let o = run(&june, &env, &sheet, &[]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{gw:?} in place: {out}");
        assert!(out.contains("already paid"), "{out}");
        assert_paid_exactly_once(&sb, 4);
        // One amount changed in a copy: other content, a new run of its own path.
        let changed = copies.join("june-changed.csv");
        std::fs::write(&changed, text_of.replacen("10.01", "10.05", 1)).unwrap();
        let o = run(&copies, &env, &changed, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(sb.payouts().len(), 8, "{}", text(&o));
    }
}

/// A row of a results ledger as `read_csv_rows` gives it.
type LedgerCsvRow = HashMap<String, String>;

/// A run whose refused row was fixed and paid with `--retry-failed` is finished and accepted
/// once the new order settles: the refused order stays in the results as history, and no
/// longer makes every later `run` and `status` exit 1 with "1 failed".
#[test]
fn a_run_corrected_with_retry_failed_ends_accepted_with_the_refusal_as_history() {
    let mut cfg = sandbox_config();
    let flagged = tron_address(2);
    cfg.aml_flagged = vec![flagged.clone()];
    let sb = start(cfg);
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 3);
    let ledger = root.path().join("pay.results.csv");
    let settle = |want: &dyn Fn(&[LedgerCsvRow]) -> bool| {
        for _ in 0..20 {
            let _ = payrun_in(
                root.path(),
                &env,
                &[
                    "status",
                    sheet.to_str().unwrap(),
                    "--wait",
                    "--timeout",
                    "5",
                ],
            );
            if ledger.exists() && want(&read_csv_rows(&ledger)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!("never settled: {:?}", read_csv_rows(&ledger));
    };
    let _ = run(root.path(), &env, &sheet, &[]);
    settle(&|rows| rows.iter().filter(|r| r["status"] == "failed").count() == 1);
    let text_before = std::fs::read_to_string(&sheet).unwrap();
    std::fs::write(&sheet, text_before.replace(&flagged, &tron_address(99))).unwrap();
    let o = run(root.path(), &env, &sheet, &["--retry-failed"]);
    assert_eq!(sb.payouts().len(), 4, "{}", text(&o));
    settle(&|rows| {
        rows.iter()
            .filter(|r| !r["error"].starts_with("earlier order"))
            .all(|r| r["status"] == "completed")
    });
    let o = run(root.path(), &env, &sheet, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("3 rows: 3 paid"), "{out}");
    assert!(out.contains("1 earlier order refused"), "{out}");
    assert!(!out.contains("retry-failed sends"), "{out}");
    let rows = read_csv_rows(&ledger);
    assert!(
        rows.iter()
            .any(|r| r["status"] == "failed" && r["error"].starts_with("earlier order")),
        "the refusal stays in the results: {rows:?}"
    );
    let o = payrun_in(root.path(), &env, &["status", sheet.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "status: {}", text(&o));
    // `runs` totals what the run paid: the refused order moved no money.
    let o = payrun_in(root.path(), &env, &["--json", "runs"]);
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs[0]["totals"]["USDT"], "30.06", "{runs}");
    assert_eq!(sb.payouts().len(), 4, "nothing sent again");
}

/// `--json` prints one JSON document on stdout whatever the outcome: the run's own when it has
/// one, the validation report with the refusal when rows are invalid, and `{"exit_code",
/// "error"}` when a command ends on an error.
#[test]
fn json_prints_one_document_on_every_outcome() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let bad = root.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "to_address,amount,currency,network\n{},abc,USDT,TRX-TRC20\n",
            tron_address(1)
        ),
    )
    .unwrap();
    let good = write_sheet(root.path(), "good.csv", 2);
    let missing = root.path().join("missing.csv");
    for (sheet, code) in [(&bad, 1), (&missing, 2), (&good, 0), (&good, 0)] {
        let o = run(root.path(), &env, sheet, &["--json"]);
        assert_eq!(o.status.code(), Some(code), "{}", text(&o));
        let stdout = String::from_utf8(o.stdout.clone()).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{}: one JSON document: {e}: {stdout}", sheet.display()));
        if code != 0 {
            assert_eq!(doc["exit_code"], code, "{doc}");
            assert!(
                doc["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{doc}"
            );
        }
        if sheet == &bad {
            assert_eq!(doc["validation"]["invalid"], 1, "{doc}");
        }
    }
    assert_paid_exactly_once(&sb, 2);
}

/// A results ledger payrun could not write is found before anything is sent (exit 2, nothing
/// paid), not after the money moved.
#[test]
fn an_unwritable_results_ledger_stops_the_run_before_anything_is_sent() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 3);
    let ledger = root.path().join("pay.results.csv");
    std::fs::create_dir(&ledger).unwrap();
    let o = run(root.path(), &env, &sheet, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("is a directory") && out.contains("nothing was sent"),
        "{out}"
    );
    assert!(sb.payouts().is_empty(), "{out}");
    // Moved away, the same command pays every row once.
    std::fs::remove_dir(&ledger).unwrap();
    let o = run(root.path(), &env, &sheet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_paid_exactly_once(&sb, 3);
}

/// A resume quotes only what it sends; the rows sent before keep the fees they were quoted,
/// so the summary compares their charged fees with their quotes (they were "charged without a
/// quote", and the fees quoted fell to the new orders' alone).
#[test]
fn rows_sent_before_a_resume_keep_their_quoted_fees() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 3);
    assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
    let text_before = std::fs::read_to_string(&sheet).unwrap();
    std::fs::write(&sheet, text_before.replacen("10.01", "10.09", 1)).unwrap();
    let o = run(root.path(), &env, &sheet, &["--accept-edits"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 4);
    let o = payrun_in(
        root.path(),
        &env,
        &[
            "--json",
            "status",
            sheet.to_str().unwrap(),
            "--wait",
            "--timeout",
            "20",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let group = &summary["groups"][0];
    assert_eq!(group["completed"], 4, "{summary}");
    // The three rows' orders keep their quotes (1.1002 + 1.1003, and 1.1009 quoted for the
    // edited row's new order); only the edited row's earlier order, no longer on a line of
    // the sheet, shows as charged without a quote (the results keep quotes per line).
    assert_eq!(group["fees_quoted"], "3.3014", "{summary}");
    assert_eq!(group["fees_charged_unquoted"], "1.1001", "{summary}");
}

/// The runs table is an index of the chain: a run's row edited (its sheet's path and hash) or
/// deleted by hand would make the paid sheet look new. `run` refuses before anything is sent,
/// naming the run or the event, and `book verify` finds it.
#[test]
fn a_runs_row_edited_or_deleted_by_hand_is_refused_not_paid_again() {
    for (what, statement) in [
        (
            "edited",
            "UPDATE runs SET sheet_path = '/x', sheet_sha256 = '00', payouts_sha256 = NULL",
        ),
        ("deleted", "PRAGMA foreign_keys = OFF; DELETE FROM runs;"),
    ] {
        let sb = start(sandbox_config());
        let root = tempfile::tempdir().unwrap();
        let book = root.path().join("book.sqlite");
        let env = env_with_book(&sb, Gw::G2328, &book);
        let sheet = write_sheet(root.path(), "pay.csv", 3);
        assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
        sql(&book, statement);
        let o = run(root.path(), &env, &sheet, &[]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{what}: {out}");
        assert!(out.contains("altered outside payrun"), "{what}: {out}");
        assert!(
            out.contains("pay-") || out.contains("a run was deleted"),
            "{what}: the place is named: {out}"
        );
        assert_paid_exactly_once(&sb, 3);
        let o = payrun_in(root.path(), &env, &["book", "verify"]);
        assert_eq!(o.status.code(), Some(1), "{what}: verify: {}", text(&o));
    }
}

/// A new run started while an earlier run of the sheet is unfinished (it died after sending
/// some rows) pays every row again, those the earlier run paid included: that needs an
/// acknowledgement, not just `--yes`. A run that sent nothing needs none.
#[test]
fn a_new_run_beside_an_unfinished_one_that_paid_rows_needs_acknowledging() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 4);
    let mut crash = env.clone();
    crash.insert("PAYRUN_TEST_CRASH_AT".into(), "after_send:3".into());
    let o = run(root.path(), &crash, &sheet, &[]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    // The third answer was never recorded; a fourth request may have been in flight.
    let paid_before = sb.payouts().len();
    assert!((3..=4).contains(&paid_before), "{}", text(&o));
    let o = run(root.path(), &env, &sheet, &["--new-run"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("is unfinished") && out.contains("previous_run_unfinished"),
        "{out}"
    );
    assert_eq!(sb.payouts().len(), paid_before, "nothing sent: {out}");
    // The attempt left a run that sent nothing; the earlier one is still named.
    let o = run(root.path(), &env, &sheet, &["--new-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = run(
        root.path(),
        &env,
        &sheet,
        &["--new-run", "--accept", "previous_run_unfinished"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        sb.payouts().len(),
        paid_before + 4,
        "a new period: {}",
        text(&o)
    );
    // A run that stopped before sending (a cap not met) leaves nothing to acknowledge.
    let other = write_sheet(&folder(root.path(), "b"), "other.csv", 2);
    let o = run(root.path(), &env, &other, &["--max-total", "1:USDT"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = run(root.path(), &env, &other, &["--new-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !text(&o).contains("previous_run_unfinished"),
        "{}",
        text(&o)
    );
}

/// A run answers for every sheet it was read from, not only the latest: after a correction
/// (`--accept-edits`) the copy of the sheet as first paid is still "already paid"; after a
/// resume from a downloaded copy, an edit of the first file is still "changed since paid";
/// after `--run-id` resumed the run with another sheet, the first sheet is still paid.
#[test]
fn a_run_keeps_answering_for_every_sheet_it_was_read_from() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    // A correction, then the e-mailed copy of the original.
    let sheet = write_sheet(root.path(), "june.csv", 4);
    let mail = folder(root.path(), "mail").join("june.csv");
    std::fs::copy(&sheet, &mail).unwrap();
    assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
    let text_of = std::fs::read_to_string(&sheet).unwrap();
    std::fs::write(&sheet, text_of.replacen("10.02", "10.22", 1)).unwrap();
    let o = run(root.path(), &env, &sheet, &["--accept-edits"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 5, "{}", text(&o));
    let o = run(root.path(), &env, &mail, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("already paid"), "{}", text(&o));
    assert_eq!(
        sb.payouts().len(),
        5,
        "the copy is not paid again: {}",
        text(&o)
    );

    // Planned from one file, resumed and paid from a copy, then the first file edited.
    let dir = folder(root.path(), "b");
    let sheet = write_sheet(&dir, "july.csv", 3);
    let o = payrun(&dir, &env, &["run", sheet.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "no terminal to confirm on: {}",
        text(&o)
    );
    let dl = folder(&dir, "dl").join("july.csv");
    std::fs::copy(&sheet, &dl).unwrap();
    let o = run(&dir, &env, &dl, &[]);
    assert!(text(&o).contains("resuming run"), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 8);
    let text_of = std::fs::read_to_string(&sheet).unwrap();
    std::fs::write(&sheet, text_of.replacen("10.02", "10.22", 1)).unwrap();
    let o = run(&dir, &env, &sheet, &[]);
    assert_eq!(o.status.code(), Some(2), "changed since paid: {}", text(&o));
    assert!(text(&o).contains("has changed since"), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 8);

    // `--run-id` of a paid run given another sheet; then the first sheet again.
    let dir = folder(root.path(), "c");
    let sheet = write_sheet(&dir, "aug.csv", 2);
    let bonus = dir.join("bonus.csv");
    std::fs::write(
        &bonus,
        format!(
            "to_address,amount,currency,network\n{},5,USDT,TRX-TRC20\n",
            tron_address(77)
        ),
    )
    .unwrap();
    let o = run(&dir, &env, &sheet, &["--run-id", "aug"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&dir, &env, &bonus, &["--run-id", "aug"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the bonus row is held: {}",
        text(&o)
    );
    let o = run(&dir, &env, &sheet, &[]);
    // The run now also holds the bonus row (held, not paid): not every row of it is paid.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already run as aug"), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 10, "aug paid once: {}", text(&o));
}

/// A `--new-run` stopped by a control sent nothing: a plain re-run of the paid sheet is
/// "already paid", never that new period paid without being asked again; it is named.
#[test]
fn a_new_run_stopped_before_sending_is_not_paid_by_a_plain_rerun() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "june.csv", 3);
    assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
    let o = run(
        root.path(),
        &env,
        &sheet,
        &["--new-run", "--max-total", "1:USDT"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = run(root.path(), &env, &sheet, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("already paid") && out.contains("sent nothing"),
        "{out}"
    );
    assert_eq!(sb.payouts().len(), 3, "{out}");
    // Named, it is paid.
    let id = out
        .split("--run-id ")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .unwrap()
        .to_string();
    let o = run(root.path(), &env, &sheet, &["--run-id", &id]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 6);
}

/// An explicit order id keeps its id across an edit, so an edited row cannot be sent again:
/// it is held, and the ledger shows the payment the gateway made (the old amount) as an
/// earlier order — never the held row as paid at its new amount. Held ends with exit 1.
#[test]
fn an_edited_row_with_an_explicit_order_id_is_held_not_shown_paid_at_its_new_amount() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = root.path().join("bonus.csv");
    let write = |amount: &str| {
        std::fs::write(
            &sheet,
            format!(
                "order_id,to_address,amount,currency,network\ninv-1,{},{amount},USDT,TRX-TRC20\n",
                tron_address(5)
            ),
        )
        .unwrap()
    };
    write("10");
    assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
    write("25");
    let o = run(root.path(), &env, &sheet, &["--accept-edits"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(sb.payouts().len(), 1);
    let o = payrun_in(
        root.path(),
        &env,
        &["status", sheet.to_str().unwrap(), "--wait"],
    );
    assert_eq!(o.status.code(), Some(1), "a held row: {}", text(&o));
    let rows = read_csv_rows(&root.path().join("bonus.results.csv"));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["amount"], "25");
    assert_eq!(rows[0]["status"], "held", "{rows:?}");
    assert_eq!(rows[0]["merchant_amount"], "", "{rows:?}");
    assert_eq!(rows[1]["status"], "completed", "{rows:?}");
    assert_eq!(rows[1]["merchant_amount"], "10", "{rows:?}");
    assert!(
        rows[1]["error"].starts_with("earlier order of row 2"),
        "{rows:?}"
    );
}

/// A run that ends with orders in doubt (the gateway never answered them) says how to resolve
/// them: run the same command again.
#[test]
fn a_run_ending_in_doubt_says_to_run_again() {
    let mut cfg = sandbox_config();
    // BlockATM: the batch create is applied but never answered, and every lookup fails.
    use payrun::sandbox::faults::{FaultKind, FaultRule};
    let rule = |kind, path: &str| FaultRule {
        kind,
        path_contains: Some(path.into()),
        every: 1,
        remaining: None,
    };
    cfg.faults = vec![
        rule(FaultKind::ApplyThenDrop, "/payout/batch"),
        rule(FaultKind::Error5xx, "/payout/detail"),
    ];
    let sb = start(cfg);
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::BlockAtm, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "pay.csv", 1);
    short_timeouts(root.path(), 1.0);
    let o = run(root.path(), &env, &sheet, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("1 in doubt"), "{out}");
    assert!(out.contains("again to resolve them"), "{out}");
    // Run again, with the gateway answering: resolved, paid once.
    sb.set_faults(Vec::new());
    let o = run(root.path(), &env, &sheet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_paid_exactly_once(&sb, 1);
}

/// Two sheets with one stem in a folder (`aff.csv`, `aff.xlsx`) write one results file: the
/// second run says whose results it replaced and how to write them again.
#[test]
fn a_results_file_of_another_sheet_replaced_is_said() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let csv = write_sheet(root.path(), "aff.csv", 2);
    let o = run(root.path(), &env, &csv, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let other = write_sheet(root.path(), "aff.tsv", 1);
    let tsv_text = std::fs::read_to_string(&other).unwrap().replace(',', "\t");
    std::fs::write(&other, tsv_text.replace("10.01", "20.01")).unwrap();
    let o = run(root.path(), &env, &other, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("held the results of run aff-") && text(&o).contains("--run-id aff-"),
        "{}",
        text(&o)
    );
    // The same sheet again (or a later period of it) replaces its own results quietly.
    let o = run(root.path(), &env, &other, &[]);
    assert!(!text(&o).contains("held the results"), "{}", text(&o));
}

/// A corrected copy of a paid sheet under another name (one row removed) is other content, so
/// a new run: its confirmation says most of its payouts were just paid by the earlier run.
#[test]
fn a_copy_of_a_paid_sheet_with_a_row_removed_is_said_to_repeat_it() {
    let sb = start(sandbox_config());
    let root = tempfile::tempdir().unwrap();
    let env = env_with_book(&sb, Gw::G2328, &root.path().join("book.sqlite"));
    let sheet = write_sheet(root.path(), "june.csv", 4);
    assert_eq!(run(root.path(), &env, &sheet, &[]).status.code(), Some(0));
    let text_of = std::fs::read_to_string(&sheet).unwrap();
    let mut lines: Vec<&str> = text_of.lines().collect();
    lines.remove(2);
    let copy = root.path().join("june-final.csv");
    std::fs::write(&copy, lines.join("\n") + "\n").unwrap();
    let o = run(root.path(), &env, &copy, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "a warning, not a stop: {out}");
    assert!(
        out.contains("3 of 3 payouts repeat payouts run june-")
            && out.contains("payout_repeats_recent_run"),
        "{out}"
    );
    // Other payouts: nothing said.
    let fresh = write_sheet(&folder(root.path(), "n"), "new.csv", 2);
    let text_of = std::fs::read_to_string(&fresh)
        .unwrap()
        .replace("10.0", "30.0");
    std::fs::write(&fresh, text_of).unwrap();
    let o = run(root.path(), &env, &fresh, &[]);
    assert!(
        !text(&o).contains("payout_repeats_recent_run"),
        "{}",
        text(&o)
    );
}
