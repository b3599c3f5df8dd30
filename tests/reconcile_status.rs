//! `payrun status` over time against the sandbox: a run ends with rows pending; `status`
//! without `--wait` before they settle leaves them pending (exit 1); `status --wait` follows
//! them until final, records each gateway answer in the book and rewrites the results
//! ledger with the sandbox's txids (exit 0), or, with an AML-flagged address, ends with that
//! row `failed` / `aml_risk` (exit 1).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

const SETTLE: Duration = Duration::from_millis(2000);

fn run_leaving_rows_pending(
    dir: &Path,
    env: &std::collections::HashMap<String, String>,
    rows: u32,
) {
    let sheet = write_sheet(dir, "pay.csv", rows);
    let started = Instant::now();
    let o = run_ok(
        dir,
        env,
        &["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ledger = read_csv_rows(&dir.join("pay.results.csv"));
    assert_eq!(ledger.len(), rows as usize);
    assert!(
        ledger.iter().all(|r| r["status"] == "pending"),
        "the run took {:?}; rows should still be pending: {ledger:?}",
        started.elapsed()
    );
}

fn status(
    dir: &Path,
    env: &std::collections::HashMap<String, String>,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["status", "pay.csv", "--rate", "100"];
    args.extend_from_slice(extra);
    run_ok(dir, env, &args)
}

#[test]
fn status_wait_follows_pending_payouts_until_completed() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let mut cfg = sandbox_config();
        cfg.settle_after = SETTLE;
        let sb = start(cfg);
        let dir = tempfile::tempdir().unwrap();
        let env = env_for(&sb, gw);
        run_leaving_rows_pending(dir.path(), &env, 4);

        // Before settlement a plain refresh changes nothing and says so with exit 1.
        let o = status(dir.path(), &env, &[]);
        assert_eq!(o.status.code(), Some(1), "{gw:?} {}", text(&o));
        let ledger = read_csv_rows(&dir.path().join("pay.results.csv"));
        assert!(
            ledger.iter().all(|r| r["status"] == "pending"),
            "{ledger:?}"
        );

        let started = Instant::now();
        let o = status(dir.path(), &env, &["--wait", "--interval", "0.2"]);
        assert_eq!(o.status.code(), Some(0), "{gw:?} {}", text(&o));
        assert!(started.elapsed() < Duration::from_secs(30));

        let payouts = payouts_by_order(&sb);
        assert_eq!(payouts.len(), 4);
        let ledger = read_csv_rows(&dir.path().join("pay.results.csv"));
        assert_eq!(ledger.len(), 4);
        for r in &ledger {
            let p = &payouts[&r["order_id"]];
            assert_eq!(r["status"], "completed", "{gw:?} {r:?}");
            assert!(p.txid.is_some());
            assert_eq!(Some(r["txid"].as_str()), p.txid.as_deref(), "{r:?}");
            assert_eq!(r["gateway_id"], p.gateway_id);
            assert_eq!(r["gateway_status"], p.gateway_status);
            assert_eq!(dec(&r["fee"]), p.fee, "{gw:?} {r:?}");
            assert_eq!(dec(&r["amount"]), p.amount);
            assert_eq!(r["error"], "");
        }
        // Every change came from a gateway lookup and is in the book. (`status` records its
        // refreshes with the `lookup` source today; `status` is accepted too.)
        let book = book_path(dir.path(), &env);
        let completed: Vec<_> = results_from(&book, "lookup")
            .into_iter()
            .chain(results_from(&book, "status"))
            .filter(|e| e["state"]["status"] == "completed")
            .collect();
        assert_eq!(completed.len(), 4, "{gw:?} {completed:?}");

        // Nothing is left to refresh: a further status sends no lookups and exits 0.
        let before = sb.requests().len();
        let o = status(dir.path(), &env, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(
            sb.requests().len(),
            before,
            "{gw:?}: final orders were looked up"
        );
    }
}

#[test]
fn status_wait_ends_with_an_aml_flagged_row_failed() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let flagged = tron_address(2);
        let mut cfg = sandbox_config();
        cfg.settle_after = SETTLE;
        cfg.aml_flagged = vec![flagged.clone()];
        let sb = start(cfg);
        let dir = tempfile::tempdir().unwrap();
        let env = env_for(&sb, gw);
        run_leaving_rows_pending(dir.path(), &env, 3);

        let o = status(dir.path(), &env, &["--wait", "--interval", "0.2"]);
        assert_eq!(o.status.code(), Some(1), "{gw:?} {}", text(&o));
        // 2328 says why (`error_type: aml_risk`); BlockATM's API only says `REFUSE`.
        let reason = match gw {
            Gw::G2328 => "aml_risk",
            Gw::BlockAtm => "REFUSE",
        };
        let out = text(&o);
        assert!(
            out.contains(reason),
            "{gw:?}: summary names the reason: {out}"
        );

        let payouts = payouts_by_order(&sb);
        let ledger = read_csv_rows(&dir.path().join("pay.results.csv"));
        assert_eq!(ledger.len(), 3);
        for r in &ledger {
            let p = &payouts[&r["order_id"]];
            if r["to_address"] == flagged {
                assert_eq!(r["status"], "failed", "{gw:?} {r:?}");
                assert!(r["error"].contains(reason), "{gw:?} {r:?}");
                assert_eq!(r["txid"], "", "{r:?}");
                assert_eq!(r["gateway_status"], p.gateway_status);
            } else {
                assert_eq!(r["status"], "completed", "{gw:?} {r:?}");
                assert_eq!(Some(r["txid"].as_str()), p.txid.as_deref());
            }
        }
    }
}

