//! The validation pipeline shared by `payrun validate` (streaming) and `load` (whole sheet):
//! a reader thread hands batches of rows through a small bounded channel; each batch is checked
//! in parallel with rayon (`row.rs`), then merged in sheet order, where the cross-row checks
//! (duplicates, order id uniqueness, shared-address memos) and the totals are computed. Memory
//! stays at two or three batches plus the compact cross-row indexes.

use rayon::prelude::*;

use super::amount;
use super::duplicates::{FirstSeen, SharedAddressMemos};
use super::lookalike::ShapeIndex;
use super::problem::{codes, quote, Problem};
use super::report::{Report, Severity, Totals};
use super::row::{RowChecker, RowOutcome, RowRules};
use super::SheetRow;
use crate::model::Payout;
use crate::sheet::{Batch, BatchSource, Columns, Field, RowNote, RowView, RowsText, SheetError};

/// Rows per batch.
pub const BATCH_ROWS: usize = 8 * 1024;
/// The duplicate index is sized up front for at most this many rows (about 72 MB of slots);
/// a larger sheet grows it as its valid rows come, so a huge sheet of invalid rows does not
/// reserve (and write) an index it never fills.
const MAX_RESERVED_KEYS: u64 = 2_000_000;
/// Rows a worker checks at a time (a batch is split into runs of this many).
const CHUNK_ROWS: usize = 512;
/// The merge reads the duplicate-index slots of this many rows ahead at once.
const TOUCH_AHEAD: usize = 16;

/// At most this many rows with a dot-grouped amount are remembered while the file's decimal
/// mark is not known yet (32 bytes each); past it, a later decimal comma is a whole-file error.
const MAX_PENDING_DOT_GROUPED: usize = 1_000_000;

/// A valid row whose dot-grouped amount (`1.500`) becomes ambiguous if a later row shows that
/// the file uses decimal commas.
struct PendingDotGrouped {
    line: u64,
    network: &'static str,
    currency: &'static str,
    amount: rust_decimal::Decimal,
}

/// The file-wide verdict on dot-grouped amounts when `--decimal-separator` is not given: one
/// place decides (docs/design.md, "The sheet").
struct Separators {
    /// Why dot-grouped amounts are ambiguous in this file, once known.
    ambiguous: Option<&'static str>,
    /// Off when the user stated the convention.
    unstated: bool,
    pending: Vec<PendingDotGrouped>,
    overflow: bool,
}

struct Merger<'a, P> {
    report: Report,
    separators: Separators,
    /// Sees every problem as it is found, in sheet order (before the count caps the list).
    on_problem: P,
    totals: Totals,
    duplicates: FirstSeen,
    order_ids: FirstSeen,
    memos: SharedAddressMemos,
    lookalikes: ShapeIndex,
    allow_duplicates: bool,
    order_label: String,
    columns: &'a crate::sheet::Columns,
}

