//! The events the book records, and the one rule that folds them into an order's state.
//!
//! An `intent` is committed before a request leaves; the gateway's answer (a `result`, a
//! `refused`, a `not_applied`) after it returns; `unresolved` when a try to learn the outcome
//! failed; `conflict` when an answer contradicts what was sent (or a final status). A `sheet`
//! event records the sheet a run read. Events are append-only; an order's current state (the
//! `orders` table) changes in the same transaction as the event that changes it, by
//! [`OrderRecord::apply`]. Statuses never move backwards (see [`next_status`]).

use serde::{Deserialize, Serialize};

use crate::gateway::{PayoutRequest, PayoutState};
use crate::model::{OrderId, Status};

/// Where a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Create,
    Lookup,
    Status,
    Webhook,
}

/// One sheet row as the results ledger shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRow {
    pub line: u64,
    /// The original cells, in column order.
    pub cells: Vec<String>,
    /// The row's order id (None when the row is invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// Why the row is invalid, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub amount: Option<rust_decimal::Decimal>,
    /// The fee the quote showed for this row.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub quoted_fee: Option<rust_decimal::Decimal>,
}

/// The sheet as a run read it: what `status` and `report` lay the results over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetSnapshot {
    pub columns: Vec<String>,
    pub rows: Vec<SnapshotRow>,
    pub sheet_sha256: String,
}

/// A difference between what was sent and what the gateway answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub field: String,
    pub sent: String,
    pub answered: String,
}

impl std::fmt::Display for FieldConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: sent {}, answered {}",
            self.field, self.sent, self.answered
        )
    }
}

/// One event of an order (the sheet snapshot lives in the `rows` table, with a `sheet` event
/// recording its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A request for this order is about to leave (committed first).
    Intent {
        order_id: OrderId,
        /// The sheet row when it was sent.
        line: u64,
        /// `plan::fields_digest` of the row when it was sent.
        digest: String,
        request: PayoutRequest,
        at: String,
    },
    /// The gateway has the order and says this about it (already checked against the request).
    Result {
        order_id: OrderId,
        source: Source,
        state: PayoutState,
        at: String,
    },
    /// The gateway refused the order for good.
    Refused {
        order_id: OrderId,
        error: String,
        at: String,
    },
    /// The gateway certainly did not apply the request: the order may be sent again.
    NotApplied {
        order_id: OrderId,
        reason: String,
        at: String,
    },
    /// A try to learn the outcome failed; the order stays in doubt.
    Unresolved {
        order_id: OrderId,
        error: String,
        at: String,
    },
    /// An answer that contradicts the request, or a final status: never paid, never re-sent.
    Conflict {
        order_id: OrderId,
        source: Source,
        /// What the gateway said (for the record; not taken as the order's state).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<PayoutState>,
        /// Each field that differs, or one entry describing the contradiction.
        differences: Vec<FieldConflict>,
        at: String,
    },
    /// The sheet a run read (its hash and row count; the rows themselves are in `rows`).
    Sheet {
        sheet_sha256: String,
        rows: u64,
        path: String,
        /// XLSX: the worksheet read (absent for CSV, and in events written before it was
        /// recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worksheet: Option<String>,
        /// What the sheet pays (`SheetInfo::payouts_sha256`); absent in events written before
        /// schema 11 and for a sheet without a valid row.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payouts_sha256: Option<String>,
        at: String,
    },
    /// `payrun approve`: a person approved exactly this plan (docs/book.md, "Approvals").
    Approval(Box<super::approvals::ApprovedPlan>),
    /// A run was checked against an approval and is paid under it (event of that run).
    ApprovalUsed {
        /// The `seq` of the approval event.
        approval: i64,
        approver: String,
        /// Who ran it (`--runner`, else the OS user).
        runner: String,
        at: String,
    },
}

impl Event {
    /// The order an event is about (none for a sheet event).
    pub fn order_id(&self) -> Option<&OrderId> {
        match self {
            Event::Intent { order_id, .. }
            | Event::Result { order_id, .. }
            | Event::Refused { order_id, .. }
            | Event::NotApplied { order_id, .. }
            | Event::Unresolved { order_id, .. }
            | Event::Conflict { order_id, .. } => Some(order_id),
            Event::Sheet { .. } | Event::Approval(_) | Event::ApprovalUsed { .. } => None,
        }
    }

    /// The event's kind as stored (`intent`, `result`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Intent { .. } => "intent",
            Event::Result { .. } => "result",
            Event::Refused { .. } => "refused",
            Event::NotApplied { .. } => "not_applied",
            Event::Unresolved { .. } => "unresolved",
            Event::Conflict { .. } => "conflict",
            Event::Sheet { .. } => "sheet",
            Event::Approval(_) => "approval",
            Event::ApprovalUsed { .. } => "approval_used",
        }
    }
}

