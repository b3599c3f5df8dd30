//! The HTTP side: a listener whose connections can be killed from a handler (for
//! apply-then-drop), the shared state handle, and the one dispatcher every request goes
//! through: record → rate limit → faults → the gateway's handler → state file write →
//! after-apply faults.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::faults::{AfterApply, Decision};
use super::ratelimit::{retry_after_secs, RateDecision};
use super::state::{RecordedRequest, State};
use super::webhooks::{self, WebhookJob};
use super::{admin, api2328, apiblockatm, settle};
use crate::model::{GatewayKind, Status};

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;
/// How often the background task settles due payouts.
const SETTLE_TICK: Duration = Duration::from_millis(20);

/// State shared by the handlers, the settle task and the public handle.
pub struct Shared {
    state: Mutex<State>,
    pub http: reqwest::Client,
    pub runtime: tokio::runtime::Handle,
}

impl Shared {
    pub fn new(state: State, http: reqwest::Client, runtime: tokio::runtime::Handle) -> Shared {
        Shared {
            state: Mutex::new(state),
            http,
            runtime,
        }
    }

    /// The state; a poisoned lock is recovered (the data stays consistent per operation).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Settles what is due now, writes the state file when that changed anything, and sends
    /// the resulting webhooks (held back while the write fails).
    pub fn settle_now(self: &Arc<Self>) {
        let jobs = {
            let mut st = self.lock();
            let now = Instant::now();
            let due = st
                .payouts
                .iter()
                .any(|p| p.status == Status::Pending && now >= p.settle_at);
            let jobs = settle::settle_due(&mut st, now);
            if due || !st.held_webhooks.is_empty() {
                st.commit(jobs).unwrap_or_else(|e| {
                    tracing::error!("sandbox: cannot write the state file: {e}");
                    Vec::new()
                })
            } else {
                jobs
            }
        };
        self.send_webhooks(jobs);
    }

    pub fn send_webhooks(self: &Arc<Self>, jobs: Vec<WebhookJob>) {
        for job in jobs {
            let shared = Arc::clone(self);
            self.runtime.spawn(webhooks::deliver(shared, job));
        }
    }
}

/// What a gateway handler answers.
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub webhooks: Vec<WebhookJob>,
}

impl Reply {
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: serde_json::to_vec(value).unwrap_or_default(),
            webhooks: Vec::new(),
        }
    }

    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        resp
    }
}

/// One parsed request as the gateway handlers see it.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A TCP listener whose streams carry a kill switch.
pub struct KillableListener(pub TcpListener);

/// A TCP stream that, once killed, refuses every write (hyper then closes the connection
/// without having written a byte of the response).
pub struct KillableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let _ = inner.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (KillableStream { inner, kill }, addr);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The kill switch of the connection a request arrived on.
#[derive(Clone)]
pub struct ConnHandle(Arc<AtomicBool>);

impl Connected<IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        ConnHandle(Arc::clone(&stream.io().kill))
    }
}

/// Serves until `stop` fires; also runs the settle ticker.
pub async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let ticker = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SETTLE_TICK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                shared.settle_now();
            }
        })
    };
    let app = Router::new().fallback(dispatch).with_state(shared);
    let server = axum::serve(
        KillableListener(listener),
        app.into_make_service_with_connect_info::<ConnHandle>(),
    );
    tokio::select! {
        _ = server => {}
        _ = stop => {}
    }
    ticker.abort();
}

fn gateway_of(path: &str) -> Option<GatewayKind> {
    if path.starts_with("/api/") {
        Some(GatewayKind::G2328)
    } else if path.starts_with("/order/api/v2/") {
        Some(GatewayKind::BlockAtm)
    } else {
        None
    }
}