impl<P: FnMut(Severity, &Problem)> Merger<'_, P> {
    /// Applies the cross-row checks to one row in sheet order; returns its payout when it is
    /// valid and was built (`keep_rows`). The caller builds a `SheetRow` only when rows are
    /// kept: building one per row (a few hundred bytes, copied) cost `validate` 7 % of its time.
    #[inline(always)]
    fn merge(&mut self, o: &mut RowOutcome) -> Result<Option<Box<Payout>>, SheetError> {
        if let Some(i) = o.not_utf8 {
            let name = self.columns.names.get(i).map(String::as_str).unwrap_or("");
            return Err(SheetError::NotUtf8 {
                line: o.line,
                detail: format!(" (column {} '{}')", i + 1, name.trim()),
            });
        }
        let line = o.line;
        self.report.rows += 1;
        if let Some(id) = o.order_id.take() {
            let (key, text) = *id;
            if let Some(first) = self.order_ids.first(key, line) {
                o.errors.push(Problem::new(
                    line,
                    &self.order_label,
                    codes::ORDER_ID_DUPLICATE,
                    format!(
                        "the order id {} is already used on line {first}; order ids must be unique",
                        quote(&text)
                    ),
                ));
                o.valid = None;
            }
        }
        let mut dot_grouped = false;
        if self.separators.unstated {
            match o.separators {
                Some(amount::Separators::DecimalComma) if self.separators.ambiguous.is_none() => {
                    self.separators.ambiguous = Some("it has amounts with a decimal comma");
                    self.retract_pending(line)?;
                }
                Some(amount::Separators::DotGrouped) => match (self.separators.ambiguous, &o.valid)
                {
                    (Some(why), Some(v)) => {
                        let e = amount::ambiguous(&v.amount.to_string(), why);
                        o.errors.push(Problem::new(
                            line,
                            self.columns.label(Field::Amount),
                            e.code,
                            e.message,
                        ));
                        o.valid = None;
                    }
                    (None, Some(_)) => dot_grouped = true,
                    _ => {}
                },
                _ => {}
            }
        }
        let mut payout = None;
        // borrowed, not moved out: the outcome is cleared after the batch anyway
        if let Some(v) = o.valid.as_mut() {
            let duplicate_of = if self.allow_duplicates {
                None
            } else {
                self.duplicates.first(v.duplicate_key, line)
            };
            if let Some(first) = duplicate_of {
                o.errors.push(Problem::new(
                    line,
                    "",
                    codes::DUPLICATE_ROW,
                    format!(
                        "same network, currency, address, amount and memo as line {first}; \
                         remove one, or pass --allow-duplicates if both payouts are intended"
                    ),
                ));
            } else if !self.totals.add(v.network, v.currency, v.amount) {
                o.errors.push(Problem::new(
                    line,
                    self.columns.label(Field::Amount),
                    codes::AMOUNT_TOO_LARGE,
                    format!(
                        "the total of {} on {} would overflow",
                        v.currency, v.network
                    ),
                ));
            } else {
                if let Some((address, memo)) = v.memo_use {
                    self.memos.record(address, memo, line);
                }
                if let Some((shape, identity)) = v.lookalike {
                    let at = u32::try_from(line).unwrap_or(u32::MAX);
                    if let Some(first) = self.lookalikes.record(shape, identity, at) {
                        o.warnings.push(Problem::new(
                            line,
                            self.columns.label(Field::Address),
                            codes::RECIPIENT_LOOKALIKE,
                            format!(
                                "this address and line {first}'s differ but share their first \
                                 and last {} characters (after the common prefix): check both \
                                 with the recipients (the shape of an address-poisoning attack)",
                                super::lookalike::ENDS
                            ),
                        ));
                    }
                }
                payout = v.payout.take();
            }
        }
        if o.errors.is_empty() {
            self.report.valid += 1;
            if let (true, Some(v)) = (dot_grouped, &o.valid) {
                self.remember_dot_grouped(line, v.network, v.currency, v.amount);
            }
        } else {
            self.report.invalid += 1;
            payout = None;
        }
        for p in o.errors.drain(..) {
            (self.on_problem)(Severity::Error, &p);
            self.report.add(Severity::Error, p);
        }
        for p in o.warnings.drain(..) {
            (self.on_problem)(Severity::Warning, &p);
            self.report.add(Severity::Warning, p);
        }
        Ok(payout)
    }

    fn remember_dot_grouped(
        &mut self,
        line: u64,
        network: &'static str,
        currency: &'static str,
        amount: rust_decimal::Decimal,
    ) {
        let s = &mut self.separators;
        if s.overflow {
            return;
        }
        if s.pending.len() >= MAX_PENDING_DOT_GROUPED {
            s.overflow = true;
            s.pending = Vec::new();
            return;
        }
        s.pending.push(PendingDotGrouped {
            line,
            network,
            currency,
            amount,
        });
    }

    /// The first decimal comma (on `line`) makes every earlier valid dot-grouped row
    /// ambiguous: each becomes invalid, leaves the totals, and gets its error.
    fn retract_pending(&mut self, line: u64) -> Result<(), SheetError> {
        if self.separators.overflow {
            return Err(SheetError::AmbiguousSeparators {
                line,
                pending: MAX_PENDING_DOT_GROUPED,
            });
        }
        let why = self.separators.ambiguous.unwrap_or("");
        let label = self.columns.label(Field::Amount).to_string();
        for p in std::mem::take(&mut self.separators.pending) {
            self.report.valid -= 1;
            self.report.invalid += 1;
            self.totals.remove(p.network, p.currency, p.amount);
            let e = amount::ambiguous(&p.amount.to_string(), why);
            let problem = Problem::new(p.line, &label, e.code, e.message);
            (self.on_problem)(Severity::Error, &problem);
            self.report.add(Severity::Error, problem);
            self.report.retracted.push(p.line);
        }
        Ok(())
    }
}

