//! How the book stores JSON text compactly: event bodies (`events.body`) and the answer an order
//! row holds (`orders.state`) are zstd frames made with a dictionary the book itself carries
//! (`dictionaries` table), decoded back to the exact bytes that were written.
//!
//! `orders.state` may also be [`STATE_OF_LAST_EVENT`]: the order's answer is, byte for byte, the
//! `state` of the result event its row names (`last_seq`), which the row then does not repeat
//! ([`order_state`]). Likewise (schemas 8–10) `orders.request` may be [`REQUEST_OF_INTENT`] (the
//! `request` of the intent `intent_seq`) or [`REQUEST_PLANNED`] (in `planned_requests`), and
//! `orders.digest` [`FIELD_OF_EVENT`] (the intent's `digest`); sheet cells (`rows.cells`) are
//! compressed like event bodies.
//!
//! A stored value is either
//! - SQLite `TEXT`: the JSON itself (every value written before schema 6, and any longer than
//!   [`MAX_PLAIN`]), or
//! - SQLite `BLOB`: one byte, the dictionary id (1), then a zstd frame of the JSON without its
//!   4-byte magic number (restored on reading), with its content size and no checksum.
//!
//! Nothing about integrity changes: an event's hash and an order's seal are computed over the
//! JSON text, never over the stored bytes, so a value is checked exactly as before once decoded.
//! A stored value that does not decode (a byte flipped, a frame cut short, a size over
//! [`MAX_PLAIN`], text that is not UTF-8) is an error naming the value, never a panic; one that
//! decodes to other bytes fails its hash or seal. The dictionaries are part of the book: a
//! dictionary edited outside payrun is refused when the book opens ([`check_dictionaries`]),
//! and triggers count such an edit in `meta.edits_outside`.

use std::borrow::Cow;
use std::sync::OnceLock;

use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

/// Dictionary 1 (raw content: typical event bodies of both gateways). Stored in every book from
/// schema 6 on; never change these bytes, add a dictionary with a new id instead.
pub const DICT1: &[u8] = include_bytes!("dict1.txt");

/// The id of the dictionary new values are written with.
pub const CURRENT: u8 = 1;

/// The longest JSON text stored compressed, and so the largest a compressed value may decode
/// to (64 KiB). Longer texts (an approval of a large plan) are stored as plain `TEXT`.
pub const MAX_PLAIN: usize = 64 * 1024;

/// The zstd level values are written with. Measured on event bodies with dictionary 1: level
/// 3 takes about 9 µs an event (a commit's fsync, about 280 µs), level 6 16 µs and 6 % smaller,
/// level 19 144 µs and 8 % smaller.
const LEVEL: i32 = 3;

