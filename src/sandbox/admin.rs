//! The admin endpoints (not part of either gateway, never rate limited, faulted or recorded):
//! - `GET  /__sandbox/payouts`      every payout created, in order (JSON list)
//! - `GET  /__sandbox/requests`     every gateway request received, in order
//! - `GET  /__sandbox/webhooks`     every webhook delivery attempted
//! - `GET  /__sandbox/faults`       the active fault rules as spec strings
//! - `POST /__sandbox/faults`       replace the rules: a JSON list of spec strings or objects
//!   (see `FaultRule::from_json`)
//! - `POST /__sandbox/reset-faults` remove every rule

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::faults::{FaultRule, FaultSet};
use super::server::Shared;

/// Answers one admin request.
pub fn handle(shared: &Arc<Shared>, method: &Method, path: &str, body: &[u8]) -> Response {
    let route = path.trim_start_matches("/__sandbox");
    match (method.as_str(), route) {
        ("GET", "/payouts") => {
            shared.settle_now();
            Json(json!(shared.lock().payouts)).into_response()
        }
        ("GET", "/requests") => Json(json!(shared.lock().requests)).into_response(),
        ("GET", "/webhooks") => Json(json!(shared.lock().webhooks)).into_response(),
        ("GET", "/faults") => {
            let specs: Vec<String> = shared
                .lock()
                .faults
                .rules()
                .iter()
                .map(ToString::to_string)
                .collect();
            Json(json!(specs)).into_response()
        }
        ("POST", "/faults") => match parse_rules(body) {
            Ok(rules) => {
                let specs: Vec<String> = rules.iter().map(ToString::to_string).collect();
                shared.lock().faults = FaultSet::new(rules);
                Json(json!(specs)).into_response()
            }
            Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
        },
        ("POST", "/reset-faults") => {
            shared.lock().faults = FaultSet::default();
            Json(json!([])).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown admin endpoint"})),
        )
            .into_response(),
    }
}

fn parse_rules(body: &[u8]) -> Result<Vec<FaultRule>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let list = value
        .as_array()
        .ok_or("body must be a JSON list of faults")?;
    list.iter()
        .enumerate()
        .map(|(i, r)| FaultRule::from_json(r).map_err(|e| format!("[{i}]: {e}")))
        .collect()
}
