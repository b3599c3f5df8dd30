//! The `Gateway` trait: what payrun asks of a payout gateway, with typed requests, typed
//! results and a typed error that tells the caller what it must do next. The two clients
//! (`g2328`, `blockatm`) implement it over HTTP; signatures live in `sign`, webhook checks in
//! `webhook`. What an answer echoes of the request is kept in [`Echo`] and checked against the
//! request by [`echo::compare`].

pub mod blockatm;
pub mod blockatm_codes;
pub mod echo;
pub mod g2328;
pub mod http;
pub mod json_fields;
pub mod raw_json;
pub mod sign;
pub mod webhook;
pub mod wire2328;
pub mod wireblockatm;

pub use blockatm::{BlockAtmClient, PayoutType};
pub use g2328::Client2328;
pub use http::ClientConfigError;

use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{FeeOption, GatewayId, GatewayKind, OrderId, Status};

/// One payout to create (or to price with `calc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PayoutRequest {
    pub order_id: OrderId,
    /// Currency / token symbol, upper case (`USDT`).
    pub currency: String,
    /// The registry network code (`TRX-TRC20`). BlockATM ignores it (the contract fixes the chain).
    pub network: String,
    /// Sent as its decimal text, scale preserved.
    pub amount: Decimal,
    pub to_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    pub fee_option: FeeOption,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_currency: Option<String>,
    /// BlockATM `remark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// 2328 `url_callback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_callback: Option<String>,
}

/// What the gateway says about one order, mapped onto payrun's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PayoutState {
    pub order_id: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<GatewayId>,
    /// payrun's status (`pending`, `completed`, `failed`, `cancelled`).
    pub status: Status,
    /// The gateway's own word (`pending`, `SUCCESS`, `REFUSE`, ...).
    pub gateway_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<String>,
    /// Debited from the merchant balance (2328 `merchant_amount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_amount: Option<Decimal>,
    /// Sent on chain (2328 `network_amount`; BlockATM `amount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_amount: Option<Decimal>,
    /// Fees charged (2328 `merchant_amount - network_amount`; BlockATM `fee` + `gasAmount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Decimal>,
    /// `error_type` (e.g. `aml_risk`) or a refusal's code and message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The gateway's last-change time, as it sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// What the answer said about the payout's own fields (address, amount, ...), as it said
    /// it, for [`echo::compare`]. Absent in states serialized before it existed (and not
    /// written when empty). Boxed so a state stays small in the enums and maps that hold many.
    #[serde(default, skip_serializing_if = "Echo::is_empty")]
    pub echo: Box<Echo>,
}

/// Which answer a [`PayoutState`] was decoded from. Decides which fields the answer is
/// documented to carry, so that a documented field that is missing counts as a mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// 2328 `POST /v1/payout` `result`.
    Create2328,
    /// 2328 `GET /v1/payout/status/{uuid}` `result`.
    Status2328,
    /// 2328 payout webhook (the result object plus `sign`).
    Webhook2328,
    /// BlockATM single create `data` (`orderNo`, `orderId`, `status`, `createTime` only).
    CreateBlockAtm,
    /// One item of a BlockATM batch answer (documented like a create answer).
    BatchItemBlockAtm,
    /// BlockATM detail `data`.
    DetailBlockAtm,
    /// BlockATM payout webhook.
    WebhookBlockAtm,
}

impl AnswerKind {
    /// The gateway the answer comes from.
    pub fn gateway(self) -> GatewayKind {
        match self {
            AnswerKind::Create2328 | AnswerKind::Status2328 | AnswerKind::Webhook2328 => {
                GatewayKind::G2328
            }
            AnswerKind::CreateBlockAtm
            | AnswerKind::BatchItemBlockAtm
            | AnswerKind::DetailBlockAtm
            | AnswerKind::WebhookBlockAtm => GatewayKind::BlockAtm,
        }
    }

    /// A short name for messages (`2328 create answer`, `BlockATM webhook`).
    pub fn describe(self) -> &'static str {
        match self {
            AnswerKind::Create2328 => "2328 create answer",
            AnswerKind::Status2328 => "2328 status answer",
            AnswerKind::Webhook2328 => "2328 webhook",
            AnswerKind::CreateBlockAtm => "BlockATM create answer",
            AnswerKind::BatchItemBlockAtm => "BlockATM batch item",
            AnswerKind::DetailBlockAtm => "BlockATM detail answer",
            AnswerKind::WebhookBlockAtm => "BlockATM webhook",
        }
    }
}

