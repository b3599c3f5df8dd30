//! The 2328 API as the 2328 API reference documents it, under `/api`:
//! `POST /v1/payout`, `POST /v1/payout/calc`, `GET /v1/payout/status/{uuid}`, `GET /v1/balance`.
//!
//! Authentication: `User-Agent` required (else HTTP 403), `project` must be the configured
//! project (else HTTP 401 `{"state":1,"message":"Invalid project"}`), `sign` must be
//! `hex(HMAC-SHA256(payout_key, base64(body)))` over the exact bytes received, the empty body
//! for GET (else HTTP 401 `{"state":1,"message":"Invalid sign"}`).
//!
//! Error envelope (the seed leaves it open; this is the sandbox's choice, PHP/Laravel style):
//! `{"state":1,"message":"…"}` plus, for field problems, `"errors":{"field":["…"]}`.
//! HTTP status: 422 invalid fields, fees not covered or insufficient balance; 409 an `order_id`
//! repeated with *different* payout fields (currency, network, amount by value, to_address,
//! memo, fee_option, from_currency); 404 unknown uuid or endpoint; 405 wrong method.
//! A repeat with the same fields answers 200 with the existing payout and creates nothing.
//! `amount` must be a JSON string holding a plain decimal (no sign, exponent or separators)
//! with at most the asset's decimals; `memo` only on TON and SOL, at most 255 characters.
//! Amounts in answers are normalised decimal text (`100`, `0.89`), `amount` is echoed as sent.
//! Addresses get only a sanity check here (1–128 visible ASCII characters).
//!
//! Answer faults (see `faults`): `lie=FIELD` rewrites one field of create and status answers;
//! `foreign` answers a create with a payout held before the order (stored, marked with
//! `faults::FOREIGN_REMARK`), which later creates of that order id get too.

use std::time::Instant;

use axum::http::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use sha2::Digest;

use super::faults::{self, AnswerFaults, FOREIGN_AGE, FOREIGN_REMARK, NAMES_2328};
use super::fees;
use super::server::{header, Incoming, Reply};
use super::state::{iso, SandboxPayout, State};
use crate::gateway::sign::verify_2328;
use crate::model::{FeeOption, GatewayKind, Status};
use crate::networks::NETWORKS;

/// An error envelope with the given HTTP status.
pub fn error(status: StatusCode, message: &str) -> Reply {
    Reply::json(status, &json!({"state": 1, "message": message}))
}

fn invalid(errors: Map<String, Value>) -> Reply {
    Reply::json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({"state": 1, "message": "The given data was invalid.", "errors": errors}),
    )
}

fn ok(result: Value) -> Reply {
    Reply::json(StatusCode::OK, &json!({"state": 0, "result": result}))
}

/// Routes one request under `/api`, without answer faults.
pub fn handle(st: &mut State, req: &Incoming<'_>) -> Reply {
    handle_with(st, req, &AnswerFaults::default())
}

/// Routes one request under `/api`, applying the answer faults that fired for it.
pub fn handle_with(st: &mut State, req: &Incoming<'_>, answer: &AnswerFaults) -> Reply {
    if let Some(refusal) = authenticate(st, req) {
        return refusal;
    }
    let path = req.uri.path().strip_prefix("/api").unwrap_or_default();
    let about_a_payout = path == "/v1/payout" || path.starts_with("/v1/payout/status/");
    let mut reply = route(st, req, path, answer.foreign);
    if about_a_payout && !answer.lies.is_empty() && reply.status.is_success() {
        lie_in(st, &mut reply, &answer.lies);
    }
    reply
}

