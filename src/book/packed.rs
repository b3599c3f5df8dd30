//! Finished runs packed into compressed blocks (schema 13; docs/book.md, "Packed runs").
//!
//! When a run is finished, its order-level data leaves the per-row tables in one transaction:
//! its `orders` rows, the `rows` (sheet lines) naming them and every event of the run that
//! carries an order id move into `packed_blocks`, each block holding up to [`BLOCK_ORDERS`]
//! orders, grouped per order (its order row with its seal, its sheet rows, its events with
//! seq, kind, the exact JSON body and the stored 32-byte hash) in a length-prefixed framing,
//! zstd-compressed with a checksum. Run-level events (`sheet`, `approval`, `approval_used`)
//! stay in `events`. Two small live tables find packed data without decoding everything:
//! `packed_order_ids` (account, first 8 bytes of SHA-256 of the order id, block: an order id
//! is found across the account; a hit is confirmed by decoding the block) and `packed_ranges`
//! (each stretch of consecutive seqs a block holds: an event is found by its seq, and every
//! event is read in seq order).
//!
//! Nothing the chain or the seals cover changes: each event keeps its own hash (checked
//! against its predecessor's wherever that lives), each order row its seal. A block that does
//! not decode is refused naming the run and the block ("is unreadable"). Triggers count a block,
//! a lookup row or a range edited or deleted outside payrun in `meta.edits_outside`; payrun's
//! own packing and unpacking restore the count inside their transaction.
//!
//! A write to a packed order moves its block back into the live tables first
//! ([`unpack_block`], same transaction; a plan saved again moves the whole run, [`unpack_run`]),
//! so every write path stays as it is; a run partly packed reads as one.

use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};

/// Orders per block: 4,096 compressed about as well as 16,384 and decode in a few ms.
pub const BLOCK_ORDERS: usize = 4096;

/// zstd level of a block: level 3 packs a block of 4,096 orders in about 40 ms to 367 B an
/// order; 9 takes three times as long for no gain, 19 gains 10 % at 170 times the time
/// (docs/book.md, "Performance").
const LEVEL: i32 = 3;

/// First byte of `packed_blocks.bytes`: the framing version, then a zstd frame.
const FORMAT: u8 = 1;

/// Start of a decoded block.
const MAGIC: &[u8; 4] = b"PRB1";

/// The `orders` columns a block keeps, in this order.
pub const ORDER_COLS: &str = "id, account, run, order_id, line, digest, request, address, recipient_key, status, state, error, updated_at, sent, last_seq, seal, first_sent_at, intent_seq, network";
/// Positions in [`ORDER_COLS`].
pub mod oc {
    pub const ID: usize = 0;
    pub const RUN: usize = 2;
    pub const ORDER_ID: usize = 3;
    pub const LINE: usize = 4;
    pub const DIGEST: usize = 5;
    pub const REQUEST: usize = 6;
    pub const ADDRESS: usize = 7;
    pub const RECIPIENT_KEY: usize = 8;
    pub const STATUS: usize = 9;
    pub const STATE: usize = 10;
    pub const ERROR: usize = 11;
    pub const UPDATED_AT: usize = 12;
    pub const SENT: usize = 13;
    pub const LAST_SEQ: usize = 14;
    pub const SEAL: usize = 15;
    pub const FIRST_SENT_AT: usize = 16;
    pub const INTENT_SEQ: usize = 17;
    pub const NETWORK: usize = 18;
    pub const LEN: usize = 19;
}
/// The `rows` columns a block keeps.
pub const ROW_COLS: &str =
    "run, line, order_id, invalid, held, currency, network, amount, quoted_fee, cells, order_row";
const ROW_LEN: usize = 11;
const ROW_CELLS: usize = 9;
/// The `events` columns a block keeps.
const EVENT_COLS: &str = "seq, account, run, order_id, kind, body, hash";

