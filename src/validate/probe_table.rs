//! The open-addressing table under the duplicate and look-alike indexes: fixed-size slots in
//! one array, linear probing, never more than 3/4 full, sized up front
//! (`reserve`) so a sheet's rows come in without rehashing, and read ahead (`touch`) so the
//! cache misses of a batch's lookups overlap. A general hash map of the same entries took more
//! bytes a slot and held two tables at once while it grew (docs/validate.md, "Performance").

/// A slot of a [`ProbeTable`]: a copyable record whose `home` (a hash) says where probing
/// starts; the default value is the empty slot.
pub trait Slot: Copy + Default {
    /// Whether the slot holds nothing.
    fn is_empty(&self) -> bool;
    /// The hash probing starts from.
    fn home(&self) -> u64;
}

/// The table (see the module).
#[derive(Debug, Default)]
pub struct ProbeTable<S> {
    slots: Vec<S>,
    len: usize,
}

/// The table is grown before it is fuller than this (numerator, denominator).
const MAX_LOAD: (usize, usize) = (3, 4);
const MIN_SLOTS: usize = 16;

/// The home slot of hash `home` in a table of `len` slots: the high bits of `home × len`
/// (Lemire's "fastrange"). A table of any length takes uniform hashes evenly, so it is sized
/// to what it holds: a power-of-two length left the million-row indexes a quarter to a half
/// empty, 27 MB of pages faulted in and read at random for nothing.
#[inline(always)]
fn home_slot(home: u64, len: usize) -> usize {
    ((u128::from(home) * len as u128) >> 64) as usize
}

/// The slot probed after `i` in a table of `len` slots (linear probing, wrapping at the end).
#[inline(always)]
fn next_slot(i: usize, len: usize) -> usize {
    if i + 1 == len {
        0
    } else {
        i + 1
    }
}

impl<S: Slot> ProbeTable<S> {
    /// Finds the slot `is_it` accepts on the probe path from `home`, or puts `new` in the
    /// first empty one. Returns the slot found (None: `new` was put in).
    pub fn find_or_insert(&mut self, home: u64, is_it: impl Fn(&S) -> bool, new: S) -> Option<S> {
        match self.entry(home, is_it, new) {
            (slot, false) => Some(*slot),
            (_, true) => None,
        }
    }

    /// The slot `is_it` accepts on the probe path from `home`, or `new` put in the first
    /// empty one; with whether it was put in.
    pub fn entry(&mut self, home: u64, is_it: impl Fn(&S) -> bool, new: S) -> (&mut S, bool) {
        if (self.len + 1) * MAX_LOAD.1 > self.slots.len() * MAX_LOAD.0 {
            self.grow_to((self.len + 1).max(self.len * 2));
        }
        let n = self.slots.len();
        let mut i = home_slot(home, n);
        loop {
            if self.slots[i].is_empty() {
                self.slots[i] = new;
                self.len += 1;
                return (&mut self.slots[i], true);
            }
            if is_it(&self.slots[i]) {
                return (&mut self.slots[i], false);
            }
            i = next_slot(i, n);
        }
    }

    /// The slots in use, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &S> {
        self.slots.iter().filter(|s| !s.is_empty())
    }

    /// Reads the home slots of `homes` (the next rows' hashes) so that their cache misses are
    /// waited for together instead of one by one; it changes nothing.
    pub fn touch(&self, homes: impl Iterator<Item = u64>) {
        if self.slots.is_empty() {
            return;
        }
        let n = self.slots.len();
        let mut acc = 0u64;
        for home in homes {
            acc ^= self.slots[home_slot(home, n)].home();
        }
        std::hint::black_box(acc);
    }

    /// Makes room for `n` more entries at once (no rehash while they come).
    pub fn reserve(&mut self, n: usize) {
        self.grow_to(self.len.saturating_add(n));
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rebuilds the table with room for `n` entries (never shrinks).
    fn grow_to(&mut self, n: usize) {
        let want = n
            .saturating_mul(MAX_LOAD.1)
            .div_ceil(MAX_LOAD.0)
            .max(MIN_SLOTS);
        if want <= self.slots.len() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, vec![S::default(); want]);
        for s in old.into_iter().filter(|s| !s.is_empty()) {
            let mut i = home_slot(s.home(), want);
            while !self.slots[i].is_empty() {
                i = next_slot(i, want);
            }
            self.slots[i] = s;
        }
    }
}
