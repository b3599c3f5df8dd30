//! Base58 (Bitcoin alphabet) decoding onto a fixed-size stack buffer: a thin adapter over the
//! `bs58` crate that maps its errors onto the few cases the address checks tell apart.

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

/// Decodes `input` onto `out`, returning the decoded length.
pub(super) fn decode<const CAP: usize>(
    input: &[u8],
    out: &mut [u8; CAP],
) -> Result<usize, Base58Error> {
    bs58::decode(input).onto(&mut out[..]).map_err(|e| match e {
        bs58::decode::Error::InvalidCharacter { character, index } => {
            Base58Error::InvalidCharacter { character, index }
        }
        bs58::decode::Error::NonAsciiCharacter { index } => Base58Error::NonAscii { index },
        // BufferTooSmall, and any variant a later bs58 adds: the value does not fit.
        _ => Base58Error::TooLong,
    })
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
}
