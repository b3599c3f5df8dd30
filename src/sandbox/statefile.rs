//! The sandbox's state file: what a live gateway would still remember after the process
//! embedding the sandbox is killed and started again.
//!
//! # What is kept
//!
//! Every payout (with its settle deadline as a wall-clock time), the balances of both APIs and
//! the counters (`next_block`, `next_order_id`); the 2328 `uuid`/`order_id` and BlockATM
//! `orderNo` indexes are rebuilt from the payouts on load. Not kept: the request log, webhook
//! deliveries, fault counters and the rate limiter — they describe one process, not the
//! gateway; a webhook whose delivery a kill cut short is not sent again (the final status stays
//! readable through status/detail). Credentials, faults and limits always come from the
//! [`SandboxConfig`](super::SandboxConfig); the file only records the 2328 project and the
//! BlockATM contract id it was written for, and refuses to load for others.
//!
//! # Format
//!
//! JSON Lines: UTF-8, one JSON object per `\n`-terminated line.
//!
//! ```text
//! {"format":"payrun-sandbox-state","version":1,"project":"…","contract_id":"…"}
//! {"balances_2328":{"USDT":"999999900.00",…},"balances_blockatm":{…},"next_block":60000001,"next_order_id":1900000000000000002}
//! {"payouts":[{"i":0,"gateway":"2328","order_id":"…","gateway_id":"…","amount":"100.00",…,"settle_at":"2025-01-01T00:00:02.5Z"}]}
//! ```
//!
//! The first line is the header. Every later line is one change, all its fields optional:
//! `payouts` holds whole payouts with their position `i` (the next position appends, an earlier
//! one replaces), `balances_*` the new balance of each currency that changed, `next_block` and
//! `next_order_id` their new values. Loading replays the lines in order.
//!
//! # Durability
//!
//! After every gateway request (and every background settle) the state is compared with what
//! the file holds and the difference is appended as ONE line in one write, then `fsync`ed,
//! before the answer goes out; if that fails the request is answered 503 and the change stays
//! pending (the next write starts with a full rewrite). So an answer never reveals a payout a
//! `SIGKILL` right after it could lose. A last line without its `\n` is a write the kill cut off
//! (its answer was never sent): it is ignored and dropped. Any other unreadable line is an
//! error naming the file and the line.
//!
//! On start the file is read, replayed and compacted: rewritten as a header, one line of
//! balances and counters and one line per payout, through a temporary file `.NAME.tmp` in the
//! same directory (mode 0600, `fsync`, rename, `fsync` of the directory). A temporary file left
//! by a kill is removed first. `.NAME.lock` beside the file is locked while a sandbox uses it,
//! so a second sandbox on the same file is refused instead of interleaving writes.
//!
//! Why a log and not a rewrite per change, measured with the ignored test
//! `create_latency_with_thousands_of_payouts` in `tests/sandbox_state.rs` (debug build, ext4 on
//! a virtual disk shared with other builds, two busy cores): at 5,000 payouts the file is
//! 3.6 MB and rewriting it (write, `fsync`, rename, `fsync` of the directory) costs about 20 ms
//! of I/O alone, on every create. Appending one line costs what its `fdatasync` costs (about
//! 4 ms at the median on that disk, 1–13 ms): sequential 2328 creates from the first to the
//! 5,000th payout answered in 1.4–7.8 ms at the median per thousand over two runs, p99 10–42 ms
//! (the disk's flush tail), against 0.7–1.0 ms with no state file; the size of the file made no
//! difference. The write happens under the state lock, so concurrent requests queue behind it.
//! Loading and compacting 5,000 payouts on start: 0.4–0.5 s.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::state::{SandboxPayout, State};
use crate::model::{FeeOption, GatewayKind, Status};

