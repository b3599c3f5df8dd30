//! The one character check every field uses (docs/design.md, "Validation": "whitespace,
//! zero-width and look-alike characters are errors, never trimmed"): which characters a reader
//! cannot see, and which look like a Latin letter or digit but are not. Addresses refuse both,
//! memos and amounts refuse the invisible ones; each field names the character and its
//! position. Nothing is trimmed or repaired.

/// `str::trim`, answering at once for the usual cell: text that starts and ends with
/// printable ASCII (`!`..`~`) has no whitespace at either end and is returned as it is. The
/// row checks trim a dozen cells a row for lookups and emptiness tests (never to repair a
/// value: see above); the general trim decoded characters at both ends each time (3 % of
/// `validate`'s CPU).
#[inline]
pub fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// What one character is, for the field checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    /// Printable ASCII other than the space (`!`..`~`).
    Graphic,
    /// The ASCII space.
    Space,
    /// Shows as nothing or as a blank: any other whitespace (tab, line breaks, no-break and
    /// ideographic spaces), control characters, and zero-width and format characters
    /// (zero-width space and joiners, byte order mark, soft hyphen, bidi controls, tags…).
    Invisible,
    /// Visible, but easily mistaken for a Latin letter or digit (Cyrillic `а`, Greek `ο`,
    /// full-width `０`…).
    LookAlike,
    /// Any other visible non-ASCII character.
    Other,
}

/// The class of `ch`.
pub fn class(ch: char) -> CharClass {
    if ch.is_ascii_graphic() {
        CharClass::Graphic
    } else if ch == ' ' {
        CharClass::Space
    } else if ch.is_whitespace() || ch.is_control() || is_format(ch) {
        CharClass::Invisible
    } else if is_look_alike(ch) {
        CharClass::LookAlike
    } else {
        CharClass::Other
    }
}

/// The first invisible character of `text`: (character index, character).
pub fn first_invisible(text: &str) -> Option<(usize, char)> {
    if text.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return None;
    }
    text.chars()
        .enumerate()
        .find(|(_, c)| class(*c) == CharClass::Invisible)
}

/// How a message names an invisible character: `U+200B (zero width space)`.
pub fn describe(ch: char) -> String {
    let name = match ch {
        '\t' => "tab",
        '\n' => "line feed",
        '\r' => "carriage return",
        '\u{00A0}' => "no-break space",
        '\u{00AD}' => "soft hyphen",
        '\u{200B}' => "zero width space",
        '\u{200C}' => "zero width non-joiner",
        '\u{200D}' => "zero width joiner",
        '\u{2060}' => "word joiner",
        '\u{FEFF}' => "byte order mark",
        '\u{3000}' => "ideographic space",
        c if c.is_control() => "control character",
        c if c.is_whitespace() => "space",
        _ => "invisible character",
    };
    format!("U+{:04X} ({name})", ch as u32)
}

