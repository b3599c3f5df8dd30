//! The sandbox's BlockATM API over real loopback HTTP, with requests signed by test-side code.

mod sandbox_support;

use payrun::model::{GatewayKind, Status};
use payrun::sandbox::SandboxConfig;
use sandbox_support::*;
use serde_json::{json, Value};

const ORDER: &str = "/order/api/v2/payout/order";
const BATCH: &str = "/order/api/v2/payout/batch";

#[tokio::test]
async fn valid_create_is_accepted_and_detail_is_pending() {
    let sb = start(quiet());
    let c = client();
    let body = create_blockatm_body(&sb, "PAYOUT_001", "100.00", TRON_ADDR);
    let v: Value = post_blockatm_json(&c, &sb, ORDER, &body).await;
    assert_eq!(v["code"], "200", "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["orderNo"], "PAYOUT_001");
    assert_eq!(v["data"]["status"], "SUCCESS");
    let order_id = v["data"]["orderId"].as_str().unwrap().to_string();
    let d = detail_blockatm(&c, &sb, "PAYOUT_001").await;
    assert_eq!(d["data"]["status"], "PENDING");
    assert_eq!(d["data"]["orderId"], order_id.as_str());
    assert_eq!(d["data"]["amount"], "100.00");
    assert_eq!(d["data"]["fee"], "1");
    assert_eq!(d["data"]["txId"], Value::Null);
    let p = sb.payouts();
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].gateway, p[0].status),
        (GatewayKind::BlockAtm, Status::Pending)
    );
    assert_eq!(p[0].gateway_id, order_id);
    assert_eq!(p[0].network, "TRX-TRC20");
}

#[tokio::test]
async fn bad_signature_key_body_or_time_are_refused() {
    let sb = start(quiet());
    let c = client();
    let cfg = sb.config();
    let body = create_blockatm_body(&sb, "P1", "10", TRON_ADDR);
    let time = now_ms().to_string();
    let sig = sign_blockatm(&cfg.secret, body.as_object().unwrap(), &time);
    let send = |key: &str, time: &str, sig: &str, text: String| {
        c.post(format!("{}{ORDER}", sb.base_url_blockatm()))
            .header("Content-Type", "application/json")
            .header("BlockATM-API-Key", key)
            .header("BlockATM-Request-Time", time)
            .header("BlockATM-Signature-V2", sig)
            .body(text)
            .send()
    };
    let code = |v: Value| v["code"].as_str().unwrap().to_string();

    let tampered = body.to_string().replace("\"10\"", "\"1000\"");
    let v: Value = answer(send(&cfg.api_key, &time, &sig, tampered)).await;
    assert_eq!(code(v), "000306");

    let wrong_sig = sign_blockatm("another-secret", body.as_object().unwrap(), &time);
    let v: Value = answer(send(&cfg.api_key, &time, &wrong_sig, body.to_string())).await;
    assert_eq!(code(v), "000306");

    let v: Value = answer(send("wrong-key", &time, &sig, body.to_string())).await;
    assert_eq!(code(v), "000112");

    let stale = (now_ms() - 31_000).to_string();
    let stale_sig = sign_blockatm(&cfg.secret, body.as_object().unwrap(), &stale);
    let v: Value = answer(send(&cfg.api_key, &stale, &stale_sig, body.to_string())).await;
    assert_eq!(code(v), "000105");

    let v: Value = c
        .post(format!("{}{ORDER}", sb.base_url_blockatm()))
        .header("BlockATM-Request-Time", &time)
        .header("BlockATM-Signature-V2", &sig)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(v), "000112", "missing key");
    assert!(sb.payouts().is_empty());

    // The same request, correctly signed, passes (so the refusals above were about the fault).
    let v: Value = answer(send(&cfg.api_key, &time, &sig, body.to_string())).await;
    assert_eq!(code(v), "200");
}

#[tokio::test]
async fn a_longer_rec_window_header_accepts_an_older_time() {
    let sb = start(quiet());
    let c = client();
    let cfg = sb.config();
    let body = create_blockatm_body(&sb, "W1", "10", TRON_ADDR);
    let time = (now_ms() - 45_000).to_string();
    let sig = sign_blockatm(&cfg.secret, body.as_object().unwrap(), &time);
    let v: Value = c
        .post(format!("{}{ORDER}", sb.base_url_blockatm()))
        .header("BlockATM-API-Key", &cfg.api_key)
        .header("BlockATM-Request-Time", &time)
        .header("BlockATM-Signature-V2", &sig)
        .header("BlockATM-Rec_Window", "60000")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["code"], "200", "{v}");
}

#[tokio::test]
async fn duplicate_order_no_is_refused_unless_enforcement_is_off() {
    let sb = start(quiet());
    let c = client();
    let body = create_blockatm_body(&sb, "DUP-1", "10", TRON_ADDR);
    let v: Value = post_blockatm_json(&c, &sb, ORDER, &body).await;
    assert_eq!(v["code"], "200");
    let v: Value = post_blockatm_json(&c, &sb, ORDER, &body).await;
    assert_eq!(v["code"], "000106");
    assert_eq!(v["success"], false);
    assert_eq!(sb.payouts().len(), 1);

    sb.set_enforce_order_no_unique(false);
    let v: Value = post_blockatm_json(&c, &sb, ORDER, &body).await;
    assert_eq!(v["code"], "200");
    let payouts = sb.payouts();
    assert_eq!(payouts.len(), 2, "a second payout for the same orderNo");
    assert!(payouts.iter().all(|p| p.order_id == "DUP-1"));
    assert_ne!(payouts[0].gateway_id, payouts[1].gateway_id);
}

