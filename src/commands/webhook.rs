//! `payrun webhook serve` and `payrun webhook verify`: gateway webhooks, signature-checked.
//! `serve` accepts POSTs on any path (whatever `url_callback` path a user picked), checks each
//! with the configured account's gateway (BlockATM deliveries carry `BlockATM-Signature-V2`;
//! the other gateway's form is refused), answers 401 to a bad signature (and records nothing),
//! and records genuine status changes in the book for any run of the account (beside a running
//! `run`). The status rule makes repeated, stale and out-of-order deliveries harmless: a status
//! never moves backwards. Other methods than POST get 405. SIGINT or SIGTERM stops it
//! gracefully and the results ledgers of the runs it changed are rewritten on the way out.
//! The HTTP server itself (timeouts, connection cap, size limit, shutdown) is in
//! `webhook_server`.

use std::io::Read;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use axum::Router;

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::book::RunBook;
use crate::cli::{WebhookCommand, WebhookServeArgs, WebhookVerifyArgs};
use crate::commands::connect::account_key;
use crate::commands::{connect::runtime, open_book, results, webhook_server, Context};
use crate::exit::{Exit, ExitCode};
use crate::gateway::webhook::{
    verify_2328_webhook, verify_blockatm_webhook_with, BlockAtmWebhookCheck,
};
use crate::gateway::PayoutState;
use crate::model::GatewayKind;
use crate::reconcile::{self, webhook::Taken};

/// What a delivery was.
#[derive(Debug)]
pub enum Delivery {
    Genuine(PayoutState),
    /// Refused, with the HTTP status to answer (401: not genuine; 400: genuine-looking but
    /// unusable — a repeated key, a malformed body, another contract, a time outside the
    /// window) and why.
    Forged(String, u16),
}

/// Checks one delivery against the configured gateway's keys. A BlockATM delivery must carry
/// `BlockATM-Signature-V2` and `BlockATM-Request-Time` and is checked with the secret key; a
/// 2328 delivery is checked with the payout key. A delivery in the other gateway's form is
/// refused: for BlockATM, `PAYRUN_API_KEY` is the API key that every request carries in a
/// header, not a signing secret, so it must never verify a 2328-style body.
pub fn check(ctx: &Context, headers: &HeaderMap, body: &[u8], live: bool) -> Delivery {
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
                    401,
                );
            };
            let Some(secret) = &ctx.config.api_secret else {
                return Delivery::Forged(
                    "a BlockATM webhook arrived but PAYRUN_API_SECRET is not set".into(),
                    401,
                );
            };
            let Some(time) = header("BlockATM-Request-Time") else {
                return Delivery::Forged(
                    "BlockATM webhook without BlockATM-Request-Time".into(),
                    401,
                );
            };
            let rules = if live {
                BlockAtmWebhookCheck::live(ctx.config.contract_id.clone())
            } else {
                BlockAtmWebhookCheck::offline()
            };
            match verify_blockatm_webhook_with(secret.expose(), body, &time, &sig, &rules) {
                Ok(w) => Delivery::Genuine(w.state),
                Err(e) => Delivery::Forged(e.to_string(), e.http_status()),
            }
        }
        GatewayKind::G2328 => {
            if blockatm_form {
                return Delivery::Forged(
                    "a BlockATM delivery, but this account's gateway is 2328".into(),
                    401,
                );
            }
            let Some(key) = &ctx.config.api_key else {
                return Delivery::Forged(
                    "a 2328 webhook arrived but PAYRUN_API_KEY is not set".into(),
                    401,
                );
            };
            match verify_2328_webhook(key.expose(), body) {
                Ok(w) => Delivery::Genuine(w.state),
                Err(e) => Delivery::Forged(e.to_string(), e.http_status()),
            }
        }
    }
}

