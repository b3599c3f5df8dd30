//! Webhook signatures for both gateways, as pure functions over the raw body: verification
//! (what `payrun webhook serve/verify` calls) and the signing side (what the sandbox calls to
//! produce genuine webhooks).
//!
//! - 2328: the payload is the status `result` object plus a `sign` member. Remove `sign` (keeping
//!   the received key order), JSON-encode the rest compactly, and compare
//!   `hex(HMAC-SHA256(payout_key, base64(json)))` in constant time. Tried in turn: the received
//!   text minus `sign` (whitespace dropped, numbers and escapes verbatim), then re-encodings of
//!   the parsed payload — plain, and PHP's (whose encoder escapes `/` as `\/` and non-ASCII as
//!   `\uXXXX` by default) with and without its usual flags (see [`Encoding2328::ALL`]).
//! - BlockATM: `hex(HMAC-SHA256(secret, raw_body + "&time=" + BlockATM-Request-Time))`. The
//!   Chinese docs describe the sorted `key=value&…&time=` form instead; it is accepted too.
//!   `BlockATM-Request-Time` must be Unix milliseconds and, for a live receiver
//!   ([`verify_blockatm_webhook_with`] and [`BlockAtmWebhookCheck::live`]), within a receive
//!   window of this machine's clock ([`WEBHOOK_RECEIVE_WINDOW`] either way by default), so a
//!   captured delivery cannot be replayed later; the delivery's `contractId` can be required to
//!   be the account's.
//!
//! Both: a body whose objects repeat a key (at any depth) is refused before anything else is
//! read ([`WebhookError::DuplicateKey`], an HTTP 400 for a receiver: see
//! [`WebhookError::http_status`]); a last-wins parser would let a signed body say
//! `"status":"failed"` to one reader and `"status":"completed"` to another. What the delivery
//! says of the payout (address, amount, currency, contract, …) is kept in the state's `echo`
//! for `echo::compare`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::json_fields::{parse_body_strict, DecodeError, Obj, StrictError};
use super::{raw_json, sign, wire2328, wireblockatm, AnswerKind, PayoutState};

/// How far a live BlockATM webhook's `BlockATM-Request-Time` may be from this machine's clock,
/// either way.
pub const WEBHOOK_RECEIVE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Why a webhook was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook body is not a JSON object: {0}")]
    Malformed(String),
    #[error("the webhook carries no signature (`sign` member)")]
    MissingSignature,
    #[error("the webhook header {0} is missing or empty")]
    MissingHeader(&'static str),
    #[error("the webhook signature does not match")]
    BadSignature,
    /// An object in the body repeats a key: refused whatever the signature says.
    #[error(
        "the webhook body repeats the key {key:?} ({detail}): refused, a repeated key can make \
         one body say two things"
    )]
    DuplicateKey { key: String, detail: String },
    /// `BlockATM-Request-Time` is not Unix milliseconds.
    #[error("the webhook header BlockATM-Request-Time {0:?} is not a time in Unix milliseconds")]
    BadTime(String),
    /// `BlockATM-Request-Time` is outside the receive window around this machine's clock.
    #[error(
        "the webhook header BlockATM-Request-Time {time} ({at}) is {distance} {direction} this \
         machine's clock, outside the receive window of {window_secs} s either way: refused \
         as a possible replay (if every delivery is refused, check this machine's clock)"
    )]
    OutsideWindow {
        time: String,
        at: String,
        distance: String,
        direction: &'static str,
        window_secs: u64,
    },
    /// Genuine, but for another payout contract than the account's.
    #[error("the webhook is for contract {got}, not this account's contract {expected}")]
    ContractMismatch { expected: String, got: String },
    /// Genuine, but its content does not map onto a payout state.
    #[error("the webhook payload is not usable: {0}")]
    Payload(DecodeError),
}

impl WebhookError {
    /// The HTTP status a receiver answers: 400 for a body that cannot be read or is not for
    /// this account (malformed, repeated keys, unusable payload, another contract), 401 for
    /// one that is not proven genuine (signature, missing headers, unreadable or stale time).
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::Malformed(_)
            | WebhookError::DuplicateKey { .. }
            | WebhookError::ContractMismatch { .. }
            | WebhookError::Payload(_) => 400,
            WebhookError::MissingSignature
            | WebhookError::MissingHeader(_)
            | WebhookError::BadSignature
            | WebhookError::BadTime(_)
            | WebhookError::OutsideWindow { .. } => 401,
        }
    }
}

