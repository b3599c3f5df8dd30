//! Building the gateway client a command talks to: from the configuration, or — with
//! `--sandbox` — against the embedded sandbox started in-process on a loopback port.

use std::sync::Arc;

use crate::book::{AccountKey, Mode};
use crate::cli::config::Config;
use crate::exit::Exit;
use crate::gateway::blockatm::BlockAtmClient;
use crate::gateway::g2328::Client2328;
use crate::gateway::{Gateway, HttpSettings};
use crate::model::GatewayKind;
#[cfg(feature = "sandbox")]
use crate::sandbox::{Sandbox, SandboxConfig};

/// Without the `sandbox` feature there is never an embedded sandbox to keep alive.
#[cfg(not(feature = "sandbox"))]
pub enum Sandbox {}

/// What `--sandbox` and `payrun sandbox` say in a build without the embedded sandbox (exit 2).
pub fn without_sandbox() -> Exit {
    Exit::usage(
        "this payrun was built without the embedded sandbox (cargo feature `sandbox`); \
         --sandbox and `payrun sandbox` are not available",
    )
}

/// A gateway client, and the in-process sandbox it talks to when there is one (kept alive as
/// long as the connection).
pub struct Connection {
    pub gateway: Arc<dyn Gateway>,
    pub sandbox: Option<Sandbox>,
    /// The account the credentials name (live, or the embedded sandbox).
    pub account: AccountKey,
    /// The base URL requests go to.
    pub base_url: String,
    /// What every answer must agree with besides its request.
    pub expect: crate::gateway::echo::Expect,
}

/// The account a configuration names, when its credentials are there: 2328 project, or the
/// BlockATM contract and API-key fingerprint. `sandbox` means the embedded sandbox (with the
/// credentials it would be started with).
pub fn account_key(config: &Config, sandbox: bool) -> Option<AccountKey> {
    let (mode, config) = if sandbox {
        #[cfg(not(feature = "sandbox"))]
        return None;
        #[cfg(feature = "sandbox")]
        (Mode::Sandbox, sandbox_credentials(config))
    } else {
        (Mode::Live, config.clone())
    };
    match config.gateway {
        GatewayKind::G2328 => Some(AccountKey::g2328(mode, config.project.as_deref()?)),
        GatewayKind::BlockAtm => Some(AccountKey::blockatm(
            mode,
            config.contract_id.as_deref()?,
            config.api_key.as_ref()?.expose(),
        )),
    }
}

/// The configuration with the embedded sandbox's credentials filled in.
#[cfg(feature = "sandbox")]
fn sandbox_credentials(config: &Config) -> Config {
    let sc = sandbox_config(config);
    let mut config = config.clone();
    config.project = Some(sc.project.clone());
    config.contract_id = Some(sc.contract_id.clone());
    match config.gateway {
        GatewayKind::G2328 => {
            config.api_key = Some(crate::cli::config::Secret::new(sc.payout_key.clone()))
        }
        GatewayKind::BlockAtm => {
            config.api_key = Some(crate::cli::config::Secret::new(sc.api_key.clone()));
            config.api_secret = Some(crate::cli::config::Secret::new(sc.secret.clone()));
            if config.network.is_none() {
                config.network = crate::networks::lookup(&sc.blockatm_chain);
            }
        }
    }
    config
}

/// The sandbox configuration `--sandbox` uses: the environment's credentials (or the
/// documented defaults), the configured BlockATM chain, and quick settlement for demos.
#[cfg(feature = "sandbox")]
pub fn sandbox_config(config: &Config) -> SandboxConfig {
    let mut sc = SandboxConfig::from_env();
    if let Some(n) = config.network {
        sc.blockatm_chain = n.code.to_string();
    }
    sc.settle_after = std::time::Duration::from_millis(500);
    // The sandbox remembers its payouts beside the book, as a live gateway would.
    sc.state_file = config
        .book
        .as_ref()
        .ok()
        .map(|b| crate::book::location::sandbox_state_path(b));
    sc
}

/// The configuration to connect with, and the embedded sandbox started for it when `sandbox`
/// (its base URL and credentials filled in).
#[cfg(feature = "sandbox")]
fn with_sandbox(config: &Config, sandbox: bool) -> Result<(Config, Option<Sandbox>), Exit> {
    if !sandbox {
        return Ok((config.clone(), None));
    }
    let sb = Sandbox::start(sandbox_config(config), ([127, 0, 0, 1], 0).into())
        .map_err(|e| Exit::usage(format!("cannot start the embedded sandbox: {e}")))?;
    let mut config = sandbox_credentials(config);
    config.base_url = Some(match config.gateway {
        GatewayKind::G2328 => sb.base_url_2328(),
        GatewayKind::BlockAtm => sb.base_url_blockatm(),
    });
    Ok((config, Some(sb)))
}

/// Without the embedded sandbox, `--sandbox` is refused (exit 2).
#[cfg(not(feature = "sandbox"))]
fn with_sandbox(config: &Config, sandbox: bool) -> Result<(Config, Option<Sandbox>), Exit> {
    if sandbox {
        return Err(without_sandbox());
    }
    Ok((config.clone(), None))
}

/// Connects per the configuration; `sandbox` starts the embedded gateway and points at it.
pub fn connect(config: &Config, sandbox: bool) -> anyhow::Result<Connection> {
    let (config, started) = with_sandbox(config, sandbox)?;
    config
        .require_credentials()
        .map_err(|e| Exit::usage(e.to_string()))?;
    let mut settings = HttpSettings::new(config.effective_base_url());
    settings.connect_timeout = config.connect_timeout;
    settings.request_timeout = config.request_timeout;
    let secret = |s: &Option<crate::cli::config::Secret>| {
        s.as_ref()
            .map(|s| s.expose().to_string())
            .unwrap_or_default()
    };
    let gateway: Arc<dyn Gateway> = match config.gateway {
        GatewayKind::G2328 => Arc::new(
            Client2328::new(
                settings,
                config.project.clone().unwrap_or_default(),
                secret(&config.api_key),
            )
            .map_err(|e| Exit::usage(e.to_string()))?,
        ),
        GatewayKind::BlockAtm => Arc::new(
            BlockAtmClient::new(
                settings,
                secret(&config.api_key),
                secret(&config.api_secret),
                config.contract_id.clone().unwrap_or_default(),
                config.payout_type,
                config.from_address.clone(),
            )
            .map_err(|e| Exit::usage(e.to_string()))?,
        ),
    };
    let account = account_key(&config, false)
        .map(|mut a| {
            if sandbox {
                a.mode = Mode::Sandbox;
            }
            a
        })
        .ok_or_else(|| Exit::usage("the gateway account is not configured"))?;
    let expect = match config.gateway {
        GatewayKind::G2328 => crate::gateway::echo::Expect::g2328(),
        GatewayKind::BlockAtm => {
            crate::gateway::echo::Expect::blockatm(config.contract_id.clone().unwrap_or_default())
        }
    };
    Ok(Connection {
        gateway,
        sandbox: started,
        account,
        base_url: config.effective_base_url(),
        expect,
    })
}

/// A multi-threaded tokio runtime for the network commands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