/// The zstd frame magic number, little-endian, which stored frames leave out.
const MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Why a stored value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("it is compressed with dictionary {0}, which this payrun does not know")]
    UnknownDictionary(u8),
    #[error("its compressed bytes do not decode: {0}")]
    Corrupt(String),
    #[error("it is not UTF-8 text")]
    NotText,
    #[error("it is neither text nor a compressed value (an SQLite {0})")]
    WrongType(&'static str),
    #[error("it names the state of its last event, which has none")]
    NoState,
    #[error("it names the request of its intent event, which has none")]
    NoRequest,
    #[error("it names its planned request (table planned_requests), which is missing")]
    NoPlannedRequest,
    #[error("it names the `{0}` of an event, which has none")]
    NoField(&'static str),
}

/// `orders.state` when the order's answer is the `state` of its last event (`last_seq`), as
/// that event's body holds it: one byte instead of the answer again.
pub const STATE_OF_LAST_EVENT: &[u8] = &[0];

/// `orders.request` (from schema 8) when the order's request is, byte for byte, the `request`
/// of the intent event its row names (`intent_seq`): one byte instead of the request again.
pub const REQUEST_OF_INTENT: &[u8] = &[0];

/// `orders.digest` (from schema 10) when the text is, unescaped, a string field of an event the
/// row names already: the `digest` of its intent (`intent_seq`, which its request names too).
pub const FIELD_OF_EVENT: &[u8] = &[0];

/// `orders.request` (from schema 8) of an order planned and not sent yet: its request is in
/// `planned_requests` (keyed by the order's row), deleted when its intent names it. The order
/// row is then written at its final size: a row that shrank in place would leave its page
/// part empty for good.
pub const REQUEST_PLANNED: &[u8] = &[1];

/// The answer (`PayoutState` JSON) an order row holds: `stored` is its `orders.state`,
/// `last_event` the body of its `last_seq` event (read only when `stored` is
/// [`STATE_OF_LAST_EVENT`]; NULL otherwise). The text is exactly what the row's seal covers.
pub fn order_state(
    stored: ValueRef<'_>,
    last_event: ValueRef<'_>,
) -> Result<Option<String>, DecodeError> {
    let body = decode(last_event);
    state_in(
        stored,
        body.as_ref().map(|b| b.as_deref()).map_err(Clone::clone),
    )
}

/// [`order_state`] with the last event's body already decoded (None: not read).
pub fn state_in(
    stored: ValueRef<'_>,
    last_body: Result<Option<&[u8]>, DecodeError>,
) -> Result<Option<String>, DecodeError> {
    if !matches!(stored, ValueRef::Blob(b) if b == STATE_OF_LAST_EVENT) {
        return decode_str(stored);
    }
    let body = last_body?.ok_or(DecodeError::NoState)?;
    match field_of(body, "state") {
        Ok(Some(raw)) => Ok(Some(raw.to_string())),
        Ok(None) => Err(DecodeError::NoState),
        Err(e) => Err(DecodeError::Corrupt(format!(
            "its last event is not JSON: {e}"
        ))),
    }
}

/// The request (`PayoutRequest` JSON) an order row holds: `stored` is its `orders.request`
/// (the JSON as text, [`REQUEST_OF_INTENT`] or [`REQUEST_PLANNED`]), `source` what it names
/// (see `REQUEST_SOURCE` in `store`): the body of its `intent_seq` event, or its
/// `planned_requests.request`; NULL otherwise. The text is exactly what the row's seal covers.
pub fn order_request(stored: ValueRef<'_>, source: ValueRef<'_>) -> Result<String, DecodeError> {
    let body = decode(source);
    request_in(
        stored,
        body.as_ref().map(|b| b.as_deref()).map_err(Clone::clone),
    )
}

/// [`order_request`] with what the row names already decoded (the intent's body, or the
/// planned request's bytes; None: not read).
pub fn request_in(
    stored: ValueRef<'_>,
    source: Result<Option<&[u8]>, DecodeError>,
) -> Result<String, DecodeError> {
    match stored {
        ValueRef::Blob(b) if b == REQUEST_OF_INTENT => {}
        ValueRef::Blob(b) if b == REQUEST_PLANNED => {
            let text = source?.ok_or(DecodeError::NoPlannedRequest)?;
            return String::from_utf8(text.to_vec()).map_err(|_| DecodeError::NotText);
        }
        _ => return decode_str(stored)?.ok_or(DecodeError::WrongType("null")),
    }
    let body = source?.ok_or(DecodeError::NoRequest)?;
    match field_of(body, "request") {
        Ok(Some(raw)) => Ok(raw.to_string()),
        Ok(None) => Err(DecodeError::NoRequest),
        Err(e) => Err(DecodeError::Corrupt(format!(
            "its intent event is not JSON: {e}"
        ))),
    }
}

/// The text an order row holds in a column that may name a string field of an event it names
/// already ([`FIELD_OF_EVENT`]): `stored` as stored, `body` that event's decoded body (None: not
/// read). The field is unescaped: the text is what was written to the row.
pub fn text_or_field(
    stored: ValueRef<'_>,
    body: Result<Option<&[u8]>, DecodeError>,
    name: &'static str,
) -> Result<String, DecodeError> {
    if !matches!(stored, ValueRef::Blob(b) if b == FIELD_OF_EVENT) {
        return decode_str(stored)?.ok_or(DecodeError::WrongType("null"));
    }
    let body = body?.ok_or(DecodeError::NoField(name))?;
    let raw = field_of(body, name)
        .map_err(|e| DecodeError::Corrupt(format!("the event it names is not JSON: {e}")))?
        .ok_or(DecodeError::NoField(name))?;
    serde_json::from_str::<String>(raw).map_err(|_| DecodeError::NoField(name))
}

/// The raw JSON of the top-level member `name` of the object `body` (the exact bytes it
/// holds; None: no such member, or `null`).
pub fn field_of<'a>(body: &'a [u8], name: &str) -> Result<Option<&'a str>, serde_json::Error> {
    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde_json::value::RawValue;
    struct Field<'n>(&'n str);
    impl<'de> Visitor<'de> for Field<'_> {
        type Value = Option<&'de RawValue>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                let raw: &'de RawValue = map.next_value()?;
                if key == self.0 {
                    if found.is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate field `{}`",
                            self.0
                        )));
                    }
                    found = Some(raw);
                }
            }
            Ok(found)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let raw = (&mut de).deserialize_map(Field(name))?;
    de.end()?;
    Ok(raw.map(RawValue::get).filter(|r| *r != "null"))
}

