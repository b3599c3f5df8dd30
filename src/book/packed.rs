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
//! The block's bytes are [`frame`]'s, reading them [`read`]'s, packing and unpacking
//! [`pack`]'s.
//!
//! A write to a packed order moves its block back into the live tables first
//! ([`unpack_block`], same transaction; a plan saved again moves the whole run, [`unpack_run`]),
//! so every write path stays as it is; a run partly packed reads as one.

use rusqlite::types::Value;
use sha2::{Digest, Sha256};

mod frame;
mod pack;
mod read;

pub use frame::{decode_block, encode_block, encode_block_at};
pub use pack::{pack_run, unpack_block, unpack_run, Packed};
pub use read::{
    all_blocks, block_of_seq, event_at, find_order, is_packed, last_seq, load_block, network_of,
    request_json, run_blocks, run_last_seq, snapshot_row, state_json, SeqWalk,
};

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

impl PackedEvent {
    /// Whether the stored hash is this event's hash chained to `prev` (the hash of the event
    /// before it): false for an event edited outside payrun.
    pub fn chains_from(&self, prev: &[u8]) -> bool {
        super::store::event_hash_bytes(
            prev,
            self.seq,
            self.account,
            self.run,
            self.kind.as_bytes(),
            self.body.as_bytes(),
        )[..]
            == self.hash[..]
    }
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

#[cfg(test)]
mod tests;
