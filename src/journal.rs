//! The journal: the append-only JSON Lines file that is the only state of a run.
//!
//! Line 1 is a header (run id, gateway, sheet name and hash); every other line is an event.
//! An `intent` is appended and fsync'd before a request leaves; the gateway's answer (a
//! `result`, a `refused` or a `not_applied`) is appended and fsync'd after it returns. Replay
//! folds the events into one record per order: an order with an open intent and no answer is
//! **in doubt** and must be resolved by asking the gateway before anything new is sent.
//! A torn last line (a crash mid-write) is ignored with a warning and cut off before the next
//! append; any other unreadable line is an error, never a guess. One process per journal: the
//! file is held under an exclusive lock while it is open for writing.

mod index;

pub use index::{Data, Index};

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::gateway::{PayoutRequest, PayoutState};
use crate::model::{GatewayKind, OrderId, Status};

/// The journal format version written in the header.
pub const FORMAT_VERSION: u32 = 1;

/// The first line of every journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub version: u32,
    pub run_id: String,
    pub gateway: GatewayKind,
    /// The sheet's file name as given when the journal was created.
    pub sheet: String,
    /// SHA-256 of the sheet's bytes when the journal was created.
    pub sheet_sha256: String,
    pub created_at: String,
}

/// Where a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Create,
    Lookup,
    Status,
    Webhook,
}

/// One sheet row as the results ledger shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRow {
    pub line: u64,
    /// The original cells, in column order.
    pub cells: Vec<String>,
    /// The row's order id (None when the row is invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// Why the row is invalid, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub amount: Option<rust_decimal::Decimal>,
    /// The fee the quote showed for this row.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub quoted_fee: Option<rust_decimal::Decimal>,
}

/// The sheet as of a run: what `status` and `report` lay the results over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetSnapshot {
    pub columns: Vec<String>,
    pub rows: Vec<SnapshotRow>,
    pub sheet_sha256: String,
}

/// One journal line after the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A request for this order is about to leave (written and fsync'd first).
    Intent {
        order_id: OrderId,
        /// The sheet line when it was sent.
        line: u64,
        /// `plan::fields_digest` of the row when it was sent.
        digest: String,
        request: PayoutRequest,
        at: String,
    },
    /// The gateway has the order and says this about it.
    Result {
        order_id: OrderId,
        source: Source,
        state: PayoutState,
        at: String,
    },
    /// The gateway refused the order for good (validation, unsupported, AML refusal at create).
    Refused {
        order_id: OrderId,
        error: String,
        at: String,
    },
    /// The gateway certainly did not apply the request (429, auth refusal, or a lookup that
    /// answered "does not exist"): the order may be sent again.
    NotApplied {
        order_id: OrderId,
        reason: String,
        at: String,
    },
    /// A try to learn the outcome failed; the order stays in doubt.
    Unresolved {
        order_id: OrderId,
        error: String,
        at: String,
    },
    /// The sheet as read by a run (written when it differs from the last one).
    Sheet { snapshot: SheetSnapshot, at: String },
}

impl Event {
    /// The order an event is about (none for a sheet snapshot).
    pub fn order_id(&self) -> Option<&OrderId> {
        match self {
            Event::Intent { order_id, .. }
            | Event::Result { order_id, .. }
            | Event::Refused { order_id, .. }
            | Event::NotApplied { order_id, .. }
            | Event::Unresolved { order_id, .. } => Some(order_id),
            Event::Sheet { .. } => None,
        }
    }
}

/// A request as the journal holds it after replay: its JSON text (already checked to be one
/// JSON value), decoded only when it is needed — to re-send an in-doubt order or to describe
/// an edited row. Replay of a large journal never builds the requests it does not use.
#[derive(Debug, Clone)]
pub struct StoredRequest(Box<serde_json::value::RawValue>);

impl StoredRequest {
    /// The stored form of a request.
    pub fn of(req: &PayoutRequest) -> StoredRequest {
        // Serialising a plain struct of strings and decimals cannot fail.
        StoredRequest(serde_json::value::to_raw_value(req).expect("a PayoutRequest serialises"))
    }

