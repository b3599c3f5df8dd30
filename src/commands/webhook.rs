//! `payrun webhook serve` and `payrun webhook verify`: gateway webhooks, signature-checked.
//! `serve` accepts POSTs on any path (whatever `url_callback` path a user picked), checks each
//! with the journal's gateway (BlockATM deliveries carry `BlockATM-Signature-V2`; the other
//! gateway's form is refused), answers 401 to a bad
//! signature (and records nothing), and journals genuine status changes under the journal's
//! lock. Replay rules make repeated, stale and out-of-order deliveries harmless: a status never
//! moves backwards. Other methods than POST get 405. SIGINT or SIGTERM stops it gracefully and
//! the results ledger is rewritten on the way out.

use std::io::Read;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use axum::Router;

use crate::cli::{WebhookCommand, WebhookServeArgs, WebhookVerifyArgs};
use crate::commands::status::find_journal;
use crate::commands::{connect::runtime, results, Context};
use crate::exit::{Exit, ExitCode};
use crate::gateway::webhook::{verify_2328_webhook, verify_blockatm_webhook};
use crate::gateway::PayoutState;
use crate::journal::{self, Event, Journal, Source};
use crate::model::GatewayKind;
use crate::submit::book::Book;

/// What a delivery was.
#[derive(Debug)]
pub enum Delivery {
    Genuine(PayoutState),
    Forged(String),
}

/// Checks one delivery against the configured gateway's keys. A BlockATM delivery must carry
/// `BlockATM-Signature-V2` and `BlockATM-Request-Time` and is checked with the secret key; a
/// 2328 delivery is checked with the payout key. A delivery in the other gateway's form is
/// refused: for BlockATM, `PAYRUN_API_KEY` is the API key that every request carries in a
/// header, not a signing secret, so it must never verify a 2328-style body.
pub fn check(ctx: &Context, headers: &HeaderMap, body: &[u8]) -> Delivery {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let blockatm_form = headers.contains_key("BlockATM-Signature-V2");
    match ctx.config.gateway {
        GatewayKind::BlockAtm => {
            let Some(sig) = header("BlockATM-Signature-V2") else {
                return Delivery::Forged(
                    "not a BlockATM delivery (no BlockATM-Signature-V2 header)".into(),
                );
            };
            let Some(secret) = &ctx.config.api_secret else {
                return Delivery::Forged(
                    "a BlockATM webhook arrived but PAYRUN_API_SECRET is not set".into(),
                );
            };
            let Some(time) = header("BlockATM-Request-Time") else {
                return Delivery::Forged("BlockATM webhook without BlockATM-Request-Time".into());
            };
            match verify_blockatm_webhook(secret.expose(), body, &time, &sig) {
                Ok(w) => Delivery::Genuine(w.state),
                Err(e) => Delivery::Forged(e.to_string()),
            }
        }
        GatewayKind::G2328 => {
            if blockatm_form {
                return Delivery::Forged(
                    "a BlockATM delivery, but this journal's gateway is 2328".into(),
                );
            }
            let Some(key) = &ctx.config.api_key else {
                return Delivery::Forged(
                    "a 2328 webhook arrived but PAYRUN_API_KEY is not set".into(),
                );
            };
            match verify_2328_webhook(key.expose(), body) {
                Ok(w) => Delivery::Genuine(w.state),
                Err(e) => Delivery::Forged(e.to_string()),
            }
        }
    }
}

struct Served {
    ctx: Context,
    book: Book,
}

