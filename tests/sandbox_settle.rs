//! Settlement over time (completed with txid, aml_risk failures) and signed webhooks for both
//! gateways, verified with test-side code.

mod sandbox_support;

use std::time::Duration;

use base64::Engine;
use payrun::model::Status;
use payrun::sandbox::SandboxConfig;
use sandbox_support::*;
use serde_json::{json, Value};

fn settling(ms: u64) -> SandboxConfig {
    SandboxConfig {
        settle_after: Duration::from_millis(ms),
        aml_flagged: vec![FLAGGED.to_string()],
        ..quiet()
    }
}

fn is_hex64(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn pending_2328_payouts_complete_or_fail_with_aml_risk() {
    let sb = start(settling(300));
    let c = client();
    let ok: Value = post_2328(&c, &sb, "/v1/payout", &body_2328("s-ok", "10"))
        .await
        .json()
        .await
        .unwrap();
    let flagged = json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "10", "to_address": FLAGGED, "order_id": "s-aml"});
    let bad: Value = post_2328(&c, &sb, "/v1/payout", &flagged.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["result"]["status"], "pending");
    assert_eq!(bad["result"]["status"], "pending");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let path = |v: &Value| {
        format!(
            "/v1/payout/status/{}",
            v["result"]["uuid"].as_str().unwrap()
        )
    };
    let done: Value = get_2328(&c, &sb, &path(&ok)).await.json().await.unwrap();
    assert_eq!(done["result"]["status"], "completed");
    assert!(is_hex64(&done["result"]["txid"]), "{done}");
    assert!(done["result"]["block_number"].is_u64());
    assert_eq!(done["result"]["error_type"], Value::Null);
    let failed: Value = get_2328(&c, &sb, &path(&bad)).await.json().await.unwrap();
    assert_eq!(failed["result"]["status"], "failed");
    assert_eq!(failed["result"]["error_type"], "aml_risk");
    assert_eq!(failed["result"]["txid"], Value::Null);
    let statuses: Vec<Status> = sb.payouts().iter().map(|p| p.status).collect();
    assert_eq!(statuses, [Status::Completed, Status::Failed]);
}

#[tokio::test]
async fn blockatm_detail_goes_pending_to_success_or_refuse() {
    let sb = start(settling(300));
    let c = client();
    let path = "/order/api/v2/payout/order";
    post_blockatm(
        &c,
        &sb,
        path,
        &create_blockatm_body(&sb, "S-OK", "10", TRON_ADDR),
    )
    .await;
    let v: Value = post_blockatm(
        &c,
        &sb,
        path,
        &create_blockatm_body(&sb, "S-AML", "10", FLAGGED),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["data"]["status"], "SUCCESS", "create answers accepted");
    assert_eq!(
        detail_blockatm(&c, &sb, "S-OK").await["data"]["status"],
        "PENDING"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let ok = detail_blockatm(&c, &sb, "S-OK").await;
    assert_eq!(ok["data"]["status"], "SUCCESS");
    assert!(is_hex64(&ok["data"]["txId"]));
    assert_eq!(ok["data"]["gasAmount"], "0.35");
    let refused = detail_blockatm(&c, &sb, "S-AML").await;
    assert_eq!(refused["data"]["status"], "REFUSE");
    assert_eq!(refused["data"]["txId"], Value::Null);
}

/// 2328 webhook verification straight from the docs: remove `sign`, JSON-encode the rest in
/// the order received, base64, HMAC with the payout key.
fn verify_2328_webhook(raw: &[u8], key: &str) -> (bool, Value) {
    let mut v: serde_json::Map<String, Value> = serde_json::from_slice(raw).unwrap();
    let sign = v
        .remove("sign")
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap();
    let rest = serde_json::to_string(&v).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(rest.as_bytes());
    (hmac_hex(key, b64.as_bytes()) == sign, Value::Object(v))
}

#[tokio::test]
async fn a_2328_webhook_is_delivered_signed_when_the_status_changes() {
    let (url, got) = receiver(0).await;
    let sb = start(settling(200));
    let c = client();
    let body = json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "10", "to_address": TRON_ADDR,
                      "order_id": "wh-1", "url_callback": url});
    post_2328(&c, &sb, "/v1/payout", &body.to_string()).await;
    assert!(
        eventually(Duration::from_secs(5), || !got.lock().unwrap().is_empty()).await,
        "no webhook"
    );
    let hooks = got.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    let (ok, payload) = verify_2328_webhook(&hooks[0].body, &sb.config().payout_key);
    assert!(
        ok,
        "signature must verify: {}",
        String::from_utf8_lossy(&hooks[0].body)
    );
    assert_eq!(payload["status"], "completed");
    assert_eq!(payload["order_id"], "wh-1");
    assert!(is_hex64(&payload["txid"]));
    let (forged, _) = verify_2328_webhook(&hooks[0].body, "another-key");
    assert!(!forged);
    // The sandbox marks the delivery once the receiver's answer is back, which may come just
    // after the receiver has the body.
    assert!(
        eventually(Duration::from_secs(5), || {
            let d = sb.webhooks();
            d.len() == 1 && d[0].delivered
        })
        .await,
        "{:?}",
        sb.webhooks()
    );
}