#[tokio::test]
async fn batch_is_not_atomic_and_reports_each_refusal() {
    let sb = start(quiet());
    let c = client();
    let first = create_blockatm_body(&sb, "B-EXISTING", "5", TRON_ADDR);
    assert_eq!(
        post_blockatm(&c, &sb, ORDER, &first)
            .await
            .json::<Value>()
            .await
            .unwrap()["code"],
        "200"
    );
    let batch = json!({
        "contractId": sb.config().contract_id,
        "payoutType": 1,
        "orders": [
            {"orderNo": "B-1", "recipient": TRON_ADDR, "amount": "50.00", "symbol": "USDT"},
            {"orderNo": "B-EXISTING", "recipient": TRON_ADDR, "amount": "30.00", "symbol": "USDT"},
            {"orderNo": "B-3", "recipient": TRON_ADDR, "amount": "30.00", "symbol": "USDC"},
            {"orderNo": "B-4", "recipient": TRON_ADDR, "amount": "1.1234567", "symbol": "USDT"},
            {"orderNo": "B-5", "recipient": TRON_ADDR_2, "amount": "7", "symbol": "USDT"}
        ]
    });
    let v: Value = post_blockatm_json(&c, &sb, BATCH, &batch).await;
    assert_eq!(v["code"], "200", "{v}");
    assert_eq!(v["data"]["successCount"], 2);
    assert_eq!(v["data"]["failCount"], 3);
    let orders = v["data"]["orders"].as_array().unwrap();
    let codes: Vec<&str> = orders
        .iter()
        .map(|o| o["code"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(codes, ["ok", "000106", "000404", "000102", "ok"]);
    assert_eq!(orders[1]["status"], "REFUSE");
    assert_eq!(orders[4]["status"], "SUCCESS");
    let ids: Vec<String> = sb.payouts().into_iter().map(|p| p.order_id).collect();
    assert_eq!(ids, ["B-EXISTING", "B-1", "B-5"]);
    let reqs = sb.requests();
    assert_eq!(
        reqs.last().unwrap().order_ids,
        ["B-1", "B-EXISTING", "B-3", "B-4", "B-5"]
    );
}

#[tokio::test]
async fn whole_batch_refusals() {
    let sb = start(quiet());
    let c = client();
    let cid = sb.config().contract_id;
    let empty = json!({"contractId": cid, "payoutType": 1, "orders": []});
    assert_eq!(
        post_blockatm(&c, &sb, BATCH, &empty)
            .await
            .json::<Value>()
            .await
            .unwrap()["code"],
        "000104"
    );
    let wrong = json!({"contractId": "OTHER", "payoutType": 1, "orders": [{"orderNo": "x", "recipient": TRON_ADDR, "amount": "1", "symbol": "USDT"}]});
    assert_eq!(
        post_blockatm(&c, &sb, BATCH, &wrong)
            .await
            .json::<Value>()
            .await
            .unwrap()["code"],
        "000401"
    );
    let missing = json!({"contractId": cid, "orderNo": "m-1", "amount": "1", "symbol": "USDT"});
    assert_eq!(
        post_blockatm(&c, &sb, ORDER, &missing)
            .await
            .json::<Value>()
            .await
            .unwrap()["code"],
        "000103"
    );
    let allowance = json!({"contractId": cid, "orderNo": "a-1", "recipient": TRON_ADDR, "amount": "1", "symbol": "USDT", "payoutType": 2});
    assert_eq!(
        post_blockatm(&c, &sb, ORDER, &allowance)
            .await
            .json::<Value>()
            .await
            .unwrap()["code"],
        "000103"
    );
    assert!(sb.payouts().is_empty());
}

#[tokio::test]
async fn unknown_order_no_is_000202() {
    let sb = start(quiet());
    let c = client();
    let d = detail_blockatm(&c, &sb, "NEVER-SENT").await;
    assert_eq!(d["code"], "000202");
    assert_eq!(d["success"], false);
}

#[tokio::test]
async fn over_the_per_endpoint_rate_answers_429_with_reset() {
    let sb = start(SandboxConfig {
        rate_blockatm_per_min: 2,
        ..quiet()
    });
    let c = client();
    for i in 0..2 {
        let body = create_blockatm_body(&sb, &format!("RL-{i}"), "1", TRON_ADDR);
        assert_eq!(post_blockatm(&c, &sb, ORDER, &body).await.status(), 200);
    }
    let body = create_blockatm_body(&sb, "RL-2", "1", TRON_ADDR);
    let resp = post_blockatm(&c, &sb, ORDER, &body).await;
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let reset: i64 = resp.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > now_ms() / 1000);
    // Another endpoint has its own budget.
    assert_eq!(detail_blockatm(&c, &sb, "RL-0").await["code"], "200");
    assert_eq!(sb.payouts().len(), 2);
}

#[tokio::test]
async fn an_arbitrum_contract_takes_usdc() {
    let sb = start(SandboxConfig {
        blockatm_chain: "ARB-ERC20".into(),
        ..quiet()
    });
    let c = client();
    let mut body = create_blockatm_body(
        &sb,
        "ARB-1",
        "10.5",
        "0x0000000000000000000000000000000000000001",
    );
    body["symbol"] = json!("USDC");
    assert_eq!(
        post_blockatm(&c, &sb, ORDER, &body)
            .await
            .json::<Value>()
            .await
            .unwrap()["code"],
        "200"
    );
    assert_eq!(sb.payouts()[0].network, "ARB-ERC20");
}

#[test]
fn a_chain_blockatm_does_not_serve_is_refused_at_start() {
    let err = payrun::sandbox::Sandbox::start_local(SandboxConfig {
        blockatm_chain: "BTC".into(),
        ..quiet()
    });
    assert!(err.is_err());
}
