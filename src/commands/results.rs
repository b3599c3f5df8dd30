//! Building the results ledger from the book: one row per sheet row of the run (the sheet as
//! the run last read it), laid over what the book knows about its order, then one row for each
//! order of the run that no longer matches a sheet row (an edited row's earlier payment) — a
//! payment that happened is never hidden. Used by `run`, `status`, `report` and `webhook serve`,
//! so they always agree.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::book::{now, Book, BookError, OrderRecord, Run, SheetSnapshot};
use crate::exit::ExitCode;
use crate::ledger::{Ledger, LedgerRow, RunInfo};
use crate::model::{GatewayKind, OrderId, Status};

/// `<sheet stem>.results.csv` beside the sheet.
pub fn results_path(sheet: &Path) -> PathBuf {
    let stem = sheet
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "payrun".into());
    sheet.with_file_name(format!("{stem}.results.csv"))
}

fn fill_from_order(row: &mut LedgerRow, rec: &OrderRecord) {
    row.status = rec.status;
    row.error = rec.error.clone().or(row.error.take());
    row.updated_at = Some(rec.updated_at.clone());
    if let Some(s) = &rec.state {
        row.gateway_status = Some(s.gateway_status.clone());
        row.gateway_id.clone_from(&s.gateway_id);
        row.txid.clone_from(&s.txid);
        row.merchant_amount = s.merchant_amount;
        row.network_amount = s.network_amount;
        row.fee = s.fee;
        if s.error.is_some() && rec.status != Status::Conflict {
            row.error.clone_from(&s.error);
        }
    }
}

/// The ledger view of a run.
pub fn build(
    run: &Run,
    gateway: GatewayKind,
    snapshot: &SheetSnapshot,
    held: &BTreeMap<u64, String>,
    orders: &HashMap<OrderId, OrderRecord>,
) -> Ledger {
    let mut shown: HashSet<&OrderId> = HashSet::new();
    let mut rows: Vec<LedgerRow> = snapshot
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
            if let Some(why) = held.get(&r.line) {
                row.status = Status::Held;
                row.error = Some(why.clone());
            }
            let Some(id) = &r.order_id else { return row };
            if let Some(rec) = orders.get(id) {
                shown.insert(id);
                if rec.sent || !held.contains_key(&r.line) {
                    fill_from_order(&mut row, rec);
                }
            }
            row
        })
        .collect();
    // Orders of the run no sheet row shows any more: earlier payments of edited rows.
    let mut extra: Vec<&OrderRecord> = orders
        .values()
        .filter(|r| r.sent && !shown.contains(&r.order_id))
        .collect();
    extra.sort_by(|a, b| (a.line, &a.order_id).cmp(&(b.line, &b.order_id)));
    for rec in extra {
        let mut row = LedgerRow::new(
            rec.line,
            vec![String::new(); snapshot.columns.len()],
            Status::NotSent,
        );
        row.order_id = Some(rec.order_id.clone());
        row.currency = Some(rec.request.currency.clone());
        row.network = Some(rec.request.network.clone());
        row.amount = Some(rec.request.amount);
        fill_from_order(&mut row, rec);
        let note = format!(
            "earlier order of row {} ({} {} to {}), no longer in the sheet",
            rec.line, rec.request.amount, rec.request.currency, rec.request.to_address
        );
        row.error = Some(match row.error.take() {
            Some(e) => format!("{note}; {e}"),
            None => note,
        });
        rows.push(row);
    }
    Ledger {
        columns: snapshot.columns.clone(),
        rows,
        run: RunInfo {
            run_id: run.run_id.clone(),
            gateway,
            sheet: run.sheet_name.clone(),
            generated_at: now(),
            approved_by: None,
        },
    }
}

/// The results ledger of a run, from the book.
pub fn ledger_of(book: &Book, gateway: GatewayKind, run: &Run) -> Result<Ledger, BookError> {
    let (snapshot, held) = book.snapshot(run)?;
    let orders: HashMap<OrderId, OrderRecord> = book
        .run_orders(run.account, run.pk)?
        .into_iter()
        .map(|r| (r.order_id.clone(), r))
        .collect();
    let mut ledger = build(run, gateway, &snapshot, &held, &orders);
    ledger.run.approved_by = book.run_approver(run.pk)?;
    Ok(ledger)
}

/// Writes a run's results ledger beside its sheet (and beside `also`, another copy of the
/// sheet, when given). Returns the ledger and the paths written.
pub fn write_beside_sheet(
    book: &Book,
    gateway: GatewayKind,
    run: &Run,
    also: Option<&Path>,
) -> anyhow::Result<(Ledger, Vec<PathBuf>)> {
    let ledger = ledger_of(book, gateway, run)?;
    let mut written = Vec::new();
    let mut targets = vec![results_path(Path::new(&run.sheet_path))];
    if let Some(p) = also {
        let t = results_path(Path::new(&crate::book::runs::sheet_key(p)));
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    for t in targets {
        if t.parent()
            .is_some_and(|d| d.as_os_str().is_empty() || d.is_dir())
        {
            crate::commands::outputs::check_output(&t, Some(book.path()), None)?;
            crate::ledger::write(&t, &ledger)?;
            written.push(t);
        }
    }
    Ok((ledger, written))
}

/// `12 rows: 10 paid, 2 in progress` (the statuses present, in the summary's words).
pub fn count_line(statuses: &[Status]) -> String {
    let mut c = crate::ledger::summary::Counts::default();
    for s in statuses {
        match s {
            Status::Completed => c.completed += 1,
            Status::Pending => c.pending += 1,
            Status::InDoubt => c.in_doubt += 1,
            Status::NotSent => c.not_sent += 1,
            Status::Failed => c.failed += 1,
            Status::Cancelled => c.cancelled += 1,
            Status::Held => c.held += 1,
            Status::Conflict => c.conflict += 1,
            Status::Invalid => c.invalid += 1,
        }
    }
    let n = statuses.len();
    format!(
        "{n} row{}: {}",
        if n == 1 { "" } else { "s" },
        crate::ledger::summary::count_words(&c)
    )
}

/// 0 when every row is accepted (pending or completed); 1 otherwise (invalid, failed,
/// cancelled, in doubt, not sent, held, conflict).
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
