//! The book's SQLite file: opening it (private, WAL, `synchronous=FULL`), its schema and
//! migrations, and the one write path — `record`, which appends events to the hash chain and
//! folds them into the `orders` table in the same transaction.
//!
//! Integrity: every event row carries `hash = SHA-256(prev_hash ‖ event bytes)` where the
//! event bytes are `seq ␟ account ␟ run ␟ kind ␟ body` and the first event's `prev_hash` is
//! derived from the book's id. Every `orders` row carries a seal (a SHA-256 over its status,
//! request and last event) checked whenever it is read, so a status edited by hand is refused
//! with the order named, never believed. `meta.head_seq`/`head_hash` name the last event, so a
//! cut-off tail is noticed at open.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};

use super::events::{Event, OrderRecord};
use super::BookError;
use crate::gateway::{PayoutRequest, PayoutState};
use crate::model::{OrderId, Status};

/// `PRAGMA application_id` of a payrun book ("PAYR").
pub const APPLICATION_ID: i64 = 0x5041_5952;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Migrations from version N-1 to N, index N-1. Never edit a shipped one; append.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE accounts(
        id INTEGER PRIMARY KEY,
        gateway TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('live', 'sandbox')),
        namespace TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (gateway, mode, namespace)
    );
    CREATE TABLE runs(
        id INTEGER PRIMARY KEY,
        account INTEGER NOT NULL REFERENCES accounts(id),
        run_id TEXT NOT NULL,
        sheet_path TEXT NOT NULL,
        sheet_name TEXT NOT NULL,
        worksheet TEXT,
        sheet_sha256 TEXT NOT NULL,
        columns TEXT NOT NULL,
        started_at TEXT NOT NULL,
        quote TEXT,
        approval TEXT,
        order_count INTEGER NOT NULL DEFAULT 0,
        event_count INTEGER NOT NULL DEFAULT 0,
        UNIQUE (account, run_id)
    );
    CREATE INDEX runs_by_path ON runs(account, sheet_path);
    CREATE INDEX runs_by_sha ON runs(account, sheet_sha256);
    CREATE TABLE rows(
        run INTEGER NOT NULL,
        line INTEGER NOT NULL,
        order_id TEXT,
        invalid TEXT,
        held TEXT,
        currency TEXT,
        network TEXT,
        amount TEXT,
        quoted_fee TEXT,
        cells TEXT NOT NULL,
        PRIMARY KEY (run, line)
    ) WITHOUT ROWID;
    CREATE TABLE orders(
        id INTEGER PRIMARY KEY,
        account INTEGER NOT NULL REFERENCES accounts(id),
        run INTEGER NOT NULL REFERENCES runs(id),
        order_id TEXT NOT NULL,
        line INTEGER NOT NULL,
        digest TEXT NOT NULL,
        request TEXT NOT NULL,
        address TEXT NOT NULL,
        recipient_key TEXT,
        status TEXT NOT NULL,
        state TEXT,
        error TEXT,
        updated_at TEXT NOT NULL,
        sent INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        seal BLOB NOT NULL,
        UNIQUE (account, order_id)
    );
    CREATE INDEX orders_by_run ON orders(run, status);
    CREATE TABLE events(
        seq INTEGER PRIMARY KEY,
        account INTEGER NOT NULL,
        run INTEGER,
        order_id TEXT,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        hash BLOB NOT NULL
    );
    CREATE INDEX events_by_order ON events(account, order_id) WHERE order_id IS NOT NULL;
    CREATE INDEX events_by_run ON events(run);
    "#,
];

/// The open book. One connection behind a mutex: every write is one short transaction.
#[derive(Debug)]
pub struct Book {
    conn: Mutex<Connection>,
    path: PathBuf,
    book_id: String,
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> BookError + '_ {
    move |source| BookError::from_sqlite(path, source)
}

