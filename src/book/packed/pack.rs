//! Packing a finished run into blocks, and moving a block or a run back into the live tables,
//! each inside the caller's transaction, `meta.edits_outside` put back as it was.

use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::read::run_name;
use super::*;

/// Reads `meta.edits_outside` (None: not there).
fn edits_outside(tx: &Connection) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "SELECT value FROM meta WHERE key = 'edits_outside'",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// Puts `meta.edits_outside` back as it was before payrun's own deletes.
fn restore_edits_outside(tx: &Connection, before: Option<String>) -> rusqlite::Result<()> {
    match before {
        None => tx.execute("DELETE FROM meta WHERE key = 'edits_outside'", [])?,
        Some(v) => tx.execute(
            "INSERT INTO meta(key, value) VALUES ('edits_outside', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
            [v],
        )?,
    };
    Ok(())
}

fn decoded(stored: ValueRef<'_>, what: impl Fn() -> String) -> Result<Value, PackError> {
    match crate::book::codec::decode_str(stored) {
        Ok(Some(t)) => Ok(Value::Text(t)),
        Ok(None) => Ok(Value::Null),
        Err(e) => Err(PackError::Damaged(format!(
            "{} is unreadable ({e}): edited outside payrun",
            what()
        ))),
    }
}

#[derive(serde::Deserialize)]
struct Named {
    order_id: Option<String>,
}

/// What [`pack_run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    pub blocks: u64,
    pub orders: u64,
    pub events: u64,
}

/// The stretches of consecutive values in `sorted` (deduplicated): `(first, last)` each.
fn stretches(sorted: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &v in sorted {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == v => *last = v,
            _ => out.push((v, v)),
        }
    }
    out
}

/// An event read for packing: seq, account, run, `events.order_id`, kind, body as stored,
/// hash.
type RawEvent = (i64, i64, Option<i64>, Value, String, Value, Vec<u8>);

/// One order read for packing, its values as stored (decoded and framed on another thread).
struct RawOrder {
    order: Vec<Value>,
    rows: Vec<Vec<Value>>,
    events: Vec<RawEvent>,
}

/// A raw order as a block holds it: its answer, cells and event bodies decoded, events of
/// another order whose id shares its key left out.
fn packed_order(raw: RawOrder, run_id: &str) -> Result<PackedOrder, PackError> {
    let mut order = raw.order;
    let order_id = match &order[oc::ORDER_ID] {
        Value::Text(t) => t.clone(),
        _ => String::new(),
    };
    // A compressed answer is kept decoded (a marker stays as it is).
    if matches!(&order[oc::STATE], Value::Blob(b) if b.len() > 1) {
        order[oc::STATE] = decoded((&order[oc::STATE]).into(), || {
            format!("the answer of order {order_id}")
        })?;
    }
    let mut rows = raw.rows;
    for row in &mut rows {
        let line = match &row[1] {
            Value::Integer(n) => *n,
            _ => 0,
        };
        row[ROW_CELLS] = decoded((&row[ROW_CELLS]).into(), || {
            format!("line {line} of run {run_id}: its cells")
        })?;
    }
    let mut events = Vec::with_capacity(raw.events.len());
    for (seq, account, run, order_col, kind, body, hash) in raw.events {
        let body = match crate::book::codec::decode_str((&body).into()) {
            Ok(Some(b)) => b,
            Ok(None) => String::new(),
            Err(e) => {
                return Err(PackError::Damaged(format!(
                    "event #{seq} of run {run_id} is unreadable ({e}): edited outside payrun"
                )))
            }
        };
        // Another order whose id shares the key: not this one's.
        match serde_json::from_str::<Named>(&body) {
            Ok(Named { order_id: Some(o) }) if o == order_id => {}
            _ => continue,
        }
        events.push(PackedEvent {
            seq,
            account,
            run,
            order_col,
            kind,
            body,
            hash,
        });
    }
    events.sort_unstable_by_key(|e| e.seq);
    Ok(PackedOrder {
        order,
        rows,
        events,
    })
}

/// The key of the order id an event body carries (None: a run-level event).
fn event_key(seq: i64, stored: &Value, run_id: &str) -> Result<Option<i64>, PackError> {
    let body = crate::book::codec::decode(stored.into()).map_err(|e| {
        PackError::Damaged(format!(
            "event #{seq} of run {run_id} is unreadable ({e}): edited outside payrun"
        ))
    })?;
    Ok(
        body.and_then(|b| match serde_json::from_slice::<Named>(&b) {
            Ok(Named { order_id: Some(id) }) => Some(order_key(&id)),
            _ => None,
        }),
    )
}