    /// The request, decoded.
    pub fn decode(&self) -> Result<PayoutRequest, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for StoredRequest {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}
impl Eq for StoredRequest {}

/// What the journal knows about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: OrderId,
    /// The sheet line of the last intent.
    pub line: u64,
    /// The payout-fields digest of the last intent.
    pub digest: String,
    /// The last request sent (what a re-send must repeat exactly).
    pub request: StoredRequest,
    /// `InDoubt`, `NotSent` (certainly not applied), or the gateway's mapped status.
    pub status: Status,
    /// The latest gateway answer.
    pub state: Option<PayoutState>,
    /// The last refusal or resolution error.
    pub error: Option<String>,
    /// The last event time.
    pub updated_at: String,
}

/// Progress order of statuses: a status never moves to a lower rank.
fn rank(s: Status) -> u8 {
    match s {
        Status::Invalid | Status::NotSent => 0,
        Status::InDoubt => 1,
        Status::Pending => 2,
        Status::Completed | Status::Failed | Status::Cancelled => 3,
    }
}

/// What an event does to an order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Intent,
    Result(Status),
    Refused,
    NotApplied,
    Unresolved,
}

/// Whether a gateway answer is older news than what the order already has.
fn result_is_stale(current: Status, answered: Status) -> bool {
    rank(answered) < rank(current) || (current.is_final() && answered != current)
}

/// Sent (or about to be) but with no definite answer: a refusal or "not applied" still counts.
fn unanswered(s: Status) -> bool {
    rank(s) <= rank(Status::InDoubt)
}

/// The one status rule, shared by full records and the replay index. Statuses never move
/// backwards: a late or stale answer cannot turn a final order into a pending one, nor an
/// accepted order back into one that may be re-sent.
pub fn next_status(current: Status, step: Step) -> Status {
    match step {
        Step::Intent if rank(current) < rank(Status::InDoubt) => Status::InDoubt,
        Step::Result(answered) if !result_is_stale(current, answered) => answered,
        Step::Refused if unanswered(current) => Status::Failed,
        Step::NotApplied if unanswered(current) => Status::NotSent,
        _ => current,
    }
}

impl OrderRecord {
    /// A record from its first intent.
    pub fn from_intent(
        order_id: OrderId,
        line: u64,
        digest: String,
        request: StoredRequest,
        at: String,
    ) -> OrderRecord {
        OrderRecord {
            order_id,
            line,
            digest,
            request,
            status: next_status(Status::NotSent, Step::Intent),
            state: None,
            error: None,
            updated_at: at,
        }
    }

    /// The last request sent, decoded.
    pub fn decoded_request(&self) -> Result<PayoutRequest, JournalError> {
        self.request.decode().map_err(|e| JournalError::BadRequest {
            order_id: self.order_id.clone(),
            message: e.to_string(),
        })
    }

    /// Applies an intent: the order is in doubt until an answer arrives (unless the gateway
    /// already has it — a 2328 re-POST of an accepted order changes nothing).
    pub fn apply_intent(&mut self, line: u64, digest: String, request: StoredRequest, at: String) {
        self.line = line;
        self.digest = digest;
        self.request = request;
        self.updated_at = at;
        self.status = next_status(self.status, Step::Intent);
    }

    /// Applies one event (see `next_status` for the status rule).
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Intent {
                line,
                digest,
                request,
                at,
                ..
            } => self.apply_intent(line, digest, StoredRequest::of(&request), at),
            Event::Result { state, at, .. } => {
                if result_is_stale(self.status, state.status) {
                    // Keep the status, but learn ids we did not have.
                    if let Some(old) = &mut self.state {
                        if old.gateway_id.is_none() {
                            old.gateway_id = state.gateway_id;
                        }
                    }
                    return;
                }
                self.updated_at = at;
                let mut merged = state;
                if let Some(old) = self.state.take() {
                    merged.gateway_id = merged.gateway_id.or(old.gateway_id);
                    merged.txid = merged.txid.or(old.txid);
                    merged.merchant_amount = merged.merchant_amount.or(old.merchant_amount);
                    merged.network_amount = merged.network_amount.or(old.network_amount);
                    merged.fee = merged.fee.or(old.fee);
                }
                self.status = next_status(self.status, Step::Result(merged.status));
                self.error.clone_from(&merged.error);
                self.state = Some(merged);
            }
            Event::Refused { error, at, .. } => {
                self.updated_at = at;
                if unanswered(self.status) {
                    self.error = Some(error);
                }
                self.status = next_status(self.status, Step::Refused);
            }
            Event::NotApplied { reason, at, .. } => {
                self.updated_at = at;
                if unanswered(self.status) {
                    self.error = Some(reason);
                }
                self.status = next_status(self.status, Step::NotApplied);
            }
            Event::Unresolved { error, at, .. } => {
                self.updated_at = at;
                if self.status == Status::InDoubt {
                    self.error = Some(error);
                }
            }
            Event::Sheet { .. } => {}
        }
    }
}

