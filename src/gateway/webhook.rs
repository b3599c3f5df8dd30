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

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::json_fields::{parse_body, DecodeError, Obj};
use super::{raw_json, sign, wire2328, wireblockatm, PayoutState};

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
    /// Genuine, but its content does not map onto a payout state.
    #[error("the webhook payload is not usable: {0}")]
    Payload(DecodeError),
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

/// A verified BlockATM webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookBlockAtm {
    pub state: PayoutState,
    pub symbol: Option<String>,
    pub to_address: Option<String>,
    pub contract_id: Option<String>,
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
    let value = parse_body(raw_body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
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
    let state = wire2328::payout_state(obj, None).map_err(WebhookError::Payload)?;
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
/// values) and maps it; `bizOrderNo` is the order number, `id` the gateway's id.
pub fn verify_blockatm_webhook(
    secret: &str,
    raw_body: &[u8],
    time_header: &str,
    signature_header: &str,
) -> Result<WebhookBlockAtm, WebhookError> {
    let time = time_header.trim();
    let signature = signature_header.trim();
    if time.is_empty() {
        return Err(WebhookError::MissingHeader("BlockATM-Request-Time"));
    }
    if signature.is_empty() {
        return Err(WebhookError::MissingHeader("BlockATM-Signature-V2"));
    }
    let raw_form = sign::verify_blockatm_webhook(secret, raw_body, time, signature);
    let value = parse_body(raw_body).map_err(|e| WebhookError::Malformed(e.to_string()));
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
    Ok(WebhookBlockAtm {
        state,
        symbol: text("symbol")?,
        to_address: text("toAddress")?,
        contract_id: text("contractId")?,
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
