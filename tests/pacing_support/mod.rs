//! The pacing measurement shared by `tests/pacing.rs` and `benches/submit_pacing.rs`: the real
//! submission engine (real gateway client, real book with fsync) against the in-process
//! sandbox with added latency and the sandbox's rate limiter switched on. The gateway client is
//! wrapped only to note the instant each create/batch call starts; every call goes through to
//! the real client unchanged. 429s are counted from the sandbox's own request record.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use payrun::book::{
    AccountKey, Book, Mode as BookMode, OrderRecord, RunBook, SheetInfo, SheetSnapshot,
};
use payrun::gateway::{
    Balance, BatchItem, BlockAtmClient, Client2328, Gateway, GatewayError, HttpSettings,
    PayoutRequest, PayoutState, PayoutType, Quote,
};
use payrun::model::{FeeOption, GatewayId, GatewayKind, OrderId};
use payrun::sandbox::{FaultKind, FaultRule, Sandbox, SandboxConfig};
use payrun::submit::progress::Progress;
use payrun::submit::retry::RetryPolicy;
use payrun::submit::stop::Stop;
use payrun::submit::{Engine, Mode, Pacers, Settings};
use rust_decimal::Decimal;

/// One pacing scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub gateway: GatewayKind,
    pub orders: usize,
    /// Requests per second the client is configured for (`--rate`); None: the published limit.
    pub rate: Option<f64>,
    pub mode: Mode,
    pub chunk_size: usize,
    pub concurrency: usize,
    /// Latency the sandbox adds to every gateway request.
    pub latency: Duration,
    /// The sandbox's 2328 limit (requests per second per project).
    pub sandbox_2328_per_sec: u32,
    /// The sandbox's BlockATM limit (requests per minute per endpoint).
    pub sandbox_blockatm_per_min: u32,
}

impl Scenario {
    /// 2328 single creates at the published 10 req/s against the sandbox's published limit.
    pub fn g2328(orders: usize) -> Scenario {
        Scenario {
            gateway: GatewayKind::G2328,
            orders,
            rate: None,
            mode: Mode::Single,
            chunk_size: 1,
            concurrency: 4,
            latency: Duration::from_millis(50),
            sandbox_2328_per_sec: 10,
            sandbox_blockatm_per_min: 100,
        }
    }

    /// BlockATM batches of `chunk` at `rate` batch requests per second, the sandbox's
    /// per-endpoint limit set to exactly `rate` per second (as requests per minute).
    pub fn blockatm_batch(batches: usize, chunk: usize, rate: f64) -> Scenario {
        Scenario {
            gateway: GatewayKind::BlockAtm,
            orders: batches * chunk,
            rate: Some(rate),
            mode: Mode::Batch,
            chunk_size: chunk,
            concurrency: 4,
            latency: Duration::from_millis(50),
            sandbox_2328_per_sec: 10,
            sandbox_blockatm_per_min: (rate * 60.0).round() as u32,
        }
    }

    /// The request rate the client is configured for.
    pub fn configured_rate(&self) -> f64 {
        self.rate.unwrap_or(match self.gateway {
            GatewayKind::G2328 => 10.0,
            GatewayKind::BlockAtm => 100.0 / 60.0,
        })
    }
}

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub configured_rate: f64,
    /// Create (or batch) requests sent.
    pub requests: usize,
    /// Requests per second between the first and the last request leaving the client:
    /// (requests - 1) / (last start - first start).
    pub request_rate: f64,
    /// Rows per second between the first and the last request leaving the client: the rows
    /// the sandbox paid, less those of the first request, over (last start - first start).
    pub rows_per_sec: f64,
    /// Rows paid / `send` wall time (includes the first request's head start and the last
    /// answer's latency).
    pub wall_rows_per_sec: f64,
    /// `send` wall time.
    pub elapsed: Duration,
    /// Requests the sandbox answered with 429.
    pub too_many: usize,
    /// Payouts the sandbox created.
    pub paid: usize,
    /// Rows per request (1 single, chunk size in batch mode).
    pub rows_per_request: usize,
}

impl Outcome {
    /// Achieved request rate / configured rate.
    pub fn ratio(&self) -> f64 {
        self.request_rate / self.configured_rate
    }

    /// Rows per second / (configured rate × rows per request).
    pub fn rows_ratio(&self) -> f64 {
        self.rows_per_sec / (self.configured_rate * self.rows_per_request as f64)
    }