/// Rewrites the `result` of a payout answer with the lies.
fn lie_in(st: &State, reply: &mut Reply, lies: &[faults::LieField]) {
    let Ok(mut v) = serde_json::from_slice::<Value>(&reply.body) else {
        return;
    };
    let Some(result) = v.get_mut("result").and_then(Value::as_object_mut) else {
        return;
    };
    let payout = result
        .get("uuid")
        .and_then(Value::as_str)
        .and_then(|u| st.by_uuid.get(u))
        .and_then(|&i| st.payouts.get(i));
    if let Some(p) = payout {
        faults::apply_lies(result, lies, &NAMES_2328, p, &st.config.contract_id);
        if let Ok(body) = serde_json::to_vec(&v) {
            reply.body = body;
        }
    }
}

fn route(st: &mut State, req: &Incoming<'_>, path: &str, foreign: bool) -> Reply {
    let is_get = req.method == Method::GET;
    let is_post = req.method == Method::POST;
    match path {
        "/v1/payout" if is_post && foreign => create_foreign(st, req.body),
        "/v1/payout" if is_post => create(st, req.body),
        "/v1/payout/calc" if is_post => calc(req.body),
        "/v1/balance" if is_get => balance(st),
        "/v1/payout" | "/v1/payout/calc" | "/v1/balance" => {
            error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        }
        _ => match path.strip_prefix("/v1/payout/status/") {
            Some(uuid) if is_get => status(st, uuid),
            Some(_) => error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
            None => error(StatusCode::NOT_FOUND, "Not found"),
        },
    }
}

fn authenticate(st: &State, req: &Incoming<'_>) -> Option<Reply> {
    if header(req.headers, "user-agent").is_none_or(|ua| ua.trim().is_empty()) {
        return Some(error(
            StatusCode::FORBIDDEN,
            "User-Agent header is required",
        ));
    }
    if header(req.headers, "project").as_deref() != Some(st.config.project.as_str()) {
        return Some(error(StatusCode::UNAUTHORIZED, "Invalid project"));
    }
    let sign = header(req.headers, "sign").unwrap_or_default();
    if !verify_2328(&st.config.payout_key, req.body, &sign) {
        return Some(error(StatusCode::UNAUTHORIZED, "Invalid sign"));
    }
    None
}

/// A create/calc request after field validation.
struct Fields {
    currency: String,
    network: String,
    amount_text: String,
    amount: Decimal,
    decimals: u32,
    to_address: String,
    order_id: Option<String>,
    url_callback: Option<String>,
    memo: Option<String>,
    fee_option: FeeOption,
    from_currency: Option<String>,
}

fn opt_string(
    obj: &Map<String, Value>,
    field: &str,
    errors: &mut Map<String, Value>,
) -> Option<String> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            add(errors, field, "must be a string");
            None
        }
    }
}

