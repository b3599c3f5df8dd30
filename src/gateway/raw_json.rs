//! Byte-level edits of JSON text that must not re-encode anything: minifying (dropping the
//! whitespace between tokens) and cutting one top-level member out of an object. Used by the
//! 2328 webhook verifier to rebuild the signed text exactly as the gateway wrote it, numbers and
//! escapes included (re-encoding a parsed float can change its digits).
//!
//! The input must already be known to be valid JSON (parse it first); on anything unexpected
//! these functions return `None`, never panic.

/// The text with insignificant whitespace removed (strings untouched).
pub fn minify(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in raw {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            out.push(b);
        }
    }
    out
}

/// A minified top-level object without its member whose key is written exactly as `key_json`
/// (e.g. `"sign"`, quotes included). `None` when the text is not an object, or the member is
/// absent or present more than once.
pub fn without_member(minified: &[u8], key_json: &[u8]) -> Option<Vec<u8>> {
    let members = top_level_members(minified)?;
    let mut hits = members
        .iter()
        .enumerate()
        .filter(|(_, m)| minified.get(m.0..m.1).is_some_and(|k| k == key_json));
    let (index, _) = hits.next()?;
    if hits.next().is_some() {
        return None;
    }
    let (_, _, start, end) = members[index];
    // Cut the member with the comma before it, or after it when it is the first one.
    let (cut_from, cut_to) = if index > 0 {
        (start - 1, end)
    } else if members.len() > 1 {
        (start, end + 1)
    } else {
        (start, end)
    };
    let mut out = Vec::with_capacity(minified.len());
    out.extend_from_slice(minified.get(..cut_from)?);
    out.extend_from_slice(minified.get(cut_to..)?);
    Some(out)
}

/// For each top-level member: (key start, key end, member start, member end) as byte offsets.
fn top_level_members(s: &[u8]) -> Option<Vec<(usize, usize, usize, usize)>> {
    if s.first() != Some(&b'{') || s.last() != Some(&b'}') {
        return None;
    }
    let mut members = Vec::new();
    let mut i = 1;
    if s.get(i) == Some(&b'}') {
        return Some(members);
    }
    loop {
        let start = i;
        if s.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(s, i)?;
        i = key_end;
        if s.get(i) != Some(&b':') {
            return None;
        }
        i = value_end(s, i + 1)?;
        members.push((start, key_end, start, i));
        match s.get(i) {
            Some(b',') => i += 1,
            Some(b'}') if i == s.len() - 1 => return Some(members),
            _ => return None,
        }
    }
}

/// `s[at]` is an opening quote; returns the offset just past the closing quote.
fn string_end(s: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    while let Some(&b) = s.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Returns the offset just past the value starting at `at` (minified text).
fn value_end(s: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    loop {
        let b = *s.get(i)?;
        match b {
            b'"' => i = string_end(s, i)?,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
                i += 1;
            }
            b',' if depth == 0 => return Some(i),
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(s: &str) -> Option<String> {
        without_member(&minify(s.as_bytes()), br#""sign""#).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn cuts_the_member_wherever_it_is() {
        assert_eq!(cut(r#"{"a":1,"sign":"x"}"#).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(cut(r#"{"sign":"x","a":1}"#).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(
            cut(r#"{"a":1,"sign":"x","b":[1,{"c":"}"}]}"#).as_deref(),
            Some(r#"{"a":1,"b":[1,{"c":"}"}]}"#)
        );
        assert_eq!(cut(r#"{"sign":"x"}"#).as_deref(), Some("{}"));
    }

    #[test]
    fn keeps_numbers_and_escapes_verbatim() {
        assert_eq!(
            cut("{ \"n\" : 4.270804189731644e+291 ,\n \"u\": \"a\\/b \\\" c\", \"sign\": \"x\" }")
                .as_deref(),
            Some(r#"{"n":4.270804189731644e+291,"u":"a\/b \" c"}"#)
        );
    }

    #[test]
    fn refuses_what_it_cannot_cut_safely() {
        assert_eq!(cut(r#"{"a":{"sign":"x"}}"#), None);
        assert_eq!(cut(r#"{"sign":"x","sign":"y"}"#), None);
        assert_eq!(cut(r#"["sign"]"#), None);
        assert_eq!(cut(r#"{"a":"#), None);
        assert_eq!(cut(""), None);
        assert_eq!(cut(r#"{"a":"\"#), None);
    }
}