/// Packs run `run` (a finished run: the caller says so) inside `tx`: its orders, the sheet rows
/// naming them and its events carrying an order id move into blocks. An event whose order the
/// run does not have stays live. Returns what moved.
///
/// Memory: 16 bytes an event of the run, and two blocks' data. This thread reads; a second
/// one decodes, frames and compresses the block read before.
pub fn pack_run(tx: &Transaction<'_>, run: i64) -> Result<Packed, PackError> {
    use rayon::prelude::*;
    let before = edits_outside(tx)?;
    let run_id = run_name(tx, run);
    // The run's events carrying an order id: (key of the order id, seq), sorted. Bodies are
    // read in chunks and decoded on every core.
    let mut keyed: Vec<(i64, i64)> = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT seq, body FROM events WHERE run = ?1")?;
        let mut rows = stmt.query([run])?;
        let mut chunk: Vec<(i64, Value)> = Vec::with_capacity(8192);
        loop {
            let next = rows.next()?;
            if let Some(r) = next {
                chunk.push((r.get(0)?, r.get(1)?));
            }
            if chunk.len() == 8192 || (next.is_none() && !chunk.is_empty()) {
                let keys = chunk
                    .par_iter()
                    .map(|(seq, body)| Ok(event_key(*seq, body, &run_id)?.map(|k| (k, *seq))))
                    .collect::<Result<Vec<_>, PackError>>()?;
                keyed.extend(keys.into_iter().flatten());
                chunk.clear();
            }
            if next.is_none() {
                break;
            }
        }
    }
    keyed.sort_unstable();
    // Sheet rows naming an order of the run: (order row, line), sorted.
    let mut named_rows: Vec<(i64, i64)> = tx
        .prepare("SELECT order_row, line FROM rows WHERE run = ?1 AND order_row IS NOT NULL")?
        .query_map([run], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    named_rows.sort_unstable();
    let mut ids: Vec<i64> = tx
        .prepare("SELECT id FROM orders WHERE run = ?1")?
        .query_map([run], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    let account: i64 = tx.query_row("SELECT account FROM runs WHERE id = ?1", [run], |r| {
        r.get(0)
    })?;
    let mut out = Packed {
        blocks: 0,
        orders: 0,
        events: 0,
    };
    let mut moved_seqs: Vec<i64> = Vec::new();
    // A block's orders, sheet rows and events are read by ranges (ids, lines and seqs that
    // follow each other are read in one pass of the b-tree, not one search each).
    let mut order_stmt = tx.prepare_cached(&format!(
        "SELECT {ORDER_COLS} FROM orders WHERE id BETWEEN ?1 AND ?2 AND run = ?3"
    ))?;
    let mut row_stmt = tx.prepare_cached(&format!(
        "SELECT {ROW_COLS} FROM rows WHERE run = ?1 AND line BETWEEN ?2 AND ?3"
    ))?;
    let mut event_stmt = tx.prepare_cached(&format!(
        "SELECT {EVENT_COLS} FROM events WHERE seq BETWEEN ?1 AND ?2"
    ))?;
    let mut read_block = |chunk: &[i64]| -> Result<Vec<RawOrder>, PackError> {
        use std::collections::HashMap;
        let (Some(&lo), Some(&hi)) = (chunk.first(), chunk.last()) else {
            return Ok(Vec::new());
        };
        let mut orders: HashMap<i64, Vec<Value>> = HashMap::with_capacity(chunk.len());
        {
            let mut q = order_stmt.query(params![lo, hi, run])?;
            while let Some(r) = q.next()? {
                let order = (0..oc::LEN)
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Value::Integer(id) = order[oc::ID] {
                    orders.insert(id, order);
                }
            }
        }
        // What each order needs: its events' seqs (by its key) and its sheet lines.
        let mut wanted_seqs: Vec<i64> = Vec::new();
        let mut wanted_lines: Vec<i64> = Vec::new();
        for id in chunk {
            if let Some(Value::Text(t)) = orders.get(id).map(|o| &o[oc::ORDER_ID]) {
                let key = order_key(t);
                let from = keyed.partition_point(|&(k, _)| k < key);
                wanted_seqs.extend(
                    keyed[from..]
                        .iter()
                        .take_while(|&&(k, _)| k == key)
                        .map(|&(_, s)| s),
                );
            }
            let from = named_rows.partition_point(|&(o, _)| o < *id);
            wanted_lines.extend(
                named_rows[from..]
                    .iter()
                    .take_while(|&&(o, _)| o == *id)
                    .map(|&(_, l)| l),
            );
        }
        wanted_seqs.sort_unstable();
        wanted_seqs.dedup();
        wanted_lines.sort_unstable();
        wanted_lines.dedup();
        let mut events: HashMap<i64, RawEvent> = HashMap::with_capacity(wanted_seqs.len());
        for (a, b) in stretches(&wanted_seqs) {
            let mut q = event_stmt.query(params![a, b])?;
            while let Some(r) = q.next()? {
                let e: RawEvent = (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                );
                events.insert(e.0, e);
            }
        }
        let mut rows: HashMap<i64, Vec<Value>> = HashMap::with_capacity(wanted_lines.len());
        for (a, b) in stretches(&wanted_lines) {
            let mut q = row_stmt.query(params![run, a, b])?;
            while let Some(r) = q.next()? {
                let row = (0..ROW_LEN)
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Value::Integer(line) = row[1] {
                    rows.insert(line, row);
                }
            }
        }
        let mut raws = Vec::with_capacity(chunk.len());
        for id in chunk {
            let Some(order) = orders.remove(id) else {
                continue;
            };
            let key = match &order[oc::ORDER_ID] {
                Value::Text(t) => order_key(t),
                _ => 0,
            };
            let from = named_rows.partition_point(|&(o, _)| o < *id);
            let own_rows = named_rows[from..]
                .iter()
                .take_while(|&&(o, _)| o == *id)
                .filter_map(|&(_, line)| rows.remove(&line))
                .collect();
            let from = keyed.partition_point(|&(k, _)| k < key);
            // Two orders sharing a key both get the events; each keeps its own when decoded.
            let own_events = keyed[from..]
                .iter()
                .take_while(|&&(k, _)| k == key)
                .filter_map(|&(_, seq)| events.get(&seq).cloned())
                .collect();
            raws.push(RawOrder {
                order,
                rows: own_rows,
                events: own_events,
            });
        }
        Ok(raws)
    };
    type Encoded = Result<(Vec<PackedOrder>, Vec<u8>), PackError>;
    std::thread::scope(|scope| -> Result<(), PackError> {
        let (to_worker, work) = std::sync::mpsc::sync_channel::<Vec<RawOrder>>(1);
        let (to_main, done) = std::sync::mpsc::sync_channel::<Encoded>(1);
        let run_id = &run_id;
        scope.spawn(move || {
            for raws in work {
                let encoded = raws
                    .into_iter()
                    .map(|r| packed_order(r, run_id))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|orders| {
                        let bytes = encode_block(account, run, &orders);
                        (orders, bytes)
                    });
                if to_main.send(encoded).is_err() {
                    return;
                }
            }
        });
        let mut chunks = ids.chunks(BLOCK_ORDERS);
        let mut in_flight = 0;
        if let Some(c) = chunks.next() {
            let _ = to_worker.send(read_block(c)?);
            in_flight += 1;
        }
        while in_flight > 0 {
            // The next block is read while the worker encodes this one.
            let next = chunks.next().map(&mut read_block).transpose()?;
            let (orders, bytes) = done
                .recv()
                .map_err(|_| PackError::Damaged("the packing thread stopped".into()))??;
            in_flight -= 1;
            if let Some(raws) = next {
                let _ = to_worker.send(raws);
                in_flight += 1;
            }
            insert_block(tx, account, run, &orders, bytes)?;
            out.blocks += 1;
            out.orders += orders.len() as u64;
            for o in &orders {
                out.events += o.events.len() as u64;
                moved_seqs.extend(o.events.iter().map(|e| e.seq));
            }
        }
        Ok(())
    })?;
    drop((order_stmt, row_stmt, event_stmt));
    moved_seqs.sort_unstable();
    moved_seqs.dedup();
    {
        // By stretches of consecutive seqs: one b-tree pass each.
        let mut del = tx.prepare_cached("DELETE FROM events WHERE seq BETWEEN ?1 AND ?2")?;
        for (a, b) in stretches(&moved_seqs) {
            del.execute([a, b])?;
        }
    }
    tx.execute(
        "DELETE FROM rows WHERE run = ?1 AND order_row IS NOT NULL",
        [run],
    )?;
    tx.execute("DELETE FROM orders WHERE run = ?1", [run])?;
    restore_edits_outside(tx, before)?;
    Ok(out)
}

