//! The BlockATM wire format: request bodies built once from which both the bytes sent and the
//! signed parameters are derived (so they cannot disagree), the response envelope, the error
//! code table, and the mapping of create / batch / detail / webhook objects onto `PayoutState`.

use serde::Serialize;
use serde_json::Value;

use super::http::CallKind;
use super::json_fields::{DecodeError, Obj};
use super::{GatewayError, PayoutRequest, PayoutState};
use crate::model::{GatewayId, OrderId, Status};

/// BlockATM `payoutType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayoutType {
    /// 1: paid from the contract balance (default).
    Balance = 1,
    /// 2: paid from an authorising address (`fromAddress`).
    Allowance = 2,
}

impl PayoutType {
    pub fn code(self) -> i64 {
        self as i64
    }
    /// `balance` / `allowance` / `1` / `2`.
    pub fn parse(s: &str) -> Option<PayoutType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "balance" | "1" => Some(PayoutType::Balance),
            "allowance" | "2" => Some(PayoutType::Allowance),
            _ => None,
        }
    }
}

/// One top-level body member: its JSON text (what is sent) and its signing text (raw string
/// value, number as written, nested value as the same compact JSON that is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    key: &'static str,
    json: String,
    signed: String,
}

/// A JSON object body, built member by member.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignedBody {
    members: Vec<Member>,
}

impl SignedBody {
    fn string(mut self, key: &'static str, value: &str) -> Result<Self, serde_json::Error> {
        self.members.push(Member {
            key,
            json: serde_json::to_string(value)?,
            signed: value.to_string(),
        });
        Ok(self)
    }

    fn int(mut self, key: &'static str, value: i64) -> Self {
        self.members.push(Member {
            key,
            json: value.to_string(),
            signed: value.to_string(),
        });
        self
    }

    fn nested<T: Serialize>(
        mut self,
        key: &'static str,
        value: &T,
    ) -> Result<Self, serde_json::Error> {
        let json = serde_json::to_string(value)?;
        self.members.push(Member {
            key,
            signed: json.clone(),
            json,
        });
        Ok(self)
    }

    /// The exact bytes sent.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = String::from("{");
        for (i, m) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(m.key);
            out.push_str("\":");
            out.push_str(&m.json);
        }
        out.push('}');
        out.into_bytes()
    }

    /// The top-level parameters for `sign::sign_blockatm`.
    pub fn params(&self) -> Vec<(&str, Option<String>)> {
        self.members
            .iter()
            .map(|m| (m.key, Some(m.signed.clone())))
            .collect()
    }
}

/// The body of `POST /order/api/v2/payout/order`. `from_address` is sent only with
/// `Allowance`; `remark` only when present.
pub fn create_body(
    req: &PayoutRequest,
    contract_id: &str,
    payout_type: PayoutType,
    from_address: Option<&str>,
) -> Result<SignedBody, serde_json::Error> {
    let mut body = SignedBody::default()
        .string("contractId", contract_id)?
        .string("orderNo", req.order_id.as_str())?
        .string("recipient", &req.to_address)?
        .string("amount", &req.amount.to_string())?
        .string("symbol", &req.currency)?
        .int("payoutType", payout_type.code());
    if let (PayoutType::Allowance, Some(from)) = (payout_type, from_address) {
        body = body.string("fromAddress", from)?;
    }
    if let Some(remark) = &req.remark {
        body = body.string("remark", remark)?;
    }
    Ok(body)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchOrder<'a> {
    order_no: &'a str,
    recipient: &'a str,
    amount: String,
    symbol: &'a str,
}

/// The body of `POST /order/api/v2/payout/batch`.
pub fn batch_body(
    reqs: &[PayoutRequest],
    contract_id: &str,
    payout_type: PayoutType,
) -> Result<SignedBody, serde_json::Error> {
    let orders: Vec<BatchOrder<'_>> = reqs
        .iter()
        .map(|r| BatchOrder {
            order_no: r.order_id.as_str(),
            recipient: &r.to_address,
            amount: r.amount.to_string(),
            symbol: &r.currency,
        })
        .collect();
    SignedBody::default()
        .string("contractId", contract_id)?
        .int("payoutType", payout_type.code())
        .nested("orders", &orders)
}

