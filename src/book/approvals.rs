//! Four-eyes approvals (docs/book.md, "Approvals"; docs/design.md, "Controls before money
//! moves"): `payrun approve` records the plan a person approved as an `approval` event in the
//! hash chain; `run` with approval required compares its plan with the newest unused approval
//! of the same sheet (by content, else by path) row for row, and records the match as an
//! `approval_used` event of the run — so one approval pays one run, never a second period.

use std::collections::BTreeMap;

use rusqlite::params;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::codec;
use super::events::{now, Event};
use super::runs::Run;
use super::store::Book;
use super::BookError;
use crate::model::OrderId;

/// One approved order: what the run must plan on that line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedOrder {
    /// The sheet line.
    pub line: u64,
    /// The order id under `ApprovedPlan::run_id` (the id a run of that id gives the row).
    pub order_id: OrderId,
    /// `plan::fields_digest` of the row's payout fields (independent of the run id).
    pub digest: String,
    pub amount: Decimal,
    pub currency: String,
    pub address: String,
}

/// The plan a person approved, as recorded in the `approval` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedPlan {
    pub approver: String,
    /// The sheet's key path and SHA-256 (hex) when approved.
    pub sheet_path: String,
    pub sheet_sha256: String,
    /// The run id the plan was computed under: the run a `payrun run` of the sheet would
    /// resume, else the id a new run would get that day.
    pub run_id: String,
    pub orders: Vec<ApprovedOrder>,
    /// Amount per currency.
    pub totals: BTreeMap<String, Decimal>,
    /// The warning kinds the approver saw and approved (codes).
    pub acknowledged: Vec<String>,
    pub at: String,
}

/// An approval in the book: its event `seq`, the plan, and the run that used it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub seq: i64,
    pub plan: ApprovedPlan,
    pub used_by: Option<String>,
}

impl Book {
    /// Records an approval event (no run: the run may not exist yet). Returns its `seq`.
    pub fn record_approval(&self, account: i64, plan: &ApprovedPlan) -> Result<i64, BookError> {
        self.write(|tx| {
            self.append_event(tx, account, None, &Event::Approval(Box::new(plan.clone())))
        })
    }

    /// The approvals of `account` for a sheet with this content (first) or this path, newest
    /// first, each with the run that used it.
    pub fn approvals_for(
        &self,
        account: i64,
        sheet_path: &str,
        sheet_sha256: &str,
    ) -> Result<Vec<Approval>, BookError> {
        let conn = self.conn();
        let mut used: BTreeMap<i64, String> = BTreeMap::new();
        {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT e.body, r.run_id FROM events e JOIN runs r ON r.id = e.run
                     WHERE e.account = ?1 AND e.kind = 'approval_used'",
                )
                .map_err(|e| self.sql_err(e))?;
            let mut rows = stmt.query([account]).map_err(|e| self.sql_err(e))?;
            while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
                let body = codec::decode(r.get_ref(0).map_err(|e| self.sql_err(e))?)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                let run_id: String = r.get(1).map_err(|e| self.sql_err(e))?;
                if let Ok(Event::ApprovalUsed { approval, .. }) = serde_json::from_slice(&body) {
                    used.insert(approval, run_id);
                }
            }
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, body FROM events WHERE account = ?1 AND kind = 'approval' ORDER BY seq DESC",
            )
            .map_err(|e| self.sql_err(e))?;
        let mut rows = stmt.query([account]).map_err(|e| self.sql_err(e))?;
        let (mut by_sha, mut by_path) = (Vec::new(), Vec::new());
        while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
            let seq: i64 = r.get(0).map_err(|e| self.sql_err(e))?;
            let body = codec::decode(r.get_ref(1).map_err(|e| self.sql_err(e))?)
                .ok()
                .flatten()
                .unwrap_or_default();
            let Ok(Event::Approval(plan)) = serde_json::from_slice::<Event>(&body) else {
                return Err(BookError::Encode(format!(
                    "approval event #{seq} is unreadable"
                )));
            };
            let a = Approval {
                seq,
                used_by: used.get(&seq).cloned(),
                plan: *plan,
            };
            if a.plan.sheet_sha256 == sheet_sha256 {
                by_sha.push(a);
            } else if a.plan.sheet_path == sheet_path {
                by_path.push(a);
            }
        }
        by_sha.extend(by_path);
        Ok(by_sha)
    }

    /// Records that `run` is paid under approval `seq` (an event of the run).
    pub fn use_approval(
        &self,
        account: i64,
        run: &Run,
        approval: &Approval,
        runner: &str,
    ) -> Result<(), BookError> {
        self.write(|tx| {
            self.append_event(
                tx,
                account,
                Some(run.pk),
                &Event::ApprovalUsed {
                    approval: approval.seq,
                    approver: approval.plan.approver.clone(),
                    runner: runner.to_string(),
                    at: now(),
                },
            )
            .map(|_| ())
        })
    }

    /// Who approved a run (the latest `approval_used` event of it), if anyone.
    pub fn run_approver(&self, run_pk: i64) -> Result<Option<String>, BookError> {
        let conn = self.conn();
        let body: Option<rusqlite::types::Value> = conn
            .query_row(
                "SELECT body FROM events WHERE run = ?1 AND kind = 'approval_used' ORDER BY seq DESC LIMIT 1",
                params![run_pk],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(|e| self.sql_err(e))?;
        let body = body.and_then(|b| codec::decode_str((&b).into()).ok().flatten());
        Ok(body.and_then(|b| match serde_json::from_str(&b) {
            Ok(Event::ApprovalUsed { approver, .. }) => Some(approver),
            _ => None,
        }))
    }
}
