//! The book: one SQLite database holding every run and every order ever sent through payrun,
//! for every gateway account — the single source of truth for what was sent (docs/book.md).
//!
//! - [`store`]: the file (private, WAL, `synchronous=FULL`), schema and migrations, the event
//!   hash chain and the one write path, `record`;
//! - [`events`]: the events and the status rule that folds them into an order's state;
//! - [`choice`]: which run a `run` command means (new, resume, already paid, differs);
//! - [`runs`]: accounts, runs, the sheet and plan of a run, and the one-sender lease;
//! - [`identity`]: which runs a sheet belongs to (every sheet a run was read from);
//! - [`approvals`]: four-eyes approvals of a plan, and which run used one;
//! - [`codec`]: event bodies and order answers stored compressed, decoded to the exact JSON;
//! - [`audit`]: `book verify` (the whole chain, every order against its events) and export;
//! - [`queries`]: the run listing and a recipient's history;
//! - [`ledgers`]: which results ledgers were written from which state of a run;
//! - [`recipients`]: addresses sent to and each recipient key's last address (controls);
//! - [`location`]: where the book lives;
//! - [`packed`]: finished runs packed into compressed blocks, and read from them.

pub mod approvals;
pub mod audit;
pub mod choice;
pub mod codec;
pub mod events;
pub mod identity;
pub mod ledgers;
pub mod location;
pub mod packed;
pub mod queries;
pub mod recipients;
pub mod runs;
pub mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use events::{now, Event, FieldConflict, OrderRecord, SheetSnapshot, SnapshotRow, Source};
pub use runs::{AccountKey, Lease, Mode, Run, RunCounts, SheetInfo};
pub use store::Book;

use crate::model::{OrderId, Status};

/// A book problem. Every one stops the command (exit 2): the book is never guessed.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("book {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("book {path}: {message}")]
    Sqlite { path: PathBuf, message: String },
    #[error("{path} is not a payrun book: {why}")]
    Foreign { path: PathBuf, why: String },
    #[error("book {path} was altered outside payrun: {place}; nothing was sent (run `payrun book verify` for the first broken link)")]
    Tampered { path: PathBuf, place: String },
    #[error("run {run_id} is being sent by another payrun process (one sender per run); wait for it to finish")]
    Leased { run_id: String },
    #[error("the book has an answer for order {order_id} but no intent for it: refusing to guess")]
    NoIntent { order_id: OrderId },
    #[error("book: {0}")]
    Encode(String),
}

impl BookError {
    /// An SQLite error on `path`, worded for a person (a file that is not a database, or
    /// one cut short, says so).
    pub fn from_sqlite(path: &Path, e: rusqlite::Error) -> BookError {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => BookError::Foreign {
                path: path.into(),
                why: "it is not an SQLite database".into(),
            },
            Some(ErrorCode::DatabaseCorrupt) => BookError::Tampered {
                path: path.into(),
                place: format!("the database file is damaged or cut short ({e})"),
            },
            _ => BookError::Sqlite {
                path: path.into(),
                message: e.to_string(),
            },
        }
    }
}

/// The book as one command works with it: an account, and the run it sends or refreshes
/// (None: any run of the account, as `webhook serve` needs). Cheap to share between tasks.
#[derive(Debug)]
pub struct RunBook {
    pub book: Arc<Book>,
    pub account: i64,
    pub run: Option<Run>,
    changed: AtomicBool,
}

impl RunBook {
    pub fn new(book: Arc<Book>, account: i64, run: Option<Run>) -> RunBook {
        RunBook {
            book,
            account,
            run,
            changed: AtomicBool::new(false),
        }
    }

    /// Commits `events` (one transaction, fsync'd). Inside a multi-threaded tokio runtime the
    /// commit runs via `block_in_place` so other tasks keep running.
    pub fn record(&self, events: Vec<Event>) -> Result<(), BookError> {
        let write = || self.book.record(self.account, &events);
        let out = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(write)
            }
            _ => write(),
        };
        if out.is_ok() {
            self.changed.store(true, Ordering::Relaxed);
        }
        out
    }

    /// The full record of an order of the account.
    pub fn get(&self, id: &OrderId) -> Result<Option<OrderRecord>, BookError> {
        Ok(self.book.order(self.account, id.as_str())?.map(|(_, r)| r))
    }

    /// When the order's first intent was committed.
    pub fn first_intent_at(
        &self,
        id: &OrderId,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, BookError> {
        self.book.first_intent_at(self.account, id.as_str())
    }

    /// An order's status (None: the book does not have it).
    pub fn status(&self, id: &OrderId) -> Option<Status> {
        self.get(id).ok().flatten().map(|r| r.status)
    }

    /// Every order of the run.
    pub fn orders(&self) -> Result<HashMap<OrderId, OrderRecord>, BookError> {
        let Some(run) = &self.run else {
            return Ok(HashMap::new());
        };
        Ok(self
            .book
            .run_orders(self.account, run.pk)?
            .into_iter()
            .map(|r| (r.order_id.clone(), r))
            .collect())
    }

    /// The ids of the run's orders whose status satisfies `keep`.
    pub fn ids_where(&self, keep: impl Fn(Status) -> bool) -> Result<Vec<OrderId>, BookError> {
        let Some(run) = &self.run else {
            return Ok(Vec::new());
        };
        Ok(self
            .book
            .run_orders(self.account, run.pk)?
            .into_iter()
            .filter(|r| keep(r.status))
            .map(|r| r.order_id)
            .collect())
    }

    /// Whether anything was committed through this handle.
    pub fn changed(&self) -> bool {
        self.changed.load(Ordering::Relaxed)
    }
}

/// A new book's id: 128 random bits written as a UUID (version 4, RFC 9562), as every book
/// has had since the first schema. Made from `rand` so a build without the embedded sandbox
/// needs no UUID crate.
pub fn new_book_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod book_id_tests {
    #[test]
    fn a_book_id_is_a_version_4_uuid_and_new_each_time() {
        let a = super::new_book_id();
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(a, super::new_book_id());
    }
}
