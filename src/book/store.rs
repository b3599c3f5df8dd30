//! The book's SQLite file: opening it (private, WAL, `synchronous=FULL`), its schema and
//! migrations, and the one write path — `record`, which appends events to the hash chain and
//! folds them into the `orders` table in the same transaction.
//!
//! Integrity: every event row carries `hash = SHA-256(prev_hash ‖ event bytes)` where the
//! event bytes are `seq ␟ account ␟ run ␟ kind ␟ body` and the first event's `prev_hash` is
//! derived from the book's id. Every `orders` row carries a seal (a SHA-256 over its status,
//! request, last event, last answer and error) checked whenever it is read, so a status edited
//! by hand is refused with the order named, never believed. `meta.head_seq`/`head_hash` name the last event, so a
//! cut-off tail is noticed at open.
//!
//! Storage: event bodies and order answers are stored compressed, an order's answer may name
//! its last event and its request and digest its intent event instead of repeating them, and a
//! planned order's request waits in `planned_requests` until its intent ([`super::codec`]); the
//! hash and the seal are over the JSON text either way. New books give freed pages back when
//! closed (`Drop`).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};

use super::events::{Event, OrderRecord};
use super::packed::{self, PackError};
use super::BookError;
use crate::gateway::{PayoutRequest, PayoutState};
use crate::model::{OrderId, Status};

/// `PRAGMA application_id` of a payrun book ("PAYR").
pub const APPLICATION_ID: i64 = 0x5041_5952;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 13;

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
    // 2: no query reads events by order (an order's row holds its state; `book verify` and the
    // run checks walk events by seq), and this index was 6 % of a book (180 bytes an order).
    // From this version on `events.order_id` is left NULL: it repeated the body's `order_id`
    // (135 bytes an order, outside the hash); the body, which the hash covers, is read instead.
    "DROP INDEX IF EXISTS events_by_order;",
    // 3: when an order's first intent was committed, so an answer describing a payout created
    // well before it is recognised as one the gateway already held.
    "ALTER TABLE orders ADD COLUMN first_sent_at TEXT;",
    // 4: the results ledgers written for a run, and from which state of it, so a ledger still
    // current is not rebuilt (`book::ledgers`); and triggers that count every change payrun
    // itself never makes (an event updated or deleted, an order's status, request, answer or
    // error changed without its seal, a sent order deleted) in `meta.edits_outside`, so a
    // command that answers without walking the chain knows the book was touched.
    r#"
    CREATE TABLE ledgers(
        run INTEGER NOT NULL REFERENCES runs(id),
        path TEXT NOT NULL,
        events INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        size INTEGER NOT NULL,
        modified_ns INTEGER NOT NULL,
        finished INTEGER NOT NULL,
        accepted INTEGER NOT NULL,
        count_line TEXT NOT NULL,
        PRIMARY KEY (run, path)
    ) WITHOUT ROWID;
    CREATE TRIGGER events_edited AFTER UPDATE ON events BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER events_deleted AFTER DELETE ON events BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER orders_edited AFTER UPDATE ON orders
    WHEN NEW.seal IS OLD.seal AND (NEW.status IS NOT OLD.status OR NEW.request IS NOT OLD.request
        OR NEW.state IS NOT OLD.state OR NEW.error IS NOT OLD.error OR NEW.sent IS NOT OLD.sent
        OR NEW.order_id IS NOT OLD.order_id OR NEW.run IS NOT OLD.run
        OR NEW.account IS NOT OLD.account) BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER orders_deleted AFTER DELETE ON orders WHEN OLD.sent = 1 BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    "#,
    // 5: approvals (docs/book.md, "Approvals") are found by kind without walking every event.
    "CREATE INDEX IF NOT EXISTS events_by_kind ON events(account, kind) WHERE kind IN ('approval', 'approval_used');",
    // 6: event bodies and order answers written from now on are compressed with a dictionary
    // the book carries (`book::codec`; the dictionary is inserted by `open`). Values written
    // before stay text and read as before; hashes and seals are over the JSON either way.
    super::codec::SCHEMA,
    // 7: an order row may name its last event's state instead of repeating it
    // (`codec::STATE_OF_LAST_EVENT`), so pointing `last_seq` elsewhere changes its answer: the
    // trigger counts that too (payrun changes the seal whenever it changes `last_seq`).
    r#"
    DROP TRIGGER IF EXISTS orders_edited;
    CREATE TRIGGER orders_edited AFTER UPDATE ON orders
    WHEN NEW.seal IS OLD.seal AND (NEW.status IS NOT OLD.status OR NEW.request IS NOT OLD.request
        OR NEW.state IS NOT OLD.state OR NEW.error IS NOT OLD.error OR NEW.sent IS NOT OLD.sent
        OR NEW.order_id IS NOT OLD.order_id OR NEW.run IS NOT OLD.run
        OR NEW.account IS NOT OLD.account OR NEW.last_seq IS NOT OLD.last_seq) BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    "#,
    // 8: an order row that was sent names the intent event holding its request (`intent_seq`)
    // instead of repeating it (`codec::REQUEST_OF_INTENT`); a planned one keeps its request in
    // `planned_requests` until then (`codec::REQUEST_PLANNED`), so the row is written once at
    // its final size. The request's network is kept beside the address for the recipient
    // controls, which read the two for every order sent. Rows written before keep their
    // request as text (and no network: the controls read it from the request). Pointing
    // `intent_seq` elsewhere, editing `network` or a planned request, is counted.
    r#"
    ALTER TABLE orders ADD COLUMN intent_seq INTEGER;
    ALTER TABLE orders ADD COLUMN network TEXT;
    CREATE TABLE planned_requests(order_row INTEGER PRIMARY KEY, request TEXT NOT NULL);
    CREATE TRIGGER planned_requests_edited AFTER UPDATE ON planned_requests BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    DROP TRIGGER IF EXISTS orders_edited;
    CREATE TRIGGER orders_edited AFTER UPDATE ON orders
    WHEN NEW.seal IS OLD.seal AND (NEW.status IS NOT OLD.status OR NEW.request IS NOT OLD.request
        OR NEW.state IS NOT OLD.state OR NEW.error IS NOT OLD.error OR NEW.sent IS NOT OLD.sent
        OR NEW.order_id IS NOT OLD.order_id OR NEW.run IS NOT OLD.run
        OR NEW.account IS NOT OLD.account OR NEW.last_seq IS NOT OLD.last_seq
        OR NEW.intent_seq IS NOT OLD.intent_seq OR NEW.network IS NOT OLD.network) BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    "#,
    // 9: a sheet row names its order by the order's row (`rows.order_row`, `rows.order_id`
    // then NULL) when the order is of the same run, instead of repeating the order id, and its
    // cells are stored compressed (`codec`). Rows written before read as before.
    "ALTER TABLE rows ADD COLUMN order_row INTEGER;",
    // 10: an order row's `digest` may name its intent's (`codec::FIELD_OF_EVENT`): values
    // only, no table changes, but a book written so must not be read by a payrun that would
    // take the marker for the text.
    "-- values only",
    // 11: what a run pays, whatever the file looks like (`SheetInfo::payouts_sha256`): a copy
    // of a paid sheet saved again (another line end, a byte order mark, a column of notes, the
    // rows in another order) is the same content as the run that paid it. Runs from before
    // have none and are found by path and file hash only, as before.
    r#"
    ALTER TABLE runs ADD COLUMN payouts_sha256 TEXT;
    CREATE INDEX runs_by_payouts ON runs(account, payouts_sha256) WHERE payouts_sha256 IS NOT NULL;
    "#,
    // 12: a run's `sheet` events are found without walking the others, so every command that
    // picks a run first checks the `runs` table against them (`Book::check_runs_against_chain`):
    // a runs row edited or deleted by hand would make a paid sheet look new.
    "CREATE INDEX events_sheets ON events(account, seq) WHERE kind = 'sheet';",
    // 13: a finished run's orders, sheet rows and order events packed into compressed blocks,
    // with a lookup of order ids and of seq stretches (`book::packed`); triggers count a
    // block, lookup row or stretch edited or deleted outside payrun.
    super::packed::SCHEMA,
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
    event_hash_bytes(prev, seq, account, run, kind.as_bytes(), body.as_bytes())
}

/// [`event_hash`] of the bytes as stored, without an allocation (the numbers are written into
/// a buffer on the stack: at most 3 × 20 digits, 4 separators and a kind).
pub(crate) fn event_hash_bytes(
    prev: &[u8],
    seq: i64,
    account: i64,
    run: Option<i64>,
    kind: &[u8],
    body: &[u8],
) -> [u8; 32] {
    use std::io::Write;
    let mut head = [0u8; 80];
    let mut w = &mut head[..];
    let n = match run {
        Some(r) => write!(w, "{seq}\x1f{account}\x1f{r}\x1f"),
        None => write!(w, "{seq}\x1f{account}\x1f\x1f"),
    }
    .map(|_| 80 - w.len())
    .unwrap_or(0);
    Sha256::new()
        .chain_update(prev)
        .chain_update(&head[..n])
        .chain_update(kind)
        .chain_update(b"\x1f")
        .chain_update(body)
        .finalize()
        .into()
}

/// `n` in decimal, written into `buf`.
fn decimal(n: i64, buf: &mut [u8; 24]) -> &[u8] {
    use std::io::Write;
    let mut w = &mut buf[..];
    let _ = write!(w, "{n}");
    let len = 24 - w.len();
    &buf[..len]
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
    answer: OrderAnswer<'_>,
) -> Vec<u8> {
    // `␟{account}␟{order_id}␟{status}␟{sent}␟{last_seq}␟{digest}␟`, the numbers written on the
    // stack (this runs for every order read: a million on a large run).
    let mut num = [0u8; 24];
    let mut h = Sha256::new()
        .chain_update(b"payrun-order-seal\x1f")
        .chain_update(book_id.as_bytes())
        .chain_update(b"\x1f");
    h.update(decimal(account, &mut num));
    h.update(b"\x1f");
    h.update(order_id.as_bytes());
    h.update(b"\x1f");
    h.update(status.as_bytes());
    h.update(if sent {
        &b"\x1ftrue\x1f"[..]
    } else {
        &b"\x1ffalse\x1f"[..]
    });
    h.update(decimal(last_seq, &mut num));
    h.update(b"\x1f");
    h.update(digest.as_bytes());
    h.update(b"\x1f");
    h.update(request.as_bytes());
    // The last answer taken and the error shown, so a txid or an error edited by hand is
    // refused too (absent: nothing more is hashed, as for an order never answered).
    if let Some(state) = answer.state {
        h.update(b"\x1fstate\x1f");
        h.update(state.as_bytes());
    }
    if let Some(error) = answer.error {
        h.update(b"\x1ferror\x1f");
        h.update(error.as_bytes());
    }
    let d = h.finalize();
    d[..16].to_vec()
}

/// What an order row holds of the gateway's answers, for its seal (JSON of the state taken,
/// and the error shown).
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderAnswer<'a> {
    pub state: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Creates the book file with mode 0600 (and its directory with 0700) when it does not exist;
/// an existing book (a copy made with `sqlite3 .backup` or `cp`, an empty file created by hand)
/// and its `-wal` and `-shm` companions are made 0600 if others could read them.
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
        #[cfg(unix)]
        for file in [
            path.to_path_buf(),
            side_file(path, "-wal"),
            side_file(path, "-shm"),
        ] {
            use std::os::unix::fs::PermissionsExt;
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(
                    |source| BookError::Io {
                        path: file.clone(),
                        source,
                    },
                )?;
            }
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

/// `book.sqlite` + `suffix` (SQLite's `-wal` and `-shm` beside the book).
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An order row as read, before its seal is checked.
struct OrderRow {
    id: i64,
    run: i64,
    order_id: String,
    line: i64,
    /// As stored: text, or [`super::codec::FIELD_OF_EVENT`] (the intent's).
    digest: rusqlite::types::Value,
    /// As stored: the JSON as text, or [`super::codec::REQUEST_OF_INTENT`].
    request: rusqlite::types::Value,
    status: String,
    /// As stored: text, a compressed blob, [`super::codec::STATE_OF_LAST_EVENT`] or NULL.
    state: rusqlite::types::Value,
    /// The body of event `last_seq` when `state` names it (else NULL).
    last_event: rusqlite::types::Value,
    error: Option<String>,
    updated_at: String,
    sent: bool,
    last_seq: i64,
    seal: Vec<u8>,
    /// The intent event `request` names (schema 8; NULL before, and while not sent).
    intent_seq: Option<i64>,
    /// What `request` names ([`request_source`]): the body of event `intent_seq`, the planned
    /// request, or NULL.
    request_source: rusqlite::types::Value,
}

