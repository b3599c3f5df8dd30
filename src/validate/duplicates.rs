//! Checks that need more than one row, kept compact so memory grows only by a few bytes per row:
//! duplicate payouts (same network, currency, canonical address, numerically equal amount and
//! memo; keyed by a 128-bit hash → first line), explicit order id uniqueness, and the warning
//! for an address that appears with several memos and also without one.

use super::probe_table::{self, ProbeTable};
use super::problem::{codes, Problem};

/// A 128-bit hash of byte strings (XXH3-128 of the parts, each prefixed with its length so
/// `("ab","c")` and `("a","bc")` differ). Not cryptographic: a collision could only report a
/// false `duplicate_row` error (identical rows always collide, so no duplicate is missed).
/// The parts of a row key are short (an address, an amount, a memo): they are laid out on the
/// stack and hashed in one call, which is as fast as the hand-written hash this replaced.
pub fn hash128(parts: &[&[u8]]) -> u128 {
    const ON_STACK: usize = 256;
    let total: usize = parts.iter().map(|p| p.len() + 8).sum();
    if total <= ON_STACK {
        let mut buf = [0u8; ON_STACK];
        let mut at = 0;
        for p in parts {
            buf[at..at + 8].copy_from_slice(&(p.len() as u64).to_le_bytes());
            buf[at + 8..at + 8 + p.len()].copy_from_slice(p);
            at += 8 + p.len();
        }
        return xxhash_rust::xxh3::xxh3_128(&buf[..at]);
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.digest128()
}

/// The hash of a recipient: its network and canonical address key. A row's duplicate key,
/// its shared-address memo entry and its look-alike identity are built from it, so the
/// address is hashed once a row.
///
/// The key is hashed in place, seeded with the network's hash: laying the two out in a buffer
/// first (`hash128`) made XXH3 read back, as words, bytes just stored one by one, and wait for
/// each store (the 128-bit hashes were 4 % of validating the benchmark sheet).
pub fn recipient_hash(network: &str, key: &str) -> u128 {
    use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64};
    xxh3_128_with_seed(key.as_bytes(), xxh3_64(network.as_bytes()))
}

/// A payout's duplicate key: its recipient (`recipient_hash`), currency, amount (the
/// normalized `Decimal`'s 16 bytes, so `1.5` and `1.50` are one amount) and memo (none is the
/// same as empty). Hashed from whole words only, for the reason given at `recipient_hash`.
pub fn duplicate_key(recipient: u128, currency: &str, amount: &[u8; 16], memo: &str) -> u128 {
    use xxhash_rust::xxh3::{xxh3_128, xxh3_64};
    let mut words = [0u8; 48];
    words[..16].copy_from_slice(&recipient.to_le_bytes());
    words[16..32].copy_from_slice(amount);
    words[32..40].copy_from_slice(&xxh3_64(currency.as_bytes()).to_le_bytes());
    words[40..].copy_from_slice(&xxh3_64(memo.as_bytes()).to_le_bytes());
    xxh3_128(&words)
}

/// First line seen per key: an open-addressing table (linear probing) of 24-byte slots. The
/// keys are already uniform hashes, so their bits pick the slot. Compared with a general
/// hash map this keeps a million-row index at 36 MB instead of 66 MB and lets the merge
/// `touch` the slots of the next rows before it needs them, so their cache misses overlap.
#[derive(Default)]
pub struct FirstSeen {
    table: ProbeTable<Slot>,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    hi: u64,
    lo: u64,
    /// The first line plus one (wrapping); 0 marks an empty slot. A sheet cannot have 2^64
    /// lines, so no real line collides with the marker.
    tag: u64,
}

impl probe_table::Slot for Slot {
    fn is_empty(&self) -> bool {
        self.tag == 0
    }
    fn home(&self) -> u64 {
        self.lo
    }
}

impl FirstSeen {
    /// Records `key` at `line`; returns the earlier line when the key was seen before.
    pub fn first(&mut self, key: u128, line: u64) -> Option<u64> {
        let (hi, lo) = ((key >> 64) as u64, key as u64);
        let new = Slot {
            hi,
            lo,
            tag: line.wrapping_add(1),
        };
        self.table
            .find_or_insert(lo, |s| s.hi == hi && s.lo == lo, new)
            .map(|s| s.tag.wrapping_sub(1))
    }

