//! The HTTP side of `payrun webhook serve`, set up like a public endpoint: HTTP/1.1, a bounded
//! number of connections, a deadline on every stage of a request, a body size limit, and a
//! shutdown that closes idle connections at once and gives requests in flight a short grace.
//!
//! - Headers: a client has [`HEADER_READ_TIMEOUT`] to send a request's headers, counted from
//!   when the server starts waiting for them. So a connection that never sends anything, a
//!   client that sends its headers slowly, and a keep-alive connection left idle after a
//!   request are all closed after that long.
//! - Body: the body may pause at most [`BODY_READ_TIMEOUT`] (else 400), and the whole request,
//!   body and handling, may take at most [`REQUEST_TIMEOUT`] (else 408). A body larger than
//!   [`MAX_BODY`] is answered 413, before it is read when its Content-Length says so.
//! - Connections: at most [`MAX_CONNECTIONS`] at once; see there for what happens beyond.
//! - Stop: the listener closes, idle connections are closed, and requests in flight get
//!   [`SHUTDOWN_GRACE`] to finish; clients still connected after that are dropped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// The most connections served at once. A slot is taken before a connection is accepted, so
/// beyond the cap new connections wait, unaccepted, in the kernel's listen backlog (128, the
/// standard library's and tokio's default), costing the process no file descriptor, and are
/// served in arrival order as slots free up: a client that sends nothing or stalls in its
/// headers frees its slot within [`HEADER_READ_TIMEOUT`], any client within that plus
/// [`REQUEST_TIMEOUT`]. When the backlog is full too, the kernel drops the new connection's
/// SYN and the client's TCP tries again a second or more later. Waiting, rather than
/// accepting and closing at once, means a gateway's delivery that arrives during a flood is
/// delayed, not refused. 512 stays well below the common soft limit of 1024 open files,
/// leaving room for the book and the results ledgers.
pub const MAX_CONNECTIONS: usize = 512;

/// How long a client may take to send a request's headers, and so also how long an idle
/// connection (new or kept alive after a request) stays open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest pause allowed while a request body arrives.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a request may take from its headers to its answer (reading the body, checking
/// and recording the delivery).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest request body accepted: 2 MiB, axum's default limit, which `serve` has always
/// applied. A webhook is a few kilobytes.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// After the stop signal, how long requests in flight get to finish before the server stops
/// waiting; short enough that the process ends within 5 seconds of the signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How long to wait before accepting again after `accept` failed (out of file descriptors,
/// say), so a persistent error does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `stop` completes, then shuts down as described above.
pub async fn serve(listener: TcpListener, app: Router, stop: impl Future<Output = ()>) {
    let app = app
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    let service = TowerToHyperService::new(app);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut stop => break,
        };
        // The semaphore is never closed, so this always holds a slot.
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("webhook serve: accepting a connection failed: {e}");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let conn = http.serve_connection(TokioIo::new(stream), service.clone());
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that timed out or went away: nothing to report, its slot is free again.
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!(
            "stopped waiting for clients that had not finished a request {} s after the stop signal",
            SHUTDOWN_GRACE.as_secs()
        );
    }
}
