//! The sandbox's 2328 API over real loopback HTTP, with requests signed by test-side code.

mod sandbox_support;

use std::str::FromStr;
use std::time::Duration;

use payrun::model::{GatewayKind, Status};
use payrun::sandbox::SandboxConfig;
use rust_decimal::Decimal;
use sandbox_support::*;
use serde_json::{json, Value};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[tokio::test]
async fn valid_create_is_accepted_with_the_documented_fees() {
    let sb = start(quiet());
    let c = client();
    let resp = post_2328(&c, &sb, "/v1/payout", &body_2328("ord-1", "100.00")).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["state"], 0);
    let r = &v["result"];
    assert_eq!(r["status"], "pending");
    assert_eq!(r["order_id"], "ord-1");
    assert_eq!(r["amount"], "100.00");
    // 1 % platform (1.00) + 1 USDT network fee on TRX-TRC20, deducted.
    assert_eq!(r["merchant_amount"], "100");
    assert_eq!(r["network_amount"], "98");
    assert_eq!(r["txid"], Value::Null);
    assert_eq!(r["to_address"], TRON_ADDR);
    let payouts = sb.payouts();
    assert_eq!(payouts.len(), 1);
    let p = &payouts[0];
    assert_eq!(p.gateway, GatewayKind::G2328);
    assert_eq!(p.gateway_id, r["uuid"].as_str().unwrap());
    assert_eq!(
        (p.amount, p.fee, p.status),
        (d("100.00"), d("2"), Status::Pending)
    );
    let reqs = sb.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].order_ids, vec!["ord-1".to_string()]);
    assert_eq!(reqs[0].response_status, Some(200));
}

#[tokio::test]
async fn tampered_body_wrong_key_project_or_agent_are_refused() {
    let sb = start(quiet());
    let c = client();
    let cfg = sb.config();
    let signed = body_2328("ord-1", "10");
    let tampered = signed.replace("\"10\"", "\"1000\"");
    let resp = c
        .post(format!("{}/v1/payout", sb.base_url_2328()))
        .header("User-Agent", "t/1")
        .header("project", &cfg.project)
        .header("sign", sign_2328(&cfg.payout_key, &signed))
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v, json!({"state": 1, "message": "Invalid sign"}));

    let resp = post_2328_with(&c, &sb, "/v1/payout", &signed, "not-the-payout-key")
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let resp = c
        .post(format!("{}/v1/payout", sb.base_url_2328()))
        .header("User-Agent", "t/1")
        .header("project", "11111111-1111-4111-8111-111111111111")
        .header("sign", sign_2328(&cfg.payout_key, &signed))
        .body(signed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let resp = c
        .post(format!("{}/v1/payout", sb.base_url_2328()))
        .header("project", &cfg.project)
        .header("sign", sign_2328(&cfg.payout_key, &signed))
        .body(signed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "no User-Agent");
    assert!(sb.payouts().is_empty());
}

#[tokio::test]
async fn repeated_order_id_returns_the_same_payout_and_creates_nothing() {
    let sb = start(quiet());
    let c = client();
    let body = body_2328("same-order", "50");
    let a: Value = post_2328(&c, &sb, "/v1/payout", &body)
        .await
        .json()
        .await
        .unwrap();
    let b: Value = post_2328(&c, &sb, "/v1/payout", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["result"]["uuid"], b["result"]["uuid"]);
    assert_eq!(b["state"], 0);
    // Same amount by value with another scale is the same payout.
    let c2: Value = post_2328(&c, &sb, "/v1/payout", &body_2328("same-order", "50.000"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c2["result"]["uuid"], a["result"]["uuid"]);
    // Different fields under the same order_id: 409, still one payout.
    let resp = post_2328(&c, &sb, "/v1/payout", &body_2328("same-order", "51")).await;
    assert_eq!(resp.status(), 409);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["state"], 1);
    assert!(v["errors"]["order_id"].is_array());
    assert_eq!(sb.payouts().len(), 1);
    let balance = sb.config().starting_balance - d("50");
    let bal: Value = get_2328(&c, &sb, "/v1/balance").await.json().await.unwrap();
    let usdt = bal["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency_code"] == "USDT")
        .unwrap();
    assert_eq!(
        d(usdt["balance"].as_str().unwrap()),
        balance,
        "debited once"
    );
    assert_eq!(d(usdt["locked_balance"].as_str().unwrap()), d("50"));
}

#[tokio::test]
async fn calc_prices_without_storing_and_add_puts_fees_on_top() {
    let sb = start(quiet());
    let c = client();
    let body = json!({"currency": "USDT", "network": "ETH-ERC20", "amount": "100", "fee_option": "add",
                      "to_address": "0x0000000000000000000000000000000000000001", "order_id": "calc-1"})
    .to_string();
    let v: Value = post_2328(&c, &sb, "/v1/payout/calc", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], 0);
    assert_eq!(v["result"]["merchant_amount"], "104");
    assert_eq!(v["result"]["network_amount"], "100");
    assert_eq!(v["result"]["total_fee"], "4");
    assert_eq!(v["result"]["fee_option"], "add");
    assert!(sb.payouts().is_empty());
    // The calc order_id was not stored: creating with it now makes a new payout.
    let v: Value = post_2328(&c, &sb, "/v1/payout", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], 0);
    assert_eq!(v["result"]["merchant_amount"], "104");
    assert_eq!(sb.payouts().len(), 1);
}