/// Everything replay learned.
#[derive(Debug, Clone)]
pub struct Replay {
    pub header: Header,
    /// Every order that ever had an intent (records decoded on demand).
    pub orders: Index,
    /// The last sheet snapshot written.
    pub sheet: Option<SheetSnapshot>,
    /// Non-fatal findings (a torn last line).
    pub warnings: Vec<String>,
    /// Length of the file up to the end of its last complete line.
    pub valid_len: u64,
    /// Number of events read.
    pub events: u64,
}

/// A journal problem. Everything here stops the command (exit 2): the journal is never guessed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path} is in use by another payrun process (only one may hold it)")]
    Locked { path: PathBuf },
    #[error("journal {path}, line {line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("journal: the request journaled for order {order_id} is unreadable: {message}")]
    BadRequest { order_id: OrderId, message: String },
    #[error("journal {path} belongs to {what} '{found}', not '{expected}'; use --ledger to pick another journal or --run-id to match")]
    Mismatch {
        path: PathBuf,
        what: &'static str,
        found: String,
        expected: String,
    },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Now, as an RFC 3339 UTC timestamp with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The per-variant shapes of event lines, for decoding without serde's buffering of
/// internally tagged enums (which copies every line into a generic tree first).
mod lines {
    use super::*;

    #[derive(Deserialize)]
    pub struct Intent {
        pub order_id: OrderId,
        pub line: u64,
        pub digest: String,
        pub request: PayoutRequest,
        pub at: String,
    }
    /// An intent with its request kept as JSON text.
    #[derive(Deserialize)]
    pub struct IntentStored {
        pub order_id: OrderId,
        pub line: u64,
        pub digest: String,
        pub request: Box<serde_json::value::RawValue>,
        pub at: String,
    }
    #[derive(Deserialize)]
    pub struct Result {
        pub order_id: OrderId,
        pub source: Source,
        pub state: PayoutState,
        pub at: String,
    }
    #[derive(Deserialize)]
    pub struct Refused {
        pub order_id: OrderId,
        pub error: String,
        pub at: String,
    }
    #[derive(Deserialize)]
    pub struct NotApplied {
        pub order_id: OrderId,
        pub reason: String,
        pub at: String,
    }
    #[derive(Deserialize)]
    pub struct Unresolved {
        pub order_id: OrderId,
        pub error: String,
        pub at: String,
    }
}

/// Decodes one event line. payrun writes the `event` tag first, so the tag is read from the
/// line's start and the line decoded straight into its variant; any other layout (a line
/// edited by hand) goes through the generic tagged decoder.
pub fn decode_event(line: &[u8]) -> serde_json::Result<Event> {
    const PREFIX: &[u8] = b"{\"event\":\"";
    let tag = line
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.iter().position(|&b| b == b'"').map(|end| &rest[..end]));
    match tag {
        Some(b"intent") => serde_json::from_slice::<lines::Intent>(line).map(|l| Event::Intent {
            order_id: l.order_id,
            line: l.line,
            digest: l.digest,
            request: l.request,
            at: l.at,
        }),
        Some(b"result") => serde_json::from_slice::<lines::Result>(line).map(|l| Event::Result {
            order_id: l.order_id,
            source: l.source,
            state: l.state,
            at: l.at,
        }),
        Some(b"refused") => {
            serde_json::from_slice::<lines::Refused>(line).map(|l| Event::Refused {
                order_id: l.order_id,
                error: l.error,
                at: l.at,
            })
        }
        Some(b"not_applied") => {
            serde_json::from_slice::<lines::NotApplied>(line).map(|l| Event::NotApplied {
                order_id: l.order_id,
                reason: l.reason,
                at: l.at,
            })
        }
        Some(b"unresolved") => {
            serde_json::from_slice::<lines::Unresolved>(line).map(|l| Event::Unresolved {
                order_id: l.order_id,
                error: l.error,
                at: l.at,
            })
        }
        _ => serde_json::from_slice::<Event>(line),
    }
}

