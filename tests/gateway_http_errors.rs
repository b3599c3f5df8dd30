//! Both gateway clients against a tiny raw TCP server (127.0.0.1:0) that answers each test with
//! canned raw HTTP bytes, or drops the connection, or answers too late. Asserts the typed error
//! for every kind of bad answer, and checks the requests the clients put on the wire against
//! signatures computed here, independently, from the documented algorithms.

use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use payrun::gateway::{
    BlockAtmClient, Client2328, Gateway, GatewayError, HttpSettings, PayoutRequest, PayoutType,
};
use payrun::model::{FeeOption, GatewayId, OrderId, Status};

/// What the canned server does once it has read the whole request.
#[derive(Clone)]
enum Reply {
    /// Writes these bytes and closes.
    Raw(Vec<u8>),
    /// Closes without answering.
    Drop,
    /// Waits, then writes.
    Late(Duration, Vec<u8>),
}

/// A request as the server received it.
#[derive(Debug)]
struct Captured {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Captured {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Starts a one-connection server; returns its base URL and the captured request.
async fn serve(reply: Reply) -> (String, tokio::task::JoinHandle<Option<Captured>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.ok()?;
        let captured = read_request(&mut stream).await?;
        match reply {
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
            }
            Reply::Drop => drop(stream),
            Reply::Late(wait, bytes) => {
                tokio::time::sleep(wait).await;
                let _ = stream.write_all(&bytes).await;
            }
        }
        Some(captured)
    });
    (format!("http://{addr}"), handle)
}

async fn read_request(stream: &mut TcpStream) -> Option<Captured> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Captured {
        request_line,
        headers,
        body,
    })
}

