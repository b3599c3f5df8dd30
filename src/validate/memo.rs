//! Memo rules (docs/design.md, "Validation"): a memo (destination tag) only where the network
//! takes one (2328: TON and SOL), at most 255 characters, no surrounding spaces, no invisible
//! character (zero-width, byte order mark, tab, line break: the shared check in `chars.rs`),
//! and not a long number a spreadsheet has already rounded (a rounded number cell, or the
//! exponent form `4.82134E+11` a CSV export leaves). The cross-row "shared address without memo" warning lives in
//! `duplicates.rs` with the other checks that need several rows.

use super::chars;
use super::problem::{codes, quote};
use crate::networks::{NetworkSpec, NETWORKS};
use crate::sheet::CellKind;

/// The longest memo the gateway accepts.
pub const MAX_MEMO_CHARS: usize = 255;

/// A refused memo: code and message.
pub type MemoError = (&'static str, String);

/// The memo of a row: `Ok(None)` for an empty cell, `Ok(Some(memo))` exactly as written.
pub fn check(
    text: &str,
    kind: CellKind,
    network: Option<&NetworkSpec>,
) -> Result<Option<String>, MemoError> {
    check_text(text, kind, network).map(|m| m.map(str::to_string))
}

/// `check` borrowing the memo from the cell instead of copying it.
pub fn check_text<'a>(
    text: &'a str,
    kind: CellKind,
    network: Option<&NetworkSpec>,
) -> Result<Option<&'a str>, MemoError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if let Some(net) = network {
        if !net.memo {
            let takers: Vec<&str> = NETWORKS.iter().filter(|n| n.memo).map(|n| n.code).collect();
            return Err((
                codes::MEMO_NOT_SUPPORTED,
                format!(
                    "{} takes no memo (only {} do); remove the memo or check the network",
                    net.code,
                    takers.join(" and ")
                ),
            ));
        }
    }
    if kind == CellKind::ImpreciseNumber {
        return Err((
            codes::MEMO_NUMBER_PRECISION,
            format!(
                "the memo is stored as a number ({text}) and the spreadsheet has rounded its \
                 last digits; format the column as Text and type the memo again"
            ),
        ));
    }
    if is_exponent_form(text.trim()) {
        return Err((
            codes::MEMO_EXPONENT,
            format!(
                "the memo {} is a number in exponent form: the spreadsheet has rounded it and the \
                 digits are lost; format the column as Text and type the memo again",
                quote(text)
            ),
        ));
    }
    if let Some((at, ch)) = chars::first_invisible(text) {
        return Err((
            codes::MEMO_INVISIBLE_CHARACTER,
            format!(
                "the memo {} has the invisible character {} at position {}; type the memo \
                 again (the recipient's exchange matches the memo exactly)",
                quote(text),
                chars::describe(ch),
                at + 1
            ),
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_MEMO_CHARS {
        return Err((
            codes::MEMO_TOO_LONG,
            format!("the memo has {chars} characters; at most {MAX_MEMO_CHARS} are allowed"),
        ));
    }
    if text.trim() != text {
        return Err((
            codes::MEMO_WHITESPACE,
            format!(
                "the memo {} starts or ends with a space; remove it (the recipient's exchange \
                 matches the memo exactly)",
                quote(text)
            ),
        ));
    }
    Ok(Some(text))
}

/// `4.82134E+11`, `1e5`, `-2.5E-3`: digits, an optional point, `e`/`E`, an exponent.
fn is_exponent_form(t: &str) -> bool {
    let Some(i) = t.find(['e', 'E']) else {
        return false;
    };
    let (mant, exp) = (&t[..i], &t[i + 1..]);
    let mant = mant.strip_prefix(['-', '+']).unwrap_or(mant);
    let exp = exp.strip_prefix(['-', '+']).unwrap_or(exp);
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !exp.is_empty()
        && exp.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::networks::lookup;

    #[test]
    fn memo_only_where_the_network_takes_one() {
        let ton = lookup("TON");
        let tron = lookup("TRX-TRC20");
        assert_eq!(
            check("12345", CellKind::Text, ton).unwrap().as_deref(),
            Some("12345")
        );
        assert_eq!(check("", CellKind::Text, tron).unwrap(), None);
        assert_eq!(check("  ", CellKind::Text, tron).unwrap(), None);
        let e = check("12345", CellKind::Text, tron).unwrap_err();
        assert_eq!(e.0, codes::MEMO_NOT_SUPPORTED);
        assert!(e.1.contains("TON and SOL"), "{}", e.1);
    }

    #[test]
    fn memo_length_spaces_and_rounded_numbers() {
        let sol = lookup("SOL");
        assert!(check(&"m".repeat(255), CellKind::Text, sol).is_ok());
        assert_eq!(
            check(&"m".repeat(256), CellKind::Text, sol).unwrap_err().0,
            codes::MEMO_TOO_LONG
        );
        assert_eq!(
            check(" 42", CellKind::Text, sol).unwrap_err().0,
            codes::MEMO_WHITESPACE
        );
        assert_eq!(
            check("12345678901234567000", CellKind::ImpreciseNumber, sol)
                .unwrap_err()
                .0,
            codes::MEMO_NUMBER_PRECISION
        );
    }

    #[test]
    fn exponent_forms_and_invisible_characters_are_refused() {
        let ton = lookup("TON");
        for m in ["4.82134E+11", "1e5", "-2.5E-3", "7E10"] {
            assert_eq!(
                check(m, CellKind::Text, ton).unwrap_err().0,
                codes::MEMO_EXPONENT,
                "{m}"
            );
        }
        for m in ["E10", "1e", "abc1e5", "12345"] {
            assert!(check(m, CellKind::Text, ton).is_ok(), "{m}");
        }
        for (m, at) in [
            ("123\u{200b}45", "position 4"),
            ("\u{feff}12345", "position 1"),
            ("12\t345", "position 3"),
            ("12\n345", "position 3"),
            ("12\u{a0}345", "position 3"),
        ] {
            let e = check(m, CellKind::Text, ton).unwrap_err();
            assert_eq!(e.0, codes::MEMO_INVISIBLE_CHARACTER, "{m:?}");
            assert!(e.1.contains(at), "{}", e.1);
        }
        // spaces inside a memo (a TON comment) are kept
        assert!(check("for June", CellKind::Text, ton).is_ok());
    }
}