/// Zero-width, joiner, soft-hyphen, bidi-control and other format characters that render as
/// nothing (they survive copy and paste from web pages and PDFs).
fn is_format(ch: char) -> bool {
    matches!(ch,
        '\u{00AD}'                  // soft hyphen
        | '\u{034F}'                // combining grapheme joiner
        | '\u{061C}'                // Arabic letter mark
        | '\u{115F}' | '\u{1160}'   // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'   // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'   // Mongolian variation selectors, vowel separator
        | '\u{200B}'..='\u{200F}'   // zero width space/non-joiner/joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'   // word joiner, invisible operators
        | '\u{2066}'..='\u{206F}'   // bidi isolates, deprecated format characters
        | '\u{3164}'                // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'   // variation selectors
        | '\u{FEFF}'                // byte order mark / zero width no-break space
        | '\u{FFA0}'                // half-width Hangul filler
        | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
        | '\u{E0000}'..='\u{E007F}' // tag characters
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// Characters that are easily mistaken for a Latin letter or digit.
fn is_look_alike(ch: char) -> bool {
    matches!(ch,
        // Cyrillic lower case: а в е к м н о р с т у х і ј ѕ ԁ ԛ ԝ һ ӏ ү
        'а' | 'в' | 'е' | 'к' | 'м' | 'н' | 'о' | 'р' | 'с' | 'т' | 'у' | 'х'
        | 'і' | 'ј' | 'ѕ' | 'ԁ' | 'ԛ' | 'ԝ' | 'һ' | 'ӏ' | 'ү' | 'ь'
        // Cyrillic upper case: А В Е К М Н О Р С Т Х І Ј Ѕ У Ү Ԛ Ԝ З Ӏ
        | 'А' | 'В' | 'Е' | 'К' | 'М' | 'Н' | 'О' | 'Р' | 'С' | 'Т' | 'Х' | 'І'
        | 'Ј' | 'Ѕ' | 'У' | 'Ү' | 'Ԛ' | 'Ԝ' | 'З' | 'Ӏ'
        // Greek lower case: ο α ν ι κ ρ τ υ χ ϲ ϳ
        | 'ο' | 'α' | 'ν' | 'ι' | 'κ' | 'ρ' | 'τ' | 'υ' | 'χ' | 'ϲ' | 'ϳ'
        // Greek upper case: Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ Ϲ
        | 'Α' | 'Β' | 'Ε' | 'Ζ' | 'Η' | 'Ι' | 'Κ' | 'Μ' | 'Ν' | 'Ο' | 'Ρ' | 'Τ'
        | 'Υ' | 'Χ' | 'Ϲ'
        // Armenian օ ս, Latin dotless ı, script ℓ, Kelvin and Ångström signs
        | 'օ' | 'ս' | 'ı' | 'ℓ' | '\u{212A}' | '\u{212B}'
        // superscript and subscript digits and letters
        | '¹' | '²' | '³' | '\u{2070}'..='\u{209C}'
        // Roman numerals Ⅰ Ⅴ Ⅹ Ⅼ Ⅽ Ⅾ Ⅿ ⅰ …
        | '\u{2160}'..='\u{217F}'
        // full-width digits and letters
        | '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}'
        // full-width punctuation an address form uses: ： －
        | '\u{FF1A}' | '\u{FF0D}'
        // mathematical bold/italic/script/monospace letters and digits
        | '\u{1D400}'..='\u{1D7FF}'
        // circled digits and letters
        | '\u{2460}'..='\u{24FF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(class('a'), CharClass::Graphic);
        assert_eq!(class(' '), CharClass::Space);
        for c in [
            '\t', '\n', '\u{a0}', '\u{200b}', '\u{feff}', '\u{0}', '\u{7f}', '\u{3000}',
        ] {
            assert_eq!(class(c), CharClass::Invisible, "{c:?}");
        }
        assert_eq!(class('\u{0430}'), CharClass::LookAlike);
        assert_eq!(class('é'), CharClass::Other);
        assert_eq!(first_invisible("ab c"), None);
        assert_eq!(first_invisible("é\u{200b}x"), Some((1, '\u{200b}')));
        assert_eq!(describe('\u{feff}'), "U+FEFF (byte order mark)");
    }
}

/// The memo, address and amount checks agree on what is invisible, for every character of
/// every Unicode category: put inside an otherwise valid value, an invisible character makes
/// each refuse the value with its own "invisible" code, and any other character never does.
#[cfg(test)]
mod agreement {
    use super::*;
    use crate::networks;
    use crate::sheet::CellKind;
    use crate::validate::address::{self, AddressFamily};
    use crate::validate::problem::codes;
    use crate::validate::{amount, memo};

    const TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";

    fn insert(text: &str, at: usize, ch: char) -> String {
        let mut s: String = text.chars().take(at).collect();
        s.push(ch);
        s.extend(text.chars().skip(at));
        s
    }

    /// The three verdicts for `ch` at char index `at` (inside the value).
    fn verdicts(ch: char, at: usize) -> (bool, bool, bool) {
        let addr = insert(TRON, at.min(TRON.len() - 1).max(1), ch);
        let address_invisible = matches!(
            address::check(AddressFamily::Tron, &addr),
            Err(address::AddressError::Whitespace { .. })
        ) && ch != ' ';
        let m = insert("1234567", at.clamp(1, 6), ch);
        let memo_invisible = matches!(
            memo::check(&m, CellKind::Text, networks::lookup("TON")),
            Err((code, _)) if code == codes::MEMO_INVISIBLE_CHARACTER
        );
        let a = insert("1000", at.clamp(1, 3), ch);
        let amount_invisible = match amount::parse(&a) {
            Err(e) => {
                e.code == codes::AMOUNT_INVISIBLE_CHARACTER
                    // a no-break space is named as a thousands separator instead
                    || (matches!(ch, '\u{a0}' | '\u{202f}')
                        && e.code == codes::AMOUNT_THOUSANDS_SEPARATOR)
            }
            Ok(_) => false,
        };
        (address_invisible, memo_invisible, amount_invisible)
    }

    #[test]
    fn every_character_gets_the_same_verdict_from_every_field() {
        for ch in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let invisible = class(ch) == CharClass::Invisible;
            assert_eq!(
                verdicts(ch, 2),
                (invisible, invisible, invisible),
                "U+{:04X}",
                ch as u32
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_character_anywhere_inside(ch in proptest::prelude::any::<char>(), at in 1usize..6) {
            let invisible = class(ch) == CharClass::Invisible;
            proptest::prop_assert_eq!(verdicts(ch, at), (invisible, invisible, invisible));
        }
    }
}
