//! `payrun webhook serve` end to end: the real binary receives the sandbox's own signed
//! webhooks over loopback HTTP (2328 via `url_callback` from `PAYRUN_CALLBACK_URL`, BlockATM via
//! the contract callback), records them in the book as `result` events from the `webhook`
//! source, and on SIGINT writes a results ledger whose txids are the sandbox's.

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
    let mut env = env_for(&sb, gw);
    let book = book_path(dir.path(), &env);
    env.insert("PAYRUN_CALLBACK_URL".into(), hook_url.clone());

    let started = Instant::now();
    let o = run_ok(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"],
    );
    assert_eq!(o.status.code(), Some(0), "{gw:?} {}", text(&o));
    let serve = Serve::start_on(dir.path(), &env, port);
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
        results_from(&book, "webhook").is_empty(),
        "webhook results before anything settled"
    );

    // The sandbox settles every payout after SETTLE and delivers its webhook to serve.
    let all_in = wait_until(20.0, || {
        results_from(&book, "webhook").len() >= ROWS as usize
    });
    let out = serve.interrupt();
    assert!(
        all_in,
        "{gw:?}: webhooks never all recorded in the book: {}",
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
    for ev in results_from(&book, "webhook") {
        let id = ev["order_id"].as_str().unwrap();
        let p = &payouts[id];
        assert_eq!(ev["state"]["status"], "completed", "{ev}");
        assert_eq!(ev["state"]["txid"].as_str(), p.txid.as_deref(), "{ev}");
    }

    // `payrun book export` writes the same events, one JSON object a line.
    assert_eq!(exported_events(dir.path(), &env), book_events(&book));

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

/// `serve` no longer locks anything: it records into the book beside `run`, `status` and
/// `report` (each write is one short transaction). What it needs is a payrun book and the
/// account's credentials; without either it stops before listening.
#[test]
fn serve_shares_the_book_with_run_status_and_report() {
    let mut cfg = sandbox_config();
    cfg.settle_after = Duration::from_secs(600);
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sheet = write_sheet(d, "pay.csv", 2);
    let env = env_for(&sb, Gw::G2328);
    let args = ["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"];
    assert_eq!(run_ok(d, &env, &args).status.code(), Some(0));
    let book = book_path(d, &env);

    // Not a payrun book: a usage error, before listening.
    std::fs::write(d.join("not-a-book.sqlite"), "this is no database\n").unwrap();
    let mut foreign = env.clone();
    foreign.insert("PAYRUN_BOOK".into(), "not-a-book.sqlite".into());
    let o = run_ok(
        d,
        &foreign,
        &["webhook", "serve", "--listen", "127.0.0.1:0"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a payrun book"),
        "{}",
        text(&o)
    );
    // No account credentials: a usage error, before listening.
    let mut anonymous = env.clone();
    anonymous.remove("PAYRUN_PROJECT");
    let o = run_ok(
        d,
        &anonymous,
        &["webhook", "serve", "--listen", "127.0.0.1:0"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    let serve = Serve::start(d, &env);
    let requests = sb.requests().len();
    let before = book_record(&book);
    // The same sheet again while serving: already paid, nothing sent.
    let o = run_ok(d, &env, &args);
    assert_eq!(o.status.code(), Some(0), "run while serving: {}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already paid as run"),
        "{}",
        text(&o)
    );
    let posts: Vec<_> = sb.requests()[requests..]
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.clone())
        .collect();
    assert!(posts.is_empty(), "a run while serving posted {posts:?}");
    assert_eq!(
        book_record(&book).0,
        before.0,
        "an already-paid run recorded events"
    );
    // status refreshes beside serve (the orders are still pending: exit 1).
    let o = run_ok(d, &env, &["status", "pay.csv"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "status while serving: {}",
        text(&o)
    );
    // report reads beside serve.
    let o = run_ok(d, &env, &["report", "pay.csv", "--out", "r.csv"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "report while serving: {}",
        text(&o)
    );
    assert_eq!(read_csv_rows(&d.join("r.csv")).len(), 2);
    let out = serve.interrupt();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let o = run_ok(d, &env, &["status"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_paid_exactly_once(&sb, 2);
}