/// Leaves `victim` in doubt although the gateway has it, as if the process had died between
/// the intent and the answer. The book is tamper-evident (hash-chained events, sealed order
/// rows), so answers cannot be cut out of it in place as they once were out of the journal;
/// instead a second book is written through payrun's own write path — the same account, run,
/// sheet rows and plan, then every order event of the first in order but the victim's
/// answers — and put in the first one's place.
fn make_in_doubt(book: &Path, victim: &str) {
    use payrun::book::{AccountKey, Book, Event, Mode, OrderRecord, SheetInfo};
    use payrun::model::GatewayKind;
    let rebuilt = book.with_file_name("rebuilt.sqlite");
    let events: Vec<serde_json::Value> = book_events(book);
    {
        let old = Book::open(book).unwrap();
        let runs = old.runs(None).unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        let run = &runs[0];
        let (gateway, mode, namespace): (String, String, String) = {
            let c = rusqlite::Connection::open(book).unwrap();
            c.query_row(
                "SELECT gateway, mode, namespace FROM accounts WHERE id = ?1",
                [run.account],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
        };
        let key = AccountKey {
            gateway: GatewayKind::parse(&gateway).unwrap(),
            mode: if mode == "live" {
                Mode::Live
            } else {
                Mode::Sandbox
            },
            namespace,
        };
        let info = SheetInfo {
            path: run.sheet_path.clone(),
            name: run.sheet_name.clone(),
            worksheet: run.worksheet.clone(),
            sha256: run.sheet_sha256.clone(),
            payouts_sha256: None,
        };
        let (snapshot, held) = old.snapshot(run).unwrap();
        let planned: Vec<(OrderRecord, Option<String>)> = old
            .run_orders(run.account, run.pk)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    OrderRecord::planned(r.line, r.digest, r.request, r.updated_at),
                    None,
                )
            })
            .collect();
        let new = Book::open(&rebuilt).unwrap();
        let account = new.account(&key).unwrap();
        let new_run = new
            .create_run(account, Some(&run.run_id), "pay", &info, &run.columns)
            .unwrap();
        new.save_plan(account, &new_run, &info, &snapshot, &held, &planned)
            .unwrap();
        let mut kept = Vec::new();
        let mut cut = 0;
        for mut e in events {
            if e["event"] == "sheet" {
                continue;
            }
            if e["order_id"] == victim && e["event"] != "intent" {
                cut += 1;
                continue;
            }
            let o = e.as_object_mut().unwrap();
            for k in ["seq", "account", "run", "hash"] {
                o.remove(k);
            }
            kept.push(serde_json::from_value::<Event>(e).unwrap());
        }
        assert!(cut > 0, "nothing cut for {victim}");
        new.record(account, &kept).unwrap();
        let status = new.order(account, victim).unwrap().unwrap().1.status;
        assert_eq!(status, payrun::model::Status::InDoubt);
    }
    for sfx in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{sfx}", book.display()));
    }
    std::fs::rename(&rebuilt, book).unwrap();
}

