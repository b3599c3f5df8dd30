//! Path-aware reading of gateway JSON answers: every missing or wrongly-typed field becomes a
//! `DecodeError` naming its JSON path (`result.status: expected a string, found number 5`),
//! never a panic. Shared by both clients and the webhook verifiers.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// A gateway answer that is not what the documentation promises, with the JSON path at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct DecodeError {
    pub path: String,
    pub problem: String,
}

impl DecodeError {
    pub fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        DecodeError {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// Parses a whole body as JSON. HTML pages and empty bodies get a message that says so.
pub fn parse_body(body: &[u8]) -> Result<Value, DecodeError> {
    let trimmed = body.trim_ascii_start();
    if trimmed.is_empty() {
        return Err(DecodeError::new("(body)", "empty, expected JSON"));
    }
    if trimmed.first() == Some(&b'<') {
        return Err(DecodeError::new(
            "(body)",
            format!("an HTML/XML page, not JSON: {}", excerpt_bytes(trimmed)),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| DecodeError::new("(body)", format!("invalid JSON ({e})")))
}

/// Why [`parse_body_strict`] refused a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictError {
    /// Not JSON (or empty, or an HTML page).
    Invalid(DecodeError),
    /// An object repeats a key (at any depth); `key` is the repeated key, decoded.
    DuplicateKey { key: String, detail: String },
}

/// [`parse_body`], refusing any object that repeats a key, at any depth. A parser that keeps
/// the last (or first) of two equal keys lets a signed body say two things at once (
/// `"status":"failed",…,"status":"completed"`); such a body is refused, never read. Keys are
/// compared after unescaping (`"st\u0061tus"` repeats `"status"`). Nesting is bounded by
/// serde_json's recursion limit, so no input can overflow the stack.
pub fn parse_body_strict(body: &[u8]) -> Result<Value, StrictError> {
    // The same refusals and messages as `parse_body` for what is not JSON at all.
    let trimmed = body.trim_ascii_start();
    if trimmed.is_empty() || trimmed.first() == Some(&b'<') {
        return Err(StrictError::Invalid(
            parse_body(body)
                .err()
                .unwrap_or_else(|| DecodeError::new("(body)", "not JSON")),
        ));
    }
    let duplicate = std::cell::RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde::de::DeserializeSeed::deserialize(StrictSeed(&duplicate), &mut de)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => match duplicate.into_inner() {
            Some(key) => Err(StrictError::DuplicateKey {
                detail: e.to_string(),
                key,
            }),
            None => Err(StrictError::Invalid(DecodeError::new(
                "(body)",
                format!("invalid JSON ({e})"),
            ))),
        },
    }
}

/// Builds a `Value` like serde_json's own visitor, but fails on a repeated key and records it.
#[derive(Clone, Copy)]
struct StrictSeed<'a>(&'a std::cell::RefCell<Option<String>>);

impl<'de> serde::de::DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let msg = format!("duplicate key {key:?}");
                *self.0.borrow_mut() = Some(key);
                return Err(serde::de::Error::custom(msg));
            }
            let v = map.next_value_seed(self)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// A short, printable excerpt of raw bytes for error messages.
pub fn excerpt_bytes(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX * 4)]);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX)
        .collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

/// What a JSON value is, for messages: `number 5`, `string "x"`, `null`.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {}", excerpt_bytes(s.as_bytes())),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// One JSON object and the path it was found at.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Obj<'a> {
    /// `value` must be an object; `path` names it (`result`, `data.orders[2]`).
    pub fn new(value: &'a Value, path: &'a str) -> Result<Obj<'a>, DecodeError> {
        match value {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(DecodeError::new(
                path,
                format!("expected an object, found {}", describe(other)),
            )),
        }
    }

    /// The full path of a member.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{}", self.path, key)
        }
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> DecodeError {
        DecodeError::new(
            self.path_of(key),
            format!("expected {expected}, found {}", describe(found)),
        )
    }

    /// The raw member; `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// A required string.
    pub fn str_req(&self, key: &str) -> Result<&'a str, DecodeError> {
        self.str_opt(key)?
            .ok_or_else(|| DecodeError::new(self.path_of(key), "missing"))
    }

    /// An optional string (absent or null is `None`; any other type is an error).
    pub fn str_opt(&self, key: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// An optional string or number, as text (ids and times whose JSON type is undocumented).
    pub fn text_opt(&self, key: &str) -> Result<Option<String>, DecodeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong(key, "a string or a number", other)),
        }
    }

    /// A required integer.
    pub fn i64_req(&self, key: &str) -> Result<i64, DecodeError> {
        match self.get(key) {
            None => Err(DecodeError::new(self.path_of(key), "missing")),
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| self.wrong(key, "an integer", &Value::Number(n.clone()))),
            Some(other) => Err(self.wrong(key, "an integer", other)),
        }
    }

    /// An optional decimal written as a JSON string (the documented form for money).
    pub fn decimal_str_opt(&self, key: &str) -> Result<Option<Decimal>, DecodeError> {
        match self.str_opt(key)? {
            None => Ok(None),
            Some(s) => parse_decimal(s)
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a decimal", &Value::String(s.to_string()))),
        }
    }

    /// A required decimal written as a JSON string.
    pub fn decimal_str_req(&self, key: &str) -> Result<Decimal, DecodeError> {
        self.decimal_str_opt(key)?
            .ok_or_else(|| DecodeError::new(self.path_of(key), "missing"))
    }

    /// An optional decimal as a string or a JSON number (for a gateway that does not document
    /// the type). A number is read through its shortest text, never through arithmetic on f64.
    pub fn decimal_lenient_opt(&self, key: &str) -> Result<Option<Decimal>, DecodeError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(self.wrong(key, "a decimal", other)),
        };
        parse_decimal(&text)
            .map(Some)
            .ok_or_else(|| self.wrong(key, "a decimal", v))
    }

    /// A required nested object.
    pub fn obj_req(&self, key: &str, path: &'a str) -> Result<Obj<'a>, DecodeError> {
        match self.get(key) {
            None => Err(DecodeError::new(self.path_of(key), "missing")),
            Some(v) => Obj::new(v, path),
        }
    }

    /// A required array.
    pub fn array_req(&self, key: &str) -> Result<&'a Vec<Value>, DecodeError> {
        match self.get(key) {
            None => Err(DecodeError::new(self.path_of(key), "missing")),
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(self.wrong(key, "an array", other)),
        }
    }
}

