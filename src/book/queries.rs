//! Read-only questions to the book: the run listing (`payrun runs`) and every payout to one
//! recipient or address across runs (`payrun history`).

use std::collections::BTreeMap;

use rusqlite::params;
use rust_decimal::Decimal;
use serde::Serialize;

use super::packed;
use super::store::Book;
use super::BookError;
use crate::gateway::{PayoutRequest, PayoutState};
use crate::model::Status;

/// One line of `payrun runs`.
#[derive(Debug, Clone, Serialize)]
pub struct RunLine {
    pub run_id: String,
    pub account: String,
    pub sheet: String,
    pub sheet_path: String,
    pub started_at: String,
    pub rows: u64,
    pub paid: u64,
    pub pending: u64,
    pub failed: u64,
    pub other: u64,
    /// Amount per currency of the run's orders (as planned or sent), less those the gateway
    /// refused (failed, cancelled): what the run paid or may still pay.
    pub totals: BTreeMap<String, String>,
    /// Who approved the plan the run paid (docs/book.md, "Approvals"), if approval was used.
    pub approved_by: Option<String>,
}

/// One payout in a recipient's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryLine {
    pub run_id: String,
    pub account: String,
    pub order_id: String,
    pub address: String,
    pub amount: String,
    pub currency: String,
    pub network: String,
    pub status: Status,
    pub gateway_id: Option<String>,
    pub txid: Option<String>,
    pub updated_at: String,
}

/// The requests of a run's orders, each as stored and with the body of the intent it names.
/// The requests of a run's orders the gateway did not refuse (a refused one moved no money).
const REQUEST_OF_RUN: &str = concat!(
    "SELECT o.request, ",
    super::store::request_source!(),
    " FROM orders o WHERE o.run = ?1 AND o.status NOT IN ('failed', 'cancelled')"
);

