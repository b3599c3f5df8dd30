//! Look-alike recipients (docs/design.md, "Validation"): two different addresses that share
//! their first and last characters — what a person checks by eye, and the shape of an
//! address-poisoning attack (a fake address minted to match a real one's ends and planted in
//! the victim's history). Within a sheet and against every address the book already paid for
//! the account, such a pair is a warning (`recipient_lookalike`) naming the other line or run.
//!
//! The shape is the network plus the first and last `ENDS` characters of the address as
//! written, after the prefix every address of its kind shares (`0x`, `bc1q`, TRON's `T`…),
//! case-insensitively where case means nothing (EVM, segwit, TON raw). Indexes are keyed by the
//! shape's 64-bit hash, so memory grows with the number of distinct addresses, not rows.

use super::probe_table::{self, ProbeTable};
use rustc_hash::FxHashMap;

use super::address::AddressFamily;
use super::duplicates::recipient_hash;

/// Characters compared at each end.
pub const ENDS: usize = 4;

/// The part of an address a person reads, and whether its case carries meaning: without the
/// prefix every address of its kind shares (EVM `0x`; segwit `bc1q`/`ltc1q`…, through the
/// separator and witness version; TON user-friendly flags `EQ`/`UQ`, raw `wc:`; the version
/// character of base58check families).
fn readable(family: AddressFamily, address: &str) -> (&str, bool) {
    let after = |n: usize| address.get(n..).unwrap_or(address);
    match family {
        AddressFamily::Evm => (after(2), false),
        AddressFamily::Bitcoin | AddressFamily::Litecoin => {
            let head = address.get(..4).map_or(&b""[..], str::as_bytes);
            let segwit = head
                .get(..3)
                .is_some_and(|h| h.eq_ignore_ascii_case(b"bc1"))
                || head.eq_ignore_ascii_case(b"ltc1");
            match address.find('1').filter(|_| segwit) {
                Some(sep) => (after(sep + 2), false),
                None => (after(1), true),
            }
        }
        AddressFamily::Ton => match address.find(':') {
            Some(colon) => (after(colon + 1), false),
            None => (after(2), true),
        },
        AddressFamily::Tron | AddressFamily::Dogecoin | AddressFamily::Dash => (after(1), true),
        AddressFamily::Solana => (address, true),
    }
}

/// The shape hash of an address as written on `network`: the network and the first and last
/// `ENDS` readable characters (`readable`). `None` when too short to have two distinct ends
/// (never for a valid address).
pub fn shape(network: &str, family: AddressFamily, address: &str) -> Option<u64> {
    let (body, case_matters) = readable(family, address);
    if !body.is_ascii() || body.len() < 2 * ENDS {
        return None;
    }
    let (mut h, mut t) = ([0u8; ENDS], [0u8; ENDS]);
    h.copy_from_slice(&body.as_bytes()[..ENDS]);
    t.copy_from_slice(&body.as_bytes()[body.len() - ENDS..]);
    if !case_matters {
        h.make_ascii_lowercase();
        t.make_ascii_lowercase();
    }
    // The eight end characters as one word, hashed with the network's hash as the seed: no
    // buffer is assembled (laying the parts out in a buffer and reading it back as words
    // stalled on the stores just made; `hash128` of the three parts was 3 % of validating the
    // benchmark sheet).
    const _: () = assert!(2 * ENDS == 8, "the two ends fill one 64-bit word");
    let ends = u64::from(u32::from_le_bytes(h)) | (u64::from(u32::from_le_bytes(t)) << 32);
    let seed = xxhash_rust::xxh3::xxh3_64(network.as_bytes());
    Some(xxhash_rust::xxh3::xxh3_64_with_seed(
        &ends.to_le_bytes(),
        seed,
    ))
}

/// The identity of an address (its canonical key's hash) for "same or different".
pub fn identity(network: &str, key: &str) -> u64 {
    identity_of(recipient_hash(network, key))
}

/// `identity` from the recipient's hash (`duplicates::recipient_hash`), which the row check
/// has already computed.
pub fn identity_of(recipient: u128) -> u64 {
    recipient as u64
}

/// Shapes seen so far, each with the first address of that shape and where it was seen.
#[derive(Debug)]
pub struct Lookalikes<W> {
    /// Shape → (identity's low 32 bits, where). 32 bits of identity keep the sheet index at
    /// 16 bytes a slot; two different addresses of one shape whose identities agree in those
    /// bits (odds 2^-32) would go unreported.
    seen: FxHashMap<u64, (u32, W)>,
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
        let identity = identity as u32;
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
        let identity = identity as u32;
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

/// The sheet's own look-alike index (the pipeline's): shapes seen so far, each with the first
/// address's identity (low 32 bits, as `Lookalikes`) and line, in an open-addressing table of
/// 16-byte slots (linear probing, at most 3/4 full) that the pipeline sizes once for the
/// sheet's estimated rows and reads ahead (`touch`) like the duplicate index. It gives the same
/// answers as `Lookalikes<u32>`; a general hash map of the same entries took 17 bytes a slot,
/// grew by rehashing into a second table while the first was still held (53 MB at once for a
/// million addresses), and its lookups were the merge's largest cache-miss cost.
#[derive(Debug, Default)]
pub struct ShapeIndex {
    table: ProbeTable<ShapeSlot>,
}

#[derive(Debug, Clone, Copy, Default)]
struct ShapeSlot {
    /// The shape; 0 marks an empty slot (a shape hashing to 0 is held as 1).
    shape: u64,
    identity: u32,
    at: u32,
}

impl probe_table::Slot for ShapeSlot {
    fn is_empty(&self) -> bool {
        self.shape == 0
    }
    fn home(&self) -> u64 {
        self.shape
    }
}

impl ShapeIndex {
    /// `Lookalikes::record` for a sheet line: records the address (by shape and identity) seen
    /// at `at`; returns the line where a *different* address of the same shape was seen first.
    pub fn record(&mut self, shape: u64, identity: u64, at: u32) -> Option<u32> {
        let (shape, identity) = (shape.max(1), identity as u32);
        let new = ShapeSlot {
            shape,
            identity,
            at,
        };
        let first = self
            .table
            .find_or_insert(shape, |s| s.shape == shape, new)?;
        (first.identity != identity).then_some(first.at)
    }