/// What the book knows about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: OrderId,
    /// The sheet row of the last intent (or of the plan, before any).
    pub line: u64,
    /// The payout-fields digest of the last intent (or of the plan).
    pub digest: String,
    /// The request planned or last sent (what a re-send must repeat exactly).
    pub request: PayoutRequest,
    /// `NotSent`, `InDoubt`, the gateway's mapped status, or `Conflict`.
    pub status: Status,
    /// The latest gateway answer taken.
    pub state: Option<PayoutState>,
    /// The last refusal, resolution error or conflict description.
    pub error: Option<String>,
    /// The last event time.
    pub updated_at: String,
    /// Whether any intent was ever committed for this order.
    pub sent: bool,
}

/// Progress order of statuses: a status never moves to a lower rank.
fn rank(s: Status) -> u8 {
    match s {
        Status::Invalid | Status::NotSent | Status::Held => 0,
        Status::InDoubt => 1,
        Status::Pending => 2,
        Status::Completed | Status::Failed | Status::Cancelled => 3,
        Status::Conflict => 4,
    }
}

/// What an event does to an order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Intent,
    Result(Status),
    Refused,
    NotApplied,
    Unresolved,
    Conflict,
}

/// Whether a gateway answer is older news than what the order already has.
fn result_is_stale(current: Status, answered: Status) -> bool {
    rank(answered) < rank(current) || (current.is_final() && answered != current)
}

/// Sent (or about to be) but with no definite answer: a refusal or "not applied" still counts.
fn unanswered(s: Status) -> bool {
    rank(s) <= rank(Status::InDoubt)
}

/// Whether an answer contradicts a final status the order already has (completed, then
/// failed): recorded as a conflict, never dropped silently.
pub fn contradicts_final(current: Status, answered: Status) -> bool {
    current.is_final() && answered.is_final() && answered != current
}

/// The one status rule. Statuses never move backwards: a late or stale answer cannot turn a
/// final order into a pending one, nor an accepted order back into one that may be re-sent. A
/// conflict is the end of the road: nothing but a person changes it.
pub fn next_status(current: Status, step: Step) -> Status {
    if current == Status::Conflict {
        return current;
    }
    match step {
        Step::Conflict => Status::Conflict,
        Step::Intent if rank(current) < rank(Status::InDoubt) => Status::InDoubt,
        Step::Result(answered) if !result_is_stale(current, answered) => answered,
        Step::Refused if unanswered(current) => Status::Failed,
        Step::NotApplied if unanswered(current) => Status::NotSent,
        _ => current,
    }
}

impl OrderRecord {
    /// A planned order, never sent.
    pub fn planned(line: u64, digest: String, request: PayoutRequest, at: String) -> OrderRecord {
        OrderRecord {
            order_id: request.order_id.clone(),
            line,
            digest,
            request,
            status: Status::NotSent,
            state: None,
            error: None,
            updated_at: at,
            sent: false,
        }
    }

    /// Applies one event (see [`next_status`]). Sheet and approval events change no order.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Intent {
                line,
                digest,
                request,
                at,
                ..
            } => {
                self.line = *line;
                self.digest.clone_from(digest);
                self.request = request.clone();
                self.updated_at.clone_from(at);
                self.sent = true;
                self.status = next_status(self.status, Step::Intent);
            }
            Event::Result { state, at, .. } => {
                if self.status == Status::Conflict || result_is_stale(self.status, state.status) {
                    // Keep the status, but learn ids we did not have.
                    if let Some(old) = &mut self.state {
                        if old.gateway_id.is_none() {
                            old.gateway_id.clone_from(&state.gateway_id);
                        }
                    }
                    return;
                }
                self.updated_at.clone_from(at);
                let mut merged = state.clone();
                if let Some(old) = self.state.take() {
                    merged.gateway_id = merged.gateway_id.or(old.gateway_id);
                    merged.txid = merged.txid.or(old.txid);
                    merged.merchant_amount = merged.merchant_amount.or(old.merchant_amount);
                    merged.network_amount = merged.network_amount.or(old.network_amount);
                    merged.fee = merged.fee.or(old.fee);
                }
                self.status = next_status(self.status, Step::Result(merged.status));
                self.error.clone_from(&merged.error);
                self.state = Some(merged);
            }
            Event::Refused { error, at, .. } => {
                self.updated_at.clone_from(at);
                if unanswered(self.status) {
                    self.error = Some(error.clone());
                }
                self.status = next_status(self.status, Step::Refused);
            }
            Event::NotApplied { reason, at, .. } => {
                self.updated_at.clone_from(at);
                if unanswered(self.status) {
                    self.error = Some(reason.clone());
                }
                self.status = next_status(self.status, Step::NotApplied);
            }
            Event::Unresolved { error, at, .. } => {
                self.updated_at.clone_from(at);
                if self.status == Status::InDoubt {
                    self.error = Some(error.clone());
                }
            }
            Event::Conflict {
                differences, at, ..
            } => {
                self.updated_at.clone_from(at);
                if self.status != Status::Conflict {
                    let what: Vec<String> = differences.iter().map(|d| d.to_string()).collect();
                    self.error = Some(format!("conflict: {}", what.join("; ")));
                }
                self.status = next_status(self.status, Step::Conflict);
            }
            Event::Sheet { .. } | Event::Approval(_) | Event::ApprovalUsed { .. } => {}
        }
    }
}

