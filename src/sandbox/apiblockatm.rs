//! The BlockATM payout API as the BlockATM API reference documents it:
//! `POST /order/api/v2/payout/order`, `POST /order/api/v2/payout/batch`,
//! `GET /order/api/v2/payout/detail?orderNo=…`.
//!
//! Every answer uses the documented envelope `{"code","success","data","trace","msg"}` with
//! HTTP 200, except rate limiting (429, code `"429"`), bans (418, code `"418"`) and injected
//! unavailability (503, code `000113`). Authentication: missing or wrong `BlockATM-API-Key` →
//! `000112`; missing `BlockATM-Request-Time`/`BlockATM-Signature-V2` → `000103`; a request time
//! further than the window from now (`BlockATM-Rec_Window` if sent, max 60000, else the
//! configured window) → `000105`; bad signature → `000306`. Signatures are checked with
//! `crate::gateway::sign` over the top-level JSON body keys (POST) or the decoded query
//! parameters (GET); a nested value is signed as its compact JSON text.
//!
//! Refusals: `000103` missing field, `000102` bad type/amount/payoutType, `000206` field too
//! long, `000401` wrong contractId, `000404` token not on the contract's chain, `000106`
//! repeated orderNo (when enforced), `000307` insufficient contract balance, `000104` empty
//! batch, `000105` batch over [`MAX_BATCH`], `000202` unknown orderNo on detail. A batch is not
//! atomic: each refused order carries its own `code` and `msg`. When orderNo uniqueness is
//! switched off and an orderNo was created twice, detail answers the *first* payout.
//! Batches take `payoutType` 1 only (the batch body carries no `fromAddress`).
//!
//! Answer faults (see `faults`): `lie=FIELD` rewrites (or adds) one field of create answers,
//! batch items and detail answers; `foreign` answers a create, each order of a batch, or a
//! detail with a payout held before the order (stored, marked with `faults::FOREIGN_REMARK`),
//! which later details of that orderNo find first.

use std::time::Instant;

use axum::extract::Query;
use axum::http::{Method, StatusCode, Uri};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use sha2::Digest;

use super::faults::{self, AnswerFaults, FOREIGN_AGE, FOREIGN_REMARK, NAMES_BLOCKATM};
use super::fees;
use super::server::{header, Incoming, Reply};
use super::state::{SandboxPayout, State};
use crate::gateway::sign::{blockatm_params_of_json, verify_blockatm};
use crate::model::{GatewayKind, Status};
use crate::networks::NETWORKS;

/// Most orders accepted in one batch.
pub const MAX_BATCH: usize = 500;
/// Largest `BlockATM-Rec_Window` a client may ask for.
const MAX_REC_WINDOW_MS: u64 = 60_000;

fn trace() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn success(data: Value) -> Reply {
    Reply::json(
        StatusCode::OK,
        &json!({"code": "200", "success": true, "data": data, "trace": trace(), "msg": ""}),
    )
}

/// A failure envelope with HTTP 200.
pub fn failure(code: &str, msg: &str) -> Reply {
    failure_with_status(StatusCode::OK, code, msg)
}

/// A failure envelope with the given HTTP status.
pub fn failure_with_status(status: StatusCode, code: &str, msg: &str) -> Reply {
    Reply::json(
        status,
        &json!({"code": code, "success": false, "data": null, "trace": trace(), "msg": msg}),
    )
}

