//! The 2328 wire format: the request body exactly as it is signed and sent, and the mapping of
//! the `result` object, the error envelope, `calc` and `balance` answers onto payrun's types.
//! Used by the client (`g2328`) and the webhook verifier (the webhook mirrors `result`).

use serde::Serialize;
use serde_json::Value;

use super::json_fields::{DecodeError, Obj};
use super::{AnswerKind, Balance, Echo, PayoutRequest, PayoutState, Quote};
use crate::model::{GatewayId, OrderId, Status};

/// The body of `POST /v1/payout` and `/v1/payout/calc`, in the documented key order.
/// `memo` is always present (null when absent, as in the documented example); `url_callback`
/// and `from_currency` are left out when absent.
#[derive(Debug, Serialize)]
struct PayoutBody<'a> {
    currency: &'a str,
    network: &'a str,
    /// The Decimal's own text, scale preserved (`1.00`).
    amount: String,
    to_address: &'a str,
    order_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url_callback: Option<&'a str>,
    memo: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_currency: Option<&'a str>,
    fee_option: &'static str,
}

/// Serialises a payout request once: compact, `/` and non-ASCII not escaped. These exact bytes
/// are signed and sent.
pub fn payout_body(req: &PayoutRequest) -> Result<Vec<u8>, serde_json::Error> {
    let body = PayoutBody {
        currency: &req.currency,
        network: &req.network,
        amount: req.amount.to_string(),
        to_address: &req.to_address,
        order_id: req.order_id.as_str(),
        url_callback: req.url_callback.as_deref(),
        memo: req.memo.as_deref(),
        from_currency: req.from_currency.as_deref(),
        fee_option: req.fee_option.as_str(),
    };
    serde_json::to_vec(&body)
}

/// 2328 status words, one to one.
pub fn status_of(word: &str) -> Option<Status> {
    match word {
        "pending" => Some(Status::Pending),
        "completed" => Some(Status::Completed),
        "failed" => Some(Status::Failed),
        "cancelled" => Some(Status::Cancelled),
        _ => None,
    }
}

/// [`payout_state_as`] for a status answer.
pub fn payout_state(obj: Obj<'_>, expected: Option<&OrderId>) -> Result<PayoutState, DecodeError> {
    payout_state_as(obj, AnswerKind::Status2328, expected)
}

/// Maps a `result` object (status answer, create answer or webhook payload, named by
/// `answer`) onto a `PayoutState`, keeping what it echoes of the order in `echo`. With
/// `expected` set, a different `order_id` in the answer is an error (the answer is about
/// another payout); without it, `order_id` is required. `amount` must be a decimal string
/// when present (it is compared with the request).
pub fn payout_state_as(
    obj: Obj<'_>,
    answer: AnswerKind,
    expected: Option<&OrderId>,
) -> Result<PayoutState, DecodeError> {
    let echoed_order = obj.str_opt("order_id")?;
    let order_id = match (echoed_order, expected) {
        (Some(got), Some(want)) if got != want.as_str() => {
            return Err(DecodeError::new(
                obj.path_of("order_id"),
                format!("expected {:?}, found {got:?}", want.as_str()),
            ))
        }
        (Some(got), _) => OrderId(got.to_string()),
        (None, Some(want)) => want.clone(),
        (None, None) => return Err(DecodeError::new(obj.path_of("order_id"), "missing")),
    };
    let uuid = obj.str_req("uuid")?;
    if uuid.trim().is_empty() {
        return Err(DecodeError::new(obj.path_of("uuid"), "empty"));
    }
    let word = obj.str_req("status")?;
    let status = status_of(word).ok_or_else(|| {
        DecodeError::new(obj.path_of("status"), format!("unknown value {word:?}"))
    })?;
    let txid = obj
        .str_opt("txid")?
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string);
    let merchant_amount = obj.decimal_str_opt("merchant_amount")?;
    let network_amount = obj.decimal_str_opt("network_amount")?;
    let fee = match (merchant_amount, network_amount) {
        (Some(m), Some(n)) => m.checked_sub(n),
        _ => None,
    };
    let text = |k: &str| obj.str_opt(k).map(|v| v.map(str::to_string));
    let echo = Echo {
        answer: Some(answer),
        order_id: echoed_order.map(str::to_string),
        to_address: text("to_address")?,
        amount: obj.decimal_str_opt("amount")?,
        currency: text("currency")?,
        network: text("network")?,
        memo: text("memo")?,
        memo_carried: obj.map.contains_key("memo"),
        contract_id: None,
        created_at: text("created_at")?,
    };
    Ok(PayoutState {
        order_id,
        gateway_id: Some(GatewayId(uuid.to_string())),
        status,
        gateway_status: word.to_string(),
        txid,
        merchant_amount,
        network_amount,
        fee,
        error: obj.str_opt("error_type")?.map(str::to_string),
        updated_at: obj.str_opt("updated_at")?.map(str::to_string),
        echo: Box::new(echo),
    })
}

