//! Outgoing webhooks, signed as each gateway documents, delivered with a few quick retries.
//!
//! - 2328: POST to the payout's `url_callback`, `Content-Type: application/json`, body = the
//!   status result object (documented field order) followed by `"sign"`, where
//!   `sign = hex(HMAC-SHA256(payout_key, base64(P)))` and P is the compact JSON of the payload
//!   *without* `sign` (`serde_json::to_vec`: separators `,` `:`, `/` not escaped, non-ASCII not
//!   escaped, keys in the order sent). Computed with `crate::gateway::sign::sign_2328(key, P)`.
//! - BlockATM: POST to `SandboxConfig::blockatm_callback`, body = the documented payout webhook
//!   fields, headers `BlockATM-Signature-V2 = hex(HMAC-SHA256(secret, raw_body + "&time=" + T))`,
//!   `BlockATM-Request-Time: T` (Unix ms), `BlockATM-Event: payout`.
//!
//! A delivery is retried after [`RETRY_DELAYS`] until the receiver answers 2xx.
//!
//! A `lie` fault (see `faults`) rewrites the payload before it is signed: the signature is
//! genuine, the content is not.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::api2328::result_object;
use super::faults::{self, LieField, NAMES_2328, NAMES_BLOCKATM_WEBHOOK};
use super::server::Shared;
use super::state::{SandboxPayout, WebhookDelivery};
use super::SandboxConfig;
use crate::gateway::sign::{sign_2328, sign_blockatm_webhook};
use crate::model::GatewayKind;
use crate::networks::NETWORKS;

/// Waits between attempts (so at most `RETRY_DELAYS.len() + 1` attempts).
pub const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_millis(1000),
];

/// One webhook ready to send.
#[derive(Debug, Clone)]
pub struct WebhookJob {
    pub gateway: GatewayKind,
    pub url: String,
    pub order_id: String,
    pub status: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Whether a payout gets a webhook at all (2328: it has a `url_callback`; BlockATM: a contract
/// callback is configured).
pub fn has_target(p: &SandboxPayout, config: &SandboxConfig) -> bool {
    match p.gateway {
        GatewayKind::G2328 => p.url_callback.is_some(),
        GatewayKind::BlockAtm => config.blockatm_callback.is_some(),
    }
}

/// The signed 2328 webhook of a payout, if it has a `url_callback`.
pub fn for_2328(p: &SandboxPayout, payout_key: &str) -> Option<WebhookJob> {
    for_2328_with(p, payout_key, &[])
}

/// [`for_2328`], lying about `lies` (signed after the lie).
pub fn for_2328_with(p: &SandboxPayout, payout_key: &str, lies: &[LieField]) -> Option<WebhookJob> {
    let url = p.url_callback.clone()?;
    let mut payload = result_object(p);
    if let Value::Object(m) = &mut payload {
        faults::apply_lies(m, lies, &NAMES_2328, p, "");
    }
    let unsigned = serde_json::to_vec(&payload).ok()?;
    let sign = sign_2328(payout_key, &unsigned);
    if let Value::Object(m) = &mut payload {
        m.insert("sign".into(), Value::String(sign));
    }
    Some(WebhookJob {
        gateway: GatewayKind::G2328,
        url,
        order_id: p.order_id.clone(),
        status: p.gateway_status.clone(),
        headers: Vec::new(),
        body: serde_json::to_vec(&payload).ok()?,
    })
}

/// The signed BlockATM webhook of a payout, if a contract callback is configured.
pub fn for_blockatm(p: &SandboxPayout, config: &SandboxConfig) -> Option<WebhookJob> {
    for_blockatm_with(p, config, &[])
}

/// [`for_blockatm`], lying about `lies` (signed after the lie).
pub fn for_blockatm_with(
    p: &SandboxPayout,
    config: &SandboxConfig,
    lies: &[LieField],
) -> Option<WebhookJob> {
    let url = config.blockatm_callback.clone()?;
    let chain_id = NETWORKS
        .iter()
        .find(|n| n.code == p.network)
        .and_then(|n| n.chain_id);
    let mut payload = json!({
        "custNo": "86000000",
        "bizOrderNo": p.order_id,
        "id": p.gateway_id,
        "symbol": p.currency,
        "amount": p.amount_text,
        "status": p.gateway_status,
        "txId": p.txid,
        "network": p.network,
        "chainId": chain_id,
        "fromAddress": format!("sandbox-contract-{}", config.contract_id),
        "toAddress": p.address,
        "fee": super::fees::BLOCKATM_ORDER_FEE.to_string(),
        "gasAmount": p.gas.map(|g| g.to_string()),
        "type": p.payout_type,
        "createTime": p.created_at.timestamp_millis(),
        "contractId": config.contract_id,
        "blockTime": p.updated_at.timestamp_millis(),
    });
    if let Value::Object(m) = &mut payload {
        faults::apply_lies(m, lies, &NAMES_BLOCKATM_WEBHOOK, p, &config.contract_id);
    }
    let body = serde_json::to_vec(&payload).ok()?;
    let time = chrono::Utc::now().timestamp_millis().to_string();
    let sig = sign_blockatm_webhook(&config.secret, &body, &time);
    Some(WebhookJob {
        gateway: GatewayKind::BlockAtm,
        url,
        order_id: p.order_id.clone(),
        status: p.gateway_status.clone(),
        headers: vec![
            ("BlockATM-Signature-V2".into(), sig),
            ("BlockATM-Request-Time".into(), time),
            ("BlockATM-Event".into(), "payout".into()),
        ],
        body,
    })
}

/// Sends one webhook, retrying on failure; records every attempt.
pub async fn deliver(shared: Arc<Shared>, job: WebhookJob) {
    let index = {
        let mut st = shared.lock();
        st.webhooks.push(WebhookDelivery {
            gateway: job.gateway,
            url: job.url.clone(),
            order_id: job.order_id.clone(),
            status: job.status.clone(),
            attempts: 0,
            delivered: false,
            last_http_status: None,
        });
        st.webhooks.len() - 1
    };
    let mut delays = RETRY_DELAYS.iter();
    loop {
        let mut req = shared
            .http
            .post(&job.url)
            .header("content-type", "application/json")
            .header("user-agent", "payrun-sandbox")
            .body(job.body.clone());
        for (k, v) in &job.headers {
            req = req.header(k, v);
        }
        let answer = req.send().await.ok().map(|r| r.status());
        let delivered = answer.is_some_and(|s| s.is_success());
        if let Some(w) = shared.lock().webhooks.get_mut(index) {
            w.attempts += 1;
            w.delivered = delivered;
            w.last_http_status = answer.map(|s| s.as_u16());
        }
        match (delivered, delays.next()) {
            (false, Some(d)) => tokio::time::sleep(*d).await,
            _ => return,
        }
    }
}
