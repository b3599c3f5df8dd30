//! The embedded sandbox gateway: one loopback HTTP listener speaking both payout APIs at their
//! real paths, so pointing `PAYRUN_BASE_URL` at it is the only change from production.
//!
//! - 2328 under `/api/v1/...` (base URL `http://ADDR/api`), see [`api2328`];
//! - BlockATM under `/order/api/v2/payout/...` (base URL `http://ADDR`), see [`apiblockatm`];
//! - admin endpoints under `/__sandbox/...`, see [`admin`].
//!
//! It verifies signatures and timestamps, enforces `order_id` idempotency (2328) and orderNo
//! uniqueness (BlockATM, switchable), rate limits with 429, computes fees ([`fees`]), settles
//! payouts over time ([`settle`]), sends signed webhooks ([`webhooks`]), injects faults
//! ([`faults`]) and records every request and payout ([`state`]) so tests can prove
//! exactly-once.
//!
//! Credentials: [`SandboxConfig::from_env`] takes `PAYRUN_PROJECT`, `PAYRUN_API_KEY` (the 2328
//! payout key *and* the BlockATM API key), `PAYRUN_API_SECRET`, `PAYRUN_CONTRACT_ID` and
//! `PAYRUN_NETWORK` when set; otherwise the fixed sandbox-only defaults:
//!
//! | what | default |
//! |---|---|
//! | 2328 project | [`DEFAULT_PROJECT`] `00000000-0000-4000-8000-000000002328` |
//! | 2328 payout key | [`DEFAULT_PAYOUT_KEY`] `sandbox-payout-key` |
//! | BlockATM API key | [`DEFAULT_API_KEY`] `sandbox-api-key` |
//! | BlockATM secret | [`DEFAULT_SECRET`] `sandbox-secret` |
//! | BlockATM contract | [`DEFAULT_CONTRACT_ID`] `SANDBOX-CONTRACT` |
//! | BlockATM chain | [`DEFAULT_CHAIN`] `TRX-TRC20` |
//!
//! State: in memory only by default; with [`SandboxConfig::state_file`] the payouts, balances
//! and counters live in a file that a later sandbox loads, so a process killed and started
//! again meets a gateway that remembers every payout it created (see [`statefile`]).

pub mod admin;
pub mod api2328;
pub mod apiblockatm;
pub mod faults;
pub mod fees;
pub mod ratelimit;
mod server;
pub mod settle;
pub mod state;
pub mod statefile;
pub mod webhooks;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rust_decimal::Decimal;

pub use faults::{FaultKind, FaultRule};
pub use state::{RecordedRequest, SandboxPayout, WebhookDelivery};
pub use statefile::reset_state;

use crate::model::GatewayKind;
use crate::networks;
use server::Shared;
use state::State;

pub const DEFAULT_PROJECT: &str = "00000000-0000-4000-8000-000000002328";
pub const DEFAULT_PAYOUT_KEY: &str = "sandbox-payout-key";
pub const DEFAULT_API_KEY: &str = "sandbox-api-key";
pub const DEFAULT_SECRET: &str = "sandbox-secret";
pub const DEFAULT_CONTRACT_ID: &str = "SANDBOX-CONTRACT";
pub const DEFAULT_CHAIN: &str = "TRX-TRC20";