#[tokio::test]
async fn status_by_uuid_and_unknown_uuid() {
    let sb = start(quiet());
    let c = client();
    let v: Value = post_2328(&c, &sb, "/v1/payout", &body_2328("st-1", "10"))
        .await
        .json()
        .await
        .unwrap();
    let uuid = v["result"]["uuid"].as_str().unwrap();
    let s: Value = get_2328(&c, &sb, &format!("/v1/payout/status/{uuid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["result"], v["result"]);
    let resp = get_2328(
        &c,
        &sb,
        "/v1/payout/status/00000000-0000-0000-0000-000000000000",
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap()["state"], 1);
    // A GET signed over a non-empty body is refused.
    let cfg = sb.config();
    let resp = c
        .get(format!("{}/v1/payout/status/{uuid}", sb.base_url_2328()))
        .header("User-Agent", "t/1")
        .header("project", &cfg.project)
        .header("sign", sign_2328(&cfg.payout_key, "{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn invalid_fields_are_refused_with_field_errors() {
    let sb = start(quiet());
    let c = client();
    let cases = [
        (
            json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "10", "to_address": TRON_ADDR, "memo": "123"}),
            "memo",
        ),
        (
            json!({"currency": "USDC", "network": "TRX-TRC20", "amount": "10", "to_address": TRON_ADDR}),
            "currency",
        ),
        (
            json!({"currency": "USDT", "network": "XRP", "amount": "10", "to_address": TRON_ADDR}),
            "network",
        ),
        (
            json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "10.1234567", "to_address": TRON_ADDR}),
            "amount",
        ),
        (
            json!({"currency": "USDT", "network": "TRX-TRC20", "amount": 10, "to_address": TRON_ADDR}),
            "amount",
        ),
        (
            json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "1e3", "to_address": TRON_ADDR}),
            "amount",
        ),
        (
            json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "1", "to_address": TRON_ADDR}),
            "amount",
        ),
        (
            json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "10"}),
            "to_address",
        ),
        (
            json!({"currency": "USDT", "network": "TRX-TRC20", "amount": "10", "to_address": TRON_ADDR, "fee_option": "split"}),
            "fee_option",
        ),
        (
            json!({"currency": "USDT", "network": "TON", "amount": "10", "to_address": "EQabc", "memo": "x".repeat(256)}),
            "memo",
        ),
    ];
    for (body, field) in cases {
        let resp = post_2328(&c, &sb, "/v1/payout", &body.to_string()).await;
        assert_eq!(resp.status(), 422, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["state"], 1);
        assert!(v["errors"][field].is_array(), "{body} → {v}");
    }
    let ok = json!({"currency": "USDT", "network": "TON", "amount": "10", "to_address": "EQabc", "memo": "12345"});
    assert_eq!(
        post_2328(&c, &sb, "/v1/payout", &ok.to_string())
            .await
            .status(),
        200,
        "memo on TON"
    );
    let bad_json = post_2328(&c, &sb, "/v1/payout", "{not json").await;
    assert_eq!(bad_json.status(), 422);
    assert_eq!(sb.payouts().len(), 1);
}

#[tokio::test]
async fn insufficient_balance_is_refused() {
    let sb = start(SandboxConfig {
        starting_balance: d("20"),
        ..quiet()
    });
    let c = client();
    assert_eq!(
        post_2328(&c, &sb, "/v1/payout", &body_2328("b-1", "15"))
            .await
            .status(),
        200
    );
    let resp = post_2328(&c, &sb, "/v1/payout", &body_2328("b-2", "15")).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["message"],
        "Insufficient balance"
    );
    assert_eq!(sb.payouts().len(), 1);
}

#[tokio::test]
async fn over_the_rate_answers_429_with_retry_after() {
    let sb = start(SandboxConfig {
        rate_2328_per_sec: 3,
        ..quiet()
    });
    let c = client();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..5 {
        let resp = post_2328(&c, &sb, "/v1/payout", &body_2328(&format!("r-{i}"), "10")).await;
        if resp.status() == 429 {
            retry_after = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=1).contains(&secs));
    assert_eq!(sb.payouts().len(), 3);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        post_2328(&c, &sb, "/v1/payout", &body_2328("r-late", "10"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn from_currency_debits_the_source_balance() {
    let sb = start(quiet());
    let c = client();
    let body = json!({"currency": "TRX", "network": "TRX-TRC20", "amount": "100", "to_address": TRON_ADDR,
                      "order_id": "conv-1", "from_currency": "USDT", "fee_option": "add"});
    let v: Value = post_2328(&c, &sb, "/v1/payout", &body.to_string())
        .await
        .json()
        .await
        .unwrap();
    // 100 TRX + 1 % + 0.1 TRX network fee = 101.1 TRX at 0.3 USD = 30.33 USDT.
    assert_eq!(v["result"]["merchant_amount"], "101.1");
    assert_eq!(v["result"]["debited_currency"], "USDT");
    assert_eq!(v["result"]["debited_amount"], "30.33");
}