struct Prepared {
    enc: zstd::dict::EncoderDictionary<'static>,
    dec: zstd::dict::DecoderDictionary<'static>,
}

fn prepared() -> &'static Prepared {
    static P: OnceLock<Prepared> = OnceLock::new();
    P.get_or_init(|| Prepared {
        enc: zstd::dict::EncoderDictionary::copy(DICT1, LEVEL),
        dec: zstd::dict::DecoderDictionary::copy(DICT1),
    })
}

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The value to store for `text`: a compressed `BLOB`, or the text itself when it is longer
/// than [`MAX_PLAIN`] (or, should zstd fail, which it does not on memory it was given).
pub fn encode(text: &str) -> Value {
    if text.len() > MAX_PLAIN {
        return Value::Text(text.to_string());
    }
    let frame = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::with_prepared_dictionary(&prepared().enc).ok();
        }
        c.as_mut()?.compress(text.as_bytes()).ok()
    });
    match frame {
        Some(f) if f.len() > MAGIC.len() && f[..MAGIC.len()] == MAGIC => {
            let mut out = Vec::with_capacity(f.len() - MAGIC.len() + 1);
            out.push(CURRENT);
            out.extend_from_slice(&f[MAGIC.len()..]);
            Value::Blob(out)
        }
        _ => Value::Text(text.to_string()),
    }
}

/// `encode` of an optional text (`NULL` stays `NULL`).
pub fn encode_opt(text: Option<&str>) -> Value {
    text.map(encode).unwrap_or(Value::Null)
}

/// The JSON text of a stored value, as bytes (borrowed when it was stored as text). `NULL`
/// decodes to nothing: callers that need a value say which.
pub fn decode<'a>(v: ValueRef<'a>) -> Result<Option<Cow<'a, [u8]>>, DecodeError> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => Ok(Some(Cow::Borrowed(t))),
        ValueRef::Blob(b) => decode_blob(b).map(|v| Some(Cow::Owned(v))),
        ValueRef::Integer(_) => Err(DecodeError::WrongType("integer")),
        ValueRef::Real(_) => Err(DecodeError::WrongType("real")),
    }
}

/// [`decode`], as a string.
pub fn decode_str(v: ValueRef<'_>) -> Result<Option<String>, DecodeError> {
    match decode(v)? {
        None => Ok(None),
        Some(b) => String::from_utf8(b.into_owned())
            .map(Some)
            .map_err(|_| DecodeError::NotText),
    }
}