/// Parses a webhook body, refusing repeated keys.
fn parse_webhook_body(raw_body: &[u8]) -> Result<Value, WebhookError> {
    parse_body_strict(raw_body).map_err(|e| match e {
        StrictError::Invalid(e) => WebhookError::Malformed(e.to_string()),
        StrictError::DuplicateKey { key, detail } => WebhookError::DuplicateKey { key, detail },
    })
}

/// A verified 2328 webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook2328 {
    pub state: PayoutState,
    pub currency: Option<String>,
    pub network: Option<String>,
    /// The requested amount.
    pub amount: Option<Decimal>,
    pub to_address: Option<String>,
}

impl From<Webhook2328> for PayoutState {
    fn from(w: Webhook2328) -> PayoutState {
        w.state
    }
}

/// A verified BlockATM webhook. `state.echo` carries the same fields (and `amount`,
/// `createTime`, `network`) for `echo::compare`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookBlockAtm {
    pub state: PayoutState,
    pub symbol: Option<String>,
    pub to_address: Option<String>,
    pub contract_id: Option<String>,
}

/// What a BlockATM webhook is checked against besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAtmWebhookCheck {
    /// How far `BlockATM-Request-Time` may be from `now`, either way. `None`: no window (a
    /// stored delivery verified after the fact, as `payrun webhook verify` does).
    pub window: Option<Duration>,
    /// This machine's time.
    pub now: DateTime<Utc>,
    /// The account's payout contract: a delivery for another contract (or, since the webhook
    /// documents `contractId`, one without it) is refused.
    pub expected_contract: Option<String>,
}

impl BlockAtmWebhookCheck {
    /// A live receiver: the default window around the current time.
    pub fn live(expected_contract: Option<String>) -> Self {
        BlockAtmWebhookCheck {
            window: Some(WEBHOOK_RECEIVE_WINDOW),
            now: Utc::now(),
            expected_contract,
        }
    }

    /// No receive window and no contract check (only the signature and the time's format).
    pub fn offline() -> Self {
        BlockAtmWebhookCheck {
            window: None,
            now: Utc::now(),
            expected_contract: None,
        }
    }
}

/// `BlockATM-Request-Time` as Unix milliseconds (digits only).
fn request_time(text: &str) -> Option<DateTime<Utc>> {
    if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    DateTime::from_timestamp_millis(text.parse().ok()?)
}

