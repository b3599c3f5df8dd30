//! The bytes of a packed block: a length-prefixed framing of its orders (row values, sheet
//! lines, events), the binary values apart, in a zstd frame with a checksum.

use rusqlite::types::Value;

use super::*;

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
