//! The second stage of the submission flags (`--mode`, `--chunk-size`, `--concurrency`,
//! `--rate`, `--rate-above-limit`): checked against the configuration and the gateway into the
//! engine's `submit::Settings` and a pacing rate. Nothing past this file sees those flags raw.

use crate::cli::config::{choose_rate, Config, PayoutType};
use crate::cli::values::PerSecond;
use crate::cli::{ModeArg, SubmitArgs};
use crate::exit::Exit;
use crate::model::GatewayKind;
use crate::submit::retry::RetryPolicy;
use crate::submit::{Mode, Settings};

/// Submission settings from flags, config and gateway.
pub fn settings(config: &Config, args: &SubmitArgs) -> Result<Settings, Exit> {
    let mode = match args.mode {
        None => match (config.gateway, config.payout_type) {
            (GatewayKind::BlockAtm, PayoutType::Balance) => Mode::Batch,
            _ => Mode::Single,
        },
        Some(ModeArg::Single) => Mode::Single,
        Some(ModeArg::Batch) => {
            if config.gateway != GatewayKind::BlockAtm {
                return Err(Exit::usage(
                    "--mode batch: 2328 has no batch endpoint (one payout per request)",
                ));
            }
            if config.payout_type == PayoutType::Allowance {
                return Err(Exit::usage("--mode batch: allowance payouts need fromAddress, which the batch endpoint does not carry; use --mode single"));
            }
            Mode::Batch
        }
    };
    let chunk_size = args.chunk_size.unwrap_or(50);
    if chunk_size == 0 || chunk_size > 1000 {
        return Err(Exit::usage("--chunk-size must be between 1 and 1000"));
    }
    let concurrency = args.concurrency.unwrap_or(4);
    if concurrency == 0 || concurrency > 64 {
        return Err(Exit::usage("--concurrency must be between 1 and 64"));
    }
    Ok(Settings {
        mode,
        chunk_size,
        concurrency,
        policy: RetryPolicy::default(),
    })
}

/// The rate (requests per second) to pace `gateway` at: `--rate`, else `PAYRUN_RATE` / `rate =`,
/// else None (the published limit). Above the published limit it is refused (exit 2) unless
/// allowed (`--rate-above-limit`, `rate_above_limit = true`), and then a warning says so — or
/// unless the gateway is a local one (`--sandbox`, or a loopback base URL), which is not the
/// gateway whose limit is published.
pub fn pacing_rate(
    config: &Config,
    sandbox: bool,
    gateway: GatewayKind,
    rate: Option<PerSecond>,
    above_limit: bool,
) -> Result<Option<f64>, Exit> {
    let local = sandbox || is_loopback(&config.effective_base_url());
    let choice = choose_rate(gateway, rate, above_limit, local, config)
        .map_err(|e| Exit::usage(e.to_string()))?;
    if let Some(w) = &choice.warning {
        eprintln!("{w}");
    }
    Ok(choice.rate)
}

/// Whether a base URL names this machine (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    match url.host_str() {
        Some(h) if h.eq_ignore_ascii_case("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}
