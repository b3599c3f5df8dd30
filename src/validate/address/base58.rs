//! Base58 (Bitcoin alphabet) decoding onto a fixed-size stack buffer, for the address checks
//! (TRON, Bitcoin, Litecoin, Dogecoin, Dash and Solana addresses: 25 and 32 bytes).
//!
//! Our own code, where the `bs58` crate would do, because a measurement says so: `bs58` 0.5
//! multiplies the value into the output one byte at a time for every character (about 850
//! byte steps for a 34-character TRON address), which was 10 % of the CPU time of validating
//! the 1,000,000-row benchmark sheet (`perf record`, 580,000 base58 addresses). This decoder
//! gathers up to ten digits into one `u64` (58^10 < 2^64) and multiplies the value, kept in
//! 64-bit limbs, once per group: 4 groups × 4 limbs for the same address. The results and the
//! errors are exactly `bs58`'s, including which error wins when an input has several (the
//! tests compare the two on random and edge-case inputs), and `bs58` stays the oracle.

/// The Bitcoin base58 alphabet.
const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Marks an ASCII byte that is not in [`ALPHABET`].
const INVALID: u8 = 0xFF;

/// The digit value of each ASCII byte, or [`INVALID`].
const DIGITS: [u8; 128] = {
    let mut table = [INVALID; 128];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Digits gathered into one `u64` before the value is multiplied: 58^10 < 2^64 < 58^11.
const DIGITS_PER_GROUP: usize = 10;

/// The largest buffer [`decode`] serves, in bytes.
const MAX_CAP: usize = 64;

/// Limbs of the value: enough for [`MAX_CAP`] bytes and one more limb, so a value that does not
/// fit is seen as too long before the limbs run out.
const LIMBS: usize = MAX_CAP / 8 + 1;

/// Why a string does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base58Error {
    /// An ASCII character outside the alphabet, at this byte index.
    InvalidCharacter { character: char, index: usize },
    /// A byte above 127 at this byte index.
    NonAscii { index: usize },
    /// The value needs more bytes than the buffer has.
    TooLong,
}