/// The `prev_hash` of the first event of a book.
pub fn genesis(book_id: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"payrun-book-genesis\x1f")
        .chain_update(book_id.as_bytes())
        .finalize()
        .into()
}

/// `SHA-256(prev ‖ seq ␟ account ␟ run ␟ kind ␟ body)`.
pub fn event_hash(
    prev: &[u8],
    seq: i64,
    account: i64,
    run: Option<i64>,
    kind: &str,
    body: &str,
) -> [u8; 32] {
    let run = run.map(|r| r.to_string()).unwrap_or_default();
    Sha256::new()
        .chain_update(prev)
        .chain_update(format!("{seq}\x1f{account}\x1f{run}\x1f{kind}\x1f").as_bytes())
        .chain_update(body.as_bytes())
        .finalize()
        .into()
}

/// The seal of an order row: binds its status and request to the last event that changed it.
#[allow(clippy::too_many_arguments)]
pub fn order_seal(
    book_id: &str,
    account: i64,
    order_id: &str,
    status: &str,
    sent: bool,
    last_seq: i64,
    digest: &str,
    request: &str,
) -> Vec<u8> {
    let d = Sha256::new()
        .chain_update(b"payrun-order-seal\x1f")
        .chain_update(book_id.as_bytes())
        .chain_update(
            format!(
                "\x1f{account}\x1f{order_id}\x1f{status}\x1f{sent}\x1f{last_seq}\x1f{digest}\x1f"
            )
            .as_bytes(),
        )
        .chain_update(request.as_bytes())
        .finalize();
    d[..16].to_vec()
}

/// Creates the book file with mode 0600 (and its directory with 0700) when it does not exist.
fn create_private(path: &Path) -> Result<(), BookError> {
    let io = |source| BookError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(io)?;
        }
    }
    if path.exists() {
        if path.is_dir() {
            return Err(BookError::Foreign {
                path: path.to_path_buf(),
                why: "it is a directory".into(),
            });
        }
        return Ok(());
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// An order row as read, before its seal is checked.
struct OrderRow {
    id: i64,
    run: i64,
    order_id: String,
    line: i64,
    digest: String,
    request: String,
    status: String,
    state: Option<String>,
    error: Option<String>,
    updated_at: String,
    sent: bool,
    last_seq: i64,
    seal: Vec<u8>,
}

const ORDER_COLUMNS: &str =
    "id, run, order_id, line, digest, request, status, state, error, updated_at, sent, last_seq, seal";

fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    Ok(OrderRow {
        id: r.get(0)?,
        run: r.get(1)?,
        order_id: r.get(2)?,
        line: r.get(3)?,
        digest: r.get(4)?,
        request: r.get(5)?,
        status: r.get(6)?,
        state: r.get(7)?,
        error: r.get(8)?,
        updated_at: r.get(9)?,
        sent: r.get(10)?,
        last_seq: r.get(11)?,
        seal: r.get(12)?,
    })
}

/// Where an order sits in the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderPlace {
    pub row: i64,
    pub run: i64,
}

