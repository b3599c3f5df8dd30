//! The BlockATM client (per the BlockATM API reference): single and batch create, detail by
//! `orderNo`, every call signed with signature V2 over the exact top-level values sent. No calc
//! and no balance endpoint. The wire format lives in `wireblockatm`, HTTP classification in
//! `http`.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;

use super::http::{self, CallKind, ClientConfigError, Http};
use super::json_fields::{DecodeError, Obj};
use super::wireblockatm::{self as wire, Envelope, SignedBody, CREATE, DETAIL};
use super::{
    sign, Balance, BatchItem, Gateway, GatewayError, HttpSettings, PayoutRequest, PayoutState,
    Quote,
};
use crate::model::{GatewayId, GatewayKind, OrderId};

pub use super::wireblockatm::PayoutType;

/// The `BlockATM-Rec_Window` sent: how old (ms) the server may accept a request time.
pub const REC_WINDOW_MS: u32 = 30_000;

pub const PATH_ORDER: &str = "/order/api/v2/payout/order";
pub const PATH_BATCH: &str = "/order/api/v2/payout/batch";
pub const PATH_DETAIL: &str = "/order/api/v2/payout/detail";

/// A BlockATM client. Holds one HTTP client; cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct BlockAtmClient {
    http: Http,
    api_key: String,
    secret: String,
    contract_id: String,
    payout_type: PayoutType,
    from_address: Option<String>,
}

impl std::fmt::Debug for BlockAtmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockAtmClient")
            .field("http", &self.http)
            .field("api_key", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("contract_id", &self.contract_id)
            .field("payout_type", &self.payout_type)
            .field("from_address", &self.from_address)
            .finish()
    }
}

/// The signature headers for one request: API key, request time, V2 signature, receive window.
pub fn auth_headers(
    api_key: &str,
    secret: &str,
    params: &[(&str, Option<String>)],
    time_ms: &str,
) -> [(&'static str, String); 4] {
    [
        ("BlockATM-API-Key", api_key.to_string()),
        ("BlockATM-Request-Time", time_ms.to_string()),
        (
            "BlockATM-Signature-V2",
            sign::sign_blockatm(secret, params, time_ms),
        ),
        ("BlockATM-Rec_Window", REC_WINDOW_MS.to_string()),
    ]
}

fn now_ms() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string()
}

/// What a call sends: a signed JSON body (POST) or signed query parameters (GET).
enum Payload<'a> {
    Body(SignedBody),
    Query(Vec<(&'static str, &'a str)>),
}

impl BlockAtmClient {
    /// `payout_type` Allowance requires `from_address` (the authorising address); with Balance
    /// it is not sent.
    pub fn new(
        settings: HttpSettings,
        api_key: String,
        secret: String,
        contract_id: String,
        payout_type: PayoutType,
        from_address: Option<String>,
    ) -> Result<Self, ClientConfigError> {
        if api_key.is_empty() {
            return Err(ClientConfigError::Missing(
                "the BlockATM API key (PAYRUN_API_KEY)",
            ));
        }
        if secret.is_empty() {
            return Err(ClientConfigError::Missing(
                "the BlockATM secret key (PAYRUN_API_SECRET)",
            ));
        }
        if contract_id.trim().is_empty() {
            return Err(ClientConfigError::Missing(
                "the BlockATM contract id (PAYRUN_CONTRACT_ID)",
            ));
        }
        if reqwest::header::HeaderValue::from_str(&api_key).is_err() {
            return Err(ClientConfigError::HeaderValue("the BlockATM API key"));
        }
        let from_address = from_address.filter(|a| !a.trim().is_empty());
        if payout_type == PayoutType::Allowance && from_address.is_none() {
            return Err(ClientConfigError::Missing(
                "the authorising address for allowance payouts (PAYRUN_FROM_ADDRESS)",
            ));
        }
        Ok(BlockAtmClient {
            http: Http::new(&settings)?,
            api_key,
            secret,
            contract_id,
            payout_type,
            from_address,
        })
    }