/// How the sandbox behaves.
#[derive(Clone)]
pub struct SandboxConfig {
    /// 2328 project UUID (`project` header).
    pub project: String,
    /// 2328 Payout API key (request and webhook HMAC).
    pub payout_key: String,
    /// BlockATM API key (`BlockATM-API-Key`).
    pub api_key: String,
    /// BlockATM secret (request and webhook HMAC).
    pub secret: String,
    /// BlockATM payout contract id.
    pub contract_id: String,
    /// The contract's chain, a registry code served by BlockATM (`TRX-TRC20`, `ETH-ERC20`,
    /// `ARB-ERC20`).
    pub blockatm_chain: String,
    /// BlockATM orderNo uniqueness (000106 on a repeat). Off: a repeat creates a second payout.
    pub enforce_order_no_unique: bool,
    /// 2328 requests per second per project; 0 = no limit.
    pub rate_2328_per_sec: u32,
    /// BlockATM requests per minute per endpoint; 0 = no limit.
    pub rate_blockatm_per_min: u32,
    /// After this many 429s in a row a key is banned with 418 for a minute; 0 = never.
    pub ban_after_429: u32,
    /// Time from creation to the final status.
    pub settle_after: Duration,
    /// Addresses whose payouts fail with `aml_risk` (BlockATM `REFUSE`).
    pub aml_flagged: Vec<String>,
    pub faults: Vec<FaultRule>,
    /// BlockATM: accepted distance of `BlockATM-Request-Time` from now when the request has no
    /// `BlockATM-Rec_Window`.
    pub rec_window_ms: u64,
    /// BlockATM: the contract-level webhook URL (None: no BlockATM webhooks).
    pub blockatm_callback: Option<String>,
    /// Starting balance of every currency (2328 merchant balance, BlockATM contract balance).
    pub starting_balance: Decimal,
    /// Where payouts, balances and counters are kept across restarts (None: memory only). A
    /// file written for another 2328 project or BlockATM contract id is refused.
    pub state_file: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            project: DEFAULT_PROJECT.into(),
            payout_key: DEFAULT_PAYOUT_KEY.into(),
            api_key: DEFAULT_API_KEY.into(),
            secret: DEFAULT_SECRET.into(),
            contract_id: DEFAULT_CONTRACT_ID.into(),
            blockatm_chain: DEFAULT_CHAIN.into(),
            enforce_order_no_unique: true,
            rate_2328_per_sec: 10,
            rate_blockatm_per_min: 100,
            ban_after_429: 0,
            settle_after: Duration::from_secs(2),
            aml_flagged: Vec::new(),
            faults: Vec::new(),
            rec_window_ms: 30_000,
            blockatm_callback: None,
            starting_balance: Decimal::new(1_000_000_000, 0),
            state_file: None,
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("project", &self.project)
            .field("payout_key", &"<redacted>")
            .field("api_key", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("contract_id", &self.contract_id)
            .field("blockatm_chain", &self.blockatm_chain)
            .field("enforce_order_no_unique", &self.enforce_order_no_unique)
            .field("rate_2328_per_sec", &self.rate_2328_per_sec)
            .field("rate_blockatm_per_min", &self.rate_blockatm_per_min)
            .field("settle_after", &self.settle_after)
            .field("faults", &self.faults)
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

/// The environment variables [`SandboxConfig::from_env`] reads.
pub const ENV_VARS: [&str; 5] = [
    "PAYRUN_PROJECT",
    "PAYRUN_API_KEY",
    "PAYRUN_API_SECRET",
    "PAYRUN_CONTRACT_ID",
    "PAYRUN_NETWORK",
];

impl SandboxConfig {
    /// The defaults, with credentials from the environment where set (empty counts as unset).
    /// `PAYRUN_NETWORK` may be an alias; it is stored as the registry code.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut c = SandboxConfig::default();
        if let Some(v) = var("PAYRUN_PROJECT") {
            c.project = v;
        }
        if let Some(v) = var("PAYRUN_API_KEY") {
            c.payout_key = v.clone();
            c.api_key = v;
        }
        if let Some(v) = var("PAYRUN_API_SECRET") {
            c.secret = v;
        }
        if let Some(v) = var("PAYRUN_CONTRACT_ID") {
            c.contract_id = v;
        }
        if let Some(v) = var("PAYRUN_NETWORK") {
            c.blockatm_chain = networks::lookup(&v).map_or(v, |n| n.code.to_string());
        }
        c
    }
}

/// A running sandbox; stops on [`Sandbox::shutdown`] or drop.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    thread: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Starts on its own thread with its own tokio runtime (usable from sync tests and from
    /// async code), bound to `addr` (use `127.0.0.1:0` for a random port). With a state file,
    /// first loads it (errors name the file: unreadable, written for other credentials, or in
    /// use by another sandbox).
    pub fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Sandbox> {
        let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
        let chain_ok = networks::NETWORKS
            .iter()
            .any(|n| n.code == config.blockatm_chain && n.served_by(GatewayKind::BlockAtm));
        if !chain_ok {
            return Err(invalid(format!(
                "BlockATM chain {:?} is not one BlockATM serves (TRX-TRC20, ETH-ERC20, ARB-ERC20)",
                config.blockatm_chain
            )));
        }
        let state = State::open(config)?;
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("payrun-sandbox")
            .enable_all()
            .build()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::new(state, http, runtime.handle().clone()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("payrun-sandbox".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            server::run(listener, serving, stop_rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(500));
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Sandbox {
                addr,
                shared,
                stop: Mutex::new(Some(stop_tx)),
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(std::io::Error::other("sandbox thread ended before serving")),
        }
    }

    /// Starts on a random loopback port.
    pub fn start_local(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Sandbox::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/api`, the 2328 base URL.
    pub fn base_url_2328(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// `http://ADDR`, the BlockATM base URL.
    pub fn base_url_blockatm(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every payout created, in creation order (settled up to now).
    pub fn payouts(&self) -> Vec<SandboxPayout> {
        self.shared.settle_now();
        self.shared.lock().payouts.clone()
    }

    /// Every gateway request received, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every webhook delivery attempted (with its attempt count and outcome).
    pub fn webhooks(&self) -> Vec<WebhookDelivery> {
        self.shared.lock().webhooks.clone()
    }

    /// Replaces the fault rules (their counters start again).
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.shared.lock().faults = faults::FaultSet::new(rules);
    }

    pub fn set_enforce_order_no_unique(&self, on: bool) {
        self.shared.lock().config.enforce_order_no_unique = on;
    }

    /// The configuration in force (credentials, so a client can be built; the current faults).
    pub fn config(&self) -> SandboxConfig {
        let st = self.shared.lock();
        let mut c = st.config.clone();
        c.faults = st.faults.rules();
        c
    }

    /// Stops serving and waits for the server thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let stop = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(tx) = stop {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.shared.lock().close_file();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_now();
    }
}