/// A `calc` result.
pub fn quote(obj: Obj<'_>) -> Result<Quote, DecodeError> {
    Ok(Quote {
        merchant_amount: obj.decimal_str_req("merchant_amount")?,
        network_amount: obj.decimal_str_req("network_amount")?,
        total_fee: obj.decimal_str_req("total_fee")?,
        estimate: false,
    })
}

/// A `balance` result: a list of accounts.
pub fn balances(result: &Value) -> Result<Vec<Balance>, DecodeError> {
    let Value::Array(items) = result else {
        return Err(DecodeError::new(
            "result",
            format!(
                "expected an array, found {}",
                super::json_fields::describe(result)
            ),
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("result[{i}]");
        let obj = Obj::new(item, &path)?;
        out.push(Balance {
            currency: obj.str_req("currency_code")?.to_string(),
            balance: obj.decimal_str_req("balance")?,
            locked: obj.decimal_str_opt("locked_balance")?,
            active: obj.str_opt("status")? == Some("active"),
        });
    }
    Ok(out)
}

/// The error envelope `{"state": <non-zero>, "message": "…", "errors": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEnvelope {
    pub state: i64,
    pub message: String,
    /// Field messages, flattened (`amount: too small`).
    pub errors: Vec<(String, String)>,
}

impl ErrorEnvelope {
    /// Reads an error envelope; `None` when `state` is 0 or absent.
    pub fn of(v: &Value) -> Option<ErrorEnvelope> {
        let state = v.get("state")?.as_i64()?;
        if state == 0 {
            return None;
        }
        let message = match v.get("message") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let mut errors = Vec::new();
        if let Some(Value::Object(map)) = v.get("errors") {
            for (field, msgs) in map {
                match msgs {
                    Value::String(s) => errors.push((field.clone(), s.clone())),
                    Value::Array(list) => {
                        for m in list {
                            let text = m.as_str().map(str::to_string).unwrap_or(m.to_string());
                            errors.push((field.clone(), text));
                        }
                    }
                    other => errors.push((field.clone(), other.to_string())),
                }
            }
        }
        Some(ErrorEnvelope {
            state,
            message,
            errors,
        })
    }

    /// Message and field errors in one line.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if !self.message.is_empty() {
            parts.push(self.message.clone());
        }
        for (f, m) in &self.errors {
            parts.push(format!("{f}: {m}"));
        }
        if parts.is_empty() {
            parts.push("no message".into());
        }
        parts.join("; ")
    }

    /// A signature complaint (wrong Payout API key, body altered): the words `sign` or
    /// `signature` in the message, or an `errors.sign` entry.
    pub fn is_signature_complaint(&self) -> bool {
        let mentions = |text: &str| {
            text.split(|c: char| !c.is_alphanumeric())
                .map(str::to_ascii_lowercase)
                .any(|w| w == "sign" || w.starts_with("signature"))
        };
        mentions(&self.message)
            || self
                .errors
                .iter()
                .any(|(f, m)| f.eq_ignore_ascii_case("sign") || mentions(m))
    }
}

