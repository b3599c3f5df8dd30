//! Test-side helpers for the sandbox tests: request signing written straight from the gateway
//! documents (hmac + sha2 + base64 here, deliberately not `payrun::gateway::sign`), signed
//! request builders, and a tiny webhook receiver.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use payrun::sandbox::{Sandbox, SandboxConfig};
use sha2::Sha256;

pub const TRON_ADDR: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
pub const TRON_ADDR_2: &str = "THauRv5tcucQRohXg8NiyGTk16DX1XQG5x";
pub const FLAGGED: &str = "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7";

pub fn hmac_hex(key: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// 2328: hex(HMAC-SHA256(payout key, base64(body))).
pub fn sign_2328(key: &str, body: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
    hmac_hex(key, b64.as_bytes())
}

/// BlockATM V2: sorted `k=v` joined by `&`, then `&time=T`; strings raw, other values as
/// compact JSON, nulls left out.
pub fn sign_blockatm(
    secret: &str,
    params: &serde_json::Map<String, serde_json::Value>,
    time: &str,
) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => serde_json::to_string(other).unwrap(),
            };
            (k.clone(), text)
        })
        .collect();
    pairs.sort();
    let mut s: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    s.push(format!("time={time}"));
    hmac_hex(secret, s.join("&").as_bytes())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A config with no rate limits and payouts that stay pending for an hour.
pub fn quiet() -> SandboxConfig {
    SandboxConfig {
        rate_2328_per_sec: 0,
        rate_blockatm_per_min: 0,
        settle_after: Duration::from_secs(3600),
        ..SandboxConfig::default()
    }
}

pub fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config, "127.0.0.1:0".parse().unwrap()).unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// A 2328 create body as the seed's samples write it.
pub fn body_2328(order_id: &str, amount: &str) -> String {
    serde_json::json!({
        "currency": "USDT", "network": "TRX-TRC20", "amount": amount,
        "to_address": TRON_ADDR, "order_id": order_id, "memo": null, "fee_option": "deduct"
    })
    .to_string()
}

/// POST a 2328 body signed with `key` under the sandbox's project.
pub async fn post_2328_with(
    c: &reqwest::Client,
    sb: &Sandbox,
    path: &str,
    body: &str,
    key: &str,
) -> reqwest::Result<reqwest::Response> {
    let cfg = sb.config();
    c.post(format!("{}{path}", sb.base_url_2328()))
        .header("Content-Type", "application/json")
        .header("User-Agent", "sandbox-test/1.0")
        .header("project", cfg.project)
        .header("sign", sign_2328(key, body))
        .body(body.to_string())
        .send()
        .await
}

pub async fn post_2328(
    c: &reqwest::Client,
    sb: &Sandbox,
    path: &str,
    body: &str,
) -> reqwest::Response {
    let key = sb.config().payout_key;
    post_2328_with(c, sb, path, body, &key).await.unwrap()
}

pub async fn get_2328(c: &reqwest::Client, sb: &Sandbox, path: &str) -> reqwest::Response {
    let cfg = sb.config();
    c.get(format!("{}{path}", sb.base_url_2328()))
        .header("User-Agent", "sandbox-test/1.0")
        .header("project", cfg.project)
        .header("sign", sign_2328(&cfg.payout_key, ""))
        .send()
        .await
        .unwrap()
}

/// POST a BlockATM body signed with the sandbox's secret at `time`.
pub async fn post_blockatm_at(
    c: &reqwest::Client,
    sb: &Sandbox,
    path: &str,
    body: &serde_json::Value,
    time: i64,
) -> reqwest::Result<reqwest::Response> {
    let cfg = sb.config();
    let text = serde_json::to_string(body).unwrap();
    let time = time.to_string();
    let sig = sign_blockatm(&cfg.secret, body.as_object().unwrap(), &time);
    c.post(format!("{}{path}", sb.base_url_blockatm()))
        .header("Content-Type", "application/json")
        .header("BlockATM-API-Key", cfg.api_key)
        .header("BlockATM-Request-Time", time)
        .header("BlockATM-Signature-V2", sig)
        .body(text)
        .send()
        .await
}

pub async fn post_blockatm(
    c: &reqwest::Client,
    sb: &Sandbox,
    path: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    post_blockatm_at(c, sb, path, body, now_ms()).await.unwrap()
}

/// The JSON of the answer a request gets.
pub async fn answer(
    request: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
) -> serde_json::Value {
    request.await.unwrap().json().await.unwrap()
}

/// POST a signed BlockATM body and read the answer's JSON.
pub async fn post_blockatm_json(
    c: &reqwest::Client,
    sb: &Sandbox,
    path: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    post_blockatm(c, sb, path, body).await.json().await.unwrap()
}

pub async fn detail_blockatm(
    c: &reqwest::Client,
    sb: &Sandbox,
    order_no: &str,
) -> serde_json::Value {
    let cfg = sb.config();
    let time = now_ms().to_string();
    let mut params = serde_json::Map::new();
    params.insert("orderNo".into(), order_no.into());
    let sig = sign_blockatm(&cfg.secret, &params, &time);
    c.get(format!(
        "{}/order/api/v2/payout/detail",
        sb.base_url_blockatm()
    ))
    .query(&[("orderNo", order_no)])
    .header("BlockATM-API-Key", cfg.api_key)
    .header("BlockATM-Request-Time", time)
    .header("BlockATM-Signature-V2", sig)
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

pub fn create_blockatm_body(
    sb: &Sandbox,
    order_no: &str,
    amount: &str,
    recipient: &str,
) -> serde_json::Value {
    serde_json::json!({
        "contractId": sb.config().contract_id, "orderNo": order_no, "recipient": recipient,
        "amount": amount, "symbol": "USDT", "payoutType": 1, "remark": "test payout"
    })
}

/// Polls `check` until it is true or `within` passes.
pub async fn eventually<F: FnMut() -> bool>(within: Duration, mut check: F) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// One webhook as received: headers we care about, raw body.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

/// A webhook receiver on a random loopback port; the first `fail_first` deliveries get 500.
pub async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<Received>>>) {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = Arc::new(Mutex::new(0usize));
    let store = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let store = Arc::clone(&store);
                let seen = Arc::clone(&seen);
                async move {
                    let n = {
                        let mut s = seen.lock().unwrap();
                        *s += 1;
                        *s
                    };
                    if n <= fail_first {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    store.lock().unwrap().push(Received {
                        headers,
                        body: body.to_vec(),
                    });
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, got)
}