/// Replays journal data: the header, then the index of every order. A final unterminated line
/// is a torn write and ignored with a warning.
pub fn parse_data(path: &Path, data: Data) -> Result<Replay, JournalError> {
    let corrupt = |line: u64, message: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        line,
        message,
    };
    let bytes: &[u8] = &data;
    let complete_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut warnings = Vec::new();
    if complete_len < bytes.len() {
        warnings.push(format!(
            "journal {}: ignored a torn last line ({} bytes, a write interrupted by a crash)",
            path.display(),
            bytes.len() - complete_len
        ));
    }
    let header_end = bytes[..complete_len]
        .iter()
        .position(|&b| b == b'\n')
        .filter(|&i| i > 0)
        .ok_or_else(|| corrupt(1, "no header line".into()))?;
    let header: Header = serde_json::from_slice(&bytes[..header_end])
        .map_err(|e| corrupt(1, format!("bad header: {e}")))?;
    if header.version != FORMAT_VERSION {
        return Err(corrupt(
            1,
            format!("unsupported journal version {}", header.version),
        ));
    }
    let built = index::build(path, Arc::new(data), header_end + 1, complete_len)?;
    Ok(Replay {
        header,
        orders: built.index,
        sheet: built.sheet,
        warnings,
        valid_len: complete_len as u64,
        events: built.events,
    })
}

/// An event in the form a record takes it: an intent with its request stored as JSON text, or
/// any other event.
pub(crate) enum Stored {
    Intent {
        order_id: OrderId,
        line: u64,
        digest: String,
        request: StoredRequest,
        at: String,
    },
    Answer(Event),
}

impl From<Event> for Stored {
    fn from(ev: Event) -> Stored {
        match ev {
            Event::Intent {
                order_id,
                line,
                digest,
                request,
                at,
            } => Stored::Intent {
                order_id,
                line,
                digest,
                request: StoredRequest::of(&request),
                at,
            },
            other => Stored::Answer(other),
        }
    }
}

/// Decodes one journal line for a record. An intent's request is checked to be a request but
/// kept as the line's own JSON text, not written back out.
pub(crate) fn decode_stored(line: &[u8]) -> serde_json::Result<Stored> {
    if line.starts_with(br#"{"event":"intent""#) {
        let l: lines::IntentStored = serde_json::from_slice(line)?;
        let request = StoredRequest(l.request);
        request.decode()?;
        return Ok(Stored::Intent {
            order_id: l.order_id,
            line: l.line,
            digest: l.digest,
            request,
            at: l.at,
        });
    }
    decode_event(line).map(Stored::from)
}

/// Folds one event into an order's record: an intent starts (or renews) it; any other event
/// for an order with no intent yet is ignored. The one place events become records.
pub(crate) fn fold(rec: &mut Option<OrderRecord>, ev: Stored) {
    match ev {
        Stored::Intent {
            order_id,
            line,
            digest,
            request,
            at,
        } => match rec {
            Some(r) => r.apply_intent(line, digest, request, at),
            None => {
                *rec = Some(OrderRecord::from_intent(
                    order_id, line, digest, request, at,
                ))
            }
        },
        Stored::Answer(ev) => {
            if let Some(r) = rec {
                r.apply(ev);
            }
        }
    }
}

/// Folds one event into the records. An answer for an order with no intent (a webhook or
/// lookup for an order this journal never sent) is ignored.
pub fn apply(orders: &mut HashMap<OrderId, OrderRecord>, ev: Event) {
    let Some(id) = ev.order_id().cloned() else {
        return;
    };
    let mut rec = orders.remove(&id);
    fold(&mut rec, ev.into());
    if let Some(rec) = rec {
        orders.insert(id, rec);
    }
}

