//! The canonical key of a valid address, held without a heap allocation: either the address
//! itself (base58 families, which are case-sensitive and never rewritten) or a rewritten form
//! (EVM and segwit lower-cased, TON raw `wc:hex64`) in a small inline buffer. The pipeline
//! hashes `as_bytes()` straight away; `check` turns it into the `String` of the public API.
//! A Solana key also carries the 32 bytes its check decoded, so the recipient check (the
//! curve test) does not decode the address a second time.

/// Room for the longest rewritten key: a segwit address of at most 90 characters (BIP-173);
/// the others are shorter (EVM 42, TON raw 67).
pub(super) const INLINE_MAX: usize = 90;

/// A canonical address key borrowed from the cell or held inline.
#[derive(Clone, Copy)]
pub struct AddressKey<'a> {
    repr: Repr<'a>,
}

#[derive(Clone, Copy)]
enum Repr<'a> {
    Same(&'a str),
    /// The address as written, and the 32 bytes it decodes to (Solana).
    Decoded32(&'a str, [u8; 32]),
    Inline {
        buf: [u8; INLINE_MAX],
        len: usize,
    },
}

impl<'a> AddressKey<'a> {
    /// The key is the address as written.
    pub(super) fn same(address: &'a str) -> Self {
        AddressKey {
            repr: Repr::Same(address),
        }
    }

    /// The key is the address as written, which decodes to these 32 bytes (Solana).
    pub(super) fn same_decoded(address: &'a str, bytes: [u8; 32]) -> Self {
        AddressKey {
            repr: Repr::Decoded32(address, bytes),
        }
    }

    /// The 32 bytes a Solana address decoded to in its check (`None` for other families).
    pub fn decoded32(&self) -> Option<&[u8; 32]> {
        match &self.repr {
            Repr::Decoded32(_, bytes) => Some(bytes),
            _ => None,
        }
    }

    /// A rewritten key from ASCII bytes (at most `INLINE_MAX`; longer input is cut, which
    /// the family checks never produce).
    pub(super) fn inline(bytes: &[u8]) -> Self {
        let len = bytes.len().min(INLINE_MAX);
        let mut buf = [0u8; INLINE_MAX];
        buf[..len].copy_from_slice(&bytes[..len]);
        AddressKey {
            repr: Repr::Inline { buf, len },
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.repr {
            Repr::Same(s) | Repr::Decoded32(s, _) => s.as_bytes(),
            Repr::Inline { buf, len } => &buf[..*len],
        }
    }

    /// The key as text (always ASCII).
    pub fn as_str(&self) -> &str {
        match &self.repr {
            Repr::Same(s) | Repr::Decoded32(s, _) => s,
            Repr::Inline { buf, len } => std::str::from_utf8(&buf[..*len]).unwrap_or_default(),
        }
    }
}

impl std::fmt::Debug for AddressKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AddressKey({:?})", self.as_str())
    }
}

impl PartialEq for AddressKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
