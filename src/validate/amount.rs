//! Amount rules: a plain decimal (`1234.5`), greater than zero, with no more decimals than the
//! asset has on its network. Thousands separators, currency signs, exponents and decimal commas
//! are refused with a hint saying what to write instead; nothing is silently reinterpreted.
//! The parsed `Decimal` keeps the scale the user wrote (`1.50` stays `1.50`).

use rust_decimal::Decimal;
use std::str::FromStr;

use super::chars::{self, trim};
use super::problem::{codes, quote};

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: String) -> AmountError {
    AmountError { code, message }
}

/// The decimal mark the user stated with `--decimal-separator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalSeparator {
    Point,
    Comma,
}

/// How a text amount's separators read, for the file-wide verdict (docs/design.md, "The
/// sheet": a `;`-delimited or decimal-comma file makes dot-grouped amounts ambiguous).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separators {
    /// Nothing that depends on the convention.
    Plain,
    /// `1.500`, `12.345.678`: thousands grouped by points, or three decimals.
    DotGrouped,
    /// `12,5`, `1.234,50`: a decimal comma.
    DecimalComma,
}

/// `[1-9]ddd?` then one or more `.ddd` groups.
fn dot_grouped(t: &str) -> bool {
    // bytes, not `str::split('.')`: '.' is ASCII, and the char searcher was most of this
    // function's cost (it runs on every text amount)
    let mut groups = t.as_bytes().split(|&b| b == b'.');
    let first = groups.next().unwrap_or(b"");
    let mut n = 0;
    let rest_ok = groups.all(|g| {
        n += 1;
        g.len() == 3 && g.iter().all(u8::is_ascii_digit)
    });
    n > 0
        && rest_ok
        && (1..=3).contains(&first.len())
        && first.iter().all(u8::is_ascii_digit)
        && first[0] != b'0'
}

/// The separators of a text amount (surrounding whitespace ignored).
pub fn separators(text: &str) -> Separators {
    let t = trim(text);
    // ',' is ASCII: a byte search finds what `split_once(',')` would
    if let Some(comma) = t.bytes().position(|b| b == b',') {
        let (int, frac) = (&t[..comma], &t[comma + 1..]);
        let int_ok =
            (!int.is_empty() && int.bytes().all(|b| b.is_ascii_digit())) || dot_grouped(int);
        let frac_ok = !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit());
        // `1,500` alone is a thousands comma as much as a decimal one: not counted.
        if int_ok && frac_ok && (frac.len() != 3 || int.as_bytes().contains(&b'.')) {
            return Separators::DecimalComma;
        }
        return Separators::Plain;
    }
    if dot_grouped(t) {
        Separators::DotGrouped
    } else {
        Separators::Plain
    }
}

/// Parses a text amount under the stated convention; the one place a separator is read. With
/// no convention it is `parse` (the pipeline then decides whether a dot-grouped amount is
/// ambiguous in this file). Under `,`, `1.234,50` is 1234.50 and `1.500` is 1500.
pub fn parse_with(text: &str, separator: Option<DecimalSeparator>) -> Result<Decimal, AmountError> {
    if separator != Some(DecimalSeparator::Comma) {
        return parse(text);
    }
    let t = trim(text);
    let (int, frac) = t.split_once(',').unwrap_or((t, ""));
    let int_ok = (!int.is_empty() && int.bytes().all(|b| b.is_ascii_digit())) || dot_grouped(int);
    let frac_ok = frac.bytes().all(|b| b.is_ascii_digit()) && (t.contains(',') != frac.is_empty());
    if int_ok && frac_ok {
        let mut plain: String = int.chars().filter(|c| *c != '.').collect();
        if !frac.is_empty() {
            plain.push('.');
            plain.push_str(frac);
        }
        return parse(&plain);
    }
    if is_plain(t) && t.contains('.') {
        return Err(err(
            codes::AMOUNT_FORMAT,
            format!(
                "{} has a point, but --decimal-separator , makes the comma the decimal mark \
                 and the point a thousands separator; write {}",
                quote(t),
                t.replace('.', ",")
            ),
        ));
    }
    parse(t)
}

/// The error of a dot-grouped amount in a file whose convention is not stated but uses decimal
/// commas or `;` as delimiter.
pub fn ambiguous(text: &str, why: &str) -> AmountError {
    let t = trim(text);
    let thousands: String = t.chars().filter(|c| *c != '.').collect();
    err(
        codes::AMOUNT_AMBIGUOUS_SEPARATOR,
        format!(
            "{} is ambiguous in this file ({why}): it reads as {thousands} with points grouping \
             thousands, or as {t} with a decimal point; pass --decimal-separator , \
             (for {thousands}) or --decimal-separator . (for {t})",
            quote(t)
        ),
    )
}