/// Reads a journal without locking it (for reports).
pub fn read(path: &Path) -> Result<Replay, JournalError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    parse_data(path, Data::Owned(bytes))
}

/// A journal open for appending, held under an exclusive lock.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Opens (or creates) the journal at `path` under an exclusive lock and replays it.
    /// A new journal gets `header`; an existing one must have the same run id and gateway.
    /// A torn last line is cut off so the next append starts on a fresh line.
    pub fn open(path: &Path, header: &Header) -> Result<(Journal, Replay), JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err(path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::Locked { path: path.into() })
            }
            Err(TryLockError::Error(e)) => return Err(io_err(path)(e)),
        }
        let len = file.metadata().map_err(io_err(path))?.len();
        // SAFETY: the file is held under payrun's exclusive lock, and payrun only appends to a
        // journal (the one truncation, of a torn tail, happens below and only cuts bytes past
        // every line the index refers to). Another program writing the journal while payrun
        // holds it is outside the contract.
        let data = if len == 0 {
            Data::Owned(Vec::new())
        } else {
            Data::Mapped(unsafe { memmap2::Mmap::map(&file) }.map_err(io_err(path))?)
        };
        let fresh = data.iter().all(|b| b.is_ascii_whitespace());
        let replay = if fresh {
            // New (or empty after a crash before the header was complete): write the header.
            // The mapping goes before the file it maps is truncated.
            drop(data);
            file.set_len(0).map_err(io_err(path))?;
            file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
            let mut line = serde_json::to_vec(header).map_err(|e| JournalError::Corrupt {
                path: path.into(),
                line: 1,
                message: e.to_string(),
            })?;
            line.push(b'\n');
            file.write_all(&line).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
            sync_dir(path);
            parse_data(path, Data::Owned(line))?
        } else {
            let replay = parse_data(path, data)?;
            if replay.header.run_id != header.run_id {
                return Err(JournalError::Mismatch {
                    path: path.into(),
                    what: "run id",
                    found: replay.header.run_id,
                    expected: header.run_id.clone(),
                });
            }
            if replay.header.gateway != header.gateway {
                return Err(JournalError::Mismatch {
                    path: path.into(),
                    what: "gateway",
                    found: replay.header.gateway.to_string(),
                    expected: header.gateway.to_string(),
                });
            }
            if replay.valid_len < len {
                file.set_len(replay.valid_len).map_err(io_err(path))?;
                file.sync_all().map_err(io_err(path))?;
            }
            replay
        };
        file.seek(SeekFrom::End(0)).map_err(io_err(path))?;
        Ok((
            Journal {
                file,
                path: path.to_path_buf(),
            },
            replay,
        ))
    }

    /// Opens an existing journal under the lock (for status and webhooks), no header check.
    pub fn open_existing(path: &Path) -> Result<(Journal, Replay), JournalError> {
        if !path.is_file() {
            return Err(JournalError::Io {
                path: path.into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such journal"),
            });
        }
        let header = read_header(path)?;
        Journal::open(path, &header)
    }

    /// Appends events as whole lines in one write and fsyncs them before returning.
    pub fn append(&mut self, events: &[Event]) -> Result<(), JournalError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(events.len() * 256);
        for ev in events {
            serde_json::to_writer(&mut buf, ev).map_err(|e| JournalError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            })?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf).map_err(io_err(&self.path))?;
        self.file.sync_data().map_err(io_err(&self.path))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads only the header line of a journal.
pub fn read_header(path: &Path) -> Result<Header, JournalError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = f.read(&mut chunk).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.contains(&b'\n') || buf.len() > 1 << 20 {
            break;
        }
    }
    let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    serde_json::from_slice(&buf[..end]).map_err(|e| JournalError::Corrupt {
        path: path.into(),
        line: 1,
        message: format!("bad header: {e}"),
    })
}

/// fsyncs the directory holding `path`, so a newly created file survives a crash.
pub fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(test)]
mod tests;
