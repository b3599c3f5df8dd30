//! The HTTP plumbing both clients share, and the one place where HTTP outcomes are classified
//! into `GatewayError`s.
//!
//! Classification rules (what the caller must do next decides the class):
//! - **Connect errors** (DNS, refused, TLS, connect timeout): the request never left →
//!   `Unavailable`.
//! - **Transport failure after sending** (request timeout, connection reset or closed before a
//!   full response, body cut short): on a *create* the gateway may have applied it →
//!   `Ambiguous`; on a *read* (lookup, calc, balance) nothing can have been applied and a retry
//!   is safe → `Unavailable`.
//! - **Status codes**: 429 → `RateLimited` (wait from `Retry-After` or `X-RateLimit-Reset`,
//!   capped at [`MAX_RETRY_AFTER`]); 418 → `Banned`; 401/403 → `Auth`; 5xx on a read →
//!   `Unavailable`; 5xx on a create → `Unavailable` only for 502/503/504 (a proxy or an
//!   overloaded front answered: the request did not reach the application), `Ambiguous` for 500
//!   and every other 5xx (the application may have failed after applying it).
//! - **Undecodable answers** (HTML page, invalid or truncated JSON, an object repeating a key,
//!   missing or wrongly-typed field, unknown status on a create): `Ambiguous` on every call,
//!   with the JSON path at fault. A repeated key is refused rather than read last-wins: an
//!   answer saying `"status"` twice says two things.
//!   A read never turns into `Rejected`, so a lookup can never mark a row failed.
//!
//! Other statuses (2xx, 3xx, other 4xx) are left to the gateway's own envelope parsing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::json_fields::{parse_body_strict, DecodeError, StrictError};
use super::{GatewayError, HttpSettings};

/// The longest wait a rate-limit answer can impose before payrun retries (a gateway asking for
/// more is capped; the next 429 will ask again).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// The largest response body read; a bigger one is treated as garbage.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Whether a call can move money. It decides how an unclear outcome is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Creates a payout (or a batch): an unclear outcome may mean it was applied.
    Create,
    /// Lookup, calc, balance: applies nothing, safe to repeat.
    Read,
}

/// A client that could not be built from its settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientConfigError {
    #[error("invalid gateway base URL {url:?}: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("{0} is required but empty")]
    Missing(&'static str),
    #[error("{0} contains characters that cannot be sent in an HTTP header")]
    HeaderValue(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// A received answer: status, headers and as much of the body as could be read.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Set when the body could not be read to its end (reset, timeout, too large).
    pub body_error: Option<String>,
}

/// One reqwest client (rustls, timeouts, no redirects) and the base URL it talks to.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("base", &self.base).finish()
    }
}

impl Http {
    pub fn new(settings: &HttpSettings) -> Result<Http, ClientConfigError> {
        let base = settings.base_url.trim().trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base).map_err(|e| ClientConfigError::BaseUrl {
            url: settings.base_url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientConfigError::BaseUrl {
                url: settings.base_url.clone(),
                reason: "the scheme must be http or https".into(),
            });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ClientConfigError::BaseUrl {
                url: settings.base_url.clone(),
                reason: "a base URL takes no query or fragment".into(),
            });
        }
        if reqwest::header::HeaderValue::from_str(&settings.user_agent).is_err()
            || settings.user_agent.trim().is_empty()
        {
            return Err(ClientConfigError::HeaderValue("User-Agent"));
        }
        if settings.request_timeout.is_zero() || settings.connect_timeout.is_zero() {
            return Err(ClientConfigError::Invalid(
                "connect and request timeouts must be greater than zero".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(settings.user_agent.clone())
            // A redirected POST would be replayed as a GET by reqwest's default policy.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientConfigError::Client(e.to_string()))?;
        Ok(Http { client, base })
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a request and reads the whole answer. `what` names the call in messages
    /// (`2328 POST /v1/payout`); it must not contain secrets.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        kind: CallKind,
        what: &str,
    ) -> Result<HttpResponse, GatewayError> {
        let mut resp = request
            .send()
            .await
            .map_err(|e| transport_error(&e, kind, what))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        tracing::debug!(call = what, status, "gateway answered");
        let mut body = Vec::new();
        let mut body_error = None;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        body_error = Some(format!("body larger than {MAX_BODY_BYTES} bytes"));
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(error_chain(&e));
                    break;
                }
            }
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
            body_error,
        })
    }
}

/// The text of an error and its sources (reqwest's own text would include the URL).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    if e.is_timeout() && !parts.iter().any(|p| p.contains("timed out")) {
        parts.push("timed out".into());
    }
    if parts.is_empty() {
        parts.push(kind_text(e).to_string());
    }
    parts.join(": ")
}

fn kind_text(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() {
        "body error"
    } else if e.is_decode() {
        "decode error"
    } else {
        "request error"
    }
}

