//! The replay index: what `run` needs to know about every order to decide what to send — its
//! status, sheet line and fields digest — built from a light, allocation-free reading of each
//! line, and the place of every line of the order in the journal bytes. A full `OrderRecord`
//! (request, gateway answers) is decoded only when something asks for it, so resuming a journal
//! of a million finished orders stays cheap in time and memory.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::{
    decode_event, decode_stored, fold, next_status, Event, JournalError, OrderRecord,
    SheetSnapshot, Step,
};
use crate::model::{OrderId, Status};

/// The journal bytes replay read: in memory, or mapped from the locked file.
pub enum Data {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Owned(v) => v,
            Data::Mapped(m) => m,
        }
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Data({} bytes)", self.len())
    }
}

/// Where one line of an order sits.
#[derive(Debug, Clone, Copy)]
struct LineRef {
    start: usize,
    len: usize,
    /// The line number in the file (header = 1).
    number: u64,
}

#[derive(Debug, Clone)]
struct Slot {
    status: Status,
    line: u64,
    digest: Box<str>,
    lines: Vec<LineRef>,
}

/// Every order of a journal, by id.
#[derive(Debug, Clone)]
pub struct Index {
    data: Arc<Data>,
    path: PathBuf,
    /// Keyed with FxHash: the keys are payrun's own order ids from its own file, so there is
    /// no flooding to defend against, and hashing is a visible share of replay.
    slots: FxHashMap<OrderId, Slot>,
}

#[derive(Deserialize)]
struct LiteState {
    status: Status,
}

/// The fields of a line that replay needs; everything else is skipped unread.
#[derive(Deserialize)]
struct Lite<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    order_id: Option<Cow<'a, str>>,
    #[serde(default)]
    line: Option<u64>,
    #[serde(borrow, default)]
    digest: Option<Cow<'a, str>>,
    #[serde(default)]
    state: Option<LiteState>,
}

/// One line, read lightly.
enum Read<'a> {
    Order {
        id: Cow<'a, str>,
        step: Step,
        line: Option<u64>,
        digest: Option<Cow<'a, str>>,
        at: LineRef,
    },
    Sheet(SheetSnapshot),
}

fn read_line<'a>(bytes: &'a [u8], at: LineRef) -> Result<Read<'a>, String> {
    let l: Lite<'a> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let step = match l.event.as_ref() {
        "intent" => Step::Intent,
        "result" => Step::Result(l.state.ok_or("a result without state.status")?.status),
        "refused" => Step::Refused,
        "not_applied" => Step::NotApplied,
        "unresolved" => Step::Unresolved,
        "sheet" => {
            return match decode_event(bytes).map_err(|e| e.to_string())? {
                Event::Sheet { snapshot, .. } => Ok(Read::Sheet(snapshot)),
                _ => Err("not a sheet event".into()),
            }
        }
        other => return Err(format!("unknown event '{other}'")),
    };
    let id = l.order_id.ok_or("an event without order_id")?;
    if step == Step::Intent && (l.line.is_none() || l.digest.is_none()) {
        return Err("an intent without line or digest".into());
    }
    Ok(Read::Order {
        id,
        step,
        line: l.line,
        digest: l.digest,
        at,
    })
}

/// What building the index found besides the orders.
pub struct Built {
    pub index: Index,
    pub sheet: Option<SheetSnapshot>,
    pub events: u64,
}