/// The decoded query parameters of a URI.
pub fn query_params(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// Routes one request under `/order/api/v2`, without answer faults.
pub fn handle(st: &mut State, req: &Incoming<'_>) -> Reply {
    handle_with(st, req, &AnswerFaults::default())
}

/// Routes one request under `/order/api/v2`, applying the answer faults that fired for it.
pub fn handle_with(st: &mut State, req: &Incoming<'_>, answer: &AnswerFaults) -> Reply {
    let route = req.uri.path();
    let expected = match route {
        "/order/api/v2/payout/order" | "/order/api/v2/payout/batch" => Method::POST,
        "/order/api/v2/payout/detail" => Method::GET,
        _ => return failure_with_status(StatusCode::NOT_FOUND, "000105", "No such endpoint"),
    };
    if req.method != expected {
        return failure_with_status(
            StatusCode::METHOD_NOT_ALLOWED,
            "000105",
            "Method not allowed",
        );
    }
    let body = if expected == Method::POST {
        match serde_json::from_slice::<Value>(req.body) {
            Ok(Value::Object(obj)) => Some(obj),
            _ => return failure("000102", "The body must be a JSON object"),
        }
    } else {
        None
    };
    let query = query_params(req.uri);
    if let Some(refusal) = authenticate(st, req, body.as_ref(), &query) {
        return refusal;
    }
    let foreign = answer.foreign;
    let mut reply = match (route, body) {
        ("/order/api/v2/payout/order", Some(body)) if foreign => create_foreign(st, &body),
        ("/order/api/v2/payout/order", Some(body)) => create(st, &body),
        ("/order/api/v2/payout/batch", Some(body)) if foreign => batch_foreign(st, &body),
        ("/order/api/v2/payout/batch", Some(body)) => batch(st, &body),
        _ if foreign => detail_foreign(st, &query),
        _ => detail(st, &query),
    };
    if !answer.lies.is_empty() {
        lie_in(st, &mut reply, &answer.lies);
    }
    reply
}

/// Rewrites a success answer's order objects (`data`, or each of `data.orders`) with the lies.
/// Refused batch items (no stored payout) are left alone.
fn lie_in(st: &State, reply: &mut Reply, lies: &[faults::LieField]) {
    let Ok(mut v) = serde_json::from_slice::<Value>(&reply.body) else {
        return;
    };
    if v.get("success") != Some(&Value::Bool(true)) {
        return;
    }
    let Some(data) = v.get_mut("data").and_then(Value::as_object_mut) else {
        return;
    };
    let mut objects: Vec<&mut Map<String, Value>> = Vec::new();
    if data.contains_key("orders") {
        if let Some(Value::Array(items)) = data.get_mut("orders") {
            objects.extend(items.iter_mut().filter_map(Value::as_object_mut));
        }
    } else {
        objects.push(data);
    }
    for obj in objects {
        if let Some(p) = payout_of(st, obj) {
            faults::apply_lies(obj, lies, &NAMES_BLOCKATM, p, &st.config.contract_id);
        }
    }
    if let Ok(body) = serde_json::to_vec(&v) {
        reply.body = body;
    }
}

/// The stored payout an answer object describes (by `orderNo` and `orderId`).
fn payout_of<'a>(st: &'a State, obj: &Map<String, Value>) -> Option<&'a SandboxPayout> {
    let order_no = obj.get("orderNo")?.as_str()?;
    let order_id = obj.get("orderId")?.as_str()?;
    st.by_order_no
        .get(order_no)?
        .iter()
        .filter_map(|&i| st.payouts.get(i))
        .find(|p| p.gateway_id == order_id)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn authenticate(
    st: &State,
    req: &Incoming<'_>,
    body: Option<&Map<String, Value>>,
    query: &[(String, String)],
) -> Option<Reply> {
    match header(req.headers, "blockatm-api-key") {
        None => return Some(failure("000112", "API key required")),
        Some(k) if k != st.config.api_key => return Some(failure("000112", "Invalid API key")),
        Some(_) => {}
    }
    let Some(time) = header(req.headers, "blockatm-request-time") else {
        return Some(failure("000103", "Missing BlockATM-Request-Time"));
    };
    let Some(sig) = header(req.headers, "blockatm-signature-v2") else {
        return Some(failure("000103", "Missing BlockATM-Signature-V2"));
    };
    let Ok(time_ms) = time.trim().parse::<i64>() else {
        return Some(failure(
            "000102",
            "BlockATM-Request-Time must be Unix milliseconds",
        ));
    };
    let window = match header(req.headers, "blockatm-rec_window") {
        None => st.config.rec_window_ms,
        Some(w) => match w.trim().parse::<u64>() {
            Ok(w) if w <= MAX_REC_WINDOW_MS => w,
            _ => {
                return Some(failure(
                    "000102",
                    "BlockATM-Rec_Window must be at most 60000",
                ))
            }
        },
    };
    if now_ms().abs_diff(time_ms) > window {
        return Some(failure(
            "000105",
            "Request time is outside the receive window",
        ));
    }
    let ok = match body {
        Some(obj) => verify_blockatm(
            &st.config.secret,
            &blockatm_params_of_json(obj),
            &time,
            &sig,
        ),
        None => {
            let params: Vec<(&str, Option<String>)> = query
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.clone())))
                .collect();
            verify_blockatm(&st.config.secret, &params, &time, &sig)
        }
    };
    (!ok).then(|| failure("000306", "Signature verification failed"))
}