impl Book {
    /// Every run (of one account, or all), oldest first, with its counts and totals.
    pub fn run_lines(&self, account: Option<i64>) -> Result<Vec<RunLine>, BookError> {
        let runs = self.runs(account)?;
        let mut out = Vec::with_capacity(runs.len());
        for run in runs {
            let counts = self.run_counts(&run)?;
            let label = self.account_label(run.account)?;
            let rows: u64 = self
                .conn()
                .query_row("SELECT count(*) FROM rows WHERE run = ?1", [run.pk], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(|e| self.sql_err(e))? as u64;
            let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
            {
                let conn = self.conn();
                let mut stmt = conn
                    .prepare_cached(REQUEST_OF_RUN)
                    .map_err(|e| self.sql_err(e))?;
                let reqs = stmt
                    .query_map([run.pk], |r| {
                        // The request may be its intent's (`super::codec::order_request`);
                        // the listing counts what it can read, as before.
                        Ok(super::codec::order_request(r.get_ref(0)?, r.get_ref(1)?).ok())
                    })
                    .map_err(|e| self.sql_err(e))?;
                for r in reqs {
                    let Some(r) = r.map_err(|e| self.sql_err(e))? else {
                        continue;
                    };
                    if let Ok(req) = serde_json::from_str::<PayoutRequest>(&r) {
                        *totals.entry(req.currency).or_default() += req.amount;
                    }
                }
            }
            // A packed run's lines and requests, from its blocks.
            let mut rows = rows;
            {
                let conn = self.conn();
                for id in packed::run_blocks(&conn, run.pk).map_err(|e| self.pack_err(e))? {
                    let Some(block) =
                        packed::load_block(&conn, id).map_err(|e| self.pack_err(e))?
                    else {
                        continue;
                    };
                    for o in &block.orders {
                        rows += o.rows.len() as u64;
                        if matches!(o.status(), "failed" | "cancelled") {
                            continue;
                        }
                        let Ok(r) = packed::request_json(o) else {
                            continue;
                        };
                        if let Ok(req) = serde_json::from_str::<PayoutRequest>(&r) {
                            *totals.entry(req.currency).or_default() += req.amount;
                        }
                    }
                }
            }
            let paid = counts.get(Status::Completed);
            let pending = counts.get(Status::Pending);
            let failed = counts.get(Status::Failed) + counts.get(Status::Cancelled);
            out.push(RunLine {
                run_id: run.run_id.clone(),
                account: label,
                sheet: run.sheet_name.clone(),
                sheet_path: run.sheet_path.clone(),
                started_at: run.started_at.clone(),
                rows,
                paid,
                pending,
                failed,
                other: counts.total() - paid - pending - failed,
                totals: totals
                    .into_iter()
                    .map(|(k, v)| (k, v.to_string()))
                    .collect(),
                approved_by: self.run_approver(run.pk)?,
            });
        }
        Ok(out)
    }

    /// The latest run of `account` for this sheet path, else with this content, started
    /// before the run `before` (a row id; `None`: any), for the variance against the previous
    /// run of a sheet.
    pub fn previous_run_of_sheet(
        &self,
        account: i64,
        sheet_path: &str,
        sheet_sha256: &str,
        before: Option<i64>,
    ) -> Result<Option<super::Run>, BookError> {
        let run_id: Option<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT run_id FROM runs WHERE account = ?1 AND id < ?4
                       AND (sheet_path = ?2 OR sheet_sha256 = ?3)
                     ORDER BY (sheet_path = ?2) DESC, id DESC LIMIT 1",
                )
                .map_err(|e| self.sql_err(e))?;
            let mut rows = stmt
                .query(params![
                    account,
                    sheet_path,
                    sheet_sha256,
                    before.unwrap_or(i64::MAX)
                ])
                .map_err(|e| self.sql_err(e))?;
            match rows.next().map_err(|e| self.sql_err(e))? {
                Some(r) => Some(r.get(0).map_err(|e| self.sql_err(e))?),
                None => None,
            }
        };
        match run_id {
            Some(id) => self.run_by_id(account, &id),
            None => Ok(None),
        }
    }

    /// Every order ever sent to `address` (compared case-insensitively), or planned for the
    /// recipient `key`, oldest first.
    pub fn history(
        &self,
        address: Option<&str>,
        key: Option<&str>,
    ) -> Result<Vec<HistoryLine>, BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(concat!(
                "SELECT r.run_id, a.label, o.order_id, o.request, o.status, o.state, o.updated_at, e.body, o.id, ",
                super::store::request_source!(),
                "
                 FROM orders o JOIN runs r ON r.id = o.run JOIN accounts a ON a.id = o.account
                 LEFT JOIN events e ON e.seq = o.last_seq AND o.state = X'00'
                 WHERE (?1 IS NOT NULL AND lower(o.address) = lower(?1))
                    OR (?2 IS NOT NULL AND o.recipient_key = ?2)
                 ORDER BY o.id"
            ))
            .map_err(|e| self.sql_err(e))?;
        type Found = (
            i64,
            String,
            String,
            String,
            Result<String, super::codec::DecodeError>,
            String,
            Option<String>,
            String,
        );
        let mut found: Vec<Found> = stmt
            .query_map(params![address, key], |r| {
                use super::codec;
                Ok((
                    r.get::<_, i64>(8)?,
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    codec::order_request(r.get_ref(3)?, r.get_ref(9)?),
                    r.get::<_, String>(4)?,
                    // Stored compressed (`super::codec`); history shows what it can read.
                    codec::order_state(r.get_ref(5)?, r.get_ref(7)?)
                        .ok()
                        .flatten(),
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(|e| self.sql_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.sql_err(e))?;
        drop(stmt);
        // Orders of packed runs: every block is read (an address is no index of a block).
        let address = address.map(str::to_ascii_lowercase);
        let mut names: std::collections::HashMap<i64, (String, String)> = Default::default();
        let live = found.len();
        for id in packed::all_blocks(&conn, None).map_err(|e| self.pack_err(e))? {
            let Some(block) = packed::load_block(&conn, id).map_err(|e| self.pack_err(e))? else {
                continue;
            };
            for o in &block.orders {
                let hit = address
                    .as_deref()
                    .is_some_and(|a| o.address().to_ascii_lowercase() == a)
                    || key.is_some_and(|k| o.recipient_key() == Some(k));
                if !hit {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(v) = names.entry(block.run) {
                    let n: (String, String) = conn
                        .query_row(
                            "SELECT r.run_id, a.label FROM runs r JOIN accounts a ON a.id = r.account WHERE r.id = ?1",
                            [block.run],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .map_err(|e| self.sql_err(e))?;
                    v.insert(n);
                }
                let (run_id, label) = names[&block.run].clone();
                let updated_at = match &o.order[packed::oc::UPDATED_AT] {
                    rusqlite::types::Value::Text(t) => t.clone(),
                    _ => String::new(),
                };
                found.push((
                    o.id(),
                    run_id,
                    label,
                    o.order_id().to_string(),
                    packed::request_json(o),
                    o.status().to_string(),
                    packed::state_json(o).ok().flatten(),
                    updated_at,
                ));
            }
        }
        if found.len() > live {
            found.sort_by_key(|f| f.0);
        }
        let rows = found
            .into_iter()
            .map(|f| Ok::<_, rusqlite::Error>((f.1, f.2, f.3, f.4, f.5, f.6, f.7)));
        let mut out = Vec::new();
        for r in rows {
            let (run_id, account, order_id, request, status, state, updated_at) =
                r.map_err(|e| self.sql_err(e))?;
            let request = request.map_err(|e| {
                BookError::Encode(format!("order {order_id}: its request is unreadable ({e})"))
            })?;
            let req: PayoutRequest = serde_json::from_str(&request)
                .map_err(|e| BookError::Encode(format!("order {order_id}: {e}")))?;
            let state: Option<PayoutState> = state.and_then(|s| serde_json::from_str(&s).ok());
            out.push(HistoryLine {
                run_id,
                account,
                order_id,
                address: req.to_address,
                amount: req.amount.to_string(),
                currency: req.currency,
                network: req.network,
                status: Status::parse(&status).unwrap_or(Status::InDoubt),
                gateway_id: state
                    .as_ref()
                    .and_then(|s| s.gateway_id.as_ref().map(|g| g.0.clone())),
                txid: state.and_then(|s| s.txid),
                updated_at,
            });
        }
        Ok(out)
    }
}
