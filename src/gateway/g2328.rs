//! The 2328 client (per the 2328 API reference): one payout per request, `calc`, status by uuid and
//! balance, every call signed with the Payout API key over the exact body bytes sent (GET over
//! the empty body). The wire format lives in `wire2328`, HTTP classification in `http`.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;

use super::http::{self, CallKind, ClientConfigError, Http};
use super::json_fields::Obj;
use super::wire2328::{self, ErrorEnvelope};
use super::{
    sign, AnswerKind, Balance, BatchItem, Gateway, GatewayError, HttpSettings, PayoutRequest,
    PayoutState, Quote,
};
use crate::model::{GatewayId, GatewayKind, OrderId};

/// Which 2328 call is made: decides how unclear outcomes and refusals are classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Create,
    Calc,
    Lookup,
    Balance,
}

impl Call {
    fn kind(self) -> CallKind {
        match self {
            Call::Create => CallKind::Create,
            Call::Calc | Call::Lookup | Call::Balance => CallKind::Read,
        }
    }
}

/// A 2328 client. Holds one HTTP client; cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct Client2328 {
    http: Http,
    project: String,
    payout_key: String,
}

impl std::fmt::Debug for Client2328 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client2328")
            .field("http", &self.http)
            .field("project", &self.project)
            .field("payout_key", &"<redacted>")
            .finish()
    }
}

impl Client2328 {
    /// `project` is the project UUID, `payout_key` the Payout API key (not the normal API key).
    pub fn new(
        settings: HttpSettings,
        project: String,
        payout_key: String,
    ) -> Result<Self, ClientConfigError> {
        if project.trim().is_empty() {
            return Err(ClientConfigError::Missing(
                "the 2328 project (PAYRUN_PROJECT)",
            ));
        }
        if payout_key.is_empty() {
            return Err(ClientConfigError::Missing(
                "the 2328 Payout API key (PAYRUN_API_KEY)",
            ));
        }
        if reqwest::header::HeaderValue::from_str(&project).is_err() {
            return Err(ClientConfigError::HeaderValue("the 2328 project"));
        }
        Ok(Client2328 {
            http: Http::new(&settings)?,
            project,
            payout_key,
        })
    }

    /// Sends one signed call and returns the decoded `{"state":0,…}` envelope, or the error
    /// the answer means. `body` is signed and sent as is (empty for GET).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        call: Call,
    ) -> Result<(u16, Value), GatewayError> {
        let kind = call.kind();
        let what = format!("2328 {method} {path}");
        let signature = sign::sign_2328(&self.payout_key, &body);
        let mut request = self
            .http
            .client()
            .request(method.clone(), self.http.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("project", &self.project)
            .header("sign", signature);
        if method != Method::GET {
            request = request.body(body);
        }
        let resp = self.http.send(request, kind, &what).await?;
        let value = http::checked_json(&resp, kind, &what, wire2328::envelope_message)?;
        let root =
            Obj::new(&value, "").map_err(|e| http::decode_failure(&what, resp.status, &e))?;
        let state = root
            .i64_req("state")
            .map_err(|e| http::decode_failure(&what, resp.status, &e))?;
        if state != 0 {
            return Err(refusal(&value, resp.status, &what, call));
        }
        if !(200..300).contains(&resp.status) {
            return Err(http::decode_failure(
                &what,
                resp.status,
                &super::json_fields::DecodeError::new("state", "0 on a non-success HTTP status"),
            ));
        }
        Ok((resp.status, value))
    }

    /// Calls and maps `result` with `map`, turning a decode failure into `Ambiguous`.
    async fn call_result<T>(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        call: Call,
        map: impl FnOnce(&Value) -> Result<T, super::json_fields::DecodeError>,
    ) -> Result<T, GatewayError> {
        let (status, value) = self.call(method.clone(), path, body, call).await?;
        let what = format!("2328 {method} {path}");
        let result = match value.get("result") {
            Some(r) if !r.is_null() => r,
            _ => {
                return Err(http::decode_failure(
                    &what,
                    status,
                    &super::json_fields::DecodeError::new("result", "missing"),
                ))
            }
        };
        map(result).map_err(|e| http::decode_failure(&what, status, &e))
    }
}

