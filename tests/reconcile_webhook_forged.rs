//! `payrun webhook serve` against hand-delivered webhooks: forged ones (altered amount, wrong
//! key, no signature, wrong BlockATM secret or time) get HTTP 401 and leave the book's events and
//! order rows exactly as they were; genuine ones (including PHP's `\/`-escaped encoding) get 200
//! and are recorded in the book; stale, out-of-order and repeated genuine deliveries never move a status backwards.
//! Genuine payloads are signed with the library's signing side over the sandbox's own payout
//! records; forged ones are tampered with here.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use payrun::gateway::webhook::{
    sign_blockatm_webhook, signed_2328_webhook_body, signed_2328_webhook_body_with, Encoding2328,
};
use payrun::sandbox::api2328::result_object;
use payrun::sandbox::{Sandbox, SandboxPayout};
use serde_json::{json, Map, Value};

/// A sandbox where nothing settles during the test, a paid sheet of `rows` rows, and `serve`
/// recording into the same book.
struct Setup {
    sb: Sandbox,
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
    book: PathBuf,
    serve: Option<Serve>,
}

fn setup(gw: Gw, rows: u32) -> Setup {
    let mut cfg = sandbox_config();
    cfg.settle_after = Duration::from_secs(600);
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", rows);
    let env = env_for(&sb, gw);
    let o = run_ok(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_paid_exactly_once(&sb, rows);
    let book = book_path(dir.path(), &env);
    let serve = Serve::start(dir.path(), &env);
    Setup {
        sb,
        dir,
        env,
        book,
        serve: Some(serve),
    }
}

impl Setup {
    fn port(&self) -> u16 {
        self.serve.as_ref().unwrap().port
    }

    fn payout(&self, i: usize) -> SandboxPayout {
        self.sb.payouts()[i].clone()
    }

    /// Stops serve (SIGINT) and returns the results ledger it wrote, by order id.
    fn stop(&mut self) -> HashMap<String, HashMap<String, String>> {
        let out = self.serve.take().unwrap().interrupt();
        assert_eq!(out.status.code(), Some(130), "{}", text(&out));
        read_csv_rows(&self.dir.path().join("pay.results.csv"))
            .into_iter()
            .map(|r| (r["order_id"].clone(), r))
            .collect()
    }
}

/// `p` as the gateway reports it once settled: completed with a txid.
fn completed(p: &SandboxPayout, txid: &str) -> SandboxPayout {
    let mut p = p.clone();
    p.status = payrun::model::Status::Completed;
    p.gateway_status = "completed".into();
    p.txid = Some(txid.into());
    p.block_number = Some(77);
    p.updated_at = p.created_at + chrono::Duration::seconds(30);
    p
}

fn payload_2328(p: &SandboxPayout) -> Map<String, Value> {
    match result_object(p) {
        Value::Object(m) => m,
        other => panic!("{other}"),
    }
}

/// The documented BlockATM payout webhook body for `p`, with the given status and txid.
fn body_blockatm(p: &SandboxPayout, status: &str, txid: Option<&str>, block_time: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "custNo": "86000000",
        "bizOrderNo": p.order_id,
        "id": p.gateway_id,
        "symbol": p.currency,
        "amount": p.amount.to_string(),
        "status": status,
        "txId": txid,
        "network": p.network,
        "chainId": null,
        "fromAddress": "sandbox-contract-TEST-CONTRACT",
        "toAddress": p.address,
        "fee": "1",
        "gasAmount": txid.map(|_| "0.5"),
        "type": 1,
        "createTime": p.created_at.timestamp_millis(),
        "contractId": "TEST-CONTRACT",
        "blockTime": block_time,
    }))
    .unwrap()
}

fn post_blockatm(port: u16, body: &[u8], secret: &str, time: &str) -> u16 {
    let sig = sign_blockatm_webhook(secret, body, time);
    http_post(
        port,
        "/blockatm/any/path",
        &[
            ("BlockATM-Signature-V2", &sig),
            ("BlockATM-Request-Time", time),
            ("BlockATM-Event", "payout"),
        ],
        body,
    )
}