/// The decoded envelope `{"code":"200","success":true,"data":…}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope<'a> {
    Success(Option<&'a Value>),
    Failure { code: String, msg: String },
}

/// Reads the envelope. `success` decides; when it is absent, `code == "200"` does. A success
/// flag contradicting a non-200 code is undecodable.
pub fn envelope(v: &Value) -> Result<Envelope<'_>, DecodeError> {
    let root = Obj::new(v, "")?;
    let code = root.text_opt("code")?;
    let msg = match root.get("msg") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let success = match root.get("success") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(DecodeError::new(
                "success",
                format!(
                    "expected a boolean, found {}",
                    super::json_fields::describe(other)
                ),
            ))
        }
    };
    match (success, code) {
        (Some(true), Some(c)) if c != "200" => Err(DecodeError::new(
            "code",
            format!("{c:?} contradicts success=true"),
        )),
        (Some(true), _) => Ok(Envelope::Success(root.get("data"))),
        (None, Some(c)) if c == "200" => Ok(Envelope::Success(root.get("data"))),
        (_, Some(code)) => Ok(Envelope::Failure { code, msg }),
        (Some(false), None) => Err(DecodeError::new("code", "missing on a failure")),
        (None, None) => Err(DecodeError::new("success", "missing")),
    }
}

/// The envelope's message, for error texts of status-only classifications.
pub fn envelope_message(v: &Value) -> Option<String> {
    match envelope(v).ok()? {
        Envelope::Failure { code, msg } => Some(format!("{code}: {msg}")),
        Envelope::Success(_) => None,
    }
}

/// Maps a documented error code onto what the caller must do.
///
/// - 000101/000107/000113/000114 (system error, busy, unavailable, maintenance) → `Unavailable`.
/// - 000106/000201 (duplicate request / data already exists) → `Duplicate`: resolve by lookup.
/// - 000301 (already paid) → `Duplicate` too: the order exists and was paid; refusing the row
///   would mark a paid row failed.
/// - 000202 (data does not exist) → `NotFound` on a read; on a create it is a refusal of
///   something the order references (contract, token), so `Rejected`.
/// - 000108/000109/000110/000112/000306 (token, session, permission, API key, signature) →
///   `Auth`.
/// - the documented validation, business, payment and contract codes (000102–000105,
///   000203–000208, 000302–000308 but 000306, 000401–000405) → `Rejected` with code and
///   message (on a read the caller turns that into `Ambiguous`, see `http`).
/// - anything else, including undocumented codes inside those families: `Ambiguous`. On a
///   create an unknown code may stand for an order that was applied; only the documented
///   refusals are known to be safe to treat as final.
pub fn error_for_code(code: &str, msg: &str, kind: CallKind, what: &str) -> GatewayError {
    let message = format!("{what}: {}", super::http::clip(msg));
    let code_s = code.to_string();
    match code {
        "000101" | "000107" | "000113" | "000114" => GatewayError::Unavailable {
            message: format!("{code}: {message}"),
        },
        "000106" | "000201" | "000301" => GatewayError::Duplicate {
            code: code_s,
            message,
        },
        "000202" if kind == CallKind::Read => GatewayError::NotFound {
            code: code_s,
            message,
        },
        "000108" | "000109" | "000110" | "000112" | "000306" => GatewayError::Auth {
            message: format!("{code}: {message}"),
        },
        "000102" | "000103" | "000104" | "000105" | "000202" | "000203" | "000204" | "000205"
        | "000206" | "000207" | "000208" | "000302" | "000303" | "000304" | "000305" | "000307"
        | "000308" | "000401" | "000402" | "000403" | "000404" | "000405" => {
            GatewayError::Rejected {
                code: code_s,
                message: super::http::clip(msg),
            }
        }
        _ => GatewayError::Ambiguous {
            message: format!("unknown BlockATM error code {code:?}: {message}"),
        },
    }
}

/// payrun's status for a BlockATM status word: `SUCCESS` with a txId → completed; `SUCCESS`
/// without one, `PENDING` or any other word → pending; `REFUSE` → failed.
pub fn status_of(word: &str, txid: Option<&str>) -> Status {
    let has_tx = txid.is_some_and(|t| !t.trim().is_empty());
    if word.eq_ignore_ascii_case("SUCCESS") {
        if has_tx {
            Status::Completed
        } else {
            Status::Pending
        }
    } else if word.eq_ignore_ascii_case("REFUSE") {
        Status::Failed
    } else {
        Status::Pending
    }
}