/// Classifies a failure to get a response at all.
pub fn transport_error(e: &reqwest::Error, kind: CallKind, what: &str) -> GatewayError {
    let detail = error_chain(e);
    if e.is_connect() {
        return GatewayError::Unavailable {
            message: format!("{what}: could not connect, nothing was sent ({detail})"),
        };
    }
    if e.is_builder() {
        // The request could not even be built: nothing was sent.
        return GatewayError::Unavailable {
            message: format!("{what}: the request could not be built ({detail})"),
        };
    }
    after_send_failure(kind, what, &detail)
}

/// The request left but no complete answer came back.
pub fn after_send_failure(kind: CallKind, what: &str, detail: &str) -> GatewayError {
    match kind {
        CallKind::Create => GatewayError::Ambiguous {
            message: format!(
                "{what}: no complete answer after the request was sent ({detail}); \
                 it may have been applied"
            ),
        },
        CallKind::Read => GatewayError::Unavailable {
            message: format!("{what}: no complete answer ({detail})"),
        },
    }
}

/// A complete answer that does not decode as documented: always `Ambiguous`.
pub fn decode_failure(what: &str, status: u16, err: &DecodeError) -> GatewayError {
    GatewayError::Ambiguous {
        message: format!("{what}: unusable answer (HTTP {status}): {err}"),
    }
}

/// The status codes whose meaning does not depend on the body. `gateway_message` is the
/// envelope's message when one could be read, for the error text.
pub fn classify_status(
    status: u16,
    headers: &HeaderMap,
    kind: CallKind,
    what: &str,
    gateway_message: Option<&str>,
) -> Option<GatewayError> {
    let said = gateway_message
        .map(|m| format!(": {}", clip(m)))
        .unwrap_or_default();
    match status {
        429 => Some(GatewayError::RateLimited {
            retry_after: retry_after(headers, SystemTime::now()),
        }),
        418 => Some(GatewayError::Banned {
            message: format!("{what}: HTTP 418{said}"),
        }),
        401 | 403 => Some(GatewayError::Auth {
            message: format!("{what}: HTTP {status}{said}"),
        }),
        500..=599 => {
            let message = format!("{what}: HTTP {status}{said}");
            Some(match (kind, status) {
                (CallKind::Read, _) | (CallKind::Create, 502..=504) => {
                    GatewayError::Unavailable { message }
                }
                (CallKind::Create, _) => GatewayError::Ambiguous {
                    message: format!("{message}; the payout may have been applied"),
                },
            })
        }
        _ => None,
    }
}

/// Reads a response as JSON after the body-independent status checks. `message_of` extracts
/// the gateway's message from an error envelope, for the error text of those checks.
pub fn checked_json(
    resp: &HttpResponse,
    kind: CallKind,
    what: &str,
    message_of: impl Fn(&Value) -> Option<String>,
) -> Result<Value, GatewayError> {
    let parsed = if resp.body_error.is_none() {
        parse_body_strict(&resp.body).map_err(|e| match e {
            StrictError::Invalid(e) => e,
            StrictError::DuplicateKey { key, .. } => {
                DecodeError::new("(body)", format!("an object repeats the key {key:?}"))
            }
        })
    } else {
        Err(DecodeError::new("(body)", "incomplete"))
    };
    let message = parsed.as_ref().ok().and_then(&message_of);
    if let Some(e) = classify_status(resp.status, &resp.headers, kind, what, message.as_deref()) {
        return Err(e);
    }
    if let Some(detail) = &resp.body_error {
        return Err(after_send_failure(kind, what, detail));
    }
    parsed.map_err(|e| decode_failure(what, resp.status, &e))
}

/// On a read, a refusal says nothing about the order: it must not mark a row failed.
pub fn read_never_rejected(e: GatewayError) -> GatewayError {
    match e {
        GatewayError::Rejected { code, message } => GatewayError::Ambiguous {
            message: format!("the lookup itself was refused: {code}: {message}"),
        },
        other => other,
    }
}

/// Gateway text in our messages is clipped so a huge body cannot flood a log.
pub fn clip(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// The wait a 429 asked for: `Retry-After` (seconds or an HTTP date) first, else
/// `X-RateLimit-Reset` (seconds to wait, or an epoch time in seconds or milliseconds). Capped at
/// [`MAX_RETRY_AFTER`]; a time in the past is zero; unreadable values are ignored.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    header("retry-after")
        .and_then(|v| parse_retry_after(v, now))
        .or_else(|| header("x-ratelimit-reset").and_then(|v| parse_rate_limit_reset(v, now)))
        .map(|d| d.min(MAX_RETRY_AFTER))
}

/// `Retry-After`: delay-seconds (fractions tolerated) or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Some(secs) = parse_seconds(value) {
        return Some(secs);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let millis = date.timestamp_millis();
    Some(until_epoch_millis(millis, now))
}