#[tokio::test]
async fn a_failed_webhook_delivery_is_retried() {
    let (url, got) = receiver(2).await;
    let sb = start(settling(100));
    let c = client();
    let body = json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "10", "to_address": FLAGGED,
                      "order_id": "wh-retry", "url_callback": url});
    post_2328(&c, &sb, "/v1/payout", &body.to_string()).await;
    assert!(eventually(Duration::from_secs(5), || !got.lock().unwrap().is_empty()).await);
    let (ok, payload) = verify_2328_webhook(&got.lock().unwrap()[0].body, &sb.config().payout_key);
    assert!(ok);
    assert_eq!(payload["error_type"], "aml_risk");
    let d = &sb.webhooks()[0];
    assert_eq!(
        (d.attempts, d.delivered, d.last_http_status),
        (3, true, Some(200))
    );
}

#[tokio::test]
async fn a_blockatm_webhook_is_signed_over_the_raw_body_and_time() {
    let (url, got) = receiver(0).await;
    let sb = start(SandboxConfig {
        blockatm_callback: Some(url),
        ..settling(200)
    });
    let c = client();
    post_blockatm(
        &c,
        &sb,
        "/order/api/v2/payout/order",
        &create_blockatm_body(&sb, "BW-1", "10", TRON_ADDR),
    )
    .await;
    assert!(eventually(Duration::from_secs(5), || !got.lock().unwrap().is_empty()).await);
    let hook = got.lock().unwrap()[0].clone();
    let time = hook.headers["blockatm-request-time"]
        .to_str()
        .unwrap()
        .to_string();
    let sig = hook.headers["blockatm-signature-v2"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(hook.headers.contains_key("blockatm-event"));
    let mut msg = hook.body.clone();
    msg.extend_from_slice(format!("&time={time}").as_bytes());
    assert_eq!(hmac_hex(&sb.config().secret, &msg), sig);
    let payload: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(payload["bizOrderNo"], "BW-1");
    assert_eq!(payload["status"], "SUCCESS");
    assert_eq!(payload["toAddress"], TRON_ADDR);
    assert!(is_hex64(&payload["txId"]));
}

#[tokio::test]
async fn payouts_without_a_callback_send_no_webhook() {
    let sb = start(settling(50));
    let c = client();
    post_2328(&c, &sb, "/v1/payout", &body_2328("quiet-1", "10")).await;
    assert!(
        eventually(Duration::from_secs(3), || sb.payouts()[0].status
            == Status::Completed)
        .await
    );
    assert!(sb.webhooks().is_empty());
}