fn decode_blob(b: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let (&id, frame) = b
        .split_first()
        .ok_or_else(|| DecodeError::Corrupt("it is empty".into()))?;
    if id != CURRENT {
        return Err(DecodeError::UnknownDictionary(id));
    }
    let mut full = Vec::with_capacity(frame.len() + MAGIC.len());
    full.extend_from_slice(&MAGIC);
    full.extend_from_slice(frame);
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(
                zstd::bulk::Decompressor::with_prepared_dictionary(&prepared().dec)
                    .map_err(|e| DecodeError::Corrupt(e.to_string()))?,
            );
        }
        let Some(d) = d.as_mut() else {
            return Err(DecodeError::Corrupt("no decompressor".into()));
        };
        // The size the frame records, within MAX_PLAIN, bounds what a corrupt frame can make us
        // allocate (and spares a 64 KiB buffer an event); a frame whose content is larger than
        // it says fails to decode.
        let capacity = match zstd::zstd_safe::get_frame_content_size(&full) {
            Ok(Some(n)) if n > MAX_PLAIN as u64 => {
                return Err(DecodeError::Corrupt(format!(
                    "it claims {n} bytes, over {MAX_PLAIN}"
                )))
            }
            Ok(Some(n)) => n as usize,
            _ => MAX_PLAIN,
        };
        d.decompress(&full, capacity)
            .map_err(|e| DecodeError::Corrupt(e.to_string()))
    })
}

/// SQL creating the `dictionaries` table and the triggers that count its edits (schema 6).
pub const SCHEMA: &str = r#"
    CREATE TABLE dictionaries(id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);
    CREATE TRIGGER dictionaries_edited AFTER UPDATE ON dictionaries BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
    CREATE TRIGGER dictionaries_deleted AFTER DELETE ON dictionaries BEGIN
        INSERT INTO meta(key, value) VALUES ('edits_outside', '1')
            ON CONFLICT(key) DO UPDATE SET value = value + 1;
    END;
"#;

/// Stores the dictionaries this payrun writes with (inside the migration's transaction).
pub fn install(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO dictionaries(id, bytes) VALUES (?1, ?2)",
        rusqlite::params![CURRENT, DICT1],
    )
    .map(|_| ())
}