    pub fn line(&self, label: &str) -> String {
        format!(
            "{label}: {} requests, {:.3} req/s achieved / {:.3} configured = {:.1}%; \
             {:.1} rows/s = {:.1}% of rate x {}; {} x 429; {} paid; send took {:.2}s \
             ({:.1} rows/s wall)",
            self.requests,
            self.request_rate,
            self.configured_rate,
            100.0 * self.ratio(),
            self.rows_per_sec,
            100.0 * self.rows_ratio(),
            self.rows_per_request,
            self.too_many,
            self.paid,
            self.elapsed.as_secs_f64(),
            self.wall_rows_per_sec
        )
    }
}

/// The real client, noting when each payout-creating call starts.
pub struct Timed {
    inner: Arc<dyn Gateway>,
    starts: Mutex<Vec<Instant>>,
}

impl Timed {
    /// When each payout-creating call started, in call order.
    pub fn starts(&self) -> Vec<Instant> {
        self.starts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn note(&self) {
        self.starts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Instant::now());
    }
}

#[async_trait]
impl Gateway for Timed {
    fn kind(&self) -> GatewayKind {
        self.inner.kind()
    }
    async fn create(&self, req: &PayoutRequest) -> Result<PayoutState, GatewayError> {
        self.note();
        self.inner.create(req).await
    }
    async fn create_batch(&self, reqs: &[PayoutRequest]) -> Result<Vec<BatchItem>, GatewayError> {
        self.note();
        self.inner.create_batch(reqs).await
    }
    async fn calc(&self, req: &PayoutRequest) -> Result<Quote, GatewayError> {
        self.inner.calc(req).await
    }
    async fn lookup(
        &self,
        order_id: &OrderId,
        gateway_id: Option<&GatewayId>,
    ) -> Result<PayoutState, GatewayError> {
        self.inner.lookup(order_id, gateway_id).await
    }
    async fn balance(&self) -> Result<Vec<Balance>, GatewayError> {
        self.inner.balance().await
    }
}

/// A valid TRON address (base58check, version 0x41) derived from `n`.
fn tron_address(n: u32) -> String {
    let mut payload = vec![0x41u8];
    let mut body = [0u8; 20];
    body[..4].copy_from_slice(&n.to_be_bytes());
    body[4..8].copy_from_slice(&n.wrapping_mul(2654435761).to_le_bytes());
    body[19] = 9;
    payload.extend_from_slice(&body);
    bs58::encode(payload).with_check().into_string()
}

fn client(sb: &Sandbox, kind: GatewayKind) -> Arc<dyn Gateway> {
    let c = sb.config();
    match kind {
        GatewayKind::G2328 => Arc::new(
            Client2328::new(
                HttpSettings::new(sb.base_url_2328()),
                c.project.clone(),
                c.payout_key.clone(),
            )
            .expect("2328 client"),
        ),
        GatewayKind::BlockAtm => Arc::new(
            BlockAtmClient::new(
                HttpSettings::new(sb.base_url_blockatm()),
                c.api_key.clone(),
                c.secret.clone(),
                c.contract_id.clone(),
                PayoutType::Balance,
                None,
            )
            .expect("BlockATM client"),
        ),
    }
}

/// A sandbox as the scenario describes it: its rate limits on, latency on every request.
pub fn sandbox_for(s: &Scenario) -> Sandbox {
    let config = SandboxConfig {
        rate_2328_per_sec: s.sandbox_2328_per_sec,
        rate_blockatm_per_min: s.sandbox_blockatm_per_min,
        faults: vec![FaultRule::always(FaultKind::Latency(s.latency))],
        ..SandboxConfig::default()
    };
    Sandbox::start_local(config).expect("sandbox starts")
}

