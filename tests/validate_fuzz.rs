//! Property tests: the CSV reader never panics on arbitrary bytes, and row validation never
//! panics on arbitrary cell contents and kinds.

use proptest::prelude::*;

use payrun::model::{FeeOption, GatewayKind};
use payrun::sheet::csv::CsvSource;
use payrun::sheet::{Batch, BatchSource, CellKind, Columns};
use payrun::validate::row::{RowChecker, RowRules};

fn kind(i: u8) -> CellKind {
    match i % 6 {
        0 => CellKind::Text,
        1 => CellKind::Number,
        2 => CellKind::ImpreciseNumber,
        3 => CellKind::Date,
        4 => CellKind::Bool,
        _ => CellKind::Error,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn csv_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(mut src) = CsvSource::new(std::io::Cursor::new(bytes), 7) {
            let mut last_line = 0;
            while let Ok(Some(b)) = src.next_batch() {
                for r in b.rows() {
                    prop_assert!(r.line() > last_line, "lines increase");
                    last_line = r.line();
                    for i in 0..r.len() + 2 {
                        let _ = r.bytes(i);
                    }
                }
            }
        }
    }

    #[test]
    fn csv_reader_on_csv_like_text(text in "[a-z,;\t\"\r\n ]{0,400}") {
        if let Ok(mut src) = CsvSource::new(std::io::Cursor::new(text.into_bytes()), 3) {
            while let Ok(Some(_)) = src.next_batch() {}
        }
    }

    #[test]
    fn row_validation_never_panics(
        cells in proptest::collection::vec((".{0,80}", any::<u8>()), 0..12),
        blockatm in any::<bool>(),
    ) {
        let header = ["address", "amount", "currency", "network", "memo", "order_id",
            "fee_option", "from_currency", "remark", "name"];
        let columns = Columns::from_header(header.iter().map(|s| s.to_string()).collect()).unwrap();
        let rules = RowRules {
            gateway: if blockatm { GatewayKind::BlockAtm } else { GatewayKind::G2328 },
            currency: None,
            network: None,
            chain: None,
            default_fee_option: FeeOption::Deduct,
            keep_rows: true,
            decimal_separator: None,
        };
        let mut batch = Batch::new();
        batch.push_row(2, cells.iter().map(|(t, k)| (t.as_str(), kind(*k))));
        let checker = RowChecker::new(&rules, &columns);
        let out = checker.check(batch.row(0).unwrap());
        prop_assert_eq!(out.cells.len(), header.len());
        prop_assert!(out.valid.is_none() || out.errors.is_empty());
    }

    #[test]
    fn amounts_never_panic(text in "\\PC{0,40}") {
        let _ = payrun::validate::amount::parse(&text);
    }
}
