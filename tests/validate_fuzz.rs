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
    fn a_row_checked_into_a_used_slot_is_checked_as_into_a_fresh_one(
        first in proptest::collection::vec((".{0,60}", any::<u8>()), 0..10),
        second in proptest::collection::vec((".{0,60}", any::<u8>()), 0..10),
        valid_first in any::<bool>(),
        keep_rows in any::<bool>(),
    ) {
        // The pipeline reuses its outcome slots from batch to batch (`check_into`): whatever
        // a slot held (a valid row with its keys and payout, or problems), the next row's
        // outcome must be exactly what a fresh check gives.
        let header = ["address", "amount", "currency", "network", "memo", "order_id",
            "fee_option", "from_currency", "remark", "name"];
        let columns = Columns::from_header(header.iter().map(|s| s.to_string()).collect()).unwrap();
        let rules = RowRules {
            gateway: GatewayKind::G2328,
            currency: None,
            network: None,
            chain: None,
            default_fee_option: FeeOption::Deduct,
            keep_rows,
            decimal_separator: None,
        };
        let valid: [(&str, u8); 6] = [
            ("TSYCEiSKYabMtGqC58mo37szjpYcGAHRjo", 0), ("12.5", 0), ("USDT", 0),
            ("TRX-TRC20", 0), ("", 0), ("order-1", 0),
        ];
        let mut batch = Batch::new();
        if valid_first {
            batch.push_row(2, valid.iter().map(|(t, k)| (*t, kind(*k))));
        } else {
            batch.push_row(2, first.iter().map(|(t, k)| (t.as_str(), kind(*k))));
        }
        batch.push_row(3, second.iter().map(|(t, k)| (t.as_str(), kind(*k))));
        let checker = RowChecker::new(&rules, &columns);
        let mut slot = checker.check(batch.row(0).unwrap());
        prop_assert!(!valid_first || slot.valid.is_some(), "{:?}", slot.errors);
        checker.check_into(batch.row(1).unwrap(), &mut slot);
        let fresh = checker.check(batch.row(1).unwrap());
        prop_assert_eq!(format!("{slot:?}"), format!("{fresh:?}"));
    }

    #[test]
    fn amounts_never_panic(text in "\\PC{0,40}") {
        let _ = payrun::validate::amount::parse(&text);
    }
}