/// The real engine for `s` against `sb`, recording into a fresh book in `dir` where `reqs` are
/// the planned orders of one run (the book refuses an intent for an order it has not
/// planned); its gateway client notes when each payout-creating call starts.
pub fn engine_for(
    s: &Scenario,
    sb: &Sandbox,
    dir: &Path,
    reqs: &[PayoutRequest],
) -> (Engine, Arc<Timed>) {
    let book = Arc::new(Book::open(&dir.join("book.sqlite")).expect("book opens"));
    let c = sb.config();
    let key = match s.gateway {
        GatewayKind::G2328 => AccountKey::g2328(BookMode::Sandbox, &c.project),
        GatewayKind::BlockAtm => {
            AccountKey::blockatm(BookMode::Sandbox, &c.contract_id, &c.api_key)
        }
    };
    let account = book.account(&key).expect("account");
    let sheet = SheetInfo {
        path: dir.join("pacing.csv").to_string_lossy().into_owned(),
        name: "pacing.csv".into(),
        worksheet: None,
        sha256: String::new(),
        payouts_sha256: None,
    };
    let run = book
        .create_run(account, Some("pacing"), "pacing", &sheet, &[])
        .expect("run created");
    let planned: Vec<(OrderRecord, Option<String>)> = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                OrderRecord::planned(i as u64 + 2, String::new(), r.clone(), payrun::book::now()),
                None,
            )
        })
        .collect();
    let snapshot = SheetSnapshot {
        columns: Vec::new(),
        rows: Vec::new(),
        sheet_sha256: String::new(),
    };
    book.save_plan(account, &run, &sheet, &snapshot, &BTreeMap::new(), &planned)
        .expect("plan saved");
    let timed = Arc::new(Timed {
        inner: client(sb, s.gateway),
        starts: Mutex::new(Vec::new()),
    });
    let expect = match s.gateway {
        GatewayKind::G2328 => payrun::gateway::echo::Expect::g2328(),
        GatewayKind::BlockAtm => {
            payrun::gateway::echo::Expect::blockatm(sb.config().contract_id.clone())
        }
    };
    let engine = Engine {
        expect,
        gateway: timed.clone(),
        book: Arc::new(RunBook::new(book, account, Some(run))),
        pacers: Pacers::for_gateway(s.gateway, s.rate),
        settings: Settings {
            mode: s.mode,
            chunk_size: s.chunk_size,
            concurrency: s.concurrency,
            policy: RetryPolicy::default(),
        },
        stop: Arc::new(Stop::default()),
        progress: Arc::new(Progress::new(s.orders as u64, "pacing", true)),
    };
    (engine, timed)
}

/// `n` distinct valid USDT payouts on TRX-TRC20, order ids unique to this call.
pub fn requests(n: usize) -> Vec<PayoutRequest> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    (0..n)
        .map(|i| PayoutRequest {
            order_id: OrderId(format!("pace-{run}-{i:06}")),
            currency: "USDT".into(),
            network: "TRX-TRC20".into(),
            amount: Decimal::new(1000 + i as i64, 2),
            to_address: tron_address(i as u32 + 1),
            memo: None,
            fee_option: FeeOption::Deduct,
            from_currency: None,
            remark: None,
            url_callback: None,
        })
        .collect()
}

/// One measurement at a time in a process: two timed runs sharing the CPU would measure each
/// other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs one scenario on a fresh sandbox and book and measures it.
pub fn measure(s: &Scenario) -> Outcome {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sb = sandbox_for(s);
    let dir = tempfile::tempdir().expect("temp dir");
    let reqs = requests(s.orders);
    let (engine, timed) = engine_for(s, &sb, dir.path(), &reqs);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let start = Instant::now();
    rt.block_on(engine.send(reqs)).expect("book ok");
    let elapsed = start.elapsed();
    let starts = timed
        .starts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let too_many = sb
        .requests()
        .iter()
        .filter(|r| r.response_status == Some(429))
        .count();
    let paid = sb.payouts().len();
    sb.shutdown();
    let first = starts.iter().min().copied().unwrap_or(start);
    let last = starts.iter().max().copied().unwrap_or(start);
    let span = last.duration_since(first).as_secs_f64();
    let rows_per_request = match s.mode {
        Mode::Single => 1,
        Mode::Batch => s.chunk_size,
    };
    let (request_rate, rows_per_sec) = if starts.len() > 1 && span > 0.0 {
        (
            (starts.len() - 1) as f64 / span,
            paid.saturating_sub(rows_per_request) as f64 / span,
        )
    } else {
        (0.0, 0.0)
    };
    Outcome {
        configured_rate: s.configured_rate(),
        requests: starts.len(),
        request_rate,
        rows_per_sec,
        wall_rows_per_sec: paid as f64 / elapsed.as_secs_f64(),
        elapsed,
        too_many,
        paid,
        rows_per_request,
    }
}
