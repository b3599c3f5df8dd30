//! Building the results ledger from the book: one row per sheet row of the run (the sheet as
//! the run last read it), laid over what the book knows about its order, then one row for each
//! order of the run that no longer matches a sheet row (an edited row's earlier payment) — a
//! payment that happened is never hidden. Used by `run`, `status`, `report` and `webhook serve`,
//! so they always agree.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::book::ledgers::LedgerNote;
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

/// The ledger of a run, built in one pass over its orders: a line per sheet row (the sheet as
/// the run last read it), each filled from its order as the order comes, then a line per sent
/// order no row shows. Holds the lines and an index from order id to line, never the orders.
pub struct LedgerBuilder<'a> {
    ledger: Ledger,
    /// The line showing each order id (valid sheet rows only).
    line_of: HashMap<OrderId, usize>,
    held: &'a BTreeMap<u64, String>,
    /// Sent orders no sheet row shows any more: earlier payments of edited rows.
    extra: Vec<OrderRecord>,
}

impl<'a> LedgerBuilder<'a> {
    /// The lines of the sheet rows, before any order is known (`invalid`, `held` or `not_sent`).
    pub fn new(
        run: &Run,
        gateway: GatewayKind,
        snapshot: SheetSnapshot,
        held: &'a BTreeMap<u64, String>,
    ) -> Self {
        let mut line_of = HashMap::new();
        let rows: Vec<LedgerRow> = snapshot
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let mut row = LedgerRow::new(r.line, r.cells, Status::Invalid);
                row.currency = r.currency;
                row.network = r.network;
                row.amount = r.amount;
                row.quoted_fee = r.quoted_fee;
                if let Some(why) = r.invalid {
                    row.error = Some(why);
                    return row;
                }
                row.status = Status::NotSent;
                if let Some(why) = held.get(&r.line) {
                    row.status = Status::Held;
                    row.error = Some(why.clone());
                }
                if let Some(id) = r.order_id {
                    line_of.insert(id.clone(), i);
                    row.order_id = Some(id);
                }
                row
            })
            .collect();
        LedgerBuilder {
            ledger: Ledger {
                columns: snapshot.columns,
                rows,
                run: RunInfo {
                    run_id: run.run_id.clone(),
                    gateway,
                    sheet: run.sheet_name.clone(),
                    generated_at: now(),
                    approved_by: None,
                },
            },
            line_of,
            held,
            extra: Vec::new(),
        }
    }

    /// Lays one order of the run over its line. A held row keeps showing `held`: an order of
    /// its id already sent was sent with the payout fields the row had before its edit (an
    /// explicit order id keeps its id across edits), so it is shown as an earlier order.
    pub fn add(&mut self, rec: OrderRecord) {
        match self.line_of.get(&rec.order_id) {
            Some(&i) => {
                let row = &mut self.ledger.rows[i];
                if !self.held.contains_key(&row.line) {
                    fill_from_order(row, &rec);
                } else if rec.sent {
                    self.extra.push(rec);
                }
            }
            None if rec.sent => self.extra.push(rec),
            None => {}
        }
    }

    /// The ledger: the sheet's lines, then the extra orders in row order.
    pub fn finish(mut self) -> Ledger {
        let width = self.ledger.columns.len();
        self.extra
            .sort_by(|a, b| (a.line, &a.order_id).cmp(&(b.line, &b.order_id)));
        for rec in self.extra {
            let mut row = LedgerRow::new(rec.line, vec![String::new(); width], Status::NotSent);
            row.order_id = Some(rec.order_id.clone());
            row.currency = Some(rec.request.currency.clone());
            row.network = Some(rec.request.network.clone());
            row.amount = Some(rec.request.amount);
            row.earlier = true;
            fill_from_order(&mut row, &rec);
            let note = format!(
                "earlier order of row {} ({} {} to {}), which the sheet no longer asks for",
                rec.line, rec.request.amount, rec.request.currency, rec.request.to_address
            );
            row.error = Some(match row.error.take() {
                Some(e) => format!("{note}; {e}"),
                None => note,
            });
            self.ledger.rows.push(row);
        }
        self.ledger
    }
}

/// The ledger view of a run, from its orders already read (see [`LedgerBuilder`]).
pub fn build(
    run: &Run,
    gateway: GatewayKind,
    snapshot: &SheetSnapshot,
    held: &BTreeMap<u64, String>,
    orders: &HashMap<OrderId, OrderRecord>,
) -> Ledger {
    let mut b = LedgerBuilder::new(run, gateway, snapshot.clone(), held);
    for rec in orders.values() {
        b.add(rec.clone());
    }
    b.finish()
}

/// The results ledger of a run, from the book: its orders streamed over the sheet's lines.
pub fn ledger_of(book: &Book, gateway: GatewayKind, run: &Run) -> Result<Ledger, BookError> {
    let (snapshot, held) = book.snapshot(run)?;
    let mut b = LedgerBuilder::new(run, gateway, snapshot, &held);
    book.for_each_run_order(run.account, run.pk, |rec| b.add(rec))?;
    let mut ledger = b.finish();
    ledger.run.approved_by = book.run_approver(run.pk)?;
    Ok(ledger)
}