/// A refusal of one order: (code, message).
type Refusal = (&'static str, String);

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Refusal> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(("000102", format!("{name} must be a string"))),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, Refusal> {
    match field(obj, name)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(("000103", format!("Missing required parameter: {name}"))),
    }
}

fn payout_type(obj: &Map<String, Value>) -> Result<u8, Refusal> {
    match obj.get("payoutType") {
        None | Some(Value::Null) => Ok(1),
        Some(v) => match v.as_u64() {
            Some(1) => Ok(1),
            Some(2) => Ok(2),
            _ => Err(("000102", "payoutType must be 1 or 2".into())),
        },
    }
}

fn check_contract(st: &State, obj: &Map<String, Value>) -> Result<(), Refusal> {
    if required(obj, "contractId")? != st.config.contract_id {
        return Err(("000401", "Contract does not exist".into()));
    }
    Ok(())
}

/// Validates and stores one order; returns the create answer's data.
fn place(st: &mut State, order: &Map<String, Value>, payout_type: u8) -> Result<Value, Refusal> {
    let order_no = required(order, "orderNo")?;
    let recipient = required(order, "recipient")?;
    let amount_text = required(order, "amount")?;
    let symbol = required(order, "symbol")?;
    let remark = field(order, "remark")?;
    if order_no.chars().count() > 64 {
        return Err(("000206", "orderNo is longer than 64 characters".into()));
    }
    if remark.is_some_and(|r| r.chars().count() > 255) {
        return Err(("000206", "remark is longer than 255 characters".into()));
    }
    if !(1..=128).contains(&recipient.len()) || !recipient.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(("000102", "recipient is not a valid address".into()));
    }
    let chain = st.config.blockatm_chain.clone();
    let asset = NETWORKS
        .iter()
        .find(|n| n.code == chain)
        .and_then(|n| n.assets_blockatm.iter().find(|a| a.currency == symbol))
        .ok_or(("000404", format!("Unsupported token {symbol} on {chain}")))?;
    let amount = fees::parse_amount(amount_text, asset.decimals)
        .map_err(|e| ("000102", format!("amount {e}")))?;
    if st.config.enforce_order_no_unique && st.by_order_no.contains_key(order_no) {
        return Err(("000106", "Duplicate request".into()));
    }
    let fee = Decimal::from(fees::BLOCKATM_ORDER_FEE);
    let available = st
        .balances_blockatm
        .get(symbol)
        .copied()
        .unwrap_or_default();
    if available < amount + fee {
        return Err(("000307", "Insufficient balance".into()));
    }
    st.balances_blockatm
        .insert(symbol.to_string(), available - amount - fee);
    let order_id = st.next_order_id.to_string();
    st.next_order_id += 1;
    let now = chrono::Utc::now();
    let settle_at = Instant::now() + st.config.settle_after;
    let payout = SandboxPayout {
        gateway: GatewayKind::BlockAtm,
        order_id: order_no.to_string(),
        gateway_id: order_id.clone(),
        amount,
        currency: symbol.to_string(),
        network: chain,
        address: recipient.to_string(),
        memo: None,
        fee_option: None,
        status: Status::Pending,
        gateway_status: "PENDING".into(),
        merchant_amount: amount + fee,
        network_amount: amount,
        fee,
        txid: None,
        block_number: None,
        error_type: None,
        url_callback: None,
        from_currency: None,
        remark: remark.map(str::to_string),
        created_at: now,
        updated_at: now,
        amount_text: amount_text.to_string(),
        settle_at,
        debited: Some((amount + fee, symbol.to_string())),
        payout_type,
        gas: None,
    };
    st.insert(payout);
    Ok(json!({
        "orderNo": order_no,
        "orderId": order_id,
        "status": "SUCCESS",
        "createTime": now.timestamp_millis(),
    }))
}

fn create(st: &mut State, body: &Map<String, Value>) -> Reply {
    let result = (|| {
        check_contract(st, body)?;
        let payout_type = payout_type(body)?;
        if payout_type == 2 && field(body, "fromAddress")?.is_none_or(str::is_empty) {
            return Err((
                "000103",
                "Missing required parameter: fromAddress".to_string(),
            ));
        }
        place(st, body, payout_type)
    })();
    match result {
        Ok(data) => success(data),
        Err((code, msg)) => failure(code, &msg),
    }
}

