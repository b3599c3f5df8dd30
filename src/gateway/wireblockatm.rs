//! The BlockATM wire format: request bodies built once from which both the bytes sent and the
//! signed parameters are derived (so they cannot disagree), the response envelope, and the
//! mapping of create / batch / detail / webhook objects onto `PayoutState` (with what each
//! echoes of the order in `PayoutState::echo`). The error code table is `blockatm_codes`.

use serde::Serialize;
use serde_json::Value;

use super::blockatm_codes::{self, Action};
use super::http::CallKind;
use super::json_fields::{DecodeError, Obj};
use super::{AnswerKind, Echo, GatewayError, PayoutRequest, PayoutState};
use crate::model::{GatewayId, OrderId, Status};

/// BlockATM `payoutType` (`PAYRUN_PAYOUT_TYPE`, profile `payout_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PayoutType {
    /// 1: paid from the contract balance (default).
    #[default]
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

/// The one BlockATM code table lives in `blockatm_codes`; re-exported here for the callers
/// that read envelopes.
pub use super::blockatm_codes::error_for_code;

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

/// Which member names an object uses (detail and create answers, batch items, webhooks), and
/// which answer it is.
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub order_no: &'static str,
    pub gateway_id: &'static str,
    /// The recipient address.
    pub to_address: &'static str,
    /// Candidates for `updated_at`, first present wins.
    pub times: &'static [&'static str],
    pub answer: AnswerKind,
}

/// `GET /order/api/v2/payout/detail` `data`.
pub const DETAIL: Names = Names {
    order_no: "orderNo",
    gateway_id: "orderId",
    to_address: "recipient",
    times: &["updateTime", "createTime"],
    answer: AnswerKind::DetailBlockAtm,
};
/// `POST /order/api/v2/payout/order` `data`.
pub const CREATE: Names = Names {
    answer: AnswerKind::CreateBlockAtm,
    ..DETAIL
};
/// One item of `POST /order/api/v2/payout/batch` `data.orders`.
pub const BATCH_ITEM: Names = Names {
    answer: AnswerKind::BatchItemBlockAtm,
    ..DETAIL
};
/// The payout webhook.
pub const WEBHOOK: Names = Names {
    order_no: "bizOrderNo",
    gateway_id: "id",
    to_address: "toAddress",
    times: &["blockTime", "createTime"],
    answer: AnswerKind::WebhookBlockAtm,
};