fn add(errors: &mut Map<String, Value>, field: &str, message: &str) {
    let list = errors
        .entry(field.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = list {
        items.push(Value::String(format!("The {field} {message}.")));
    }
}

/// Parses and validates the create/calc body. `for_create` also checks the fields calc ignores.
fn parse_fields(body: &[u8], for_create: bool) -> Result<Fields, Reply> {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The body must be a JSON object",
        ));
    };
    let mut errors = Map::new();
    let required = |field: &str, errors: &mut Map<String, Value>| {
        let v = opt_string(&obj, field, errors);
        if v.as_deref().is_none_or(str::is_empty) && !errors.contains_key(field) {
            add(errors, field, "field is required");
        }
        v.unwrap_or_default()
    };
    let currency = required("currency", &mut errors);
    let network = required("network", &mut errors);
    let amount_text = required("amount", &mut errors);
    let to_address = if for_create {
        required("to_address", &mut errors)
    } else {
        opt_string(&obj, "to_address", &mut errors).unwrap_or_default()
    };
    let order_id = opt_string(&obj, "order_id", &mut errors);
    let url_callback = opt_string(&obj, "url_callback", &mut errors);
    let memo = opt_string(&obj, "memo", &mut errors);
    let from_currency = opt_string(&obj, "from_currency", &mut errors);
    let fee_option = match opt_string(&obj, "fee_option", &mut errors).as_deref() {
        None | Some("deduct") => FeeOption::Deduct,
        Some("add") => FeeOption::Add,
        Some(_) => {
            add(&mut errors, "fee_option", "must be deduct or add");
            FeeOption::Deduct
        }
    };

    let spec = NETWORKS.iter().find(|n| n.code == network);
    let asset = spec.and_then(|n| n.assets_2328.iter().find(|a| a.currency == currency));
    if !network.is_empty() && spec.is_none_or(|n| n.assets_2328.is_empty()) {
        add(&mut errors, "network", "is not supported");
    } else if !currency.is_empty() && asset.is_none() {
        add(&mut errors, "currency", "is not available on this network");
    }
    let decimals = asset.map_or(0, |a| a.decimals);
    let mut amount = Decimal::ZERO;
    if let Some(a) = asset.filter(|_| !amount_text.is_empty()) {
        match fees::parse_amount(&amount_text, a.decimals) {
            Ok(v) => amount = v,
            Err(e) => add(&mut errors, "amount", &e),
        }
    }
    if let Some(from) = &from_currency {
        if !NETWORKS
            .iter()
            .any(|n| n.assets_2328.iter().any(|a| a.currency == from))
        {
            add(&mut errors, "from_currency", "is not a known currency");
        }
    }
    if for_create {
        if !to_address.is_empty() && !plausible_address(&to_address) {
            add(&mut errors, "to_address", "is not a valid address");
        }
        if let Some(m) = &memo {
            if spec.is_some_and(|n| !n.memo) {
                add(&mut errors, "memo", "is only accepted on TON and SOL");
            } else if m.chars().count() > 255 {
                add(
                    &mut errors,
                    "memo",
                    "may not be greater than 255 characters",
                );
            }
        }
        if let Some(o) = &order_id {
            if o.is_empty() || o.chars().count() > 255 {
                add(&mut errors, "order_id", "must be 1 to 255 characters");
            }
        }
        if let Some(u) = &url_callback {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                add(&mut errors, "url_callback", "must be an http(s) URL");
            }
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    Ok(Fields {
        currency,
        network,
        amount_text,
        amount,
        decimals,
        to_address,
        order_id,
        url_callback,
        memo,
        fee_option,
        from_currency,
    })
}

/// Gateway-side address sanity (the full per-family check is payrun's job before sending):
/// 1–128 visible ASCII characters.
fn plausible_address(a: &str) -> bool {
    (1..=128).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_graphic())
}

fn compute(f: &Fields) -> Result<fees::Fees2328, Reply> {
    fees::compute_2328(f.amount, f.decimals, &f.currency, &f.network, f.fee_option).map_err(|e| {
        let mut errors = Map::new();
        add(&mut errors, "amount", &e);
        invalid(errors)
    })
}

fn calc(body: &[u8]) -> Reply {
    let f = match parse_fields(body, false) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let fee = match compute(&f) {
        Ok(fee) => fee,
        Err(r) => return r,
    };
    ok(json!({
        "currency": f.currency,
        "network": f.network,
        "amount": f.amount_text,
        "fee_option": f.fee_option.as_str(),
        "merchant_amount": fee.merchant_amount.normalize().to_string(),
        "network_amount": fee.network_amount.normalize().to_string(),
        "total_fee": fee.total_fee.normalize().to_string(),
        "total_fee_usd": fees::to_usd(fee.total_fee, &f.currency).to_string(),
    }))
}

fn same_payout(p: &SandboxPayout, f: &Fields) -> bool {
    p.currency == f.currency
        && p.network == f.network
        && p.amount == f.amount
        && p.address == f.to_address
        && p.memo == f.memo
        && p.fee_option == Some(f.fee_option)
        && p.from_currency == f.from_currency
}

