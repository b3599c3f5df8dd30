//! Every fault kind, observed at the HTTP level, plus the admin endpoint and the 418 ban.

mod sandbox_support;

use std::time::{Duration, Instant};

use payrun::sandbox::{FaultKind, FaultRule, SandboxConfig};
use sandbox_support::*;
use serde_json::{json, Value};

fn rule(spec: &str) -> FaultRule {
    FaultRule::parse(spec).unwrap()
}

#[tokio::test]
async fn drop_applies_then_closes_without_a_response() {
    let sb = start(quiet());
    sb.set_faults(vec![rule("drop=times:1@/v1/payout")]);
    let c = client();
    let body = body_2328("drop-1", "10");
    let key = sb.config().payout_key;
    let err = post_2328_with(&c, &sb, "/v1/payout", &body, &key)
        .await
        .expect_err("no response");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    // Not a connect error: the request was sent and applied (a client must treat it as ambiguous).
    assert!(!err.is_connect(), "{err:?}");
    eprintln!("drop seen by reqwest as: {err:?}");
    let payouts = sb.payouts();
    assert_eq!(payouts.len(), 1, "the create was applied");
    let reqs = sb.requests();
    assert_eq!(reqs[0].response_status, None);
    assert!(reqs[0].fault.as_deref().unwrap().starts_with("drop"));
    // The documented recovery: re-POST the same order_id, get the same payout.
    let v: Value = post_2328(&c, &sb, "/v1/payout", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["uuid"], payouts[0].gateway_id.as_str());
    assert_eq!(sb.payouts().len(), 1);
}

#[tokio::test]
async fn drop_on_a_blockatm_batch_applies_every_order() {
    let sb = start(quiet());
    sb.set_faults(vec![rule("drop=times:1@/payout/batch")]);
    let c = client();
    let batch = json!({"contractId": sb.config().contract_id, "payoutType": 1, "orders": [
        {"orderNo": "D-1", "recipient": TRON_ADDR, "amount": "1", "symbol": "USDT"},
        {"orderNo": "D-2", "recipient": TRON_ADDR, "amount": "2", "symbol": "USDT"}]});
    let err = post_blockatm_at(&c, &sb, "/order/api/v2/payout/batch", &batch, now_ms()).await;
    assert!(err.is_err());
    assert_eq!(sb.payouts().len(), 2);
    assert_eq!(detail_blockatm(&c, &sb, "D-2").await["code"], "200");
}

#[tokio::test]
async fn late_applies_then_answers_after_the_delay() {
    let sb = start(quiet());
    sb.set_faults(vec![rule("late=times:2:800ms")]);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let key = sb.config().payout_key;
    let err = post_2328_with(
        &impatient,
        &sb,
        "/v1/payout",
        &body_2328("late-1", "10"),
        &key,
    )
    .await
    .expect_err("timed out");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(sb.payouts().len(), 1, "applied although the client gave up");

    let patient = client();
    let started = Instant::now();
    let resp = post_2328(&patient, &sb, "/v1/payout", &body_2328("late-2", "10")).await;
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["result"]["order_id"],
        "late-2"
    );
    assert_eq!(sb.payouts().len(), 2);
}

#[tokio::test]
async fn error5xx_applies_nothing() {
    let sb = start(quiet());
    sb.set_faults(vec![rule("error5xx=every:2")]);
    let c = client();
    let first = post_2328(&c, &sb, "/v1/payout", &body_2328("e-1", "10")).await;
    let second = post_2328(&c, &sb, "/v1/payout", &body_2328("e-2", "10")).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 503)
    );
    let body = create_blockatm_body(&sb, "E-3", "10", TRON_ADDR);
    let _ = post_blockatm(&c, &sb, "/order/api/v2/payout/order", &body).await;
    let v = post_blockatm(&c, &sb, "/order/api/v2/payout/order", &body).await;
    assert_eq!(v.status(), 503);
    assert_eq!(v.json::<Value>().await.unwrap()["code"], "000113");
    let ids: Vec<String> = sb.payouts().into_iter().map(|p| p.order_id).collect();
    assert_eq!(ids, ["e-1", "E-3"]);
}

#[tokio::test]
async fn malformed_applies_then_answers_an_unparseable_body() {
    let sb = start(quiet());
    sb.set_faults(vec![FaultRule {
        every: 1,
        remaining: Some(1),
        path_contains: None,
        kind: FaultKind::Malformed,
    }]);
    let c = client();
    let resp = post_2328(&c, &sb, "/v1/payout", &body_2328("m-1", "10")).await;
    assert_eq!(resp.status(), 200);
    let text = resp.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&text).is_err());
    assert_eq!(sb.payouts().len(), 1);
}

#[tokio::test]
async fn burst429_refuses_the_next_n_requests() {
    let sb = start(quiet());
    sb.set_faults(vec![rule("burst429=2")]);
    let c = client();
    let mut statuses = Vec::new();
    for i in 0..3 {
        let resp = post_2328(&c, &sb, "/v1/payout", &body_2328(&format!("b-{i}"), "10")).await;
        if resp.status() == 429 {
            assert_eq!(resp.headers()["retry-after"], "1");
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [429, 429, 200]);
    assert_eq!(sb.payouts().len(), 1);
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let sb = start(SandboxConfig {
        faults: vec![rule("latency=300ms")],
        ..quiet()
    });
    let c = client();
    let started = Instant::now();
    assert_eq!(get_2328(&c, &sb, "/v1/balance").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn admin_endpoint_sets_lists_and_resets_faults() {
    let sb = start(quiet());
    let c = client();
    let admin = format!("http://{}/__sandbox", sb.addr());
    let resp = c
        .post(format!("{admin}/faults"))
        .json(&json!(["error5xx", {"kind": "latency", "delay_ms": 10}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let listed: Vec<String> = c
        .get(format!("{admin}/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, ["error5xx=every:1", "latency=every:1:10ms"]);
    assert_eq!(
        post_2328(&c, &sb, "/v1/payout", &body_2328("a-1", "10"))
            .await
            .status(),
        503
    );
    let bad = c
        .post(format!("{admin}/faults"))
        .json(&json!(["explode"]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    c.post(format!("{admin}/reset-faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        post_2328(&c, &sb, "/v1/payout", &body_2328("a-1", "10"))
            .await
            .status(),
        200
    );
    let payouts: Vec<Value> = c
        .get(format!("{admin}/payouts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0]["order_id"], "a-1");
    assert_eq!(payouts[0]["gateway"], "2328");
    let reqs: Vec<Value> = c
        .get(format!("{admin}/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reqs.len(), 2, "admin calls are not recorded");
    assert_eq!(reqs[0]["response_status"], 503);
    assert!(sb.config().faults.is_empty());
}

#[tokio::test]
async fn hammering_past_429_is_banned_with_418_when_configured() {
    let sb = start(SandboxConfig {
        rate_2328_per_sec: 1,
        ban_after_429: 2,
        ..quiet()
    });
    let c = client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(get_2328(&c, &sb, "/v1/balance").await.status().as_u16());
    }
    assert_eq!(statuses, [200, 429, 429, 418, 418]);
}