/// Maps one BlockATM order object. With `expected`, a different order number is an error;
/// without it the order number is required. Field types are undocumented, so ids, times and
/// amounts are accepted as strings or numbers.
pub fn payout_state(
    obj: Obj<'_>,
    names: Names,
    expected: Option<&OrderId>,
) -> Result<PayoutState, DecodeError> {
    let echoed_order = obj.text_opt(names.order_no)?;
    let order_id = match (echoed_order.clone(), expected) {
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
    let echo = Echo {
        answer: Some(names.answer),
        order_id: echoed_order,
        to_address: obj.text_opt(names.to_address)?,
        amount: network_amount,
        currency: obj.text_opt("symbol")?,
        network: obj.text_opt("network")?,
        memo: obj.text_opt("memo")?,
        memo_carried: obj.map.contains_key("memo"),
        contract_id: obj.text_opt("contractId")?,
        created_at: obj.text_opt("createTime")?,
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
        echo: Box::new(echo),
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

/// The error code an order object carries (`errorCode`, else `code`; `"200"` is none).
fn item_code(obj: Obj<'_>) -> Result<Option<String>, DecodeError> {
    let code = match obj.text_opt("errorCode")? {
        Some(c) => Some(c),
        None => obj.text_opt("code")?,
    };
    Ok(code.filter(|c| c != "200" && !c.is_empty()))
}

/// One order object of a create or batch answer. An error code whose action is not a final
/// refusal decides whatever the status word says: a duplicate (000106 / 000201 / 000301) is
/// `Duplicate` (resolve by lookup), a system code `Unavailable`, 000105 `NotApplied`. Without a
/// status word any code decides (an unknown one is `Ambiguous`). Otherwise the object maps like
/// a create answer (`REFUSE` → a failed state carrying the code and message).
pub fn order_outcome(
    obj: Obj<'_>,
    names: Names,
    order_no: &OrderId,
    what: &str,
) -> Result<PayoutState, GatewayError> {
    let decode = |e: DecodeError| GatewayError::Ambiguous {
        message: format!("{what}: unusable answer: {e}"),
    };
    if let Some(code) = item_code(obj).map_err(decode)? {
        // Without a status word the code is all there is. With one, a final refusal (and an
        // unknown code) leaves it to the status word; any other documented code decides.
        let code_decides = obj.get("status").is_none()
            || blockatm_codes::lookup(&code)
                .is_some_and(|c| !matches!(c.action, Action::Reject | Action::NotFound));
        if code_decides {
            let msg = ["errorMsg", "msg", "message"]
                .iter()
                .find_map(|k| obj.get(k))
                .map(|m| m.as_str().map(str::to_string).unwrap_or(m.to_string()))
                .unwrap_or_default();
            return Err(error_for_code(&code, &msg, CallKind::Create, what));
        }
    }
    payout_state(obj, names, Some(order_no)).map_err(decode)
}

fn batch_item(obj: Obj<'_>, order_no: &str, what: &str) -> Result<PayoutState, GatewayError> {
    order_outcome(obj, BATCH_ITEM, &OrderId(order_no.to_string()), what)
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
    fn refused_batch_items_with_a_duplicate_code_are_duplicates() {
        // The sandbox's (and a plausible gateway's) form: status REFUSE plus the code.
        let data = v(r#"{"successCount":0,"failCount":6,"orders":[
                {"orderNo":"D1","orderId":null,"status":"REFUSE","code":"000106","msg":"Duplicate request"},
                {"orderNo":"D2","status":"REFUSE","errorCode":"000201","errorMsg":"exists"},
                {"orderNo":"D3","status":"REFUSE","code":"000301","msg":"already paid"},
                {"orderNo":"D4","status":"REFUSE","code":"000105","msg":"invalid request"},
                {"orderNo":"D5","status":"REFUSE","code":"000107","msg":"busy"},
                {"orderNo":"D6","status":"REFUSE","code":"000999","msg":"new code"},
                {"orderNo":"D7","code":"000999","msg":"new code, no status"},
                {"orderNo":"D8","code":"000404","msg":"unsupported token, no status"}
            ]}"#);
        let ids: Vec<OrderId> = (1..=8).map(|i| OrderId(format!("D{i}"))).collect();
        let out = batch_outcomes(Obj::new(&data, "data").unwrap(), &ids, "t").unwrap();
        for (i, code) in [(0, "000106"), (1, "000201"), (2, "000301")] {
            match &out[i].1 {
                Err(GatewayError::Duplicate { code: got, .. }) => assert_eq!(got, code),
                other => panic!("{code}: {other:?}"),
            }
        }
        assert!(matches!(out[3].1, Err(GatewayError::NotApplied { .. })));
        assert!(matches!(out[4].1, Err(GatewayError::Unavailable { .. })));
        // An undocumented code next to REFUSE: the status word decides.
        assert_eq!(out[5].1.as_ref().unwrap().status, Status::Failed);
        assert!(matches!(out[6].1, Err(GatewayError::Ambiguous { .. })));
        assert!(matches!(out[7].1, Err(GatewayError::Rejected { .. })));
    }

    #[test]
    fn a_single_create_answer_with_a_duplicate_code_is_a_duplicate() {
        let d = v(r#"{"orderNo":"A1","status":"REFUSE","code":"000106","msg":"dup"}"#);
        let want = OrderId("A1".into());
        assert!(matches!(
            order_outcome(Obj::new(&d, "data").unwrap(), CREATE, &want, "t"),
            Err(GatewayError::Duplicate { .. })
        ));
        let d = v(r#"{"orderNo":"A1","orderId":"9","status":"SUCCESS","createTime":17}"#);
        let s = order_outcome(Obj::new(&d, "data").unwrap(), CREATE, &want, "t").unwrap();
        assert_eq!(s.echo.answer, Some(AnswerKind::CreateBlockAtm));
        assert_eq!(s.echo.order_id.as_deref(), Some("A1"));
        assert_eq!(s.echo.created_at.as_deref(), Some("17"));
        assert_eq!((s.echo.to_address.as_ref(), s.echo.amount), (None, None));
    }

    #[test]
    fn detail_echo_carries_what_the_detail_documents() {
        let d = v(
            r#"{"orderNo":"PAYOUT_001","contractId":"C","recipient":"TR7","amount":50.5,"symbol":"USDT","payoutType":1,"txId":null,"status":"PENDING","createTime":1742723373000}"#,
        );
        let want = OrderId("PAYOUT_001".into());
        let s = payout_state(Obj::new(&d, "data").unwrap(), DETAIL, Some(&want)).unwrap();
        let e = &s.echo;
        assert_eq!(e.answer, Some(AnswerKind::DetailBlockAtm));
        assert_eq!(e.order_id.as_deref(), Some("PAYOUT_001"));
        assert_eq!(e.contract_id.as_deref(), Some("C"));
        assert_eq!(e.to_address.as_deref(), Some("TR7"));
        assert_eq!(e.amount, Some(Decimal::from_str("50.5").unwrap()));
        assert_eq!(e.currency.as_deref(), Some("USDT"));
        assert_eq!(e.created_at.as_deref(), Some("1742723373000"));
        assert_eq!((e.memo.as_ref(), e.memo_carried), (None, false));
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