/// Writes one block of `orders` with its lookup rows and seq ranges; returns its id.
fn insert_block(
    tx: &Transaction<'_>,
    account: i64,
    run: i64,
    orders: &[PackedOrder],
    bytes: Vec<u8>,
) -> Result<i64, PackError> {
    let mut seqs: Vec<i64> = orders
        .iter()
        .flat_map(|o| o.events.iter().map(|e| e.seq))
        .collect();
    seqs.sort_unstable();
    let mut statuses: std::collections::BTreeMap<&str, u64> = Default::default();
    for o in orders {
        *statuses.entry(o.status()).or_default() += 1;
    }
    let statuses = serde_json::to_string(&statuses).unwrap_or_else(|_| "{}".into());
    tx.prepare_cached(
        "INSERT INTO packed_blocks(account, run, first_seq, last_seq, orders, first_order, statuses, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        account,
        run,
        seqs.first().copied().unwrap_or(0),
        seqs.last().copied().unwrap_or(0),
        orders.len() as i64,
        orders.iter().map(PackedOrder::id).min().unwrap_or(0),
        statuses,
        bytes
    ])?;
    let block = tx.last_insert_rowid();
    let mut keys: Vec<i64> = orders.iter().map(|o| order_key(o.order_id())).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut ins =
        tx.prepare_cached("INSERT INTO packed_order_ids(account, key, block) VALUES (?1, ?2, ?3)")?;
    for k in keys {
        ins.execute(params![account, k, block])?;
    }
    let mut ins = tx.prepare_cached(
        "INSERT INTO packed_ranges(first_seq, last_seq, block) VALUES (?1, ?2, ?3)",
    )?;
    let mut i = 0;
    while i < seqs.len() {
        let mut j = i;
        while j + 1 < seqs.len() && seqs[j + 1] == seqs[j] + 1 {
            j += 1;
        }
        ins.execute(params![seqs[i], seqs[j], block])?;
        i = j + 1;
    }
    Ok(block)
}