/// Which member names an object uses (detail and create answers, batch items, webhooks).
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub order_no: &'static str,
    pub gateway_id: &'static str,
    /// Candidates for `updated_at`, first present wins.
    pub times: &'static [&'static str],
}

pub const DETAIL: Names = Names {
    order_no: "orderNo",
    gateway_id: "orderId",
    times: &["updateTime", "createTime"],
};
pub const WEBHOOK: Names = Names {
    order_no: "bizOrderNo",
    gateway_id: "id",
    times: &["blockTime", "createTime"],
};

/// Maps one BlockATM order object. With `expected`, a different order number is an error;
/// without it the order number is required. Field types are undocumented, so ids, times and
/// amounts are accepted as strings or numbers.
pub fn payout_state(
    obj: Obj<'_>,
    names: Names,
    expected: Option<&OrderId>,
) -> Result<PayoutState, DecodeError> {
    let order_id = match (obj.text_opt(names.order_no)?, expected) {
        (Some(got), Some(want)) if got != want.as_str() => {
            return Err(DecodeError::new(
                obj.path_of(names.order_no),
                format!("expected {:?}, found {got:?}", want.as_str()),
            ))
        }
        (Some(got), _) => OrderId(got),
        (None, Some(want)) => want.clone(),
        (None, None) => return Err(DecodeError::new(obj.path_of(names.order_no), "missing")),
    };
    let word = obj.str_req("status")?;
    let txid = obj
        .str_opt("txId")?
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string);
    let status = status_of(word, txid.as_deref());
    let fee = match (
        obj.decimal_lenient_opt("fee")?,
        obj.decimal_lenient_opt("gasAmount")?,
    ) {
        (Some(f), Some(g)) => f.checked_add(g),
        (f, g) => f.or(g),
    };
    let mut updated_at = None;
    for key in names.times {
        if let Some(t) = obj.text_opt(key)? {
            updated_at = Some(t);
            break;
        }
    }
    let error = if status == Status::Failed {
        Some(refusal_text(obj, word)?)
    } else {
        None
    };
    let network_amount = obj.decimal_lenient_opt("amount")?;
    // What the contract paid out: the amount sent plus the fees charged so far (gas arrives
    // with the final status).
    let merchant_amount = match (network_amount, fee) {
        (Some(a), Some(f)) => a.checked_add(f),
        _ => None,
    };
    Ok(PayoutState {
        order_id,
        gateway_id: obj
            .text_opt(names.gateway_id)?
            .filter(|s| !s.is_empty())
            .map(GatewayId),
        status,
        gateway_status: word.to_string(),
        txid,
        merchant_amount,
        network_amount,
        fee,
        error,
        updated_at,
    })
}

/// The refusal's code and message when the object carries them, else the status word.
fn refusal_text(obj: Obj<'_>, word: &str) -> Result<String, DecodeError> {
    let code = match obj.text_opt("errorCode")? {
        Some(c) => Some(c),
        None => obj.text_opt("code")?,
    };
    let mut msg = None;
    for key in ["errorMsg", "msg", "message", "reason"] {
        if let Some(m) = obj.get(key) {
            msg = Some(m.as_str().map(str::to_string).unwrap_or(m.to_string()));
            break;
        }
    }
    Ok(match (code, msg) {
        (Some(c), Some(m)) => format!("{word} {c}: {m}"),
        (Some(c), None) => format!("{word} {c}"),
        (None, Some(m)) => format!("{word}: {m}"),
        (None, None) => word.to_string(),
    })
}

