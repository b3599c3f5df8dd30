//! `payrun book verify` and `payrun book export`: the whole hash chain checked from the first
//! event, every order's row checked against the fold of its own events, and every event
//! written out as JSON Lines with its hash.

use std::collections::HashMap;
use std::io::Write;

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::events::{Event, OrderRecord};
use super::store::{event_hash_bytes, genesis, Book};
use super::BookError;
use crate::model::Status;

/// What `book verify` found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Orders checked.
    pub orders: u64,
    /// The first broken link or disagreement, when there is one.
    pub first_problem: Option<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.first_problem.is_none()
    }
}

/// One exported event.
#[derive(Debug, Serialize)]
struct Exported<'a> {
    seq: i64,
    account: i64,
    run: Option<i64>,
    hash: String,
    #[serde(flatten)]
    event: &'a serde_json::Value,
}

/// A refusal's place, for the report.
fn event_problem(e: BookError) -> String {
    match e {
        BookError::Tampered { place, .. } => place,
        other => other.to_string(),
    }
}

impl Book {
    /// Checks the `runs` table against the chain (an account's runs, or every run): each run a
    /// `sheet` event names still has its row, and that row's sheet path, SHA-256 and payouts
    /// digest are what its latest `sheet` event recorded. `run` asks this before it picks a
    /// run: a runs row edited or deleted by hand would make a paid sheet look new, and it would
    /// be paid again. Found through the partial index of sheet events (schema 12), so it reads
    /// one event per time a plan was saved, not the whole chain; the events' own hashes are
    /// `verify`'s to check.
    ///
    /// Errors: `BookError::Tampered` naming the run and the event.
    pub fn check_runs_against_chain(&self, account: Option<i64>) -> Result<(), BookError> {
        // run row id → (seq, sheet SHA-256, path, payouts digest) of its latest sheet event.
        let mut latest: HashMap<i64, (i64, String, String, Option<String>)> = HashMap::new();
        for s in self.sheets_read(account)? {
            latest.insert(s.run, (s.seq, s.sha256, s.path, s.payouts));
        }
        if latest.is_empty() {
            return Ok(());
        }
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT run_id, sheet_sha256, sheet_path, payouts_sha256 FROM runs WHERE id = ?1",
            )
            .map_err(|e| self.sql_err(e))?;
        let mut runs: Vec<_> = latest.into_iter().collect();
        runs.sort_by_key(|(_, (seq, ..))| *seq);
        for (pk, (seq, sha, path, payouts)) in runs {
            let row: Option<(String, String, String, Option<String>)> = stmt
                .query_row([pk], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()
                .map_err(|e| self.sql_err(e))?;
            let tampered = |place: String| BookError::Tampered {
                path: self.path().to_path_buf(),
                place,
            };
            let Some((run_id, row_sha, row_path, row_payouts)) = row else {
                return Err(tampered(format!(
                    "event #{seq} records the sheet of a run the runs table no longer has \
                     (row {pk}): a run was deleted"
                )));
            };
            let payouts_differ = payouts.is_some() && row_payouts != payouts;
            if row_sha != sha || row_path != path || payouts_differ {
                return Err(tampered(format!(
                    "run {run_id}'s row in the runs table does not match its sheet event #{seq} \
                     (the sheet it paid): its path, hash or payouts were edited"
                )));
            }
        }
        Ok(())
    }

