//! Request and webhook signatures for both gateways, as pure functions over bytes.
//!
//! - 2328: `hex(HMAC-SHA256(payout_key, base64(body)))`, GET requests sign the empty body.
//! - BlockATM V2: `hex(HMAC-SHA256(secret, "k1=v1&k2=v2…&time=<ms>"))` over the top-level
//!   parameters sorted by key, raw (not URL-encoded) values, absent/null values left out,
//!   nested values as their compact JSON text.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time check of a hex HMAC-SHA256 signature over `message`.
pub fn verify_hex(key: &[u8], message: &[u8], signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.verify_slice(&sig).is_ok()
}

/// 2328: the `sign` header for the exact body bytes sent (empty for GET).
pub fn sign_2328(payout_key: &str, body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    hmac_hex(payout_key.as_bytes(), b64.as_bytes())
}

/// 2328: checks a `sign` value against the body bytes, in constant time.
pub fn verify_2328(payout_key: &str, body: &[u8], sign: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    verify_hex(payout_key.as_bytes(), b64.as_bytes(), sign)
}

/// Whether BlockATM parameter values are URL-encoded before signing. The public docs disagree
/// (the BlockATM API reference, section "Authentication", leaves it open); payrun signs raw
/// values. One switch, so it can be flipped.
pub const BLOCKATM_URL_ENCODE_VALUES: bool = false;

/// BlockATM: the string to sign for the given top-level parameters and request time.
/// `params` are (key, value) with the value as its text: strings raw, numbers as written,
/// nested arrays/objects as their compact JSON; `None` values are left out.
pub fn blockatm_string_to_sign(params: &[(&str, Option<String>)], time_ms: &str) -> String {
    let mut present: Vec<(&str, &str)> = params
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    present.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (k, v) in present {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        if BLOCKATM_URL_ENCODE_VALUES {
            out.push_str(&super::http::percent_encode(v));
        } else {
            out.push_str(v);
        }
    }
    if !out.is_empty() {
        out.push('&');
    }
    out.push_str("time=");
    out.push_str(time_ms);
    out
}

/// The value text of one JSON value for the BlockATM string to sign: strings raw, null absent,
/// everything else as compact JSON.
pub fn blockatm_param_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// BlockATM: the top-level parameters of a JSON object body, ready for signing.
pub fn blockatm_params_of_json(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(&str, Option<String>)> {
    body.iter()
        .map(|(k, v)| (k.as_str(), blockatm_param_text(v)))
        .collect()
}

/// BlockATM: the `BlockATM-Signature-V2` value.
pub fn sign_blockatm(secret: &str, params: &[(&str, Option<String>)], time_ms: &str) -> String {
    hmac_hex(
        secret.as_bytes(),
        blockatm_string_to_sign(params, time_ms).as_bytes(),
    )
}

/// BlockATM: constant-time check of a request signature.
pub fn verify_blockatm(
    secret: &str,
    params: &[(&str, Option<String>)],
    time_ms: &str,
    sig: &str,
) -> bool {
    verify_hex(
        secret.as_bytes(),
        blockatm_string_to_sign(params, time_ms).as_bytes(),
        sig,
    )
}

/// BlockATM webhook: `hex(HMAC-SHA256(secret, raw_body + "&time=" + time))`.
pub fn sign_blockatm_webhook(secret: &str, raw_body: &[u8], time_ms: &str) -> String {
    let mut msg = raw_body.to_vec();
    msg.extend_from_slice(b"&time=");
    msg.extend_from_slice(time_ms.as_bytes());
    hmac_hex(secret.as_bytes(), &msg)
}

/// BlockATM webhook check, constant time.
pub fn verify_blockatm_webhook(secret: &str, raw_body: &[u8], time_ms: &str, sig: &str) -> bool {
    let mut msg = raw_body.to_vec();
    msg.extend_from_slice(b"&time=");
    msg.extend_from_slice(time_ms.as_bytes());
    verify_hex(secret.as_bytes(), &msg, sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY_2328: &str = r#"{"currency":"TRX","network":"TRX-TRC20","amount":"1.00","to_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","order_id":"9ed25264-8be4-439f-acf5-2a8732538d27","url_callback":"https://your-site.com/webhook/payout","memo":null,"fee_option":"deduct"}"#;

    #[test]
    fn vector_2328_create() {
        assert_eq!(
            sign_2328("test-payout-key", BODY_2328.as_bytes()),
            "0b77afd8346e2a822a3e56f713b070cb6cb5a9087066e387eeb791696f983354"
        );
        assert!(verify_2328(
            "test-payout-key",
            BODY_2328.as_bytes(),
            "0b77afd8346e2a822a3e56f713b070cb6cb5a9087066e387eeb791696f983354"
        ));
        assert!(!verify_2328(
            "other-key",
            BODY_2328.as_bytes(),
            "0b77afd8346e2a822a3e56f713b070cb6cb5a9087066e387eeb791696f983354"
        ));
    }

    #[test]
    fn vector_2328_empty_body() {
        assert_eq!(
            sign_2328("test-payout-key", b""),
            "64d12f04f4e1d142a8497a1bcd4dc1781ca9af5e1a2facd26c3282f2e8517c4e"
        );
    }

    fn params_of(json: &str) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn vector_blockatm_create() {
        let body = params_of(
            r#"{"contractId":"CONTRACT_001","orderNo":"PAYOUT_20250401_001","recipient":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"100.00","symbol":"USDT","payoutType":1,"remark":"User withdrawal"}"#,
        );
        let params = blockatm_params_of_json(&body);
        assert_eq!(
            blockatm_string_to_sign(&params, "1742723373000"),
            "amount=100.00&contractId=CONTRACT_001&orderNo=PAYOUT_20250401_001&payoutType=1&recipient=TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t&remark=User withdrawal&symbol=USDT&time=1742723373000"
        );
        assert_eq!(
            sign_blockatm("test-secret", &params, "1742723373000"),
            "cd0c8676a9c36a896fd53141810c60f6e2eeedb450f145ba047c452cc0a10265"
        );
    }

    #[test]
    fn vector_blockatm_batch() {
        let body = params_of(
            r#"{"contractId":"CONTRACT_001","payoutType":1,"orders":[{"orderNo":"PAYOUT_001","recipient":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"50.00","symbol":"USDT"},{"orderNo":"PAYOUT_002","recipient":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"30.00","symbol":"USDT"}]}"#,
        );
        let params = blockatm_params_of_json(&body);
        assert_eq!(
            sign_blockatm("test-secret", &params, "1742723373000"),
            "2035cd8825eff1d7b5d189192fdc5d26498d90db3fabb672f64b1b74ef6ebb1b"
        );
    }

    #[test]
    fn vector_blockatm_detail() {
        let params = [("orderNo", Some("PAYOUT_001".to_string()))];
        assert_eq!(
            sign_blockatm("test-secret", &params, "1742723373000"),
            "639c946851101149961ea504d55bb5d53c16b8df0a12bafad5724527c48e0f56"
        );
        assert!(verify_blockatm(
            "test-secret",
            &params,
            "1742723373000",
            "639c946851101149961ea504d55bb5d53c16b8df0a12bafad5724527c48e0f56"
        ));
        assert!(!verify_blockatm(
            "test-secret",
            &params,
            "1742723373001",
            "639c946851101149961ea504d55bb5d53c16b8df0a12bafad5724527c48e0f56"
        ));
    }

    #[test]
    fn bad_hex_never_verifies() {
        assert!(!verify_hex(b"k", b"m", "zz"));
        assert!(!verify_hex(b"k", b"m", ""));
    }
}