/// Request headers for `http_post`.
type Headers<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn forged_2328_webhooks_are_refused_and_a_slash_escaped_genuine_one_is_accepted() {
    let mut s = setup(Gw::G2328, 2);
    let key = s.sb.config().payout_key;
    let p = s.payout(0);
    let done = completed(&p, &"ab".repeat(32));
    let mut payload = payload_2328(&done);
    // A member with a `/`, so PHP's encoding differs from the plain one.
    payload.insert(
        "explorer_url".into(),
        Value::String(format!(
            "https://tronscan.org/#/transaction/{}",
            "ab".repeat(32)
        )),
    );
    let genuine = String::from_utf8(signed_2328_webhook_body(&key, &payload)).unwrap();
    let amount = format!("\"amount\":{}", payload["amount"]);
    assert!(genuine.contains(&amount), "{genuine}");
    let before = book_record(&s.book);

    let forgeries: Vec<(&str, Vec<u8>)> = vec![
        (
            "altered amount",
            genuine
                .replace(&amount, "\"amount\":\"99999.00\"")
                .into_bytes(),
        ),
        (
            "altered status",
            genuine
                .replace("\"status\":\"completed\"", "\"status\":\"failed\"")
                .into_bytes(),
        ),
        (
            "wrong key",
            signed_2328_webhook_body("not-the-payout-key", &payload),
        ),
        ("unsigned", serde_json::to_vec(&payload).unwrap()),
        ("not JSON", b"order_id=x&status=completed".to_vec()),
    ];
    for (what, body) in &forgeries {
        assert_ne!(body.as_slice(), genuine.as_bytes(), "{what}");
        let code = http_post(s.port(), "/hooks/payout", &[], body);
        // Not JSON at all is a bad request (400); anything else is not genuine (401).
        let want = if *what == "not JSON" { 400 } else { 401 };
        assert_eq!(code, want, "{what}");
    }
    assert_eq!(
        book_record(&s.book),
        before,
        "a refused webhook changed the book"
    );

    // The genuine payload as PHP encodes it: `\/` in the body, signed over that form.
    let php = signed_2328_webhook_body_with(&key, &payload, Encoding2328::PHP_DEFAULT);
    assert!(String::from_utf8_lossy(&php).contains(r"https:\/\/tronscan.org\/#\/"));
    assert_eq!(http_post(s.port(), "/some/other/path", &[], &php), 200);
    let hooks = results_from(&s.book, "webhook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["order_id"], p.order_id.as_str());
    assert_eq!(hooks[0]["state"]["status"], "completed");

    let ledger = s.stop();
    let row = &ledger[&p.order_id];
    assert_eq!(row["status"], "completed", "{row:?}");
    assert_eq!(row["txid"], "ab".repeat(32));
    // The other order heard nothing and is still pending.
    let other = s.payout(1);
    assert_eq!(ledger[&other.order_id]["status"], "pending");
}

#[test]
fn forged_blockatm_webhooks_are_refused_and_genuine_ones_accepted() {
    let mut s = setup(Gw::BlockAtm, 2);
    let secret = s.sb.config().secret;
    let p = s.payout(0);
    let time = chrono::Utc::now().timestamp_millis().to_string();
    let txid = "cd".repeat(32);
    let block_time = p.created_at.timestamp_millis() + 30_000;
    let body = body_blockatm(&p, "SUCCESS", Some(&txid), block_time);
    let sig = sign_blockatm_webhook(&secret, &body, &time);
    let before = book_record(&s.book);

    let altered = String::from_utf8(body.clone())
        .unwrap()
        .replace(
            &format!("\"amount\":\"{}\"", p.amount),
            "\"amount\":\"99999\"",
        )
        .into_bytes();
    assert_ne!(altered, body);
    let later = format!("{}", time.parse::<i64>().unwrap() + 1);
    let wrong_sig = sign_blockatm_webhook("wrong-secret", &body, &time);
    let sig_h = "BlockATM-Signature-V2";
    let time_h = "BlockATM-Request-Time";
    let cases: Vec<(&str, &[u8], Headers)> = vec![
        (
            "wrong secret",
            &body,
            vec![(sig_h, &wrong_sig), (time_h, &time)],
        ),
        (
            "altered amount",
            &altered,
            vec![(sig_h, &sig), (time_h, &time)],
        ),
        ("another time", &body, vec![(sig_h, &sig), (time_h, &later)]),
        ("no time header", &body, vec![(sig_h, &sig)]),
    ];
    for (what, b, headers) in &cases {
        let code = http_post(s.port(), "/hooks/blockatm", headers, b);
        assert_eq!(code, 401, "{what}");
    }
    assert_eq!(
        book_record(&s.book),
        before,
        "a refused webhook changed the book"
    );

    assert_eq!(post_blockatm(s.port(), &body, &secret, &time), 200);
    let hooks = results_from(&s.book, "webhook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["order_id"], p.order_id.as_str());
    let ledger = s.stop();
    let row = &ledger[&p.order_id];
    assert_eq!(row["status"], "completed", "{row:?}");
    assert_eq!(row["gateway_status"], "SUCCESS");
    assert_eq!(row["txid"], txid);
    assert_eq!(ledger[&s.payout(1).order_id]["status"], "pending");
}

#[test]
fn stale_out_of_order_and_repeated_2328_deliveries_never_move_a_status_back() {
    let mut s = setup(Gw::G2328, 3);
    let key = s.sb.config().payout_key;
    let port = s.port();
    let (a, b) = (s.payout(0), s.payout(1));
    let txid_a = "0a".repeat(32);
    let pending_a = signed_2328_webhook_body(&key, &payload_2328(&a));
    let completed_a = signed_2328_webhook_body(&key, &payload_2328(&completed(&a, &txid_a)));

    // Completed first, then the older pending one arrives late.
    assert_eq!(http_post(port, "/hooks/payout", &[], &completed_a), 200);
    assert_eq!(http_post(port, "/hooks/payout", &[], &pending_a), 200);
    // The same completed payload delivered twice more (gateway retries).
    assert_eq!(http_post(port, "/hooks/payout", &[], &completed_a), 200);
    assert_eq!(http_post(port, "/hooks/payout", &[], &completed_a), 200);

    // A failed order: the aml_risk answer, then a replayed stale pending.
    let mut failed_b = b.clone();
    failed_b.status = payrun::model::Status::Failed;
    failed_b.gateway_status = "failed".into();
    failed_b.error_type = Some("aml_risk".into());
    let failed_b = signed_2328_webhook_body(&key, &payload_2328(&failed_b));
    let pending_b = signed_2328_webhook_body(&key, &payload_2328(&b));
    assert_eq!(http_post(port, "/x", &[], &failed_b), 200);
    assert_eq!(http_post(port, "/x", &[], &pending_b), 200);
    assert_eq!(http_post(port, "/x", &[], &failed_b), 200);

    let ledger = s.stop();
    let row_a = &ledger[&a.order_id];
    assert_eq!(row_a["status"], "completed", "{row_a:?}");
    assert_eq!(row_a["gateway_status"], "completed", "{row_a:?}");
    assert_eq!(row_a["txid"], txid_a);
    assert_eq!(row_a["error"], "");
    let row_b = &ledger[&b.order_id];
    assert_eq!(row_b["status"], "failed", "{row_b:?}");
    assert_eq!(row_b["error"], "aml_risk", "{row_b:?}");
    assert_eq!(ledger[&s.payout(2).order_id]["status"], "pending");

    // `report` and a later `status` (both read the book afresh) agree; status looks up only
    // the order that is still pending.
    let o = run_ok(
        s.dir.path(),
        &s.env,
        &["report", "pay.csv", "--out", "r.json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.dir.path().join("r.json")).unwrap()).unwrap();
    let reported: HashMap<String, String> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["order_id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(reported[a.order_id.as_str()], "completed");
    assert_eq!(reported[b.order_id.as_str()], "failed");
    assert_eq!(reported[s.payout(2).order_id.as_str()], "pending");
    let lookups = s.sb.requests().len();
    let o = run_ok(s.dir.path(), &s.env, &["status"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let looked_up: Vec<_> = s.sb.requests()[lookups..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        looked_up.len(),
        1,
        "status looked up more than the pending order: {looked_up:?}"
    );
    let after = read_csv_rows(&s.dir.path().join("pay.results.csv"));
    let by: HashMap<_, _> = after
        .iter()
        .map(|r| (r["order_id"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(by[&a.order_id], "completed");
    assert_eq!(by[&b.order_id], "failed");
}

#[test]
fn stale_and_repeated_blockatm_deliveries_never_move_a_status_back() {
    let mut s = setup(Gw::BlockAtm, 2);
    let secret = s.sb.config().secret;
    let port = s.port();
    let a = s.payout(0);
    let txid = "ef".repeat(32);
    let created = a.created_at.timestamp_millis();
    let success = body_blockatm(&a, "SUCCESS", Some(&txid), created + 30_000);
    let pending = body_blockatm(&a, "PENDING", None, created);
    let t = |d: i64| (chrono::Utc::now().timestamp_millis() + d).to_string();
    assert_eq!(post_blockatm(port, &success, &secret, &t(0)), 200);
    assert_eq!(post_blockatm(port, &pending, &secret, &t(1)), 200);
    assert_eq!(post_blockatm(port, &success, &secret, &t(2)), 200);
    assert_eq!(post_blockatm(port, &success, &secret, &t(3)), 200);
    let ledger = s.stop();
    let row = &ledger[&a.order_id];
    assert_eq!(row["status"], "completed", "{row:?}");
    assert_eq!(row["gateway_status"], "SUCCESS", "{row:?}");
    assert_eq!(row["txid"], txid);
    assert_eq!(ledger[&s.payout(1).order_id]["status"], "pending");
}

#[test]
fn serve_answers_only_posts_and_stops_cleanly_on_sigterm() {
    let mut s = setup(Gw::G2328, 1);
    let key = s.sb.config().payout_key;
    let p = s.payout(0);
    let before = book_record(&s.book);
    // A GET (a browser, a health check) is not a webhook and records nothing.
    {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port())).unwrap();
        c.write_all(b"GET /hooks/payout HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    }
    assert_eq!(book_record(&s.book), before);

    let body = signed_2328_webhook_body(&key, &payload_2328(&completed(&p, &"11".repeat(32))));
    assert_eq!(http_post(s.port(), "/", &[], &body), 200);
    // SIGTERM, what a service manager sends: a graceful stop that rewrites the results ledger.
    let child = s.serve.take().unwrap().child.take().unwrap();
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.code().is_some(),
        "killed by the signal: {}",
        text(&out)
    );
    let rows = read_csv_rows(&s.dir.path().join("pay.results.csv"));
    assert_eq!(rows[0]["status"], "completed", "{}", text(&out));
    assert_eq!(rows[0]["txid"], "11".repeat(32));
}

#[test]
fn a_blockatm_account_accepts_only_blockatm_signed_deliveries() {
    // The BlockATM API key travels in a header with every request: it is no signing secret.
    // A 2328-style body "signed" with it must not be taken for a genuine webhook.
    let mut s = setup(Gw::BlockAtm, 1);
    let api_key = s.sb.config().api_key;
    let p = s.payout(0);
    let before = book_record(&s.book);
    let mut as_2328 = p.clone();
    as_2328.gateway = payrun::model::GatewayKind::G2328;
    let body = signed_2328_webhook_body(&api_key, &payload_2328(&completed(&as_2328, "ff")));
    assert_eq!(http_post(s.port(), "/hooks", &[], &body), 401);
    assert_eq!(book_record(&s.book), before);
    assert_eq!(s.stop()[&p.order_id]["status"], "pending");
}

#[test]
fn a_2328_account_refuses_blockatm_deliveries() {
    let mut s = setup(Gw::G2328, 1);
    let p = s.payout(0);
    let before = book_record(&s.book);
    // serve for 2328 with a BlockATM secret in its environment too: still not its gateway.
    let time = chrono::Utc::now().timestamp_millis().to_string();
    let body = body_blockatm(&p, "SUCCESS", Some("ab"), 1);
    let mut env = s.env.clone();
    env.insert("PAYRUN_API_SECRET".into(), SECRET.into());
    let out = s.serve.take().unwrap().interrupt();
    assert_eq!(out.status.code(), Some(130));
    let serve = Serve::start(s.dir.path(), &env);
    assert_eq!(post_blockatm(serve.port, &body, SECRET, &time), 401);
    assert_eq!(book_record(&s.book), before);
    drop(serve);
}

/// Webhooks that are genuinely signed but do not describe what was sent: another payout for
/// one of our order ids is refused (400) and recorded nowhere; a repeated key is refused (400);
/// the same payout with another amount, or a final status contradicted, is a recorded conflict.
#[test]
fn genuine_2328_webhooks_that_disagree_are_refused_or_conflicts() {
    let mut s = setup(Gw::G2328, 3);
    let key = s.sb.config().payout_key;
    // Learn the gateway ids first (a status refresh records them).
    let o = run_ok(s.dir.path(), &s.env, &["status"]);
    assert!(o.status.code().is_some(), "{}", text(&o));
    let before = book_record(&s.book);
    // Another payout for our order id: other uuid, 5.00 BTC, another address.
    let p0 = s.payout(0);
    let mut other = payload_2328(&completed(&p0, &"ef".repeat(32)));
    other.insert("uuid".into(), json!("0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"));
    other.insert("amount".into(), json!("5.00"));
    other.insert("currency".into(), json!("BTC"));
    other.insert("to_address".into(), json!(tron_address(999)));
    let body = signed_2328_webhook_body(&key, &other);
    assert_eq!(http_post(s.port(), "/hook", &[], &body), 400);
    // A repeated key, whatever the signature: refused before anything else.
    let dup = String::from_utf8(signed_2328_webhook_body(&key, &payload_2328(&p0)))
        .unwrap()
        .replacen(
            "\"status\":\"pending\"",
            "\"status\":\"failed\",\"status\":\"completed\"",
            1,
        );
    assert!(
        dup.contains("\"status\":\"failed\",\"status\":\"completed\""),
        "{dup}"
    );
    assert_eq!(http_post(s.port(), "/hook", &[], dup.as_bytes()), 400);
    assert_eq!(
        book_record(&s.book),
        before,
        "a refused webhook changed the book"
    );
    // The right payout with another amount: a conflict, recorded, never paid.
    let p1 = s.payout(1);
    let mut lying = payload_2328(&completed(&p1, &"aa".repeat(32)));
    lying.insert("amount".into(), json!("999999.00"));
    assert_eq!(
        http_post(
            s.port(),
            "/hook",
            &[],
            &signed_2328_webhook_body(&key, &lying)
        ),
        200
    );
    // Completed, then a genuine "failed": the contradiction is a conflict, not dropped.
    let p2 = s.payout(2);
    let done = completed(&p2, &"bb".repeat(32));
    assert_eq!(
        http_post(
            s.port(),
            "/hook",
            &[],
            &signed_2328_webhook_body(&key, &payload_2328(&done))
        ),
        200
    );
    let mut failed = payload_2328(&done);
    failed.insert("status".into(), json!("failed"));
    failed.insert("error_type".into(), json!("aml_risk"));
    assert_eq!(
        http_post(
            s.port(),
            "/hook",
            &[],
            &signed_2328_webhook_body(&key, &failed)
        ),
        200
    );
    let ledger = s.stop();
    assert_eq!(
        ledger[&p0.order_id]["status"], "pending",
        "{:?}",
        ledger[&p0.order_id]
    );
    let r1 = &ledger[&p1.order_id];
    assert_eq!(r1["status"], "conflict", "{r1:?}");
    let said = format!("amount: sent {}, answered 999999", p1.amount);
    assert!(r1["error"].contains(&said), "{r1:?}");
    let r2 = &ledger[&p2.order_id];
    assert_eq!(r2["status"], "conflict", "{r2:?}");
    assert!(r2["error"].contains("status"), "{r2:?}");
    let conflicts: Vec<_> = book_events(&s.book)
        .into_iter()
        .filter(|e| e["event"] == "conflict")
        .collect();
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
}

#[test]
fn blockatm_webhooks_out_of_time_or_for_another_contract_or_symbol_are_refused() {
    let mut s = setup(Gw::BlockAtm, 1);
    let secret = s.sb.config().secret;
    let p = s.payout(0);
    let before = book_record(&s.book);
    let good = body_blockatm(&p, "SUCCESS", Some(&"cd".repeat(32)), 0);
    let now = chrono::Utc::now().timestamp_millis();
    for (what, time) in [
        ("2020", "1577836800000".to_string()),
        ("2100", "4102444800000".to_string()),
        ("abc", "abc".to_string()),
        ("ten minutes ago", (now - 600_000).to_string()),
    ] {
        let code = post_blockatm(s.port(), &good, &secret, &time);
        assert!(code == 400 || code == 401, "{what}: {code}");
    }
    let time = now.to_string();
    let other_contract = String::from_utf8(good.clone()).unwrap().replace(
        "\"contractId\":\"TEST-CONTRACT\"",
        "\"contractId\":\"OTHER-CONTRACT\"",
    );
    assert_eq!(
        post_blockatm(s.port(), other_contract.as_bytes(), &secret, &time),
        400
    );
    let other_symbol = String::from_utf8(good.clone())
        .unwrap()
        .replace("\"symbol\":\"USDT\"", "\"symbol\":\"USDC\"");
    assert_eq!(
        post_blockatm(s.port(), other_symbol.as_bytes(), &secret, &time),
        400
    );
    assert_eq!(
        book_record(&s.book),
        before,
        "a refused webhook changed the book"
    );
    assert_eq!(post_blockatm(s.port(), &good, &secret, &time), 200);
    let ledger = s.stop();
    assert_eq!(ledger[&p.order_id]["status"], "completed");
}
