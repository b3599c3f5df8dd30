//! Spreadsheet numbers to text: an XLSX numeric cell is an IEEE-754 double, so it is rendered as
//! the shortest decimal that round-trips to the same double (Rust's `{}` for `f64`: no exponent,
//! integers without `.0`), and then checked like any typed amount — never trusted as binary
//! floating point. Also renders Excel date serials as ISO dates for passthrough columns.

/// Doubles at or above this magnitude are not all exact integers (2^53).
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// The shortest decimal text that round-trips to `f`; None for NaN and infinities.
pub fn shortest_decimal(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    if f == 0.0 {
        return Some("0".to_string());
    }
    Some(format!("{f}"))
}

/// True when `f` is an integer that a double holds exactly (digits may be lost beyond 2^53:
/// a 20-digit memo or id typed into a numeric cell is no longer the number that was typed).
pub fn is_exact_integer(f: f64) -> bool {
    f.is_finite() && f.fract() == 0.0 && f.abs() < EXACT_INTEGER_LIMIT
}

/// An Excel date serial (days since 1899-12-30, 1900 date system) as `YYYY-MM-DD` or
/// `YYYY-MM-DD HH:MM:SS`; None when out of range.
pub fn excel_date_text(serial: f64) -> Option<String> {
    if !serial.is_finite() || !(0.0..3_000_000.0).contains(&serial) {
        return None;
    }
    let days = serial.floor();
    let secs = ((serial - days) * 86_400.0).round() as i64;
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let date = base.checked_add_days(chrono::Days::new(days as u64))?;
    let dt = date.and_hms_opt(0, 0, 0)? + chrono::Duration::seconds(secs);
    Some(if secs == 0 {
        dt.format("%Y-%m-%d").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_round_trip_forms() {
        assert_eq!(shortest_decimal(100.0).unwrap(), "100");
        assert_eq!(shortest_decimal(12.5).unwrap(), "12.5");
        assert_eq!(shortest_decimal(0.1).unwrap(), "0.1");
        assert_eq!(shortest_decimal(0.1 + 0.2).unwrap(), "0.30000000000000004");
        assert_eq!(shortest_decimal(1e21).unwrap(), "1000000000000000000000");
        assert_eq!(shortest_decimal(1e-7).unwrap(), "0.0000001");
        assert_eq!(shortest_decimal(-0.0).unwrap(), "0");
        assert_eq!(shortest_decimal(-3.25).unwrap(), "-3.25");
        assert!(shortest_decimal(f64::NAN).is_none());
        assert!(shortest_decimal(f64::INFINITY).is_none());
    }

    #[test]
    fn every_rendering_parses_back_to_the_same_double() {
        for f in [
            0.1,
            1.0 / 3.0,
            123456.789,
            5e-324,
            1.7976931348623157e308,
            0.000001,
        ] {
            let s = shortest_decimal(f).unwrap();
            assert_eq!(s.parse::<f64>().unwrap(), f, "{s}");
            assert!(!s.contains('e'), "{s}");
        }
    }

    #[test]
    fn exact_integers_stop_at_2_pow_53() {
        assert!(is_exact_integer(1234567.0));
        assert!(!is_exact_integer(1.5));
        assert!(!is_exact_integer(12345678901234567890.0));
    }

    #[test]
    fn excel_serials_become_dates() {
        assert_eq!(excel_date_text(45292.0).unwrap(), "2024-01-01");
        assert_eq!(excel_date_text(45292.5).unwrap(), "2024-01-01 12:00:00");
        assert!(excel_date_text(-1.0).is_none());
    }
}