/// Maps a batch answer's `data` onto one outcome per requested order, in request order.
///
/// A per-order item with a status is mapped like a create answer (`REFUSE` → failed state). An
/// item without a status but with an error code is mapped through [`error_for_code`]. A
/// requested order with no item in the answer, or an item that does not decode, is `Ambiguous`
/// for that order only.
pub fn batch_outcomes(
    data: Obj<'_>,
    requested: &[OrderId],
    what: &str,
) -> Result<Vec<super::BatchItem>, DecodeError> {
    let items = data.array_req("orders")?;
    let mut by_order: std::collections::HashMap<String, Result<PayoutState, GatewayError>> =
        std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("data.orders[{i}]");
        let Ok(obj) = Obj::new(item, &path) else {
            continue;
        };
        let Ok(Some(order_no)) = obj.text_opt("orderNo") else {
            continue;
        };
        let outcome = batch_item(obj, &order_no, what);
        by_order.entry(order_no).or_insert(outcome);
    }
    Ok(requested
        .iter()
        .map(|id| {
            let outcome = by_order.remove(id.as_str()).unwrap_or_else(|| {
                Err(GatewayError::Ambiguous {
                    message: format!("{what}: data.orders: no result for orderNo {id:?}"),
                })
            });
            (id.clone(), outcome)
        })
        .collect())
}