#[test]
fn status_wait_does_not_spin_forever_on_an_order_in_doubt() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let mut cfg = sandbox_config();
        cfg.settle_after = SETTLE;
        let sb = start(cfg);
        let dir = tempfile::tempdir().unwrap();
        let env = env_for(&sb, gw);
        run_leaving_rows_pending(dir.path(), &env, 3);
        let victim = sb.payouts()[1].order_id.clone();
        make_in_doubt(&book_path(dir.path(), &env), &victim);

        let mut child = common::payrun(
            dir.path(),
            &env,
            &[
                "status",
                "pay.csv",
                "--rate",
                "100",
                "--wait",
                "--interval",
                "0.2",
            ],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        let ended = wait_until(20.0, || matches!(child.try_wait(), Ok(Some(_))));
        if !ended {
            let _ = child.kill();
        }
        let o = child.wait_with_output().unwrap();
        assert!(ended, "{gw:?}: status --wait never ended: {}", text(&o));
        let ledger = read_csv_rows(&dir.path().join("pay.results.csv"));
        let row = ledger.iter().find(|r| r["order_id"] == victim).unwrap();
        match gw {
            // BlockATM looks orders up by orderNo: the lookup finds it and it settles.
            Gw::BlockAtm => {
                assert_eq!(o.status.code(), Some(0), "{}", text(&o));
                assert_eq!(row["status"], "completed", "{row:?}");
            }
            // 2328 looks up by uuid only, which an order in doubt lacks: only `run` (which
            // re-sends the same order_id) can resolve it. status says so and exits 1.
            Gw::G2328 => {
                assert_eq!(o.status.code(), Some(1), "{}", text(&o));
                assert_eq!(row["status"], "in_doubt", "{row:?}");
                assert!(text(&o).contains("payrun run"), "{}", text(&o));
                let others = ledger.iter().filter(|r| r["order_id"] != victim);
                assert!(
                    others.clone().all(|r| r["status"] == "completed"),
                    "{ledger:?}"
                );
                // `run` resolves it without paying twice; then status settles it.
                let o = run_ok(
                    dir.path(),
                    &env,
                    &["run", "pay.csv", "--yes", "--rate", "100"],
                );
                assert_eq!(o.status.code(), Some(0), "{}", text(&o));
                let o = run_ok(
                    dir.path(),
                    &env,
                    &["status", "pay.csv", "--wait", "--interval", "0.2"],
                );
                assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            }
        }
        assert_paid_exactly_once(&sb, 3);
    }
}

#[test]
fn ctrl_c_stops_status_wait_even_in_the_middle_of_a_refresh() {
    use payrun::sandbox::faults::{FaultKind, FaultRule};
    let mut cfg = sandbox_config();
    cfg.settle_after = Duration::from_secs(600);
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let env = env_for(&sb, Gw::G2328);
    run_leaving_rows_pending(dir.path(), &env, 2);
    // Every status lookup now takes 1.5 s, so most of the wait is spent inside a refresh.
    sb.set_faults(vec![FaultRule {
        kind: FaultKind::Latency(Duration::from_millis(1500)),
        path_contains: Some("/status/".into()),
        every: 1,
        remaining: None,
    }]);
    let child = common::payrun(dir.path(), &env, &["status", "--wait", "--interval", "0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Past the first refresh and the first pause, inside the second refresh.
    std::thread::sleep(Duration::from_millis(2300));
    let pid = child.id().to_string();
    let sent = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut child = child;
    let ended = wait_until(10.0, || matches!(child.try_wait(), Ok(Some(_))));
    if !ended {
        let _ = child.kill();
    }
    let o = child.wait_with_output().unwrap();
    assert!(ended, "Ctrl-C was ignored: {}", text(&o));
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    assert!(sent.elapsed() < Duration::from_secs(5));
    let ledger = read_csv_rows(&dir.path().join("pay.results.csv"));
    assert!(
        ledger.iter().all(|r| r["status"] == "pending"),
        "{ledger:?}"
    );
}