/// Moves a packed run back into the live tables inside `tx` (values compressed again as the
/// live writers store them), removing its blocks, lookup rows and ranges. Returns the orders
/// moved back (0: the run was not packed).
pub fn unpack_run(tx: &Transaction<'_>, run: i64) -> Result<u64, PackError> {
    let mut n = 0;
    for id in run_blocks(tx, run)? {
        n += unpack_block(tx, id)?;
    }
    Ok(n)
}

/// Moves one block back into the live tables inside `tx` (a write to one of its orders
/// follows: the rest of its run stays packed). Returns the orders moved back.
pub fn unpack_block(tx: &Transaction<'_>, id: i64) -> Result<u64, PackError> {
    let Some(block) = load_block(tx, id)? else {
        return Ok(0);
    };
    let before = edits_outside(tx)?;
    let mut ins_order = tx.prepare_cached(&format!(
        "INSERT INTO orders({ORDER_COLS}) VALUES ({})",
        ["?"; oc::LEN].join(", ")
    ))?;
    let mut ins_row = tx.prepare_cached(&format!(
        "INSERT INTO rows({ROW_COLS}) VALUES ({})",
        ["?"; ROW_LEN].join(", ")
    ))?;
    let mut ins_event = tx.prepare_cached(&format!(
        "INSERT INTO events({EVENT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?;
    let mut del_key = tx.prepare_cached(
        "DELETE FROM packed_order_ids WHERE account = ?1 AND key = ?2 AND block = ?3",
    )?;
    for o in &block.orders {
        let mut order = o.order.clone();
        if let Value::Text(t) = &order[oc::STATE] {
            order[oc::STATE] = crate::book::codec::encode(t);
        }
        ins_order.execute(rusqlite::params_from_iter(order.iter()))?;
        for r in &o.rows {
            let mut row = r.clone();
            if let Value::Text(t) = &row[ROW_CELLS] {
                row[ROW_CELLS] = crate::book::codec::encode(t);
            }
            ins_row.execute(rusqlite::params_from_iter(row.iter()))?;
        }
        for e in &o.events {
            ins_event.execute(params![
                e.seq,
                e.account,
                e.run,
                e.order_col,
                e.kind,
                crate::book::codec::encode(&e.body),
                e.hash
            ])?;
        }
        del_key.execute(params![block.account, order_key(o.order_id()), id])?;
    }
    tx.prepare_cached("DELETE FROM packed_ranges WHERE block = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM packed_blocks WHERE id = ?1")?
        .execute([id])?;
    restore_edits_outside(tx, before)?;
    Ok(block.orders.len() as u64)
}
