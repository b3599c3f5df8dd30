//! Finished runs packed into blocks (docs/book.md, "Packed runs"), through the real binary
//! against the sandbox: a run packed once every order is final reads as before (`status`,
//! `report`, `runs`, `history`, `book export`, "already paid"), a correction unpacks it, a
//! SIGKILL inside the packing transaction leaves the run whole, and every hand edit of a
//! block, a lookup row or an order inside a block is refused with the place named and nothing
//! sent.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;

fn payrun_in(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> std::process::Output {
    payrun(dir, env, args).output().expect("payrun runs")
}

fn count(book: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(book).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn sql(book: &Path, statement: &str) {
    let c = rusqlite::Connection::open(book).unwrap();
    c.execute_batch(statement).unwrap();
}

/// Packs a run as soon as it is finished (`pack_after_hours = 0`; a day by default) for the
/// commands run in `dir`.
fn pack_at_once(dir: &Path) {
    std::fs::write(dir.join("payrun.toml"), "pack_after_hours = 0\n").unwrap();
}

/// A sandbox settling at once, a book, a sheet of `rows` rows paid, and `status` run until
/// every order is final: the run is then packed. Returns (sandbox, folder, env, book, sheet).
fn packed_run(
    gw: Gw,
    rows: u32,
) -> (
    payrun::sandbox::Sandbox,
    tempfile::TempDir,
    HashMap<String, String>,
    PathBuf,
    PathBuf,
) {
    let mut cfg = sandbox_config();
    cfg.settle_after = std::time::Duration::ZERO;
    let sb = start(cfg);
    let root = tempfile::tempdir().unwrap();
    let book = root.path().join("book.sqlite");
    let env = env_with_book(&sb, gw, &book);
    pack_at_once(root.path());
    let sheet = write_sheet(root.path(), "pay.csv", rows);
    let o = payrun_in(
        root.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for _ in 0..5 {
        if count(&book, "SELECT count(*) FROM packed_blocks") > 0 {
            break;
        }
        let o = payrun_in(root.path(), &env, &["status", sheet.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 1);
    assert_eq!(count(&book, "SELECT count(*) FROM orders"), 0);
    (sb, root, env, book, sheet)
}

#[test]
fn a_packed_run_answers_every_command_as_before() {
    let (sb, root, env, book, sheet) = packed_run(Gw::G2328, 4);
    let dir = root.path();
    // Everything the book says, through the binary.
    let orders = book_orders(&book);
    assert_eq!(orders.len(), 4);
    assert!(
        orders.iter().all(|o| o["status"] == "completed"),
        "{orders:?}"
    );
    let events = exported_events(dir, &env);
    assert_eq!(events, book_events(&book));
    assert_eq!(
        events.len(),
        1 + 4 * 3,
        "a sheet, and per order intent, create, status"
    );
    let o = payrun_in(dir, &env, &["runs", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs[0]["paid"], 4, "{runs}");
    assert_eq!(runs[0]["rows"], 4, "{runs}");
    assert_eq!(runs[0]["totals"]["USDT"], "40.10", "{runs}");
    let address = tron_address(2);
    let o = payrun_in(dir, &env, &["history", "--address", &address, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let history: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    assert_eq!(history[0]["amount"], "10.02", "{history}");
    assert_eq!(history[0]["status"], "completed", "{history}");
    let out = dir.join("report.csv");
    let o = payrun_in(
        dir,
        &env,
        &[
            "report",
            sheet.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report = std::fs::read_to_string(&out).unwrap();
    for i in 1..=4 {
        let line = report.lines().find(|l| l.contains(&tron_address(i)));
        assert!(
            line.is_some_and(|l| l.contains("completed")),
            "row {i}: {report}"
        );
    }
    let o = payrun_in(dir, &env, &["book", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The same sheet again, then a copy elsewhere: already paid, nothing sent.
    let before = sb.requests().len();
    let o = payrun_in(dir, &env, &["run", sheet.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("already paid"), "{}", text(&o));
    let other = dir.join("copy");
    std::fs::create_dir(&other).unwrap();
    std::fs::copy(&sheet, other.join("june.csv")).unwrap();
    let copy = other.join("june.csv");
    let o = payrun_in(dir, &env, &["run", copy.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("already paid"), "{}", text(&o));
    assert!(
        sb.requests()[before..].iter().all(|r| r.method != "POST"),
        "a packed run was paid again"
    );
    assert_paid_exactly_once(&sb, 4);
    assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 1);
    assert_eq!(book_orders(&book), orders);
}

#[test]
fn a_packed_run_corrected_is_unpacked_sends_only_the_correction_and_packs_again() {
    let (sb, root, env, book, sheet) = packed_run(Gw::G2328, 3);
    let dir = root.path();
    // Row 2's amount edited after it was paid: --accept-edits sends it as a new order of the
    // same run; the earlier payment stands.
    let text_now = std::fs::read_to_string(&sheet).unwrap();
    std::fs::write(&sheet, text_now.replacen(",10.02,", ",10.20,", 1)).unwrap();
    let o = payrun_in(
        dir,
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--accept-edits"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let payouts = sb.payouts();
    assert_eq!(
        payouts.len(),
        4,
        "three paid before, the edited row once more"
    );
    assert_eq!(
        payouts
            .iter()
            .filter(|p| p.address == tron_address(2))
            .count(),
        2
    );
    let orders = book_orders(&book);
    assert_eq!(orders.len(), 4, "{orders:?}");
    // Final again (the sandbox settles at once): packed again by `status`.
    for _ in 0..5 {
        if count(&book, "SELECT count(*) FROM orders") == 0 {
            break;
        }
        let o = payrun_in(dir, &env, &["status", sheet.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    assert_eq!(count(&book, "SELECT count(*) FROM orders"), 0);
    assert_eq!(count(&book, "SELECT sum(orders) FROM packed_blocks"), 4);
    let o = payrun_in(dir, &env, &["book", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(book_orders(&book).len(), 4);
}

/// A SIGKILL inside the packing transaction (failpoint `in_pack`) leaves the run whole and
/// live; the next command packs it.
#[test]
fn a_crash_while_packing_leaves_the_live_run_whole() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let mut cfg = sandbox_config();
        cfg.settle_after = std::time::Duration::ZERO;
        let sb = start(cfg);
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        let book = dir.join("book.sqlite");
        let env = env_with_book(&sb, gw, &book);
        pack_at_once(dir);
        let sheet = write_sheet(dir, "pay.csv", 5);
        // The run packs at its end when every answer is final already; else `status` does.
        let mut crashed = false;
        for args in [["run", sheet.to_str().unwrap(), "--yes"].as_slice()]
            .into_iter()
            .chain(std::iter::repeat_n(
                ["status", sheet.to_str().unwrap()].as_slice(),
                5,
            ))
        {
            let mut cmd = payrun(dir, &env, args);
            cmd.env(payrun::failpoint::ENV, "in_pack:1");
            let o = cmd.output().unwrap();
            if o.status.code().is_none() || o.status.code() == Some(134) {
                crashed = true;
                break;
            }
            assert_eq!(o.status.code(), Some(0), "{gw:?}: {}", text(&o));
        }
        assert!(
            crashed,
            "{gw:?}: no crash happened; the test proved nothing"
        );
        // Whole and live: every order there, nothing packed, nothing counted as a hand edit.
        assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 0);
        assert_eq!(count(&book, "SELECT count(*) FROM packed_order_ids"), 0);
        assert_eq!(count(&book, "SELECT count(*) FROM orders"), 5);
        assert_eq!(
            count(
                &book,
                "SELECT count(*) FROM meta WHERE key = 'edits_outside'"
            ),
            0
        );
        let live = book_record(&book);
        let o = payrun_in(dir, &env, &["book", "verify"]);
        assert_eq!(o.status.code(), Some(0), "{gw:?}: {}", text(&o));
        // The next `status` packs it, and it reads the same; the sheet again is paid already.
        let o = payrun_in(dir, &env, &["status", sheet.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{gw:?}: {}", text(&o));
        assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 1);
        let o = payrun_in(dir, &env, &["run", sheet.to_str().unwrap(), "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{gw:?}: {}", text(&o));
        assert!(text(&o).contains("already paid"), "{gw:?}: {}", text(&o));
        assert_eq!(book_record(&book), live);
        let o = payrun_in(dir, &env, &["book", "verify"]);
        assert_eq!(o.status.code(), Some(0), "{gw:?}: {}", text(&o));
        assert_paid_exactly_once(&sb, 5);
    }
}

/// Rewrites the one block of the book with `edit` applied to its decoded orders (and its
/// status counts to match).
fn edit_block(book: &Path, edit: impl FnOnce(&mut Vec<payrun::book::packed::PackedOrder>)) {
    use payrun::book::packed;
    let c = rusqlite::Connection::open(book).unwrap();
    let (id, account, run, bytes): (i64, i64, i64, Vec<u8>) = c
        .query_row(
            "SELECT id, account, run, bytes FROM packed_blocks",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let mut block = packed::decode_block(id, account, run, &bytes).unwrap();
    edit(&mut block.orders);
    // A careful forger keeps the block's status counts in step.
    let mut statuses = std::collections::BTreeMap::<&str, u64>::new();
    for o in &block.orders {
        *statuses.entry(o.status()).or_default() += 1;
    }
    c.execute(
        "UPDATE packed_blocks SET bytes = ?1, statuses = ?2 WHERE id = ?3",
        rusqlite::params![
            packed::encode_block(account, run, &block.orders),
            serde_json::to_string(&statuses).unwrap(),
            id
        ],
    )
    .unwrap();
}

#[test]
fn a_packed_run_edited_by_hand_is_refused_with_the_place_named_and_nothing_is_sent() {
    type Edit = fn(&Path);
    let cases: [(&str, Edit, &str); 5] = [
        (
            "a block's bytes edited",
            |b| {
                let c = rusqlite::Connection::open(b).unwrap();
                let mut bytes: Vec<u8> = c
                    .query_row("SELECT bytes FROM packed_blocks", [], |r| r.get(0))
                    .unwrap();
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x5a;
                c.execute("UPDATE packed_blocks SET bytes = ?1", [bytes])
                    .unwrap();
            },
            "is unreadable",
        ),
        (
            "a block deleted",
            |b| sql(b, "DELETE FROM packed_blocks"),
            // The book's last event was in it.
            "is missing",
        ),
        (
            "a lookup row deleted",
            |b| {
                sql(
                    b,
                    "DELETE FROM packed_order_ids WHERE key = (SELECT min(key) FROM packed_order_ids)",
                )
            },
            "has no lookup row",
        ),
        (
            "an order's status edited inside its block",
            |b| {
                edit_block(b, |orders| {
                    use payrun::book::packed::oc;
                    orders[1].order[oc::STATUS] = rusqlite::types::Value::Text("failed".into());
                })
            },
            "does not match its seal",
        ),
        (
            "an event's body edited inside its block",
            |b| {
                edit_block(b, |orders| {
                    let e = &mut orders[0].events[0];
                    e.body = e.body.replace("10.01", "19.01");
                })
            },
            "does not match its hash",
        ),
    ];
    for (name, edit, says) in cases {
        let (sb, root, env, book, sheet) = packed_run(Gw::BlockAtm, 3);
        let dir = root.path();
        edit(&book);
        assert!(
            count(
                &book,
                "SELECT count(*) FROM meta WHERE key = 'edits_outside'"
            ) > 0,
            "{name}: not counted"
        );
        let before = sb.requests().len();
        let o = payrun_in(dir, &env, &["run", sheet.to_str().unwrap(), "--yes"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {out}");
        assert!(out.contains(says), "{name}: {out}");
        assert!(
            sb.requests()[before..].iter().all(|r| r.method != "POST"),
            "{name}: sent"
        );
        assert_paid_exactly_once(&sb, 3);
        let o = payrun_in(dir, &env, &["book", "verify"]);
        assert_eq!(o.status.code(), Some(1), "{name}: verify: {}", text(&o));
    }
}

/// A run just finished stays in the live tables for `pack_after_hours` (a day by default):
/// late answers and hand checks find its rows there. Once quiet that long, the next command
/// that writes a results ledger packs it.
#[test]
fn a_finished_run_is_packed_only_once_it_has_been_quiet_a_while() {
    let mut cfg = sandbox_config();
    cfg.settle_after = std::time::Duration::ZERO;
    let sb = start(cfg);
    let root = tempfile::tempdir().unwrap();
    let book = root.path().join("book.sqlite");
    let env = env_with_book(&sb, Gw::G2328, &book);
    let sheet = write_sheet(root.path(), "pay.csv", 3);
    let o = payrun_in(
        root.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for _ in 0..2 {
        let o = payrun_in(root.path(), &env, &["status", sheet.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    assert_eq!(
        count(&book, "SELECT count(*) FROM orders"),
        3,
        "finished, still live"
    );
    assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 0);
    // Quiet for longer than 1.8 s counts as settled now.
    std::fs::write(
        root.path().join("payrun.toml"),
        "pack_after_hours = 0.0005\n",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2000));
    let o = payrun_in(root.path(), &env, &["status", sheet.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 1);
    assert_eq!(count(&book, "SELECT count(*) FROM orders"), 0);
    assert_eq!(sb.payouts().len(), 3);
}
