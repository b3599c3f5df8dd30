//! Base58 (Bitcoin alphabet) decoding onto a fixed-size stack buffer, with exactly the results
//! of `bs58::decode(..).onto(&mut [u8; CAP])` — the same decoded bytes and the same error for
//! every input — but word-wise: ten characters are folded into one `u64` and the big number is
//! kept in 64-bit limbs, instead of one byte-wise multiply of the whole buffer per character.
//! A property test below checks the equivalence against `bs58` on arbitrary strings.

/// Why a string does not decode (mirrors the `bs58` errors the address checks distinguish).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base58Error {
    /// An ASCII character outside the alphabet, at this byte index.
    InvalidCharacter { character: char, index: usize },
    /// A byte above 127 at this byte index.
    NonAscii { index: usize },
    /// The value needs more bytes than the buffer has (`bs58`'s `BufferTooSmall`).
    TooLong,
}

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const INVALID: u8 = 0xFF;

/// Digit value of each ASCII byte, `INVALID` outside the alphabet.
static DIGITS: [u8; 128] = {
    let mut t = [INVALID; 128];
    let mut i = 0;
    while i < ALPHABET.len() {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Limbs of the working number: the largest buffer (33 bytes, 264 bits) times 58^10 (< 2^59)
/// still fits in 6 limbs (384 bits), so a multiply never loses bits before the overflow test.
const LIMBS: usize = 6;
/// Largest buffer this decoder serves.
pub(super) const MAX_CAP: usize = 40;
/// Characters folded into one word: 58^10 < 2^64.
const GROUP: usize = 10;

/// Decodes `input` onto `out`, returning the decoded length. `CAP` is at most `MAX_CAP`.
pub(super) fn decode<const CAP: usize>(
    input: &[u8],
    out: &mut [u8; CAP],
) -> Result<usize, Base58Error> {
    const { assert!(CAP <= MAX_CAP) };
    // The first character that is not a digit ends the number; `bs58` reports it unless the
    // number before it already overflowed the buffer (the number only grows, so checking
    // the prefix once is the same as checking after every character).
    let mut limbs = [0u64; LIMBS];
    let mut overflow = false;
    let mut bad = None;
    let mut word = 0u64;
    let mut in_word = 0usize;
    let mut scale = 1u64;
    for (i, &c) in input.iter().enumerate() {
        if c > 127 {
            bad = Some(Base58Error::NonAscii { index: i });
            break;
        }
        let d = DIGITS[usize::from(c)];
        if d == INVALID {
            bad = Some(Base58Error::InvalidCharacter {
                character: char::from(c),
                index: i,
            });
            break;
        }
        word = word * 58 + u64::from(d);
        scale *= 58;
        in_word += 1;
        if in_word == GROUP {
            overflow = mul_add(&mut limbs, scale, word, CAP);
            if overflow {
                break; // whatever follows, `bs58` stops here
            }
            (word, scale, in_word) = (0, 1, 0);
        }
    }
    if !overflow && in_word > 0 {
        // the characters before the first bad one (or the end) not folded in yet
        overflow = mul_add(&mut limbs, scale, word, CAP);
    }
    if overflow {
        // `bs58` stops at the first character that overflows, before any later bad one.
        return Err(Base58Error::TooLong);
    }
    if let Some(e) = bad {
        return Err(e);
    }
    let value_len = byte_len(&limbs);
    let zeros = input.iter().take_while(|&&c| c == ALPHABET[0]).count();
    let len = zeros + value_len;
    if len > CAP {
        return Err(Base58Error::TooLong);
    }
    out[..zeros].fill(0);
    for k in 0..value_len {
        // byte k of the value counted from the most significant one
        let bit = 8 * (value_len - 1 - k);
        out[zeros + k] = (limbs[bit / 64] >> (bit % 64)) as u8;
    }
    Ok(len)
}

/// `limbs = limbs * mul + add`; true when the result needs more than `cap` bytes.
fn mul_add(limbs: &mut [u64; LIMBS], mul: u64, add: u64, cap: usize) -> bool {
    let mut carry = u128::from(add);
    for limb in limbs.iter_mut() {
        let v = u128::from(*limb) * u128::from(mul) + carry;
        *limb = v as u64;
        carry = v >> 64;
    }
    carry != 0 || byte_len(limbs) > cap
}

/// Bytes needed for the value (0 for zero).
fn byte_len(limbs: &[u64; LIMBS]) -> usize {
    for i in (0..LIMBS).rev() {
        if limbs[i] != 0 {
            let bits = 64 * i + (64 - limbs[i].leading_zeros() as usize);
            return bits.div_ceil(8);
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference<const CAP: usize>(input: &str) -> Result<Vec<u8>, Base58Error> {
        let mut buf = [0u8; CAP];
        match bs58::decode(input).onto(&mut buf) {
            Ok(n) => Ok(buf[..n].to_vec()),
            Err(bs58::decode::Error::InvalidCharacter { character, index }) => {
                Err(Base58Error::InvalidCharacter { character, index })
            }
            Err(bs58::decode::Error::NonAsciiCharacter { index }) => {
                Err(Base58Error::NonAscii { index })
            }
            Err(bs58::decode::Error::BufferTooSmall) => Err(Base58Error::TooLong),
            Err(e) => panic!("unexpected bs58 error {e:?}"),
        }
    }

    fn ours<const CAP: usize>(input: &str) -> Result<Vec<u8>, Base58Error> {
        let mut buf = [0u8; CAP];
        decode(input.as_bytes(), &mut buf).map(|n| buf[..n].to_vec())
    }

    fn same(input: &str) {
        assert_eq!(
            ours::<26>(input),
            reference::<26>(input),
            "{input:?} cap 26"
        );
        assert_eq!(
            ours::<33>(input),
            reference::<33>(input),
            "{input:?} cap 33"
        );
        assert_eq!(ours::<1>(input), reference::<1>(input), "{input:?} cap 1");
    }

    #[test]
    fn known_addresses_and_edges_match_bs58() {
        for s in [
            "",
            "1",
            "11111",
            "2",
            "z",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNaa",
            "11111111111111111111111111111111",
            "4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz0",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7Div0Na",
            "abc\u{e9}",
            "0",
            "11O",
        ] {
            same(s);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn any_string_decodes_as_bs58_does(s in "[1-9A-Za-z0O_\u{e9}]{0,70}") {
            same(&s);
        }

        #[test]
        fn mostly_valid_strings_decode_as_bs58_does(
            s in "1{0,5}[1-9A-HJ-NP-Za-km-z]{0,50}[0OIl]?[1-9A-HJ-NP-Za-km-z]{0,10}"
        ) {
            same(&s);
        }
    }
}