    /// Walks every event from the first, checking each link, and then every order row against
    /// the fold of its events. Stops at the first problem and names it.
    pub fn verify(&self) -> Result<VerifyReport, BookError> {
        let conn = self.conn();
        let mut prev = genesis(self.id()).to_vec();
        let mut expected_seq = 1i64;
        let mut events = 0u64;
        // (account, order id) → the status its events fold to.
        let mut folded: HashMap<(i64, String), (Status, bool)> = HashMap::new();
        let mut problem = None;
        self.each_chain_event(&conn, |item| {
            let ChainEvent {
                seq,
                account,
                run,
                kind,
                body,
                hash,
            } = match item {
                Ok(e) => e,
                Err(e) => {
                    problem = Some(event_problem(e));
                    return Ok(false);
                }
            };
            if seq != expected_seq {
                problem = Some(format!(
                    "event #{expected_seq} is missing (the next one is #{seq})"
                ));
                return Ok(false);
            }
            if event_hash_bytes(&prev, seq, account, run, kind.as_bytes(), &body)[..] != hash[..] {
                problem = Some(format!(
                    "event #{seq} ({kind}) does not match its hash: edited outside payrun"
                ));
                return Ok(false);
            }
            events += 1;
            let ev: Event = match serde_json::from_slice(&body) {
                Ok(ev) => ev,
                Err(e) => {
                    problem = Some(format!("event #{seq} is unreadable: {e}"));
                    return Ok(false);
                }
            };
            if let Some(id) = ev.order_id() {
                let key = (account, id.0.clone());
                let entry = folded.entry(key).or_insert((Status::NotSent, false));
                if !matches!(ev, Event::Intent { .. }) && !entry.1 {
                    problem = Some(format!(
                        "event #{seq} answers order {id}, which has no intent before it"
                    ));
                    return Ok(false);
                }
                let mut rec =
                    OrderRecord::planned(0, String::new(), Default::default(), String::new());
                rec.status = entry.0;
                rec.sent = entry.1;
                rec.apply(&ev);
                *entry = (rec.status, rec.sent);
            }
            prev = hash;
            expected_seq += 1;
            Ok(true)
        })?;
        if problem.is_none() {
            let head: String = conn
                .query_row("SELECT value FROM meta WHERE key = 'head_seq'", [], |r| {
                    r.get(0)
                })
                .map_err(|e| self.sql_err(e))?;
            if head != (expected_seq - 1).to_string() {
                problem = Some(format!(
                    "the chain ends at event #{}, but the book's head says #{head}: events were removed from the end",
                    expected_seq - 1
                ));
            }
        }
        let mut orders = 0u64;
        if problem.is_none() {
            let mut stmt = conn
                .prepare("SELECT account, order_id, status, sent FROM orders ORDER BY id")
                .map_err(|e| self.sql_err(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                    ))
                })
                .map_err(|e| self.sql_err(e))?;
            for r in rows {
                let (account, id, status, sent) = r.map_err(|e| self.sql_err(e))?;
                orders += 1;
                let want = folded
                    .remove(&(account, id.clone()))
                    .unwrap_or((Status::NotSent, false));
                if Status::parse(&status) != Some(want.0) || sent != want.1 {
                    problem = Some(format!(
                        "order {id} says {status}, but its events say {}",
                        want.0
                    ));
                    break;
                }
            }
            drop(stmt);
            // Orders of packed runs, from their blocks.
            let blocks = super::packed::all_blocks(&conn, None).map_err(|e| self.pack_err(e))?;
            'blocks: for id in blocks {
                if problem.is_some() {
                    break;
                }
                let block = match super::packed::load_block(&conn, id) {
                    Ok(Some(b)) => b,
                    Ok(None) => continue,
                    Err(e) => {
                        problem = Some(event_problem(self.pack_err(e)));
                        break;
                    }
                };
                for o in &block.orders {
                    orders += 1;
                    let want = folded
                        .remove(&(block.account, o.order_id().to_string()))
                        .unwrap_or((Status::NotSent, false));
                    if Status::parse(o.status()) != Some(want.0) || o.sent() != want.1 {
                        problem = Some(format!(
                            "order {} says {}, but its events say {}",
                            o.order_id(),
                            o.status(),
                            want.0
                        ));
                        break 'blocks;
                    }
                }
            }
            if problem.is_none() {
                if let Some(((_, id), _)) = folded.into_iter().next() {
                    problem = Some(format!("order {id} has events but no order row"));
                }
            }
        }
        drop(conn);
        if problem.is_none() {
            if let Err(e) = self.check_runs_against_chain(None) {
                problem = Some(event_problem(e));
            }
        }
        if problem.is_none() {
            // Every row's seal too.
            let runs = self.runs(None)?;
            for run in runs {
                if let Err(e) = self.run_orders(run.account, run.pk) {
                    problem = Some(e.to_string());
                    break;
                }
                if let Err(e) = self.run_counts(&run) {
                    problem = Some(e.to_string());
                    break;
                }
                // A packed run: its blocks' lookup rows and status counts.
                let packed =
                    super::packed::is_packed(&self.conn(), run.pk).map_err(|e| self.pack_err(e))?;
                if packed {
                    if let Err(e) = self.verify_run_events(run.pk, &run.run_id) {
                        problem = Some(e.to_string());
                        break;
                    }
                }
            }
        }
        if problem.is_none() {
            // Whole again (an edit undone, or one that changed nothing the chain covers): the
            // quick answers that rely on the triggers' count may be given again.
            self.conn()
                .execute("DELETE FROM meta WHERE key = 'edits_outside'", [])
                .map_err(|e| self.sql_err(e))?;
        }
        Ok(VerifyReport {
            events,
            orders,
            first_problem: problem,
        })
    }

    /// Writes every event, oldest first, one JSON object a line: `seq`, `account`, `run`,
    /// `hash` (hex) and the event's own fields. Returns the number written.
    pub fn export(&self, out: &mut dyn Write) -> Result<u64, BookError> {
        let conn = self.conn();
        let mut n = 0;
        let io = |source| BookError::Io {
            path: self.path().into(),
            source,
        };
        self.each_chain_event(&conn, |item| {
            let e = item?;
            let event: serde_json::Value =
                serde_json::from_slice(&e.body).map_err(|e| BookError::Encode(e.to_string()))?;
            let line = Exported {
                seq: e.seq,
                account: e.account,
                run: e.run,
                hash: hex::encode(&e.hash),
                event: &event,
            };
            serde_json::to_writer(&mut *out, &line).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
            n += 1;
            Ok(true)
        })?;
        Ok(n)
    }
}