/// Integer digits allowed (no payout needs more; keeps sums far from `Decimal`'s limit).
const MAX_INTEGER_DIGITS: usize = 20;
/// Significant digits a `Decimal` holds exactly.
const MAX_DIGITS: usize = 28;

/// `digits` or `digits.digits`, ASCII only.
fn is_plain(t: &str) -> bool {
    // '.' is ASCII, so a byte search finds what `split_once('.')` would, without a char searcher
    let (int, frac) = match t.bytes().position(|b| b == b'.') {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses the amount text (surrounding whitespace ignored).
pub fn parse(text: &str) -> Result<Decimal, AmountError> {
    let t = trim(text);
    if t.is_empty() {
        return Err(err(codes::AMOUNT_MISSING, "the amount is empty".into()));
    }
    if is_plain(t) {
        let int_part = t.bytes().position(|b| b == b'.').map_or(t, |i| &t[..i]);
        let int_digits = int_part.trim_start_matches('0').len();
        let digits = t.trim_start_matches(['0', '.']).len();
        if int_digits > MAX_INTEGER_DIGITS || digits > MAX_DIGITS + 1 {
            return Err(err(
                codes::AMOUNT_TOO_LARGE,
                format!("{} has too many digits for an amount", quote(t)),
            ));
        }
        let d = Decimal::from_str(t).map_err(|_| {
            err(
                codes::AMOUNT_TOO_LARGE,
                format!("{} has too many digits for an amount", quote(t)),
            )
        })?;
        if d.is_zero() {
            return Err(err(
                codes::AMOUNT_NOT_POSITIVE,
                format!("the amount is {}; it must be greater than zero", quote(t)),
            ));
        }
        return Ok(d);
    }
    Err(classify(t))
}

/// Names the mistake in a non-plain amount.
fn classify(t: &str) -> AmountError {
    let q = quote(t);
    // A thousands separator that happens to be a no-break space gets the separator hint below.
    let separator = |c: char| matches!(c, '\u{a0}' | '\u{202f}');
    if let Some((at, ch)) = chars::first_invisible(t).filter(|(_, c)| !separator(*c)) {
        return err(
            codes::AMOUNT_INVISIBLE_CHARACTER,
            format!(
                "{q} has the invisible character {} at position {}; type the amount again",
                chars::describe(ch),
                at + 1
            ),
        );
    }
    if let Some(rest) = t.strip_prefix('-') {
        let rest = rest.trim_start();
        if is_plain(rest) {
            // `-0` and `-0.00` are zero, not negative.
            let what = if rest.bytes().all(|b| b == b'0' || b == b'.') {
                "zero"
            } else {
                "negative"
            };
            return err(
                codes::AMOUNT_NOT_POSITIVE,
                format!("the amount {q} is {what}; it must be greater than zero"),
            );
        }
    }
    if let Some(full) = exponent_value(t) {
        let hint = match full {
            Some(d) => format!("write the full number ({d})"),
            None => "write the full number".to_string(),
        };
        return err(
            codes::AMOUNT_EXPONENT,
            format!(
                "{q} is in scientific notation; {hint}; in a spreadsheet, format the column as \
                 Number or Text, not Scientific"
            ),
        );
    }
    if t.chars()
        .any(|c| "$€£¥₮₿₽₹₩¢".contains(c) || c.is_alphabetic())
    {
        return err(
            codes::AMOUNT_CURRENCY_SIGN,
            format!(
                "{q} contains a currency sign or text; write the number only (e.g. 100.50) and \
                 put the currency in the currency column"
            ),
        );
    }
    let body = t.strip_prefix('+').unwrap_or(t);
    let grouping = |c: char| matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '’' | '_');
    let only_number_chars = body
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c == '.' || grouping(c));
    if only_number_chars && body.chars().any(|c| c.is_ascii_digit()) {
        let commas = body.matches(',').count();
        let dots = body.matches('.').count();
        let thousands = |suggest: String| {
            err(
                codes::AMOUNT_THOUSANDS_SEPARATOR,
                format!("{q} has a thousands separator; write {suggest} (digits and one decimal point only)"),
            )
        };
        if body.chars().any(grouping) || (commas > 0 && dots > 0) || dots > 1 || commas > 1 {
            // The decimal mark is the last ',' or '.' when both kinds appear or the last one
            // is followed by other than exactly three digits.
            let last = body.rfind([',', '.']);
            let suggest: String = match last {
                Some(i) if commas > 0 && dots > 0 || (body.len() - i - 1) != 3 => {
                    let (int, frac) = body.split_at(i);
                    let int: String = int.chars().filter(char::is_ascii_digit).collect();
                    format!("{int}.{}", &frac[1..])
                }
                _ => body.chars().filter(char::is_ascii_digit).collect(),
            };
            return thousands(suggest);
        }
        if commas == 1 {
            let (int, frac) = body.split_once(',').unwrap_or((body, ""));
            if frac.len() == 3 && !int.is_empty() {
                return err(
                    codes::AMOUNT_THOUSANDS_SEPARATOR,
                    format!(
                        "{q} is ambiguous: write {int}{frac} if the comma separates thousands, \
                         or {int}.{frac} if it is a decimal comma"
                    ),
                );
            }
            return err(
                codes::AMOUNT_DECIMAL_COMMA,
                format!("{q} uses a decimal comma; write {int}.{frac} with a point"),
            );
        }
    }
    if let Some(rest) = t.strip_prefix('+') {
        if is_plain(rest) {
            return err(
                codes::AMOUNT_FORMAT,
                format!("{q} has a plus sign; write {rest}"),
            );
        }
    }
    if let Some(frac) = t.strip_prefix('.') {
        if is_plain(frac) {
            return err(
                codes::AMOUNT_FORMAT,
                format!("{q} has no digit before the point; write 0.{frac}"),
            );
        }
    }
    err(
        codes::AMOUNT_FORMAT,
        format!("{q} is not a plain decimal number like 1234.5"),
    )
}