/// Now, as an RFC 3339 UTC timestamp with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FeeOption, GatewayId};
    use rust_decimal::Decimal;

    pub(crate) fn request(id: &str) -> PayoutRequest {
        PayoutRequest {
            order_id: OrderId(id.into()),
            currency: "USDT".into(),
            network: "TRX-TRC20".into(),
            amount: Decimal::new(150, 2),
            to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            memo: None,
            fee_option: FeeOption::Deduct,
            from_currency: None,
            remark: None,
            url_callback: None,
        }
    }

    fn result(id: &str, status: Status) -> Event {
        Event::Result {
            order_id: OrderId(id.into()),
            source: Source::Create,
            state: PayoutState {
                order_id: OrderId(id.into()),
                gateway_id: Some(GatewayId("u-1".into())),
                status,
                gateway_status: status.as_str().into(),
                ..PayoutState::default()
            },
            at: now(),
        }
    }

    fn intent(id: &str) -> Event {
        Event::Intent {
            order_id: OrderId(id.into()),
            line: 2,
            digest: "d".into(),
            request: request(id),
            at: now(),
        }
    }

    #[test]
    fn intent_then_answer() {
        let mut r = OrderRecord::planned(2, "d".into(), request("a"), now());
        assert_eq!(r.status, Status::NotSent);
        r.apply(&intent("a"));
        assert_eq!(r.status, Status::InDoubt);
        assert!(r.sent);
        r.apply(&result("a", Status::Pending));
        assert_eq!(r.status, Status::Pending);
        r.apply(&result("a", Status::Completed));
        assert_eq!(r.status, Status::Completed);
        // Stale and contradicting answers do not move a final status.
        r.apply(&result("a", Status::Pending));
        assert_eq!(r.status, Status::Completed);
        r.apply(&result("a", Status::Failed));
        assert_eq!(r.status, Status::Completed);
        assert!(contradicts_final(Status::Completed, Status::Failed));
        assert!(!contradicts_final(Status::Completed, Status::Completed));
        assert!(!contradicts_final(Status::Pending, Status::Failed));
    }

    #[test]
    fn refused_is_final_not_applied_resendable_and_conflict_sticks() {
        let mut r = OrderRecord::planned(2, "d".into(), request("a"), now());
        r.apply(&intent("a"));
        r.apply(&Event::NotApplied {
            order_id: OrderId("a".into()),
            reason: "429".into(),
            at: now(),
        });
        assert_eq!(r.status, Status::NotSent);
        r.apply(&intent("a"));
        r.apply(&Event::Refused {
            order_id: OrderId("a".into()),
            error: "bad".into(),
            at: now(),
        });
        assert_eq!(r.status, Status::Failed);
        r.apply(&Event::Conflict {
            order_id: OrderId("a".into()),
            source: Source::Lookup,
            state: None,
            differences: vec![FieldConflict {
                field: "amount".into(),
                sent: "1.50".into(),
                answered: "999".into(),
            }],
            at: now(),
        });
        assert_eq!(r.status, Status::Conflict);
        assert!(r.error.as_deref().unwrap().contains("amount: sent 1.50"));
        r.apply(&result("a", Status::Completed));
        assert_eq!(r.status, Status::Conflict, "nothing moves a conflict");
        r.apply(&intent("a"));
        assert_eq!(r.status, Status::Conflict);
    }

    #[test]
    fn events_round_trip_through_json() {
        for ev in [intent("a"), result("a", Status::Completed)] {
            let text = serde_json::to_string(&ev).unwrap();
            assert!(text.starts_with("{\"event\":"));
            assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), ev);
        }
    }
}