fn batch(st: &mut State, body: &Map<String, Value>) -> Reply {
    let checked = (|| {
        check_contract(st, body)?;
        if payout_type(body)? != 1 {
            return Err((
                "000102",
                "Batch payouts take payoutType 1 (balance) only".to_string(),
            ));
        }
        match body.get("orders") {
            None | Some(Value::Null) => {
                Err(("000103", "Missing required parameter: orders".into()))
            }
            Some(Value::Array(a)) if a.is_empty() => Err(("000104", "orders is empty".into())),
            Some(Value::Array(a)) if a.len() > MAX_BATCH => {
                Err(("000105", format!("At most {MAX_BATCH} orders per batch")))
            }
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(_) => Err(("000102", "orders must be an array".into())),
        }
    })();
    let orders = match checked {
        Ok(o) => o,
        Err((code, msg)) => return failure(code, &msg),
    };
    batch_answer(&orders, |o| place(st, o, 1))
}

/// The payout held before `order_no` (the `foreign` fault): the one already held, or a new one
/// built from `base` (the order's recipient, amount and symbol when the request has them, else
/// its stored payout's, else fixed values) with another id, the amount plus 100, another
/// address, created [`FOREIGN_AGE`] ago and paid. Returns its position.
fn held_before(st: &mut State, order_no: &str, base: Option<(&str, Decimal, &str)>) -> usize {
    let existing = st.by_order_no.get(order_no).cloned().unwrap_or_default();
    if let Some(&i) = existing
        .iter()
        .find(|&&i| st.payouts.get(i).and_then(|p| p.remark.as_deref()) == Some(FOREIGN_REMARK))
    {
        return i;
    }
    let stored = existing.first().and_then(|&i| st.payouts.get(i));
    let (recipient, amount, symbol) = match (base, stored) {
        (Some((r, a, s)), _) => (r.to_string(), a, s.to_string()),
        (None, Some(p)) => (p.address.clone(), p.amount, p.currency.clone()),
        (None, None) => (
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".to_string(),
            Decimal::ONE_HUNDRED,
            "USDT".to_string(),
        ),
    };
    let amount = amount + Decimal::ONE_HUNDRED;
    let chain = st.config.blockatm_chain.clone();
    let gas = fees::blockatm_gas(&chain);
    let fee = Decimal::from(fees::BLOCKATM_ORDER_FEE) + gas;
    let gateway_id = st.next_order_id.to_string();
    st.next_order_id += 1;
    let block = st.next_block;
    st.next_block += 1;
    let created = chrono::Utc::now() - FOREIGN_AGE;
    let payout = SandboxPayout {
        gateway: GatewayKind::BlockAtm,
        order_id: order_no.to_string(),
        gateway_id: gateway_id.clone(),
        amount,
        currency: symbol.clone(),
        network: chain,
        address: faults::other_address(&recipient),
        memo: None,
        fee_option: None,
        status: Status::Completed,
        gateway_status: "SUCCESS".into(),
        merchant_amount: amount + fee,
        network_amount: amount,
        fee,
        txid: Some(hex::encode(sha2::Sha256::digest(gateway_id.as_bytes()))),
        block_number: Some(block),
        error_type: None,
        url_callback: None,
        from_currency: None,
        remark: Some(FOREIGN_REMARK.into()),
        created_at: created,
        updated_at: created + chrono::Duration::minutes(1),
        amount_text: amount.to_string(),
        settle_at: Instant::now(),
        debited: None,
        payout_type: 1,
        gas: Some(gas),
    };
    st.insert(payout)
}

/// A create answer's data for a stored payout.
fn created_data(p: &SandboxPayout) -> Value {
    json!({
        "orderNo": p.order_id,
        "orderId": p.gateway_id,
        "status": "SUCCESS",
        "createTime": p.created_at.timestamp_millis(),
    })
}

