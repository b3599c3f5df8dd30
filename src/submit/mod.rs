//! Submission: sends planned orders through a `Gateway` exactly once each.
//!
//! For every request: append+fsync an intent, pace (governor), send, append+fsync the answer.
//! 429 → wait as asked, maybe slow the endpoint's pacer down (`pacing::slowed_rate`), and
//! retry the same order id; 5xx, timeouts and unreadable answers →
//! backoff, then the in-doubt path (2328: re-POST the same `order_id`, documented idempotent;
//! BlockATM: look the `orderNo` up, and send again only when the gateway says it does not
//! exist); validation refusals → the row failed; auth refusal or 418 → stop the run. In-doubt
//! orders from an earlier run are resolved before anything new is sent.

pub mod pacing;
pub mod progress;
pub mod retry;
pub mod stop;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::book::{self, BookError, Event, RunBook, Source};
use crate::gateway::echo::Expect;
use crate::gateway::{Gateway, GatewayError, PayoutRequest, PayoutState};
use crate::model::{GatewayKind, OrderId, Status};
use pacing::{Pacer, PublishedLimit};
use progress::Progress;
use retry::{Retries, RetryPolicy};
use stop::Stop;

/// Single creates, or BlockATM batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Single,
    Batch,
}

/// How submission behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub chunk_size: usize,
    pub concurrency: usize,
    pub policy: RetryPolicy,
}

/// The pacers of one gateway's endpoints.
#[derive(Debug, Clone)]
pub struct Pacers {
    pub create: Arc<Pacer>,
    pub batch: Arc<Pacer>,
    pub lookup: Arc<Pacer>,
}

impl Pacers {
    /// 2328: 10 req/s per project, shared by every endpoint. BlockATM: 100 req/min per
    /// endpoint. `rate` (requests per second) overrides the published figure; it is counted
    /// over the gateway's own window (2328: a second; BlockATM: a minute), with
    /// [`pacing::WINDOW_GUARD`] of slack per window. 429s may slow a pacer down for the rest
    /// of the run ([`pacing::slowed_rate`], against the published limit).
    pub fn for_gateway(kind: GatewayKind, rate: Option<f64>) -> Pacers {
        let limit = PublishedLimit::of(kind);
        let published = limit.per_second();
        let r = rate.unwrap_or(published);
        let pacer = || Arc::new(Pacer::for_window(r, limit.window).with_published(published));
        match kind {
            GatewayKind::G2328 => {
                let p = pacer();
                Pacers {
                    create: p.clone(),
                    batch: p.clone(),
                    lookup: p,
                }
            }
            GatewayKind::BlockAtm => Pacers {
                create: pacer(),
                batch: pacer(),
                lookup: pacer(),
            },
        }
    }
}

/// What a lookup learned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resolution {
    /// The gateway has the order; its state is recorded in the book.
    Found,
    /// The gateway says it does not exist: safe to send again.
    Absent,
    /// Still unknown; the order stays in doubt and is not sent.
    InDoubt,
    /// With [`OnAbsent::Report`]: the gateway says it does not know the order (nothing
    /// recorded; the reason).
    Unknown(String),
    /// With [`OnAbsent::Report`]: the order cannot be looked up (nothing recorded; the reason).
    NoLookup(String),
}

/// What a lookup does with "the gateway does not know this order".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnAbsent {
    /// Records it as not applied: the order may be sent again (a create that never arrived).
    Resend,
    /// Records it as unresolved and leaves the order in doubt (the gateway has just said the
    /// order exists).
    Doubt,
    /// Records nothing and returns it (a status refresh: the caller decides when to give up).
    Report,
}

/// What one status refresh learned about an order ([`Engine::refresh`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// The gateway answered about the order; the answer is in the book.
    Answered,
    /// The gateway does not know the order (2328: status by uuid not found; BlockATM detail:
    /// 000202 "does not exist"). Nothing was recorded; the reason.
    Unknown(String),
    /// The order cannot be looked up (2328 without the gateway's uuid, an order left in
    /// doubt). Nothing was recorded; the reason.
    NoLookup(String),
    /// No answer this time (the lookup failed after its retries and was recorded as
    /// unresolved, or the command stopped).
    NoAnswer,
}