/// The header's `format`.
const FORMAT: &str = "payrun-sandbox-state";
/// The header's `version`.
const VERSION: u32 = 1;
/// A settle deadline further ahead than this is held at this distance.
const MAX_AHEAD: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Removes the state file at `path` (and a temporary file a kill left beside it). True when a
/// state file was removed, false when there was none. Refused while a sandbox uses the file.
pub fn reset_state(path: &Path) -> io::Result<bool> {
    let lock_path = side_path(path, "lock")?;
    let _lock = match OpenOptions::new().write(true).open(&lock_path) {
        Ok(f) => Some(try_lock(f, path)?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(with_path(&lock_path, e)),
    };
    remove_if_present(&side_path(path, "tmp")?)?;
    remove_if_present(path)
}

/// The open state file of a running sandbox.
pub(crate) struct StateFile {
    path: PathBuf,
    /// Open for appending; None after a failed write (the next write rewrites the file).
    append: Option<File>,
    /// Held (locked) as long as this value lives.
    _lock: File,
    /// What the file holds, to find what changed.
    mirror: Mirror,
}

impl fmt::Debug for StateFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateFile")
            .field("path", &self.path)
            .field("payouts", &self.mirror.payouts.len())
            .finish_non_exhaustive()
    }
}

/// The durable part of [`State`], as last written.
#[derive(Default)]
struct Mirror {
    payouts: Vec<SandboxPayout>,
    balances_2328: BTreeMap<String, Decimal>,
    balances_blockatm: BTreeMap<String, Decimal>,
    next_block: u64,
    next_order_id: u64,
}