/// The envelope's message, for error texts of status-only classifications.
pub fn envelope_message(v: &Value) -> Option<String> {
    ErrorEnvelope::of(v).map(|e| e.text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeeOption;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    /// The documented create request (the 2328 API reference, section "Authentication", test vector).
    pub(crate) fn documented_request() -> PayoutRequest {
        PayoutRequest {
            order_id: OrderId("9ed25264-8be4-439f-acf5-2a8732538d27".into()),
            currency: "TRX".into(),
            network: "TRX-TRC20".into(),
            amount: Decimal::from_str("1.00").unwrap(),
            to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            memo: None,
            fee_option: FeeOption::Deduct,
            from_currency: None,
            remark: None,
            url_callback: Some("https://your-site.com/webhook/payout".into()),
        }
    }

    const DOCUMENTED_BODY: &str = r#"{"currency":"TRX","network":"TRX-TRC20","amount":"1.00","to_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","order_id":"9ed25264-8be4-439f-acf5-2a8732538d27","url_callback":"https://your-site.com/webhook/payout","memo":null,"fee_option":"deduct"}"#;

    #[test]
    fn documented_vector_through_the_serialiser() {
        let body = payout_body(&documented_request()).unwrap();
        assert_eq!(std::str::from_utf8(&body).unwrap(), DOCUMENTED_BODY);
        assert_eq!(
            super::super::sign::sign_2328("test-payout-key", &body),
            "0b77afd8346e2a822a3e56f713b070cb6cb5a9087066e387eeb791696f983354"
        );
    }

    #[test]
    fn optional_fields_and_unescaped_text() {
        let mut req = documented_request();
        req.url_callback = None;
        req.memo = Some("памятка/1".into());
        req.from_currency = Some("USDT".into());
        req.fee_option = FeeOption::Add;
        req.amount = Decimal::from_str("0.000100").unwrap();
        let body = String::from_utf8(payout_body(&req).unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"currency":"TRX","network":"TRX-TRC20","amount":"0.000100","to_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","order_id":"9ed25264-8be4-439f-acf5-2a8732538d27","memo":"памятка/1","from_currency":"USDT","fee_option":"add"}"#
        );
    }

    #[test]
    fn every_status_word() {
        assert_eq!(status_of("pending"), Some(Status::Pending));
        assert_eq!(status_of("completed"), Some(Status::Completed));
        assert_eq!(status_of("failed"), Some(Status::Failed));
        assert_eq!(status_of("cancelled"), Some(Status::Cancelled));
        assert_eq!(status_of("Completed"), None);
        assert_eq!(status_of("canceled"), None);
        assert_eq!(status_of(""), None);
    }

    fn result_of(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn documented_create_answer_maps() {
        let v = result_of(
            r#"{"uuid":"019dea62-1727-72aa-ac2c-eaf2ade193ef","order_id":"9ed25264-8be4-439f-acf5-2a8732538d27","status":"pending","currency":"TRX","network":"TRX-TRC20","amount":"1.00","merchant_amount":"1","network_amount":"0.89","amount_usd":"0.33","to_address":"TR7NHq","memo":null,"txid":null,"block_number":null,"error_type":null,"created_at":"2026-05-02T23:29:50+03:00","updated_at":"2026-05-02T23:29:50+03:00"}"#,
        );
        let want = OrderId("9ed25264-8be4-439f-acf5-2a8732538d27".into());
        let s = payout_state(Obj::new(&v, "result").unwrap(), Some(&want)).unwrap();
        assert_eq!(s.status, Status::Pending);
        assert_eq!(s.gateway_status, "pending");
        assert_eq!(
            s.gateway_id,
            Some(GatewayId("019dea62-1727-72aa-ac2c-eaf2ade193ef".into()))
        );
        assert_eq!(s.fee, Some(Decimal::from_str("0.11").unwrap()));
        assert_eq!(s.txid, None);
        assert_eq!(s.error, None);
        assert_eq!(s.updated_at.as_deref(), Some("2026-05-02T23:29:50+03:00"));
    }

    #[test]
    fn the_echo_keeps_what_the_answer_said() {
        let v = result_of(
            r#"{"uuid":"u","order_id":"o1","status":"pending","currency":"USDT","network":"TON","amount":"2.50","merchant_amount":"3","network_amount":"2","to_address":"EQabc","memo":"42","created_at":"2026-05-02T23:29:50+03:00"}"#,
        );
        let s = payout_state_as(
            Obj::new(&v, "result").unwrap(),
            AnswerKind::Create2328,
            Some(&OrderId("o1".into())),
        )
        .unwrap();
        let e = &s.echo;
        assert_eq!(e.answer, Some(AnswerKind::Create2328));
        assert_eq!(e.order_id.as_deref(), Some("o1"));
        assert_eq!(e.amount, Some(Decimal::from_str("2.5").unwrap()));
        assert_eq!(e.currency.as_deref(), Some("USDT"));
        assert_eq!(e.network.as_deref(), Some("TON"));
        assert_eq!(e.to_address.as_deref(), Some("EQabc"));
        assert_eq!((e.memo.as_deref(), e.memo_carried), (Some("42"), true));
        assert_eq!(e.created_at.as_deref(), Some("2026-05-02T23:29:50+03:00"));
        // Nothing echoed: all None, and the order id falls back to the expected one.
        let v = result_of(r#"{"uuid":"u","status":"pending"}"#);
        let s = payout_state(Obj::new(&v, "result").unwrap(), Some(&OrderId("o1".into()))).unwrap();
        assert_eq!(s.order_id, OrderId("o1".into()));
        assert_eq!(s.echo.order_id, None);
        assert!(!s.echo.memo_carried);
        assert_eq!(s.echo.answer, Some(AnswerKind::Status2328));
        // An amount that is not a decimal string does not decode.
        let v = result_of(r#"{"uuid":"u","order_id":"o1","status":"pending","amount":"x"}"#);
        assert_eq!(
            payout_state(Obj::new(&v, "result").unwrap(), None)
                .unwrap_err()
                .to_string(),
            r#"result.amount: expected a decimal, found string "x""#
        );
    }

    #[test]
    fn failed_with_error_type_and_no_amounts() {
        let v =
            result_of(r#"{"uuid":"u1","order_id":"o1","status":"failed","error_type":"aml_risk"}"#);
        let s = payout_state(Obj::new(&v, "result").unwrap(), None).unwrap();
        assert_eq!(s.status, Status::Failed);
        assert_eq!(s.error.as_deref(), Some("aml_risk"));
        assert_eq!(s.fee, None);
    }

    #[test]
    fn bad_results_name_the_field() {
        let want = OrderId("o1".into());
        let cases = [
            (
                r#"{"uuid":"u","order_id":"o1","status":"weird"}"#,
                r#"result.status: unknown value "weird""#,
            ),
            (
                r#"{"uuid":"u","order_id":"o1","status":7}"#,
                "result.status: expected a string, found number 7",
            ),
            (
                r#"{"order_id":"o1","status":"pending"}"#,
                "result.uuid: missing",
            ),
            (
                r#"{"uuid":"u","order_id":"o2","status":"pending"}"#,
                r#"result.order_id: expected "o1", found "o2""#,
            ),
            (
                r#"{"uuid":"u","order_id":"o1","status":"pending","merchant_amount":1}"#,
                "result.merchant_amount: expected a string, found number 1",
            ),
        ];
        for (json, msg) in cases {
            let v = result_of(json);
            let e = payout_state(Obj::new(&v, "result").unwrap(), Some(&want)).unwrap_err();
            assert_eq!(e.to_string(), msg);
        }
    }

    #[test]
    fn documented_calc_answer_maps() {
        let v = result_of(
            r#"{"currency":"USDT","network":"TRX-TRC20","amount":"100","fee_option":"add","merchant_amount":"103.00000000","network_amount":"100","total_fee":"3.00000000","total_fee_usd":"3.00000000"}"#,
        );
        let q = quote(Obj::new(&v, "result").unwrap()).unwrap();
        assert_eq!(q.total_fee, Decimal::from_str("3").unwrap());
        assert_eq!(q.merchant_amount.to_string(), "103.00000000");
        assert!(!q.estimate);
    }

    #[test]
    fn balance_list() {
        let v = result_of(
            r#"[{"uuid":"a","status":"active","currency_code":"USDT","balance":"10.5","balance_usd":"10.5","locked_balance":"1"},{"uuid":"b","status":"disabled","currency_code":"TRX","balance":"0","balance_usd":"0","locked_balance":null}]"#,
        );
        let b = balances(&v).unwrap();
        assert_eq!(b.len(), 2);
        assert!(b[0].active && !b[1].active);
        assert_eq!(b[0].locked, Some(Decimal::from_str("1").unwrap()));
        assert_eq!(
            balances(&result_of(r#"[{"status":"active"}]"#))
                .unwrap_err()
                .to_string(),
            "result[0].currency_code: missing"
        );
    }

    #[test]
    fn error_envelopes() {
        let e = ErrorEnvelope::of(&result_of(
            r#"{"state":1,"message":"Validation error","errors":{"amount":["The amount is too small."]}}"#,
        ))
        .unwrap();
        assert_eq!(
            e.text(),
            "Validation error; amount: The amount is too small."
        );
        assert!(!e.is_signature_complaint());
        assert!(
            ErrorEnvelope::of(&result_of(r#"{"state":1,"message":"Invalid sign"}"#))
                .unwrap()
                .is_signature_complaint()
        );
        assert!(
            ErrorEnvelope::of(&result_of(r#"{"state":2,"message":"Signature mismatch"}"#))
                .unwrap()
                .is_signature_complaint()
        );
        assert!(
            ErrorEnvelope::of(&result_of(r#"{"state":1,"errors":{"sign":"bad"}}"#))
                .unwrap()
                .is_signature_complaint()
        );
        // "assigned" and "design" are not signature complaints.
        assert!(!ErrorEnvelope::of(&result_of(
            r#"{"state":1,"message":"address not assigned"}"#
        ))
        .unwrap()
        .is_signature_complaint());
        assert_eq!(
            ErrorEnvelope::of(&result_of(r#"{"state":0,"result":{}}"#)),
            None
        );
    }
}