async fn dispatch(
    AxState(shared): AxState<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if path.starts_with("/__sandbox/") {
        let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
        return admin::handle(&shared, &parts.method, &path, &bytes);
    }
    let gateway = gateway_of(&path);
    let bytes: Bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let incoming = Incoming {
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
        body: &bytes,
    };
    let now = Instant::now();
    let (index, rate, decision) = {
        let mut guard = shared.lock();
        let st = &mut *guard;
        let index = st.requests.len();
        st.requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map_or(path.clone(), |pq| pq.to_string()),
            gateway,
            order_ids: order_ids_in(gateway, &incoming),
            response_status: None,
            fault: None,
        });
        let ban = st.config.ban_after_429;
        let rate = match gateway {
            Some(GatewayKind::G2328) => {
                let project = header(&parts.headers, "project").unwrap_or_default();
                let limit = st.config.rate_2328_per_sec;
                let key = format!("2328:{project}");
                st.rate.check(&key, limit, Duration::from_secs(1), ban, now)
            }
            Some(GatewayKind::BlockAtm) => {
                let limit = st.config.rate_blockatm_per_min;
                let key = format!("blockatm:{path}");
                st.rate
                    .check(&key, limit, Duration::from_secs(60), ban, now)
            }
            None => RateDecision::Allow,
        };
        let decision = match (gateway, rate) {
            (Some(_), RateDecision::Allow) => st.faults.decide(&path),
            _ => Decision::default(),
        };
        (index, rate, decision)
    };
    let fault = (!decision.fired.is_empty()).then(|| decision.fired.join(","));
    let applied = gateway.is_some()
        && rate == RateDecision::Allow
        && !decision.too_many
        && !decision.error5xx
        && !(decision.clock_skew && gateway == Some(GatewayKind::BlockAtm));
    let finish = |status: Option<u16>| {
        if let Some(r) = shared.lock().requests.get_mut(index) {
            r.response_status = status;
            r.fault = fault.clone();
        }
    };

    let reply = match (gateway, rate) {
        (None, _) => Reply::json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"message": "no such endpoint"}),
        ),
        (Some(g), RateDecision::Limited { retry_after }) => too_many(g, retry_after),
        (Some(g), RateDecision::Banned) => banned(g),
        (Some(g), RateDecision::Allow) => {
            if decision.too_many {
                too_many(g, Duration::from_secs(1))
            } else {
                if !decision.latency.is_zero() {
                    tokio::time::sleep(decision.latency).await;
                }
                if decision.error5xx {
                    unavailable(g)
                } else if decision.clock_skew && g == GatewayKind::BlockAtm {
                    apiblockatm::failure_with_status(
                        StatusCode::OK,
                        "000105",
                        "Request time is outside the receive window",
                    )
                } else {
                    let reply = {
                        let mut st = shared.lock();
                        let jobs = settle::settle_due(&mut st, Instant::now());
                        let mut reply = match g {
                            GatewayKind::G2328 => {
                                api2328::handle_with(&mut st, &incoming, &decision.answer)
                            }
                            GatewayKind::BlockAtm => {
                                apiblockatm::handle_with(&mut st, &incoming, &decision.answer)
                            }
                        };
                        reply.webhooks.extend(jobs);
                        // Durable before the answer that may reveal it leaves.
                        match st.commit(std::mem::take(&mut reply.webhooks)) {
                            Ok(jobs) => {
                                reply.webhooks = jobs;
                                reply
                            }
                            Err(e) => {
                                tracing::error!("sandbox: cannot write the state file: {e}");
                                unavailable(g)
                            }
                        }
                    };
                    let mut reply = reply;
                    shared.send_webhooks(std::mem::take(&mut reply.webhooks));
                    reply
                }
            }
        }
    };

    match decision.after.filter(|_| applied) {
        Some(AfterApply::Drop) => {
            finish(None);
            conn.0.store(true, Ordering::SeqCst);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Some(AfterApply::Late(delay)) => {
            finish(Some(reply.status.as_u16()));
            tokio::time::sleep(delay).await;
            reply.into_response()
        }
        Some(AfterApply::Malformed) => {
            finish(Some(reply.status.as_u16()));
            let mut reply = reply;
            let keep = reply.body.len() / 2;
            reply.body.truncate(keep);
            reply.body.extend_from_slice(b"\x00<html>");
            reply.into_response()
        }
        _ => {
            finish(Some(reply.status.as_u16()));
            reply.into_response()
        }
    }
}

/// A header's value as text (None when absent or not visible ASCII).
pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn too_many(g: GatewayKind, retry_after: Duration) -> Reply {
    let secs = retry_after_secs(retry_after);
    let mut reply = match g {
        GatewayKind::G2328 => api2328::error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
        GatewayKind::BlockAtm => apiblockatm::failure_with_status(
            StatusCode::TOO_MANY_REQUESTS,
            "429",
            "Too many requests",
        ),
    };
    reply.headers.push(("retry-after", secs.to_string()));
    if g == GatewayKind::BlockAtm {
        let reset = chrono::Utc::now().timestamp() as u64 + secs;
        reply.headers.push(("x-ratelimit-reset", reset.to_string()));
    }
    reply
}

fn banned(g: GatewayKind) -> Reply {
    match g {
        GatewayKind::G2328 => api2328::error(StatusCode::IM_A_TEAPOT, "Banned for ignoring 429"),
        GatewayKind::BlockAtm => apiblockatm::failure_with_status(
            StatusCode::IM_A_TEAPOT,
            "418",
            "IP banned after continuing past 429",
        ),
    }
}

fn unavailable(g: GatewayKind) -> Reply {
    match g {
        GatewayKind::G2328 => {
            api2328::error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable")
        }
        GatewayKind::BlockAtm => apiblockatm::failure_with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            "000113",
            "Service unavailable",
        ),
    }
}

/// The order ids a request names, for the record.
fn order_ids_in(gateway: Option<GatewayKind>, req: &Incoming<'_>) -> Vec<String> {
    let json: Option<serde_json::Value> = serde_json::from_slice(req.body).ok();
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
    match gateway {
        Some(GatewayKind::G2328) => json
            .as_ref()
            .and_then(|j| text(j.get("order_id")))
            .into_iter()
            .collect(),
        Some(GatewayKind::BlockAtm) => {
            let mut ids: Vec<String> = Vec::new();
            if let Some(j) = &json {
                ids.extend(text(j.get("orderNo")));
                if let Some(orders) = j.get("orders").and_then(|o| o.as_array()) {
                    ids.extend(orders.iter().filter_map(|o| text(o.get("orderNo"))));
                }
            }
            ids.extend(
                apiblockatm::query_params(req.uri)
                    .into_iter()
                    .filter(|(k, _)| k == "orderNo")
                    .map(|(_, v)| v),
            );
            ids
        }
        None => Vec::new(),
    }
}