/// `3 min 20 s`, `5 years`: a distance for the window message.
fn distance_text(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 2 * 365 * 86_400 {
        format!("{} years", s / (365 * 86_400))
    } else if s >= 2 * 86_400 {
        format!("{} days", s / 86_400)
    } else if s >= 3600 {
        format!("{} h {} min", s / 3600, s % 3600 / 60)
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

fn check_window(time: &str, check: &BlockAtmWebhookCheck) -> Result<(), WebhookError> {
    let at = request_time(time).ok_or_else(|| WebhookError::BadTime(time.to_string()))?;
    let Some(window) = check.window else {
        return Ok(());
    };
    let delta = at.signed_duration_since(check.now);
    let distance = delta.abs().to_std().unwrap_or(Duration::MAX);
    if distance <= window {
        return Ok(());
    }
    Err(WebhookError::OutsideWindow {
        time: time.to_string(),
        at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        distance: distance_text(distance),
        direction: if delta > chrono::Duration::zero() {
            "ahead of"
        } else {
            "behind"
        },
        window_secs: window.as_secs(),
    })
}

impl From<WebhookBlockAtm> for PayoutState {
    fn from(w: WebhookBlockAtm) -> PayoutState {
        w.state
    }
}

/// One way of JSON-encoding a 2328 payload compactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding2328 {
    /// `/` as `\/` (PHP's default).
    pub escape_slashes: bool,
    /// Non-ASCII as `\uXXXX` (PHP's default).
    pub escape_unicode: bool,
    /// U+2028/U+2029 as `\u2028`/`\u2029` (PHP even with `JSON_UNESCAPED_UNICODE`).
    pub escape_line_terminators: bool,
}

impl Encoding2328 {
    /// serde_json's compact form: nothing escaped beyond what JSON requires.
    pub const PLAIN: Encoding2328 = Encoding2328 {
        escape_slashes: false,
        escape_unicode: false,
        escape_line_terminators: false,
    };
    /// PHP `json_encode($data)` with default flags.
    pub const PHP_DEFAULT: Encoding2328 = Encoding2328 {
        escape_slashes: true,
        escape_unicode: true,
        escape_line_terminators: true,
    };
    /// Every encoding the verifier tries: plain, and PHP with and without
    /// `JSON_UNESCAPED_SLASHES` / `JSON_UNESCAPED_UNICODE`.
    pub const ALL: [Encoding2328; 5] = [
        Encoding2328::PLAIN,
        Encoding2328::PHP_DEFAULT,
        Encoding2328 {
            escape_slashes: true,
            escape_unicode: false,
            escape_line_terminators: true,
        },
        Encoding2328 {
            escape_slashes: false,
            escape_unicode: false,
            escape_line_terminators: true,
        },
        Encoding2328 {
            escape_slashes: false,
            escape_unicode: true,
            escape_line_terminators: true,
        },
    ];
}

/// Compact JSON of `v` in the given encoding. Numbers are written as serde_json writes them.
pub fn encode_compact(v: &Value, enc: Encoding2328) -> String {
    let mut out = String::new();
    write_value(&mut out, v, enc);
    out
}

fn write_value(out: &mut String, v: &Value, enc: Encoding2328) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s, enc),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, enc);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k, enc);
                out.push(':');
                write_value(out, item, enc);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str, enc: Encoding2328) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if enc.escape_slashes => out.push_str("\\/"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' if enc.escape_line_terminators || enc.escape_unicode => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if !c.is_ascii() && enc.escape_unicode => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Verifies a 2328 webhook and maps it. Accepts the signature over any of
/// [`Encoding2328::ALL`] of the payload without `sign`, in the key order received.
pub fn verify_2328_webhook(payout_key: &str, raw_body: &[u8]) -> Result<Webhook2328, WebhookError> {
    let value = parse_webhook_body(raw_body)?;
    let Value::Object(mut payload) = value else {
        return Err(WebhookError::Malformed(format!(
            "found {}",
            super::json_fields::describe(&value)
        )));
    };
    let signature = match payload.shift_remove("sign") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => return Err(WebhookError::MissingSignature),
    };
    let unsigned = Value::Object(payload);
    // First the received text itself without `sign` (numbers and escapes exactly as the
    // gateway wrote them), then the re-encodings.
    let as_received = raw_json::without_member(&raw_json::minify(raw_body), br#""sign""#);
    let genuine = as_received.is_some_and(|text| sign::verify_2328(payout_key, &text, &signature))
        || Encoding2328::ALL.iter().any(|enc| {
            sign::verify_2328(
                payout_key,
                encode_compact(&unsigned, *enc).as_bytes(),
                &signature,
            )
        });
    if !genuine {
        return Err(WebhookError::BadSignature);
    }
    let obj = Obj::new(&unsigned, "").map_err(WebhookError::Payload)?;
    let state = wire2328::payout_state_as(obj, AnswerKind::Webhook2328, None)
        .map_err(WebhookError::Payload)?;
    let text = |k: &str| obj.str_opt(k).map(|o| o.map(str::to_string));
    Ok(Webhook2328 {
        state,
        currency: text("currency").map_err(WebhookError::Payload)?,
        network: text("network").map_err(WebhookError::Payload)?,
        amount: obj
            .decimal_str_opt("amount")
            .map_err(WebhookError::Payload)?,
        to_address: text("to_address").map_err(WebhookError::Payload)?,
    })
}

/// The body of a genuine 2328 webhook, plain encoding: the payload (any `sign` in it is
/// dropped) followed by `"sign": hex(HMAC-SHA256(payout_key, base64(compact_json(payload))))`
/// as the last member, where `compact_json` is serde_json's compact form (`/` and non-ASCII not
/// escaped) in the map's key order; the whole body is that same compact form.
pub fn signed_2328_webhook_body(
    payout_key: &str,
    payload_without_sign: &Map<String, Value>,
) -> Vec<u8> {
    signed_2328_webhook_body_with(payout_key, payload_without_sign, Encoding2328::PLAIN)
}

/// Like [`signed_2328_webhook_body`], with the payload and body in another encoding (use
/// [`Encoding2328::PHP_DEFAULT`] to send what a PHP gateway sends: `\/` and `\uXXXX`).
pub fn signed_2328_webhook_body_with(
    payout_key: &str,
    payload_without_sign: &Map<String, Value>,
    enc: Encoding2328,
) -> Vec<u8> {
    let mut payload = payload_without_sign.clone();
    payload.shift_remove("sign");
    let signature = sign::sign_2328(
        payout_key,
        encode_compact(&Value::Object(payload.clone()), enc).as_bytes(),
    );
    payload.insert("sign".to_string(), Value::String(signature));
    encode_compact(&Value::Object(payload), enc).into_bytes()
}

/// Verifies a BlockATM webhook (`BlockATM-Request-Time` and `BlockATM-Signature-V2` header
/// values) and maps it; `bizOrderNo` is the order number, `id` the gateway's id. The request
/// time must be Unix milliseconds but no receive window applies: this is
/// [`verify_blockatm_webhook_with`] and [`BlockAtmWebhookCheck::offline`], for a stored
/// delivery verified after the fact. A live receiver must use [`BlockAtmWebhookCheck::live`].
pub fn verify_blockatm_webhook(
    secret: &str,
    raw_body: &[u8],
    time_header: &str,
    signature_header: &str,
) -> Result<WebhookBlockAtm, WebhookError> {
    verify_blockatm_webhook_with(
        secret,
        raw_body,
        time_header,
        signature_header,
        &BlockAtmWebhookCheck::offline(),
    )
}

/// Verifies a BlockATM webhook against `check`: in order, the headers are present, the body
/// repeats no key, the request time is Unix milliseconds within the window, the signature
/// matches (raw-body form, or the sorted-parameter form), the payload maps, and its
/// `contractId` is the expected one.
pub fn verify_blockatm_webhook_with(
    secret: &str,
    raw_body: &[u8],
    time_header: &str,
    signature_header: &str,
    check: &BlockAtmWebhookCheck,
) -> Result<WebhookBlockAtm, WebhookError> {
    let time = time_header.trim();
    let signature = signature_header.trim();
    if time.is_empty() {
        return Err(WebhookError::MissingHeader("BlockATM-Request-Time"));
    }
    if signature.is_empty() {
        return Err(WebhookError::MissingHeader("BlockATM-Signature-V2"));
    }
    let value = parse_webhook_body(raw_body);
    if let Err(e @ WebhookError::DuplicateKey { .. }) = value {
        return Err(e);
    }
    check_window(time, check)?;
    let raw_form = sign::verify_blockatm_webhook(secret, raw_body, time, signature);
    let genuine = raw_form
        || match &value {
            Ok(Value::Object(map)) => {
                sign::verify_blockatm(secret, &sign::blockatm_params_of_json(map), time, signature)
            }
            _ => false,
        };
    if !genuine {
        return Err(WebhookError::BadSignature);
    }
    let value = value?;
    let obj = Obj::new(&value, "").map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let state = wireblockatm::payout_state(obj, wireblockatm::WEBHOOK, None)
        .map_err(WebhookError::Payload)?;
    let text = |k: &str| obj.text_opt(k).map_err(WebhookError::Payload);
    let contract_id = text("contractId")?;
    if let Some(expected) = &check.expected_contract {
        if contract_id.as_deref() != Some(expected.as_str()) {
            return Err(WebhookError::ContractMismatch {
                expected: expected.clone(),
                got: contract_id.unwrap_or_else(|| "(missing)".into()),
            });
        }
    }
    Ok(WebhookBlockAtm {
        state,
        symbol: text("symbol")?,
        to_address: text("toAddress")?,
        contract_id,
    })
}

/// The `BlockATM-Signature-V2` header value for a webhook body (the sandbox's side).
pub fn sign_blockatm_webhook(secret: &str, raw_body: &[u8], time_ms: &str) -> String {
    sign::sign_blockatm_webhook(secret, raw_body, time_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrderId, Status};
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use std::str::FromStr;

    /// An independent signer straight from the documented algorithm (not through sign.rs).
    fn doc_sign(key: &str, json: &str) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(json.as_bytes());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(b64.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The documented payload (minus `sign`), with a `/` in a field so escaping matters.
    const PAYLOAD: &str = r#"{"uuid":"019dff1f-0dbd-7277-8d45-271e7775388f","order_id":"4dfdcc84402b1185b71cbe399321533e","status":"completed","currency":"TRX","network":"TRX-TRC20","amount":"3.00","merchant_amount":"3.00","network_amount":"2.10","amount_usd":"1.04","to_address":"THauRv5tcucQRohXg8NiyGTk16DX1XQG5x","memo":null,"txid":"9242e533703704ef3eaba840f70b4a26333e72c943377ee375fea17badb53def","block_number":null,"error_type":null,"created_at":"2026-05-07T00:08:38+03:00","updated_at":"2026-05-07T00:08:54+03:00","from_currency":"USDT","debited_amount":"1.050735","debited_currency":"USDT","url":"https://x.example/a/b"}"#;

    fn with_sign(payload: &str, sign: &str) -> String {
        format!("{},\"sign\":\"{sign}\"}}", &payload[..payload.len() - 1])
    }

    #[test]
    fn genuine_2328_webhook_is_accepted_and_mapped() {
        let body = with_sign(PAYLOAD, &doc_sign("pk", PAYLOAD));
        let w = verify_2328_webhook("pk", body.as_bytes()).unwrap();
        assert_eq!(w.state.status, Status::Completed);
        assert_eq!(
            w.state.order_id,
            OrderId("4dfdcc84402b1185b71cbe399321533e".into())
        );
        assert_eq!(w.state.fee, Some(Decimal::from_str("0.90").unwrap()));
        assert_eq!(w.amount, Some(Decimal::from_str("3.00").unwrap()));
        assert_eq!(
            w.state.txid.as_deref(),
            Some("9242e533703704ef3eaba840f70b4a26333e72c943377ee375fea17badb53def")
        );
    }

    #[test]
    fn php_escaped_2328_webhook_is_accepted() {
        // What PHP's json_encode sends: `\/` in the body, signature over the `\/` form.
        let php = PAYLOAD.replace('/', "\\/");
        let body = with_sign(&php, &doc_sign("pk", &php));
        assert!(body.contains(r#"https:\/\/x.example"#));
        assert!(verify_2328_webhook("pk", body.as_bytes()).is_ok());
        // Signed over the `\/` form but sent unescaped: still the same payload, accepted.
        let body = with_sign(PAYLOAD, &doc_sign("pk", &php));
        assert!(verify_2328_webhook("pk", body.as_bytes()).is_ok());
    }

    #[test]
    fn php_unicode_escaped_webhook_is_accepted() {
        let payload = r#"{"uuid":"u1","order_id":"o1","status":"failed","error_type":"aml_risk","memo":"Zürich/€😀"}"#;
        let php = r#"{"uuid":"u1","order_id":"o1","status":"failed","error_type":"aml_risk","memo":"Z\u00fcrich\/\u20ac\ud83d\ude00"}"#;
        let body = with_sign(php, &doc_sign("pk", php));
        let w = verify_2328_webhook("pk", body.as_bytes()).unwrap();
        assert_eq!(w.state.status, Status::Failed);
        assert_eq!(w.state.error.as_deref(), Some("aml_risk"));
        let body = with_sign(payload, &doc_sign("pk", payload));
        assert!(verify_2328_webhook("pk", body.as_bytes()).is_ok());
    }

    #[test]
    fn numbers_and_layout_as_received_are_kept() {
        // A float written with more digits than serde_json would print, and a pretty-printed
        // body: only the received text minus `sign` reproduces the signed bytes.
        let signed =
            r#"{"uuid":"u1","order_id":"o1","status":"pending","rate":1.10,"big":1.0e+25}"#;
        let body = format!(
            "{{\n  \"uuid\": \"u1\",\n  \"order_id\": \"o1\",\n  \"status\": \"pending\",\n  \"rate\": 1.10,\n  \"sign\": \"{}\",\n  \"big\": 1.0e+25\n}}",
            doc_sign("pk", signed)
        );
        let w = verify_2328_webhook("pk", body.as_bytes()).unwrap();
        assert_eq!(w.state.status, Status::Pending);
        let altered = body.replace("1.10", "1.11");
        assert_eq!(
            verify_2328_webhook("pk", altered.as_bytes()),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn altered_amount_is_refused() {
        let body = with_sign(PAYLOAD, &doc_sign("pk", PAYLOAD))
            .replace(r#""network_amount":"2.10""#, r#""network_amount":"21.0""#);
        assert_eq!(
            verify_2328_webhook("pk", body.as_bytes()),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn wrong_key_is_refused() {
        let body = with_sign(PAYLOAD, &doc_sign("pk", PAYLOAD));
        assert_eq!(
            verify_2328_webhook("other-key", body.as_bytes()),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn key_order_is_kept_even_when_sign_is_not_last() {
        // `sign` first: a swap-remove would move the last key into its place.
        let sig = doc_sign("pk", PAYLOAD);
        let body = format!("{{\"sign\":\"{sig}\",{}", &PAYLOAD[1..]);
        assert!(verify_2328_webhook("pk", body.as_bytes()).is_ok());
        // The same members in another order is another message.
        let reordered = PAYLOAD.replacen(
            r#""uuid":"019dff1f-0dbd-7277-8d45-271e7775388f","order_id":"4dfdcc84402b1185b71cbe399321533e""#,
            r#""order_id":"4dfdcc84402b1185b71cbe399321533e","uuid":"019dff1f-0dbd-7277-8d45-271e7775388f""#,
            1,
        );
        let body = with_sign(&reordered, &sig);
        assert_eq!(
            verify_2328_webhook("pk", body.as_bytes()),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn malformed_and_unsigned_2328_webhooks() {
        assert!(matches!(
            verify_2328_webhook("pk", b"<html>"),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            verify_2328_webhook("pk", b"[1,2]"),
            Err(WebhookError::Malformed(_))
        ));
        assert_eq!(
            verify_2328_webhook("pk", PAYLOAD.as_bytes()),
            Err(WebhookError::MissingSignature)
        );
        // Genuine but unusable: the error names the field.
        let p = r#"{"uuid":"u","order_id":"o","status":"weird"}"#;
        let body = with_sign(p, &doc_sign("pk", p));
        match verify_2328_webhook("pk", body.as_bytes()) {
            Err(WebhookError::Payload(e)) => {
                assert_eq!(e.to_string(), r#"status: unknown value "weird""#)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn signing_side_round_trips_in_both_encodings() {
        let payload: Map<String, Value> = serde_json::from_str(PAYLOAD).unwrap();
        let body = signed_2328_webhook_body("pk", &payload);
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.starts_with(&PAYLOAD[..PAYLOAD.len() - 1]), "{text}");
        assert_eq!(text, with_sign(PAYLOAD, &doc_sign("pk", PAYLOAD)));
        assert!(verify_2328_webhook("pk", &body).is_ok());
        let php = signed_2328_webhook_body_with("pk", &payload, Encoding2328::PHP_DEFAULT);
        assert!(String::from_utf8(php.clone())
            .unwrap()
            .contains(r#"https:\/\/"#));
        assert!(verify_2328_webhook("pk", &php).is_ok());
        assert!(verify_2328_webhook("nope", &php).is_err());
    }

    #[test]
    fn encodings_match_php() {
        let v: Value = serde_json::from_str(r#"{"a":"x/y é 😀 \u2028 \u0001\t"}"#).unwrap();
        assert_eq!(
            encode_compact(&v, Encoding2328::PLAIN),
            serde_json::to_string(&v).unwrap()
        );
        assert_eq!(
            encode_compact(&v, Encoding2328::PHP_DEFAULT),
            r#"{"a":"x\/y \u00e9 \ud83d\ude00 \u2028 \u0001\t"}"#
        );
    }

    // BlockATM webhooks.

    const BA_BODY: &str = r#"{"custNo":"86000123","bizOrderNo":"PAYOUT_001","id":"1900001","symbol":"USDT","amount":"50.00","status":"SUCCESS","txId":"0xabc","network":"TRON","chainId":"","fromAddress":"TA","toAddress":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","fee":"1","gasAmount":"0.2","type":"PAYOUT","createTime":1742723373000,"contractId":"CONTRACT_001","blockTime":1742723399000}"#;

    fn ba_sign(secret: &str, body: &str, time: &str) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{body}&time={time}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn genuine_blockatm_webhook_is_accepted_and_mapped() {
        let sig = ba_sign("s3", BA_BODY, "1742723400000");
        let w = verify_blockatm_webhook("s3", BA_BODY.as_bytes(), "1742723400000", &sig).unwrap();
        assert_eq!(w.state.order_id, OrderId("PAYOUT_001".into()));
        assert_eq!(w.state.status, Status::Completed);
        assert_eq!(w.state.fee, Some(Decimal::from_str("1.2").unwrap()));
        assert_eq!(w.state.updated_at.as_deref(), Some("1742723399000"));
        assert_eq!(w.contract_id.as_deref(), Some("CONTRACT_001"));
        assert_eq!(
            sign_blockatm_webhook("s3", BA_BODY.as_bytes(), "1742723400000"),
            sig
        );
    }

    #[test]
    fn sorted_parameter_form_is_accepted() {
        let map: Map<String, Value> = serde_json::from_str(BA_BODY).unwrap();
        let sig = sign::sign_blockatm("s3", &sign::blockatm_params_of_json(&map), "1");
        assert!(verify_blockatm_webhook("s3", BA_BODY.as_bytes(), "1", &sig).is_ok());
    }

    #[test]
    fn forged_blockatm_webhooks_are_refused() {
        let sig = ba_sign("s3", BA_BODY, "1742723400000");
        let altered = BA_BODY.replace(r#""amount":"50.00""#, r#""amount":"500.00""#);
        assert_eq!(
            verify_blockatm_webhook("s3", altered.as_bytes(), "1742723400000", &sig),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_blockatm_webhook("other", BA_BODY.as_bytes(), "1742723400000", &sig),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_blockatm_webhook("s3", BA_BODY.as_bytes(), "1742723400001", &sig),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_blockatm_webhook("s3", BA_BODY.as_bytes(), "", &sig),
            Err(WebhookError::MissingHeader("BlockATM-Request-Time"))
        );
        assert_eq!(
            verify_blockatm_webhook("s3", BA_BODY.as_bytes(), "1", " "),
            Err(WebhookError::MissingHeader("BlockATM-Signature-V2"))
        );
    }

    #[test]
    fn blockatm_webhook_echo_carries_contract_symbol_and_the_rest() {
        let sig = ba_sign("s3", BA_BODY, "1742723400000");
        let w = verify_blockatm_webhook("s3", BA_BODY.as_bytes(), "1742723400000", &sig).unwrap();
        let e = &w.state.echo;
        assert_eq!(e.answer, Some(AnswerKind::WebhookBlockAtm));
        assert_eq!(e.order_id.as_deref(), Some("PAYOUT_001"));
        assert_eq!(e.contract_id.as_deref(), Some("CONTRACT_001"));
        assert_eq!(e.currency.as_deref(), Some("USDT"));
        assert_eq!(
            e.to_address.as_deref(),
            Some("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
        );
        assert_eq!(e.amount, Some(Decimal::from_str("50.00").unwrap()));
        assert_eq!(e.network.as_deref(), Some("TRON"));
        assert_eq!(e.created_at.as_deref(), Some("1742723373000"));
    }

    #[test]
    fn webhook_2328_echo_carries_the_result_fields() {
        let body = with_sign(PAYLOAD, &doc_sign("pk", PAYLOAD));
        let w = verify_2328_webhook("pk", body.as_bytes()).unwrap();
        let e = &w.state.echo;
        assert_eq!(e.answer, Some(AnswerKind::Webhook2328));
        assert_eq!(
            e.to_address.as_deref(),
            Some("THauRv5tcucQRohXg8NiyGTk16DX1XQG5x")
        );
        assert_eq!(e.amount, Some(Decimal::from_str("3.00").unwrap()));
        assert_eq!(e.currency.as_deref(), Some("TRX"));
        assert_eq!(e.network.as_deref(), Some("TRX-TRC20"));
        assert_eq!((e.memo.as_deref(), e.memo_carried), (None, true));
        assert_eq!(e.created_at.as_deref(), Some("2026-05-07T00:08:38+03:00"));
    }

    #[test]
    fn repeated_keys_are_refused_even_when_signed() {
        // 2328: signed over exactly these bytes (a last-wins reader would see "completed").
        let p =
            r#"{"uuid":"u1","order_id":"o1","status":"failed","amount":"1","status":"completed"}"#;
        let body = with_sign(p, &doc_sign("pk", p));
        match verify_2328_webhook("pk", body.as_bytes()) {
            Err(e @ WebhookError::DuplicateKey { .. }) => {
                assert_eq!(e.http_status(), 400);
                assert!(e.to_string().contains("\"status\""), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // Nested, and escaped so the bytes differ.
        let p = r#"{"uuid":"u1","order_id":"o1","status":"failed","x":{"a":1,"\u0061":2}}"#;
        let body = with_sign(p, &doc_sign("pk", p));
        assert!(matches!(
            verify_2328_webhook("pk", body.as_bytes()),
            Err(WebhookError::DuplicateKey { .. })
        ));
        // BlockATM: a genuine raw-body signature does not save it.
        let b =
            r#"{"bizOrderNo":"P1","status":"REFUSE","amount":"1","status":"SUCCESS","txId":"0x1"}"#;
        let sig = ba_sign("s3", b, "5");
        match verify_blockatm_webhook("s3", b.as_bytes(), "5", &sig) {
            Err(WebhookError::DuplicateKey { key, .. }) => assert_eq!(key, "status"),
            other => panic!("{other:?}"),
        }
    }

    fn live_at(now_ms: i64, window: Duration) -> BlockAtmWebhookCheck {
        BlockAtmWebhookCheck {
            window: Some(window),
            now: DateTime::from_timestamp_millis(now_ms).unwrap(),
            expected_contract: None,
        }
    }

    #[test]
    fn request_time_must_be_within_the_receive_window() {
        let now = 1_742_723_400_000i64;
        let check = live_at(now, WEBHOOK_RECEIVE_WINDOW);
        let verify = |time: &str, check: &BlockAtmWebhookCheck| {
            let sig = ba_sign("s3", BA_BODY, time);
            verify_blockatm_webhook_with("s3", BA_BODY.as_bytes(), time, &sig, check)
        };
        // Within five minutes either way.
        for d in [0i64, 299_000, -299_000, 300_000, -300_000] {
            assert!(verify(&(now + d).to_string(), &check).is_ok(), "{d}");
        }
        // Outside: a little, and far (2020, 2100).
        for (time, direction) in [
            ((now + 301_000).to_string(), "ahead of"),
            ((now - 301_000).to_string(), "behind"),
            ("1577836800000".to_string(), "behind"),
            ("4102444800000".to_string(), "ahead of"),
        ] {
            match verify(&time, &check) {
                Err(e @ WebhookError::OutsideWindow { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains(direction), "{text}");
                    assert!(text.contains("300 s"), "{text}");
                    assert_eq!(e.http_status(), 401);
                }
                other => panic!("{time}: {other:?}"),
            }
        }
        let e = verify("1577836800000", &check).unwrap_err().to_string();
        assert!(
            e.contains("2020-01-01T00:00:00.000Z") && e.contains("5 years"),
            "{e}"
        );
        // Unreadable times are refused, with or without a window.
        for bad in [
            "abc",
            "1742723400000.5",
            "-1742723400000",
            "1e12",
            "0x1",
            "99999999999999999999",
        ] {
            assert_eq!(
                verify(bad, &check),
                Err(WebhookError::BadTime(bad.into())),
                "{bad}"
            );
            assert_eq!(
                verify(bad, &BlockAtmWebhookCheck::offline()),
                Err(WebhookError::BadTime(bad.into())),
                "{bad}"
            );
        }
        // The window is a parameter.
        let wide = live_at(now, Duration::from_secs(3600));
        assert!(verify(&(now - 3_000_000).to_string(), &wide).is_ok());
        let narrow = live_at(now, Duration::from_secs(1));
        assert!(verify(&(now - 2_000).to_string(), &narrow).is_err());
        // Offline verification has no window.
        assert!(verify("1577836800000", &BlockAtmWebhookCheck::offline()).is_ok());
        // A stale time is refused before the signature is even looked at, and a good time
        // does not excuse a bad signature.
        let stale = (now - 600_000).to_string();
        assert!(matches!(
            verify_blockatm_webhook_with("s3", BA_BODY.as_bytes(), &stale, "00", &check),
            Err(WebhookError::OutsideWindow { .. })
        ));
        assert_eq!(
            verify_blockatm_webhook_with(
                "s3",
                BA_BODY.as_bytes(),
                &now.to_string(),
                &ba_sign("s3", BA_BODY, "1"),
                &check
            ),
            Err(WebhookError::BadSignature)
        );
        let live = BlockAtmWebhookCheck::live(None);
        assert_eq!(live.window, Some(WEBHOOK_RECEIVE_WINDOW));
        let t = Utc::now().timestamp_millis().to_string();
        assert!(verify(&t, &live).is_ok());
    }

    #[test]
    fn expected_contract_is_enforced() {
        let time = "1742723400000";
        let sig = ba_sign("s3", BA_BODY, time);
        let mut check = BlockAtmWebhookCheck::offline();
        check.expected_contract = Some("CONTRACT_001".into());
        assert!(verify_blockatm_webhook_with("s3", BA_BODY.as_bytes(), time, &sig, &check).is_ok());
        check.expected_contract = Some("OTHER".into());
        match verify_blockatm_webhook_with("s3", BA_BODY.as_bytes(), time, &sig, &check) {
            Err(e @ WebhookError::ContractMismatch { .. }) => {
                assert_eq!(
                    e.to_string(),
                    "the webhook is for contract CONTRACT_001, not this account's contract OTHER"
                );
                assert_eq!(e.http_status(), 400);
            }
            other => panic!("{other:?}"),
        }
        let body = r#"{"bizOrderNo":"P2","id":7,"status":"REFUSE","amount":"1"}"#;
        let sig = ba_sign("s3", body, time);
        assert!(matches!(
            verify_blockatm_webhook_with("s3", body.as_bytes(), time, &sig, &check),
            Err(WebhookError::ContractMismatch { .. })
        ));
    }

    #[test]
    fn refused_blockatm_webhook_is_a_failed_state() {
        let body = r#"{"bizOrderNo":"P2","id":7,"status":"REFUSE","amount":"1"}"#;
        let sig = ba_sign("s3", body, "5");
        let w = verify_blockatm_webhook("s3", body.as_bytes(), "5", &sig).unwrap();
        assert_eq!(w.state.status, Status::Failed);
        assert_eq!(w.state.gateway_id.map(|g| g.0).as_deref(), Some("7"));
        let body = r#"{"status":"SUCCESS"}"#;
        let sig = ba_sign("s3", body, "5");
        assert!(matches!(
            verify_blockatm_webhook("s3", body.as_bytes(), "5", &sig),
            Err(WebhookError::Payload(_))
        ));
    }
}