fn create(st: &mut State, body: &[u8]) -> Reply {
    let f = match parse_fields(body, true) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Some(&i) = f.order_id.as_ref().and_then(|o| st.by_order_2328.get(o)) {
        return match st.payouts.get(i) {
            Some(p) if same_payout(p, &f) || is_foreign(p) => ok(result_object(p)),
            _ => Reply::json(
                StatusCode::CONFLICT,
                &json!({"state": 1, "message": "order_id already used with different parameters",
                        "errors": {"order_id": ["The order_id has already been used for a different payout."]}}),
            ),
        };
    }
    let fee = match compute(&f) {
        Ok(fee) => fee,
        Err(r) => return r,
    };
    let debit_currency = f
        .from_currency
        .clone()
        .unwrap_or_else(|| f.currency.clone());
    let debit = match &f.from_currency {
        Some(from) => fees::convert(fee.merchant_amount, &f.currency, from, 8),
        None => fee.merchant_amount,
    };
    let available = st
        .balances_2328
        .get(&debit_currency)
        .copied()
        .unwrap_or_default();
    if available < debit {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Insufficient balance");
    }
    st.balances_2328
        .insert(debit_currency.clone(), available - debit);
    let now = chrono::Utc::now();
    let settle_after = st.config.settle_after;
    let payout = SandboxPayout {
        gateway: GatewayKind::G2328,
        order_id: f.order_id.clone().unwrap_or_default(),
        gateway_id: uuid::Uuid::now_v7().to_string(),
        amount: f.amount,
        currency: f.currency.clone(),
        network: f.network.clone(),
        address: f.to_address.clone(),
        memo: f.memo.clone(),
        fee_option: Some(f.fee_option),
        status: Status::Pending,
        gateway_status: "pending".into(),
        merchant_amount: fee.merchant_amount,
        network_amount: fee.network_amount,
        fee: fee.total_fee,
        txid: None,
        block_number: None,
        error_type: None,
        url_callback: f.url_callback.clone(),
        from_currency: f.from_currency.clone(),
        remark: None,
        created_at: now,
        updated_at: now,
        amount_text: f.amount_text.clone(),
        settle_at: Instant::now() + settle_after,
        debited: Some((debit, debit_currency)),
        payout_type: 0,
        gas: None,
    };
    let i = st.insert(payout);
    ok(result_object(&st.payouts[i]))
}

/// A payout stored by the `foreign` fault.
fn is_foreign(p: &SandboxPayout) -> bool {
    p.remark.as_deref() == Some(FOREIGN_REMARK)
}

/// The `foreign` fault on a create: the order id is answered with a payout held before it
/// (the one already held, or a new one: another uuid, the amount plus 100, another address,
/// created [`FOREIGN_AGE`] ago, completed). Nothing is debited. A request without an order id
/// is created normally.
fn create_foreign(st: &mut State, body: &[u8]) -> Reply {
    let f = match parse_fields(body, true) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(order_id) = f.order_id.clone() else {
        return create(st, body);
    };
    if let Some(p) = st
        .by_order_2328
        .get(&order_id)
        .and_then(|&i| st.payouts.get(i))
        .filter(|p| is_foreign(p))
    {
        return ok(result_object(p));
    }
    let amount = f.amount + Decimal::ONE_HUNDRED;
    let fee = fees::compute_2328(amount, f.decimals, &f.currency, &f.network, f.fee_option).ok();
    let created = chrono::Utc::now() - FOREIGN_AGE;
    let gateway_id = uuid::Uuid::new_v4().to_string();
    let block = st.next_block;
    st.next_block += 1;
    let payout = SandboxPayout {
        gateway: GatewayKind::G2328,
        order_id,
        gateway_id: gateway_id.clone(),
        amount,
        currency: f.currency.clone(),
        network: f.network.clone(),
        address: faults::other_address(&f.to_address),
        memo: f.memo.clone(),
        fee_option: Some(f.fee_option),
        status: Status::Completed,
        gateway_status: "completed".into(),
        merchant_amount: fee.as_ref().map_or(amount, |x| x.merchant_amount),
        network_amount: fee.as_ref().map_or(amount, |x| x.network_amount),
        fee: fee.as_ref().map_or(Decimal::ZERO, |x| x.total_fee),
        txid: Some(hex::encode(sha2::Sha256::digest(gateway_id.as_bytes()))),
        block_number: Some(block),
        error_type: None,
        url_callback: None,
        from_currency: f.from_currency.clone(),
        remark: Some(FOREIGN_REMARK.into()),
        created_at: created,
        updated_at: created + chrono::Duration::minutes(1),
        amount_text: amount.to_string(),
        settle_at: Instant::now(),
        debited: None,
        payout_type: 0,
        gas: None,
    };
    let i = st.insert(payout);
    ok(result_object(&st.payouts[i]))
}