/// `Some(value)` when `t` is a number in scientific notation (`value` when it fits a Decimal).
fn exponent_value(t: &str) -> Option<Option<Decimal>> {
    let i = t.find(['e', 'E'])?;
    let (mant, exp) = (&t[..i], &t[i + 1..]);
    let mant_ok = is_plain(mant.strip_prefix(['-', '+']).unwrap_or(mant));
    let exp_digits = exp.strip_prefix(['-', '+']).unwrap_or(exp);
    let exp_ok = !exp_digits.is_empty() && exp_digits.bytes().all(|b| b.is_ascii_digit());
    if !(mant_ok && exp_ok) {
        return None;
    }
    Some(Decimal::from_scientific(t).ok().map(|d| d.normalize()))
}

/// Checks the written number of decimals against the asset's. `float_text` is set when the
/// amount came from a spreadsheet number cell (the hint then explains binary floats).
pub fn check_precision(
    amount: &Decimal,
    decimals: u32,
    currency: &str,
    network: &str,
    from_number_cell: bool,
) -> Result<(), AmountError> {
    let scale = amount.scale();
    if scale <= decimals {
        return Ok(());
    }
    let what = format!("{amount} has {scale} decimals but {currency} on {network} has {decimals}");
    let hint = if from_number_cell {
        format!(
            "; the cell holds a binary floating-point number (e.g. 0.1+0.2 is stored as \
             0.30000000000000004): round it in the spreadsheet, e.g. =ROUND(value, {decimals})"
        )
    } else {
        format!("; round it to {decimals} decimals")
    };
    Err(err(codes::AMOUNT_PRECISION, format!("{what}{hint}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_classified() {
        assert_eq!(separators("1.500"), Separators::DotGrouped);
        assert_eq!(separators("12.345.678"), Separators::DotGrouped);
        assert_eq!(separators("0.125"), Separators::Plain);
        assert_eq!(separators("1.5"), Separators::Plain);
        assert_eq!(separators("1234.500"), Separators::Plain);
        assert_eq!(separators("12,5"), Separators::DecimalComma);
        assert_eq!(separators("1.234,50"), Separators::DecimalComma);
        assert_eq!(separators("1,500"), Separators::Plain);
        assert_eq!(separators("1,234.5"), Separators::Plain);
    }

    #[test]
    fn the_comma_convention_reads_grouped_amounts() {
        let c = Some(DecimalSeparator::Comma);
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(parse_with("1.234,50", c).unwrap(), d("1234.50"));
        assert_eq!(parse_with("1.500", c).unwrap(), d("1500"));
        assert_eq!(parse_with("12.345.678", c).unwrap(), d("12345678"));
        assert_eq!(parse_with("12,5", c).unwrap(), d("12.5"));
        assert_eq!(parse_with("7", c).unwrap(), d("7"));
        assert_eq!(parse_with("1.5", c).unwrap_err().code, codes::AMOUNT_FORMAT);
        assert_eq!(
            parse_with("1,", c).unwrap_err().code,
            codes::AMOUNT_DECIMAL_COMMA
        );
        assert_eq!(
            parse_with("0,0", c).unwrap_err().code,
            codes::AMOUNT_NOT_POSITIVE
        );
        let p = Some(DecimalSeparator::Point);
        assert_eq!(parse_with("1.500", p).unwrap(), d("1.500"));
        assert_eq!(parse_with("1.500", None).unwrap(), d("1.500"));
        assert_eq!(
            parse_with("12,5", p).unwrap_err().code,
            codes::AMOUNT_DECIMAL_COMMA
        );
    }

    fn code(t: &str) -> &'static str {
        parse(t).unwrap_err().code
    }

    #[test]
    fn plain_decimals_parse_with_their_scale() {
        assert_eq!(parse("1234.5").unwrap().to_string(), "1234.5");
        assert_eq!(parse("1.50").unwrap().scale(), 2);
        assert_eq!(parse(" 100 ").unwrap().to_string(), "100");
        assert_eq!(parse("0.000001").unwrap().to_string(), "0.000001");
        assert_eq!(parse("007").unwrap().to_string(), "7");
    }

    #[test]
    fn zero_negative_and_empty_are_refused() {
        assert_eq!(code("0"), codes::AMOUNT_NOT_POSITIVE);
        assert_eq!(code("0.000"), codes::AMOUNT_NOT_POSITIVE);
        assert_eq!(code("-5"), codes::AMOUNT_NOT_POSITIVE);
        assert!(parse("-5").unwrap_err().message.contains("is negative"));
        for zero in ["-0", "-0.00", "- 0"] {
            let e = parse(zero).unwrap_err();
            assert_eq!(e.code, codes::AMOUNT_NOT_POSITIVE, "{zero}");
            assert!(e.message.contains("is zero"), "{zero}: {}", e.message);
        }
        assert_eq!(code(""), codes::AMOUNT_MISSING);
        assert_eq!(code("   "), codes::AMOUNT_MISSING);
    }

    #[test]
    fn exponents_are_refused_with_the_full_number() {
        let e = parse("1e+21").unwrap_err();
        assert_eq!(e.code, codes::AMOUNT_EXPONENT);
        assert!(
            e.message.contains("1000000000000000000000"),
            "{}",
            e.message
        );
        assert_eq!(code("1.5E3"), codes::AMOUNT_EXPONENT);
        assert_eq!(code("2e-7"), codes::AMOUNT_EXPONENT);
    }

    #[test]
    fn separators_and_signs_get_their_own_codes_and_hints() {
        let e = parse("1,234.56").unwrap_err();
        assert_eq!(e.code, codes::AMOUNT_THOUSANDS_SEPARATOR);
        assert!(e.message.contains("write 1234.56"), "{}", e.message);
        let e = parse("1.234,56").unwrap_err();
        assert!(e.message.contains("write 1234.56"), "{}", e.message);
        assert_eq!(code("1 000"), codes::AMOUNT_THOUSANDS_SEPARATOR);
        assert_eq!(code("1'000.5"), codes::AMOUNT_THOUSANDS_SEPARATOR);
        assert_eq!(code("1.234.567"), codes::AMOUNT_THOUSANDS_SEPARATOR);
        assert_eq!(code("1,234"), codes::AMOUNT_THOUSANDS_SEPARATOR);
        let e = parse("12,5").unwrap_err();
        assert_eq!(e.code, codes::AMOUNT_DECIMAL_COMMA);
        assert!(e.message.contains("write 12.5"), "{}", e.message);
        assert_eq!(code("$100"), codes::AMOUNT_CURRENCY_SIGN);
        assert_eq!(code("100 USDT"), codes::AMOUNT_CURRENCY_SIGN);
        assert_eq!(code("€5,50"), codes::AMOUNT_CURRENCY_SIGN);
        assert_eq!(code("+5"), codes::AMOUNT_FORMAT);
        assert_eq!(code(".5"), codes::AMOUNT_FORMAT);
        assert_eq!(code("5."), codes::AMOUNT_FORMAT);
        assert_eq!(code("1/2"), codes::AMOUNT_FORMAT);
    }

    #[test]
    fn too_many_digits_is_not_rounded() {
        assert_eq!(code("123456789012345678901"), codes::AMOUNT_TOO_LARGE);
        assert_eq!(
            code("1.00000000000000000000000000001"),
            codes::AMOUNT_TOO_LARGE
        );
    }

    #[test]
    fn precision_follows_the_asset() {
        let d = parse("1.1234567").unwrap();
        let e = check_precision(&d, 6, "USDT", "TRX-TRC20", false).unwrap_err();
        assert_eq!(e.code, codes::AMOUNT_PRECISION);
        assert!(e.message.contains("7 decimals") && e.message.contains("has 6"));
        assert!(check_precision(&d, 18, "USDT", "BSC-BEP20", false).is_ok());
        let f = parse("0.30000000000000004").unwrap();
        let e = check_precision(&f, 6, "USDT", "TRX-TRC20", true).unwrap_err();
        assert!(e.message.contains("ROUND"), "{}", e.message);
        assert!(check_precision(&parse("1.50").unwrap(), 2, "X", "Y", false).is_ok());
    }
}