    /// Reads the home slots of `keys` (the next rows' keys) so that their cache misses are
    /// waited for together instead of one by one; it changes nothing.
    pub fn touch(&self, keys: impl Iterator<Item = u128>) {
        self.table.touch(keys.map(|k| k as u64));
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Makes room for `n` more keys at once (no rehash while growing).
    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(n);
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// What the memo index holds for one (network, address) on a memo network: the first two
/// distinct memos' first lines (`count` of them) and the first line without a memo. Later
/// lines without a memo go to `SharedAddressMemos::more_without`, rare in a real sheet.
#[derive(Clone, Copy, Default)]
struct MemoSlot {
    hi: u64,
    lo: u64,
    /// 0 marks an empty slot; else 1 + the number of distinct memos seen (at most 2).
    state: u64,
    first_memo: u64,
    first_line: u64,
    second_line: u64,
    /// The first line without a memo plus one (0: none).
    without: u64,
}

impl probe_table::Slot for MemoSlot {
    fn is_empty(&self) -> bool {
        self.state == 0
    }
    fn home(&self) -> u64 {
        self.lo
    }
}

/// Per (network, address) on memo networks: which memos it was used with, for the warning
/// on a row without a memo whose address is paid with several (a shared deposit address).
/// An open-addressing table like the duplicate index (one cache line an address, read ahead
/// by the merge), where a general hash map of per-address records took two misses a row.
#[derive(Default)]
pub struct SharedAddressMemos {
    table: ProbeTable<MemoSlot>,
    /// (address, line) of each row without a memo after its address's first.
    more_without: Vec<(u128, u64)>,
}

impl SharedAddressMemos {
    /// Makes room for `n` addresses at once (no rehash as they come).
    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(n);
    }

    /// Reads the slots of `addresses` (the next rows') ahead, as `FirstSeen::touch`.
    pub fn touch(&self, addresses: impl Iterator<Item = u128>) {
        self.table.touch(addresses.map(|a| a as u64));
    }

    /// Records a valid row on a memo network.
    pub fn record(&mut self, address: u128, memo: Option<u64>, line: u64) {
        let (hi, lo) = ((address >> 64) as u64, address as u64);
        let new = MemoSlot {
            hi,
            lo,
            state: 1,
            ..MemoSlot::default()
        };
        let (u, _) = self.table.entry(lo, |s| s.hi == hi && s.lo == lo, new);
        match memo {
            None if u.without == 0 => u.without = line + 1,
            None => self.more_without.push((address, line)),
            Some(m) => match u.state {
                1 => {
                    u.first_memo = m;
                    u.first_line = line;
                    u.state = 2;
                }
                2 if m != u.first_memo => {
                    u.second_line = line;
                    u.state = 3;
                }
                _ => {}
            },
        }
    }

    /// One warning per row without memo whose address is used with several memos.
    pub fn warnings(&self, memo_column: &str) -> Vec<Problem> {
        let mut more = self.more_without.clone();
        more.sort_unstable();
        let mut out = Vec::new();
        for u in self.table.iter().filter(|u| u.state == 3 && u.without != 0) {
            let lines = format!("{}, {}", u.first_line, u.second_line);
            let address = (u128::from(u.hi) << 64) | u128::from(u.lo);
            let from = more.partition_point(|(a, _)| *a < address);
            let others = more[from..].iter().take_while(|(a, _)| *a == address);
            for line in std::iter::once(u.without - 1).chain(others.map(|(_, l)| *l)) {
                out.push(Problem::new(
                    line,
                    memo_column,
                    codes::MEMO_MISSING_SHARED_ADDRESS,
                    format!(
                        "this address is also paid with different memos (lines {lines}): it looks \
                         like a shared exchange deposit address, and a payout without its memo \
                         may be lost; add the recipient's memo"
                    ),
                ));
            }
        }
        out.sort_by_key(|p| p.line);
        out
    }
}

/// The 64-bit hash of a memo.
pub fn hash64(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_tell_every_part_apart() {
        let amount = |t: &str| {
            use std::str::FromStr;
            rust_decimal::Decimal::from_str(t)
                .unwrap()
                .normalize()
                .serialize()
        };
        let r = recipient_hash("TON", "EQabc");
        let key = duplicate_key(r, "USDT", &amount("1.50"), "memo");
        assert_eq!(key, duplicate_key(r, "USDT", &amount("1.5"), "memo"));
        for other in [
            duplicate_key(
                recipient_hash("TON", "EQabd"),
                "USDT",
                &amount("1.5"),
                "memo",
            ),
            duplicate_key(
                recipient_hash("TRX-TRC20", "EQabc"),
                "USDT",
                &amount("1.5"),
                "memo",
            ),
            duplicate_key(r, "USDC", &amount("1.5"), "memo"),
            duplicate_key(r, "USDT", &amount("1.51"), "memo"),
            duplicate_key(r, "USDT", &amount("1.5"), "memo2"),
            duplicate_key(r, "USDT", &amount("1.5"), ""),
        ] {
            assert_ne!(key, other);
        }
        // Every network of the registry seeds its own recipient hashes.
        let mut seen = std::collections::HashSet::new();
        for net in crate::networks::NETWORKS {
            assert!(
                seen.insert(recipient_hash(net.code, "0xabc")),
                "{}",
                net.code
            );
        }
    }

    #[test]
    fn hash128_is_the_same_whether_its_parts_fit_on_the_stack_or_not() {
        let long = vec![b'x'; 300];
        let mut laid_out = Vec::new();
        for p in [&b"net"[..], &long[..]] {
            laid_out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            laid_out.extend_from_slice(p);
        }
        assert_eq!(
            hash128(&[b"net", &long]),
            xxhash_rust::xxh3::xxh3_128(&laid_out)
        );
        let short: &[&[u8]] = &[b"net", b"addr"];
        let mut laid_out = Vec::new();
        for p in short {
            laid_out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            laid_out.extend_from_slice(p);
        }
        assert_eq!(hash128(short), xxhash_rust::xxh3::xxh3_128(&laid_out));
    }

    #[test]
    fn hash128_separates_parts() {
        assert_ne!(hash128(&[b"ab", b"c"]), hash128(&[b"a", b"bc"]));
        assert_eq!(hash128(&[b"x", b"y"]), hash128(&[b"x", b"y"]));
        assert_ne!(hash128(&[b"12345678a"]), hash128(&[b"12345678b"]));
        assert_ne!(hash128(&[b"a\0"]), hash128(&[b"a"]));
    }

    #[test]
    fn hash128_has_no_collisions_on_a_million_similar_keys() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..1_000_000u32 {
            let text = format!("TRX-TRC20|USDT|TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t|{i}");
            assert!(seen.insert(hash128(&[text.as_bytes()])));
        }
    }