impl Mirror {
    fn of(st: &State) -> Mirror {
        Mirror {
            payouts: st.payouts.clone(),
            balances_2328: st.balances_2328.clone(),
            balances_blockatm: st.balances_blockatm.clone(),
            next_block: st.next_block,
            next_order_id: st.next_order_id,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    project: String,
    contract_id: String,
}

/// One line after the header.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Change {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    payouts: Vec<StoredPayout>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    balances_2328: BTreeMap<String, Decimal>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    balances_blockatm: BTreeMap<String, Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_block: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_order_id: Option<u64>,
}

impl Change {
    fn is_empty(&self) -> bool {
        self.payouts.is_empty()
            && self.balances_2328.is_empty()
            && self.balances_blockatm.is_empty()
            && self.next_block.is_none()
            && self.next_order_id.is_none()
    }
}

/// Largest magnitude of an amount or balance read back: far above any real one, and far enough
/// below `Decimal::MAX` that the sandbox's own sums on it cannot overflow.
const MAX_AMOUNT: Decimal = Decimal::from_parts(0xe800_0000, 0x9fd0_803c, 0x033b_2e3c, false, 0);
/// Largest block number or BlockATM order id read back (the sandbox counts up from it).
const MAX_COUNTER: u64 = 1 << 62;

impl Change {
    /// Refuses values the sandbox's arithmetic could overflow on.
    fn check_ranges(&self) -> Result<(), String> {
        let amount = |what: &str, d: &Decimal| {
            if d.abs() > MAX_AMOUNT {
                Err(format!("{what} {d} is out of range"))
            } else {
                Ok(())
            }
        };
        let counter = |what: &str, n: Option<u64>| match n {
            Some(n) if n > MAX_COUNTER => Err(format!("{what} {n} is out of range")),
            _ => Ok(()),
        };
        for (currency, b) in self.balances_2328.iter().chain(&self.balances_blockatm) {
            amount(&format!("balance of {currency}"), b)?;
        }
        for p in &self.payouts {
            let what = format!("payout {}", p.i);
            for d in [&p.amount, &p.merchant_amount, &p.network_amount, &p.fee]
                .into_iter()
                .chain(p.gas.as_ref())
                .chain(p.debited.as_ref().map(|d| &d.amount))
            {
                amount(&what, d)?;
            }
            counter(&format!("{what} block number"), p.block_number)?;
        }
        counter("next_block", self.next_block)?;
        counter("next_order_id", self.next_order_id)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Debit {
    amount: Decimal,
    currency: String,
}

/// A payout as stored: every field of [`SandboxPayout`], times as RFC 3339 text.
#[derive(Debug, Serialize, Deserialize)]
struct StoredPayout {
    i: usize,
    gateway: GatewayKind,
    order_id: String,
    gateway_id: String,
    amount: Decimal,
    amount_text: String,
    currency: String,
    network: String,
    address: String,
    memo: Option<String>,
    fee_option: Option<FeeOption>,
    status: Status,
    gateway_status: String,
    merchant_amount: Decimal,
    network_amount: Decimal,
    fee: Decimal,
    txid: Option<String>,
    block_number: Option<u64>,
    error_type: Option<String>,
    url_callback: Option<String>,
    from_currency: Option<String>,
    remark: Option<String>,
    #[serde(with = "wall")]
    created_at: DateTime<Utc>,
    #[serde(with = "wall")]
    updated_at: DateTime<Utc>,
    /// When a pending payout settles (wall clock).
    #[serde(with = "wall")]
    settle_at: DateTime<Utc>,
    debited: Option<Debit>,
    payout_type: u8,
    gas: Option<Decimal>,
}

/// The same moment on both clocks, to move deadlines between them.
#[derive(Clone, Copy)]
struct Clocks {
    mono: Instant,
    wall: DateTime<Utc>,
}

impl Clocks {
    fn now() -> Clocks {
        Clocks {
            mono: Instant::now(),
            wall: Utc::now(),
        }
    }

    fn to_wall(self, at: Instant) -> DateTime<Utc> {
        let delta = match at.checked_duration_since(self.mono) {
            Some(ahead) => TimeDelta::from_std(ahead.min(MAX_AHEAD)).unwrap_or_default(),
            None => -TimeDelta::from_std(self.mono.duration_since(at).min(MAX_AHEAD))
                .unwrap_or_default(),
        };
        self.wall.checked_add_signed(delta).unwrap_or(self.wall)
    }

    /// A deadline already passed becomes now: due on the next settle pass.
    fn to_mono(self, at: DateTime<Utc>) -> Instant {
        let ahead = (at - self.wall).to_std().unwrap_or_default().min(MAX_AHEAD);
        self.mono.checked_add(ahead).unwrap_or(self.mono)
    }
}

impl StoredPayout {
    fn of(i: usize, p: &SandboxPayout, clocks: Clocks) -> StoredPayout {
        StoredPayout {
            i,
            gateway: p.gateway,
            order_id: p.order_id.clone(),
            gateway_id: p.gateway_id.clone(),
            amount: p.amount,
            amount_text: p.amount_text.clone(),
            currency: p.currency.clone(),
            network: p.network.clone(),
            address: p.address.clone(),
            memo: p.memo.clone(),
            fee_option: p.fee_option,
            status: p.status,
            gateway_status: p.gateway_status.clone(),
            merchant_amount: p.merchant_amount,
            network_amount: p.network_amount,
            fee: p.fee,
            txid: p.txid.clone(),
            block_number: p.block_number,
            error_type: p.error_type.clone(),
            url_callback: p.url_callback.clone(),
            from_currency: p.from_currency.clone(),
            remark: p.remark.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            settle_at: clocks.to_wall(p.settle_at),
            debited: p
                .debited
                .clone()
                .map(|(amount, currency)| Debit { amount, currency }),
            payout_type: p.payout_type,
            gas: p.gas,
        }
    }

    fn into_payout(self, clocks: Clocks) -> SandboxPayout {
        SandboxPayout {
            gateway: self.gateway,
            order_id: self.order_id,
            gateway_id: self.gateway_id,
            amount: self.amount,
            currency: self.currency,
            network: self.network,
            address: self.address,
            memo: self.memo,
            fee_option: self.fee_option,
            status: self.status,
            gateway_status: self.gateway_status,
            merchant_amount: self.merchant_amount,
            network_amount: self.network_amount,
            fee: self.fee,
            txid: self.txid,
            block_number: self.block_number,
            error_type: self.error_type,
            url_callback: self.url_callback,
            from_currency: self.from_currency,
            remark: self.remark,
            created_at: self.created_at,
            updated_at: self.updated_at,
            amount_text: self.amount_text,
            settle_at: clocks.to_mono(self.settle_at),
            debited: self.debited.map(|d| (d.amount, d.currency)),
            payout_type: self.payout_type,
            gas: self.gas,
        }
    }
}

/// RFC 3339 text with as many fraction digits as needed, so times round-trip exactly.
mod wall {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("time {text:?}: {e}")))
    }
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn corrupt(path: &Path, line: usize, what: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "sandbox state file {} is unreadable at line {line}: {what} (remove it, or reset it, to start over)",
            path.display()
        ),
    )
}

