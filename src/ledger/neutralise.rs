//! The spreadsheet-formula defence for CSV output (OWASP "CSV Injection"): a text cell that
//! begins with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a formula by
//! Excel, LibreOffice or Google Sheets when the file is opened, so it gets a leading `'`, which
//! those programs show as text and do not evaluate. Applied to every text cell that came from
//! the sheet or the gateway; not to payrun's own decimal amounts (never negative, digits only).
//! XLSX needs no prefix: strings are stored as string cells, which are never evaluated.

use std::borrow::Cow;

/// The characters that make a spreadsheet treat a cell as a formula.
pub const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell`, prefixed with `'` when it starts with a formula trigger; otherwise unchanged.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(c) if FORMULA_TRIGGERS.contains(&c) => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_triggers_get_a_quote() {
        for cell in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-2",
            "@SUM(A1:A2)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(neutralise(cell), format!("'{cell}"));
        }
    }

    #[test]
    fn ordinary_cells_are_unchanged() {
        for cell in ["", "Alice", "1.5", " =not at start", "a=b", "'quoted", "é"] {
            assert!(matches!(neutralise(cell), Cow::Borrowed(c) if c == cell));
        }
    }
}