impl Book {
    /// Opens (or creates) the book at `path`: a payrun book or nothing — another SQLite file, a
    /// file that is not SQLite, a book from a newer payrun, or a cut-off event chain is refused
    /// with the reason.
    pub fn open(path: &Path) -> Result<Book, BookError> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(sql(path))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql(path))?;
        let app_id: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(sql(path))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql(path))?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(sql(path))?;
        if app_id != APPLICATION_ID && (tables > 0 || app_id != 0) {
            return Err(BookError::Foreign {
                path: path.into(),
                why: "it is an SQLite database, but not a payrun book".into(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(BookError::Foreign {
                path: path.into(),
                why: format!(
                    "it was written by a newer payrun (schema {version}; this one knows up to {SCHEMA_VERSION})"
                ),
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql(path))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql(path))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql(path))?;
        let mut conn = conn;
        if version < SCHEMA_VERSION {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
                .map_err(sql(path))?;
            // Another process may have migrated while we waited for the lock.
            let now: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(sql(path))?;
            for (i, m) in MIGRATIONS.iter().enumerate().skip(now as usize) {
                tx.execute_batch(m).map_err(sql(path))?;
                if i == 0 {
                    let id = uuid::Uuid::new_v4().to_string();
                    tx.execute(
                        "INSERT INTO meta(key, value) VALUES ('book_id', ?1), ('created_at', ?2), ('head_seq', '0'), ('head_hash', ?3)",
                        params![id, super::events::now(), hex::encode(genesis(&id))],
                    )
                    .map_err(sql(path))?;
                }
            }
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(sql(path))?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql(path))?;
            tx.commit().map_err(sql(path))?;
        }
        let book_id: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'book_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql(path))?
            .ok_or_else(|| BookError::Foreign {
                path: path.into(),
                why: "it has no book id".into(),
            })?;
        let book = Book {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            book_id,
        };
        book.check_head()?;
        Ok(book)
    }

    /// The book's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The book's id (a UUID made when it was created).
    pub fn id(&self) -> &str {
        &self.book_id
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn sql_err(&self, e: rusqlite::Error) -> BookError {
        BookError::from_sqlite(&self.path, e)
    }

    fn tampered(&self, place: String) -> BookError {
        BookError::Tampered {
            path: self.path.clone(),
            place,
        }
    }

    /// The last event must be the one `meta` names, and must link to its predecessor.
    fn check_head(&self) -> Result<(), BookError> {
        let conn = self.conn();
        let meta = |k: &str| -> Result<String, BookError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .map_err(|e| self.sql_err(e))
        };
        let head_seq: i64 = meta("head_seq")?.parse().unwrap_or(-1);
        let head_hash = meta("head_hash")?;
        let last: Option<(i64, Vec<u8>)> = conn
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        let (seq, hash) = last.unwrap_or((0, genesis(&self.book_id).to_vec()));
        if seq != head_seq || hex::encode(&hash) != head_hash {
            return Err(self.tampered(format!(
                "the book's last event is #{seq}, but its head says #{head_seq}: events were removed or added outside payrun"
            )));
        }
        drop(conn);
        if seq > 0 {
            self.verify_link(seq)?;
        }
        Ok(())
    }

    /// Checks that event `seq` hashes from its predecessor.
    pub fn verify_link(&self, seq: i64) -> Result<(), BookError> {
        let conn = self.conn();
        type Link = (i64, Option<i64>, String, String, Vec<u8>);
        let row: Option<Link> = conn
            .query_row(
                "SELECT account, run, kind, body, hash FROM events WHERE seq = ?1",
                [seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        let Some((account, run, kind, body, hash)) = row else {
            return Err(self.tampered(format!("event #{seq} is missing")));
        };
        let prev: Vec<u8> = if seq == 1 {
            genesis(&self.book_id).to_vec()
        } else {
            conn.query_row("SELECT hash FROM events WHERE seq = ?1", [seq - 1], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql_err(e))?
            .ok_or_else(|| self.tampered(format!("event #{} is missing", seq - 1)))?
        };
        if event_hash(&prev, seq, account, run, &kind, &body)[..] != hash[..] {
            return Err(self.tampered(format!(
                "event #{seq} ({kind}) does not match its hash: it was edited outside payrun"
            )));
        }
        Ok(())
    }

    /// Checks every event of a run against its hash and its predecessor's, and that none of
    /// the run's events is missing. Hashing runs on every core.
    pub fn verify_run_events(&self, run: i64, run_id: &str) -> Result<(), BookError> {
        use rayon::prelude::*;
        let conn = self.conn();
        let expected: i64 = conn
            .query_row("SELECT event_count FROM runs WHERE id = ?1", [run], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql_err(e))?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT e.seq, e.account, e.kind, e.body, e.hash, p.hash FROM events e LEFT JOIN events p ON p.seq = e.seq - 1 WHERE e.run = ?1 ORDER BY e.seq",
            )
            .map_err(|e| self.sql_err(e))?;
        type Row = (i64, i64, String, String, Vec<u8>, Option<Vec<u8>>);
        let rows: Vec<Row> = stmt
            .query_map([run], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(|e| self.sql_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.sql_err(e))?;
        drop(stmt);
        drop(conn);
        if rows.len() as i64 != expected {
            return Err(self.tampered(format!(
                "run {run_id} should have {expected} events but has {}: events were removed outside payrun",
                rows.len()
            )));
        }
        let genesis = genesis(&self.book_id);
        let bad = rows
            .par_iter()
            .find_first(|(seq, account, kind, body, hash, prev)| {
                let prev: &[u8] = match prev {
                    Some(p) => p,
                    None if *seq == 1 => &genesis,
                    None => return true,
                };
                event_hash(prev, *seq, *account, Some(run), kind, body)[..] != hash[..]
            });
        match bad {
            Some((seq, _, kind, _, _, prev)) => Err(self.tampered(if prev.is_none() && *seq > 1 {
                format!("event #{} before event #{seq} is missing", seq - 1)
            } else {
                format!("event #{seq} ({kind}) of run {run_id} does not match its hash: edited outside payrun")
            })),
            None => Ok(()),
        }
    }

    /// Decodes and checks one order row.
    fn decode_order(
        &self,
        account: i64,
        r: OrderRow,
    ) -> Result<(OrderPlace, OrderRecord), BookError> {
        let seal = order_seal(
            &self.book_id,
            account,
            &r.order_id,
            &r.status,
            r.sent,
            r.last_seq,
            &r.digest,
            &r.request,
        );
        if seal != r.seal {
            return Err(self.tampered(format!(
                "order {} (status {}) does not match its seal: its state was edited outside payrun",
                r.order_id, r.status
            )));
        }
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            self.tampered(format!("order {}: unreadable {what}: {e}", r.order_id))
        };
        let status = Status::parse(&r.status).ok_or_else(|| bad("status", &r.status))?;
        let request: PayoutRequest =
            serde_json::from_str(&r.request).map_err(|e| bad("request", &e))?;
        let state: Option<PayoutState> = match &r.state {
            Some(s) => Some(serde_json::from_str(s).map_err(|e| bad("state", &e))?),
            None => None,
        };
        Ok((
            OrderPlace {
                row: r.id,
                run: r.run,
            },
            OrderRecord {
                order_id: OrderId(r.order_id),
                line: r.line.max(0) as u64,
                digest: r.digest,
                request,
                status,
                state,
                error: r.error,
                updated_at: r.updated_at,
                sent: r.sent,
            },
        ))
    }

    fn read_order(
        &self,
        conn: &Connection,
        account: i64,
        id: &str,
    ) -> Result<Option<(OrderPlace, OrderRecord)>, BookError> {
        let row = conn
            .query_row(
                &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE account = ?1 AND order_id = ?2"),
                params![account, id],
                order_row,
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        row.map(|r| self.decode_order(account, r)).transpose()
    }

    /// One order of an account.
    pub fn order(
        &self,
        account: i64,
        id: &str,
    ) -> Result<Option<(OrderPlace, OrderRecord)>, BookError> {
        let conn = self.conn();
        self.read_order(&conn, account, id)
    }

    /// When the order's first intent was committed (None: never sent).
    pub fn first_intent_at(
        &self,
        account: i64,
        order_id: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, BookError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM events WHERE account = ?1 AND order_id = ?2 AND kind = 'intent' ORDER BY seq LIMIT 1",
                params![account, order_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        let Some(body) = body else { return Ok(None) };
        match serde_json::from_str::<Event>(&body) {
            Ok(Event::Intent { at, .. }) => Ok(chrono::DateTime::parse_from_rfc3339(&at)
                .ok()
                .map(|d| d.with_timezone(&chrono::Utc))),
            _ => Err(self.tampered(format!(
                "the first intent of order {order_id} is unreadable"
            ))),
        }
    }

    /// Every order of a run (seals checked).
    pub fn run_orders(&self, account: i64, run: i64) -> Result<Vec<OrderRecord>, BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE run = ?1 ORDER BY id"
            ))
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([run], order_row)
            .map_err(|e| self.sql_err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let r = r.map_err(|e| self.sql_err(e))?;
            out.push(self.decode_order(account, r)?.1);
        }
        Ok(out)
    }

    /// Writes an order row (insert or update) with a fresh seal.
    #[allow(clippy::too_many_arguments)]
    fn write_order(
        &self,
        tx: &Transaction<'_>,
        account: i64,
        run: i64,
        row: Option<i64>,
        rec: &OrderRecord,
        recipient_key: Option<&str>,
        last_seq: i64,
    ) -> Result<i64, BookError> {
        let request =
            serde_json::to_string(&rec.request).map_err(|e| BookError::Encode(e.to_string()))?;
        let state = rec
            .state
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| BookError::Encode(e.to_string()))?;
        let status = rec.status.as_str();
        let seal = order_seal(
            &self.book_id,
            account,
            rec.order_id.as_str(),
            status,
            rec.sent,
            last_seq,
            &rec.digest,
            &request,
        );
        match row {
            Some(id) => {
                tx.prepare_cached(
                    "UPDATE orders SET line = ?2, digest = ?3, request = ?4, address = ?5, status = ?6, state = ?7, error = ?8, updated_at = ?9, sent = ?10, last_seq = ?11, seal = ?12 WHERE id = ?1",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        id,
                        rec.line as i64,
                        rec.digest,
                        request,
                        rec.request.to_address,
                        status,
                        state,
                        rec.error,
                        rec.updated_at,
                        rec.sent,
                        last_seq,
                        seal
                    ])
                })
                .map_err(|e| self.sql_err(e))?;
                Ok(id)
            }
            None => {
                tx.prepare_cached(
                    "INSERT INTO orders(account, run, order_id, line, digest, request, address, recipient_key, status, state, error, updated_at, sent, last_seq, seal) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        account,
                        run,
                        rec.order_id.as_str(),
                        rec.line as i64,
                        rec.digest,
                        request,
                        rec.request.to_address,
                        recipient_key,
                        status,
                        state,
                        rec.error,
                        rec.updated_at,
                        rec.sent,
                        last_seq,
                        seal
                    ])
                })
                .map_err(|e| self.sql_err(e))?;
                tx.execute(
                    "UPDATE runs SET order_count = order_count + 1 WHERE id = ?1",
                    [run],
                )
                .map_err(|e| self.sql_err(e))?;
                Ok(tx.last_insert_rowid())
            }
        }
    }

    /// Appends one event to the chain inside `tx`; returns its seq.
    pub(crate) fn append_event(
        &self,
        tx: &Transaction<'_>,
        account: i64,
        run: Option<i64>,
        event: &Event,
    ) -> Result<i64, BookError> {
        let body = serde_json::to_string(event).map_err(|e| BookError::Encode(e.to_string()))?;
        let (prev_seq, prev): (i64, Vec<u8>) = tx
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?
            .unwrap_or_else(|| (0, genesis(&self.book_id).to_vec()));
        let seq = prev_seq + 1;
        let kind = event.kind();
        let hash = event_hash(&prev, seq, account, run, kind, &body);
        tx.prepare_cached(
            "INSERT INTO events(seq, account, run, order_id, kind, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut s| {
            s.execute(params![
                seq,
                account,
                run,
                event.order_id().map(OrderId::as_str),
                kind,
                body,
                hash.to_vec()
            ])
        })
        .map_err(|e| self.sql_err(e))?;
        if let Some(run) = run {
            tx.prepare_cached("UPDATE runs SET event_count = event_count + 1 WHERE id = ?1")
                .and_then(|mut s| s.execute([run]))
                .map_err(|e| self.sql_err(e))?;
        }
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'head_seq'")
            .and_then(|mut s| s.execute([seq.to_string()]))
            .map_err(|e| self.sql_err(e))?;
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'head_hash'")
            .and_then(|mut s| s.execute([hex::encode(hash)]))
            .map_err(|e| self.sql_err(e))?;
        Ok(seq)
    }

    /// Starts a write transaction (taking the database's write lock at once).
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, BookError>,
    ) -> Result<T, BookError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.sql_err(e))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| self.sql_err(e))?;
        Ok(out)
    }

    /// Commits `events` of one account in one transaction: each is chained, and each order
    /// event folds into its order's row. An answer for an order that has no intent is refused
    /// (nothing of the batch is written): the book is never guessed.
    pub fn record(&self, account: i64, events: &[Event]) -> Result<(), BookError> {
        if events.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for ev in events {
                let Some(id) = ev.order_id() else {
                    return Err(BookError::Encode(
                        "a sheet event is recorded with the run's plan, not as an order event"
                            .into(),
                    ));
                };
                let (place, mut rec) = match self.read_order(tx, account, id.as_str())? {
                    Some(found) => found,
                    None => {
                        return Err(BookError::NoIntent {
                            order_id: id.clone(),
                        })
                    }
                };
                if !matches!(ev, Event::Intent { .. }) && !rec.sent {
                    return Err(BookError::NoIntent {
                        order_id: id.clone(),
                    });
                }
                let seq = self.append_event(tx, account, Some(place.run), ev)?;
                rec.apply(ev);
                self.write_order(tx, account, place.run, Some(place.row), &rec, None, seq)?;
            }
            if !matches!(events.first(), Some(Event::Intent { .. })) {
                crate::failpoint::hit("in_commit");
            }
            Ok(())
        })
    }

    /// Inserts planned orders (status not sent) of a run that the book does not have yet, and
    /// removes the run's planned orders that were never sent and are no longer planned.
    pub(crate) fn plan_orders(
        &self,
        tx: &Transaction<'_>,
        account: i64,
        run: i64,
        planned: &[(OrderRecord, Option<String>)],
    ) -> Result<(), BookError> {
        let keep: std::collections::HashSet<&str> =
            planned.iter().map(|(r, _)| r.order_id.as_str()).collect();
        let stale: Vec<String> = {
            let mut stmt = tx
                .prepare("SELECT order_id FROM orders WHERE run = ?1 AND sent = 0")
                .map_err(|e| self.sql_err(e))?;
            let ids = stmt
                .query_map([run], |r| r.get::<_, String>(0))
                .map_err(|e| self.sql_err(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.sql_err(e))?;
            ids.into_iter()
                .filter(|id| !keep.contains(id.as_str()))
                .collect()
        };
        for id in stale {
            tx.execute(
                "DELETE FROM orders WHERE account = ?1 AND order_id = ?2 AND sent = 0",
                params![account, id],
            )
            .map_err(|e| self.sql_err(e))?;
            tx.execute(
                "UPDATE runs SET order_count = order_count - 1 WHERE id = ?1",
                [run],
            )
            .map_err(|e| self.sql_err(e))?;
        }
        let mut exists = tx
            .prepare_cached("SELECT 1 FROM orders WHERE account = ?1 AND order_id = ?2")
            .map_err(|e| self.sql_err(e))?;
        for (rec, key) in planned {
            let found = exists
                .exists(params![account, rec.order_id.as_str()])
                .map_err(|e| self.sql_err(e))?;
            if !found {
                self.write_order(tx, account, run, None, rec, key.as_deref(), 0)?;
            }
        }
        Ok(())
    }
}
