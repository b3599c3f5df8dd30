//! Memo rules: a memo (destination tag) only where the network takes one (2328: TON and SOL),
//! at most 255 characters, no surrounding spaces, and not a long number a spreadsheet has
//! already rounded. The cross-row "shared address without memo" warning lives in
//! `duplicates.rs` with the other checks that need several rows.

use super::problem::{codes, quote};
use crate::sheet::CellKind;
use crate::validate::networks::{NetworkSpec, NETWORKS};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::networks::lookup;

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
}
