//! Building the results ledger from the journal: one row per sheet row (from the run's sheet
//! snapshot), laid over what the journal knows about its order. Used by `run`, `status` and
//! `report`, so the three always agree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::exit::ExitCode;
use crate::journal::{self, Header, OrderRecord, SheetSnapshot};
use crate::ledger::{Ledger, LedgerRow, RunInfo};
use crate::model::{OrderId, Status};
use crate::plan::PlannedOrder;

/// `<stem>.results.csv` beside the journal `<stem>.ledger.jsonl`.
pub fn results_path(journal: &Path) -> PathBuf {
    let name = journal
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".ledger.jsonl")
        .or_else(|| name.strip_suffix(".jsonl"))
        .unwrap_or(&name)
        .to_string();
    journal.with_file_name(format!("{stem}.results.csv"))
}

/// The ledger view of a journal.
pub fn build(
    header: &Header,
    snapshot: &SheetSnapshot,
    orders: &HashMap<OrderId, OrderRecord>,
    held: &[(PlannedOrder, String)],
) -> Ledger {
    let held: HashMap<&OrderId, &str> = held
        .iter()
        .map(|(o, why)| (&o.order_id, why.as_str()))
        .collect();
    let rows = snapshot
        .rows
        .iter()
        .map(|r| {
            let mut row = LedgerRow::new(r.line, r.cells.clone(), Status::Invalid);
            row.currency.clone_from(&r.currency);
            row.network.clone_from(&r.network);
            row.amount = r.amount;
            row.quoted_fee = r.quoted_fee;
            if let Some(why) = &r.invalid {
                row.error = Some(why.clone());
                return row;
            }
            row.order_id.clone_from(&r.order_id);
            row.status = Status::NotSent;
            let Some(id) = &r.order_id else { return row };
            if let Some(why) = held.get(id) {
                row.error = Some((*why).to_string());
            }
            if let Some(rec) = orders.get(id) {
                row.status = rec.status;
                row.error = rec.error.clone().or(row.error);
                row.updated_at = Some(rec.updated_at.clone());
                if let Some(s) = &rec.state {
                    row.gateway_status = Some(s.gateway_status.clone());
                    row.gateway_id.clone_from(&s.gateway_id);
                    row.txid.clone_from(&s.txid);
                    row.merchant_amount = s.merchant_amount;
                    row.network_amount = s.network_amount;
                    row.fee = s.fee;
                    if s.error.is_some() {
                        row.error.clone_from(&s.error);
                    }
                }
            }
            row
        })
        .collect();
    Ledger {
        columns: snapshot.columns.clone(),
        rows,
        run: RunInfo {
            run_id: header.run_id.clone(),
            gateway: header.gateway,
            sheet: header.sheet.clone(),
            generated_at: journal::now(),
        },
    }
}

/// The status of every sheet row of a snapshot, from the orders' statuses.
pub fn row_statuses(
    snapshot: &SheetSnapshot,
    status_of: impl Fn(&OrderId) -> Option<Status>,
) -> Vec<Status> {
    snapshot
        .rows
        .iter()
        .map(|r| match (&r.invalid, &r.order_id) {
            (Some(_), _) => Status::Invalid,
            (None, Some(id)) => status_of(id).unwrap_or(Status::NotSent),
            (None, None) => Status::NotSent,
        })
        .collect()
}

/// `12 rows: 10 completed, 2 pending` (the statuses present, in a fixed order).
pub fn count_line(statuses: &[Status]) -> String {
    let order = [
        Status::Completed,
        Status::Pending,
        Status::InDoubt,
        Status::NotSent,
        Status::Failed,
        Status::Cancelled,
        Status::Invalid,
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|s| {
            let n = statuses.iter().filter(|x| *x == s).count();
            (n > 0).then(|| format!("{n} {}", s.as_str().replace('_', " ")))
        })
        .collect();
    format!("{} rows: {}", statuses.len(), parts.join(", "))
}

/// Whether the results ledger was written after the journal last changed.
pub fn up_to_date(results: &Path, journal: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(results), modified(journal)), (Some(r), Some(j)) if r >= j)
}

/// 0 when every row is accepted (pending or completed) and none is invalid, failed,
/// cancelled, in doubt or unsent; 1 otherwise.
pub fn exit_code_of(statuses: &[Status]) -> ExitCode {
    if statuses
        .iter()
        .all(|s| matches!(s, Status::Pending | Status::Completed))
    {
        ExitCode::Success
    } else {
        ExitCode::Incomplete
    }
}