/// The book's dictionaries must be the ones this payrun knows, byte for byte: `Err` names the
/// first that is missing or differs (the values compressed with it would not decode to what was
/// hashed and sealed).
pub fn check_dictionaries(conn: &Connection) -> rusqlite::Result<Result<(), String>> {
    let stored: Option<Vec<u8>> = rusqlite::OptionalExtension::optional(conn.query_row(
        "SELECT bytes FROM dictionaries WHERE id = ?1",
        [CURRENT],
        // Whatever type a hand edit left, its bytes.
        |r| {
            Ok(r.get_ref(0)?
                .as_bytes()
                .map(<[u8]>::to_vec)
                .unwrap_or_default())
        },
    ))?;
    Ok(match stored {
        Some(b) if b == DICT1 => Ok(()),
        Some(_) => Err(format!(
            "compression dictionary {CURRENT} (table dictionaries) was edited outside payrun"
        )),
        None => Err(format!(
            "compression dictionary {CURRENT} (table dictionaries) was removed outside payrun"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTENT: &str = r#"{"event":"intent","order_id":"pay-20261129-0f3a9c1d2b4e5f60718293a4b5c6d7e8","line":17,"digest":"9b1f0c2d3e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c","request":{"order_id":"pay-20261129-0f3a9c1d2b4e5f60718293a4b5c6d7e8","currency":"USDT","network":"TRX-TRC20","amount":"1523.40","to_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","fee_option":"deduct"},"at":"2026-11-29T10:15:40.123Z"}"#;

    fn stored(v: &Value) -> ValueRef<'_> {
        ValueRef::from(v)
    }

    #[test]
    fn a_value_decodes_to_exactly_the_text_written_and_is_smaller() {
        for text in [INTENT, "{}", "", "é ☃ \u{0}", &"x".repeat(MAX_PLAIN)] {
            let v = encode(text);
            assert!(matches!(v, Value::Blob(_)), "{text:.20}");
            let back = decode(stored(&v)).unwrap().unwrap();
            assert_eq!(&back[..], text.as_bytes());
        }
        let Value::Blob(b) = encode(INTENT) else {
            unreachable!()
        };
        assert!(
            b.len() * 2 < INTENT.len(),
            "{} of {}",
            b.len(),
            INTENT.len()
        );
        // Old values (text) read as they are; NULL is nothing.
        assert_eq!(
            decode_str(ValueRef::Text(INTENT.as_bytes())).unwrap(),
            Some(INTENT.to_string())
        );
        assert_eq!(decode(ValueRef::Null).unwrap(), None);
        assert_eq!(encode_opt(None), Value::Null);
    }

    #[test]
    fn a_long_text_is_stored_as_text() {
        let long = "y".repeat(MAX_PLAIN + 1);
        assert_eq!(encode(&long), Value::Text(long.clone()));
    }

    #[test]
    fn a_damaged_value_is_an_error_never_a_panic_nor_other_text_silently() {
        let Value::Blob(good) = encode(INTENT) else {
            unreachable!()
        };
        // Every single byte flipped, and every cut: an error or different bytes (which the
        // hash or seal then refuses), never a panic and never the original text.
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x41;
            if let Ok(Some(t)) = decode(ValueRef::Blob(&b)) {
                assert_ne!(&t[..], INTENT.as_bytes(), "byte {i}");
            }
        }
        for n in 0..good.len() {
            assert!(decode(ValueRef::Blob(&good[..n])).is_err(), "cut at {n}");
        }
        let mut other = good.clone();
        other[0] = 2;
        assert_eq!(
            decode(ValueRef::Blob(&other)),
            Err(DecodeError::UnknownDictionary(2))
        );
        assert_eq!(
            decode(ValueRef::Integer(3)),
            Err(DecodeError::WrongType("integer"))
        );
        // A frame claiming more than MAX_PLAIN bytes is refused before it is allocated.
        let big = zstd::bulk::compress(&vec![b'a'; MAX_PLAIN + 1], 1).unwrap();
        let mut blob = vec![CURRENT];
        blob.extend_from_slice(&big[4..]);
        assert!(matches!(
            decode(ValueRef::Blob(&blob)),
            Err(DecodeError::Corrupt(_))
        ));
        assert_eq!(
            decode_str(ValueRef::Text(&[0xff, 0xfe])).map(|_| ()),
            Err(DecodeError::NotText)
        );
    }

    #[test]
    fn the_dictionary_is_the_one_every_book_carries() {
        // Changing these bytes would make every compressed value of every book unreadable.
        use sha2::{Digest, Sha256};
        assert_eq!(DICT1.len(), 2503);
        assert_eq!(
            hex::encode(Sha256::digest(DICT1))[..16].to_string(),
            DICT1_SHA256_PREFIX
        );
    }

    const DICT1_SHA256_PREFIX: &str = "b99664da6dcfb497";

    #[test]
    fn a_request_named_by_its_intent_is_the_intent_s_request_byte_for_byte() {
        let intent = encode(INTENT);
        let request =
            order_request(ValueRef::Blob(REQUEST_OF_INTENT), ValueRef::from(&intent)).unwrap();
        assert!(
            request.starts_with("{\"order_id\":\"pay-20261129-0f3a"),
            "{request}"
        );
        assert!(request.ends_with("\"fee_option\":\"deduct\"}"), "{request}");
        assert!(INTENT.contains(&format!("\"request\":{request},")));
        // A request stored as text is itself; the intent is not read.
        assert_eq!(
            order_request(ValueRef::Text(b"{\"a\":1}"), ValueRef::Null).unwrap(),
            "{\"a\":1}"
        );
        // Named, but the event has no request, is missing, or is no JSON object: an error.
        let answer = encode(r#"{"event":"result","state":{"request":1}}"#);
        for body in [ValueRef::from(&answer), ValueRef::Null] {
            assert_eq!(
                order_request(ValueRef::Blob(REQUEST_OF_INTENT), body),
                Err(DecodeError::NoRequest)
            );
        }
        for bad in [
            &b"[1]"[..],
            b"{\"request\":",
            b"{\"request\":1,\"request\":2}",
            b"{} x",
        ] {
            assert!(matches!(
                order_request(ValueRef::Blob(REQUEST_OF_INTENT), ValueRef::Text(bad)),
                Err(DecodeError::Corrupt(_))
            ));
        }
        assert_eq!(
            order_request(ValueRef::Null, ValueRef::Null),
            Err(DecodeError::WrongType("null"))
        );
        // Planned: the request is the text beside it; missing, an error.
        assert_eq!(
            order_request(ValueRef::Blob(REQUEST_PLANNED), ValueRef::Text(b"{}")).unwrap(),
            "{}"
        );
        assert_eq!(
            order_request(ValueRef::Blob(REQUEST_PLANNED), ValueRef::Null),
            Err(DecodeError::NoPlannedRequest)
        );
    }

    #[test]
    fn a_field_named_is_the_event_s_string_unescaped_and_anything_else_an_error() {
        let body = br#"{"event":"intent","digest":"a\"b\u00e9","line":2}"#;
        let named = ValueRef::Blob(FIELD_OF_EVENT);
        assert_eq!(
            text_or_field(named, Ok(Some(body)), "digest").unwrap(),
            "a\"b\u{e9}"
        );
        assert_eq!(
            text_or_field(ValueRef::Text(b"9b1f"), Err(DecodeError::NotText), "digest").unwrap(),
            "9b1f"
        );
        for (body, name) in [(Some(&body[..]), "missing"), (None, "digest")] {
            assert_eq!(
                text_or_field(named, Ok(body), name),
                Err(DecodeError::NoField(name))
            );
        }
        // Not a string, not JSON, or the body itself unreadable.
        assert_eq!(
            text_or_field(named, Ok(Some(body)), "line"),
            Err(DecodeError::NoField("line"))
        );
        assert!(matches!(
            text_or_field(named, Ok(Some(b"{\"digest\":")), "digest"),
            Err(DecodeError::Corrupt(_))
        ));
        assert_eq!(
            text_or_field(named, Err(DecodeError::NotText), "digest"),
            Err(DecodeError::NotText)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Whatever an intent's request holds (escapes, unicode, nesting), the request read
        /// through the intent is exactly what serde wrote for it.
        #[test]
        fn the_field_of_an_event_is_the_bytes_serde_wrote(
            text in "\\PC{0,40}",
            key in "[a-z_\"\\\\]{1,8}",
            n in proptest::prelude::any::<i64>(),
        ) {
            let request = serde_json::json!({"order_id": text, "amount": n.to_string(), "nested": {"request": [text.clone(), n]}});
            let mut event = serde_json::Map::new();
            event.insert("event".into(), "intent".into());
            event.insert(key.clone(), serde_json::Value::String(text.clone()));
            event.insert("request".into(), request.clone());
            let body = serde_json::to_string(&event).unwrap();
            let want = serde_json::to_string(&request).unwrap();
            let stored = encode(&body);
            proptest::prop_assert_eq!(
                order_request(ValueRef::Blob(REQUEST_OF_INTENT), ValueRef::from(&stored)).unwrap(),
                want
            );
            // Cut anywhere, the body is an error, never a panic.
            for cut in [body.len() / 3, body.len() / 2, body.len() - 1] {
                let t = body.as_bytes()[..cut].to_vec();
                proptest::prop_assert!(order_request(ValueRef::Blob(REQUEST_OF_INTENT), ValueRef::Text(&t)).is_err());
            }
        }
    }
}