    /// Reads the home slots of the next rows' shapes so that their cache misses overlap; it
    /// changes nothing.
    pub fn touch(&self, shapes: impl Iterator<Item = u64>) {
        self.table.touch(shapes.map(|s| s.max(1)));
    }

    /// Makes room for `n` more shapes at once (no rehash while they come).
    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(n);
    }

    /// Distinct shapes held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::duplicates::hash128;

    #[test]
    fn same_ends_different_address_is_found_and_the_same_address_is_not() {
        let a = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8";
        let b = "TJRabXXXXXXXXXXXXXXXXXXXXXXXXXpRTv8";
        let c = "TJRacXXXXXXXXXXXXXXXXXXXXXXXXXpRTv8";
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
    fn the_prefix_every_address_shares_is_not_compared() {
        let sh = |f, a| shape("BTC", f, a);
        // Same readable ends after `bc1q`: a look-alike; same `bc1q` and last four only: not.
        assert_eq!(
            sh(
                AddressFamily::Bitcoin,
                "bc1qabcdxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxwxyz"
            ),
            sh(
                AddressFamily::Bitcoin,
                "bc1qabcdyyyyyyyyyyyyyyyyyyyyyyyyyyyyyywxyz"
            )
        );
        assert_ne!(
            sh(
                AddressFamily::Bitcoin,
                "bc1qabcdxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxwxyz"
            ),
            sh(
                AddressFamily::Bitcoin,
                "bc1qzzzzxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxwxyz"
            )
        );
        let t = |a| shape("TRX-TRC20", AddressFamily::Tron, a);
        assert_ne!(
            t("TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"),
            t("TJRaXPrwbZy45sbavfcjinPJC18kjpRTv8"),
            "TRON's constant T is not one of the four"
        );
        let ton = |a| shape("TON", AddressFamily::Ton, a);
        assert_ne!(
            ton("EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs"),
            ton("EQCxE7mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs")
        );
    }

    #[test]
    fn segwit_prefixes_are_found_in_either_case_and_base58_ones_are_not_segwit() {
        let btc = |a| shape("BTC", AddressFamily::Bitcoin, a);
        let lower = btc("bc1qabcdxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxwxyz");
        assert_eq!(btc("BC1QABCDYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYWXYZ"), lower);
        assert_eq!(btc("Bc1qabcdyyyyyyyyyyyyyyyyyyyyyyyyyyyyyywxyz"), lower);
        let ltc = |a| shape("LTC", AddressFamily::Litecoin, a);
        assert_eq!(
            ltc("LTC1QABCDYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYWXYZ"),
            ltc("ltc1qabcdxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxwxyz")
        );
        // Base58: only the version character is skipped, and case counts.
        assert_ne!(
            btc("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
            btc("1bvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")
        );
        assert_eq!(
            btc("1BvBMxxxxxxxxxxxxxxxxxxxxxxxxxaNVN2"),
            btc("1BvBMyyyyyyyyyyyyyyyyyyyyyyyyyaNVN2")
        );
        // Too short for two ends of four, or a head that is not a character boundary.
        assert_eq!(btc("bc1qabc"), None);
        assert!(btc("bc\u{e9}1qabcdxxxxxxxxxxxxxxxxxxxxxxxxxxxxwxyz").is_none());
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

    #[test]
    fn the_shape_index_answers_as_the_general_index_does() {
        // Shapes sharing their low bits probe past each other, growth rehashes them, and a
        // shape of 0 is an ordinary value; every answer must be Lookalikes' own.
        let mut general = Lookalikes::default();
        let mut compact = ShapeIndex::default();
        let mut answers = 0;
        for n in 0..20_000u64 {
            let shape = match n % 5 {
                0 => 0,
                1 => (n % 97) << 20,
                _ => hash128(&[&(n % 3000).to_le_bytes()]) as u64,
            };
            let identity = hash128(&[&(n % 7).to_le_bytes()]) as u64;
            let at = n as u32 + 2;
            let want = general.record(shape, identity, at);
            assert_eq!(compact.record(shape, identity, at), want, "row {n}");
            answers += usize::from(want.is_some());
            compact.touch(std::iter::once(shape));
        }
        assert_eq!(compact.len(), general.len());
        assert!(answers > 1000, "the sequence has look-alikes to find");
        let mut reserved = ShapeIndex::default();
        reserved.reserve(1000);
        assert!(reserved.is_empty());
        assert_eq!(reserved.record(u64::MAX, 1, u32::MAX), None);
        assert_eq!(reserved.record(u64::MAX, 2, 3), Some(u32::MAX));
        assert_eq!(
            reserved.record(u64::MAX, 1, 4),
            None,
            "the same address again"
        );
    }
}