/// Packs the account's finished runs that have been quiet for `after` (`pack_after_hours`,
/// default a day; docs/book.md, "Packed runs"). Called after a results ledger was written. A
/// run just finished stays live for that while: late answers and webhooks, corrections and
/// the checks of a person looking at it with `sqlite3` find its rows where they were.
pub fn pack_settled_runs(book: &Book, account: i64, after: std::time::Duration) {
    let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
    let cutoff = chrono::Utc::now()
        .checked_sub_signed(after)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    match book.runs_quiet_since(account, &cutoff) {
        Ok(runs) => {
            for run in &runs {
                pack_if_finished(book, run);
            }
        }
        Err(e) => tracing::warn!("no run packed: {e}"),
    }
}

/// Packs the run when it is finished (every order final). Packing saves space only: a
/// failure leaves the run in the live tables, where it reads the same, and is logged, not the
/// command's outcome.
fn pack_if_finished(book: &Book, run: &Run) {
    match book.pack_if_finished(run) {
        Ok(Some(p)) => tracing::info!(
            "run {}: packed {} orders and {} events into {} blocks",
            run.run_id,
            p.orders,
            p.events,
            p.blocks
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!("run {}: not packed: {e}", run.run_id),
    }
}

/// Writes a run's results ledger beside its sheet (and beside `also`, another copy of the
/// sheet, when given). Returns the ledger and the paths written.
pub fn write_beside_sheet(
    book: &Book,
    gateway: GatewayKind,
    run: &Run,
    also: Option<&Path>,
) -> anyhow::Result<(Ledger, Vec<PathBuf>)> {
    // The run's state before the build: the record never calls a newer state current.
    let state = book.run_state(run)?;
    let ledger = ledger_of(book, gateway, run)?;
    let statuses = outcome_statuses(&ledger);
    let note = LedgerNote {
        finished: !book.run_counts(run)?.unfinished(),
        accepted: exit_code_of(&statuses) == ExitCode::Success,
        count_line: count_line(&ledger),
    };
    let mut written = Vec::new();
    for t in ledger_targets(run, also) {
        crate::commands::outputs::check_output(&t, Some(book.path()), None)?;
        if let Some((other, sheet)) = book.ledger_of_another_sheet(run, &t)? {
            eprintln!(
                "note: {} held the results of run {other} (sheet {sheet}); it now holds run {}'s \
                 (`payrun report --run-id {other} --out FILE` writes run {other}'s again)",
                t.display(),
                run.run_id
            );
        }
        crate::ledger::write(&t, &ledger)?;
        book.note_ledger(run, &t, state, &note)?;
        written.push(t);
    }
    Ok((ledger, written))
}

/// Where a run's results ledger goes: beside the sheet the run read, and beside `also` (the
/// copy a command was given) — each only where its folder still exists.
pub fn ledger_targets(run: &Run, also: Option<&Path>) -> Vec<PathBuf> {
    let mut targets = vec![results_path(Path::new(&run.sheet_path))];
    if let Some(p) = also {
        let t = results_path(Path::new(&crate::book::runs::sheet_key(p)));
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    targets.retain(|t| {
        t.parent()
            .is_some_and(|d| d.as_os_str().is_empty() || d.is_dir())
    });
    targets
}

/// What the results ledgers beside the sheet say, when every one of them is current (the run
/// unchanged since they were written, the files untouched, the book not edited outside
/// payrun): the answer to a sheet the book already paid, without reading the sheet or the
/// run's orders. None when any is not.
pub fn current_ledgers(
    book: &Book,
    run: &Run,
    also: Option<&Path>,
) -> Result<Option<(LedgerNote, Vec<PathBuf>)>, BookError> {
    if book.edited_outside()? {
        return Ok(None);
    }
    let state = book.run_state(run)?;
    let targets = ledger_targets(run, also);
    let mut note = None;
    for t in &targets {
        match book.current_ledger(run, t, state)? {
            Some(n) => note = Some(n),
            None => return Ok(None),
        }
    }
    Ok(note.map(|n| (n, targets)))
}

/// `12 rows: 10 paid, 2 in progress` (the statuses that decide the run's outcome, in the
/// summary's words), then the earlier orders refused that do not (`outcome_statuses`).
pub fn count_line(ledger: &Ledger) -> String {
    let statuses = outcome_statuses(ledger);
    let mut c = crate::ledger::summary::Counts {
        earlier_refused: (ledger.rows.len() - statuses.len()) as u64,
        ..Default::default()
    };
    for s in &statuses {
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

/// The statuses that decide a run's outcome: every row of the ledger but earlier orders the
/// gateway refused ([`crate::ledger::LedgerRow::decides_outcome`]).
pub fn outcome_statuses(ledger: &Ledger) -> Vec<Status> {
    ledger
        .rows
        .iter()
        .filter(|r| r.decides_outcome())
        .map(|r| r.status)
        .collect()
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