/// SQL (for an order row `o`) of what its `request` names, as `codec::order_request` takes it:
/// the body of its intent event, its planned request, or NULL (the row holds the text).
macro_rules! request_source {
    () => {
        "CASE o.request WHEN X'00' THEN (SELECT body FROM events WHERE seq = o.intent_seq) WHEN X'01' THEN (SELECT request FROM planned_requests WHERE order_row = o.id) END"
    };
}
pub(crate) use request_source;

const ORDER_COLUMNS: &str = concat!(
    "o.id, o.run, o.order_id, o.line, o.digest, o.request, o.status, o.state, o.error, o.updated_at, o.sent, o.last_seq, o.seal, CASE WHEN o.state = X'00' THEN (SELECT body FROM events WHERE seq = o.last_seq) END, o.intent_seq, ",
    request_source!()
);

/// The order rows ([`ORDER_COLUMNS`] has the body of an order's last event when its answer is
/// that event's state, and of its intent when its request is that event's). A subquery, not a
/// join: with a join SQLite prepared the statement again on every run (the bound order id
/// weighed against the partial index on events), which doubled the time of a commit.
const ORDER_FROM: &str = "orders o";

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
        last_event: r.get(13)?,
        intent_seq: r.get(14)?,
        request_source: r.get(15)?,
    })
}

/// An order row as a packed block holds it ([`packed::PackedOrder`]), with what it names read
/// from its own events, as [`ORDER_COLUMNS`] reads a live one.
fn packed_order_row(o: &packed::PackedOrder) -> OrderRow {
    use packed::oc;
    use rusqlite::types::Value;
    let int = |i: usize| match &o.order[i] {
        Value::Integer(n) => Some(*n),
        _ => None,
    };
    let text = |i: usize| match &o.order[i] {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    };
    let marker = |i: usize| matches!(&o.order[i], Value::Blob(b) if b.as_slice() == [0]);
    let intent_seq = int(oc::INTENT_SEQ);
    OrderRow {
        id: o.id(),
        run: int(oc::RUN).unwrap_or(0),
        order_id: o.order_id().to_string(),
        line: int(oc::LINE).unwrap_or(0),
        digest: o.order[oc::DIGEST].clone(),
        request: o.order[oc::REQUEST].clone(),
        status: o.status().to_string(),
        state: o.order[oc::STATE].clone(),
        last_event: if marker(oc::STATE) {
            o.body_of(int(oc::LAST_SEQ))
        } else {
            Value::Null
        },
        error: text(oc::ERROR),
        updated_at: text(oc::UPDATED_AT).unwrap_or_default(),
        sent: o.sent(),
        last_seq: int(oc::LAST_SEQ).unwrap_or(0),
        seal: match &o.order[oc::SEAL] {
            Value::Blob(b) => b.clone(),
            _ => Vec::new(),
        },
        intent_seq,
        request_source: if marker(oc::REQUEST) {
            o.body_of(intent_seq)
        } else {
            Value::Null
        },
    }
}

/// Events of a run read for checking: their bytes in one buffer, so reading a million takes a
/// few allocations per chunk, not several per event.
#[derive(Default)]
struct EventChunk {
    buf: Vec<u8>,
    items: Vec<ChunkEvent>,
}

struct ChunkEvent {
    seq: i64,
    account: i64,
    /// The predecessor's stored hash in `buf` (None: the predecessor is missing).
    prev: Option<std::ops::Range<usize>>,
    kind: std::ops::Range<usize>,
    /// The body as stored (`packed`: a compressed BLOB, see [`super::codec`]).
    body: std::ops::Range<usize>,
    packed: bool,
    hash: std::ops::Range<usize>,
}

/// The first problem in a run's events.
enum Bad {
    Missing { seq: i64 },
    Hash { seq: i64, kind: String },
    Unreadable { seq: i64, kind: String, why: String },
}

impl EventChunk {
    /// Events per chunk: about 4 MB of bodies.
    const LEN: usize = 8192;

    fn push(
        &mut self,
        seq: i64,
        account: i64,
        prev: Option<&[u8]>,
        kind: rusqlite::types::ValueRef<'_>,
        body: rusqlite::types::ValueRef<'_>,
        hash: &[u8],
    ) {
        use rusqlite::types::ValueRef;
        let mut put = |v: &[u8]| {
            let start = self.buf.len();
            self.buf.extend_from_slice(v);
            start..self.buf.len()
        };
        fn text<'a>(v: ValueRef<'a>) -> &'a [u8] {
            match v {
                ValueRef::Text(b) | ValueRef::Blob(b) => b,
                _ => &[],
            }
        }
        let packed = matches!(body, ValueRef::Blob(_));
        let item = ChunkEvent {
            seq,
            account,
            prev: prev.map(&mut put),
            kind: put(text(kind)),
            body: put(text(body)),
            packed,
            hash: put(hash),
        };
        self.items.push(item);
    }

    /// The body of an event as hashed: decoded when it is stored compressed.
    fn body(
        &self,
        e: &ChunkEvent,
    ) -> Result<std::borrow::Cow<'_, [u8]>, super::codec::DecodeError> {
        use rusqlite::types::ValueRef;
        let raw = &self.buf[e.body.clone()];
        let v = if e.packed {
            ValueRef::Blob(raw)
        } else {
            ValueRef::Text(raw)
        };
        super::codec::decode(v).map(|b| b.unwrap_or_default())
    }

    /// The first event (in `seq` order) whose predecessor is missing, whose body does not
    /// decode or whose hash is wrong.
    fn first_bad(&self, run: i64) -> Option<Bad> {
        use rayon::prelude::*;
        let b = &self.buf;
        let i = self.items.par_iter().position_first(|e| match &e.prev {
            None => true,
            Some(prev) => match self.body(e) {
                Err(_) => true,
                Ok(body) => {
                    event_hash_bytes(
                        &b[prev.clone()],
                        e.seq,
                        e.account,
                        Some(run),
                        &b[e.kind.clone()],
                        &body,
                    )[..]
                        != b[e.hash.clone()]
                }
            },
        })?;
        let e = &self.items[i];
        let kind = String::from_utf8_lossy(&b[e.kind.clone()]).into_owned();
        Some(match (&e.prev, self.body(e)) {
            (None, _) => Bad::Missing { seq: e.seq },
            (Some(_), Err(why)) => Bad::Unreadable {
                seq: e.seq,
                kind,
                why: why.to_string(),
            },
            (Some(_), Ok(_)) => Bad::Hash { seq: e.seq, kind },
        })
    }
}

impl Drop for Book {
    /// Gives free pages back to the file when they are more than a sixteenth of it (a large
    /// run's orders rewritten as their answers came, its index entries moved from status to
    /// status): about 700 bytes an order after a run of a million. Books created before
    /// `auto_vacuum` was set keep them for reuse. Best effort: any error leaves the book as it
    /// was (the vacuum is one transaction).
    fn drop(&mut self) {
        let conn = self.conn.get_mut().unwrap_or_else(|e| e.into_inner());
        let pragma = |name: &str| -> i64 {
            conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap_or(0)
        };
        if pragma("auto_vacuum") != 2 {
            return;
        }
        let (free, pages) = (pragma("freelist_count"), pragma("page_count"));
        if free > 64 && free * 16 > pages {
            // One page a step: stepped to the end, in one implicit transaction.
            if let Ok(mut stmt) = conn.prepare("PRAGMA incremental_vacuum") {
                if let Ok(mut rows) = stmt.query([]) {
                    while let Ok(Some(_)) = rows.next() {}
                }
            }
        }
    }
}

/// How an order row holds its request: the JSON its seal covers, and the intent event whose
/// request it is (None: the row holds the text itself).
struct RequestHeld {
    json: String,
    intent_seq: Option<i64>,
    /// Whether its digest is the intent's ([`super::codec::FIELD_OF_EVENT`]).
    digest_named: bool,
}

