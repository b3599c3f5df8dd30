//! The quote stage: the cost preview before any money moves, for `payrun quote` and `run`.
//! 2328: one `calc` per distinct (currency, network, amount, fee option, from currency), paced;
//! BlockATM: the documented flat fee per order, marked as an estimate (gas is reported only
//! after the payout). Totals per currency+network and grand totals per currency. The report's
//! renderings (text, Markdown, CSV, JSON, XLSX) are in `render` and `xlsx`.

pub mod render;
pub mod xlsx;

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::gateway::{Gateway, GatewayError, PayoutRequest, Quote};
use crate::model::{GatewayKind, OrderId};
use crate::plan::PlannedOrder;
use crate::submit::pacing::Pacer;
use crate::submit::retry::{Retries, RetryPolicy};
use crate::submit::stop::Stop;

/// BlockATM's documented platform fee per payout order (1 USD, charged in the token).
pub const BLOCKATM_FEE_PER_ORDER: Decimal = Decimal::ONE;

/// Totals of one currency on one network.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct QuoteLine {
    pub currency: String,
    pub network: String,
    pub rows: u64,
    pub amount: Decimal,
    pub fees: Decimal,
    pub merchant_debit: Decimal,
    pub recipients_receive: Decimal,
    /// Rows whose fee could not be priced (calc failed): their fees are not in the totals.
    pub unpriced_rows: u64,
    /// True when fees are the documented flat fee, not a gateway computation.
    pub estimate: bool,
}

/// Grand totals of one currency over every network.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct GrandTotal {
    pub currency: String,
    pub rows: u64,
    pub amount: Decimal,
    pub fees: Decimal,
    pub merchant_debit: Decimal,
    pub recipients_receive: Decimal,
}

impl QuoteLine {
    /// The column names of [`QuoteLine::cells`], in order.
    pub const COLUMNS: [&'static str; 7] = [
        "currency",
        "network",
        "rows",
        "amount",
        "fees",
        "merchant_debit",
        "recipients_receive",
    ];

    /// The cells every tabular rendering shares: currency, network, rows, amount, fees,
    /// merchant debit, recipients get (amounts as exact decimal text).
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.currency.clone(),
            self.network.clone(),
            self.rows.to_string(),
            self.amount.to_string(),
            self.fees.to_string(),
            self.merchant_debit.to_string(),
            self.recipients_receive.to_string(),
        ]
    }
}

impl GrandTotal {
    /// The same cells as [`QuoteLine::cells`], with `TOTAL` for the network.
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.currency.clone(),
            "TOTAL".into(),
            self.rows.to_string(),
            self.amount.to_string(),
            self.fees.to_string(),
            self.merchant_debit.to_string(),
            self.recipients_receive.to_string(),
        ]
    }
}

/// The cost preview.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QuoteReport {
    pub gateway: String,
    /// XLSX: the worksheet read (absent for CSV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worksheet: Option<String>,
    pub lines: Vec<QuoteLine>,
    pub grand_totals: Vec<GrandTotal>,
    pub calc_calls: u64,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    /// Rows the fee calculator refused: left out of every total; `quote` exits 1 and `run`
    /// refuses them unless `--skip-invalid`.
    pub unpriced: Vec<Unpriced>,
    /// Rows per fee option (`deduct`, `add`); empty for BlockATM, which has none.
    pub fee_options: BTreeMap<String, u64>,
    /// The gateway's balance per currency of the totals, where it has one (2328).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub balances: BTreeMap<String, Decimal>,
    /// The variance against the previous run of the sheet in the book, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance: Option<crate::variance::Variance>,
    /// Every planned row with its quoted fee (for `--out FILE.xlsx`; not printed).
    #[serde(skip)]
    pub rows: Vec<QuotedRow>,
    /// Per-order fee, for the results ledger (not printed).
    #[serde(skip)]
    pub fee_by_order: HashMap<OrderId, Decimal>,
}

/// One planned row as the cost report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedRow {
    pub line: u64,
    pub order_id: OrderId,
    pub address: String,
    pub amount: Decimal,
    pub currency: String,
    pub network: String,
    /// `deduct` or `add` (2328); empty for BlockATM, which has no fee option.
    pub fee_option: &'static str,
    /// The quoted fee; `None` when the calculator refused the row.
    pub fee: Option<Decimal>,
    pub merchant_debit: Option<Decimal>,
    pub recipient_gets: Option<Decimal>,
    /// Why the row is not priced.
    pub refused: Option<String>,
}

/// A row the fee calculator refused, with its reason.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unpriced {
    /// The sheet line.
    pub line: u64,
    pub order_id: OrderId,
    pub currency: String,
    pub network: String,
    pub amount: Decimal,
    /// The calculator's answer (or why it could not be asked).
    pub reason: String,
}

/// How long the first fee request may take, retries included, before the gateway is called
/// unreachable (docs/design.md, "Controls before money moves").
pub const FIRST_ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(15);