/// Turns the row's layout notes (hidden, merged over a payout column) into errors: the row
/// is then not paid, whatever its cells say.
fn layout_problems(o: &mut RowOutcome, row: RowView<'_>, columns: &Columns) {
    for note in row.notes() {
        let p = match note {
            RowNote::Hidden => Problem::new(
                o.line,
                "",
                codes::ROW_HIDDEN,
                "the row is hidden (by hand or by a filter); delete it, or unhide it and check \
                 it, or pass --include-hidden",
            ),
            RowNote::Merged { column, range } => {
                let name = columns.names.get(*column).map_or("", |n| n.trim());
                Problem::new(
                    o.line,
                    name,
                    codes::MERGED_CELLS,
                    format!(
                        "the cell is part of the merged range {range}, which only its first cell \
                         holds a value for; unmerge {range} and fill in every row"
                    ),
                )
            }
        };
        o.errors.push(p);
        o.valid = None;
    }
}

/// Reads every batch from `source`, checks and merges every row, hands each row to `sink` (only
/// when `rules.keep_rows`: `validate` keeps none) and
/// each problem to `on_problem` in sheet order, and returns the report (which keeps only the
/// first problems: memory does not grow with their number). Three stages run at once: the reader thread, the
/// parallel row checks (rayon), and the in-order merge thread.
pub fn run(
    mut source: Box<dyn BatchSource>,
    rules: &RowRules,
    allow_duplicates: bool,
    file_bytes: Option<u64>,
    mut sink: impl FnMut(SheetRow) + Send,
    on_problem: impl FnMut(Severity, &Problem) + Send,
) -> Result<Report, SheetError> {
    let columns = source.columns().clone();
    let worksheet = source.worksheet().map(str::to_string);
    let semicolon = source.delimiter() == Some(b';');
    let checker = RowChecker::new(rules, &columns);
    let keep_rows = rules.keep_rows;
    let mut merger = Merger {
        report: Report::default(),
        separators: Separators {
            ambiguous: semicolon.then_some("it is ';'-delimited, as decimal-comma exports are"),
            unstated: rules.decimal_separator.is_none(),
            pending: Vec::new(),
            overflow: false,
        },
        on_problem,
        totals: Totals::default(),
        duplicates: FirstSeen::default(),
        order_ids: FirstSeen::default(),
        memos: SharedAddressMemos::default(),
        lookalikes: ShapeIndex::default(),
        allow_duplicates,
        order_label: columns.label(Field::OrderId).to_string(),
        columns: &columns,
    };
    std::thread::scope(|scope| -> Result<(), SheetError> {
        // Checked batches go back to the reader (and outcome vectors back to the checker)
        // to be filled again: their memory is already mapped, so no page is faulted in and
        // zeroed anew for every batch.
        let (spare_batch_tx, spare_batch_rx) = std::sync::mpsc::channel::<Batch>();
        let (spare_out_tx, spare_out_rx) = std::sync::mpsc::channel::<Vec<RowOutcome>>();
        let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel(2);
        scope.spawn(move || loop {
            if let Ok(spare) = spare_batch_rx.try_recv() {
                source.recycle(spare);
            }
            let item = source.next_batch();
            let stop = !matches!(item, Ok(Some(_)));
            if let Ok(None) = item {
                break;
            }
            if batch_tx.send(item).is_err() || stop {
                break;
            }
        });
        let (checked_tx, checked_rx) = std::sync::mpsc::sync_channel::<Vec<RowOutcome>>(6);
        // Size the duplicate index once from the first batch's bytes per row.
        let first = batch_rx.recv().unwrap_or(Ok(None));
        let estimate = match (&first, file_bytes) {
            (Ok(Some(b)), Some(total)) => {
                let per_row = (b.data_len() + b.cell_count()) as u64 / b.len().max(1) as u64;
                let rows = (total / per_row.max(16)).min(MAX_RESERVED_KEYS);
                // An eighth more than the first batch suggests: the indexes are sized exactly
                // (`probe_table`), and a sheet whose later rows are shorter would otherwise
                // rehash its whole index near the end.
                Some(rows + rows / 8)
            }
            _ => None,
        };
        let mut first_checked = true;
        let merger = &mut merger;
        let merged = scope.spawn(move || -> Result<(), SheetError> {
            // The duplicate index is sized (and its pages written) here, on the merge thread,
            // while the first batches are checked: on the main thread it held every worker
            // back for the ~30 ms a million-row index takes to fault in.
            if let (Some(estimate), false) = (estimate, allow_duplicates) {
                merger.duplicates.reserve(estimate as usize + 1024);
            }
            for mut outcomes in checked_rx {
                // The look-alike index takes valid rows only: it is sized once for the share
                // of the first checked batch that is valid (a sheet of invalid rows reserves
                // nothing), then grows if it must.
                // The memo index likewise, for the share of rows on memo networks.
                if let (Some(estimate), true) = (estimate, first_checked) {
                    let share = |n: usize| estimate * n as u64 / outcomes.len().max(1) as u64;
                    let valid = outcomes.iter().filter(|o| o.valid.is_some()).count();
                    let memo = outcomes
                        .iter()
                        .filter(|o| o.valid.as_ref().is_some_and(|v| v.memo_use.is_some()))
                        .count();
                    merger.lookalikes.reserve(share(valid) as usize + 1024);
                    merger.memos.reserve(share(memo) as usize);
                }
                first_checked = false;
                let key = |o: &RowOutcome| o.valid.as_ref().map(|v| v.duplicate_key);
                let shape =
                    |o: &RowOutcome| o.valid.as_ref().and_then(|v| v.lookalike.map(|l| l.0));
                let memo_address =
                    |o: &RowOutcome| o.valid.as_ref().and_then(|v| v.memo_use.map(|m| m.0));
                let n = outcomes.len();
                let mut start = 0;
                while start < n {
                    let end = (start + TOUCH_AHEAD).min(n);
                    let ahead = &outcomes[end..(end + TOUCH_AHEAD).min(n)];
                    if !allow_duplicates {
                        merger.duplicates.touch(ahead.iter().filter_map(key));
                    }
                    merger.lookalikes.touch(ahead.iter().filter_map(shape));
                    merger.memos.touch(ahead.iter().filter_map(memo_address));
                    for o in &mut outcomes[start..end] {
                        let payout = merger.merge(o)?;
                        if keep_rows {
                            sink(SheetRow {
                                line: o.line,
                                cells: std::mem::take(&mut o.cells),
                                payout: payout.map(|p| *p),
                            });
                        }
                    }
                    start = end;
                }
                // not cleared: the next batch's checks overwrite (and drop) each slot in
                // parallel; the rows' problems were handed on above
                let _ = spare_out_tx.send(outcomes);
            }
            Ok(())
        });
        for item in std::iter::once(first).chain(batch_rx) {
            let batch = match item {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => {
                    drop(checked_tx);
                    let _ = merged.join();
                    return Err(e);
                }
            };
            // Each row is checked in place in its slot of a recycled outcome vector
            // (`check_into` resets the slot, dropping what an earlier batch left there): an
            // outcome is about 240 bytes, and returning it to be moved into the vector cost
            // a memmove per row; clearing the vector after the merge and filling it with
            // defaults again cost writing every slot twice.
            let mut outcomes = spare_out_rx.try_recv().unwrap_or_default();
            outcomes.truncate(batch.len());
            outcomes.resize_with(batch.len(), RowOutcome::default);
            // Rows go to the workers in runs of `CHUNK_ROWS`, each run's text checked as UTF-8
            // once (`RowsText`).
            let views = batch.row_views();
            outcomes
                .par_chunks_mut(CHUNK_ROWS)
                .zip(views.par_chunks(CHUNK_ROWS))
                .for_each(|(os, rs)| {
                    let text = RowsText::of(rs);
                    for (o, r) in os.iter_mut().zip(rs) {
                        checker.check_in(*r, text.as_ref(), o);
                        layout_problems(o, *r, &columns);
                    }
                });
            let _ = spare_batch_tx.send(batch);
            if checked_tx.send(outcomes).is_err() {
                break; // the merge stopped on an error; it is returned below
            }
        }
        drop(checked_tx);
        match merged.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })?;
    if merger.report.rows == 0 {
        return Err(SheetError::NoDataRows);
    }
    let warnings = merger.memos.warnings(columns.label(Field::Memo));
    let mut on_problem = merger.on_problem;
    let mut report = merger.report;
    report.worksheet = worksheet;
    if !report.retracted.is_empty() {
        report.errors.sort_by_key(|p| p.line);
    }
    if !warnings.is_empty() {
        for p in warnings {
            on_problem(Severity::Warning, &p);
            report.add(Severity::Warning, p);
        }
        report.warnings.sort_by_key(|p| p.line);
    }
    report.totals = merger.totals.into_vec();
    Ok(report)
}