async fn receive(
    State(s): State<Arc<Served>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    // Gateways deliver with POST; anything else (a browser, a health check) is not a webhook.
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    match check(&s.ctx, &headers, &body) {
        Delivery::Forged(why) => {
            tracing::warn!("refused a webhook: {why}");
            eprintln!("refused a webhook (401): {why}");
            StatusCode::UNAUTHORIZED
        }
        Delivery::Genuine(state) => {
            let id = state.order_id.clone();
            if s.book.status(&id).is_none() {
                eprintln!("webhook for order {id}, which this journal does not know: ignored");
                return StatusCode::OK;
            }
            let status = state.status;
            let ev = Event::Result {
                order_id: id.clone(),
                source: Source::Webhook,
                state,
                at: journal::now(),
            };
            match s.book.record(vec![ev]) {
                Ok(()) => {
                    eprintln!("webhook: order {id} → {status}");
                    StatusCode::OK
                }
                Err(e) => {
                    // Not recorded: answer 500 so the gateway delivers again.
                    eprintln!("could not journal a webhook: {e}");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            }
        }
    }
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM (what service managers send): either stops the server
/// gracefully, so the results ledger is rewritten on the way out.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn serve(ctx: &Context, args: &WebhookServeArgs) -> anyhow::Result<ExitCode> {
    let path = find_journal(ctx.global.ledger.as_deref())?;
    let (journal, replay) =
        Journal::open_existing(&path).map_err(|e| Exit::usage(e.to_string()))?;
    let header = replay.header.clone();
    let snapshot = replay.sheet.clone();
    let mut ctx = ctx.clone();
    ctx.config.gateway = header.gateway;
    let served = Arc::new(Served {
        ctx,
        book: Book::new(journal, replay.orders),
    });
    let rt = runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| Exit::usage(format!("cannot listen on {}: {e}", args.listen)))?;
        eprintln!(
            "receiving {} webhooks on http://{} (POST, any path); journal {}; Ctrl-C to stop",
            header.gateway,
            listener.local_addr()?,
            path.display()
        );
        let app = Router::new()
            .route("/", any(receive))
            .route("/{*path}", any(receive))
            .with_state(served.clone());
        axum::serve(listener, app)
            .with_graceful_shutdown(stop_signal())
            .await?;
        Ok::<_, anyhow::Error>(())
    })?;
    if let Some(snap) = &snapshot {
        let ledger = results::build(&header, snap, &served.book.snapshot()?, &[]);
        crate::ledger::write(&results::results_path(&path), &ledger)?;
    }
    Ok(ExitCode::Interrupted)
}

fn verify(ctx: &Context, args: &WebhookVerifyArgs) -> anyhow::Result<ExitCode> {
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body)?;
    let mut headers = HeaderMap::new();
    if ctx.config.gateway == GatewayKind::BlockAtm {
        let (Some(sig), Some(time)) = (&args.signature, &args.time) else {
            return Err(Exit::usage("BlockATM webhooks need --signature and --time (the BlockATM-Signature-V2 and BlockATM-Request-Time headers)").into());
        };
        headers.insert(
            "BlockATM-Signature-V2",
            sig.parse()
                .map_err(|_| Exit::usage("--signature is not a header value"))?,
        );
        headers.insert(
            "BlockATM-Request-Time",
            time.parse()
                .map_err(|_| Exit::usage("--time is not a header value"))?,
        );
    }
    match check(ctx, &headers, &body) {
        Delivery::Genuine(state) => {
            if ctx.global.json {
                println!(
                    "{}",
                    serde_json::json!({"valid": true, "order_id": state.order_id, "status": state.status, "gateway_status": state.gateway_status})
                );
            } else {
                println!(
                    "genuine: order {} is {} ({})",
                    state.order_id, state.status, state.gateway_status
                );
            }
            Ok(ExitCode::Success)
        }
        Delivery::Forged(why) => {
            if ctx.global.json {
                println!("{}", serde_json::json!({"valid": false, "reason": why}));
            } else {
                println!("not genuine: {why}");
            }
            Ok(ExitCode::Incomplete)
        }
    }
}

/// `payrun webhook …`.
pub fn execute(ctx: &Context, cmd: &WebhookCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WebhookCommand::Serve(a) => serve(ctx, a),
        WebhookCommand::Verify(a) => verify(ctx, a),
    }
}