/// The directory a file lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.NAME.EXT` beside `path`.
fn side_path(path: &Path, ext: &str) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("sandbox state file {} is not a file path", path.display()),
        )
    })?;
    Ok(parent_dir(path).join(format!(".{}.{ext}", name.to_string_lossy())))
}

fn remove_if_present(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(with_path(path, e)),
    }
}

/// Opens for writing, creating with mode 0600 (Unix).
fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// How long a lock held elsewhere is waited for before the file is called in use. A sandbox
/// just stopped can still hold it for a moment: a process forked in between (another thread
/// starting a child) holds a copy of the descriptor, and with it the lock, until it execs.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

fn try_lock(file: File, state_path: &Path) -> io::Result<File> {
    let deadline = std::time::Instant::now() + LOCK_PATIENCE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    format!(
                        "sandbox state file {} is in use by another running sandbox",
                        state_path.display()
                    ),
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(with_path(state_path, e)),
        }
    }
}

/// Creates the directory (and its parents) with mode 0700 (Unix) when missing.
fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| with_path(dir, e))
}

/// Flushes the directory entry of `path` to disk (Unix; elsewhere a no-op).
fn sync_dir(path: &Path) -> io::Result<()> {
    crate::ledger::atomic::sync_dir(path).map_err(|e| with_path(&parent_dir(path), e))
}

/// What a file holds after replay.
struct Loaded {
    header: Header,
    payouts: Vec<StoredPayout>,
    balances_2328: BTreeMap<String, Decimal>,
    balances_blockatm: BTreeMap<String, Decimal>,
    next_block: Option<u64>,
    next_order_id: Option<u64>,
}

/// Reads and replays the file; None when there is none.
fn read(path: &Path) -> io::Result<Option<Loaded>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(with_path(path, e)),
    };
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // The piece after the last `\n`: empty, or a write cut off before its answer was sent.
    let tail = lines.pop().unwrap_or_default();
    let Some((first, rest)) = lines.split_first() else {
        let what = if tail.is_empty() {
            "the file is empty"
        } else {
            "the header line is incomplete"
        };
        return Err(corrupt(path, 1, what));
    };
    let header: Header = serde_json::from_slice(first)
        .map_err(|e| corrupt(path, 1, format!("not a payrun sandbox state header: {e}")))?;
    if header.format != FORMAT {
        return Err(corrupt(
            path,
            1,
            format!("format {:?}, expected {FORMAT:?}", header.format),
        ));
    }
    if header.version != VERSION {
        return Err(corrupt(
            path,
            1,
            format!(
                "version {} (this payrun reads version {VERSION})",
                header.version
            ),
        ));
    }
    let mut loaded = Loaded {
        header,
        payouts: Vec::new(),
        balances_2328: BTreeMap::new(),
        balances_blockatm: BTreeMap::new(),
        next_block: None,
        next_order_id: None,
    };
    for (n, line) in rest.iter().enumerate() {
        let number = n + 2;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let change: Change = serde_json::from_slice(line).map_err(|e| corrupt(path, number, e))?;
        change
            .check_ranges()
            .map_err(|what| corrupt(path, number, what))?;
        for p in change.payouts {
            let (i, known) = (p.i, loaded.payouts.len());
            match i.cmp(&known) {
                std::cmp::Ordering::Less => loaded.payouts[i] = p,
                std::cmp::Ordering::Equal => loaded.payouts.push(p),
                std::cmp::Ordering::Greater => {
                    return Err(corrupt(
                        path,
                        number,
                        format!("payout {i} comes before payout {known}"),
                    ))
                }
            }
        }
        loaded.balances_2328.extend(change.balances_2328);
        loaded.balances_blockatm.extend(change.balances_blockatm);
        loaded.next_block = change.next_block.or(loaded.next_block);
        loaded.next_order_id = change.next_order_id.or(loaded.next_order_id);
    }
    Ok(Some(loaded))
}