/// Decodes `input` onto `out`, returning the decoded length: one zero byte for each leading
/// `1`, then the value big-endian in as few bytes as it needs; `out` past that length is left
/// as it was. `CAP` is at most 64.
///
/// Errors, as `bs58::decode(input).onto(out)` reports them: the first character that is not
/// ASCII or not in the alphabet, unless the characters before it already make a value longer
/// than `CAP` bytes, which is [`Base58Error::TooLong`] (as is a whole value, with its leading
/// zero bytes, longer than `CAP`).
pub(super) fn decode<const CAP: usize>(
    input: &[u8],
    out: &mut [u8; CAP],
) -> Result<usize, Base58Error> {
    const { assert!(CAP <= MAX_CAP) };
    let first_bad = input
        .iter()
        .position(|&c| c > 127 || DIGITS[usize::from(c)] == INVALID);
    let digits = &input[..first_bad.unwrap_or(input.len())];

    // The value of `digits`, little-endian limbs; `used` limbs from the bottom are in use and
    // the top one of them is not zero.
    let mut limbs = [0u64; LIMBS];
    let mut used = 0;
    for group in digits.chunks(DIGITS_PER_GROUP) {
        let mut add = 0u64;
        let mut times = 1u64;
        for &c in group {
            add = add * 58 + u64::from(DIGITS[usize::from(c)]);
            times *= 58;
        }
        let mut carry = u128::from(add);
        for limb in &mut limbs[..used] {
            let t = u128::from(*limb) * u128::from(times) + carry;
            *limb = t as u64;
            carry = t >> 64;
        }
        if carry != 0 {
            if used == LIMBS {
                return Err(Base58Error::TooLong);
            }
            limbs[used] = carry as u64;
            used += 1;
        }
    }
    let value_len = match used {
        0 => 0,
        n => (n - 1) * 8 + 8 - limbs[n - 1].leading_zeros() as usize / 8,
    };
    if value_len > CAP {
        return Err(Base58Error::TooLong);
    }
    if let Some(index) = first_bad {
        let c = input[index];
        return Err(if c > 127 {
            Base58Error::NonAscii { index }
        } else {
            Base58Error::InvalidCharacter {
                character: char::from(c),
                index,
            }
        });
    }
    let zeros = input.iter().take_while(|&&c| c == ALPHABET[0]).count();
    let len = zeros + value_len;
    if len > CAP {
        return Err(Base58Error::TooLong);
    }
    out[..zeros].fill(0);
    for (i, byte) in out[zeros..len].iter_mut().rev().enumerate() {
        *byte = (limbs[i / 8] >> (8 * (i % 8))) as u8;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_maps_errors() {
        let mut buf = [0u8; 25];
        // The Genesis address decodes to 25 bytes.
        assert_eq!(
            decode(b"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", &mut buf),
            Ok(25)
        );
        assert_eq!(buf[0], 0);
        assert_eq!(
            decode(b"1A1zP1eP5QGefi2DMPTfTL5SLmv7Divf0a", &mut buf),
            Err(Base58Error::InvalidCharacter {
                character: '0',
                index: 32
            })
        );
        assert_eq!(
            decode("1A1é".as_bytes(), &mut buf),
            Err(Base58Error::NonAscii { index: 3 })
        );
        let mut small = [0u8; 4];
        assert_eq!(
            decode(b"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", &mut small),
            Err(Base58Error::TooLong)
        );
    }

    /// `bs58`'s answer, mapped as the address checks see it.
    fn oracle<const CAP: usize>(input: &[u8]) -> (Result<usize, Base58Error>, [u8; CAP]) {
        let mut out = [0xA5u8; CAP];
        let r = bs58::decode(input).onto(&mut out[..]).map_err(|e| match e {
            bs58::decode::Error::InvalidCharacter { character, index } => {
                Base58Error::InvalidCharacter { character, index }
            }
            bs58::decode::Error::NonAsciiCharacter { index } => Base58Error::NonAscii { index },
            _ => Base58Error::TooLong,
        });
        (r, out)
    }

    fn agrees<const CAP: usize>(input: &[u8]) {
        let (want, want_out) = oracle::<CAP>(input);
        let mut out = [0xA5u8; CAP];
        let got = decode(input, &mut out);
        assert_eq!(
            got,
            want,
            "input {:?}, CAP {CAP}",
            String::from_utf8_lossy(input)
        );
        if let Ok(len) = got {
            assert_eq!(
                out[..len],
                want_out[..len],
                "input {:?}",
                String::from_utf8_lossy(input)
            );
            assert!(
                out[len..].iter().all(|&b| b == 0xA5),
                "wrote past the value"
            );
        }
    }

    fn agrees_everywhere(input: &[u8]) {
        agrees::<4>(input);
        agrees::<26>(input);
        agrees::<33>(input);
        agrees::<64>(input);
    }

    #[test]
    fn agrees_with_bs58_on_edge_cases() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"1".to_vec(),
            b"11111".to_vec(),
            b"2".to_vec(),
            b"z".to_vec(),
            b"1z".to_vec(),
            b"zzzzzzzzzz".to_vec(),
            b"zzzzzzzzzzz".to_vec(),
            b"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa".to_vec(),
            b"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".to_vec(),
            b"11111111111111111111111111111111".to_vec(),
            b"So11111111111111111111111111111111111111112".to_vec(),
            b"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v".to_vec(),
            "1A1\u{e9}".as_bytes().to_vec(),
            b"0".to_vec(),
            b"1O".to_vec(),
            b"l1".to_vec(),
        ];
        // A value just inside and just past each buffer, then a bad character after it.
        for n in 0..=70 {
            let long = vec![b'z'; n];
            cases.push(long.clone());
            let mut bad = long.clone();
            bad.push(b'0');
            cases.push(bad);
            let mut non_ascii = long;
            non_ascii.push(0xC3);
            cases.push(non_ascii);
            let mut zeros = vec![b'1'; n];
            zeros.push(b'2');
            cases.push(zeros);
        }
        for case in &cases {
            agrees_everywhere(case);
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_bs58_on_alphabet_strings(s in "[1-9A-HJ-NP-Za-km-z]{0,90}") {
            agrees_everywhere(s.as_bytes());
        }

        #[test]
        fn agrees_with_bs58_on_any_bytes(bytes in proptest::collection::vec(
            proptest::prop_oneof![
                8 => proptest::sample::select(ALPHABET.to_vec()),
                1 => proptest::num::u8::ANY,
            ],
            0..80,
        )) {
            agrees_everywhere(&bytes);
        }

        #[test]
        fn round_trips_encoded_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let text = bs58::encode(&bytes).into_string();
            let mut out = [0u8; 64];
            let len = decode(text.as_bytes(), &mut out).unwrap();
            proptest::prop_assert_eq!(&out[..len], &bytes[..]);
        }
    }
}