struct Served {
    ctx: Context,
    book: RunBook,
    expect: crate::gateway::echo::Expect,
    /// The runs whose orders a webhook changed (their results ledgers are rewritten on exit).
    touched: Mutex<BTreeSet<i64>>,
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
    match check(&s.ctx, &headers, &body, true) {
        Delivery::Forged(why, code) => {
            tracing::warn!("refused a webhook: {why}");
            eprintln!("refused a webhook ({code}): {why}");
            StatusCode::from_u16(code).unwrap_or(StatusCode::UNAUTHORIZED)
        }
        Delivery::Genuine(state) => {
            let id = state.order_id.clone();
            match reconcile::webhook::take(&s.book, state, &s.expect) {
                Ok(Taken::NotOurs) => {
                    eprintln!("webhook for order {id}, which the book has never sent: ignored");
                    StatusCode::OK
                }
                Ok(Taken::Refused(why)) => {
                    eprintln!("refused a webhook (400): {why}");
                    StatusCode::BAD_REQUEST
                }
                Ok(Taken::Recorded {
                    run,
                    status,
                    conflict,
                }) => {
                    s.touched
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(run);
                    match conflict {
                        Some(what) => eprintln!("webhook: order {id} → {status} ({what})"),
                        None => eprintln!("webhook: order {id} → {status}"),
                    }
                    StatusCode::OK
                }
                Err(e) => {
                    // Not recorded: answer 500 so the gateway delivers again.
                    eprintln!("could not record a webhook in the book: {e}");
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
    let book = open_book(ctx)?;
    let key = account_key(&ctx.config, ctx.global.sandbox).ok_or_else(|| {
        Exit::usage("webhook serve needs the gateway account's credentials (PAYRUN_PROJECT and PAYRUN_API_KEY, or the BlockATM contract, key and secret)")
    })?;
    let account = book.account(&key)?;
    let gateway = key.gateway;
    let expect = match gateway {
        GatewayKind::G2328 => crate::gateway::echo::Expect::g2328(),
        GatewayKind::BlockAtm => crate::gateway::echo::Expect::blockatm(
            ctx.config.contract_id.clone().unwrap_or_default(),
        ),
    };
    let served = Arc::new(Served {
        expect,
        ctx: ctx.clone(),
        book: RunBook::new(book.clone(), account, None),
        touched: Mutex::new(BTreeSet::new()),
    });
    let rt = runtime()?;
    let outcome = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| Exit::usage(format!("cannot listen on {}: {e}", args.listen)))?;
        eprintln!(
            "receiving {} webhooks on http://{} (POST, any path) for {}; book {}; Ctrl-C to stop",
            gateway,
            listener.local_addr()?,
            key.label(),
            book.path().display()
        );
        let app = Router::new()
            .route("/", any(receive))
            .route("/{*path}", any(receive))
            .with_state(served.clone());
        webhook_server::serve(listener, app, stop_signal()).await;
        Ok::<_, anyhow::Error>(())
    });
    // Drops the connections still open (clients that stalled past the grace period), after a
    // delivery being recorded has finished, before the ledgers are written: nothing is recorded
    // after them.
    drop(rt);
    outcome?;
    let touched: Vec<i64> = served
        .touched
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect();
    for run in book.runs(Some(account))? {
        if touched.contains(&run.pk) {
            results::write_beside_sheet(&book, gateway, &run, None)?;
        }
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
    match check(ctx, &headers, &body, false) {
        Delivery::Genuine(state) => {
            if ctx.global.json {
                crate::outln!(
                    "{}",
                    serde_json::json!({"valid": true, "order_id": state.order_id, "status": state.status, "gateway_status": state.gateway_status})
                );
            } else {
                crate::outln!(
                    "genuine: order {} is {} ({})",
                    state.order_id,
                    state.status,
                    state.gateway_status
                );
            }
            Ok(ExitCode::Success)
        }
        Delivery::Forged(why, _) => {
            if ctx.global.json {
                crate::outln!("{}", serde_json::json!({"valid": false, "reason": why}));
            } else {
                crate::outln!("not genuine: {why}");
            }
            Ok(ExitCode::Incomplete)
        }
    }
}

/// `payrun webhook …`.
pub fn execute(ctx: &Context, cmd: &WebhookCommand) -> anyhow::Result<ExitCode> {
    // BlockATM signs its webhooks with the secret key: without it no delivery can be told
    // genuine, which is a configuration to fix (exit 2), not a forged delivery (exit 1).
    if ctx.config.gateway == GatewayKind::BlockAtm && ctx.config.api_secret.is_none() {
        return Err(Exit::usage(
            "PAYRUN_API_SECRET is not set: BlockATM webhooks are signed with the secret key, \
             so none can be checked without it",
        )
        .into());
    }
    match cmd {
        WebhookCommand::Serve(a) => serve(ctx, a),
        WebhookCommand::Verify(a) => verify(ctx, a),
    }
}