fn batch_item(obj: Obj<'_>, order_no: &str, what: &str) -> Result<PayoutState, GatewayError> {
    let decode = |e: DecodeError| GatewayError::Ambiguous {
        message: format!("{what}: unusable answer: {e}"),
    };
    let has_status = obj.get("status").is_some();
    if !has_status {
        let code = obj.text_opt("errorCode").map_err(decode)?;
        let code = match code {
            Some(c) => Some(c),
            None => obj.text_opt("code").map_err(decode)?,
        };
        if let Some(code) = code.filter(|c| c != "200") {
            let msg = ["errorMsg", "msg", "message"]
                .iter()
                .find_map(|k| obj.get(k))
                .map(|m| m.as_str().map(str::to_string).unwrap_or(m.to_string()))
                .unwrap_or_default();
            return Err(error_for_code(&code, &msg, CallKind::Create, what));
        }
    }
    let expected = OrderId(order_no.to_string());
    payout_state(obj, DETAIL, Some(&expected)).map_err(decode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::sign;
    use crate::model::FeeOption;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn req(order: &str, amount: &str, remark: Option<&str>) -> PayoutRequest {
        PayoutRequest {
            order_id: OrderId(order.into()),
            currency: "USDT".into(),
            network: "TRX-TRC20".into(),
            amount: Decimal::from_str(amount).unwrap(),
            to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            memo: None,
            fee_option: FeeOption::Deduct,
            from_currency: None,
            remark: remark.map(str::to_string),
            url_callback: None,
        }
    }

    const TIME: &str = "1742723373000";

    #[test]
    fn create_vector_through_the_body_builder() {
        let body = create_body(
            &req("PAYOUT_20250401_001", "100.00", Some("User withdrawal")),
            "CONTRACT_001",
            PayoutType::Balance,
            Some("ignored-for-balance"),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(body.bytes()).unwrap(),
            r#"{"contractId":"CONTRACT_001","orderNo":"PAYOUT_20250401_001","recipient":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"100.00","symbol":"USDT","payoutType":1,"remark":"User withdrawal"}"#
        );
        assert_eq!(
            sign::sign_blockatm("test-secret", &body.params(), TIME),
            "cd0c8676a9c36a896fd53141810c60f6e2eeedb450f145ba047c452cc0a10265"
        );
    }

    #[test]
    fn batch_vector_through_the_body_builder() {
        let body = batch_body(
            &[
                req("PAYOUT_001", "50.00", None),
                req("PAYOUT_002", "30.00", None),
            ],
            "CONTRACT_001",
            PayoutType::Balance,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(body.bytes()).unwrap(),
            r#"{"contractId":"CONTRACT_001","payoutType":1,"orders":[{"orderNo":"PAYOUT_001","recipient":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"50.00","symbol":"USDT"},{"orderNo":"PAYOUT_002","recipient":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"30.00","symbol":"USDT"}]}"#
        );
        assert_eq!(
            sign::sign_blockatm("test-secret", &body.params(), TIME),
            "2035cd8825eff1d7b5d189192fdc5d26498d90db3fabb672f64b1b74ef6ebb1b"
        );
        // The signed parameters agree with a re-parse of the bytes sent.
        let reparsed: serde_json::Map<String, Value> =
            serde_json::from_slice(&body.bytes()).unwrap();
        assert_eq!(
            sign::sign_blockatm(
                "test-secret",
                &sign::blockatm_params_of_json(&reparsed),
                TIME
            ),
            sign::sign_blockatm("test-secret", &body.params(), TIME)
        );
    }

    #[test]
    fn allowance_sends_from_address() {
        let body = create_body(
            &req("A1", "1", None),
            "C",
            PayoutType::Allowance,
            Some("0xabc"),
        )
        .unwrap();
        let text = String::from_utf8(body.bytes()).unwrap();
        assert!(
            text.contains(r#""payoutType":2,"fromAddress":"0xabc""#),
            "{text}"
        );
        let s = sign::blockatm_string_to_sign(&body.params(), TIME);
        assert!(s.contains("fromAddress=0xabc&"), "{s}");
    }

    #[test]
    fn payout_type_parse() {
        assert_eq!(PayoutType::parse("Balance"), Some(PayoutType::Balance));
        assert_eq!(PayoutType::parse("2"), Some(PayoutType::Allowance));
        assert_eq!(PayoutType::parse("3"), None);
        assert_eq!(PayoutType::Allowance.code(), 2);
    }

    fn v(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn envelopes() {
        let ok = v(r#"{"code":"200","success":true,"data":{"a":1},"trace":"t","msg":""}"#);
        assert!(matches!(envelope(&ok).unwrap(), Envelope::Success(Some(_))));
        let err =
            v(r#"{"code":"000101","success":false,"data":null,"trace":"t","msg":"System error"}"#);
        assert_eq!(
            envelope(&err).unwrap(),
            Envelope::Failure {
                code: "000101".into(),
                msg: "System error".into()
            }
        );
        assert!(matches!(
            envelope(&v(r#"{"code":200,"data":null}"#)).unwrap(),
            Envelope::Success(None)
        ));
        assert_eq!(
            envelope(&v(r#"{"code":"000106","success":true}"#))
                .unwrap_err()
                .to_string(),
            r#"code: "000106" contradicts success=true"#
        );
        assert_eq!(
            envelope(&v(r#"{"success":"yes"}"#))
                .unwrap_err()
                .to_string(),
            r#"success: expected a boolean, found string "yes""#
        );
        assert!(envelope(&v(r#"{"data":{}}"#)).is_err());
        assert!(envelope(&v(r#"{"success":false}"#)).is_err());
    }

    #[test]
    fn every_documented_code() {
        use GatewayError as E;
        let c = |code: &str, kind| error_for_code(code, "m", kind, "t");
        for code in ["000101", "000107", "000113", "000114"] {
            assert!(
                matches!(c(code, CallKind::Create), E::Unavailable { .. }),
                "{code}"
            );
        }
        for code in ["000106", "000201", "000301"] {
            assert!(
                matches!(c(code, CallKind::Create), E::Duplicate { .. }),
                "{code}"
            );
        }
        assert!(matches!(c("000202", CallKind::Read), E::NotFound { .. }));
        assert!(matches!(c("000202", CallKind::Create), E::Rejected { .. }));
        for code in ["000108", "000109", "000110", "000112", "000306"] {
            assert!(
                matches!(c(code, CallKind::Create), E::Auth { .. }),
                "{code}"
            );
        }
        for code in [
            "000102", "000103", "000104", "000105", "000203", "000204", "000205", "000206",
            "000207", "000208", "000302", "000303", "000304", "000305", "000307", "000308",
            "000401", "000402", "000403", "000404", "000405",
        ] {
            match c(code, CallKind::Create) {
                E::Rejected { code: got, message } => {
                    assert_eq!(got, code);
                    assert_eq!(message, "m");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        for code in ["000111", "000309", "000406", "999999", "", "200"] {
            assert!(
                matches!(c(code, CallKind::Create), E::Ambiguous { .. }),
                "{code}"
            );
        }
    }

    #[test]
    fn status_words() {
        assert_eq!(status_of("SUCCESS", Some("0xabc")), Status::Completed);
        assert_eq!(status_of("SUCCESS", None), Status::Pending);
        assert_eq!(status_of("SUCCESS", Some("")), Status::Pending);
        assert_eq!(status_of("PENDING", None), Status::Pending);
        assert_eq!(status_of("PROCESSING", Some("0x1")), Status::Pending);
        assert_eq!(status_of("REFUSE", None), Status::Failed);
    }

    #[test]
    fn detail_maps_with_fee_plus_gas() {
        let d = v(
            r#"{"orderNo":"PAYOUT_001","contractId":"C","recipient":"TR7","amount":"50.00","symbol":"USDT","payoutType":1,"txId":"abc123","status":"SUCCESS","fee":"1","gasAmount":"0.35","createTime":1742723373000,"updateTime":1742723399000}"#,
        );
        let want = OrderId("PAYOUT_001".into());
        let s = payout_state(Obj::new(&d, "data").unwrap(), DETAIL, Some(&want)).unwrap();
        assert_eq!(s.status, Status::Completed);
        assert_eq!(s.gateway_status, "SUCCESS");
        assert_eq!(s.txid.as_deref(), Some("abc123"));
        assert_eq!(s.fee, Some(Decimal::from_str("1.35").unwrap()));
        assert_eq!(s.network_amount, Some(Decimal::from_str("50.00").unwrap()));
        assert_eq!(s.updated_at.as_deref(), Some("1742723399000"));
        assert_eq!(s.error, None);
    }

    #[test]
    fn create_refuse_is_a_failed_state() {
        let d = v(
            r#"{"orderNo":"A1","orderId":"9001","status":"REFUSE","createTime":1,"errorMsg":"recipient not allowed"}"#,
        );
        let s = payout_state(Obj::new(&d, "data").unwrap(), DETAIL, None).unwrap();
        assert_eq!(s.status, Status::Failed);
        assert_eq!(s.gateway_id, Some(GatewayId("9001".into())));
        assert_eq!(s.error.as_deref(), Some("REFUSE: recipient not allowed"));
    }

    #[test]
    fn bad_objects_name_the_field() {
        let want = OrderId("A1".into());
        for (json, msg) in [
            (r#"{"orderNo":"A1"}"#, "data.status: missing"),
            (
                r#"{"orderNo":"A1","status":3}"#,
                "data.status: expected a string, found number 3",
            ),
            (
                r#"{"orderNo":"B2","status":"SUCCESS"}"#,
                r#"data.orderNo: expected "A1", found "B2""#,
            ),
            (
                r#"{"orderNo":"A1","status":"SUCCESS","fee":"x"}"#,
                r#"data.fee: expected a decimal, found string "x""#,
            ),
        ] {
            let d = v(json);
            let e = payout_state(Obj::new(&d, "data").unwrap(), DETAIL, Some(&want)).unwrap_err();
            assert_eq!(e.to_string(), msg);
        }
    }

    #[test]
    fn batch_outcomes_per_order() {
        let data = v(r#"{"successCount":1,"failCount":2,"orders":[
                {"orderNo":"O1","orderId":"1","status":"SUCCESS","createTime":1},
                {"orderNo":"O2","code":"000201","msg":"data already exists"},
                {"orderNo":"O3","orderId":"3","status":"REFUSE","errorCode":"000404","errorMsg":"unsupported token"},
                {"orderNo":"O5","status":5}
            ]}"#);
        let ids: Vec<OrderId> = ["O1", "O2", "O3", "O4", "O5"]
            .iter()
            .map(|s| OrderId(s.to_string()))
            .collect();
        let out = batch_outcomes(Obj::new(&data, "data").unwrap(), &ids, "t").unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(out[0].1.as_ref().unwrap().status, Status::Pending);
        assert!(matches!(out[1].1, Err(GatewayError::Duplicate { .. })));
        let o3 = out[2].1.as_ref().unwrap();
        assert_eq!(o3.status, Status::Failed);
        assert_eq!(
            o3.error.as_deref(),
            Some("REFUSE 000404: unsupported token")
        );
        assert!(matches!(out[3].1, Err(GatewayError::Ambiguous { .. })));
        match &out[4].1 {
            Err(GatewayError::Ambiguous { message }) => {
                assert!(message.contains("data.orders[3].status"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let no_orders = v(r#"{"successCount":0}"#);
        assert_eq!(
            batch_outcomes(Obj::new(&no_orders, "data").unwrap(), &ids, "t")
                .unwrap_err()
                .to_string(),
            "data.orders: missing"
        );
    }
}