    /// Sends one signed call; returns the envelope's `data` (or the error the answer means).
    async fn call<T>(
        &self,
        method: Method,
        path: &str,
        payload: Payload<'_>,
        kind: CallKind,
        map: impl FnOnce(Option<&Value>, &str) -> Result<T, DecodeError>,
    ) -> Result<T, GatewayError> {
        let what = format!("BlockATM {method} {path}");
        let time = now_ms();
        let mut request = self.http.client().request(method, self.http.url(path));
        let headers = match &payload {
            Payload::Body(body) => {
                let h = auth_headers(&self.api_key, &self.secret, &body.params(), &time);
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.bytes());
                h
            }
            Payload::Query(query) => {
                let params: Vec<(&str, Option<String>)> = query
                    .iter()
                    .map(|(k, v)| (*k, Some(v.to_string())))
                    .collect();
                request = request.query(query);
                auth_headers(&self.api_key, &self.secret, &params, &time)
            }
        };
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let resp = self.http.send(request, kind, &what).await?;
        let value = http::checked_json(&resp, kind, &what, wire::envelope_message)?;
        match wire::envelope(&value).map_err(|e| http::decode_failure(&what, resp.status, &e))? {
            Envelope::Failure { code, msg } => Err(with_request_time(
                wire::error_for_code(&code, &msg, kind, &what),
                &time,
            )),
            Envelope::Success(_) if !(200..300).contains(&resp.status) => {
                Err(http::decode_failure(
                    &what,
                    resp.status,
                    &DecodeError::new("success", "true on a non-success HTTP status"),
                ))
            }
            Envelope::Success(data) => {
                map(data, &what).map_err(|e| http::decode_failure(&what, resp.status, &e))
            }
        }
    }
}

/// A `NotApplied` (request time outside the receive window) names the request time sent, by
/// this machine's clock, so the operator can see the skew.
fn with_request_time(e: GatewayError, time_ms: &str) -> GatewayError {
    match e {
        GatewayError::NotApplied { code, message } => {
            let local = time_ms
                .parse::<i64>()
                .ok()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_else(|| "unreadable".into());
            GatewayError::NotApplied {
                code,
                message: format!(
                    "{message} (BlockATM-Request-Time sent: {time_ms} = {local} by this \
                     machine's clock; BlockATM-Rec_Window: {REC_WINDOW_MS} ms)"
                ),
            }
        }
        other => other,
    }
}

/// `data` must be an object.
fn data_obj(data: Option<&Value>) -> Result<Obj<'_>, DecodeError> {
    match data {
        Some(d) => Obj::new(d, "data"),
        None => Err(DecodeError::new("data", "missing")),
    }
}

/// Fields BlockATM cannot carry: refusing the row beats silently dropping a memo.
fn unsendable(req: &PayoutRequest) -> Option<GatewayError> {
    let refuse = |what: &str| {
        Some(GatewayError::Rejected {
            code: "payrun".into(),
            message: format!("BlockATM payouts take no {what}; the row was not sent"),
        })
    };
    if req.memo.is_some() {
        return refuse("memo");
    }
    if req.from_currency.is_some() {
        return refuse("from_currency (auto-conversion is a 2328 feature)");
    }
    None
}

fn encode_failure(e: serde_json::Error) -> GatewayError {
    GatewayError::Unavailable {
        message: format!("BlockATM: the request could not be encoded, nothing was sent ({e})"),
    }
}

#[async_trait]
impl Gateway for BlockAtmClient {
    fn kind(&self) -> GatewayKind {
        GatewayKind::BlockAtm
    }

    /// A `REFUSE` answer is a final refusal of this order: a failed state, not an error.
    async fn create(&self, req: &PayoutRequest) -> Result<PayoutState, GatewayError> {
        if let Some(e) = unsendable(req) {
            return Err(e);
        }
        let body = wire::create_body(
            req,
            &self.contract_id,
            self.payout_type,
            self.from_address.as_deref(),
        )
        .map_err(encode_failure)?;
        let order_id = req.order_id.clone();
        self.call(
            Method::POST,
            PATH_ORDER,
            Payload::Body(body),
            CallKind::Create,
            move |data, what| {
                Ok(wire::order_outcome(
                    data_obj(data)?,
                    CREATE,
                    &order_id,
                    what,
                ))
            },
        )
        .await?
    }