/// What an order row may name instead of holding ([`Book::write_order`]).
#[derive(Debug, Clone, Copy, Default)]
struct Named<'a> {
    /// The JSON of the state event `last_seq` carries (a result).
    state: Option<&'a str>,
    /// An intent event of the order: its seq, the JSON of its request, its digest.
    intent: Option<(i64, &'a str, Option<&'a str>)>,
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
        if tables == 0 {
            // A new book gives the pages it frees back to the file (see `Drop`); only settable
            // before the first table exists (older books keep their free pages for reuse).
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .map_err(sql(path))?;
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
                if i == 5 {
                    super::codec::install(&tx).map_err(sql(path))?;
                }
                if i == 0 {
                    let id = super::new_book_id();
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
        if let Err(place) = super::codec::check_dictionaries(&conn).map_err(sql(path))? {
            return Err(BookError::Tampered {
                path: path.into(),
                place,
            });
        }
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

    /// A packed block's problem, as a book error (a block that does not decode is a refusal
    /// naming the run and the block).
    pub(crate) fn pack_err(&self, e: PackError) -> BookError {
        match e {
            PackError::Sql(e) => self.sql_err(e),
            other => self.tampered(other.to_string()),
        }
    }

    /// The seq and stored hash of the book's last event, live or packed (None: no event).
    fn last_event(&self, conn: &Connection) -> Result<Option<(i64, Vec<u8>)>, BookError> {
        let live: Option<(i64, Vec<u8>)> = conn
            .prepare_cached("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
            .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(|e| self.sql_err(e))?;
        let packed_seq = packed::last_seq(conn).map_err(|e| self.pack_err(e))?;
        if packed_seq > live.as_ref().map_or(0, |(s, _)| *s) {
            let e = packed::event_at(conn, packed_seq)
                .map_err(|e| self.pack_err(e))?
                .ok_or_else(|| {
                    self.tampered(format!(
                        "event #{packed_seq} is missing from the block its range names"
                    ))
                })?;
            return Ok(Some((packed_seq, e.hash)));
        }
        Ok(live)
    }

    /// The stored hash of event `seq`, live or packed (None: no such event).
    fn hash_at(&self, conn: &Connection, seq: i64) -> Result<Option<Vec<u8>>, BookError> {
        let live: Option<Vec<u8>> = conn
            .prepare_cached("SELECT hash FROM events WHERE seq = ?1")
            .and_then(|mut s| s.query_row([seq], |r| r.get(0)).optional())
            .map_err(|e| self.sql_err(e))?;
        match live {
            Some(h) => Ok(Some(h)),
            None => Ok(packed::event_at(conn, seq)
                .map_err(|e| self.pack_err(e))?
                .map(|e| e.hash)),
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
        // The last event packed (a finished run's last answer, often): its block is decoded
        // once, for the event and, usually, its predecessor.
        let live_seq: i64 = conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(|e| self.sql_err(e))?;
        let packed_seq = packed::last_seq(&conn).map_err(|e| self.pack_err(e))?;
        if packed_seq > live_seq {
            let block = packed::block_of_seq(&conn, packed_seq).map_err(|e| self.pack_err(e))?;
            let e = block
                .as_ref()
                .and_then(|b| b.event(packed_seq))
                .ok_or_else(|| self.tampered(format!("event #{packed_seq} is missing")))?;
            if packed_seq != head_seq || hex::encode(&e.hash) != head_hash {
                return Err(self.tampered(format!(
                    "the book's last event is #{packed_seq}, but its head says #{head_seq}: events were removed or added outside payrun"
                )));
            }
            let prev = match block.as_ref().and_then(|b| b.event(packed_seq - 1)) {
                Some(p) => p.hash.clone(),
                None if packed_seq == 1 => genesis(&self.book_id).to_vec(),
                None => self.hash_at(&conn, packed_seq - 1)?.ok_or_else(|| {
                    self.tampered(format!("event #{} is missing", packed_seq - 1))
                })?,
            };
            if !e.chains_from(&prev) {
                return Err(self.tampered(format!(
                    "event #{packed_seq} ({}) does not match its hash: it was edited outside payrun",
                    e.kind
                )));
            }
            return Ok(());
        }
        let last = self.last_event(&conn)?;
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
        type Link = (i64, Option<i64>, String, rusqlite::types::Value, Vec<u8>);
        let row: Option<Link> = conn
            .query_row(
                "SELECT account, run, kind, body, hash FROM events WHERE seq = ?1",
                [seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        let (account, run, kind, body, hash) = match row {
            Some((account, run, kind, body, hash)) => {
                let body = self.event_body(seq, &kind, (&body).into())?.into_owned();
                (account, run, kind, body, hash)
            }
            None => {
                let e = packed::event_at(&conn, seq)
                    .map_err(|e| self.pack_err(e))?
                    .ok_or_else(|| self.tampered(format!("event #{seq} is missing")))?;
                (e.account, e.run, e.kind, e.body.into_bytes(), e.hash)
            }
        };
        let prev: Vec<u8> = if seq == 1 {
            genesis(&self.book_id).to_vec()
        } else {
            self.hash_at(&conn, seq - 1)?
                .ok_or_else(|| self.tampered(format!("event #{} is missing", seq - 1)))?
        };
        if event_hash_bytes(&prev, seq, account, run, kind.as_bytes(), &body)[..] != hash[..] {
            return Err(self.tampered(format!(
                "event #{seq} ({kind}) does not match its hash: it was edited outside payrun"
            )));
        }
        Ok(())
    }

    /// The JSON of event `seq` as stored in `events.body` (see [`super::codec`]); a body that
    /// is missing or does not decode is refused with the event named.
    pub(crate) fn event_body<'a>(
        &self,
        seq: i64,
        kind: &str,
        stored: rusqlite::types::ValueRef<'a>,
    ) -> Result<std::borrow::Cow<'a, [u8]>, BookError> {
        match super::codec::decode(stored) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(self.tampered(format!(
                "event #{seq} ({kind}) has no body: it was edited outside payrun"
            ))),
            Err(e) => Err(self.tampered(format!(
                "event #{seq} ({kind}) is unreadable ({e}): it was edited outside payrun"
            ))),
        }
    }

    /// Checks every event of a run against its hash and its predecessor's, and that none of
    /// the run's events is missing.
    ///
    /// One pass in `seq` order with bounded memory: this thread reads the events in chunks
    /// (an event's predecessor is the row read just before it whenever the run's events are
    /// consecutive, so only the first event of each stretch looks its predecessor up), and a
    /// second thread hashes each chunk on every core while the next one is read.
    pub fn verify_run_events(&self, run: i64, run_id: &str) -> Result<(), BookError> {
        let conn = self.conn();
        let expected: i64 = conn
            .query_row("SELECT event_count FROM runs WHERE id = ?1", [run], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql_err(e))?;
        if packed::is_packed(&conn, run).map_err(|e| self.pack_err(e))? {
            return self.verify_packed_run(&conn, run, run_id, expected);
        }
        let genesis = genesis(&self.book_id);
        let (read, bad) = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<EventChunk>(2);
            let hasher = scope.spawn(move || {
                for chunk in rx {
                    if let Some(bad) = chunk.first_bad(run) {
                        return Some(bad);
                    }
                }
                None
            });
            let read = self.read_run_events(&conn, run, &genesis, tx);
            let bad = hasher
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (read, bad)
        });
        let mut count = read?;
        if bad.is_some() {
            // The reader stopped early: count the run's events for the message.
            count = conn
                .query_row("SELECT count(*) FROM events WHERE run = ?1", [run], |r| {
                    r.get(0)
                })
                .map_err(|e| self.sql_err(e))?;
        }
        drop(conn);
        self.run_events_verdict(run_id, expected, count, bad)
    }

    /// [`Book::verify_run_events`] of a packed run: its live events (run-level), then each
    /// block, every event checked against its predecessor's stored hash wherever that lives
    /// (a few blocks' hashes kept for the predecessors outside a block). Also checks each
    /// block's status counts and that every packed order keeps its lookup row.
    fn verify_packed_run(
        &self,
        conn: &Connection,
        run: i64,
        run_id: &str,
        expected: i64,
    ) -> Result<(), BookError> {
        use rayon::prelude::*;
        use std::collections::HashMap;
        let sql_err = |e| self.sql_err(e);
        let pack_err = |e| self.pack_err(e);
        let genesis = genesis(&self.book_id);
        // Predecessors outside the block being checked: live, or in another block (cached).
        let mut cache: Vec<(i64, HashMap<i64, Vec<u8>>)> = Vec::new();
        let mut outside = |seq: i64| -> Result<Option<Vec<u8>>, BookError> {
            if seq == 0 {
                return Ok(Some(genesis.to_vec()));
            }
            let live: Option<Vec<u8>> = conn
                .prepare_cached("SELECT hash FROM events WHERE seq = ?1")
                .and_then(|mut s| s.query_row([seq], |r| r.get(0)).optional())
                .map_err(sql_err)?;
            if live.is_some() {
                return Ok(live);
            }
            let block: Option<i64> = conn
                .prepare_cached(
                    "SELECT block FROM packed_ranges WHERE first_seq <= ?1 AND last_seq >= ?1 ORDER BY first_seq DESC LIMIT 1",
                )
                .and_then(|mut s| s.query_row([seq], |r| r.get(0)).optional())
                .map_err(sql_err)?;
            let Some(block) = block else { return Ok(None) };
            if let Some((_, m)) = cache.iter().find(|(b, _)| *b == block) {
                return Ok(m.get(&seq).cloned());
            }
            let Some(b) = packed::load_block(conn, block).map_err(pack_err)? else {
                return Ok(None);
            };
            let m: HashMap<i64, Vec<u8>> = b
                .orders
                .iter()
                .flat_map(|o| o.events.iter().map(|e| (e.seq, e.hash.clone())))
                .collect();
            let found = m.get(&seq).cloned();
            if cache.len() == 4 {
                cache.remove(0);
            }
            cache.push((block, m));
            Ok(found)
        };
        let mut count = 0i64;
        // The first problem in seq order: (seq, Bad).
        let mut first: Option<Bad> = None;
        let seq_of = |b: &Bad| match b {
            Bad::Missing { seq } | Bad::Hash { seq, .. } | Bad::Unreadable { seq, .. } => *seq,
        };
        let note = |b: Bad, first: &mut Option<Bad>| {
            if first.as_ref().is_none_or(|f| seq_of(&b) < seq_of(f)) {
                *first = Some(b);
            }
        };
        // The run's live events (its sheets and approvals).
        type Live = (i64, i64, String, rusqlite::types::Value, Vec<u8>);
        let live: Vec<Live> = conn
            .prepare_cached("SELECT seq, account, kind, body, hash FROM events WHERE run = ?1")
            .and_then(|mut s| {
                s.query_map([run], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
            })
            .map_err(sql_err)?;
        for (seq, account, kind, body, hash) in live {
            count += 1;
            let Some(prev) = outside(seq - 1)? else {
                note(Bad::Missing { seq }, &mut first);
                continue;
            };
            match super::codec::decode((&body).into()) {
                Ok(Some(body)) => {
                    if event_hash_bytes(&prev, seq, account, Some(run), kind.as_bytes(), &body)[..]
                        != hash[..]
                    {
                        note(Bad::Hash { seq, kind }, &mut first);
                    }
                }
                Ok(None) => note(
                    Bad::Unreadable {
                        seq,
                        kind,
                        why: "it has no body".into(),
                    },
                    &mut first,
                ),
                Err(e) => note(
                    Bad::Unreadable {
                        seq,
                        kind,
                        why: e.to_string(),
                    },
                    &mut first,
                ),
            }
        }
        let mut has_key = conn
            .prepare_cached(
                "SELECT 1 FROM packed_order_ids WHERE account = ?1 AND key = ?2 AND block = ?3",
            )
            .map_err(sql_err)?;
        for id in packed::run_blocks(conn, run).map_err(pack_err)? {
            let Some(block) = packed::load_block(conn, id).map_err(pack_err)? else {
                continue;
            };
            let statuses: String = conn
                .query_row(
                    "SELECT statuses FROM packed_blocks WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            let mut counted: std::collections::BTreeMap<&str, u64> = Default::default();
            for o in &block.orders {
                *counted.entry(o.status()).or_default() += 1;
                if !has_key
                    .exists(params![block.account, packed::order_key(o.order_id()), id])
                    .map_err(sql_err)?
                {
                    return Err(self.tampered(format!(
                        "order {} (packed in block {id} of run {run_id}) has no lookup row (packed_order_ids): removed outside payrun",
                        o.order_id()
                    )));
                }
            }
            if serde_json::to_string(&counted).ok().as_deref() != Some(statuses.as_str()) {
                return Err(self.tampered(format!(
                    "block {id} of run {run_id}: its status counts (packed_blocks.statuses) do not match its orders: edited outside payrun"
                )));
            }
            let events: Vec<&packed::PackedEvent> =
                block.orders.iter().flat_map(|o| &o.events).collect();
            count += events.len() as i64;
            let inside: HashMap<i64, &[u8]> =
                events.iter().map(|e| (e.seq, e.hash.as_slice())).collect();
            let mut prevs: HashMap<i64, Vec<u8>> = HashMap::new();
            for e in &events {
                if !inside.contains_key(&(e.seq - 1)) {
                    match outside(e.seq - 1)? {
                        Some(h) => {
                            prevs.insert(e.seq, h);
                        }
                        None => note(Bad::Missing { seq: e.seq }, &mut first),
                    }
                }
            }
            let bad = events
                .par_iter()
                .filter(|e| {
                    let prev = match inside.get(&(e.seq - 1)) {
                        Some(h) => *h,
                        None => match prevs.get(&e.seq) {
                            Some(h) => h.as_slice(),
                            None => return false,
                        },
                    };
                    e.run != Some(run) || !e.chains_from(prev)
                })
                .min_by_key(|e| e.seq);
            if let Some(e) = bad {
                note(
                    Bad::Hash {
                        seq: e.seq,
                        kind: e.kind.clone(),
                    },
                    &mut first,
                );
            }
        }
        self.run_events_verdict(run_id, expected, count, first)
    }

    /// The verdict of a run's event check: its event count against the runs table's, then
    /// the first bad link found (missing, not matching its hash, unreadable).
    fn run_events_verdict(
        &self,
        run_id: &str,
        expected: i64,
        count: i64,
        first: Option<Bad>,
    ) -> Result<(), BookError> {
        if count != expected {
            return Err(self.tampered(format!(
                "run {run_id} should have {expected} events but has {count}: events were removed outside payrun"
            )));
        }
        match first {
            Some(Bad::Missing { seq }) => Err(self.tampered(format!(
                "event #{} before event #{seq} is missing",
                seq - 1
            ))),
            Some(Bad::Hash { seq, kind }) => Err(self.tampered(format!(
                "event #{seq} ({kind}) of run {run_id} does not match its hash: edited outside payrun"
            ))),
            Some(Bad::Unreadable { seq, kind, why }) => Err(self.tampered(format!(
                "event #{seq} ({kind}) of run {run_id} is unreadable ({why}): edited outside payrun"
            ))),
            None => Ok(()),
        }
    }

    /// Reads the run's events in `seq` order into chunks for `tx`, each with its
    /// predecessor's stored hash; returns how many events were read (all of them unless the
    /// hasher stopped, having found a bad one).
    fn read_run_events(
        &self,
        conn: &Connection,
        run: i64,
        genesis: &[u8; 32],
        tx: std::sync::mpsc::SyncSender<EventChunk>,
    ) -> Result<i64, BookError> {
        use rusqlite::types::ValueRef;
        let sql_err = |e| self.sql_err(e);
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, account, kind, body, hash FROM events WHERE run = ?1 ORDER BY seq",
            )
            .map_err(sql_err)?;
        let mut pred = conn
            .prepare_cached("SELECT hash FROM events WHERE seq = ?1")
            .map_err(sql_err)?;
        let mut rows = stmt.query([run]).map_err(sql_err)?;
        let bytes = |v: ValueRef<'_>| -> Vec<u8> {
            match v {
                ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
                _ => Vec::new(),
            }
        };
        let mut count = 0i64;
        // The seq and stored hash of the row read last.
        let mut last: Option<(i64, Vec<u8>)> = None;
        let mut chunk = EventChunk::default();
        while let Some(r) = rows.next().map_err(sql_err)? {
            let seq: i64 = r.get(0).map_err(sql_err)?;
            let account: i64 = r.get(1).map_err(sql_err)?;
            let prev: Option<Vec<u8>> = match last.take() {
                Some((s, h)) if s == seq - 1 => Some(h),
                _ if seq == 1 => Some(genesis.to_vec()),
                _ => match pred
                    .query_row([seq - 1], |p| Ok(bytes(p.get_ref(0)?)))
                    .optional()
                    .map_err(sql_err)?
                {
                    // The predecessor may be another run's, packed.
                    Some(h) => Some(h),
                    None => packed::event_at(conn, seq - 1)
                        .map_err(|e| self.pack_err(e))?
                        .map(|e| e.hash),
                },
            };
            let hash = bytes(r.get_ref(4).map_err(sql_err)?);
            chunk.push(
                seq,
                account,
                prev.as_deref(),
                r.get_ref(2).map_err(sql_err)?,
                r.get_ref(3).map_err(sql_err)?,
                &hash,
            );
            last = Some((seq, hash));
            count += 1;
            if chunk.items.len() == EventChunk::LEN && tx.send(std::mem::take(&mut chunk)).is_err()
            {
                // The hasher stopped: it found a bad event.
                return Ok(count);
            }
        }
        if !chunk.items.is_empty() {
            let _ = tx.send(chunk);
        }
        Ok(count)
    }

    /// Decodes and checks one order row; also says how the row holds its request.
    fn decode_order(
        &self,
        account: i64,
        r: OrderRow,
    ) -> Result<(OrderPlace, OrderRecord, RequestHeld), BookError> {
        use super::codec;
        let unreadable = |what: &str, e: codec::DecodeError| {
            self.tampered(format!(
                "order {} (status {}): its {what} is unreadable ({e}): it was edited outside payrun",
                r.order_id, r.status
            ))
        };
        // Each event the row names is decoded once, for every value read from it.
        let source = codec::decode((&r.request_source).into());
        let source = source.as_ref().map(|b| b.as_deref()).map_err(Clone::clone);
        let last = codec::decode((&r.last_event).into());
        let last = last.as_ref().map(|b| b.as_deref()).map_err(Clone::clone);
        let request_json = codec::request_in((&r.request).into(), source.clone())
            .map_err(|e| unreadable("request (orders.request)", e))?;
        let named =
            matches!(&r.request, rusqlite::types::Value::Blob(b) if b == codec::REQUEST_OF_INTENT);
        let digest = codec::text_or_field(
            (&r.digest).into(),
            if named { source } else { Ok(None) },
            "digest",
        )
        .map_err(|e| unreadable("digest (orders.digest)", e))?;
        let digest_named = matches!(&r.digest, rusqlite::types::Value::Blob(_));
        let state_json = codec::state_in((&r.state).into(), last)
            .map_err(|e| unreadable("answer (orders.state)", e))?;
        let seal = order_seal(
            &self.book_id,
            account,
            &r.order_id,
            &r.status,
            r.sent,
            r.last_seq,
            &digest,
            &request_json,
            OrderAnswer {
                state: state_json.as_deref(),
                error: r.error.as_deref(),
            },
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
            serde_json::from_str(&request_json).map_err(|e| bad("request", &e))?;
        let state: Option<PayoutState> = match &state_json {
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
                digest,
                request,
                status,
                state,
                error: r.error,
                updated_at: r.updated_at,
                sent: r.sent,
            },
            RequestHeld {
                intent_seq: if named { r.intent_seq } else { None },
                json: request_json,
                digest_named,
            },
        ))
    }

    /// One order of an account, live or packed (seal checked).
    fn read_order(
        &self,
        conn: &Connection,
        account: i64,
        id: &str,
    ) -> Result<Option<(OrderPlace, OrderRecord, RequestHeld)>, BookError> {
        if let Some(found) = self.read_live_order(conn, account, id)? {
            return Ok(Some(found));
        }
        match packed::find_order(conn, account, id).map_err(|e| self.pack_err(e))? {
            Some((block, i)) => self
                .decode_order(account, packed_order_row(&block.orders[i]))
                .map(Some),
            None => Ok(None),
        }
    }

    /// Moves the packed block holding order `id` of `account` back into the live tables (a
    /// write to the order follows; the rest of its run stays packed); false when no block
    /// holds it.
    fn unpack_order(
        &self,
        tx: &Transaction<'_>,
        account: i64,
        id: &str,
    ) -> Result<bool, BookError> {
        match packed::find_order(tx, account, id).map_err(|e| self.pack_err(e))? {
            Some((block, _)) => {
                packed::unpack_block(tx, block.id).map_err(|e| self.pack_err(e))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// One live order row of an account (seal checked).
    fn read_live_order(
        &self,
        conn: &Connection,
        account: i64,
        id: &str,
    ) -> Result<Option<(OrderPlace, OrderRecord, RequestHeld)>, BookError> {
        // Cached: this runs once an event on every commit (a join's plan is not free).
        let row = conn
            .prepare_cached(&format!(
                "SELECT {ORDER_COLUMNS} FROM {ORDER_FROM} WHERE o.account = ?1 AND o.order_id = ?2"
            ))
            .and_then(|mut s| s.query_row(params![account, id], order_row).optional())
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
        Ok(self
            .read_order(&conn, account, id)?
            .map(|(place, rec, _)| (place, rec)))
    }

    /// When the order's first intent was committed (None: never sent).
    pub fn first_intent_at(
        &self,
        account: i64,
        order_id: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, BookError> {
        let at: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT first_sent_at FROM orders WHERE account = ?1 AND order_id = ?2",
                params![account, order_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        let at = match at {
            Some(at) => at,
            None => {
                let conn = self.conn();
                packed::find_order(&conn, account, order_id)
                    .map_err(|e| self.pack_err(e))?
                    .and_then(|(b, i)| b.orders[i].first_sent_at().map(str::to_string))
            }
        };
        Ok(at.and_then(|at| {
            chrono::DateTime::parse_from_rfc3339(&at)
                .ok()
                .map(|d| d.with_timezone(&chrono::Utc))
        }))
    }

    /// Every order of a run (seals checked), in row order.
    ///
    /// The rows are read in the order of the `orders_by_run` index, `(status, id)`, so SQLite
    /// streams them instead of sorting a run's every row with its JSON first (on a run of a
    /// million orders that sort spilled to temporary files and took longer than the read); they
    /// are put back in row order here, when they are not in it already (a run whose orders all
    /// have one status).
    pub fn run_orders(&self, account: i64, run: i64) -> Result<Vec<OrderRecord>, BookError> {
        let count: i64 = self
            .conn()
            .query_row("SELECT order_count FROM runs WHERE id = ?1", [run], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql_err(e))?
            .unwrap_or(0);
        let capacity = count.clamp(0, 1 << 24) as usize;
        let mut ids: Vec<i64> = Vec::with_capacity(capacity);
        let mut out = Vec::with_capacity(capacity);
        self.each_run_order(account, run, |id, rec| {
            ids.push(id);
            out.push(rec);
        })?;
        if ids.is_sorted() {
            return Ok(out);
        }
        let mut by_id: Vec<(i64, OrderRecord)> = ids.into_iter().zip(out).collect();
        by_id.sort_unstable_by_key(|(id, _)| *id);
        Ok(by_id.into_iter().map(|(_, rec)| rec).collect())
    }

    /// Every order of a run, one at a time and each seal checked, in the index's order
    /// (status, then row id): for a reader that needs no order, only each order once, such as
    /// the results ledger. `f` must not use the book (its connection is held meanwhile).
    pub fn for_each_run_order(
        &self,
        account: i64,
        run: i64,
        mut f: impl FnMut(OrderRecord),
    ) -> Result<(), BookError> {
        self.each_run_order(account, run, |_, rec| f(rec))
    }

    fn each_run_order(
        &self,
        account: i64,
        run: i64,
        mut f: impl FnMut(i64, OrderRecord),
    ) -> Result<(), BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ORDER_COLUMNS} FROM {ORDER_FROM} WHERE o.run = ?1 ORDER BY o.status, o.id"
            ))
            .map_err(|e| self.sql_err(e))?;
        let mut rows = stmt.query([run]).map_err(|e| self.sql_err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
            let r = order_row(r).map_err(|e| self.sql_err(e))?;
            let id = r.id;
            f(id, self.decode_order(account, r)?.1);
        }
        drop(rows);
        drop(stmt);
        // A packed run's orders, a block at a time, in row order.
        for block in packed::run_blocks(&conn, run).map_err(|e| self.pack_err(e))? {
            let Some(block) = packed::load_block(&conn, block).map_err(|e| self.pack_err(e))?
            else {
                continue;
            };
            for o in &block.orders {
                f(o.id(), self.decode_order(account, packed_order_row(o))?.1);
            }
        }
        Ok(())
    }

    /// Writes an order row (insert or update) with a fresh seal. What `named` gives, when the
    /// order's value is exactly that, the row names instead of repeating it: its answer, the
    /// state of event `last_seq` ([`super::codec::STATE_OF_LAST_EVENT`]); its digest, the
    /// intent's ([`super::codec::FIELD_OF_EVENT`]); its request, the intent's
    /// ([`super::codec::REQUEST_OF_INTENT`]).
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
        named: Named<'_>,
    ) -> Result<i64, BookError> {
        let (taken, intent) = (named.state, named.intent);
        let request =
            serde_json::to_string(&rec.request).map_err(|e| BookError::Encode(e.to_string()))?;
        // A new row is planned: its request waits in `planned_requests`. A row rewritten no
        // longer needs it there.
        let (stored_request, intent_seq) = match intent {
            _ if row.is_none() => (
                rusqlite::types::Value::Blob(super::codec::REQUEST_PLANNED.to_vec()),
                None,
            ),
            Some((seq, json, _)) if json == request => (
                rusqlite::types::Value::Blob(super::codec::REQUEST_OF_INTENT.to_vec()),
                Some(seq),
            ),
            _ => (rusqlite::types::Value::Text(request.clone()), None),
        };
        let field = rusqlite::types::Value::Blob(super::codec::FIELD_OF_EVENT.to_vec());
        let stored_digest = match intent {
            Some((_, _, Some(d))) if intent_seq.is_some() && d == rec.digest => field,
            _ => rusqlite::types::Value::Text(rec.digest.clone()),
        };
        let state = rec
            .state
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| BookError::Encode(e.to_string()))?;
        let status = rec.status.as_str();
        let stored_state = match (&state, taken) {
            (Some(s), Some(t)) if s == t => {
                rusqlite::types::Value::Blob(super::codec::STATE_OF_LAST_EVENT.to_vec())
            }
            _ => super::codec::encode_opt(state.as_deref()),
        };
        let seal = order_seal(
            &self.book_id,
            account,
            rec.order_id.as_str(),
            status,
            rec.sent,
            last_seq,
            &rec.digest,
            &request,
            OrderAnswer {
                state: state.as_deref(),
                error: rec.error.as_deref(),
            },
        );
        match row {
            Some(id) => {
                tx.prepare_cached(
                    "UPDATE orders SET line = ?2, digest = ?3, request = ?4, address = ?5, status = ?6, state = ?7, error = ?8, updated_at = ?9, sent = ?10, last_seq = ?11, seal = ?12, intent_seq = ?13, network = ?14 WHERE id = ?1",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        id,
                        rec.line as i64,
                        stored_digest,
                        stored_request,
                        rec.request.to_address,
                        status,
                        stored_state.clone(),
                        rec.error,
                        rec.updated_at,
                        rec.sent,
                        last_seq,
                        seal,
                        intent_seq,
                        rec.request.network
                    ])
                })
                .map_err(|e| self.sql_err(e))?;
                tx.prepare_cached("DELETE FROM planned_requests WHERE order_row = ?1")
                    .and_then(|mut s| s.execute([id]))
                    .map_err(|e| self.sql_err(e))?;
                Ok(id)
            }
            None => {
                tx.prepare_cached(
                    "INSERT INTO orders(account, run, order_id, line, digest, request, address, recipient_key, status, state, error, updated_at, sent, last_seq, seal, intent_seq, network) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        account,
                        run,
                        rec.order_id.as_str(),
                        rec.line as i64,
                        stored_digest,
                        stored_request,
                        rec.request.to_address,
                        recipient_key,
                        status,
                        stored_state,
                        rec.error,
                        rec.updated_at,
                        rec.sent,
                        last_seq,
                        seal,
                        intent_seq,
                        rec.request.network
                    ])
                })
                .map_err(|e| self.sql_err(e))?;
                let id = tx.last_insert_rowid();
                tx.prepare_cached(
                    "INSERT INTO planned_requests(order_row, request) VALUES (?1, ?2)",
                )
                .and_then(|mut s| s.execute(params![id, request]))
                .map_err(|e| self.sql_err(e))?;
                tx.execute(
                    "UPDATE runs SET order_count = order_count + 1 WHERE id = ?1",
                    [run],
                )
                .map_err(|e| self.sql_err(e))?;
                Ok(id)
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
        self.append_event_json(tx, account, run, event)
            .map(|(seq, _)| seq)
    }

    /// [`Book::append_event`], also returning the event's JSON as hashed.
    fn append_event_json(
        &self,
        tx: &Transaction<'_>,
        account: i64,
        run: Option<i64>,
        event: &Event,
    ) -> Result<(i64, String), BookError> {
        let body = serde_json::to_string(event).map_err(|e| BookError::Encode(e.to_string()))?;
        let (prev_seq, prev): (i64, Vec<u8>) = self
            .last_event(tx)?
            .unwrap_or_else(|| (0, genesis(&self.book_id).to_vec()));
        let seq = prev_seq + 1;
        let kind = event.kind();
        let hash = event_hash(&prev, seq, account, run, kind, &body);
        tx.prepare_cached(
            "INSERT INTO events(seq, account, run, kind, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(params![
                seq,
                account,
                run,
                kind,
                super::codec::encode(&body),
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
        Ok((seq, body))
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
                // An order of a packed run: its block goes back to the live tables first.
                let mut found = self.read_live_order(tx, account, id.as_str())?;
                if found.is_none() && self.unpack_order(tx, account, id.as_str())? {
                    found = self.read_live_order(tx, account, id.as_str())?;
                }
                let (place, mut rec, held) = match found {
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
                let (seq, body) = self.append_event_json(tx, account, Some(place.run), ev)?;
                rec.apply(ev);
                // The intent just written holds the request and digest; else the one the row
                // names (a digest named stays the intent's: only an intent changes it).
                let intent = match ev {
                    Event::Intent { digest, .. } => {
                        super::codec::field_of(body.as_bytes(), "request")
                            .ok()
                            .flatten()
                            .map(|json| (seq, json, Some(digest.as_str())))
                    }
                    _ => held.intent_seq.map(|s| {
                        (
                            s,
                            held.json.as_str(),
                            held.digest_named.then_some(rec.digest.as_str()),
                        )
                    }),
                };
                let taken = match ev {
                    Event::Result { state, .. } => Some(
                        serde_json::to_string(state)
                            .map_err(|e| BookError::Encode(e.to_string()))?,
                    ),
                    _ => None,
                };
                self.write_order(
                    tx,
                    account,
                    place.run,
                    Some(place.row),
                    &rec,
                    None,
                    seq,
                    Named {
                        state: taken.as_deref(),
                        intent,
                    },
                )?;
                if let Event::Intent { at, .. } = ev {
                    tx.prepare_cached(
                        "UPDATE orders SET first_sent_at = ?2 WHERE id = ?1 AND first_sent_at IS NULL",
                    )
                    .and_then(|mut st| st.execute(params![place.row, at]))
                    .map_err(|e| self.sql_err(e))?;
                }
            }
            if !matches!(events.first(), Some(Event::Intent { .. })) {
                crate::failpoint::hit("in_commit");
            }
            Ok(())
        })
    }

    /// The account's runs with live orders none of which changed since `cutoff` (RFC 3339
    /// UTC, compared as text like every `at`): the runs [`Book::pack_if_finished`] may pack
    /// once they have settled (docs/book.md, "Packed runs"). Oldest first.
    pub fn runs_quiet_since(
        &self,
        account: i64,
        cutoff: &str,
    ) -> Result<Vec<super::Run>, BookError> {
        let pks: Vec<i64> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT run FROM orders WHERE account = ?1 GROUP BY run \
                     HAVING max(updated_at) < ?2 ORDER BY run",
                )
                .map_err(|e| self.sql_err(e))?;
            let rows = stmt
                .query_map(params![account, cutoff], |r| r.get(0))
                .map_err(|e| self.sql_err(e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| self.sql_err(e))?
        };
        let mut out = Vec::with_capacity(pks.len());
        for pk in pks {
            out.extend(self.run_by_pk(pk)?);
        }
        Ok(out)
    }

    /// Packs run `run` when it is finished (docs/book.md, "Packed runs"): every order of it
    /// final (completed, failed or cancelled) and no edit outside payrun counted (a book
    /// edited by hand keeps its live rows for `book verify` to name). Its orders, the sheet
    /// rows naming them and its order events move into compressed blocks in one transaction.
    /// Returns what moved; None when the run was not packed (unfinished, no live orders, or an
    /// edit counted).
    pub fn pack_if_finished(&self, run: &super::Run) -> Result<Option<packed::Packed>, BookError> {
        // Packing rewrites most pages of a large run's tables and indexes: with SQLite's
        // default 2 MB of cache their pages would be spilled to the WAL again and again
        // (deleting a million orders from the order id index took 35 s). 256 MiB while packing.
        let cache: i64 = self
            .conn()
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .map_err(|e| self.sql_err(e))?;
        self.conn()
            .pragma_update(None, "cache_size", -262_144)
            .map_err(|e| self.sql_err(e))?;
        let packed = self.pack_finished(run);
        self.conn()
            .pragma_update(None, "cache_size", cache)
            .map_err(|e| self.sql_err(e))?;
        packed
    }

    /// [`Book::pack_if_finished`], once the cache is set.
    fn pack_finished(&self, run: &super::Run) -> Result<Option<packed::Packed>, BookError> {
        self.write(|tx| {
            let (orders, open): (i64, i64) = tx
                .query_row(
                    "SELECT count(*), coalesce(sum(status NOT IN ('completed', 'failed', 'cancelled')), 0) FROM orders WHERE run = ?1",
                    [run.pk],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(|e| self.sql_err(e))?;
            let edited: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'edits_outside')",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| self.sql_err(e))?;
            if orders == 0 || open > 0 || edited {
                return Ok(None);
            }
            let moved = packed::pack_run(tx, run.pk).map_err(|e| self.pack_err(e))?;
            crate::failpoint::hit("in_pack");
            Ok(Some(moved))
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
        let stale: Vec<(i64, String)> = {
            let mut stmt = tx
                .prepare("SELECT id, order_id FROM orders WHERE run = ?1 AND sent = 0")
                .map_err(|e| self.sql_err(e))?;
            let ids = stmt
                .query_map([run], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| self.sql_err(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.sql_err(e))?;
            ids.into_iter()
                .filter(|(_, id)| !keep.contains(id.as_str()))
                .collect()
        };
        for (row, id) in stale {
            tx.execute(
                "DELETE FROM orders WHERE account = ?1 AND order_id = ?2 AND sent = 0",
                params![account, id],
            )
            .map_err(|e| self.sql_err(e))?;
            tx.execute("DELETE FROM planned_requests WHERE order_row = ?1", [row])
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
                .map_err(|e| self.sql_err(e))?
                || packed::find_order(tx, account, rec.order_id.as_str())
                    .map_err(|e| self.pack_err(e))?
                    .is_some();
            if !found {
                self.write_order(
                    tx,
                    account,
                    run,
                    None,
                    rec,
                    key.as_deref(),
                    0,
                    Named::default(),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::book::events::{now, SheetSnapshot, SnapshotRow, Source};
    use crate::book::runs::{AccountKey, Mode, Run, SheetInfo};
    use crate::gateway::PayoutState;
    use crate::model::FeeOption;

    /// The hash and the seal as first written (with `format!`): the bytes must never change,
    /// or every book written before would read as tampered.
    fn hash_as_written(
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

    #[allow(clippy::too_many_arguments)]
    fn seal_as_written(
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

    #[test]
    fn a_seal_covers_the_answer_and_the_error() {
        let seal = |state: Option<&str>, error: Option<&str>| {
            order_seal(
                "b",
                1,
                "o",
                "completed",
                true,
                9,
                "d",
                "{}",
                OrderAnswer { state, error },
            )
        };
        let plain = seal(None, None);
        assert_ne!(plain, seal(Some("{\"txid\":\"a\"}"), None));
        assert_ne!(
            seal(Some("{\"txid\":\"a\"}"), None),
            seal(Some("{\"txid\":\"b\"}"), None)
        );
        assert_ne!(plain, seal(None, Some("aml_risk")));
        assert_ne!(seal(Some("x"), None), seal(None, Some("x")));
    }

    #[test]
    fn hashes_and_seals_are_the_bytes_they_always_were() {
        for (seq, account, run) in [
            (1, 1, Some(1)),
            (3_000_001, 7, None),
            (i64::MAX, i64::MIN, Some(i64::MIN)),
            (-5, 0, Some(0)),
        ] {
            for (kind, body) in [("intent", "{\"event\":\"intent\"}"), ("", "")] {
                let prev = [7u8; 32];
                assert_eq!(
                    event_hash(&prev, seq, account, run, kind, body),
                    hash_as_written(&prev, seq, account, run, kind, body)
                );
            }
            for sent in [true, false] {
                assert_eq!(
                    order_seal(
                        "book",
                        account,
                        "o-1",
                        "completed",
                        sent,
                        seq,
                        "d",
                        "{}",
                        OrderAnswer::default()
                    ),
                    seal_as_written("book", account, "o-1", "completed", sent, seq, "d", "{}")
                );
            }
        }
    }

    pub(crate) fn request(id: &str) -> PayoutRequest {
        PayoutRequest {
            order_id: OrderId(id.into()),
            currency: "USDT".into(),
            network: "TRX-TRC20".into(),
            amount: rust_decimal::Decimal::new(1001, 2),
            to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            memo: None,
            fee_option: FeeOption::Deduct,
            from_currency: None,
            remark: None,
            url_callback: None,
        }
    }

    pub(crate) fn sheet(tag: &str) -> SheetInfo {
        SheetInfo {
            payouts_sha256: None,
            path: format!("/sheets/{tag}.csv"),
            name: format!("{tag}.csv"),
            worksheet: None,
            sha256: tag.into(),
        }
    }

    /// A run of `n` planned orders `<tag>-<i>` (sheet lines 2..).
    pub(crate) fn plan_run(book: &Book, account: i64, tag: &str, n: usize) -> (Run, Vec<OrderId>) {
        let info = sheet(tag);
        let run = book
            .create_run(account, Some(tag), tag, &info, &["address".into()])
            .unwrap();
        let ids: Vec<OrderId> = (0..n).map(|i| OrderId(format!("{tag}-{i}"))).collect();
        let rows = ids
            .iter()
            .enumerate()
            .map(|(i, id)| SnapshotRow {
                line: i as u64 + 2,
                cells: vec![format!("cell {i}")],
                order_id: Some(id.clone()),
                invalid: None,
                currency: Some("USDT".into()),
                network: Some("TRX-TRC20".into()),
                amount: Some(rust_decimal::Decimal::new(1001, 2)),
                quoted_fee: None,
            })
            .collect();
        let snapshot = SheetSnapshot {
            columns: vec!["address".into()],
            rows,
            sheet_sha256: tag.into(),
        };
        let planned: Vec<(OrderRecord, Option<String>)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    OrderRecord::planned(i as u64 + 2, "d".into(), request(id.as_str()), now()),
                    None,
                )
            })
            .collect();
        let mut held = BTreeMap::new();
        held.insert(2, "held for the test".to_string());
        book.save_plan(account, &run, &info, &snapshot, &held, &planned)
            .unwrap();
        (run, ids)
    }

    pub(crate) fn intent(id: &OrderId) -> Event {
        Event::Intent {
            order_id: id.clone(),
            line: 2,
            digest: "d".into(),
            request: request(id.as_str()),
            at: now(),
        }
    }

    pub(crate) fn answer(id: &OrderId, status: Status) -> Event {
        Event::Result {
            order_id: id.clone(),
            source: Source::Create,
            state: PayoutState {
                order_id: id.clone(),
                status,
                gateway_status: status.as_str().into(),
                ..PayoutState::default()
            },
            at: now(),
        }
    }

    pub(crate) fn open() -> (tempfile::TempDir, Book, i64) {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(&dir.path().join("book.sqlite")).unwrap();
        let account = book
            .account(&AccountKey::g2328(Mode::Sandbox, "p-1"))
            .unwrap();
        (dir, book, account)
    }

    pub(crate) fn sql(book: &Book, statement: &str) {
        book.conn().execute_batch(statement).unwrap();
    }

    pub(crate) fn refusal(r: Result<(), BookError>) -> String {
        match r {
            Err(e @ BookError::Tampered { .. }) => e.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn every_event_of_a_run_is_checked_across_chunks() {
        let (_dir, book, account) = open();
        // More events than one chunk holds, so a change in the second chunk is found too.
        let n = EventChunk::LEN / 2 + 10;
        let (run, ids) = plan_run(&book, account, "big", n);
        let intents: Vec<Event> = ids.iter().map(intent).collect();
        book.record(account, &intents).unwrap();
        let answers: Vec<Event> = ids.iter().map(|i| answer(i, Status::Completed)).collect();
        book.record(account, &answers).unwrap();
        book.verify_run_events(run.pk, &run.run_id).unwrap();
        let last: i64 = book
            .conn()
            .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
            .unwrap();
        assert!(last > EventChunk::LEN as i64 + 2);

        // An edited body, late in the run: named by its seq.
        sql(
            &book,
            &format!(
                "UPDATE events SET body = replace(body, 'completed', 'failed') WHERE seq = {last}"
            ),
        );
        let e = refusal(book.verify_run_events(run.pk, &run.run_id));
        assert!(e.contains(&format!("event #{last} (result)")), "{e}");
        assert!(e.contains("does not match its hash"), "{e}");
        // Two edits: the first one is named.
        sql(
            &book,
            &format!("UPDATE events SET hash = zeroblob(32) WHERE seq = 5; UPDATE events SET kind = 'refused' WHERE seq = {}", last - 1),
        );
        let e = refusal(book.verify_run_events(run.pk, &run.run_id));
        assert!(e.contains("event #5 (intent)"), "{e}");
    }

    #[test]
    fn a_removed_event_is_refused_wherever_it_was() {
        for victim in ["min(seq)", "max(seq)", "(min(seq) + max(seq)) / 2"] {
            let (_dir, book, account) = open();
            let (run, ids) = plan_run(&book, account, "r", 50);
            book.record(account, &ids.iter().map(intent).collect::<Vec<_>>())
                .unwrap();
            sql(
                &book,
                &format!(
                    "DELETE FROM events WHERE seq = (SELECT {victim} FROM events WHERE run = {})",
                    run.pk
                ),
            );
            let e = refusal(book.verify_run_events(run.pk, &run.run_id));
            assert!(
                e.contains("should have 51 events but has 50"),
                "{victim}: {e}"
            );
        }
    }

    #[test]
    fn interleaved_runs_link_across_each_other() {
        let (_dir, book, account) = open();
        let (a, a_ids) = plan_run(&book, account, "a", 20);
        let (b, b_ids) = plan_run(&book, account, "b", 20);
        for (x, y) in a_ids.iter().zip(&b_ids) {
            book.record(account, &[intent(x)]).unwrap();
            book.record(account, &[intent(y)]).unwrap();
        }
        book.verify_run_events(a.pk, "a").unwrap();
        book.verify_run_events(b.pk, "b").unwrap();
        // Run b loses an event that one of run a's events links to: a's count is right, but
        // its chain is broken there. (b's count is wrong.)
        let gone: i64 = book
            .conn()
            .query_row(
                "SELECT seq FROM events WHERE run = ?1 ORDER BY seq LIMIT 1 OFFSET 5",
                [b.pk],
                |r| r.get(0),
            )
            .unwrap();
        sql(&book, &format!("DELETE FROM events WHERE seq = {gone}"));
        let e = refusal(book.verify_run_events(a.pk, "a"));
        assert!(
            e.contains(&format!(
                "event #{gone} before event #{} is missing",
                gone + 1
            )),
            "{e}"
        );
        let e = refusal(book.verify_run_events(b.pk, "b"));
        assert!(e.contains("events were removed"), "{e}");
        // An edited link in run b is found from run a's side too (its hash no longer fits).
        let (_dir, book, account) = open();
        let (a, a_ids) = plan_run(&book, account, "a", 3);
        let (_b, b_ids) = plan_run(&book, account, "b", 3);
        for (x, y) in a_ids.iter().zip(&b_ids) {
            book.record(account, &[intent(y)]).unwrap();
            book.record(account, &[intent(x)]).unwrap();
        }
        sql(
            &book,
            "UPDATE events SET hash = zeroblob(32) WHERE seq = (SELECT max(seq) FROM events WHERE run = 2)",
        );
        assert!(refusal(book.verify_run_events(a.pk, "a")).contains("does not match its hash"));
    }

    #[test]
    fn edits_payrun_never_makes_are_counted_and_its_own_writes_are_not() {
        for (statement, counted) in [
            ("UPDATE events SET body = body || ' ' WHERE seq = 2", true),
            ("DELETE FROM events WHERE seq = 1", true),
            ("UPDATE orders SET status = 'failed' WHERE id = 1", true),
            ("UPDATE orders SET error = 'x' WHERE id = 1", true),
            ("DELETE FROM orders WHERE id = 1", true),
            // An unsent order dropped from a plan is payrun's own write.
            ("DELETE FROM orders WHERE sent = 0", false),
            ("UPDATE runs SET worksheet = 'x'", false),
        ] {
            let (_dir, book, account) = open();
            let (run, ids) = plan_run(&book, account, "t", 4);
            book.record(account, &ids[..2].iter().map(intent).collect::<Vec<_>>())
                .unwrap();
            book.record(account, &[answer(&ids[0], Status::Completed)])
                .unwrap();
            book.record(account, &[intent(&ids[2])]).unwrap();
            assert!(!book.edited_outside().unwrap(), "payrun's own writes");
            sql(&book, statement);
            assert_eq!(book.edited_outside().unwrap(), counted, "{statement}");
            if counted {
                assert!(!book.verify().unwrap().ok(), "{statement}");
                assert!(book.edited_outside().unwrap(), "still counted: {statement}");
            } else {
                let _ = book.run_counts(&run);
            }
        }
    }

    #[test]
    fn run_orders_come_back_in_row_order_with_every_seal_checked() {
        let (_dir, book, account) = open();
        let n = 5000;
        let (run, ids) = plan_run(&book, account, "mix", n);
        // Statuses mixed through the run: the index order is (status, id), the answer's is id.
        let sent: Vec<&OrderId> = ids.iter().step_by(3).collect();
        book.record(account, &sent.iter().map(|i| intent(i)).collect::<Vec<_>>())
            .unwrap();
        let answered: Vec<Event> = sent
            .iter()
            .step_by(2)
            .map(|i| answer(i, Status::Pending))
            .collect();
        book.record(account, &answered).unwrap();
        let orders = book.run_orders(account, run.pk).unwrap();
        let got: Vec<&OrderId> = orders.iter().map(|r| &r.order_id).collect();
        assert_eq!(got, ids.iter().collect::<Vec<_>>());
        assert_eq!(orders[0].status, Status::Pending);
        assert_eq!(orders[1].status, Status::NotSent);
        assert_eq!(orders[3].status, Status::InDoubt);
        // A status edited by hand, anywhere in the run, is refused with the order named.
        sql(
            &book,
            &format!(
                "UPDATE orders SET status = 'completed' WHERE order_id = '{}'",
                ids[4321]
            ),
        );
        match book.run_orders(account, run.pk) {
            Err(e @ BookError::Tampered { .. }) => {
                let e = e.to_string();
                assert!(e.contains(&format!("order {}", ids[4321])), "{e}");
                assert!(e.contains("does not match its seal"), "{e}");
            }
            other => panic!("expected a refusal, got {:?}", other.map(|o| o.len())),
        }
    }

    #[test]
    fn a_removed_order_row_is_named_by_its_events() {
        let (_dir, book, account) = open();
        let (run, ids) = plan_run(&book, account, "gone", 5);
        book.record(account, &[intent(&ids[3])]).unwrap();
        let event_order: Option<String> = book
            .conn()
            .query_row(
                "SELECT order_id FROM events WHERE run = ?1 AND kind = 'intent'",
                [run.pk],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(event_order, None, "the body holds the order id, once");
        assert_eq!(book.run_counts(&run).unwrap().total(), 5);
        sql(
            &book,
            &format!("DELETE FROM orders WHERE order_id = '{}'", ids[3]),
        );
        match book.run_counts(&run) {
            Err(e @ BookError::Tampered { .. }) => {
                let e = e.to_string();
                assert!(e.contains("should have 5 orders but has 4"), "{e}");
                assert!(
                    e.contains(&format!("order {} has events but no row", ids[3])),
                    "{e}"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_snapshot_comes_back_as_saved() {
        let (_dir, book, account) = open();
        let (run, ids) = plan_run(&book, account, "s", 5000);
        let (snap, held) = book.snapshot(&run).unwrap();
        assert_eq!(snap.rows.len(), 5000);
        assert_eq!(held.len(), 1);
        assert_eq!(held[&2], "held for the test");
        for (i, r) in snap.rows.iter().enumerate() {
            assert_eq!(r.line, i as u64 + 2);
            assert_eq!(r.order_id.as_ref(), Some(&ids[i]));
            assert_eq!(r.cells, vec![format!("cell {i}")]);
            assert_eq!(r.amount, Some(rust_decimal::Decimal::new(1001, 2)));
        }
    }

    /// Rewrites a book as schema 12 wrote it: no packed blocks, lookups or their triggers
    /// (the book must hold no packed run).
    pub(crate) fn back_to_schema_12(book: &Book) {
        book.conn()
            .execute_batch(
                "DROP TABLE packed_blocks; DROP TABLE packed_order_ids; DROP TABLE packed_ranges; PRAGMA user_version = 12;",
            )
            .unwrap();
    }

    /// Rewrites a book as schema 10 wrote it: no `runs.payouts_sha256`, no index of sheet
    /// events.
    fn back_to_schema_10(book: &Book) {
        back_to_schema_12(book);
        book.conn()
            .execute_batch(
                "DROP INDEX events_sheets; DROP INDEX runs_by_payouts; ALTER TABLE runs DROP COLUMN payouts_sha256; PRAGMA user_version = 10;",
            )
            .unwrap();
    }

    /// Rewrites a book as schema 9 wrote it: every order's digest as text.
    fn back_to_schema_9(book: &Book) {
        back_to_schema_10(book);
        let conn = book.conn();
        let rows: Vec<(i64, String)> = conn
            .prepare(&format!("SELECT {ORDER_COLUMNS} FROM {ORDER_FROM}"))
            .unwrap()
            .query_map([], order_row)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                let id = r.id;
                let (_, rec, _) = book.decode_order(1, r).unwrap();
                (id, rec.digest)
            })
            .collect();
        for (id, digest) in rows {
            conn.execute(
                "UPDATE orders SET digest = ?2 WHERE id = ?1",
                params![id, digest],
            )
            .unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 9;").unwrap();
    }

    /// Rewrites a book as schema 8 wrote it: every sheet row with its order id and its cells
    /// as text, no `order_row`.
    fn back_to_schema_8(book: &Book) {
        back_to_schema_9(book);
        let conn = book.conn();
        let rows: Vec<(i64, i64, String)> = conn
            .prepare("SELECT run, line, cells FROM rows")
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    super::super::codec::decode_str(r.get_ref(2)?)
                        .unwrap()
                        .unwrap(),
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (run, line, cells) in rows {
            conn.execute(
                "UPDATE rows SET cells = ?3, order_id = coalesce(order_id, (SELECT order_id FROM orders WHERE id = order_row)) WHERE run = ?1 AND line = ?2",
                params![run, line, cells],
            )
            .unwrap();
        }
        conn.execute_batch("ALTER TABLE rows DROP COLUMN order_row; PRAGMA user_version = 8;")
            .unwrap();
    }

    /// Rewrites a book as schema 7 wrote it: every request as text, no `intent_seq` nor
    /// `network`, the trigger of schema 7.
    fn back_to_schema_7(book: &Book) {
        back_to_schema_8(book);
        let conn = book.conn();
        let rows: Vec<(i64, String)> = conn
            .prepare(concat!(
                "SELECT o.id, o.request, ",
                request_source!(),
                " FROM orders o"
            ))
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    super::super::codec::order_request(r.get_ref(1)?, r.get_ref(2)?).unwrap(),
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        conn.execute_batch("DROP TRIGGER orders_edited;").unwrap();
        for (id, text) in rows {
            conn.execute(
                "UPDATE orders SET request = ?2 WHERE id = ?1",
                params![id, text],
            )
            .unwrap();
        }
        conn.execute_batch(
            r#"
            DROP TABLE planned_requests;
            ALTER TABLE orders DROP COLUMN intent_seq;
            ALTER TABLE orders DROP COLUMN network;
            CREATE TRIGGER orders_edited AFTER UPDATE ON orders
            WHEN NEW.seal IS OLD.seal AND (NEW.status IS NOT OLD.status OR NEW.request IS NOT OLD.request
                OR NEW.state IS NOT OLD.state OR NEW.error IS NOT OLD.error OR NEW.sent IS NOT OLD.sent
                OR NEW.order_id IS NOT OLD.order_id OR NEW.run IS NOT OLD.run
                OR NEW.account IS NOT OLD.account OR NEW.last_seq IS NOT OLD.last_seq) BEGIN
                INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
                    ON CONFLICT(key) DO UPDATE SET value = value + 1;
            END;
            PRAGMA user_version = 7;
            "#,
        )
        .unwrap();
    }

    /// Turns a book of this schema into one written by schema 5: every compressed event body
    /// and order answer back to its JSON text, no dictionaries.
    fn back_to_schema_5(book: &Book) {
        back_to_schema_7(book);
        let conn = book.conn();
        conn.execute_batch(
            "DROP TRIGGER events_edited; DROP TRIGGER orders_edited; DROP TABLE dictionaries;",
        )
        .unwrap();
        // Orders first: an answer naming its last event is read through that event's body.
        for (table, key, column, last_event) in [
            (
                "orders",
                "id",
                "state",
                "(SELECT body FROM events WHERE seq = last_seq)",
            ),
            ("events", "seq", "body", "NULL"),
        ] {
            let rows: Vec<(i64, Option<String>)> = conn
                .prepare(&format!(
                    "SELECT {key}, {column}, {last_event} FROM {table}"
                ))
                .unwrap()
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        super::super::codec::order_state(r.get_ref(1)?, r.get_ref(2)?).unwrap(),
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for (k, text) in rows {
                conn.execute(
                    &format!("UPDATE {table} SET {column} = ?2 WHERE {key} = ?1"),
                    params![k, text],
                )
                .unwrap();
            }
        }
        let packed: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM events WHERE typeof(body) != 'text') + (SELECT count(*) FROM orders WHERE typeof(state) = 'blob')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(packed, 0);
        conn.execute_batch(
            r#"
            CREATE TRIGGER events_edited AFTER UPDATE ON events BEGIN
                INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
                    ON CONFLICT(key) DO UPDATE SET value = value + 1;
            END;
            CREATE TRIGGER orders_edited AFTER UPDATE ON orders
            WHEN NEW.seal IS OLD.seal AND (NEW.status IS NOT OLD.status OR NEW.request IS NOT OLD.request
                OR NEW.state IS NOT OLD.state OR NEW.error IS NOT OLD.error OR NEW.sent IS NOT OLD.sent
                OR NEW.order_id IS NOT OLD.order_id OR NEW.run IS NOT OLD.run
                OR NEW.account IS NOT OLD.account) BEGIN
                INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
                    ON CONFLICT(key) DO UPDATE SET value = value + 1;
            END;
            PRAGMA user_version = 5;
            "#,
        )
        .unwrap();
    }

    #[test]
    fn a_schema_5_book_is_migrated_reads_and_verifies_as_before_and_takes_new_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sqlite");
        let (run, ids) = {
            let book = Book::open(&path).unwrap();
            let account = book
                .account(&AccountKey::g2328(Mode::Sandbox, "p-1"))
                .unwrap();
            let (run, ids) = plan_run(&book, account, "m", 4);
            book.record(account, &ids.iter().map(intent).collect::<Vec<_>>())
                .unwrap();
            book.record(account, &[answer(&ids[0], Status::Completed)])
                .unwrap();
            back_to_schema_5(&book);
            (run, ids)
        };
        let before = {
            // What schema 5 holds, as its own readers see it: text a row.
            let c = Connection::open(&path).unwrap();
            let body: String = c
                .query_row("SELECT body FROM events WHERE seq = 2", [], |r| r.get(0))
                .unwrap();
            assert!(body.starts_with("{\"event\":\"intent\""), "{body}");
            body
        };
        let book = Book::open(&path).unwrap();
        let version: i64 = book
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert!(
            !book.edited_outside().unwrap(),
            "a migration is payrun's own write"
        );
        book.verify_run_events(run.pk, &run.run_id).unwrap();
        assert!(book.verify().unwrap().ok());
        let account = run.account;
        let (_, rec) = book.order(account, ids[0].as_str()).unwrap().unwrap();
        assert_eq!(rec.status, Status::Completed);
        // New events are compressed; old and new verify together, in one chain.
        book.record(account, &[answer(&ids[1], Status::Pending)])
            .unwrap();
        let (old, new): (String, String) = book
            .conn()
            .query_row(
                "SELECT (SELECT typeof(body) FROM events WHERE seq = 2), (SELECT typeof(body) FROM events WHERE seq = (SELECT max(seq) FROM events))",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((old.as_str(), new.as_str()), ("text", "blob"));
        book.verify_run_events(run.pk, &run.run_id).unwrap();
        let report = book.verify().unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.events, 7);
        let orders = book.run_orders(account, run.pk).unwrap();
        assert_eq!(orders[1].status, Status::Pending);
        let mut out = Vec::new();
        book.export(&mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.lines().nth(1).unwrap().contains("\"event\":\"intent\""));
        assert_eq!(out.lines().count(), 7);
        drop(book);
        // An old value edited by hand is refused as before.
        let c = Connection::open(&path).unwrap();
        c.execute(
            "UPDATE events SET body = ?1 WHERE seq = 2",
            [before.replace("TRX-TRC20", "TRX-TRC21")],
        )
        .unwrap();
        drop(c);
        let book = Book::open(&path).unwrap();
        let e = refusal(book.verify_run_events(run.pk, &run.run_id));
        assert!(e.contains("event #2 (intent)"), "{e}");
        assert!(!book.verify().unwrap().ok());
    }

    #[test]
    fn compressed_values_edited_by_hand_are_refused_with_the_place_named() {
        let (_dir, book, account) = open();
        let (run, ids) = plan_run(&book, account, "z", 3);
        book.record(account, &ids.iter().map(intent).collect::<Vec<_>>())
            .unwrap();
        book.record(account, &[answer(&ids[0], Status::Completed)])
            .unwrap();
        let plain: i64 = book
            .conn()
            .query_row(
                "SELECT count(*) FROM events WHERE typeof(body) != 'blob'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(plain, 0, "every event is stored compressed");
        // A body cut short: unreadable, named, in the run check and in `book verify`.
        sql(
            &book,
            "UPDATE events SET body = substr(body, 1, length(body) - 2) WHERE seq = 3",
        );
        let e = refusal(book.verify_run_events(run.pk, &run.run_id));
        assert!(
            e.contains("event #3 (intent) of run z is unreadable"),
            "{e}"
        );
        let report = book.verify().unwrap();
        assert!(
            report
                .first_problem
                .as_deref()
                .unwrap()
                .contains("event #3 (intent) is unreadable"),
            "{report:?}"
        );
        // An order's answer is its last event's, named rather than repeated; pointed at
        // another order's answer, it is counted and its seal refuses it.
        let (_dir, book, account) = open();
        let (run, ids) = plan_run(&book, account, "y", 2);
        book.record(account, &ids.iter().map(intent).collect::<Vec<_>>())
            .unwrap();
        book.record(
            account,
            &[
                answer(&ids[0], Status::Completed),
                answer(&ids[1], Status::Failed),
            ],
        )
        .unwrap();
        let named: i64 = book
            .conn()
            .query_row("SELECT count(*) FROM orders WHERE state = X'00'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(named, 2);
        sql(
            &book,
            &format!(
                "UPDATE orders SET last_seq = (SELECT last_seq FROM orders WHERE order_id = '{}') WHERE order_id = '{}'",
                ids[1], ids[0]
            ),
        );
        assert!(book.edited_outside().unwrap());
        match book.run_orders(account, run.pk) {
            Err(e @ BookError::Tampered { .. }) => {
                assert!(e.to_string().contains(&format!("order {}", ids[0])), "{e}")
            }
            other => panic!("expected a refusal, got {:?}", other.map(|o| o.len())),
        }
        // An answer that does not decode is named too.
        sql(
            &book,
            &format!(
                "UPDATE orders SET state = x'01ff' WHERE order_id = '{}'",
                ids[1]
            ),
        );
        match book.order(account, ids[1].as_str()) {
            Err(e @ BookError::Tampered { .. }) => {
                let e = e.to_string();
                assert!(e.contains(&format!("order {}", ids[1])), "{e}");
                assert!(e.contains("orders.state) is unreadable"), "{e}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_answer_merged_from_several_is_kept_whole_and_one_taken_as_is_is_named() {
        let (_dir, book, account) = open();
        let (run, ids) = plan_run(&book, account, "m", 1);
        book.record(account, &[intent(&ids[0])]).unwrap();
        let mut pending = answer(&ids[0], Status::Pending);
        if let Event::Result { state, .. } = &mut pending {
            state.txid = Some("0xfirst".into());
        }
        book.record(account, &[pending]).unwrap();
        let stored = |book: &Book| -> Vec<u8> {
            book.conn()
                .query_row("SELECT CAST(state AS BLOB) FROM orders", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(stored(&book), codec_state_of_last_event());
        // The completed answer has no txid: the order keeps the first one, so its answer is
        // no event's and is stored whole.
        book.record(account, &[answer(&ids[0], Status::Completed)])
            .unwrap();
        assert!(stored(&book).len() > 1);
        let (_, rec) = book.order(account, ids[0].as_str()).unwrap().unwrap();
        assert_eq!(rec.status, Status::Completed);
        assert_eq!(rec.state.unwrap().txid.as_deref(), Some("0xfirst"));
        assert_eq!(book.run_orders(account, run.pk).unwrap().len(), 1);
        assert!(book.verify().unwrap().ok());
    }

    fn codec_state_of_last_event() -> Vec<u8> {
        super::super::codec::STATE_OF_LAST_EVENT.to_vec()
    }

    #[test]
    fn an_edited_dictionary_is_refused_when_the_book_opens_and_counted() {
        for statement in [
            "UPDATE dictionaries SET bytes = bytes || x'20' WHERE id = 1",
            "DELETE FROM dictionaries",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("book.sqlite");
            {
                let book = Book::open(&path).unwrap();
                sql(&book, statement);
                assert!(book.edited_outside().unwrap(), "{statement}");
            }
            match Book::open(&path) {
                Err(e @ BookError::Tampered { .. }) => {
                    assert!(
                        e.to_string().contains("dictionary 1 (table dictionaries)"),
                        "{e}"
                    )
                }
                other => panic!("{statement}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_new_book_gives_freed_pages_back_when_it_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sqlite");
        let pragma = |book: &Book, name: &str| -> i64 {
            book.conn()
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        let pages = {
            let book = Book::open(&path).unwrap();
            assert_eq!(pragma(&book, "auto_vacuum"), 2, "incremental");
            let account = book
                .account(&AccountKey::g2328(Mode::Sandbox, "p-1"))
                .unwrap();
            let (run, ids) = plan_run(&book, account, "v", 3000);
            book.record(account, &ids[..5].iter().map(intent).collect::<Vec<_>>())
                .unwrap();
            // The plan shrinks to the orders sent: the others' rows are removed.
            let keep: Vec<(OrderRecord, Option<String>)> = ids[..5]
                .iter()
                .map(|id| {
                    (
                        OrderRecord::planned(2, "d".into(), request(id.as_str()), now()),
                        None,
                    )
                })
                .collect();
            book.write(|tx| book.plan_orders(tx, account, run.pk, &keep))
                .unwrap();
            let (free, pages) = (pragma(&book, "freelist_count"), pragma(&book, "page_count"));
            assert!(free > 64 && free * 16 > pages, "{free} free of {pages}");
            pages
        };
        let book = Book::open(&path).unwrap();
        assert_eq!(pragma(&book, "freelist_count"), 0);
        assert!(pragma(&book, "page_count") < pages);
        assert!(book.verify().unwrap().ok());
    }

    #[test]
    fn a_first_schema_book_is_migrated_and_keeps_verifying() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sqlite");
        {
            let book = Book::open(&path).unwrap();
            let account = book
                .account(&AccountKey::g2328(Mode::Sandbox, "p-1"))
                .unwrap();
            let (_run, ids) = plan_run(&book, account, "m", 3);
            book.record(account, &ids.iter().map(intent).collect::<Vec<_>>())
                .unwrap();
            // Back to the first schema, as a book written by the first release is.
            back_to_schema_5(&book);
            sql(
                &book,
                "CREATE INDEX events_by_order ON events(account, order_id) WHERE order_id IS NOT NULL; ALTER TABLE orders DROP COLUMN first_sent_at; DROP TABLE ledgers; DROP TRIGGER events_edited; DROP TRIGGER events_deleted; DROP TRIGGER orders_edited; DROP TRIGGER orders_deleted; DROP INDEX events_by_kind; PRAGMA user_version = 1;",
            );
        }
        let book = Book::open(&path).unwrap();
        let (version, index): (i64, i64) = book
            .conn()
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master WHERE name = 'events_by_order')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((version, index), (SCHEMA_VERSION, 0));
        let run = book.runs(None).unwrap().remove(0);
        book.verify_run_events(run.pk, &run.run_id).unwrap();
        assert!(book.verify().unwrap().ok());
    }

    #[test]
    fn the_order_read_of_every_commit_is_prepared_once() {
        let (_dir, book, account) = open();
        let (_run, ids) = plan_run(&book, account, "p", 50);
        for id in &ids {
            book.record(account, &[intent(id)]).unwrap();
            book.record(account, &[answer(id, Status::Pending)])
                .unwrap();
            book.record(account, &[answer(id, Status::Completed)])
                .unwrap();
        }
        let conn = book.conn();
        let read = conn
            .prepare_cached(&format!(
                "SELECT {ORDER_COLUMNS} FROM {ORDER_FROM} WHERE o.account = ?1 AND o.order_id = ?2"
            ))
            .unwrap();
        assert_eq!(read.get_status(rusqlite::StatementStatus::Run), 150);
        assert_eq!(read.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    /// `(typeof(request), intent_seq)` of every order row, in row order.
    fn requests_as_stored(book: &Book) -> Vec<(String, Option<i64>)> {
        book.conn()
            .prepare("SELECT typeof(request), intent_seq FROM orders ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_sent_order_names_its_intent_for_its_request_and_a_pointer_moved_is_refused() {
        let (_dir, book, account) = open();
        let (run, ids) = plan_run(&book, account, "q", 3);
        // Planned: the request waits in its own table (there is no intent yet).
        assert!(requests_as_stored(&book)
            .iter()
            .all(|(t, s)| t == "blob" && s.is_none()));
        let planned = |book: &Book| -> i64 {
            book.conn()
                .query_row("SELECT count(*) FROM planned_requests", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(planned(&book), 3);
        book.record(account, &[intent(&ids[0]), intent(&ids[1])])
            .unwrap();
        book.record(
            account,
            &[
                answer(&ids[0], Status::Pending),
                answer(&ids[0], Status::Completed),
            ],
        )
        .unwrap();
        // Seq 1 is the sheet event: the intents are 2 and 3, and stay named after answers.
        assert_eq!(
            requests_as_stored(&book),
            [
                ("blob".to_string(), Some(2)),
                ("blob".to_string(), Some(3)),
                ("blob".to_string(), None)
            ]
        );
        assert_eq!(planned(&book), 1);
        let stored: Vec<u8> = book
            .conn()
            .query_row("SELECT request FROM orders ORDER BY id LIMIT 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stored, super::super::codec::REQUEST_OF_INTENT);
        let orders = book.run_orders(account, run.pk).unwrap();
        for (o, id) in orders.iter().zip(&ids) {
            assert_eq!(o.request, request(id.as_str()));
        }
        assert_eq!(orders[0].status, Status::Completed);
        let mut paid = Vec::new();
        book.each_sent_address(account, |a| paid.push(a.network))
            .unwrap();
        assert_eq!(paid, ["TRX-TRC20", "TRX-TRC20"]);
        let lines = book.run_lines(None).unwrap();
        assert_eq!(
            lines[0].totals.get("USDT").map(String::as_str),
            Some("30.03")
        );
        let history = book
            .history(Some("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"), None)
            .unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history[0].amount, "10.01");
        let report = book.verify().unwrap();
        assert!(report.ok(), "{report:?}");
        // Pointed at another order's intent: counted, and its seal refuses it, named.
        sql(
            &book,
            &format!(
                "UPDATE orders SET intent_seq = 3 WHERE order_id = '{}'",
                ids[0]
            ),
        );
        assert!(book.edited_outside().unwrap());
        match book.run_orders(account, run.pk) {
            Err(e @ BookError::Tampered { .. }) => assert!(
                e.to_string().contains(&format!(
                    "order {} (status completed) does not match its seal",
                    ids[0]
                )),
                "{e}"
            ),
            other => panic!("expected a refusal, got {:?}", other.map(|o| o.len())),
        }
        // Pointed at an event that is no intent, or at none: unreadable, named.
        for (seq, why) in [(4, "which has none"), (99, "which has none")] {
            sql(
                &book,
                &format!(
                    "UPDATE orders SET intent_seq = {seq} WHERE order_id = '{}'",
                    ids[0]
                ),
            );
            match book.order(account, ids[0].as_str()) {
                Err(e @ BookError::Tampered { .. }) => {
                    let e = e.to_string();
                    assert!(
                        e.contains("its request (orders.request) is unreadable"),
                        "{e}"
                    );
                    assert!(e.contains(why), "{e}");
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
        assert!(!book.verify().unwrap().ok());
        // A planned request edited or removed: counted or unreadable, and refused, named.
        let (_dir, book, account) = open();
        let (run, ids) = plan_run(&book, account, "p", 2);
        sql(
            &book,
            "UPDATE planned_requests SET request = replace(request, '10.01', '10.02') WHERE order_row = (SELECT min(order_row) FROM planned_requests)",
        );
        assert!(book.edited_outside().unwrap());
        match book.run_orders(account, run.pk) {
            Err(e @ BookError::Tampered { .. }) => {
                assert!(e.to_string().contains("does not match its seal"), "{e}")
            }
            other => panic!("expected a refusal, got {:?}", other.map(|o| o.len())),
        }
        sql(&book, "DELETE FROM planned_requests");
        match book.order(account, ids[1].as_str()) {
            Err(e @ BookError::Tampered { .. }) => {
                assert!(e.to_string().contains("planned_requests"), "{e}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_schema_7_book_is_migrated_keeps_its_requests_and_new_intents_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sqlite");
        let (run, ids) = {
            let book = Book::open(&path).unwrap();
            let account = book
                .account(&AccountKey::g2328(Mode::Sandbox, "p-1"))
                .unwrap();
            let (run, ids) = plan_run(&book, account, "s", 3);
            book.record(account, &[intent(&ids[0]), intent(&ids[1])])
                .unwrap();
            book.record(account, &[answer(&ids[0], Status::Completed)])
                .unwrap();
            back_to_schema_7(&book);
            (run, ids)
        };
        {
            // What schema 7 holds: every request as text, no intent named.
            let c = Connection::open(&path).unwrap();
            let text: i64 = c
                .query_row(
                    "SELECT count(*) FROM orders WHERE typeof(request) = 'text'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(text, 3);
        }
        let book = Book::open(&path).unwrap();
        let version: i64 = book
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert!(
            !book.edited_outside().unwrap(),
            "a migration is payrun's own write"
        );
        book.verify_run_events(run.pk, &run.run_id).unwrap();
        assert!(book.verify().unwrap().ok());
        let account = run.account;
        // Old rows read as before, and the controls still learn their network.
        let orders = book.run_orders(account, run.pk).unwrap();
        assert_eq!(orders[0].status, Status::Completed);
        assert_eq!(orders[1].request, request(ids[1].as_str()));
        let mut paid = Vec::new();
        book.each_sent_address(account, |a| paid.push(a.network))
            .unwrap();
        assert_eq!(paid, ["TRX-TRC20", "TRX-TRC20"]);
        // An answer for an old row keeps its text; a new intent is named.
        book.record(
            account,
            &[answer(&ids[1], Status::Pending), intent(&ids[2])],
        )
        .unwrap();
        let stored = requests_as_stored(&book);
        assert_eq!(stored.len(), 3);
        assert_eq!(stored[0], ("text".to_string(), None));
        assert_eq!(stored[1], ("text".to_string(), None));
        assert_eq!(stored[2].0, "blob");
        let orders = book.run_orders(account, run.pk).unwrap();
        assert_eq!(orders[1].status, Status::Pending);
        assert_eq!(orders[2].request, request(ids[2].as_str()));
        let mut paid = Vec::new();
        book.each_sent_address(account, |a| paid.push(a.network))
            .unwrap();
        assert_eq!(paid, ["TRX-TRC20"; 3]);
        let report = book.verify().unwrap();
        assert!(report.ok(), "{report:?}");
        // An old request edited by hand is refused as before.
        drop(book);
        let c = Connection::open(&path).unwrap();
        c.execute(
            "UPDATE orders SET request = replace(request, '10.01', '99.01') WHERE order_id = ?1",
            [ids[1].as_str()],
        )
        .unwrap();
        drop(c);
        let book = Book::open(&path).unwrap();
        assert!(book.edited_outside().unwrap());
        assert!(matches!(
            book.order(account, ids[1].as_str()),
            Err(BookError::Tampered { .. })
        ));
    }

    #[test]
    fn a_sheet_row_names_its_order_by_row_and_its_cells_are_compressed() {
        let (_dir, book, account) = open();
        let (run, ids) = plan_run(&book, account, "w", 3);
        let check = |book: &Book| {
            let (snap, held) = book.snapshot(&run).unwrap();
            assert_eq!(snap.rows.len(), 3);
            for (i, r) in snap.rows.iter().enumerate() {
                assert_eq!(r.order_id.as_ref(), Some(&ids[i]));
                assert_eq!(r.cells, [format!("cell {i}")]);
                assert_eq!(r.line, i as u64 + 2);
            }
            assert_eq!(held.get(&2).map(String::as_str), Some("held for the test"));
        };
        check(&book);
        let named: i64 = book
            .conn()
            .query_row(
                "SELECT count(*) FROM rows WHERE order_id IS NULL AND order_row IS NOT NULL AND typeof(cells) = 'blob'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(named, 3);
        // As schema 8 wrote them (text), the same rows, and migrated again.
        back_to_schema_8(&book);
        drop(book);
        let book = Book::open(_dir.path().join("book.sqlite").as_path()).unwrap();
        check(&book);
        assert!(book.verify().unwrap().ok());
        // Cells that do not decode, or an order named that is gone: refused, the line named.
        let (_dir, book, account) = open();
        let (run, _) = plan_run(&book, account, "v", 2);
        sql(&book, "UPDATE rows SET cells = x'01ff' WHERE line = 3");
        match book.snapshot(&run) {
            Err(e @ BookError::Tampered { .. }) => {
                assert!(e.to_string().contains("line 3 of run v: its cells"), "{e}")
            }
            other => panic!(
                "expected a refusal, got {:?}",
                other.map(|s| s.0.rows.len())
            ),
        }
        sql(
            &book,
            "UPDATE rows SET cells = '[]' WHERE line = 3; DELETE FROM orders WHERE id = (SELECT order_row FROM rows WHERE line = 2)",
        );
        match book.snapshot(&run) {
            Err(e @ BookError::Tampered { .. }) => {
                assert!(
                    e.to_string()
                        .contains("line 2 of run v: the order it names"),
                    "{e}"
                )
            }
            other => panic!(
                "expected a refusal, got {:?}",
                other.map(|s| s.0.rows.len())
            ),
        }
    }

    #[test]
    fn an_order_names_its_intent_s_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sqlite");
        let book = Book::open(&path).unwrap();
        let account = book
            .account(&AccountKey::g2328(Mode::Sandbox, "p-1"))
            .unwrap();
        let (run, ids) = plan_run(&book, account, "t", 3);
        let mut other = intent(&ids[1]);
        if let Event::Intent { digest, .. } = &mut other {
            *digest = "\"quoted\" é".into();
        }
        book.record(account, &[intent(&ids[0]), other]).unwrap();
        book.record(account, &[answer(&ids[0], Status::Completed)])
            .unwrap();
        let stored = |book: &Book| -> Vec<String> {
            book.conn()
                .prepare("SELECT typeof(digest) FROM orders ORDER BY id")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(stored(&book), ["blob", "blob", "text"]);
        let check = |book: &Book| {
            let orders = book.run_orders(account, run.pk).unwrap();
            assert_eq!(
                orders.iter().map(|o| o.digest.as_str()).collect::<Vec<_>>(),
                ["d", "\"quoted\" é", "d"]
            );
            assert!(book.verify().unwrap().ok());
        };
        check(&book);
        // As schema 9 wrote them (text): the same orders, migrated again.
        back_to_schema_9(&book);
        assert_eq!(stored(&book), ["text"; 3]);
        drop(book);
        let book = Book::open(&path).unwrap();
        check(&book);
        // An answer keeps a digest as it is stored; an intent names it again.
        book.record(account, &[answer(&ids[1], Status::Pending)])
            .unwrap();
        assert_eq!(stored(&book), ["text"; 3]);
        book.record(account, &[intent(&ids[2])]).unwrap();
        assert_eq!(stored(&book), ["text", "text", "blob"]);
        // A digest edited by hand: its seal refuses it; named where the request is not the
        // intent's: unreadable, named.
        sql(
            &book,
            &format!(
                "UPDATE orders SET digest = 'e' WHERE order_id = '{}'",
                ids[2]
            ),
        );
        assert!(matches!(
            book.order(account, ids[2].as_str()),
            Err(BookError::Tampered { .. })
        ));
        let (_, planned) = plan_run(&book, account, "u", 1);
        sql(
            &book,
            &format!(
                "UPDATE orders SET digest = x'00' WHERE order_id = '{}'",
                planned[0]
            ),
        );
        match book.order(account, planned[0].as_str()) {
            Err(e @ BookError::Tampered { .. }) => {
                assert!(
                    e.to_string().contains("orders.digest) is unreadable"),
                    "{e}"
                )
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