/// A plain decimal (`1.00`, `-0.5`, `3`); scientific notation is accepted as a gateway may
/// print a float that way. Empty text is not a decimal.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    Decimal::from_str(s)
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn names_the_path_of_a_wrong_type() {
        let val = v(r#"{"status":5}"#);
        let o = Obj::new(&val, "result").unwrap();
        let e = o.str_req("status").unwrap_err();
        assert_eq!(
            e.to_string(),
            "result.status: expected a string, found number 5"
        );
    }

    #[test]
    fn missing_and_null_required_fields() {
        let val = v(r#"{"uuid":null}"#);
        let o = Obj::new(&val, "result").unwrap();
        assert_eq!(
            o.str_req("uuid").unwrap_err().to_string(),
            "result.uuid: missing"
        );
        assert_eq!(
            o.str_req("status").unwrap_err().to_string(),
            "result.status: missing"
        );
        assert_eq!(o.str_opt("uuid").unwrap(), None);
    }

    #[test]
    fn decimals_keep_their_scale_and_refuse_garbage() {
        let val = v(r#"{"a":"1.00","b":"x","c":1.5,"d":""}"#);
        let o = Obj::new(&val, "r").unwrap();
        assert_eq!(o.decimal_str_opt("a").unwrap().unwrap().to_string(), "1.00");
        assert!(o.decimal_str_opt("b").is_err());
        assert_eq!(
            o.decimal_str_opt("c").unwrap_err().to_string(),
            "r.c: expected a string, found number 1.5"
        );
        assert_eq!(
            o.decimal_lenient_opt("c").unwrap().unwrap().to_string(),
            "1.5"
        );
        assert!(o.decimal_lenient_opt("d").is_err());
    }

    #[test]
    fn bodies_that_are_not_json() {
        let e = parse_body(b"<html><body>502 Bad Gateway</body></html>").unwrap_err();
        assert!(e.problem.contains("HTML"), "{e}");
        assert!(parse_body(b"").unwrap_err().problem.contains("empty"));
        assert!(parse_body(br#"{"state":0,"res"#)
            .unwrap_err()
            .problem
            .contains("invalid JSON"));
    }

    #[test]
    fn odd_decimal_texts_are_refused_not_panicked_on() {
        for t in [
            "1e99999999999999999999",
            "1e-99999",
            "e5",
            "1e",
            "-",
            ".",
            "1..2",
            "99999999999999999999999999999999999999",
            "NaN",
            "١٢",
        ] {
            assert_eq!(parse_decimal(t), None, "{t}");
        }
        assert_eq!(parse_decimal("1.5e2").unwrap().to_string(), "150");
    }

    #[test]
    fn strict_parse_refuses_repeated_keys_at_any_depth() {
        let dup = |s: &str| match parse_body_strict(s.as_bytes()) {
            Err(StrictError::DuplicateKey { key, .. }) => Some(key),
            Ok(_) => None,
            Err(other) => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            dup(r#"{"status":"failed","a":1,"status":"completed"}"#).as_deref(),
            Some("status")
        );
        assert_eq!(dup(r#"{"a":{"b":[{"c":1,"c":2}]}}"#).as_deref(), Some("c"));
        assert_eq!(
            dup(r#"{"st\u0061tus":1,"status":2}"#).as_deref(),
            Some("status")
        );
        assert_eq!(dup(r#"[{"x":1},{"x":2}]"#), None);
        assert_eq!(dup(r#"{"a":{"x":1},"b":{"x":1}}"#), None);
    }

    #[test]
    fn strict_parse_reads_what_parse_body_reads() {
        for text in [
            r#"{"a":1,"b":-2,"c":1.5,"d":"x/y","e":null,"f":[true,false],"g":{"h":1e3}}"#,
            "[]",
            "\"s\"",
            "  {\"z\":1, \"a\":2}  ",
            r#"{"big":18446744073709551615,"neg":-9223372036854775808}"#,
        ] {
            assert_eq!(
                parse_body_strict(text.as_bytes()).unwrap(),
                parse_body(text.as_bytes()).unwrap(),
                "{text}"
            );
        }
        // Key order is kept.
        let v = parse_body_strict(br#"{"z":1,"a":2}"#).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "a"]);
        for bad in ["", "<html>", "{", r#"{"a":1}x"#, "nul"] {
            assert!(
                matches!(
                    parse_body_strict(bad.as_bytes()),
                    Err(StrictError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
        // Deep nesting is an error, not a stack overflow.
        let deep = "[".repeat(100_000);
        assert!(parse_body_strict(deep.as_bytes()).is_err());
    }

    #[test]
    fn not_an_object() {
        let val = v("[1]");
        assert_eq!(
            Obj::new(&val, "data").unwrap_err().to_string(),
            "data: expected an object, found an array"
        );
    }
}
