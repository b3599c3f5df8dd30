//! Look-alike recipients (docs/design.md, "Validation"): two different addresses that share
//! their first and last characters — what a person checks by eye, and the shape of an
//! address-poisoning attack (a fake address minted to match a real one's ends and planted in
//! the victim's history). Within a sheet and against every address the book already paid for
//! the account, such a pair is a warning (`recipient_lookalike`) naming the other line or run.
//!
//! The shape is the network plus the first and last `ENDS` characters of the address as
//! written (EVM: after `0x`, case-insensitively, as wallets show it). Indexes are keyed by the
//! shape's 64-bit hash, so memory grows with the number of distinct addresses, not rows.

use rustc_hash::FxHashMap;

use super::address::AddressFamily;
use super::duplicates::hash128;

/// Characters compared at each end.
pub const ENDS: usize = 4;

/// The shape hash of an address as written on `network`: `None` when it is too short to
/// have two distinct ends (never for a valid address).
pub fn shape(network: &str, family: AddressFamily, address: &str) -> Option<u64> {
    let body = match family {
        AddressFamily::Evm => address.get(2..).unwrap_or(address),
        _ => address,
    };
    if !body.is_ascii() || body.len() < 2 * ENDS {
        return None;
    }
    let (mut h, mut t) = ([0u8; ENDS], [0u8; ENDS]);
    h.copy_from_slice(&body.as_bytes()[..ENDS]);
    t.copy_from_slice(&body.as_bytes()[body.len() - ENDS..]);
    if family == AddressFamily::Evm {
        h.make_ascii_lowercase();
        t.make_ascii_lowercase();
    }
    Some(hash128(&[network.as_bytes(), &h, &t]) as u64)
}

/// The identity of an address (its canonical key's hash) for "same or different".
pub fn identity(network: &str, key: &str) -> u64 {
    hash128(&[network.as_bytes(), key.as_bytes()]) as u64
}

/// Shapes seen so far, each with the first address of that shape and where it was seen.
#[derive(Debug)]
pub struct Lookalikes<W> {
    seen: FxHashMap<u64, (u64, W)>,
}

impl<W> Default for Lookalikes<W> {
    fn default() -> Self {
        Lookalikes {
            seen: FxHashMap::default(),
        }
    }
}

impl<W: Clone> Lookalikes<W> {
    /// Records an address (by shape and identity) seen `at`; returns where a *different*
    /// address of the same shape was seen first.
    pub fn record(&mut self, shape: u64, identity: u64, at: W) -> Option<W> {
        match self.seen.get(&shape) {
            Some((id, first)) if *id != identity => Some(first.clone()),
            Some(_) => None,
            None => {
                self.seen.insert(shape, (identity, at));
                None
            }
        }
    }

    /// Where a different address of this shape was seen, without recording.
    pub fn find(&self, shape: u64, identity: u64) -> Option<&W> {
        self.seen
            .get(&shape)
            .filter(|(id, _)| *id != identity)
            .map(|(_, w)| w)
    }

    /// Distinct shapes held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_ends_different_address_is_found_and_the_same_address_is_not() {
        let a = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8";
        let b = "TJRaXXXXXXXXXXXXXXXXXXXXXXXXXXpRTv8";
        let c = "TJRbXXXXXXXXXXXXXXXXXXXXXXXXXXpRTv8";
        let sh = |s| shape("TRX-TRC20", AddressFamily::Tron, s).unwrap();
        let id = |s| identity("TRX-TRC20", s);
        let mut l = Lookalikes::default();
        assert_eq!(l.record(sh(a), id(a), 2u64), None);
        assert_eq!(l.record(sh(a), id(a), 3), None, "the same address again");
        assert_eq!(l.record(sh(b), id(b), 4), Some(2));
        assert_eq!(l.record(sh(c), id(c), 5), None, "another first four");
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn evm_shapes_ignore_case_and_the_prefix() {
        let a = "0xAbCd000000000000000000000000000000001234";
        let b = "0xabcd111111111111111111111111111111111234";
        assert_eq!(
            shape("ETH-ERC20", AddressFamily::Evm, a),
            shape("ETH-ERC20", AddressFamily::Evm, b)
        );
        assert_ne!(
            shape("ETH-ERC20", AddressFamily::Evm, a),
            shape("BSC-BEP20", AddressFamily::Evm, b),
            "another network is another shape"
        );
    }
}