fn status(st: &State, uuid: &str) -> Reply {
    match st.by_uuid.get(uuid).and_then(|&i| st.payouts.get(i)) {
        Some(p) => ok(result_object(p)),
        None => error(StatusCode::NOT_FOUND, "Payout not found"),
    }
}

fn balance(st: &State) -> Reply {
    let mut locked: std::collections::BTreeMap<&str, Decimal> = Default::default();
    for p in st
        .payouts
        .iter()
        .filter(|p| p.gateway == GatewayKind::G2328)
    {
        if let (Status::Pending, Some((amount, currency))) = (p.status, &p.debited) {
            *locked.entry(currency.as_str()).or_default() += *amount;
        }
    }
    let list: Vec<Value> = st
        .balances_2328
        .iter()
        .enumerate()
        .map(|(i, (currency, balance))| {
            json!({
                "uuid": format!("00000000-0000-4000-8000-{:012x}", i + 1),
                "status": "active",
                "currency_code": currency,
                "balance": balance.to_string(),
                "balance_usd": fees::to_usd(*balance, currency).to_string(),
                "locked_balance": locked.get(currency.as_str()).copied().unwrap_or_default().to_string(),
            })
        })
        .collect();
    ok(Value::Array(list))
}

/// The documented result object of a payout, fields in the documented order.
pub fn result_object(p: &SandboxPayout) -> Value {
    let text = |d: Decimal| Value::String(d.normalize().to_string());
    let opt = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
    let mut m = Map::new();
    m.insert("uuid".into(), Value::String(p.gateway_id.clone()));
    m.insert(
        "order_id".into(),
        if p.order_id.is_empty() {
            Value::Null
        } else {
            Value::String(p.order_id.clone())
        },
    );
    m.insert("status".into(), Value::String(p.gateway_status.clone()));
    m.insert("currency".into(), Value::String(p.currency.clone()));
    m.insert("network".into(), Value::String(p.network.clone()));
    m.insert("amount".into(), Value::String(p.amount_text.clone()));
    m.insert("merchant_amount".into(), text(p.merchant_amount));
    m.insert("network_amount".into(), text(p.network_amount));
    m.insert(
        "amount_usd".into(),
        text(fees::to_usd(p.amount, &p.currency)),
    );
    m.insert("to_address".into(), Value::String(p.address.clone()));
    m.insert("memo".into(), opt(&p.memo));
    m.insert("txid".into(), opt(&p.txid));
    m.insert(
        "block_number".into(),
        p.block_number.map_or(Value::Null, Value::from),
    );
    m.insert("error_type".into(), opt(&p.error_type));
    m.insert("created_at".into(), Value::String(iso(&p.created_at)));
    m.insert("updated_at".into(), Value::String(iso(&p.updated_at)));
    m.insert("from_currency".into(), opt(&p.from_currency));
    let (debited_amount, debited_currency) = match (&p.from_currency, &p.debited) {
        (Some(_), Some((amount, currency))) => (text(*amount), Value::String(currency.clone())),
        _ => (Value::Null, Value::Null),
    };
    m.insert("debited_amount".into(), debited_amount);
    m.insert("debited_currency".into(), debited_currency);
    Value::Object(m)
}