/// Schema 13: the block table, the two lookups and the triggers counting their hand edits.
pub const SCHEMA: &str = r#"
    CREATE TABLE packed_blocks(
        id INTEGER PRIMARY KEY,
        account INTEGER NOT NULL,
        run INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        orders INTEGER NOT NULL,
        first_order INTEGER NOT NULL,
        statuses TEXT NOT NULL,
        bytes BLOB NOT NULL
    );
    CREATE INDEX packed_blocks_by_run ON packed_blocks(run);
    CREATE TABLE packed_order_ids(
        account INTEGER NOT NULL,
        key INTEGER NOT NULL,
        block INTEGER NOT NULL,
        PRIMARY KEY (account, key, block)
    ) WITHOUT ROWID;
    CREATE TABLE packed_ranges(
        first_seq INTEGER PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        block INTEGER NOT NULL
    );
    CREATE TRIGGER packed_blocks_edited AFTER UPDATE ON packed_blocks BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER packed_blocks_deleted AFTER DELETE ON packed_blocks BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER packed_order_ids_edited AFTER UPDATE ON packed_order_ids BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER packed_order_ids_deleted AFTER DELETE ON packed_order_ids BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER packed_ranges_edited AFTER UPDATE ON packed_ranges BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER packed_ranges_deleted AFTER DELETE ON packed_ranges BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
"#;

/// Why a block or the data to pack could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A block that does not decode (bytes edited, cut, or not a block).
    #[error("block {block} of run {run} is unreadable ({why}): it was edited outside payrun")]
    Unreadable {
        block: i64,
        run: String,
        why: String,
    },
    /// A value of the run that does not decode (packing refuses to carry it).
    #[error("{0}")]
    Damaged(String),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// One event as a block holds it: the `events` row with its body decoded (the bytes hashed).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedEvent {
    pub seq: i64,
    pub account: i64,
    pub run: Option<i64>,
    /// `events.order_id` as stored (NULL from schema 2 on).
    pub order_col: Value,
    pub kind: String,
    /// The JSON the hash covers.
    pub body: String,
    pub hash: Vec<u8>,
}

/// One order as a block holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedOrder {
    /// The `orders` row, [`ORDER_COLS`] in order, as stored except `state`: a compressed
    /// answer is kept decoded (re-encoded when unpacked).
    pub order: Vec<Value>,
    /// The sheet rows naming the order ([`ROW_COLS`]), cells decoded.
    pub rows: Vec<Vec<Value>>,
    /// Its events, in seq order.
    pub events: Vec<PackedEvent>,
}

