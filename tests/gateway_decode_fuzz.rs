//! Property tests: no byte string or JSON value, however odd, makes the gateway decoders or the
//! webhook verifiers panic; each returns a typed answer or a typed error.

use proptest::prelude::*;
use serde_json::{Map, Value};

use payrun::gateway::json_fields::{parse_body, Obj};
use payrun::gateway::{webhook, wire2328, wireblockatm};
use payrun::model::OrderId;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop_oneof![
            Just("pending".to_string()),
            Just("completed".to_string()),
            Just("SUCCESS".to_string()),
            Just("REFUSE".to_string()),
            Just("1.00".to_string()),
            ".{0,12}".prop_map(|s: String| s),
        ]
        .prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("uuid"),
        Just("order_id"),
        Just("status"),
        Just("txid"),
        Just("merchant_amount"),
        Just("network_amount"),
        Just("orderNo"),
        Just("bizOrderNo"),
        Just("txId"),
        Just("fee"),
        Just("gasAmount"),
        Just("amount"),
        Just("code"),
        Just("success"),
        Just("data"),
        Just("state"),
        Just("result"),
        Just("orders"),
        Just("sign"),
        Just("message"),
        Just("errors"),
        Just("msg"),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..8).prop_map(|pairs| {
                let mut m = Map::new();
                for (k, v) in pairs {
                    m.insert(k.to_string(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

fn exercise(v: &Value) {
    let _ = wire2328::ErrorEnvelope::of(v);
    let _ = wire2328::envelope_message(v);
    let _ = wireblockatm::envelope(v);
    let _ = wireblockatm::envelope_message(v);
    let want = OrderId("o1".into());
    if let Ok(o) = Obj::new(v, "result") {
        let _ = wire2328::payout_state(o, Some(&want));
        let _ = wire2328::payout_state(o, None);
        let _ = wire2328::quote(o);
        let _ = wireblockatm::payout_state(o, wireblockatm::DETAIL, Some(&want));
        let _ = wireblockatm::payout_state(o, wireblockatm::WEBHOOK, None);
        let _ = wireblockatm::batch_outcomes(o, std::slice::from_ref(&want), "t");
    }
    let _ = wire2328::balances(v);
}

proptest! {
    #[test]
    fn decoders_never_panic_on_json(v in json_value()) {
        exercise(&v);
        if let Value::Object(m) = &v {
            let body = webhook::signed_2328_webhook_body("k", m);
            prop_assert!(webhook::verify_2328_webhook("k", &body).is_ok()
                || matches!(webhook::verify_2328_webhook("k", &body), Err(webhook::WebhookError::Payload(_))));
            prop_assert!(webhook::verify_2328_webhook("other", &body).is_err());
        }
    }

    #[test]
    fn decoders_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(v) = parse_body(&bytes) {
            exercise(&v);
        }
        let _ = webhook::verify_2328_webhook("k", &bytes);
        let _ = webhook::verify_blockatm_webhook("k", &bytes, "1", "00");
    }
}