/// The payout fields an answer carried, exactly as it carried them (`None`: the answer did not
/// carry the field, or carried `null`). Nothing here is trusted: [`echo::compare`] checks it
/// against the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Echo {
    /// Which answer this was read from (`None` in states decoded before echoes were kept:
    /// then only the fields present are compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerKind>,
    /// The order id as echoed (2328 `order_id`, BlockATM `orderNo` / `bizOrderNo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// 2328 `to_address`, BlockATM `recipient` / `toAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_address: Option<String>,
    /// The requested amount as echoed (2328 `amount`, BlockATM `amount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// 2328 `currency`, BlockATM `symbol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// 2328 `network`; BlockATM webhook `network` (informative only: the contract fixes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `memo` when it was a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// The answer had a `memo` member at all (`"memo": null` included).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub memo_carried: bool,
    /// BlockATM `contractId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    /// The creation time as sent (2328 ISO 8601 `created_at`, BlockATM Unix ms `createTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl Echo {
    /// Nothing was echoed (a state decoded before echoes were kept, or a payrun-made state).
    pub fn is_empty(&self) -> bool {
        *self == Echo::default()
    }
}

/// A fee preview for one payout (2328 `calc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub merchant_amount: Decimal,
    pub network_amount: Decimal,
    pub total_fee: Decimal,
    /// True when the figure is the documented flat fee, not a gateway computation.
    pub estimate: bool,
}

/// One balance line (2328 `GET /v1/balance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub currency: String,
    pub balance: Decimal,
    pub locked: Option<Decimal>,
    pub active: bool,
}

/// The per-order outcome inside a batch answer.
pub type BatchItem = (OrderId, Result<PayoutState, GatewayError>);

/// Why a gateway call did not give an answer, sorted by what the caller must do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Refused for a reason that will not change: final for the row, never retried.
    #[error("refused by the gateway: {code}: {message}")]
    Rejected { code: String, message: String },
    /// HTTP 429: wait (as long as the gateway asked, when it said) and retry the same order id.
    #[error("rate limited by the gateway{}", .retry_after.map(|d| format!(" (retry after {:.1}s)", d.as_secs_f64())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx / busy / maintenance before the request could have been applied: safe to retry.
    #[error("gateway unavailable: {message}")]
    Unavailable { message: String },
    /// The request may have been applied: look it up, never resend blind.
    #[error("outcome unknown: {message}")]
    Ambiguous { message: String },
    /// Not applied, and the same request will not be applied until something on this side
    /// changes: BlockATM 000105 ("invalid request"), in practice a request time outside the
    /// gateway's receive window, i.e. this machine's clock is off. Check the clock, then retry
    /// the same order id. Never a refusal of the row.
    #[error("not applied by the gateway: {code}: {message}")]
    NotApplied { code: String, message: String },
    /// The order id already exists at the gateway (BlockATM 000106 / 000201 / 000301): resolve
    /// it by lookup, never mark it failed.
    #[error("the order already exists at the gateway: {code}: {message}")]
    Duplicate { code: String, message: String },
    /// Lookup of an order the gateway does not know (BlockATM 000202).
    #[error("the gateway does not know this order: {code}: {message}")]
    NotFound { code: String, message: String },
    /// Credentials refused: fatal for the run.
    #[error("authentication refused by the gateway: {message}")]
    Auth { message: String },
    /// HTTP 418 (blocked for ignoring rate limits): fatal for the run.
    #[error("banned by the gateway (HTTP 418): {message}")]
    Banned { message: String },
    /// The gateway has no such call (2328 batch, BlockATM calc).
    #[error("{0}")]
    Unsupported(&'static str),
}

impl GatewayError {
    /// Auth and ban stop the whole run.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            GatewayError::Auth { .. } | GatewayError::Banned { .. }
        )
    }
}

/// Connection settings shared by both clients.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub user_agent: String,
}

impl HttpSettings {
    pub fn new(base_url: impl Into<String>) -> Self {
        HttpSettings {
            base_url: base_url.into(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            user_agent: format!("payrun/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A payout gateway.
#[async_trait]
pub trait Gateway: Send + Sync {
    fn kind(&self) -> GatewayKind;

    /// Creates one payout. 2328: idempotent by `order_id` (a repeat returns the existing one).
    async fn create(&self, req: &PayoutRequest) -> Result<PayoutState, GatewayError>;

    /// Creates several payouts in one call (BlockATM batch). Not atomic: one outcome per
    /// order. 2328: `Unsupported`. A whole-call failure comes back as the outer error.
    async fn create_batch(&self, reqs: &[PayoutRequest]) -> Result<Vec<BatchItem>, GatewayError>;

    /// Fee preview (2328 `calc`). BlockATM: `Unsupported` (it has no calc endpoint).
    async fn calc(&self, req: &PayoutRequest) -> Result<Quote, GatewayError>;

    /// Looks an order up. 2328: status by `gateway_id` (uuid; `Unsupported` without one —
    /// re-POST the same order id instead). BlockATM: detail by `orderNo` (`NotFound` when the
    /// gateway does not know it).
    async fn lookup(
        &self,
        order_id: &OrderId,
        gateway_id: Option<&GatewayId>,
    ) -> Result<PayoutState, GatewayError>;

    /// Merchant balances (2328). BlockATM: `Unsupported`.
    async fn balance(&self) -> Result<Vec<Balance>, GatewayError>;
}