impl PackedOrder {
    fn int(&self, i: usize) -> Option<i64> {
        match &self.order[i] {
            Value::Integer(n) => Some(*n),
            _ => None,
        }
    }
    fn text(&self, i: usize) -> Option<&str> {
        match &self.order[i] {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
    /// The order row id.
    pub fn id(&self) -> i64 {
        self.int(oc::ID).unwrap_or(0)
    }
    pub fn order_id(&self) -> &str {
        self.text(oc::ORDER_ID).unwrap_or("")
    }
    pub fn status(&self) -> &str {
        self.text(oc::STATUS).unwrap_or("")
    }
    pub fn sent(&self) -> bool {
        self.int(oc::SENT).unwrap_or(0) != 0
    }
    pub fn address(&self) -> &str {
        self.text(oc::ADDRESS).unwrap_or("")
    }
    pub fn network(&self) -> Option<&str> {
        self.text(oc::NETWORK)
    }
    pub fn recipient_key(&self) -> Option<&str> {
        self.text(oc::RECIPIENT_KEY)
    }
    pub fn first_sent_at(&self) -> Option<&str> {
        self.text(oc::FIRST_SENT_AT)
    }
    /// The body of this order's event `seq`, as an SQLite value (NULL: none).
    pub fn body_of(&self, seq: Option<i64>) -> Value {
        seq.and_then(|s| self.events.iter().find(|e| e.seq == s))
            .map(|e| Value::Text(e.body.clone()))
            .unwrap_or(Value::Null)
    }
}

/// A decoded block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub id: i64,
    pub account: i64,
    pub run: i64,
    pub orders: Vec<PackedOrder>,
}

impl Block {
    /// The event `seq`, when the block holds it.
    pub fn event(&self, seq: i64) -> Option<&PackedEvent> {
        self.orders
            .iter()
            .flat_map(|o| o.events.iter())
            .find(|e| e.seq == seq)
    }
    /// Every event of the block, in seq order.
    pub fn events_by_seq(&self) -> Vec<&PackedEvent> {
        let mut all: Vec<&PackedEvent> = self.orders.iter().flat_map(|o| &o.events).collect();
        all.sort_unstable_by_key(|e| e.seq);
        all
    }
}

/// `packed_order_ids.key` of an order id: the first 8 bytes of its SHA-256, big-endian.
pub fn order_key(order_id: &str) -> i64 {
    let d = Sha256::digest(order_id.as_bytes());
    i64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

// ---- framing -------------------------------------------------------------------------------

const T_NULL: u8 = 0;
const T_INT: u8 = 1;
const T_REAL: u8 = 2;
const T_TEXT: u8 = 3;
const T_BLOB: u8 = 4;

fn put_varint(out: &mut Vec<u8>, n: u64) {
    let mut n = n;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_int(out: &mut Vec<u8>, n: i64) {
    put_varint(out, ((n << 1) ^ (n >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A value into `out`; a blob's bytes (seals, markers) into `side`, its length in `out`.
fn put_value(out: &mut Vec<u8>, side: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(T_NULL),
        Value::Integer(n) => {
            out.push(T_INT);
            put_int(out, *n);
        }
        Value::Real(f) => {
            out.push(T_REAL);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Text(t) => {
            out.push(T_TEXT);
            put_bytes(out, t.as_bytes());
        }
        Value::Blob(b) => {
            out.push(T_BLOB);
            put_varint(out, b.len() as u64);
            side.extend_from_slice(b);
        }
    }
}

/// A cursor over a decoded block (`b`, its binary section `side`); every read fails cleanly
/// on bytes that end early.
struct Reader<'a> {
    b: &'a [u8],
    side: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.b.split_first().ok_or("it ends early")?;
            self.b = rest;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("a number is too long".into())
    }
    fn int(&mut self) -> Result<i64, String> {
        let z = self.varint()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }
    fn len(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.b.len())
            .ok_or_else(|| "a length runs past its end".to_string())
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.len()?;
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    /// `n` bytes of the binary section.
    fn side(&mut self, n: u64) -> Result<&'a [u8], String> {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.side.len())
            .ok_or("a binary value runs past its section")?;
        let (head, rest) = self.side.split_at(n);
        self.side = rest;
        Ok(head)
    }
    fn text(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "a text is not UTF-8".to_string())
    }
    fn value(&mut self) -> Result<Value, String> {
        let (&tag, rest) = self.b.split_first().ok_or("it ends early")?;
        self.b = rest;
        Ok(match tag {
            T_NULL => Value::Null,
            T_INT => Value::Integer(self.int()?),
            T_REAL => {
                if self.b.len() < 8 {
                    return Err("it ends early".into());
                }
                let (f, rest) = self.b.split_at(8);
                self.b = rest;
                Value::Real(f64::from_le_bytes(f.try_into().unwrap_or([0; 8])))
            }
            T_TEXT => Value::Text(self.text()?),
            T_BLOB => {
                let n = self.varint()?;
                Value::Blob(self.side(n)?.to_vec())
            }
            t => return Err(format!("unknown value tag {t}")),
        })
    }
    fn count(&mut self) -> Result<usize, String> {
        // Every item takes at least one byte: a count over what is left is a lie.
        self.len()
    }
}

/// The framing of a block's orders (before compression): `PRB1`, the length of the binary
/// section and the section (every seal, marker and event hash, in order: 32-byte hashes
/// compress as they are, and kept apart they leave the text's statistics alone), then the
/// account, the run and per order its row values, its sheet rows and its events.
fn frame(account: i64, run: i64, orders: &[PackedOrder]) -> Vec<u8> {
    let mut out = Vec::with_capacity(orders.len() * 2048);
    let mut side = Vec::with_capacity(orders.len() * 128);
    put_int(&mut out, account);
    put_int(&mut out, run);
    put_varint(&mut out, orders.len() as u64);
    for o in orders {
        for v in &o.order {
            put_value(&mut out, &mut side, v);
        }
        put_varint(&mut out, o.rows.len() as u64);
        for r in &o.rows {
            for v in r {
                put_value(&mut out, &mut side, v);
            }
        }
        put_varint(&mut out, o.events.len() as u64);
        for e in &o.events {
            put_int(&mut out, e.seq);
            put_int(&mut out, e.account);
            put_value(
                &mut out,
                &mut side,
                &e.run.map(Value::Integer).unwrap_or(Value::Null),
            );
            put_value(&mut out, &mut side, &e.order_col);
            put_bytes(&mut out, e.kind.as_bytes());
            put_bytes(&mut out, e.body.as_bytes());
            put_varint(&mut out, e.hash.len() as u64);
            side.extend_from_slice(&e.hash);
        }
    }
    let mut framed = Vec::with_capacity(out.len() + side.len() + 16);
    framed.extend_from_slice(MAGIC);
    put_bytes(&mut framed, &side);
    framed.extend_from_slice(&out);
    framed
}

fn unframe(id: i64, b: &[u8]) -> Result<Block, String> {
    let rest = b.strip_prefix(&MAGIC[..]).ok_or("it is not a block")?;
    let mut head = Reader { b: rest, side: &[] };
    let side = head.bytes()?;
    let mut r = Reader { b: head.b, side };
    let account = r.int()?;
    let run = r.int()?;
    let n = r.count()?;
    let mut orders = Vec::with_capacity(n);
    for _ in 0..n {
        let order = (0..oc::LEN)
            .map(|_| r.value())
            .collect::<Result<Vec<_>, _>>()?;
        let rows = (0..r.count()?)
            .map(|_| (0..ROW_LEN).map(|_| r.value()).collect())
            .collect::<Result<Vec<_>, _>>()?;
        let events = (0..r.count()?)
            .map(|_| {
                Ok(PackedEvent {
                    seq: r.int()?,
                    account: r.int()?,
                    run: match r.value()? {
                        Value::Integer(n) => Some(n),
                        _ => None,
                    },
                    order_col: r.value()?,
                    kind: r.text()?,
                    body: r.text()?,
                    hash: {
                        let n = r.varint()?;
                        r.side(n)?.to_vec()
                    },
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        orders.push(PackedOrder {
            order,
            rows,
            events,
        });
    }
    if !r.b.is_empty() || !r.side.is_empty() {
        return Err("bytes follow its last order".into());
    }
    Ok(Block {
        id,
        account,
        run,
        orders,
    })
}

/// `packed_blocks.bytes` of a block's orders.
pub fn encode_block(account: i64, run: i64, orders: &[PackedOrder]) -> Vec<u8> {
    encode_block_at(account, run, orders, LEVEL)
}

/// [`encode_block`] at zstd level `level` (the probe measures levels with it).
pub fn encode_block_at(account: i64, run: i64, orders: &[PackedOrder], level: i32) -> Vec<u8> {
    let framed = frame(account, run, orders);
    let mut out = vec![FORMAT];
    let frame = zstd::bulk::Compressor::new(level)
        .and_then(|mut c| {
            c.include_checksum(true)?;
            c.compress(&framed)
        })
        .unwrap_or_default();
    out.extend_from_slice(&frame);
    out
}

/// Decodes `packed_blocks.bytes` (block `id`); the account and run the row names must be the
/// ones inside.
pub fn decode_block(id: i64, account: i64, run: i64, bytes: &[u8]) -> Result<Block, String> {
    let (&format, frame) = bytes.split_first().ok_or("it is empty")?;
    if format != FORMAT {
        return Err(format!("unknown block format {format}"));
    }
    let framed = zstd::stream::decode_all(frame).map_err(|e| e.to_string())?;
    let block = unframe(id, &framed)?;
    if block.account != account || block.run != run {
        return Err("its account or run is not the one its row names".into());
    }
    Ok(block)
}

// ---- reading -------------------------------------------------------------------------------

fn run_name(conn: &Connection, run: i64) -> String {
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
pub fn request_json(o: &PackedOrder) -> Result<String, super::codec::DecodeError> {
    let named = matches!(&o.order[oc::REQUEST], Value::Blob(b) if b.as_slice() == [0]);
    let body = if named {
        o.body_of(o.int(oc::INTENT_SEQ))
    } else {
        Value::Null
    };
    super::codec::order_request((&o.order[oc::REQUEST]).into(), (&body).into())
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
pub fn state_json(o: &PackedOrder) -> Result<Option<String>, super::codec::DecodeError> {
    let named = matches!(&o.order[oc::STATE], Value::Blob(b) if b.as_slice() == [0]);
    let body = if named {
        o.body_of(o.int(oc::LAST_SEQ))
    } else {
        Value::Null
    };
    super::codec::order_state((&o.order[oc::STATE]).into(), (&body).into())
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
pub fn snapshot_row(r: &[Value], o: &PackedOrder) -> (u64, (super::SnapshotRow, Option<String>)) {
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
            super::SnapshotRow {
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

// ---- packing -------------------------------------------------------------------------------

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
    match super::codec::decode_str(stored) {
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
        let body = match super::codec::decode_str((&body).into()) {
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
    let body = super::codec::decode(stored.into()).map_err(|e| {
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
            order[oc::STATE] = super::codec::encode(t);
        }
        ins_order.execute(rusqlite::params_from_iter(order.iter()))?;
        for r in &o.rows {
            let mut row = r.clone();
            if let Value::Text(t) = &row[ROW_CELLS] {
                row[ROW_CELLS] = super::codec::encode(t);
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
                super::codec::encode(&e.body),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: i64, order_id: &str) -> PackedOrder {
        let mut order = vec![Value::Null; oc::LEN];
        order[oc::ID] = Value::Integer(id);
        order[oc::ORDER_ID] = Value::Text(order_id.into());
        order[oc::SEAL] = Value::Blob(vec![7; 16]);
        order[oc::STATE] = Value::Blob(vec![0]);
        order[oc::LAST_SEQ] = Value::Integer(-3);
        PackedOrder {
            order,
            rows: vec![vec![Value::Real(1.5); ROW_LEN]],
            events: vec![PackedEvent {
                seq: 9,
                account: 1,
                run: None,
                order_col: Value::Null,
                kind: "intent".into(),
                body: "{\"order_id\":\"é\"}".into(),
                hash: vec![1; 32],
            }],
        }
    }

    #[test]
    fn a_block_decodes_to_what_was_framed() {
        let orders = vec![order(1, "a"), order(i64::MAX, "b")];
        let bytes = encode_block(3, 4, &orders);
        let block = decode_block(12, 3, 4, &bytes).unwrap();
        assert_eq!(block.orders, orders);
        assert_eq!(block.id, 12);
        // Named by another run, cut short: refused. Any byte changed: refused, or (a frame
        // header flag that changes nothing) the very same orders, never others.
        assert!(decode_block(12, 3, 5, &bytes).is_err());
        assert!(decode_block(12, 3, 4, &bytes[..bytes.len() - 3]).is_err());
        let mut refused = 0;
        for i in 0..bytes.len() {
            for bit in [0x01, 0x10, 0x80] {
                let mut bad = bytes.clone();
                bad[i] ^= bit;
                match decode_block(12, 3, 4, &bad) {
                    Err(_) => refused += 1,
                    Ok(b) => assert_eq!(b.orders, orders, "byte {i}, bit {bit}"),
                }
            }
        }
        assert!(
            refused > bytes.len() * 2,
            "{refused} of {}",
            bytes.len() * 3
        );
    }

    #[test]
    fn framing_refuses_lengths_past_the_end() {
        let mut framed = frame(1, 1, &[order(1, "a")]);
        framed.truncate(framed.len() - 1);
        assert!(unframe(1, &framed).is_err());
        let mut framed = frame(1, 1, &[order(1, "a")]);
        framed.push(0);
        assert!(unframe(1, &framed).is_err());
    }
}

#[cfg(test)]
#[path = "packed_tests.rs"]
mod run_tests;
