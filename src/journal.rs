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

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
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

/// What the journal knows about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: OrderId,
    /// The sheet line of the last intent.
    pub line: u64,
    /// The payout-fields digest of the last intent.
    pub digest: String,
    /// The last request sent (what a re-send must repeat exactly).
    pub request: PayoutRequest,
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

impl OrderRecord {
    /// Applies one event. Statuses never move backwards: a late or stale answer cannot turn a
    /// final order into a pending one, nor an accepted order back into one that may be re-sent.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Intent {
                line,
                digest,
                request,
                at,
                ..
            } => {
                self.line = *line;
                self.digest.clone_from(digest);
                self.request.clone_from(request);
                self.updated_at.clone_from(at);
                if rank(self.status) < rank(Status::InDoubt) {
                    self.status = Status::InDoubt;
                }
            }
            Event::Result { state, at, .. } => {
                self.updated_at.clone_from(at);
                let keep_status = rank(state.status) < rank(self.status)
                    || (self.status.is_final() && state.status != self.status);
                if keep_status {
                    // Stale answer: keep the status, but learn ids we did not have.
                    if let Some(old) = &mut self.state {
                        if old.gateway_id.is_none() {
                            old.gateway_id.clone_from(&state.gateway_id);
                        }
                    }
                    return;
                }
                let mut merged = state.clone();
                if let Some(old) = &self.state {
                    merged.gateway_id = merged.gateway_id.or_else(|| old.gateway_id.clone());
                    merged.txid = merged.txid.or_else(|| old.txid.clone());
                    merged.merchant_amount = merged.merchant_amount.or(old.merchant_amount);
                    merged.network_amount = merged.network_amount.or(old.network_amount);
                    merged.fee = merged.fee.or(old.fee);
                }
                self.status = merged.status;
                self.state = Some(merged);
                self.error = self.state.as_ref().and_then(|s| s.error.clone());
            }
            Event::Refused { error, at, .. } => {
                self.updated_at.clone_from(at);
                if rank(self.status) <= rank(Status::InDoubt) {
                    self.status = Status::Failed;
                    self.error = Some(error.clone());
                }
            }
            Event::NotApplied { reason, at, .. } => {
                self.updated_at.clone_from(at);
                if rank(self.status) <= rank(Status::InDoubt) {
                    self.status = Status::NotSent;
                    self.error = Some(reason.clone());
                }
            }
            Event::Unresolved { error, at, .. } => {
                self.updated_at.clone_from(at);
                if self.status == Status::InDoubt {
                    self.error = Some(error.clone());
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
    /// One record per order that ever had an intent, by order id.
    pub orders: HashMap<OrderId, OrderRecord>,
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

/// Parses journal bytes. Complete lines are parsed in parallel chunks; a final unterminated
/// line is a torn write and ignored with a warning.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Replay, JournalError> {
    let corrupt = |line: u64, message: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        line,
        message,
    };
    let complete_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut warnings = Vec::new();
    if complete_len < bytes.len() {
        warnings.push(format!(
            "journal {}: ignored a torn last line ({} bytes, a write interrupted by a crash)",
            path.display(),
            bytes.len() - complete_len
        ));
    }
    let body = &bytes[..complete_len];
    let mut lines = body.split(|&b| b == b'\n');
    let first = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| corrupt(1, "no header line".into()))?;
    let header: Header =
        serde_json::from_slice(first).map_err(|e| corrupt(1, format!("bad header: {e}")))?;
    if header.version != FORMAT_VERSION {
        return Err(corrupt(
            1,
            format!("unsupported journal version {}", header.version),
        ));
    }
    // Split the rest into chunks of whole lines, parse chunks in parallel, apply in order.
    let rest: Vec<&[u8]> = lines.filter(|l| !l.is_empty()).collect();
    const CHUNK: usize = 16 * 1024;
    let parsed: Vec<Result<Vec<Event>, JournalError>> = rest
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(ci, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    serde_json::from_slice::<Event>(l).map_err(|e| {
                        corrupt(
                            (ci * CHUNK + i + 2) as u64,
                            format!("unreadable event: {e}"),
                        )
                    })
                })
                .collect()
        })
        .collect();
    let mut orders: HashMap<OrderId, OrderRecord> = HashMap::new();
    let mut sheet = None;
    let mut events = 0u64;
    for chunk in parsed {
        for ev in chunk? {
            events += 1;
            if let Event::Sheet { snapshot, .. } = ev {
                sheet = Some(snapshot);
            } else {
                apply(&mut orders, ev);
            }
        }
    }
    Ok(Replay {
        header,
        orders,
        sheet,
        warnings,
        valid_len: complete_len as u64,
        events,
    })
}

/// Folds one event into the records (an answer for an order never intended is kept too: it can
/// only come from a webhook or lookup for an order this journal does not know, and is ignored).
pub fn apply(orders: &mut HashMap<OrderId, OrderRecord>, ev: Event) {
    let Some(id) = ev.order_id() else { return };
    match orders.get_mut(id) {
        Some(rec) => rec.apply(&ev),
        None => {
            if let Event::Intent {
                order_id,
                line,
                digest,
                request,
                at,
            } = ev
            {
                orders.insert(
                    order_id.clone(),
                    OrderRecord {
                        order_id,
                        line,
                        digest,
                        request,
                        status: Status::InDoubt,
                        state: None,
                        error: None,
                        updated_at: at,
                    },
                );
            }
        }
    }
}

/// Reads a journal without locking it (for reports).
pub fn read(path: &Path) -> Result<Replay, JournalError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    parse(path, &bytes)
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
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(path))?;
        let replay = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            // New (or empty after a crash before the header was complete): write the header.
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
            parse(path, &line)?
        } else {
            let replay = parse(path, &bytes)?;
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
            if replay.valid_len < bytes.len() as u64 {
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