/// Sends orders and resolves doubts; cheap to clone into tasks.
#[derive(Clone)]
pub struct Engine {
    pub gateway: Arc<dyn Gateway>,
    pub book: Arc<RunBook>,
    pub pacers: Pacers,
    pub settings: Settings,
    pub stop: Arc<Stop>,
    pub progress: Arc<Progress>,
    /// What every answer must agree with besides its request (gateway, BlockATM contract).
    pub expect: Expect,
}

/// What payrun says when a 429 slowed a pacer down to `rate` requests per second.
pub fn slowing_down(rate: f64) -> String {
    format!(
        "the gateway answered 429: slowing to {}/s",
        pacing::fmt_rate(rate)
    )
}

impl Engine {
    /// An engine for one run's orders with a stop signal of its own (`engine.stop`): the
    /// gateway client and what its answers must agree with (`expect`), the run's book, the
    /// pacers, the settings and the progress display.
    pub fn new(
        gateway: Arc<dyn Gateway>,
        expect: Expect,
        book: Arc<RunBook>,
        pacers: Pacers,
        settings: Settings,
        progress: Arc<Progress>,
    ) -> Engine {
        Engine {
            gateway,
            book,
            pacers,
            settings,
            stop: Arc::new(Stop::default()),
            progress,
            expect,
        }
    }

    /// Pays a run's work: first resolves the orders in doubt with the gateway (those it does
    /// not have are sent again, under the same order id), then sends `to_send`. Stops early,
    /// with everything in flight recorded, when the stop signal is set.
    pub async fn pay(
        &self,
        in_doubt: Vec<OrderId>,
        mut to_send: Vec<PayoutRequest>,
    ) -> Result<(), BookError> {
        let absent = self.resolve_in_doubt(in_doubt).await?;
        to_send.extend(absent);
        if !self.stop.is_set() && !to_send.is_empty() {
            self.send(to_send).await?;
        }
        Ok(())
    }

    fn record(&self, events: Vec<Event>) -> Result<(), BookError> {
        self.book.record(events)
    }

    /// Records that none of `reqs` was applied (the order may be sent again), for `reason`.
    fn not_applied(&self, reqs: &[PayoutRequest], reason: impl ToString) -> Result<(), BookError> {
        let reason = reason.to_string();
        self.record(
            reqs.iter()
                .map(|r| Event::NotApplied {
                    order_id: r.order_id.clone(),
                    reason: reason.clone(),
                    at: book::now(),
                })
                .collect(),
        )
    }

    /// The event a gateway answer makes for its order: a result, or a conflict when it does
    /// not agree with what was sent (`reconcile::judge`).
    fn answer(&self, state: PayoutState, source: Source) -> Result<Event, BookError> {
        let id = state.order_id.clone();
        let Some(rec) = self.book.get(&id)? else {
            return Err(BookError::NoIntent { order_id: id });
        };
        let first = self.book.first_intent_at(&id)?;
        let ev = crate::reconcile::judge(&rec, state, source, first, &self.expect);
        if let Event::Conflict { differences, .. } = &ev {
            let what: Vec<String> = differences.iter().map(|d| d.to_string()).collect();
            tracing::warn!(order_id = %id, "conflict: {}", what.join("; "));
        }
        Ok(ev)
    }

    /// The intent for a request: the sheet line and fields digest of its planned order.
    fn intent(&self, req: &PayoutRequest) -> Result<Event, BookError> {
        let (line, digest) = self
            .book
            .get(&req.order_id)?
            .map(|r| (r.line, r.digest))
            .unwrap_or_default();
        Ok(Event::Intent {
            order_id: req.order_id.clone(),
            line,
            digest,
            request: req.clone(),
            at: book::now(),
        })
    }

