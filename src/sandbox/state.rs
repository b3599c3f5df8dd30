//! The sandbox's state: every payout created (in order), every request received, balances,
//! webhook deliveries, the active faults and the rate limiter. One mutex guards it; handlers
//! never hold it across an `.await`. With a state file ([`super::statefile`]) the durable part
//! (payouts, balances, counters) is loaded at start and written by [`State::commit`] before
//! each answer.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use super::faults::FaultSet;
use super::ratelimit::RateLimiter;
use super::statefile::StateFile;
use super::webhooks::WebhookJob;
use super::SandboxConfig;
use crate::model::{FeeOption, GatewayKind, Status};
use crate::networks::NETWORKS;

fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&iso(t))
}

/// ISO 8601 with seconds and a `+00:00` offset, as 2328 writes its times.
pub fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// One payout the sandbox created. Equality leaves out when a pending payout is due to settle
/// (a point on this process's monotonic clock, so the same payout reloaded from the state file
/// by another process differs there by the clocks' skew).
#[derive(Debug, Clone, Eq, Serialize)]
pub struct SandboxPayout {
    pub gateway: GatewayKind,
    /// 2328 `order_id` (empty when the request carried none) / BlockATM `orderNo`.
    pub order_id: String,
    /// 2328 `uuid` / BlockATM `orderId`.
    pub gateway_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub network: String,
    pub address: String,
    pub memo: Option<String>,
    /// 2328 only.
    pub fee_option: Option<FeeOption>,
    /// payrun's vocabulary.
    pub status: Status,
    /// The gateway's own word (`pending`/`completed`/`failed`; `PENDING`/`SUCCESS`/`REFUSE`).
    pub gateway_status: String,
    pub merchant_amount: Decimal,
    pub network_amount: Decimal,
    /// 2328 `total_fee`; BlockATM `fee` + `gasAmount`.
    pub fee: Decimal,
    pub txid: Option<String>,
    pub block_number: Option<u64>,
    pub error_type: Option<String>,
    pub url_callback: Option<String>,
    pub from_currency: Option<String>,
    pub remark: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// The amount text exactly as the request carried it (echoed in answers).
    #[serde(skip)]
    pub(crate) amount_text: String,
    #[serde(skip)]
    pub(crate) settle_at: Instant,
    #[serde(skip)]
    pub(crate) debited: Option<(Decimal, String)>,
    #[serde(skip)]
    pub(crate) payout_type: u8,
    #[serde(skip)]
    pub(crate) gas: Option<Decimal>,
}

impl PartialEq for SandboxPayout {
    fn eq(&self, o: &Self) -> bool {
        // Destructured so a new field cannot be forgotten here.
        let SandboxPayout {
            gateway,
            order_id,
            gateway_id,
            amount,
            currency,
            network,
            address,
            memo,
            fee_option,
            status,
            gateway_status,
            merchant_amount,
            network_amount,
            fee,
            txid,
            block_number,
            error_type,
            url_callback,
            from_currency,
            remark,
            created_at,
            updated_at,
            amount_text,
            settle_at: _,
            debited,
            payout_type,
            gas,
        } = self;
        *gateway == o.gateway
            && *order_id == o.order_id
            && *gateway_id == o.gateway_id
            && *amount == o.amount
            && *currency == o.currency
            && *network == o.network
            && *address == o.address
            && *memo == o.memo
            && *fee_option == o.fee_option
            && *status == o.status
            && *gateway_status == o.gateway_status
            && *merchant_amount == o.merchant_amount
            && *network_amount == o.network_amount
            && *fee == o.fee
            && *txid == o.txid
            && *block_number == o.block_number
            && *error_type == o.error_type
            && *url_callback == o.url_callback
            && *from_currency == o.from_currency
            && *remark == o.remark
            && *created_at == o.created_at
            && *updated_at == o.updated_at
            && *amount_text == o.amount_text
            && *debited == o.debited
            && *payout_type == o.payout_type
            && *gas == o.gas
    }
}

/// One request the sandbox received (admin requests are not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Which API the path belongs to (None: neither).
    pub gateway: Option<GatewayKind>,
    /// Order ids named in the request (2328 `order_id`, BlockATM `orderNo`s), best effort.
    pub order_ids: Vec<String>,
    /// The HTTP status answered; None when the connection was dropped without a response.
    pub response_status: Option<u16>,
    /// The fault rules that fired, as spec strings joined with `,` (None: no fault).
    pub fault: Option<String>,
}

