//! One problem found in a sheet row (line, column, stable code, message with a hint), and the
//! catalogue of stable codes. The codes are part of the command-line contract: never rename one.

use serde::Serialize;

/// A row problem, reported as an error (the row is invalid) or a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The sheet line (the header is line 1).
    pub line: u64,
    /// The column's header as written in the sheet (the field name when the value came from a
    /// flag; empty for a problem with the whole row).
    pub column: String,
    /// Stable snake_case code (see `codes`).
    pub code: &'static str,
    /// What is wrong, with a hint where one helps.
    pub message: String,
}

impl Problem {
    pub fn new(line: u64, column: &str, code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            line,
            column: column.to_string(),
            code,
            message: message.into(),
        }
    }
}

/// A cell value quoted for a message: debug-escaped (so invisible characters show) and cut to
/// a readable length.
pub fn quote(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

/// Every problem code payrun reports, with its severity and meaning (the docs list these).
pub mod codes {
    pub const CELL_TOO_LARGE: &str = "cell_too_large";
    pub const ROW_TOO_LARGE: &str = "row_too_large";
    pub const ROW_EXTRA_CELLS: &str = "row_extra_cells";
    pub const CELL_ERROR: &str = "cell_error";
    pub const NETWORK_MISSING: &str = "network_missing";
    pub const NETWORK_UNKNOWN: &str = "network_unknown";
    pub const NETWORK_NOT_SUPPORTED: &str = "network_not_supported";
    pub const NETWORK_MISMATCH: &str = "network_mismatch";
    pub const CURRENCY_MISSING: &str = "currency_missing";
    pub const CURRENCY_UNKNOWN: &str = "currency_unknown";
    pub const CURRENCY_NOT_ON_NETWORK: &str = "currency_not_on_network";
    pub const AMOUNT_MISSING: &str = "amount_missing";
    pub const AMOUNT_FORMAT: &str = "amount_format";
    pub const AMOUNT_INVISIBLE_CHARACTER: &str = "amount_invisible_character";
    pub const AMOUNT_NOT_POSITIVE: &str = "amount_not_positive";
    pub const AMOUNT_PRECISION: &str = "amount_precision";
    pub const AMOUNT_EXPONENT: &str = "amount_exponent";
    pub const AMOUNT_THOUSANDS_SEPARATOR: &str = "amount_thousands_separator";
    pub const AMOUNT_DECIMAL_COMMA: &str = "amount_decimal_comma";
    pub const AMOUNT_AMBIGUOUS_SEPARATOR: &str = "amount_ambiguous_separator";
    pub const AMOUNT_CURRENCY_SIGN: &str = "amount_currency_sign";
    pub const AMOUNT_TOO_LARGE: &str = "amount_too_large";
    pub const AMOUNT_DATE_CELL: &str = "amount_date_cell";
    pub const AMOUNT_BOOLEAN_CELL: &str = "amount_boolean_cell";
    pub const MEMO_NOT_SUPPORTED: &str = "memo_not_supported";
    pub const MEMO_TOO_LONG: &str = "memo_too_long";
    pub const MEMO_WHITESPACE: &str = "memo_whitespace";
    pub const MEMO_NUMBER_PRECISION: &str = "memo_number_precision";
    pub const MEMO_EXPONENT: &str = "memo_exponent";
    pub const MEMO_INVISIBLE_CHARACTER: &str = "memo_invisible_character";
    pub const ORDER_ID_FORMAT: &str = "order_id_format";
    pub const ORDER_ID_DUPLICATE: &str = "order_id_duplicate";
    pub const FEE_OPTION_INVALID: &str = "fee_option_invalid";
    pub const FROM_CURRENCY_UNKNOWN: &str = "from_currency_unknown";
    pub const FROM_CURRENCY_NOT_SUPPORTED: &str = "from_currency_not_supported";
    pub const DUPLICATE_ROW: &str = "duplicate_row";
    pub const EXAMPLE_ROW: &str = "example_row";
    pub const RECIPIENT_NOT_WALLET: &str = "recipient_not_wallet";
    pub const ROW_HIDDEN: &str = "row_hidden";
    pub const MERGED_CELLS: &str = "merged_cells";
    // Warnings.
    pub const MEMO_MISSING_SHARED_ADDRESS: &str = "memo_missing_shared_address";
    pub const PASSTHROUGH_CELL_ERROR: &str = "passthrough_cell_error";
    pub const FEE_OPTION_IGNORED: &str = "fee_option_ignored";
    pub const RECIPIENT_OFF_CURVE: &str = "recipient_off_curve";
    pub const RECIPIENT_LOOKALIKE: &str = "recipient_lookalike";
    pub const RECIPIENT_ADDRESS_CHANGED: &str = "recipient_address_changed";
    /// Not a row's: another run of the same sheet is unfinished while a new one starts
    /// (`run --new-run` or a new `--run-id`), which pays its rows again as a new period.
    pub const PREVIOUS_RUN_UNFINISHED: &str = "previous_run_unfinished";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_invisible_characters_and_cuts_long_values() {
        assert_eq!(quote("ab\u{200b}c"), "\"ab\\u{200b}c\"");
        let long = "x".repeat(100);
        let q = quote(&long);
        assert!(q.ends_with('…') && q.len() < 70, "{q}");
    }

    #[test]
    fn problems_serialize_in_the_documented_shape() {
        let p = Problem::new(12, "amount", codes::AMOUNT_PRECISION, "too many decimals");
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"line":12,"column":"amount","code":"amount_precision","message":"too many decimals"}"#
        );
    }
}
