//! The results ledgers payrun wrote for a run: where, from which state of the run (its event
//! count and last event), and what the file was on disk right after (size, modification time).
//! A ledger whose run has not changed since, and whose file nobody touched, is current: `run`
//! on a sheet the book already paid answers from this record alone, without reading the sheet
//! or rebuilding the ledger (docs/book.md, "Performance").
//!
//! The record is a cache of what the run's events say, never a source of truth: anything that
//! does not match exactly (another event, another file) sends the caller down the full path,
//! which checks the run's events and rebuilds the ledger.

use std::path::Path;
use std::time::UNIX_EPOCH;

use rusqlite::{params, OptionalExtension};

use super::{Book, BookError, Run};

/// Where a run stands, read before its ledger is built: a ledger built after this is at least
/// as new, so recording this state never calls a stale file current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunState {
    /// `runs.event_count`: events recorded for the run.
    pub events: i64,
    /// The run's last event (`events.seq`), 0 when it has none.
    pub last_seq: i64,
}

/// What a written results ledger said, as recorded beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerNote {
    /// Every valid row answered for good (nothing left to send or to resolve).
    pub finished: bool,
    /// Every row accepted by the gateway (pending or completed): exit 0.
    pub accepted: bool,
    /// `12 rows: 10 paid, 2 in progress`.
    pub count_line: String,
}

/// `(size in bytes, modification time in ns since the epoch)` of a file, None when unreadable.
fn stat(path: &Path) -> Option<(i64, i64)> {
    let m = std::fs::metadata(path).ok()?;
    let modified = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((
        i64::try_from(m.len()).ok()?,
        i64::try_from(modified.as_nanos()).ok()?,
    ))
}

impl Book {
    /// The run's state now (three indexed reads: a packed run's last event is in its blocks).
    pub fn run_state(&self, run: &Run) -> Result<RunState, BookError> {
        let conn = self.conn();
        conn.query_row(
            "SELECT (SELECT event_count FROM runs WHERE id = ?1), \
                    max((SELECT coalesce(max(seq), 0) FROM events WHERE run = ?1), \
                        (SELECT coalesce(max(last_seq), 0) FROM packed_blocks WHERE run = ?1))",
            [run.pk],
            |r| {
                Ok(RunState {
                    events: r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                    last_seq: r.get(1)?,
                })
            },
        )
        .map_err(|e| self.sql_err(e))
    }

    /// Whether anything changed the book outside payrun (an event updated or deleted, an
    /// order edited without its seal, a sent order deleted), counted by the book's triggers
    /// since the last `book verify` that found it whole.
    pub fn edited_outside(&self) -> Result<bool, BookError> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM meta WHERE key = 'edits_outside'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| self.sql_err(e))
    }

    /// The run (its id and sheet path) whose results ledger `path` holds now, when that is
    /// another run than `run`, read from another sheet (two sheets with one stem in a folder:
    /// `aff.csv` and `aff.xlsx` both write `aff.results.csv`) and the file is as it wrote it.
    pub fn ledger_of_another_sheet(
        &self,
        run: &Run,
        path: &Path,
    ) -> Result<Option<(String, String)>, BookError> {
        let Some((size, modified_ns)) = stat(path) else {
            return Ok(None);
        };
        self.conn()
            .query_row(
                "SELECT r.run_id, r.sheet_path FROM ledgers l JOIN runs r ON r.id = l.run \
                 WHERE l.path = ?1 AND l.run != ?2 AND r.sheet_path != ?3 \
                 AND l.size = ?4 AND l.modified_ns = ?5 LIMIT 1",
                params![
                    path.to_string_lossy(),
                    run.pk,
                    run.sheet_path,
                    size,
                    modified_ns
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))
    }

    /// Records that the results ledger at `path` was just written from the run at `state`.
    pub fn note_ledger(
        &self,
        run: &Run,
        path: &Path,
        state: RunState,
        note: &LedgerNote,
    ) -> Result<(), BookError> {
        let Some((size, modified_ns)) = stat(path) else {
            return Ok(());
        };
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO ledgers(run, path, events, last_seq, size, modified_ns, finished, accepted, count_line) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    run.pk,
                    path.to_string_lossy(),
                    state.events,
                    state.last_seq,
                    size,
                    modified_ns,
                    note.finished,
                    note.accepted,
                    note.count_line
                ],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(())
    }

    /// What the ledger at `path` says, when it is current: recorded from the run as it is now
    /// (`state`), and the file unchanged since. None otherwise.
    pub fn current_ledger(
        &self,
        run: &Run,
        path: &Path,
        state: RunState,
    ) -> Result<Option<LedgerNote>, BookError> {
        let row = self
            .conn()
            .query_row(
                "SELECT events, last_seq, size, modified_ns, finished, accepted, count_line \
                 FROM ledgers WHERE run = ?1 AND path = ?2",
                params![run.pk, path.to_string_lossy()],
                |r| {
                    Ok((
                        RunState {
                            events: r.get(0)?,
                            last_seq: r.get(1)?,
                        },
                        (r.get::<_, i64>(2)?, r.get::<_, i64>(3)?),
                        LedgerNote {
                            finished: r.get(4)?,
                            accepted: r.get(5)?,
                            count_line: r.get(6)?,
                        },
                    ))
                },
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        Ok(match row {
            Some((then, file, note)) if then == state && stat(path) == Some(file) => Some(note),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{AccountKey, Mode, SheetInfo};

    fn run_of(book: &Book) -> Run {
        let account = book
            .account(&AccountKey::g2328(Mode::Sandbox, "p-1"))
            .unwrap();
        let info = SheetInfo {
            path: "/x/pay.csv".into(),
            name: "pay.csv".into(),
            worksheet: None,
            sha256: "ab".into(),
            payouts_sha256: None,
        };
        book.create_run(account, None, "pay", &info, &["a".into()])
            .unwrap()
    }

    #[test]
    fn a_ledger_is_current_until_its_run_or_its_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(&dir.path().join("book.sqlite")).unwrap();
        let run = run_of(&book);
        let file = dir.path().join("pay.results.csv");
        std::fs::write(&file, "a\n1\n").unwrap();
        let state = book.run_state(&run).unwrap();
        let note = LedgerNote {
            finished: true,
            accepted: true,
            count_line: "1 row: 1 paid".into(),
        };
        assert_eq!(book.current_ledger(&run, &file, state).unwrap(), None);
        book.note_ledger(&run, &file, state, &note).unwrap();
        assert_eq!(
            book.current_ledger(&run, &file, state).unwrap(),
            Some(note.clone())
        );
        // Another state of the run: not current.
        let later = RunState {
            events: state.events + 1,
            ..state
        };
        assert_eq!(book.current_ledger(&run, &file, later).unwrap(), None);
        // The file edited by hand (another size): not current.
        std::fs::write(&file, "a\n1\n2\n").unwrap();
        assert_eq!(book.current_ledger(&run, &file, state).unwrap(), None);
        // Removed: not current.
        std::fs::remove_file(&file).unwrap();
        assert_eq!(book.current_ledger(&run, &file, state).unwrap(), None);
    }
}