/// A `state != 0` answer: a signature complaint is `Auth`. On a lookup, HTTP 404 is `NotFound`
/// and any other refusal `Ambiguous` (a refused lookup says nothing about the payout and must
/// never mark a row failed). Otherwise, with a 2xx or 4xx status, a refusal of this request.
fn refusal(value: &Value, status: u16, what: &str, call: Call) -> GatewayError {
    let Some(env) = ErrorEnvelope::of(value) else {
        return http::decode_failure(
            what,
            status,
            &super::json_fields::DecodeError::new("state", "not an integer"),
        );
    };
    if env.is_signature_complaint() {
        return GatewayError::Auth {
            message: format!("{what}: {}", http::clip(&env.text())),
        };
    }
    if call == Call::Lookup {
        let code = format!("state {} (HTTP {status})", env.state);
        return if status == 404 {
            GatewayError::NotFound {
                code,
                message: http::clip(&env.text()),
            }
        } else {
            http::read_never_rejected(GatewayError::Rejected {
                code,
                message: http::clip(&env.text()),
            })
        };
    }
    if (200..300).contains(&status) || (400..500).contains(&status) {
        GatewayError::Rejected {
            code: format!("state {} (HTTP {status})", env.state),
            message: http::clip(&env.text()),
        }
    } else {
        GatewayError::Ambiguous {
            message: format!(
                "{what}: error envelope on HTTP {status}: {}",
                http::clip(&env.text())
            ),
        }
    }
}

fn encode_failure(e: serde_json::Error) -> GatewayError {
    GatewayError::Unavailable {
        message: format!("2328: the request could not be encoded, nothing was sent ({e})"),
    }
}

#[async_trait]
impl Gateway for Client2328 {
    fn kind(&self) -> GatewayKind {
        GatewayKind::G2328
    }

    async fn create(&self, req: &PayoutRequest) -> Result<PayoutState, GatewayError> {
        let body = wire2328::payout_body(req).map_err(encode_failure)?;
        let order_id = req.order_id.clone();
        self.call_result(
            Method::POST,
            "/v1/payout",
            body,
            Call::Create,
            move |result| {
                wire2328::payout_state_as(
                    Obj::new(result, "result")?,
                    AnswerKind::Create2328,
                    Some(&order_id),
                )
            },
        )
        .await
    }

    async fn create_batch(&self, _reqs: &[PayoutRequest]) -> Result<Vec<BatchItem>, GatewayError> {
        Err(GatewayError::Unsupported(
            "2328 has no batch endpoint: one payout per request",
        ))
    }

    async fn calc(&self, req: &PayoutRequest) -> Result<Quote, GatewayError> {
        let body = wire2328::payout_body(req).map_err(encode_failure)?;
        self.call_result(
            Method::POST,
            "/v1/payout/calc",
            body,
            Call::Calc,
            |result| wire2328::quote(Obj::new(result, "result")?),
        )
        .await
    }

    async fn lookup(
        &self,
        order_id: &OrderId,
        gateway_id: Option<&GatewayId>,
    ) -> Result<PayoutState, GatewayError> {
        let Some(uuid) = gateway_id else {
            return Err(GatewayError::Unsupported(
                "2328 looks payouts up by uuid only: re-send the create with the same order_id \
                 to learn it",
            ));
        };
        // Gateway uuids are plain, but never trust an id in a path.
        let path = format!("/v1/payout/status/{}", http::percent_encode(&uuid.0));
        let order_id = order_id.clone();
        self.call_result(
            Method::GET,
            &path,
            Vec::new(),
            Call::Lookup,
            move |result| {
                wire2328::payout_state_as(
                    Obj::new(result, "result")?,
                    AnswerKind::Status2328,
                    Some(&order_id),
                )
            },
        )
        .await
    }

    async fn balance(&self) -> Result<Vec<Balance>, GatewayError> {
        self.call_result(
            Method::GET,
            "/v1/balance",
            Vec::new(),
            Call::Balance,
            wire2328::balances,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_redacts_the_key() {
        let c = Client2328::new(
            HttpSettings::new("https://api.2328.io/api"),
            "proj-1".into(),
            "super-secret-payout-key".into(),
        )
        .unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("super-secret-payout-key"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn constructor_refuses_missing_settings() {
        let s = || HttpSettings::new("https://api.2328.io/api");
        assert!(Client2328::new(s(), "".into(), "k".into()).is_err());
        assert!(Client2328::new(s(), "p".into(), "".into()).is_err());
        assert!(Client2328::new(s(), "p\n".into(), "k".into()).is_err());
        assert!(Client2328::new(HttpSettings::new("nope"), "p".into(), "k".into()).is_err());
    }

    #[test]
    fn refusals_by_status_and_message() {
        let validation =
            json!({"state":1,"message":"Validation error","errors":{"amount":["too small"]}});
        assert!(matches!(
            refusal(&validation, 422, "t", Call::Create),
            GatewayError::Rejected { .. }
        ));
        assert!(matches!(
            refusal(&validation, 200, "t", Call::Create),
            GatewayError::Rejected { .. }
        ));
        let sign = json!({"state":1,"message":"Wrong sign"});
        assert!(matches!(
            refusal(&sign, 400, "t", Call::Lookup),
            GatewayError::Auth { .. }
        ));
        assert!(matches!(
            refusal(&validation, 302, "t", Call::Create),
            GatewayError::Ambiguous { .. }
        ));
    }
}