    #[test]
    fn first_seen_reports_the_first_line() {
        let mut f = FirstSeen::default();
        assert_eq!(f.first(7, 2), None);
        assert_eq!(f.first(8, 3), None);
        assert_eq!(f.first(7, 9), Some(2));
        assert_eq!(f.first(7, 11), Some(2));
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn first_seen_keeps_every_key_through_growth() {
        // keys sharing their low bits probe past each other; growth rehashes them all
        let mut f = FirstSeen::default();
        let keys: Vec<u128> = (0..2000u128)
            .map(|i| (i << 64) | ((i % 7) << 20))
            .chain((0..5000u128).map(|i| hash128(&[&i.to_le_bytes()])))
            .collect();
        for (n, &k) in keys.iter().enumerate() {
            assert_eq!(f.first(k, n as u64 + 2), None, "key {n} is new");
        }
        assert_eq!(f.len(), keys.len());
        for (n, &k) in keys.iter().enumerate() {
            f.touch(std::iter::once(k));
            assert_eq!(f.first(k, 1_000_000), Some(n as u64 + 2));
        }
        let mut z = FirstSeen::default();
        assert_eq!(z.first(0, 0), None, "line 0 and key 0 are ordinary values");
        assert_eq!(z.first(0, 5), Some(0));
        let mut r = FirstSeen::default();
        r.reserve(1000);
        assert_eq!(r.first(u128::MAX, u64::MAX - 1), None);
        assert_eq!(r.first(u128::MAX, 3), Some(u64::MAX - 1));
    }

    #[test]
    fn warns_only_when_several_memos_and_one_row_without() {
        let mut m = SharedAddressMemos::default();
        m.record(1, Some(10), 2);
        m.record(1, None, 3);
        assert!(
            m.warnings("memo").is_empty(),
            "one memo is not a shared address"
        );
        m.record(1, Some(11), 4);
        let w = m.warnings("memo");
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].line, w[0].code),
            (3, codes::MEMO_MISSING_SHARED_ADDRESS)
        );
        assert!(w[0].message.contains("lines 2, 4"));
        m.record(2, Some(1), 5);
        m.record(2, Some(2), 6);
        assert_eq!(
            m.warnings("memo").len(),
            1,
            "no row without memo on address 2"
        );
    }

    #[test]
    fn memo_warnings_match_a_plain_model_of_each_address() {
        use std::collections::BTreeMap;
        // address -> (distinct memos with first lines, lines without memo)
        type Uses = (Vec<(u64, u64)>, Vec<u64>);
        let mut model: BTreeMap<u128, Uses> = BTreeMap::new();
        let mut m = SharedAddressMemos::default();
        m.reserve(10);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for line in 2..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // high bits matter too: addresses differing only there are different addresses
            let address = u128::from(x % 97) << (64 * ((x >> 20) % 2)) | 1;
            let memo = (!x.is_multiple_of(5)).then_some((x >> 8) % 4);
            m.record(address, memo, line);
            let (memos, without) = model.entry(address).or_default();
            match memo {
                None => without.push(line),
                Some(h) if memos.len() < 2 && !memos.iter().any(|(k, _)| *k == h) => {
                    memos.push((h, line))
                }
                Some(_) => {}
            }
        }
        let mut want: Vec<(u64, String)> = Vec::new();
        for (memos, without) in model.values().filter(|(memos, _)| memos.len() >= 2) {
            let lines = format!("(lines {}, {})", memos[0].1, memos[1].1);
            want.extend(without.iter().map(|l| (*l, lines.clone())));
        }
        want.sort();
        let got: Vec<(u64, String)> = m
            .warnings("memo")
            .into_iter()
            .map(|p| {
                let at = p.message.find("(lines").unwrap();
                let end = p.message[at..].find(')').unwrap() + at + 1;
                (p.line, p.message[at..end].to_string())
            })
            .collect();
        assert!(want.len() > 100, "the sequence has shared addresses");
        assert_eq!(got, want);
    }
}
