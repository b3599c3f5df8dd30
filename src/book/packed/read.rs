//! Reading packed runs: a block by id, an order by id across the account, an event by seq,
//! every event in seq order, and an order's values as the live readers see them.

use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};

use super::*;

pub(super) fn run_name(conn: &Connection, run: i64) -> String {
    conn.query_row("SELECT run_id FROM runs WHERE id = ?1", [run], |r| r.get(0))
        .unwrap_or_else(|_| format!("#{run}"))
}

/// Block `id`, decoded (None: no such block).
pub fn load_block(conn: &Connection, id: i64) -> Result<Option<Block>, PackError> {
    let row: Option<(i64, i64, Value)> = conn
        .prepare_cached("SELECT account, run, bytes FROM packed_blocks WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((account, run, bytes)) = row else {
        return Ok(None);
    };
    let decoded = match &bytes {
        Value::Blob(b) => decode_block(id, account, run, b),
        _ => Err("it is not a blob".to_string()),
    };
    decoded.map(Some).map_err(|why| PackError::Unreadable {
        block: id,
        run: run_name(conn, run),
        why,
    })
}

/// The ids of a run's blocks, in order.
pub fn run_blocks(conn: &Connection, run: i64) -> Result<Vec<i64>, PackError> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM packed_blocks WHERE run = ?1 ORDER BY id")?;
    let ids = stmt
        .query_map([run], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// Whether the run has packed blocks.
pub fn is_packed(conn: &Connection, run: i64) -> Result<bool, PackError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM packed_blocks WHERE run = ?1)")?
        .query_row([run], |r| r.get(0))?)
}