/// The fields of one order of a create or batch body, for the `foreign` fault.
fn foreign_order(st: &mut State, order: &Map<String, Value>) -> Result<Value, Refusal> {
    let order_no = required(order, "orderNo")?;
    let recipient = required(order, "recipient")?;
    let amount = required(order, "amount")?;
    let symbol = required(order, "symbol")?;
    let amount = fees::parse_amount(amount, 18).map_err(|e| ("000102", format!("amount {e}")))?;
    let i = held_before(st, order_no, Some((recipient, amount, symbol)));
    Ok(created_data(&st.payouts[i]))
}

/// The `foreign` fault on a single create: answered with the payout held before the order.
fn create_foreign(st: &mut State, body: &Map<String, Value>) -> Reply {
    let result = (|| {
        check_contract(st, body)?;
        payout_type(body)?;
        foreign_order(st, body)
    })();
    match result {
        Ok(data) => success(data),
        Err((code, msg)) => failure(code, &msg),
    }
}

/// The `foreign` fault on a batch: every order answered with the payout held before it.
fn batch_foreign(st: &mut State, body: &Map<String, Value>) -> Reply {
    let orders = match (|| {
        check_contract(st, body)?;
        match body.get("orders") {
            Some(Value::Array(a)) if !a.is_empty() => Ok(a.clone()),
            _ => Err(("000103", "Missing required parameter: orders".to_string())),
        }
    })() {
        Ok(o) => o,
        Err((code, msg)) => return failure(code, &msg),
    };
    batch_answer(&orders, |o| foreign_order(st, o))
}

/// The batch answer: each order through `one` (an order that is not an object is refused with
/// 000102), counted, and refused orders reported with their code and message.
fn batch_answer(
    orders: &[Value],
    mut one: impl FnMut(&Map<String, Value>) -> Result<Value, (&'static str, String)>,
) -> Reply {
    let mut results = Vec::with_capacity(orders.len());
    let (mut ok, mut failed) = (0u64, 0u64);
    for order in orders {
        let outcome = match order.as_object() {
            Some(o) => one(o),
            None => Err(("000102", "each order must be an object".into())),
        };
        match outcome {
            Ok(data) => {
                ok += 1;
                results.push(data);
            }
            Err((code, msg)) => {
                failed += 1;
                let order_no = order.get("orderNo").cloned().unwrap_or(Value::Null);
                results.push(json!({
                    "orderNo": order_no, "orderId": null, "status": "REFUSE",
                    "code": code, "msg": msg,
                }));
            }
        }
    }
    success(json!({"successCount": ok, "failCount": failed, "orders": results}))
}

/// The `foreign` fault on a detail: answered with the payout held before the order.
fn detail_foreign(st: &mut State, query: &[(String, String)]) -> Reply {
    let Some(order_no) = query.iter().find(|(k, _)| k == "orderNo").map(|(_, v)| v) else {
        return failure("000103", "Missing required parameter: orderNo");
    };
    let i = held_before(st, order_no, None);
    success(detail_object(&st.payouts[i], &st.config.contract_id))
}

fn detail(st: &State, query: &[(String, String)]) -> Reply {
    let Some(order_no) = query.iter().find(|(k, _)| k == "orderNo").map(|(_, v)| v) else {
        return failure("000103", "Missing required parameter: orderNo");
    };
    let held = |p: &&SandboxPayout| p.remark.as_deref() == Some(FOREIGN_REMARK);
    let payouts = || {
        st.by_order_no
            .get(order_no)
            .into_iter()
            .flatten()
            .filter_map(|&i| st.payouts.get(i))
    };
    match payouts().find(held).or_else(|| payouts().next()) {
        Some(p) => success(detail_object(p, &st.config.contract_id)),
        None => failure("000202", "Data does not exist"),
    }
}

/// The documented detail object (plus `orderId` and `remark`).
pub fn detail_object(p: &SandboxPayout, contract_id: &str) -> Value {
    json!({
        "orderNo": p.order_id,
        "orderId": p.gateway_id,
        "contractId": contract_id,
        "recipient": p.address,
        "amount": p.amount_text,
        "symbol": p.currency,
        "payoutType": p.payout_type,
        "txId": p.txid,
        "status": p.gateway_status,
        "fee": Decimal::from(fees::BLOCKATM_ORDER_FEE).to_string(),
        "gasAmount": p.gas.map(|g| g.to_string()),
        "createTime": p.created_at.timestamp_millis(),
        "updateTime": p.updated_at.timestamp_millis(),
        "remark": p.remark,
    })
}
