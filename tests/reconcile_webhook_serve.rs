//! `payrun webhook serve` end to end: the real binary receives the sandbox's own signed
//! webhooks over loopback HTTP (2328 via `url_callback` from `PAYRUN_CALLBACK_URL`, BlockATM via
//! the contract callback), journals them as `result` events from the `webhook` source, and on
//! SIGINT writes a results ledger whose txids are the sandbox's.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// Long enough that `run` (quote, submit, one status pass) has finished and `serve` is
/// listening before the first payout settles and its webhook leaves.
const SETTLE: Duration = Duration::from_secs(4);
const ROWS: u32 = 5;

fn webhooks_reach_serve_and_land_in_the_ledger(gw: Gw) {
    let port = free_port();
    let hook_url = format!("http://127.0.0.1:{port}/hooks/payout");
    let mut cfg = sandbox_config();
    cfg.settle_after = SETTLE;
    if gw == Gw::BlockAtm {
        cfg.blockatm_callback = Some(hook_url.clone());
    }
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", ROWS);
    let journal = dir.path().join("pay.ledger.jsonl");
    let mut env = env_for(&sb, gw);
    env.insert("PAYRUN_CALLBACK_URL".into(), hook_url.clone());

    let started = Instant::now();
    let o = run_ok(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"],
    );
    assert_eq!(o.status.code(), Some(0), "{gw:?} {}", text(&o));
    let serve = Serve::start(dir.path(), &env, &journal, port);
    let elapsed = started.elapsed();
    assert!(
        elapsed < SETTLE,
        "{gw:?}: run + serve start took {elapsed:?}, longer than the settle time; the test \
         would not exercise webhooks"
    );
    assert_paid_exactly_once(&sb, ROWS);
    let payouts = payouts_by_order(&sb);
    if gw == Gw::G2328 {
        assert!(
            payouts
                .values()
                .all(|p| p.url_callback.as_deref() == Some(hook_url.as_str())),
            "run did not send PAYRUN_CALLBACK_URL as url_callback"
        );
    }
    assert!(
        results_from(&journal, "webhook").is_empty(),
        "webhook results before anything settled"
    );

    // The sandbox settles every payout after SETTLE and delivers its webhook to serve.
    let all_in = wait_until(20.0, || {
        results_from(&journal, "webhook").len() >= ROWS as usize
    });
    let out = serve.interrupt();
    assert!(
        all_in,
        "{gw:?}: webhooks never all journaled: {}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));

    let deliveries = sb.webhooks();
    assert_eq!(deliveries.len(), ROWS as usize, "{deliveries:?}");
    assert!(
        deliveries
            .iter()
            .all(|d| d.delivered && d.last_http_status == Some(200)),
        "{deliveries:?}"
    );

    let payouts = payouts_by_order(&sb);
    for ev in results_from(&journal, "webhook") {
        let id = ev["order_id"].as_str().unwrap();
        let p = &payouts[id];
        assert_eq!(ev["state"]["status"], "completed", "{ev}");
        assert_eq!(ev["state"]["txid"].as_str(), p.txid.as_deref(), "{ev}");
    }

    // serve rewrote the results ledger on the way out.
    let rows = read_csv_rows(&dir.path().join("pay.results.csv"));
    assert_eq!(rows.len(), ROWS as usize);
    for r in &rows {
        let p = &payouts[&r["order_id"]];
        assert_eq!(r["status"], "completed", "{r:?}");
        assert_eq!(Some(r["txid"].as_str()), p.txid.as_deref(), "{r:?}");
        assert_eq!(r["to_address"], p.address);
        assert_eq!(r["gateway_id"], p.gateway_id);
        assert_eq!(dec(&r["fee"]), p.fee, "{r:?}");
    }
}

#[test]
fn serve_records_the_sandboxs_2328_webhooks_end_to_end() {
    webhooks_reach_serve_and_land_in_the_ledger(Gw::G2328);
}

#[test]
fn serve_records_the_sandboxs_blockatm_webhooks_end_to_end() {
    webhooks_reach_serve_and_land_in_the_ledger(Gw::BlockAtm);
}

#[test]
fn serve_holds_the_journal_lock_like_run() {
    let mut cfg = sandbox_config();
    cfg.settle_after = Duration::from_secs(600);
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sheet = write_sheet(d, "pay.csv", 2);
    let env = env_for(&sb, Gw::G2328);
    let args = ["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"];
    assert_eq!(run_ok(d, &env, &args).status.code(), Some(0));
    let journal = d.join("pay.ledger.jsonl");

    // No journal: a usage error, before listening.
    let o = run_ok(
        d,
        &env,
        &[
            "--ledger",
            "missing.ledger.jsonl",
            "webhook",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    let serve = Serve::start(d, &env, &journal, free_port());
    let requests = sb.requests().len();
    let o = run_ok(d, &env, &args);
    assert_eq!(o.status.code(), Some(2), "run while serving: {}", text(&o));
    let o = run_ok(d, &env, &["--ledger", "pay.ledger.jsonl", "status"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "status while serving: {}",
        text(&o)
    );
    let port = free_port();
    let o = run_ok(
        d,
        &env,
        &[
            "--ledger",
            "pay.ledger.jsonl",
            "webhook",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "a second serve: {}", text(&o));
    assert_eq!(
        sb.requests().len(),
        requests,
        "a locked-out command talked to the gateway"
    );
    // report reads without the lock.
    let o = run_ok(
        d,
        &env,
        &["--ledger", "pay.ledger.jsonl", "report", "--out", "r.csv"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "report while serving: {}",
        text(&o)
    );
    let out = serve.interrupt();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    // Released: status works again.
    let o = run_ok(d, &env, &["--ledger", "pay.ledger.jsonl", "status"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_paid_exactly_once(&sb, 2);
}