/// The order `order_id` of `account` in a packed block: the block and the order's index in it.
pub fn find_order(
    conn: &Connection,
    account: i64,
    order_id: &str,
) -> Result<Option<(Block, usize)>, PackError> {
    let blocks: Vec<i64> = conn
        .prepare_cached("SELECT block FROM packed_order_ids WHERE account = ?1 AND key = ?2")?
        .query_map(params![account, order_key(order_id)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in blocks {
        if let Some(block) = load_block(conn, id)? {
            if let Some(i) = block.orders.iter().position(|o| o.order_id() == order_id) {
                return Ok(Some((block, i)));
            }
        }
    }
    Ok(None)
}

/// The block holding packed event `seq` (found through `packed_ranges`), decoded.
pub fn block_of_seq(conn: &Connection, seq: i64) -> Result<Option<Block>, PackError> {
    let block: Option<i64> = conn
        .prepare_cached(
            "SELECT block FROM packed_ranges WHERE first_seq <= ?1 AND last_seq >= ?1 ORDER BY first_seq DESC LIMIT 1",
        )?
        .query_row([seq], |r| r.get(0))
        .optional()?;
    match block {
        Some(block) => load_block(conn, block),
        None => Ok(None),
    }
}

/// The packed event `seq`.
pub fn event_at(conn: &Connection, seq: i64) -> Result<Option<PackedEvent>, PackError> {
    Ok(block_of_seq(conn, seq)?.and_then(|b| b.event(seq).cloned()))
}

/// The last packed event's seq (0: none). Stretches never overlap: the last one starts last.
pub fn last_seq(conn: &Connection) -> Result<i64, PackError> {
    Ok(conn
        .prepare_cached("SELECT last_seq FROM packed_ranges ORDER BY first_seq DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The last packed event of a run (0: none).
pub fn run_last_seq(conn: &Connection, run: i64) -> Result<i64, PackError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(last_seq), 0) FROM packed_blocks WHERE run = ?1")?
        .query_row([run], |r| r.get(0))?)
}

/// Every packed event in seq order, read a stretch at a time (`packed_ranges`): a block is
/// decoded when a stretch of it comes up, and kept while the next stretch is its own.
pub struct SeqWalk {
    ranges: std::vec::IntoIter<(i64, i64, i64)>,
    /// The current stretch: the next seq and the last.
    at: Option<(i64, i64)>,
    /// The block being read, with its events' positions sorted by seq.
    block: Option<(Block, Vec<(usize, usize)>)>,
}

impl SeqWalk {
    /// Starts a walk over every packed event of the book.
    pub fn new(conn: &Connection) -> Result<SeqWalk, PackError> {
        let ranges: Vec<(i64, i64, i64)> = conn
            .prepare("SELECT first_seq, last_seq, block FROM packed_ranges ORDER BY first_seq")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(SeqWalk {
            ranges: ranges.into_iter(),
            at: None,
            block: None,
        })
    }

    /// The seq of the next event, without reading it (None: the walk is over).
    pub fn peek_seq(&mut self, conn: &Connection) -> Result<Option<i64>, PackError> {
        if self.at.is_none() {
            let Some((first, last, block)) = self.ranges.next() else {
                return Ok(None);
            };
            if self.block.as_ref().map(|(b, _)| b.id) != Some(block) {
                let Some(b) = load_block(conn, block)? else {
                    return Err(PackError::Damaged(format!(
                        "events #{first} to #{last} are packed in block {block}, which is missing: removed outside payrun"
                    )));
                };
                let mut idx: Vec<(usize, usize)> = b
                    .orders
                    .iter()
                    .enumerate()
                    .flat_map(|(i, o)| (0..o.events.len()).map(move |j| (i, j)))
                    .collect();
                idx.sort_unstable_by_key(|&(i, j)| b.orders[i].events[j].seq);
                self.block = Some((b, idx));
            }
            self.at = Some((first, last));
        }
        Ok(self.at.map(|(next, _)| next))
    }

    /// The next event in seq order.
    pub fn next(&mut self, conn: &Connection) -> Result<Option<PackedEvent>, PackError> {
        let Some(seq) = self.peek_seq(conn)? else {
            return Ok(None);
        };
        let (_, last) = self.at.unwrap_or((seq, seq));
        self.at = (seq < last).then_some((seq + 1, last));
        let found = self.block.as_ref().and_then(|(b, idx)| {
            let k = idx.partition_point(|&(i, j)| b.orders[i].events[j].seq < seq);
            idx.get(k)
                .map(|&(i, j)| &b.orders[i].events[j])
                .filter(|e| e.seq == seq)
                .cloned()
        });
        match found {
            Some(e) => Ok(Some(e)),
            None => Err(PackError::Damaged(format!(
                "event #{seq} is missing from the block its range names: edited outside payrun"
            ))),
        }
    }
}

/// The request JSON of a packed order (its intent's, when the row names it), as
/// `codec::order_request` reads a live row.
pub fn request_json(o: &PackedOrder) -> Result<String, crate::book::codec::DecodeError> {
    let named = matches!(&o.order[oc::REQUEST], Value::Blob(b) if b.as_slice() == [0]);
    let body = if named {
        o.body_of(o.int(oc::INTENT_SEQ))
    } else {
        Value::Null
    };
    crate::book::codec::order_request((&o.order[oc::REQUEST]).into(), (&body).into())
}

/// The network of a packed order: `orders.network`, else its request's (rows from before
/// schema 8).
pub fn network_of(o: &PackedOrder) -> String {
    o.network()
        .map(str::to_string)
        .or_else(|| {
            let r = request_json(o).ok()?;
            serde_json::from_str::<serde_json::Value>(&r)
                .ok()?
                .get("network")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// The answer JSON of a packed order (its last event's state, when the row names it), as
/// `codec::order_state` reads a live row.
pub fn state_json(o: &PackedOrder) -> Result<Option<String>, crate::book::codec::DecodeError> {
    let named = matches!(&o.order[oc::STATE], Value::Blob(b) if b.as_slice() == [0]);
    let body = if named {
        o.body_of(o.int(oc::LAST_SEQ))
    } else {
        Value::Null
    };
    crate::book::codec::order_state((&o.order[oc::STATE]).into(), (&body).into())
}

/// Every block id of the book (of one account), in the order of their first order row.
pub fn all_blocks(conn: &Connection, account: Option<i64>) -> Result<Vec<i64>, PackError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM packed_blocks WHERE ?1 IS NULL OR account = ?1 ORDER BY first_order, id",
    )?;
    let ids = stmt
        .query_map([account], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// A sheet row a block holds ([`ROW_COLS`]) as the snapshot shows it, with its held reason;
/// and its line.
pub fn snapshot_row(
    r: &[Value],
    o: &PackedOrder,
) -> (u64, (crate::book::SnapshotRow, Option<String>)) {
    let text = |i: usize| match r.get(i) {
        Some(Value::Text(t)) => Some(t.clone()),
        _ => None,
    };
    let line = match r.get(1) {
        Some(Value::Integer(n)) => (*n).max(0) as u64,
        _ => 0,
    };
    let order_id = match r.get(10) {
        Some(Value::Integer(_)) => Some(o.order_id().to_string()),
        _ => text(2),
    };
    let dec = |s: Option<String>| s.and_then(|s| s.parse().ok());
    let cells = text(ROW_CELLS)
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or_default();
    (
        line,
        (
            crate::book::SnapshotRow {
                line,
                cells,
                order_id: order_id.map(crate::model::OrderId),
                invalid: text(3),
                currency: text(5),
                network: text(6),
                amount: dec(text(7)),
                quoted_fee: dec(text(8)),
            },
            text(4),
        ),
    )
}