/// Indexes every event line after the header. `body_start` is where line 2 begins and
/// `body_end` the end of the last complete line. Lines are read in parallel windows and folded
/// in file order.
pub fn build(
    path: &Path,
    data: Arc<Data>,
    body_start: usize,
    body_end: usize,
) -> Result<Built, JournalError> {
    let bytes: &[u8] = &data;
    // Every non-empty line after the header, with its number.
    let mut refs = Vec::with_capacity((body_end - body_start) / 256 + 1);
    let mut pos = body_start;
    // Line 1 is the header, so the first body line is line 2.
    for (number, nl) in (2u64..).zip(memchr::memchr_iter(b'\n', &bytes[body_start..body_end])) {
        let end = body_start + nl;
        if end > pos {
            refs.push(LineRef {
                start: pos,
                len: end - pos,
                number,
            });
        }
        pos = end + 1;
    }
    let corrupt = |number: u64, message: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        line: number,
        message,
    };
    const CHUNK: usize = 8 * 1024;
    const WINDOW: usize = CHUNK * 16;
    let mut slots: FxHashMap<OrderId, Slot> =
        FxHashMap::with_capacity_and_hasher(refs.len() / 2 + 1, Default::default());
    let mut sheet = None;
    let mut events = 0u64;
    for window in refs.chunks(WINDOW) {
        let read: Vec<Result<Vec<Read<'_>>, JournalError>> = window
            .par_chunks(CHUNK)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|r| {
                        read_line(&bytes[r.start..r.start + r.len], *r)
                            .map_err(|m| corrupt(r.number, format!("unreadable event: {m}")))
                    })
                    .collect()
            })
            .collect();
        for chunk in read {
            for ev in chunk? {
                events += 1;
                match ev {
                    Read::Sheet(s) => sheet = Some(s),
                    Read::Order {
                        id,
                        step,
                        line,
                        digest,
                        at,
                    } => match slots.get_mut(id.as_ref()) {
                        Some(slot) => {
                            slot.status = next_status(slot.status, step);
                            if step == Step::Intent {
                                slot.line = line.unwrap_or(slot.line);
                                if let Some(d) = digest {
                                    slot.digest = d.as_ref().into();
                                }
                            }
                            slot.lines.push(at);
                        }
                        // Answers for an order with no intent are ignored, as in `journal::apply`.
                        None if step != Step::Intent => {}
                        None => {
                            slots.insert(
                                OrderId(id.into_owned()),
                                Slot {
                                    status: next_status(Status::NotSent, Step::Intent),
                                    line: line.unwrap_or(0),
                                    digest: digest.as_deref().unwrap_or("").into(),
                                    lines: {
                                        // An intent and an answer or two: room for both.
                                        let mut v = Vec::with_capacity(3);
                                        v.push(at);
                                        v
                                    },
                                },
                            );
                        }
                    },
                }
            }
        }
    }
    Ok(Built {
        index: Index {
            data,
            path: path.to_path_buf(),
            slots,
        },
        sheet,
        events,
    })
}

impl Index {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The order's status (None: the journal never sent it).
    pub fn status(&self, id: &OrderId) -> Option<Status> {
        self.slots.get(id).map(|s| s.status)
    }

    /// The payout-fields digest of the order's last intent.
    pub fn digest(&self, id: &OrderId) -> Option<&str> {
        self.slots.get(id).map(|s| s.digest.as_ref())
    }

    /// Every order with its status.
    pub fn statuses(&self) -> impl Iterator<Item = (&OrderId, Status)> {
        self.slots.iter().map(|(id, s)| (id, s.status))
    }

    /// The ids of the orders whose status satisfies `keep`.
    pub fn ids_where(&self, keep: impl Fn(Status) -> bool) -> Vec<OrderId> {
        self.slots
            .iter()
            .filter(|(_, s)| keep(s.status))
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn materialize(&self, id: &OrderId, slot: &Slot) -> Result<OrderRecord, JournalError> {
        let mut rec: Option<OrderRecord> = None;
        for r in &slot.lines {
            let ev = decode_stored(&self.data[r.start..r.start + r.len]).map_err(|e| {
                JournalError::Corrupt {
                    path: self.path.clone(),
                    line: r.number,
                    message: format!("unreadable event: {e}"),
                }
            })?;
            fold(&mut rec, ev);
        }
        let rec = rec.ok_or_else(|| JournalError::Corrupt {
            path: self.path.clone(),
            line: slot.lines.first().map_or(0, |r| r.number),
            message: format!("order {id} has no readable intent"),
        })?;
        debug_assert_eq!(
            rec.status, slot.status,
            "index and record disagree for {id}"
        );
        Ok(rec)
    }

    /// The full record of one order.
    pub fn record(&self, id: &OrderId) -> Result<Option<OrderRecord>, JournalError> {
        self.slots
            .get(id)
            .map(|s| self.materialize(id, s))
            .transpose()
    }

    /// Every full record (decoded in parallel).
    pub fn records(&self) -> Result<HashMap<OrderId, OrderRecord>, JournalError> {
        self.slots
            .par_iter()
            .map(|(id, s)| self.materialize(id, s).map(|r| (id.clone(), r)))
            .collect()
    }
}
