//! The character pre-scan run before every family check: empty cells, spaces and invisible
//! characters, non-Latin look-alikes (Cyrillic `а`, Greek `ο`, full-width `０`) and any other
//! non-ASCII character. Nothing is trimmed or repaired; positions are character indexes.

use super::AddressError;

/// Rejects what no address of any family may contain. On success the address is printable
/// ASCII without spaces, so byte indexes equal character indexes in the family checks.
pub(super) fn prescan(address: &str) -> Result<(), AddressError> {
    if address.is_empty() {
        return Err(AddressError::Empty);
    }
    // Fast path: printable ASCII (0x21..=0x7e) is all the family checks need to see.
    if address.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Ok(());
    }
    for (at, ch) in address.chars().enumerate() {
        if ch.is_ascii_graphic() {
            continue;
        }
        if ch.is_whitespace() || ch.is_control() || is_invisible(ch) {
            return Err(AddressError::Whitespace { at });
        }
        if is_look_alike(ch) {
            return Err(AddressError::LookAlike { at, found: ch });
        }
        return Err(AddressError::Format(format!(
            "the address contains '{ch}' (U+{:04X}) at position {}; addresses use only plain \
             Latin letters and digits",
            ch as u32,
            at + 1
        )));
    }
    Ok(())
}

/// Zero-width, joiner, soft-hyphen, bidi-control and other format characters that render as
/// nothing (they survive copy and paste from web pages and PDFs).
fn is_invisible(ch: char) -> bool {
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
    fn empty_is_empty() {
        assert_eq!(prescan(""), Err(AddressError::Empty));
    }

    #[test]
    fn plain_ascii_passes() {
        assert_eq!(prescan("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"), Ok(()));
        assert_eq!(prescan("0:abc-_+/"), Ok(()));
    }

    #[test]
    fn spaces_and_invisibles_are_reported_at_their_char_index() {
        let cases = [
            (" abc", 0),
            ("abc ", 3),
            ("a\tbc", 1),
            ("abc\n", 3),
            ("abc\r", 3),
            ("ab\u{00A0}c", 2),
            ("ab\u{200B}c", 2),
            ("\u{FEFF}abc", 0),
            ("ab\u{00AD}c", 2),
            ("ab\u{2060}c", 2),
            ("ab\u{202E}c", 2),
            ("ab\u{2067}c", 2),
            ("ab\u{3000}c", 2),
            ("ab\u{0000}c", 2),
            ("ab\u{007F}c", 2),
        ];
        for (input, at) in cases {
            assert_eq!(
                prescan(input),
                Err(AddressError::Whitespace { at }),
                "{input:?}"
            );
        }
        assert_eq!(
            prescan("ab\u{200B}\u{0430}"),
            Err(AddressError::Whitespace { at: 2 })
        );
        assert_eq!(
            prescan("\u{0430}\u{200B}"),
            Err(AddressError::LookAlike {
                at: 0,
                found: '\u{0430}'
            })
        );
    }

    #[test]
    fn look_alikes_are_named() {
        for (input, at, found) in [
            ("TR7NHqjeKQxGTCi8q8ZY4pL8\u{043E}tSzgjLj6t", 24, 'о'),
            ("0x\u{0430}bc", 2, 'а'),
            ("\u{0422}R7", 0, 'Т'),
            ("ab\u{03BF}", 2, 'ο'),
            ("ab\u{FF11}", 2, '１'),
            ("ab\u{FF21}", 2, 'Ａ'),
            ("\u{0456}", 0, 'і'),
            ("x\u{1D7CE}", 1, '𝟎'),
        ] {
            assert_eq!(
                prescan(input),
                Err(AddressError::LookAlike { at, found }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn other_non_ascii_is_a_format_error() {
        let err = prescan("abé").unwrap_err();
        assert_eq!(err.code(), "address_format");
        assert!(err.to_string().contains("position 3"), "{err}");
        assert_eq!(prescan("ab€").unwrap_err().code(), "address_format");
    }
}