    /// The gateway's id for an order, when the book has learned it.
    fn gateway_id(&self, id: &OrderId) -> Result<Option<crate::model::GatewayId>, BookError> {
        Ok(self
            .book
            .get(id)?
            .and_then(|r| r.state.and_then(|s| s.gateway_id)))
    }

    fn status_of(&self, id: &OrderId) -> Status {
        self.book.status(id).unwrap_or(Status::NotSent)
    }

    fn done(&self, id: &OrderId) {
        let failed = matches!(self.status_of(id), Status::Failed | Status::Cancelled);
        self.progress.finished(failed);
    }

    /// Waits for `pacer`'s next slot and returns when it was granted; None when the run stops
    /// first (a stop does not wait for the slot: leaving the wait early takes nothing from the
    /// pacer).
    async fn slot(&self, pacer: &Pacer) -> Option<Instant> {
        if self.stop.is_set() {
            return None;
        }
        tokio::select! {
            _ = pacer.ready() => (!self.stop.is_set()).then(Instant::now),
            _ = self.stopped() => None,
        }
    }

    /// The gateway answered 429 to a request sent at `sent` through `pacer`: every request on
    /// it waits as asked (else the policy's default), and the pacer may slow down, which is
    /// said once per slow-down on stderr.
    fn rate_limited(&self, pacer: &Pacer, sent: Instant, retry_after: Option<Duration>) {
        let wait = retry_after.unwrap_or(self.settings.policy.default_rate_wait);
        if let Some(rate) = pacer.rate_limited(sent, wait) {
            self.progress.note(&slowing_down(rate));
        }
    }

    /// Resolves when the run stops.
    async fn stopped(&self) {
        // `Stop::sleep` returns false as soon as the stop comes.
        while self.stop.sleep(Duration::from_secs(3600)).await {}
    }

    /// The run stopped after intents were committed but before their request left. An order
    /// that had not been sent before (its status before the intent: not sent) is put back to
    /// not sent; one that was already in doubt stays in doubt (an earlier request may have been
    /// applied), to be resolved like any other.
    fn unsent_after_intent(&self, orders: &[(&OrderId, Status)]) -> Result<(), BookError> {
        let events: Vec<Event> = orders
            .iter()
            .filter(|(_, before)| *before == Status::NotSent)
            .map(|(id, _)| Event::NotApplied {
                order_id: (*id).clone(),
                reason: "stopped before the request was sent".into(),
                at: book::now(),
            })
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        self.record(events)
    }