/// One `\n`-terminated JSON line.
fn line_of<T: Serialize>(value: &T, out: &mut Vec<u8>) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::other)?;
    out.push(b'\n');
    Ok(())
}

/// The whole durable state as a compacted file.
fn snapshot(st: &State, clocks: Clocks) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    line_of(
        &Header {
            format: FORMAT.into(),
            version: VERSION,
            project: st.config.project.clone(),
            contract_id: st.config.contract_id.clone(),
        },
        &mut out,
    )?;
    line_of(
        &Change {
            balances_2328: st.balances_2328.clone(),
            balances_blockatm: st.balances_blockatm.clone(),
            next_block: Some(st.next_block),
            next_order_id: Some(st.next_order_id),
            ..Change::default()
        },
        &mut out,
    )?;
    for (i, p) in st.payouts.iter().enumerate() {
        line_of(
            &Change {
                payouts: vec![StoredPayout::of(i, p, clocks)],
                ..Change::default()
            },
            &mut out,
        )?;
    }
    Ok(out)
}

/// Replaces `path` with `bytes`: temp file, fsync, rename, fsync of the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = side_path(path, "tmp")?;
    let result = (|| {
        let mut f = private_options()
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| with_path(&tmp, e))?;
        f.write_all(bytes).map_err(|e| with_path(&tmp, e))?;
        f.sync_all().map_err(|e| with_path(&tmp, e))?;
        drop(f);
        fs::rename(&tmp, path).map_err(|e| with_path(path, e))?;
        sync_dir(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Balances whose value (or scale) differs from what the file holds.
fn changed_balances(
    now: &BTreeMap<String, Decimal>,
    then: &BTreeMap<String, Decimal>,
) -> BTreeMap<String, Decimal> {
    now.iter()
        .filter(|(k, v)| {
            then.get(*k)
                .is_none_or(|old| old != *v || old.scale() != v.scale())
        })
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

impl StateFile {
    /// Opens the state file for `st` (built from its configuration, nothing loaded yet): locks
    /// it, removes a stale temporary file, loads what the file holds into `st`, and compacts the
    /// file (creating it, and its directory, when missing).
    pub(crate) fn open(path: &Path, st: &mut State) -> io::Result<StateFile> {
        ensure_dir(&parent_dir(path))?;
        let lock_path = side_path(path, "lock")?;
        let lock = private_options()
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| with_path(&lock_path, e))?;
        let lock = try_lock(lock, path)?;
        remove_if_present(&side_path(path, "tmp")?)?;
        let clocks = Clocks::now();
        if let Some(loaded) = read(path)? {
            let h = &loaded.header;
            if h.project != st.config.project || h.contract_id != st.config.contract_id {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "sandbox state file {} belongs to 2328 project {} and BlockATM contract {}, \
                         not to project {} and contract {}: use those credentials, another book, \
                         or reset the sandbox state",
                        path.display(),
                        h.project,
                        h.contract_id,
                        st.config.project,
                        st.config.contract_id
                    ),
                ));
            }
            st.payouts.clear();
            st.by_uuid.clear();
            st.by_order_2328.clear();
            st.by_order_no.clear();
            for p in loaded.payouts {
                st.insert(p.into_payout(clocks));
            }
            st.balances_2328.extend(loaded.balances_2328);
            st.balances_blockatm.extend(loaded.balances_blockatm);
            if let Some(n) = loaded.next_block {
                st.next_block = n;
            }
            if let Some(n) = loaded.next_order_id {
                st.next_order_id = n;
            }
        }
        let mut file = StateFile {
            path: path.to_path_buf(),
            append: None,
            _lock: lock,
            mirror: Mirror::default(),
        };
        file.rewrite(st, clocks)?;
        Ok(file)
    }

    /// Writes the whole state (compaction) and reopens the file for appending.
    fn rewrite(&mut self, st: &State, clocks: Clocks) -> io::Result<()> {
        self.append = None;
        write_atomically(&self.path, &snapshot(st, clocks)?)?;
        let f = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| with_path(&self.path, e))?;
        self.append = Some(f);
        self.mirror = Mirror::of(st);
        Ok(())
    }

    /// Makes every change of `st` since the last write durable (appended and synced) before
    /// returning. On failure nothing is assumed written: the next call rewrites the file.
    pub(crate) fn save(&mut self, st: &State) -> io::Result<()> {
        let clocks = Clocks::now();
        if self.append.is_none() {
            return self.rewrite(st, clocks);
        }
        let m = &self.mirror;
        let payouts: Vec<StoredPayout> = st
            .payouts
            .iter()
            .enumerate()
            .filter(|&(i, p)| {
                m.payouts
                    .get(i)
                    .is_none_or(|old| old != p || old.settle_at != p.settle_at)
            })
            .map(|(i, p)| StoredPayout::of(i, p, clocks))
            .collect();
        let change = Change {
            payouts,
            balances_2328: changed_balances(&st.balances_2328, &m.balances_2328),
            balances_blockatm: changed_balances(&st.balances_blockatm, &m.balances_blockatm),
            next_block: (st.next_block != m.next_block).then_some(st.next_block),
            next_order_id: (st.next_order_id != m.next_order_id).then_some(st.next_order_id),
        };
        if change.is_empty() {
            return Ok(());
        }
        let mut line = Vec::new();
        line_of(&change, &mut line)?;
        let written = match self.append.as_mut() {
            Some(f) => f.write_all(&line).and_then(|()| f.sync_data()),
            None => Err(io::Error::other("state file not open")),
        };
        if let Err(e) = written {
            self.append = None;
            return Err(with_path(&self.path, e));
        }
        let m = &mut self.mirror;
        for p in &change.payouts {
            let Some(now) = st.payouts.get(p.i) else {
                continue;
            };
            match m.payouts.get_mut(p.i) {
                Some(slot) => *slot = now.clone(),
                None => m.payouts.push(now.clone()),
            }
        }
        m.balances_2328.extend(change.balances_2328);
        m.balances_blockatm.extend(change.balances_blockatm);
        m.next_block = st.next_block;
        m.next_order_id = st.next_order_id;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::SandboxConfig;

    fn config(path: &Path) -> SandboxConfig {
        SandboxConfig {
            state_file: Some(path.to_path_buf()),
            ..SandboxConfig::default()
        }
    }

    fn payout(
        gateway: GatewayKind,
        order_id: &str,
        id: &str,
        settle_in: Duration,
    ) -> SandboxPayout {
        let now = Utc::now();
        SandboxPayout {
            gateway,
            order_id: order_id.into(),
            gateway_id: id.into(),
            amount: Decimal::new(10050, 2),
            currency: "USDT".into(),
            network: "TRX-TRC20".into(),
            address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            memo: None,
            fee_option: Some(FeeOption::Add),
            status: Status::Pending,
            gateway_status: "pending".into(),
            merchant_amount: Decimal::new(10250, 2),
            network_amount: Decimal::new(10050, 2),
            fee: Decimal::new(2, 0),
            txid: None,
            block_number: None,
            error_type: None,
            url_callback: Some("http://127.0.0.1:1/hook".into()),
            from_currency: None,
            remark: Some("ünïcode remark".into()),
            created_at: now,
            updated_at: now,
            amount_text: "100.50".into(),
            settle_at: Instant::now() + settle_in,
            debited: Some((Decimal::new(10250, 2), "USDT".into())),
            payout_type: 1,
            gas: None,
        }
    }

    /// A state with two payouts (one pending an hour, one final) committed to `path`.
    fn written(path: &Path) -> State {
        let mut st = State::open(config(path)).unwrap();
        st.insert(payout(
            GatewayKind::G2328,
            "o-1",
            "uuid-1",
            Duration::from_secs(3600),
        ));
        let mut done = payout(GatewayKind::BlockAtm, "n-1", "1900", Duration::ZERO);
        done.status = Status::Completed;
        done.gateway_status = "SUCCESS".into();
        done.txid = Some("ab".repeat(32));
        done.block_number = Some(60_000_000);
        done.gas = Some(Decimal::new(15, 1));
        st.insert(done);
        *st.balances_2328.get_mut("USDT").unwrap() -= Decimal::new(10250, 2);
        st.next_block += 1;
        st.next_order_id += 1;
        assert!(st.commit(Vec::new()).unwrap().is_empty());
        st
    }

    #[test]
    fn what_is_committed_loads_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sandbox.json");
        let mut st = written(&path);
        // A later change is appended (settled), then everything loads back.
        st.payouts[0].status = Status::Completed;
        st.payouts[0].gateway_status = "completed".into();
        st.commit(Vec::new()).unwrap();
        let lines = fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 4, "header, balances, the two payouts, the settle");
        st.close_file();

        let back = State::open(config(&path)).unwrap();
        assert_eq!(back.payouts, st.payouts);
        for (a, b) in back.payouts.iter().zip(&st.payouts) {
            assert_eq!(a.amount_text, b.amount_text);
            assert_eq!(a.debited, b.debited);
            assert_eq!((a.payout_type, a.gas), (b.payout_type, b.gas));
            assert_eq!(a.amount.to_string(), "100.50", "scale kept");
        }
        assert_eq!(back.balances_2328, st.balances_2328);
        assert_eq!(
            back.balances_2328["USDT"].to_string(),
            st.balances_2328["USDT"].to_string()
        );
        assert_eq!(back.balances_blockatm, st.balances_blockatm);
        assert_eq!(
            (back.next_block, back.next_order_id),
            (st.next_block, st.next_order_id)
        );
        assert_eq!(back.by_uuid.get("uuid-1"), Some(&0));
        assert_eq!(back.by_order_2328.get("o-1"), Some(&0));
        assert_eq!(back.by_order_no.get("n-1"), Some(&vec![1]));
        // The compaction leaves one line per payout and no change lines.
        let lines = fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 1 + 1 + 2);
    }

    #[test]
    fn settle_deadlines_are_wall_clock_and_past_ones_are_due() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut st = State::open(config(&path)).unwrap();
        st.insert(payout(
            GatewayKind::G2328,
            "later",
            "u-1",
            Duration::from_secs(3600),
        ));
        st.insert(payout(
            GatewayKind::G2328,
            "soon",
            "u-2",
            Duration::from_millis(50),
        ));
        st.commit(Vec::new()).unwrap();
        st.close_file();
        std::thread::sleep(Duration::from_millis(80));
        let back = State::open(config(&path)).unwrap();
        let now = Instant::now();
        let left = back.payouts[0].settle_at.saturating_duration_since(now);
        assert!(
            left > Duration::from_secs(3590) && left <= Duration::from_secs(3600),
            "{left:?}"
        );
        assert!(back.payouts[1].settle_at <= now, "a passed deadline is due");
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sandbox.json");
        for (content, line) in [
            ("", 1),
            ("garbage\n", 1),
            (
                "{\"format\":\"other\",\"version\":1,\"project\":\"p\",\"contract_id\":\"c\"}\n",
                1,
            ),
            ("[1,2]\n", 1),
        ] {
            fs::write(&path, content).unwrap();
            let e = State::open(config(&path)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{content:?}");
            let text = e.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(&format!("line {line}")), "{text}");
        }
        fs::remove_file(&path).unwrap();
        written(&path).close_file();
        let good = fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = good.lines().collect();
        lines[2] = "{\"payouts\":[{\"i\":0,\"amount\":\"12\"}]}";
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        let text = State::open(config(&path)).unwrap_err().to_string();
        assert!(
            text.contains(&path.display().to_string()) && text.contains("line 3"),
            "{text}"
        );
        lines[2] = "{\"payouts\":[{\"i\":7}]}";
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        assert!(State::open(config(&path)).is_err());
        // Invalid UTF-8 and a complete but broken last line are errors too.
        let mut bytes = good.clone().into_bytes();
        bytes.extend_from_slice(b"{\"next_block\": \xff}\n");
        fs::write(&path, bytes).unwrap();
        let last = format!("line {}", good.lines().count() + 1);
        let text = State::open(config(&path)).unwrap_err().to_string();
        assert!(text.contains(&last), "{text}");
    }

    #[test]
    fn values_the_sandbox_could_overflow_on_are_refused() {
        let e27 = Decimal::from(10u64.pow(9)) * Decimal::from(10u64.pow(18));
        assert_eq!(MAX_AMOUNT, e27);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        drop(written(&path));
        let good = fs::read_to_string(&path).unwrap();
        for bad in [
            "{\"balances_2328\":{\"USDT\":\"79228162514264337593543950335\"}}",
            "{\"next_block\":18446744073709551615}",
            "{\"next_order_id\":18446744073709551615}",
        ] {
            fs::write(&path, format!("{good}{bad}\n")).unwrap();
            let text = State::open(config(&path)).unwrap_err().to_string();
            assert!(
                text.contains("out of range") && text.contains("line 4"),
                "{text}"
            );
        }
        let mut huge = good.lines().nth(2).unwrap().to_string();
        huge = huge.replacen(
            "\"fee\":\"2\"",
            "\"fee\":\"-1000000000000000000000000000.1\"",
            1,
        );
        fs::write(&path, format!("{good}{huge}\n")).unwrap();
        let text = State::open(config(&path)).unwrap_err().to_string();
        assert!(
            text.contains("payout 0 ") && text.contains("out of range"),
            "{text}"
        );
    }

    #[test]
    fn a_last_line_cut_off_by_a_kill_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let st = written(&path);
        drop(st);
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("{\"payouts\":[{\"i\":2,\"gateway\":\"2328\",\"ord");
        fs::write(&path, text).unwrap();
        let back = State::open(config(&path)).unwrap();
        assert_eq!(back.payouts.len(), 2);
        assert!(
            fs::read_to_string(&path).unwrap().ends_with("}\n"),
            "compacted"
        );
    }

    #[test]
    fn a_file_for_other_credentials_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        drop(written(&path));
        for other in [
            SandboxConfig {
                project: "11111111-1111-4111-8111-111111111111".into(),
                ..config(&path)
            },
            SandboxConfig {
                contract_id: "OTHER-CONTRACT".into(),
                ..config(&path)
            },
        ] {
            let e = State::open(other).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            let text = e.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains("belongs to 2328 project"), "{text}");
        }
        assert_eq!(
            State::open(config(&path)).unwrap().payouts.len(),
            2,
            "untouched"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_its_new_directory_too() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("deeper").join("s.json");
        let st = written(&path);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&side_path(&path, "lock").unwrap()), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        drop(st);
        // An existing file with looser bits is private again after the next start.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        drop(State::open(config(&path)).unwrap());
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_stale_temp_file_is_removed_on_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        drop(written(&path));
        let tmp = side_path(&path, "tmp").unwrap();
        fs::write(&tmp, "half a snapsh").unwrap();
        let st = State::open(config(&path)).unwrap();
        assert!(!tmp.exists());
        assert_eq!(st.payouts.len(), 2);
    }

    #[test]
    fn one_sandbox_per_file_and_reset_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let st = written(&path);
        let e = State::open(config(&path)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ResourceBusy);
        assert!(e.to_string().contains(&path.display().to_string()));
        assert_eq!(
            reset_state(&path).unwrap_err().kind(),
            io::ErrorKind::ResourceBusy
        );
        assert!(path.exists());
        drop(st);
        fs::write(side_path(&path, "tmp").unwrap(), "x").unwrap();
        assert!(reset_state(&path).unwrap());
        assert!(!path.exists() && !side_path(&path, "tmp").unwrap().exists());
        assert!(!reset_state(&path).unwrap());
        assert!(!reset_state(&dir.path().join("none").join("s.json")).unwrap());
        assert!(State::open(config(&path)).unwrap().payouts.is_empty());
    }

    #[test]
    fn a_failed_write_is_redone_as_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut st = written(&path);
        if let Some(f) = st.file.as_mut() {
            f.append = None;
        }
        st.insert(payout(GatewayKind::G2328, "o-2", "uuid-2", Duration::ZERO));
        st.commit(Vec::new()).unwrap();
        st.close_file();
        assert_eq!(State::open(config(&path)).unwrap().payouts.len(), 3);
    }

    #[test]
    fn nothing_changed_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut st = written(&path);
        let before = fs::metadata(&path).unwrap().len();
        st.commit(Vec::new()).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), before);
    }
}