/// One webhook the sandbox tried to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookDelivery {
    pub gateway: GatewayKind,
    pub url: String,
    pub order_id: String,
    pub status: String,
    pub attempts: u32,
    pub delivered: bool,
    /// The last HTTP status the receiver answered, if any.
    pub last_http_status: Option<u16>,
}

/// Everything the sandbox knows.
#[derive(Debug)]
pub struct State {
    pub config: SandboxConfig,
    pub payouts: Vec<SandboxPayout>,
    pub by_uuid: HashMap<String, usize>,
    pub by_order_2328: HashMap<String, usize>,
    pub by_order_no: HashMap<String, Vec<usize>>,
    /// 2328 merchant balances per currency.
    pub balances_2328: BTreeMap<String, Decimal>,
    /// BlockATM contract balances per token.
    pub balances_blockatm: BTreeMap<String, Decimal>,
    pub requests: Vec<RecordedRequest>,
    pub webhooks: Vec<WebhookDelivery>,
    pub faults: FaultSet,
    pub rate: RateLimiter,
    pub next_block: u64,
    pub next_order_id: u64,
    /// Where the durable part is kept (None: memory only).
    pub(crate) file: Option<StateFile>,
    /// Webhooks announcing changes a failed write left only in memory: sent once written.
    pub(crate) held_webhooks: Vec<WebhookJob>,
}

impl State {
    pub fn new(config: SandboxConfig) -> State {
        let mut balances_2328 = BTreeMap::new();
        let mut balances_blockatm = BTreeMap::new();
        for n in NETWORKS {
            for a in n.assets_2328 {
                balances_2328.insert(a.currency.to_string(), config.starting_balance);
            }
            for a in n.assets_blockatm {
                balances_blockatm.insert(a.currency.to_string(), config.starting_balance);
            }
        }
        State {
            faults: FaultSet::new(config.faults.clone()),
            config,
            payouts: Vec::new(),
            by_uuid: HashMap::new(),
            by_order_2328: HashMap::new(),
            by_order_no: HashMap::new(),
            balances_2328,
            balances_blockatm,
            requests: Vec::new(),
            webhooks: Vec::new(),
            rate: RateLimiter::default(),
            next_block: 60_000_000,
            next_order_id: 1_900_000_000_000_000_001,
            file: None,
            held_webhooks: Vec::new(),
        }
    }

    /// The starting state of `config`, with what its state file (if any) remembers loaded.
    pub fn open(config: SandboxConfig) -> io::Result<State> {
        let path = config.state_file.clone();
        let mut st = State::new(config);
        if let Some(path) = path {
            st.file = Some(StateFile::open(&path, &mut st)?);
        }
        Ok(st)
    }

    /// Makes every change so far durable (a no-op without a state file), then hands back the
    /// webhooks that may now be sent: `jobs` and any held back by an earlier failure. On
    /// failure `jobs` are held back too, and the caller must not answer with what changed.
    pub fn commit(&mut self, jobs: Vec<WebhookJob>) -> io::Result<Vec<WebhookJob>> {
        self.held_webhooks.extend(jobs);
        if let Some(mut file) = self.file.take() {
            let saved = file.save(self);
            self.file = Some(file);
            saved?;
        }
        Ok(std::mem::take(&mut self.held_webhooks))
    }

    /// Stops writing the state file and releases it (for a sandbox that has stopped).
    pub(crate) fn close_file(&mut self) {
        self.file = None;
    }

    /// Stores a new payout and indexes it; returns its position.
    pub fn insert(&mut self, p: SandboxPayout) -> usize {
        let i = self.payouts.len();
        match p.gateway {
            GatewayKind::G2328 => {
                self.by_uuid.insert(p.gateway_id.clone(), i);
                if !p.order_id.is_empty() {
                    self.by_order_2328.insert(p.order_id.clone(), i);
                }
            }
            GatewayKind::BlockAtm => self
                .by_order_no
                .entry(p.order_id.clone())
                .or_default()
                .push(i),
        }
        self.payouts.push(p);
        i
    }

    /// Whether `address` is on the AML list.
    pub fn aml_flagged(&self, address: &str) -> bool {
        self.config.aml_flagged.iter().any(|a| a == address)
    }
}