fn response(status: &str, extra_headers: &[&str], content_type: &str, body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in extra_headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

fn json(status: &str, body: &str) -> Reply {
    Reply::Raw(response(status, &[], "application/json", body))
}

fn settings(base: &str) -> HttpSettings {
    let mut s = HttpSettings::new(base);
    s.connect_timeout = Duration::from_secs(2);
    s.request_timeout = Duration::from_millis(800);
    s
}

const PROJECT: &str = "11111111-2222-3333-4444-555555555555";
const KEY: &str = "test-payout-key";

fn c2328(base: &str) -> Client2328 {
    Client2328::new(settings(&format!("{base}/api")), PROJECT.into(), KEY.into()).unwrap()
}

fn request(order: &str) -> PayoutRequest {
    PayoutRequest {
        order_id: OrderId(order.into()),
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

const ORDER: &str = "9ed25264-8be4-439f-acf5-2a8732538d27";
const UUID: &str = "019dea62-1727-72aa-ac2c-eaf2ade193ef";

fn result_body(status: &str) -> String {
    format!(
        r#"{{"state":0,"result":{{"uuid":"{UUID}","order_id":"{ORDER}","status":{status},"currency":"TRX","network":"TRX-TRC20","amount":"1.00","merchant_amount":"1","network_amount":"0.89","txid":null,"error_type":null,"updated_at":"2026-05-02T23:29:50+03:00"}}}}"#
    )
}

/// hex(HMAC-SHA256(key, base64(body))), written here from the 2328 document.
fn doc_sign_2328(key: &str, body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(b64.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn create_2328(
    reply: Reply,
) -> (
    Result<payrun::gateway::PayoutState, GatewayError>,
    Option<Captured>,
) {
    let (base, server) = serve(reply).await;
    let out = c2328(&base).create(&request(ORDER)).await;
    (out, server.await.unwrap())
}

async fn lookup_2328(
    reply: Reply,
) -> (
    Result<payrun::gateway::PayoutState, GatewayError>,
    Option<Captured>,
) {
    let (base, server) = serve(reply).await;
    let out = c2328(&base)
        .lookup(&OrderId(ORDER.into()), Some(&GatewayId(UUID.into())))
        .await;
    (out, server.await.unwrap())
}

fn ambiguous_message(r: Result<payrun::gateway::PayoutState, GatewayError>) -> String {
    match r {
        Err(GatewayError::Ambiguous { message }) => message,
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

// --- 2328: what goes on the wire -------------------------------------------------------------

#[tokio::test]
async fn create_2328_sends_the_documented_signed_bytes() {
    let (out, cap) = create_2328(json("200 OK", &result_body(r#""pending""#))).await;
    let state = out.unwrap();
    assert_eq!(state.status, Status::Pending);
    assert_eq!(state.gateway_id, Some(GatewayId(UUID.into())));
    assert_eq!(state.fee, Some(Decimal::from_str("0.11").unwrap()));
    let cap = cap.unwrap();
    assert_eq!(cap.request_line, "POST /api/v1/payout HTTP/1.1");
    assert_eq!(
        String::from_utf8(cap.body.clone()).unwrap(),
        r#"{"currency":"TRX","network":"TRX-TRC20","amount":"1.00","to_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","order_id":"9ed25264-8be4-439f-acf5-2a8732538d27","url_callback":"https://your-site.com/webhook/payout","memo":null,"fee_option":"deduct"}"#
    );
    assert_eq!(
        cap.header("sign"),
        Some("0b77afd8346e2a822a3e56f713b070cb6cb5a9087066e387eeb791696f983354")
    );
    assert_eq!(
        cap.header("sign"),
        Some(doc_sign_2328(KEY, &cap.body).as_str())
    );
    assert_eq!(cap.header("project"), Some(PROJECT));
    assert_eq!(cap.header("content-type"), Some("application/json"));
    assert!(cap.header("user-agent").unwrap().starts_with("payrun/"));
}

#[tokio::test]
async fn lookup_2328_signs_the_empty_body() {
    let (out, cap) = lookup_2328(json("200 OK", &result_body(r#""completed""#))).await;
    assert_eq!(out.unwrap().status, Status::Completed);
    let cap = cap.unwrap();
    assert_eq!(
        cap.request_line,
        format!("GET /api/v1/payout/status/{UUID} HTTP/1.1")
    );
    assert!(cap.body.is_empty());
    assert_eq!(
        cap.header("sign"),
        Some("64d12f04f4e1d142a8497a1bcd4dc1781ca9af5e1a2facd26c3282f2e8517c4e")
    );
}

#[tokio::test]
async fn balance_2328_reads_the_list() {
    let (base, server) = serve(json(
        "200 OK",
        r#"{"state":0,"result":[{"uuid":"a","status":"active","currency_code":"USDT","balance":"12.50","balance_usd":"12.5","locked_balance":"0"}]}"#,
    ))
    .await;
    let b = c2328(&base).balance().await.unwrap();
    assert_eq!(b[0].balance.to_string(), "12.50");
    assert_eq!(
        server.await.unwrap().unwrap().request_line,
        "GET /api/v1/balance HTTP/1.1"
    );
}

// --- 2328: garbage answers --------------------------------------------------------------------

#[tokio::test]
async fn html_error_page_is_ambiguous() {
    let page = "<html><body><h1>Oops</h1></body></html>";
    let (out, _) = create_2328(Reply::Raw(response("200 OK", &[], "text/html", page))).await;
    assert!(ambiguous_message(out).contains("HTML"));
}

#[tokio::test]
async fn truncated_json_is_ambiguous() {
    let body = result_body(r#""pending""#);
    let (out, _) = create_2328(json("200 OK", &body[..body.len() / 2])).await;
    assert!(ambiguous_message(out).contains("invalid JSON"));
}

#[tokio::test]
async fn body_cut_short_by_the_connection() {
    // Content-Length promises more than is sent, then the connection closes.
    let body = result_body(r#""pending""#);
    let mut raw = response("200 OK", &[], "application/json", &body);
    raw.truncate(raw.len() - 40);
    let (out, _) = create_2328(Reply::Raw(raw.clone())).await;
    ambiguous_message(out);
    let (out, _) = lookup_2328(Reply::Raw(raw)).await;
    assert!(
        matches!(out, Err(GatewayError::Unavailable { .. })),
        "{out:?}"
    );
}

#[tokio::test]
async fn missing_field_is_named() {
    let body = result_body(r#""pending""#).replace(&format!(r#""uuid":"{UUID}","#), "");
    let (out, _) = create_2328(json("200 OK", &body)).await;
    assert!(ambiguous_message(out).contains("result.uuid: missing"));
}

#[tokio::test]
async fn number_where_a_string_belongs_is_named() {
    let (out, _) = create_2328(json("200 OK", &result_body("3"))).await;
    assert!(ambiguous_message(out).contains("result.status: expected a string, found number 3"));
}

#[tokio::test]
async fn unknown_status_is_ambiguous_on_create_and_lookup() {
    let (out, _) = create_2328(json("200 OK", &result_body(r#""weird""#))).await;
    assert!(ambiguous_message(out).contains(r#"result.status: unknown value "weird""#));
    let (out, _) = lookup_2328(json("200 OK", &result_body(r#""weird""#))).await;
    assert!(ambiguous_message(out).contains(r#"result.status: unknown value "weird""#));
}

#[tokio::test]
async fn missing_state_is_ambiguous() {
    let (out, _) = create_2328(json("200 OK", r#"{"result":{}}"#)).await;
    assert!(ambiguous_message(out).contains("state: missing"));
}

// --- 2328: refusals -----------------------------------------------------------------------------

#[tokio::test]
async fn validation_envelope_is_rejected_with_its_message() {
    let (out, _) = create_2328(json(
        "422 Unprocessable Entity",
        r#"{"state":1,"message":"Validation error","errors":{"amount":["The amount is too small."]}}"#,
    ))
    .await;
    match out {
        Err(GatewayError::Rejected { message, .. }) => {
            assert!(message.contains("The amount is too small."), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn signature_envelope_and_401_are_auth() {
    let (out, _) = create_2328(json(
        "400 Bad Request",
        r#"{"state":1,"message":"Invalid sign"}"#,
    ))
    .await;
    assert!(matches!(out, Err(GatewayError::Auth { .. })), "{out:?}");
    let (out, _) = create_2328(json("401 Unauthorized", r#"{"state":1,"message":"no"}"#)).await;
    assert!(matches!(out, Err(GatewayError::Auth { .. })), "{out:?}");
}

#[tokio::test]
async fn lookup_refusals_never_mark_a_row_failed() {
    let (out, _) = lookup_2328(json(
        "400 Bad Request",
        r#"{"state":1,"message":"bad uuid"}"#,
    ))
    .await;
    assert!(
        matches!(out, Err(GatewayError::Ambiguous { .. })),
        "{out:?}"
    );
    let (out, _) = lookup_2328(json(
        "404 Not Found",
        r#"{"state":1,"message":"not found"}"#,
    ))
    .await;
    assert!(matches!(out, Err(GatewayError::NotFound { .. })), "{out:?}");
}

// --- HTTP status classes ----------------------------------------------------------------------

#[tokio::test]
async fn rate_limited_with_retry_after_seconds() {
    let (out, _) = create_2328(Reply::Raw(response(
        "429 Too Many Requests",
        &["Retry-After: 7"],
        "application/json",
        r#"{"state":1,"message":"Too many requests"}"#,
    )))
    .await;
    assert_eq!(
        out,
        Err(GatewayError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        })
    );
}

#[tokio::test]
async fn rate_limited_with_epoch_reset() {
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    let header = format!("X-RateLimit-Reset: {reset}");
    let (out, _) = create_2328(Reply::Raw(response(
        "429 Too Many Requests",
        &[&header],
        "text/plain",
        "slow down",
    )))
    .await;
    match out {
        Err(GatewayError::RateLimited {
            retry_after: Some(d),
        }) => {
            assert!(
                d > Duration::from_secs(25) && d <= Duration::from_secs(30),
                "{d:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn teapot_is_banned() {
    let (out, _) = create_2328(Reply::Raw(response(
        "418 I'm a teapot",
        &[],
        "text/plain",
        "banned",
    )))
    .await;
    assert!(matches!(out, Err(GatewayError::Banned { .. })), "{out:?}");
    assert!(out.unwrap_err().is_fatal());
}

#[tokio::test]
async fn server_errors_on_create_and_lookup() {
    let page = |s: &str| Reply::Raw(response(s, &[], "text/html", "<html>error</html>"));
    let (out, _) = create_2328(page("500 Internal Server Error")).await;
    assert!(
        matches!(out, Err(GatewayError::Ambiguous { .. })),
        "{out:?}"
    );
    for s in [
        "502 Bad Gateway",
        "503 Service Unavailable",
        "504 Gateway Timeout",
    ] {
        let (out, _) = create_2328(page(s)).await;
        assert!(
            matches!(out, Err(GatewayError::Unavailable { .. })),
            "{s}: {out:?}"
        );
    }
    let (out, _) = lookup_2328(page("500 Internal Server Error")).await;
    assert!(
        matches!(out, Err(GatewayError::Unavailable { .. })),
        "{out:?}"
    );
}

// --- transport ----------------------------------------------------------------------------------

#[tokio::test]
async fn connection_dropped_after_the_request_was_read() {
    let (out, cap) = create_2328(Reply::Drop).await;
    assert!(cap.is_some(), "the server read the request");
    ambiguous_message(out);
    let (out, _) = lookup_2328(Reply::Drop).await;
    assert!(
        matches!(out, Err(GatewayError::Unavailable { .. })),
        "{out:?}"
    );
}

#[tokio::test]
async fn answer_slower_than_the_request_timeout() {
    let late = Reply::Late(
        Duration::from_secs(3),
        response(
            "200 OK",
            &[],
            "application/json",
            &result_body(r#""pending""#),
        ),
    );
    let started = Instant::now();
    let (out, _) = create_2328(late.clone()).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(ambiguous_message(out).contains("timed out"));
    let (out, _) = lookup_2328(late).await;
    assert!(
        matches!(out, Err(GatewayError::Unavailable { .. })),
        "{out:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let out = c2328(&format!("http://{addr}"))
        .create(&request(ORDER))
        .await;
    assert!(
        matches!(out, Err(GatewayError::Unavailable { .. })),
        "{out:?}"
    );
}

// --- BlockATM ------------------------------------------------------------------------------------

const SECRET: &str = "test-secret";

fn ba(base: &str) -> BlockAtmClient {
    BlockAtmClient::new(
        settings(base),
        "ak-1".into(),
        SECRET.into(),
        "CONTRACT_001".into(),
        PayoutType::Balance,
        None,
    )
    .unwrap()
}

fn ba_request(order: &str, amount: &str) -> PayoutRequest {
    PayoutRequest {
        order_id: OrderId(order.into()),
        currency: "USDT".into(),
        network: "TRX-TRC20".into(),
        amount: Decimal::from_str(amount).unwrap(),
        to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
        memo: None,
        fee_option: FeeOption::Deduct,
        from_currency: None,
        remark: Some("User withdrawal".into()),
        url_callback: None,
    }
}

/// The V2 signature written here from the BlockATM document: sorted top-level `key=value`,
/// raw values, nested values as their compact JSON, then `&time=`.
fn doc_sign_blockatm(body: &[u8], time: &str) -> String {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).unwrap();
    let mut pairs: Vec<(String, String)> = map
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    pairs.sort();
    let mut s: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    s.push(format!("time={time}"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(s.join("&").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn blockatm_create_is_signed_over_what_is_sent() {
    let (base, server) = serve(json(
        "200 OK",
        r#"{"code":"200","success":true,"data":{"orderNo":"PAYOUT_1","orderId":"77","status":"SUCCESS","createTime":1742723373000},"trace":"t","msg":""}"#,
    ))
    .await;
    let state = ba(&base)
        .create(&ba_request("PAYOUT_1", "100.00"))
        .await
        .unwrap();
    assert_eq!(state.status, Status::Pending);
    assert_eq!(state.gateway_id, Some(GatewayId("77".into())));
    let cap = server.await.unwrap().unwrap();
    assert_eq!(cap.request_line, "POST /order/api/v2/payout/order HTTP/1.1");
    let time = cap.header("BlockATM-Request-Time").unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(now_ms.abs_diff(time.parse::<u128>().unwrap()) < 10_000);
    assert_eq!(
        cap.header("BlockATM-Signature-V2"),
        Some(doc_sign_blockatm(&cap.body, time).as_str())
    );
    assert_eq!(cap.header("BlockATM-API-Key"), Some("ak-1"));
    assert_eq!(cap.header("BlockATM-Rec_Window"), Some("30000"));
    assert!(String::from_utf8(cap.body)
        .unwrap()
        .contains(r#""amount":"100.00""#));
}

#[tokio::test]
async fn blockatm_detail_and_not_found() {
    let (base, server) = serve(json(
        "200 OK",
        r#"{"code":"000202","success":false,"data":null,"msg":"data does not exist"}"#,
    ))
    .await;
    let out = ba(&base).lookup(&OrderId("PAYOUT_001".into()), None).await;
    assert!(matches!(out, Err(GatewayError::NotFound { .. })), "{out:?}");
    let cap = server.await.unwrap().unwrap();
    assert_eq!(
        cap.request_line,
        "GET /order/api/v2/payout/detail?orderNo=PAYOUT_001 HTTP/1.1"
    );
    let time = cap.header("BlockATM-Request-Time").unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("orderNo=PAYOUT_001&time={time}").as_bytes());
    assert_eq!(
        cap.header("BlockATM-Signature-V2"),
        Some(hex::encode(mac.finalize().into_bytes()).as_str())
    );
}

async fn ba_create(reply: Reply) -> Result<payrun::gateway::PayoutState, GatewayError> {
    let (base, _server) = serve(reply).await;
    ba(&base).create(&ba_request("PAYOUT_1", "1")).await
}

#[tokio::test]
async fn blockatm_refuse_is_a_failed_state_not_an_error() {
    let out = ba_create(json(
        "200 OK",
        r#"{"code":"200","success":true,"data":{"orderNo":"PAYOUT_1","orderId":"78","status":"REFUSE","createTime":1}}"#,
    ))
    .await;
    assert_eq!(out.unwrap().status, Status::Failed);
}

#[tokio::test]
async fn blockatm_error_codes_on_create() {
    let env = |code: &str| {
        json(
            "200 OK",
            &format!(r#"{{"code":"{code}","success":false,"data":null,"msg":"m"}}"#),
        )
    };
    assert!(matches!(
        ba_create(env("000106")).await,
        Err(GatewayError::Duplicate { .. })
    ));
    assert!(matches!(
        ba_create(env("000107")).await,
        Err(GatewayError::Unavailable { .. })
    ));
    assert!(matches!(
        ba_create(env("000306")).await,
        Err(GatewayError::Auth { .. })
    ));
    assert!(matches!(
        ba_create(env("000404")).await,
        Err(GatewayError::Rejected { .. })
    ));
    assert!(matches!(
        ba_create(env("000999")).await,
        Err(GatewayError::Ambiguous { .. })
    ));
}

#[tokio::test]
async fn blockatm_garbage_is_ambiguous() {
    let out = ba_create(Reply::Raw(response(
        "200 OK",
        &[],
        "text/html",
        "<!DOCTYPE html><p>hi</p>",
    )))
    .await;
    assert!(ambiguous_message(out).contains("HTML"));
    let out = ba_create(json(
        "200 OK",
        r#"{"code":"200","success":true,"data":{"orderNo":"PAYOUT_1","status":5}}"#,
    ))
    .await;
    assert!(ambiguous_message(out).contains("data.status: expected a string, found number 5"));
    let out = ba_create(json(
        "200 OK",
        r#"{"code":"200","success":true,"data":null}"#,
    ))
    .await;
    assert!(ambiguous_message(out).contains("data: missing"));
}

#[tokio::test]
async fn blockatm_batch_is_signed_and_mapped_per_order() {
    let (base, server) = serve(json(
        "200 OK",
        r#"{"code":"200","success":true,"data":{"successCount":1,"failCount":1,"orders":[{"orderNo":"PAYOUT_001","orderId":"1","status":"SUCCESS"},{"orderNo":"PAYOUT_002","code":"000201","msg":"exists"}]}}"#,
    ))
    .await;
    let mut a = ba_request("PAYOUT_001", "50.00");
    let mut b = ba_request("PAYOUT_002", "30.00");
    a.remark = None;
    b.remark = None;
    let out = ba(&base).create_batch(&[a, b]).await.unwrap();
    assert_eq!(out[0].1.as_ref().unwrap().status, Status::Pending);
    assert!(matches!(out[1].1, Err(GatewayError::Duplicate { .. })));
    let cap = server.await.unwrap().unwrap();
    assert_eq!(cap.request_line, "POST /order/api/v2/payout/batch HTTP/1.1");
    assert_eq!(
        String::from_utf8(cap.body.clone()).unwrap(),
        r#"{"contractId":"CONTRACT_001","payoutType":1,"orders":[{"orderNo":"PAYOUT_001","recipient":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"50.00","symbol":"USDT"},{"orderNo":"PAYOUT_002","recipient":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","amount":"30.00","symbol":"USDT"}]}"#
    );
    let time = cap.header("BlockATM-Request-Time").unwrap();
    assert_eq!(
        cap.header("BlockATM-Signature-V2"),
        Some(doc_sign_blockatm(&cap.body, time).as_str())
    );
}

#[tokio::test]
async fn blockatm_dropped_connection_and_429() {
    assert!(matches!(
        ba_create(Reply::Drop).await,
        Err(GatewayError::Ambiguous { .. })
    ));
    let out = ba_create(Reply::Raw(response(
        "429 Too Many Requests",
        &["X-RateLimit-Reset: 2"],
        "application/json",
        "{}",
    )))
    .await;
    assert_eq!(
        out,
        Err(GatewayError::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        })
    );
}