/// One event of the chain, live or packed: what its hash covers, and the hash stored with it.
struct ChainEvent {
    seq: i64,
    account: i64,
    run: Option<i64>,
    kind: String,
    /// The event's JSON, decoded from how it is stored.
    body: Vec<u8>,
    hash: Vec<u8>,
}

impl Book {
    /// Calls `each` with every event of the book in seq order, the live ones and the packed
    /// ones merged (`book verify` and `book export` read the same log). An event that cannot
    /// be read (a body or block that does not decode, a block missing) is passed as its error
    /// and ends the walk; `each` returns whether to go on. Errors of the walk itself (the
    /// database) are returned.
    fn each_chain_event(
        &self,
        conn: &rusqlite::Connection,
        mut each: impl FnMut(Result<ChainEvent, BookError>) -> Result<bool, BookError>,
    ) -> Result<(), BookError> {
        let mut stmt = conn
            .prepare("SELECT seq, account, run, kind, body, hash FROM events ORDER BY seq")
            .map_err(|e| self.sql_err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.sql_err(e))?;
        let mut next_live = || -> Result<Option<LiveEvent>, BookError> {
            rows.next()
                .map_err(|e| self.sql_err(e))?
                .map(live_event)
                .transpose()
                .map_err(|e| self.sql_err(e))
        };
        let mut walk = super::packed::SeqWalk::new(conn).map_err(|e| self.pack_err(e))?;
        let mut live = next_live()?;
        loop {
            let packed_seq = match walk.peek_seq(conn) {
                Ok(s) => s,
                Err(e) => {
                    each(Err(self.pack_err(e)))?;
                    return Ok(());
                }
            };
            let take_live = match (&live, packed_seq) {
                (None, None) => return Ok(()),
                (Some(l), Some(p)) => l.0 <= p,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            let event = if take_live {
                let Some((seq, account, run, kind, stored, hash)) = live.take() else {
                    return Ok(());
                };
                live = next_live()?;
                self.event_body(seq, &kind, (&stored).into())
                    .map(|body| ChainEvent {
                        seq,
                        account,
                        run,
                        kind,
                        body: body.into_owned(),
                        hash,
                    })
            } else {
                match walk.next(conn) {
                    Ok(Some(e)) => Ok(ChainEvent {
                        seq: e.seq,
                        account: e.account,
                        run: e.run,
                        kind: e.kind,
                        body: e.body.into_bytes(),
                        hash: e.hash,
                    }),
                    Ok(None) => return Ok(()),
                    Err(e) => Err(self.pack_err(e)),
                }
            };
            let failed = event.is_err();
            if !each(event)? || failed {
                return Ok(());
            }
        }
    }
}

/// An event body as stored, its bytes kept whatever they are (text edited by hand may not be
/// UTF-8: `codec` says so, naming the event).
enum Stored {
    Null,
    Text(Vec<u8>),
    Blob(Vec<u8>),
    Other,
}

impl<'a> From<&'a Stored> for rusqlite::types::ValueRef<'a> {
    fn from(s: &'a Stored) -> Self {
        use rusqlite::types::ValueRef;
        match s {
            Stored::Null => ValueRef::Null,
            Stored::Text(b) => ValueRef::Text(b),
            Stored::Blob(b) => ValueRef::Blob(b),
            Stored::Other => ValueRef::Integer(0),
        }
    }
}

/// A live event row as stored: seq, account, run, kind, body (as stored), hash.
type LiveEvent = (i64, i64, Option<i64>, String, Stored, Vec<u8>);

fn live_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<LiveEvent> {
    use rusqlite::types::ValueRef;
    let body = match r.get_ref(4)? {
        ValueRef::Null => Stored::Null,
        ValueRef::Text(b) => Stored::Text(b.to_vec()),
        ValueRef::Blob(b) => Stored::Blob(b.to_vec()),
        _ => Stored::Other,
    };
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, body, r.get(5)?))
}