    /// Not atomic: one outcome per requested order, in request order. Allowance payouts are
    /// `Unsupported` here (the batch body carries no `fromAddress`): use single creates.
    async fn create_batch(&self, reqs: &[PayoutRequest]) -> Result<Vec<BatchItem>, GatewayError> {
        if self.payout_type == PayoutType::Allowance {
            return Err(GatewayError::Unsupported(
                "the BlockATM batch endpoint carries no fromAddress: allowance payouts go \
                 through single creates",
            ));
        }
        let mut refused: Vec<(usize, GatewayError)> = Vec::new();
        let mut sendable: Vec<PayoutRequest> = Vec::new();
        for (i, r) in reqs.iter().enumerate() {
            match unsendable(r) {
                Some(e) => refused.push((i, e)),
                None => sendable.push(r.clone()),
            }
        }
        let mut sent_outcomes = if sendable.is_empty() {
            Vec::new()
        } else {
            let body = wire::batch_body(&sendable, &self.contract_id, self.payout_type)
                .map_err(encode_failure)?;
            let ids: Vec<OrderId> = sendable.iter().map(|r| r.order_id.clone()).collect();
            self.call(
                Method::POST,
                PATH_BATCH,
                Payload::Body(body),
                CallKind::Create,
                move |data, what| wire::batch_outcomes(data_obj(data)?, &ids, what),
            )
            .await?
        }
        .into_iter();
        let mut refused = refused.into_iter().peekable();
        let mut out = Vec::with_capacity(reqs.len());
        for (i, r) in reqs.iter().enumerate() {
            match refused.peek() {
                Some((j, _)) if *j == i => {
                    if let Some((_, e)) = refused.next() {
                        out.push((r.order_id.clone(), Err(e)));
                    }
                }
                _ => match sent_outcomes.next() {
                    Some(item) => out.push(item),
                    None => out.push((
                        r.order_id.clone(),
                        Err(GatewayError::Ambiguous {
                            message: "BlockATM batch: no outcome for this order".into(),
                        }),
                    )),
                },
            }
        }
        Ok(out)
    }

    async fn calc(&self, _req: &PayoutRequest) -> Result<Quote, GatewayError> {
        Err(GatewayError::Unsupported(
            "BlockATM has no calc endpoint: a quote is the documented per-order fee plus an \
             estimate",
        ))
    }

    async fn lookup(
        &self,
        order_id: &OrderId,
        _gateway_id: Option<&GatewayId>,
    ) -> Result<PayoutState, GatewayError> {
        let expected = order_id.clone();
        self.call(
            Method::GET,
            PATH_DETAIL,
            Payload::Query(vec![("orderNo", order_id.as_str())]),
            CallKind::Read,
            move |data, _| wire::payout_state(data_obj(data)?, DETAIL, Some(&expected)),
        )
        .await
        .map_err(http::read_never_rejected)
    }

    async fn balance(&self) -> Result<Vec<Balance>, GatewayError> {
        Err(GatewayError::Unsupported(
            "BlockATM has no balance endpoint in its payout API",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(
        payout_type: PayoutType,
        from: Option<&str>,
    ) -> Result<BlockAtmClient, ClientConfigError> {
        BlockAtmClient::new(
            HttpSettings::new("https://open.blockatm.net"),
            "api-key-123".into(),
            "very-secret-hmac".into(),
            "CONTRACT_001".into(),
            payout_type,
            from.map(str::to_string),
        )
    }

    #[test]
    fn debug_redacts_secrets() {
        let text = format!("{:?}", client(PayoutType::Balance, None).unwrap());
        assert!(!text.contains("very-secret-hmac"), "{text}");
        assert!(!text.contains("api-key-123"), "{text}");
        assert!(text.contains("CONTRACT_001"));
    }

    #[test]
    fn allowance_needs_a_from_address() {
        assert!(client(PayoutType::Allowance, None).is_err());
        assert!(client(PayoutType::Allowance, Some(" ")).is_err());
        assert!(client(PayoutType::Allowance, Some("0xabc")).is_ok());
    }

    #[test]
    fn detail_vector_through_the_headers() {
        let params = [("orderNo", Some("PAYOUT_001".to_string()))];
        let h = auth_headers("k", "test-secret", &params, "1742723373000");
        assert_eq!(h[0], ("BlockATM-API-Key", "k".to_string()));
        assert_eq!(h[1], ("BlockATM-Request-Time", "1742723373000".to_string()));
        assert_eq!(
            h[2],
            (
                "BlockATM-Signature-V2",
                "639c946851101149961ea504d55bb5d53c16b8df0a12bafad5724527c48e0f56".to_string()
            )
        );
        assert_eq!(h[3], ("BlockATM-Rec_Window", "30000".to_string()));
    }

    #[tokio::test]
    async fn calls_blockatm_does_not_have() {
        let c = client(PayoutType::Balance, None).unwrap();
        assert!(matches!(
            c.balance().await,
            Err(GatewayError::Unsupported(_))
        ));
        let a = client(PayoutType::Allowance, Some("0xabc")).unwrap();
        assert!(matches!(
            a.create_batch(&[]).await,
            Err(GatewayError::Unsupported(_))
        ));
        assert!(matches!(c.create_batch(&[]).await, Ok(v) if v.is_empty()));
    }
}