/// A progress bar on a terminal's stderr, shown only once a wait passed a second.
struct SlowProgress {
    total: u64,
    started: std::time::Instant,
    bar: Option<indicatif::ProgressBar>,
    terminal: bool,
}

impl SlowProgress {
    fn new(total: u64) -> Self {
        use std::io::IsTerminal;
        SlowProgress {
            total,
            started: std::time::Instant::now(),
            bar: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn at(&mut self, done: u64) {
        if self.bar.is_none()
            && self.terminal
            && self.started.elapsed() > std::time::Duration::from_secs(1)
        {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(self.total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            b.set_style(
                indicatif::ProgressStyle::with_template("pricing [{bar:30}] {pos}/{len} ETA {eta}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            self.bar = Some(b);
        }
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }
}

impl Drop for SlowProgress {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CalcKey {
    currency: String,
    network: String,
    amount: String,
    fee_option: &'static str,
    from_currency: Option<String>,
}

fn calc_key(o: &PlannedOrder) -> CalcKey {
    CalcKey {
        currency: o.payout.currency.clone(),
        network: o.payout.network.code.to_string(),
        amount: o.payout.amount.normalize().to_string(),
        fee_option: o.payout.fee_option.as_str(),
        from_currency: o.payout.from_currency.clone(),
    }
}

/// A 429 to a request sent at `sent`: pause `pacer` and maybe slow it down
/// (`pacing::slowed_rate`), saying so once per slow-down.
fn rate_limited(
    pacer: &Pacer,
    sent: tokio::time::Instant,
    retry_after: Option<std::time::Duration>,
    policy: &RetryPolicy,
) {
    let wait = retry_after.unwrap_or(policy.default_rate_wait);
    if let Some(rate) = pacer.rate_limited(sent, wait) {
        eprintln!("{}", crate::submit::slowing_down(rate));
    }
}

async fn calc_with_retry(
    gateway: &dyn Gateway,
    pacer: &Pacer,
    req: &PayoutRequest,
) -> Result<Quote, GatewayError> {
    let policy = RetryPolicy::default();
    let mut retries = Retries::new(policy);
    // Nothing stops a quote half-way but the process itself.
    let never = Stop::default();
    loop {
        pacer.ready().await;
        let sent = tokio::time::Instant::now();
        match gateway.calc(req).await {
            Ok(q) => return Ok(q),
            Err(e) => {
                if let GatewayError::RateLimited { retry_after } = &e {
                    rate_limited(pacer, sent, *retry_after, &policy);
                }
                if !retries.wait_after(&e, &never).await {
                    return Err(e);
                }
            }
        }
    }
}

/// Prices every order. A fatal gateway answer (auth, ban), or no answer at all to the first
/// request within `FIRST_ANSWER_WITHIN`, is returned as an error; other calc failures leave
/// those rows unpriced (`QuoteReport::unpriced`, out of every total).
pub async fn compute(
    gateway: &dyn Gateway,
    pacer: &Pacer,
    orders: &[PlannedOrder],
) -> Result<QuoteReport, GatewayError> {
    let kind = gateway.kind();
    let mut report = QuoteReport {
        gateway: kind.to_string(),
        ..Default::default()
    };
    // Fee (and merchant debit, recipient amount) per distinct calc key.
    let mut priced: BTreeMap<CalcKey, Result<Quote, String>> = BTreeMap::new();
    match kind {
        GatewayKind::G2328 => {
            let mut progress = SlowProgress::new(orders.len() as u64);
            let mut answered = false;
            for (i, o) in orders.iter().enumerate() {
                progress.at(i as u64);
                let key = calc_key(o);
                if priced.contains_key(&key) {
                    continue;
                }
                report.calc_calls += 1;
                let req = o.request(None);
                let answer = if answered {
                    calc_with_retry(gateway, pacer, &req).await
                } else {
                    match tokio::time::timeout(
                        FIRST_ANSWER_WITHIN,
                        calc_with_retry(gateway, pacer, &req),
                    )
                    .await
                    {
                        Ok(a) => a,
                        Err(_) => Err(GatewayError::Unavailable {
                            message: format!(
                                "no answer within {} s",
                                FIRST_ANSWER_WITHIN.as_secs()
                            ),
                        }),
                    }
                };
                let q = match answer {
                    Ok(q) => Ok(q),
                    Err(e) if e.is_fatal() => return Err(e),
                    // Not one answer yet, and the retries are spent: the gateway is unreachable.
                    Err(
                        e @ (GatewayError::Unavailable { .. } | GatewayError::Ambiguous { .. }),
                    ) if !answered => {
                        return Err(GatewayError::Unavailable {
                            message: format!("the fee calculator is unreachable ({e})"),
                        })
                    }
                    Err(e) => Err(e.to_string()),
                };
                answered = true;
                priced.insert(key, q);
            }
        }
        GatewayKind::BlockAtm => {
            report.notes.push(format!(
                "BlockATM has no fee calculator: fees are the documented {BLOCKATM_FEE_PER_ORDER} per order (an estimate); \
                 gas (gasAmount) is charged per order after the payout and is not included"
            ));
        }
    }
    let mut lines: BTreeMap<(String, String), QuoteLine> = BTreeMap::new();
    for o in orders {
        let line = lines
            .entry((o.payout.currency.clone(), o.payout.network.code.to_string()))
            .or_insert_with(|| QuoteLine {
                currency: o.payout.currency.clone(),
                network: o.payout.network.code.to_string(),
                estimate: kind == GatewayKind::BlockAtm,
                ..Default::default()
            });
        let q = match kind {
            GatewayKind::G2328 => priced
                .get(&calc_key(o))
                .cloned()
                .unwrap_or_else(|| Err("not priced".into())),
            GatewayKind::BlockAtm => Ok(Quote {
                merchant_amount: o.payout.amount + BLOCKATM_FEE_PER_ORDER,
                network_amount: o.payout.amount,
                total_fee: BLOCKATM_FEE_PER_ORDER,
                estimate: true,
            }),
        };
        // BlockATM has no fee option: its fee is charged on top of every amount (the
        // merchant debit above), whatever a `fee_option` cell said (`fee_option_ignored`).
        let fee_option = match kind {
            GatewayKind::G2328 => o.payout.fee_option.as_str(),
            GatewayKind::BlockAtm => "",
        };
        if !fee_option.is_empty() {
            *report
                .fee_options
                .entry(fee_option.to_string())
                .or_default() += 1;
        }
        report.rows.push(QuotedRow {
            line: o.payout.line,
            order_id: o.order_id.clone(),
            address: o.payout.address.clone(),
            amount: o.payout.amount,
            currency: o.payout.currency.clone(),
            network: o.payout.network.code.to_string(),
            fee_option,
            fee: q.as_ref().ok().map(|q| q.total_fee),
            merchant_debit: q.as_ref().ok().map(|q| q.merchant_amount),
            recipient_gets: q.as_ref().ok().map(|q| q.network_amount),
            refused: q.as_ref().err().cloned(),
        });
        match q {
            Ok(q) => {
                line.rows += 1;
                line.amount += o.payout.amount;
                line.fees += q.total_fee;
                line.merchant_debit += q.merchant_amount;
                line.recipients_receive += q.network_amount;
                report.fee_by_order.insert(o.order_id.clone(), q.total_fee);
            }
            Err(reason) => {
                // Out of every total: nothing is claimed for a row the gateway would not price.
                line.unpriced_rows += 1;
                report.unpriced.push(Unpriced {
                    line: o.payout.line,
                    order_id: o.order_id.clone(),
                    currency: o.payout.currency.clone(),
                    network: o.payout.network.code.to_string(),
                    amount: o.payout.amount,
                    reason,
                });
            }
        }
    }
    report.lines = lines.into_values().collect();
    let mut grand: BTreeMap<String, GrandTotal> = BTreeMap::new();
    for l in &report.lines {
        let g = grand
            .entry(l.currency.clone())
            .or_insert_with(|| GrandTotal {
                currency: l.currency.clone(),
                ..Default::default()
            });
        g.rows += l.rows;
        g.amount += l.amount;
        g.fees += l.fees;
        g.merchant_debit += l.merchant_debit;
        g.recipients_receive += l.recipients_receive;
    }
    report.grand_totals = grand.into_values().collect();
    Ok(report)
}

/// The fee preview of `orders` ([`compute`], calc requests paced by `pacers.create`), then,
/// when `with_balance`, the 2328 balance check ([`check_balance`], paced by `pacers.lookup`).
/// Errors as [`compute`].
pub async fn preview(
    gateway: &dyn Gateway,
    pacers: &crate::submit::Pacers,
    orders: &[PlannedOrder],
    with_balance: bool,
) -> Result<QuoteReport, GatewayError> {
    let mut report = compute(gateway, &pacers.create, orders).await?;
    if with_balance {
        check_balance(gateway, &pacers.lookup, &mut report).await;
    }
    Ok(report)
}

/// Warns when a currency's merchant debit exceeds the 2328 balance.
pub async fn check_balance(gateway: &dyn Gateway, pacer: &Pacer, report: &mut QuoteReport) {
    if gateway.kind() != GatewayKind::G2328 {
        return;
    }
    pacer.ready().await;
    let sent = tokio::time::Instant::now();
    let answer = gateway.balance().await;
    if let Err(GatewayError::RateLimited { retry_after }) = &answer {
        rate_limited(pacer, sent, *retry_after, &RetryPolicy::default());
    }
    match answer {
        Ok(balances) => {
            for g in &report.grand_totals {
                let have: Decimal = balances
                    .iter()
                    .filter(|b| b.currency.eq_ignore_ascii_case(&g.currency) && b.active)
                    .map(|b| b.balance)
                    .sum();
                report.balances.insert(g.currency.clone(), have);
                if g.merchant_debit > have {
                    report.warnings.push(format!(
                        "the merchant debit of {} {} exceeds the {} balance of {}",
                        g.merchant_debit, g.currency, g.currency, have
                    ));
                }
            }
        }
        Err(e) => report
            .warnings
            .push(format!("could not read the balance: {e}")),
    }
}