    /// Resolves orders left in doubt by an earlier run. Returns the requests the gateway said
    /// it does not have (BlockATM), which may now be sent again.
    pub async fn resolve_in_doubt(
        &self,
        ids: Vec<OrderId>,
    ) -> Result<Vec<PayoutRequest>, BookError> {
        let sem = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut set = JoinSet::new();
        for id in ids {
            let Some(rec) = self.book.get(&id)? else {
                continue;
            };
            let me = self.clone();
            let sem = sem.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                if me.stop.is_set() {
                    return Ok(None);
                }
                match me.gateway.kind() {
                    // 2328: re-POST the same order_id; the gateway returns the existing payout
                    // or creates it if the first request never arrived.
                    GatewayKind::G2328 => me.send_one(rec.request).await.map(|_| None),
                    GatewayKind::BlockAtm => {
                        let gid = rec.state.as_ref().and_then(|s| s.gateway_id.clone());
                        match me
                            .lookup(&id, gid.as_ref(), OnAbsent::Resend, Source::Lookup)
                            .await?
                        {
                            Resolution::Absent => Ok(Some(rec.request)),
                            _ => Ok(None),
                        }
                    }
                }
            });
        }
        let mut absent = Vec::new();
        while let Some(res) = set.join_next().await {
            if let Some(req) = join_result(res)? {
                absent.push(req);
            }
        }
        Ok(absent)
    }

    /// Sends orders in jobs (single creates, or BlockATM batches) with bounded concurrency.
    pub async fn send(&self, reqs: Vec<PayoutRequest>) -> Result<(), BookError> {
        let chunk = match self.settings.mode {
            Mode::Single => 1,
            Mode::Batch => self.settings.chunk_size.max(1),
        };
        let sem = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut set = JoinSet::new();
        let mut reqs = reqs.into_iter().peekable();
        while reqs.peek().is_some() {
            let job: Vec<PayoutRequest> = reqs.by_ref().take(chunk).collect();
            let permit = sem.clone().acquire_owned().await;
            if self.stop.is_set() {
                break;
            }
            let me = self.clone();
            set.spawn(async move {
                let _permit = permit;
                if job.len() == 1 && me.settings.mode == Mode::Single {
                    let req = job.into_iter().next().expect("one request");
                    me.send_one(req).await
                } else {
                    me.send_batch(job).await
                }
            });
            // Surface book failures early.
            while let Some(res) = set.try_join_next() {
                join_result(res)?;
            }
        }
        while let Some(res) = set.join_next().await {
            join_result(res)?;
        }
        Ok(())
    }

    /// Looks an order up (with retries) and records what the gateway says; a "does not
    /// exist" answer is handled as `absent` says.
    async fn lookup(
        &self,
        id: &OrderId,
        gid: Option<&crate::model::GatewayId>,
        absent: OnAbsent,
        source: Source,
    ) -> Result<Resolution, BookError> {
        let mut retries = Retries::new(self.settings.policy);
        loop {
            if self.stop.is_set() {
                return Ok(Resolution::InDoubt);
            }
            let Some(sent) = self.slot(&self.pacers.lookup).await else {
                return Ok(Resolution::InDoubt);
            };
            match self.gateway.lookup(id, gid).await {
                Ok(mut state) => {
                    if state.order_id != *id {
                        // An answer about another order is no answer about this one.
                        state.order_id = id.clone();
                        self.record(vec![Event::Conflict {
                            order_id: id.clone(),
                            source,
                            differences: vec![crate::book::FieldConflict {
                                field: "order_id".into(),
                                sent: id.to_string(),
                                answered: state.echo.order_id.clone().unwrap_or_default(),
                            }],
                            state: Some(state),
                            at: book::now(),
                        }])?;
                        return Ok(Resolution::Found);
                    }
                    self.record(vec![self.answer(state, source)?])?;
                    return Ok(Resolution::Found);
                }
                Err(GatewayError::NotFound { code, message }) if absent == OnAbsent::Report => {
                    return Ok(Resolution::Unknown(format!(
                        "the gateway does not know this order ({code}: {message})"
                    )));
                }
                Err(GatewayError::NotFound { code, message }) if absent == OnAbsent::Doubt => {
                    self.record(vec![Event::Unresolved {
                        order_id: id.clone(),
                        error: format!("the gateway said the order exists but its lookup does not find it ({code}: {message})"),
                        at: book::now(),
                    }])?;
                    return Ok(Resolution::InDoubt);
                }
                Err(GatewayError::NotFound { code, message }) => {
                    self.record(vec![Event::NotApplied {
                        order_id: id.clone(),
                        reason: format!("the gateway does not have this order ({code}: {message})"),
                        at: book::now(),
                    }])?;
                    return Ok(Resolution::Absent);
                }
                Err(GatewayError::Unsupported(why)) if absent == OnAbsent::Report => {
                    return Ok(Resolution::NoLookup(why.to_string()))
                }
                Err(GatewayError::Unsupported(_)) => return Ok(Resolution::InDoubt),
                Err(e) => {
                    if e.is_fatal() {
                        self.stop.fatal(e.clone());
                    }
                    if let GatewayError::RateLimited { retry_after } = &e {
                        self.rate_limited(&self.pacers.lookup, sent, *retry_after);
                    }
                    if retries.wait_after(&e, &self.stop).await {
                        continue;
                    }
                    self.record(vec![Event::Unresolved {
                        order_id: id.clone(),
                        error: format!("lookup failed: {e}"),
                        at: book::now(),
                    }])?;
                    return Ok(Resolution::InDoubt);
                }
            }
        }
    }

    /// One order through the single-create endpoint, until it has a definite answer, is left
    /// in doubt, or the run stops.
    async fn send_one(&self, req: PayoutRequest) -> Result<(), BookError> {
        let id = req.order_id.clone();
        let mut retries = Retries::new(self.settings.policy);
        loop {
            if self.stop.is_set() {
                return Ok(());
            }
            // Intent first, then the pacer: the fsync's variable time must not sit between
            // the pacer's slot and the wire, or it bunches requests at the gateway (429).
            let before = self.status_of(&id);
            crate::failpoint::hit("before_intent");
            self.record(vec![self.intent(&req)?])?;
            crate::failpoint::hit("after_intent");
            let Some(sent) = self.slot(&self.pacers.create).await else {
                self.unsent_after_intent(&[(&id, before)])?;
                return Ok(());
            };
            let now = book::now;
            let answer = self.gateway.create(&req).await;
            crate::failpoint::hit("after_send");
            match answer {
                Ok(state) if state.order_id != id => {
                    self.record(vec![Event::Conflict {
                        order_id: id.clone(),
                        source: Source::Create,
                        differences: vec![crate::book::FieldConflict {
                            field: "order_id".into(),
                            sent: id.to_string(),
                            answered: state.order_id.to_string(),
                        }],
                        state: Some(state),
                        at: now(),
                    }])?;
                    self.done(&id);
                    return Ok(());
                }
                Ok(state) => {
                    self.record(vec![self.answer(state, Source::Create)?])?;
                    self.done(&id);
                    return Ok(());
                }
                Err(GatewayError::Rejected { code, message }) => {
                    self.record(vec![Event::Refused {
                        order_id: id.clone(),
                        error: format!("{code}: {message}"),
                        at: now(),
                    }])?;
                    self.done(&id);
                    return Ok(());
                }
                Err(e @ GatewayError::NotApplied { .. }) => {
                    // Certainly not applied (a clock outside the gateway's receive window):
                    // back to not sent; the next run of this run sends it.
                    eprintln!("order {id} not applied: {e}");
                    self.record(vec![Event::NotApplied {
                        order_id: id.clone(),
                        reason: e.to_string(),
                        at: now(),
                    }])?;
                    self.done(&id);
                    return Ok(());
                }
                Err(e @ GatewayError::Duplicate { .. }) => {
                    tracing::info!(order_id = %id, "gateway reports a duplicate order ({e}); looking it up");
                    let gid = self.gateway_id(&id)?;
                    // "Exists" then "does not exist" is never taken as safe: it stays in doubt.
                    self.lookup(&id, gid.as_ref(), OnAbsent::Doubt, Source::Lookup)
                        .await?;
                    self.done(&id);
                    return Ok(());
                }
                Err(GatewayError::RateLimited { retry_after }) => {
                    self.record(vec![Event::NotApplied {
                        order_id: id.clone(),
                        reason: "rate limited (HTTP 429)".into(),
                        at: now(),
                    }])?;
                    self.rate_limited(&self.pacers.create, sent, retry_after);
                    let e = GatewayError::RateLimited { retry_after };
                    if retries.wait_after(&e, &self.stop).await {
                        continue;
                    }
                    return Ok(());
                }
                Err(e @ (GatewayError::Auth { .. } | GatewayError::Banned { .. })) => {
                    self.record(vec![Event::NotApplied {
                        order_id: id.clone(),
                        reason: e.to_string(),
                        at: now(),
                    }])?;
                    self.stop.fatal(e);
                    return Ok(());
                }
                Err(e) => {
                    // Unavailable, Ambiguous (and anything unexpected): the request may have
                    // been applied. Keep it in doubt; retry through the in-doubt path.
                    self.record(vec![Event::Unresolved {
                        order_id: id.clone(),
                        error: e.to_string(),
                        at: now(),
                    }])?;
                    if !retries.wait_after(&e, &self.stop).await {
                        return Ok(());
                    }
                    match self.gateway.kind() {
                        GatewayKind::G2328 => continue, // re-POST with the same order_id
                        GatewayKind::BlockAtm => {
                            match self
                                .lookup(&id, None, OnAbsent::Resend, Source::Lookup)
                                .await?
                            {
                                Resolution::Absent => continue,
                                Resolution::Found => {
                                    self.done(&id);
                                    return Ok(());
                                }
                                Resolution::InDoubt
                                | Resolution::Unknown(_)
                                | Resolution::NoLookup(_) => return Ok(()),
                            }
                        }
                    }
                }
            }
        }
    }

    /// A BlockATM batch. Per-order refusals are final for those rows; orders the answer does
    /// not settle are looked up, and those the gateway does not have are sent singly.
    async fn send_batch(&self, mut reqs: Vec<PayoutRequest>) -> Result<(), BookError> {
        let mut retries = Retries::new(self.settings.policy);
        let now = book::now;
        while !reqs.is_empty() {
            if self.stop.is_set() {
                return Ok(());
            }
            // Intents first, then the pacer (see `send_one`).
            let before: Vec<Status> = reqs.iter().map(|r| self.status_of(&r.order_id)).collect();
            crate::failpoint::hit("before_intent");
            self.record(
                reqs.iter()
                    .map(|r| self.intent(r))
                    .collect::<Result<_, _>>()?,
            )?;
            crate::failpoint::hit("after_intent");
            let Some(sent) = self.slot(&self.pacers.batch).await else {
                let orders: Vec<_> = reqs.iter().map(|r| &r.order_id).zip(before).collect();
                self.unsent_after_intent(&orders)?;
                return Ok(());
            };
            let answer = self.gateway.create_batch(&reqs).await;
            crate::failpoint::hit("after_send");
            match answer {
                Ok(items) => {
                    let sent: HashSet<&OrderId> = reqs.iter().map(|r| &r.order_id).collect();
                    let mut events = Vec::new();
                    let mut answered = HashSet::new();
                    let mut unsettled = Vec::new();
                    for (id, outcome) in items {
                        if !sent.contains(&id) || !answered.insert(id.clone()) {
                            tracing::warn!(order_id = %id, "batch answer names an order not in the batch (or twice); ignored");
                            continue;
                        }
                        match outcome {
                            Ok(state) => events.push(self.answer(state, Source::Create)?),
                            Err(e @ GatewayError::NotApplied { .. }) => {
                                events.push(Event::NotApplied {
                                    order_id: id,
                                    reason: e.to_string(),
                                    at: now(),
                                })
                            }
                            Err(GatewayError::Rejected { code, message }) => {
                                events.push(Event::Refused {
                                    order_id: id,
                                    error: format!("{code}: {message}"),
                                    at: now(),
                                })
                            }
                            Err(e) => {
                                events.push(Event::Unresolved {
                                    order_id: id.clone(),
                                    error: e.to_string(),
                                    at: now(),
                                });
                                unsettled.push(id);
                            }
                        }
                    }
                    for r in &reqs {
                        if !answered.contains(&r.order_id) {
                            events.push(Event::Unresolved {
                                order_id: r.order_id.clone(),
                                error: "the batch answer did not mention this order".into(),
                                at: now(),
                            });
                            unsettled.push(r.order_id.clone());
                        }
                    }
                    self.record(events)?;
                    let unsettled: HashSet<OrderId> = unsettled.into_iter().collect();
                    for r in reqs {
                        if !unsettled.contains(&r.order_id) {
                            self.done(&r.order_id);
                            continue;
                        }
                        match self
                            .lookup(&r.order_id, None, OnAbsent::Resend, Source::Lookup)
                            .await?
                        {
                            Resolution::Absent => self.send_one(r).await?,
                            Resolution::Found => self.done(&r.order_id),
                            Resolution::InDoubt
                            | Resolution::Unknown(_)
                            | Resolution::NoLookup(_) => {}
                        }
                    }
                    return Ok(());
                }
                Err(GatewayError::RateLimited { retry_after }) => {
                    self.not_applied(&reqs, "rate limited (HTTP 429)")?;
                    self.rate_limited(&self.pacers.batch, sent, retry_after);
                    let e = GatewayError::RateLimited { retry_after };
                    if retries.wait_after(&e, &self.stop).await {
                        continue;
                    }
                    return Ok(());
                }
                Err(e @ (GatewayError::Auth { .. } | GatewayError::Banned { .. })) => {
                    self.not_applied(&reqs, &e)?;
                    self.stop.fatal(e);
                    return Ok(());
                }
                Err(e @ GatewayError::NotApplied { .. }) => {
                    eprintln!("a batch of {} was not applied: {e}", reqs.len());
                    self.not_applied(&reqs, &e)?;
                    for r in &reqs {
                        self.done(&r.order_id);
                    }
                    return Ok(());
                }
                Err(e @ (GatewayError::Rejected { .. } | GatewayError::Unsupported(_))) => {
                    // The batch as a whole was refused (nothing applied): send each order singly
                    // so every refusal lands on its own row.
                    tracing::warn!("batch refused as a whole ({e}); sending its orders one by one");
                    self.not_applied(&reqs, format!("batch refused: {e}"))?;
                    for r in reqs {
                        self.send_one(r).await?;
                    }
                    return Ok(());
                }
                Err(e) => {
                    self.record(
                        reqs.iter()
                            .map(|r| Event::Unresolved {
                                order_id: r.order_id.clone(),
                                error: e.to_string(),
                                at: now(),
                            })
                            .collect(),
                    )?;
                    if !retries.wait_after(&e, &self.stop).await {
                        return Ok(());
                    }
                    let mut absent = Vec::new();
                    for r in reqs {
                        match self
                            .lookup(&r.order_id, None, OnAbsent::Resend, Source::Lookup)
                            .await?
                        {
                            Resolution::Absent => absent.push(r),
                            Resolution::Found => self.done(&r.order_id),
                            Resolution::InDoubt
                            | Resolution::Unknown(_)
                            | Resolution::NoLookup(_) => {}
                        }
                    }
                    reqs = absent;
                }
            }
        }
        Ok(())
    }

    /// Records that payrun stops asking the gateway about an order for now, and why (an
    /// `unresolved` event: the order keeps its status).
    pub fn unresolved(&self, id: &OrderId, why: String) -> Result<(), BookError> {
        self.record(vec![Event::Unresolved {
            order_id: id.clone(),
            error: why,
            at: book::now(),
        }])
    }

    /// Refreshes orders the gateway has but that are not final (status by uuid / detail by
    /// orderNo), recording each answer. Statuses never move backwards (the book's status rule).
    /// Returns what was learned about each order; an order the gateway does not know, or that
    /// cannot be looked up, is returned as such and not recorded (the caller decides when to
    /// stop asking, and records why).
    pub async fn refresh(&self, ids: Vec<OrderId>) -> Result<Vec<(OrderId, Refreshed)>, BookError> {
        let sem = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut set = JoinSet::new();
        for id in ids {
            let me = self.clone();
            let sem = sem.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let gid = me.gateway_id(&id)?;
                let what = match me
                    .lookup(&id, gid.as_ref(), OnAbsent::Report, Source::Status)
                    .await?
                {
                    Resolution::Found => Refreshed::Answered,
                    Resolution::Unknown(why) => Refreshed::Unknown(why),
                    Resolution::NoLookup(why) => Refreshed::NoLookup(why),
                    Resolution::Absent | Resolution::InDoubt => Refreshed::NoAnswer,
                };
                Ok((id, what))
            });
        }
        let mut learned = Vec::new();
        while let Some(res) = set.join_next().await {
            learned.push(join_result(res)?);
        }
        Ok(learned)
    }
}

fn join_result<T>(
    res: Result<Result<T, BookError>, tokio::task::JoinError>,
) -> Result<T, BookError> {
    match res {
        Ok(r) => r,
        Err(e) => Err(BookError::Encode(format!("a submission task failed: {e}"))),
    }
}