/// `X-RateLimit-Reset`: small numbers are seconds to wait; numbers that look like an epoch are
/// an absolute time (seconds from 1e9, milliseconds from 1e12).
pub fn parse_rate_limit_reset(value: &str, now: SystemTime) -> Option<Duration> {
    let secs = parse_seconds(value)?;
    let n = secs.as_secs_f64();
    if n >= 1e12 {
        Some(until_epoch_millis(n as i64, now))
    } else if n >= 1e9 {
        Some(until_epoch_millis((n * 1000.0) as i64, now))
    } else {
        Some(secs)
    }
}

fn parse_seconds(value: &str) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let n: f64 = v.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(n).ok()
}

fn until_epoch_millis(target_ms: i64, now: SystemTime) -> Duration {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let diff = target_ms.saturating_sub(now_ms);
    if diff <= 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(diff as u64)
    }
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`).
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes everything outside RFC 3986's unreserved set, as `%XX` with upper-case hex
/// (a URL path segment; the BlockATM signer's URL-encoding switch).
pub(crate) fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_repeating_a_key_is_ambiguous() {
        let resp = |body: &str| HttpResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            body_error: None,
        };
        let r = resp(r#"{"state":0,"result":{"status":"failed","status":"completed"}}"#);
        for kind in [CallKind::Create, CallKind::Read] {
            match checked_json(&r, kind, "t", |_| None) {
                Err(GatewayError::Ambiguous { message }) => {
                    assert!(message.contains("repeats the key \"status\""), "{message}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(checked_json(&resp(r#"{"state":0}"#), CallKind::Read, "t", |_| None).is_ok());
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(percent_encode("019dea62-1727"), "019dea62-1727");
        assert_eq!(percent_encode("a/../b c"), "a%2F..%2Fb%20c");
        assert_eq!(percent_encode("é~*"), "%C3%A9~%2A");
    }
    use reqwest::header::HeaderValue;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = at(1_445_412_470); // 2015-10-21 07:27:50 UTC
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(10))
        );
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn rate_limit_reset_delta_epoch_seconds_and_millis() {
        let now = at(1_742_723_373);
        assert_eq!(
            parse_rate_limit_reset("7", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_rate_limit_reset("1742723403", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_rate_limit_reset("1742723375500", now),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            parse_rate_limit_reset("1742723000", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_rate_limit_reset("x", now), None);
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let now = at(1_742_723_373);
        let h = headers(&[("retry-after", "3"), ("x-ratelimit-reset", "60")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        let h = headers(&[("x-ratelimit-reset", "60")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(60)));
        let h = headers(&[("retry-after", "86400")]);
        assert_eq!(retry_after(&h, now), Some(MAX_RETRY_AFTER));
        let h = headers(&[("retry-after", "garbage"), ("x-ratelimit-reset", "2")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn status_classes() {
        let h = HeaderMap::new();
        let c = |s, k| classify_status(s, &h, k, "t", None);
        assert!(matches!(
            c(429, CallKind::Create),
            Some(GatewayError::RateLimited { retry_after: None })
        ));
        assert!(matches!(
            c(418, CallKind::Read),
            Some(GatewayError::Banned { .. })
        ));
        assert!(matches!(
            c(401, CallKind::Read),
            Some(GatewayError::Auth { .. })
        ));
        assert!(matches!(
            c(403, CallKind::Create),
            Some(GatewayError::Auth { .. })
        ));
        for s in [502, 503, 504] {
            assert!(matches!(
                c(s, CallKind::Create),
                Some(GatewayError::Unavailable { .. })
            ));
        }
        for s in [500, 501, 505, 599] {
            assert!(matches!(
                c(s, CallKind::Create),
                Some(GatewayError::Ambiguous { .. })
            ));
            assert!(matches!(
                c(s, CallKind::Read),
                Some(GatewayError::Unavailable { .. })
            ));
        }
        for s in [200, 201, 301, 400, 404, 422] {
            assert_eq!(c(s, CallKind::Create), None);
        }
    }

    #[test]
    fn unclear_outcomes_by_kind() {
        assert!(matches!(
            after_send_failure(CallKind::Create, "t", "reset"),
            GatewayError::Ambiguous { .. }
        ));
        assert!(matches!(
            after_send_failure(CallKind::Read, "t", "reset"),
            GatewayError::Unavailable { .. }
        ));
        let e = read_never_rejected(GatewayError::Rejected {
            code: "1".into(),
            message: "m".into(),
        });
        assert!(matches!(e, GatewayError::Ambiguous { .. }));
    }

    #[test]
    fn base_url_checks() {
        assert!(Http::new(&HttpSettings::new("ftp://x")).is_err());
        assert!(Http::new(&HttpSettings::new("not a url")).is_err());
        assert!(Http::new(&HttpSettings::new("https://x/api?q=1")).is_err());
        let h = Http::new(&HttpSettings::new("https://api.2328.io/api/")).unwrap();
        assert_eq!(h.url("/v1/payout"), "https://api.2328.io/api/v1/payout");
    }
}
