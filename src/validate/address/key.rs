//! The canonical key of a valid address, held without a heap allocation: either the address
//! itself (base58 families, which are case-sensitive and never rewritten) or a rewritten form
//! (EVM and segwit lower-cased, TON raw `wc:hex64`) in a small inline buffer. The pipeline
//! hashes `as_bytes()` straight away; `check` turns it into the `String` of the public API.

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
    Inline { buf: [u8; INLINE_MAX], len: usize },
}

impl<'a> AddressKey<'a> {
    /// The key is the address as written.
    pub(super) fn same(address: &'a str) -> Self {
        AddressKey {
            repr: Repr::Same(address),
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
            Repr::Same(s) => s.as_bytes(),
            Repr::Inline { buf, len } => &buf[..*len],
        }
    }

    /// The key as text (always ASCII).
    pub fn as_str(&self) -> &str {
        match &self.repr {
            Repr::Same(s) => s,
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
