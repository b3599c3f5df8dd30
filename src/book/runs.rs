//! Accounts and runs in the book: an account is a gateway kind, live or sandbox, and the
//! gateway's idempotency namespace; a run is one decision to pay one sheet once, with the sheet
//! it read (path, name, worksheet, SHA-256, rows) and the plan. Also the run's lease: one
//! sender per run, held as an OS file lock beside the book, so a killed process frees it.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::events::{now, Event, OrderRecord, SheetSnapshot, SnapshotRow};
use super::store::Book;
use super::BookError;
use crate::model::{GatewayKind, OrderId, Status};

/// Live money, or the embedded sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Sandbox,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Sandbox => "sandbox",
        }
    }
}

/// What identifies a gateway account. Never holds a secret: BlockATM's namespace carries a
/// fingerprint of the API key, not the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountKey {
    pub gateway: GatewayKind,
    pub mode: Mode,
    /// 2328: the project UUID (lower case). BlockATM: `<contract id>/<key fingerprint>`.
    pub namespace: String,
}

/// The first 16 hex characters of a domain-separated SHA-256 of an API key.
pub fn key_fingerprint(api_key: &str) -> String {
    let d = Sha256::new()
        .chain_update(b"payrun-api-key-fingerprint\x1f")
        .chain_update(api_key.as_bytes())
        .finalize();
    hex::encode(&d[..8])
}

impl AccountKey {
    /// A 2328 account: the project UUID.
    pub fn g2328(mode: Mode, project: &str) -> AccountKey {
        AccountKey {
            gateway: GatewayKind::G2328,
            mode,
            namespace: project.trim().to_ascii_lowercase(),
        }
    }

    /// A BlockATM account: the contract id and the API key's fingerprint.
    pub fn blockatm(mode: Mode, contract_id: &str, api_key: &str) -> AccountKey {
        AccountKey {
            gateway: GatewayKind::BlockAtm,
            mode,
            namespace: format!("{}/{}", contract_id.trim(), key_fingerprint(api_key)),
        }
    }

    /// `2328 live, project 1111…` — for prompts and listings.
    pub fn label(&self) -> String {
        let what = match self.gateway {
            GatewayKind::G2328 => "project",
            GatewayKind::BlockAtm => "contract/key",
        };
        format!(
            "{} {}, {what} {}",
            self.gateway,
            self.mode.as_str(),
            self.namespace
        )
    }
}

/// A run as the book holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The row id (internal).
    pub pk: i64,
    pub account: i64,
    pub run_id: String,
    /// The sheet's absolute path when last read.
    pub sheet_path: String,
    pub sheet_name: String,
    pub worksheet: Option<String>,
    /// SHA-256 (hex) of the sheet's bytes when last read.
    pub sheet_sha256: String,
    pub columns: Vec<String>,
    /// RFC 3339 UTC.
    pub started_at: String,
}

pub(super) const RUN_COLUMNS: &str =
    "id, account, run_id, sheet_path, sheet_name, worksheet, sheet_sha256, columns, started_at";

pub(super) fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
    let columns: String = r.get(7)?;
    Ok(Run {
        pk: r.get(0)?,
        account: r.get(1)?,
        run_id: r.get(2)?,
        sheet_path: r.get(3)?,
        sheet_name: r.get(4)?,
        worksheet: r.get(5)?,
        sheet_sha256: r.get(6)?,
        columns: serde_json::from_str(&columns).unwrap_or_default(),
        started_at: r.get(8)?,
    })
}

/// The sheet a run reads, for creating or updating a run.
#[derive(Debug, Clone)]
pub struct SheetInfo {
    /// Absolute path.
    pub path: String,
    pub name: String,
    pub worksheet: Option<String>,
    pub sha256: String,
    /// What the sheet pays, however the file is laid out: SHA-256 (hex) of the sorted payout
    /// field digests (`plan::fields_digest`) of its valid rows; `None` without a valid row.
    /// A run whose sheet had this value is the same content (docs/book.md).
    pub payouts_sha256: Option<String>,
}

/// How far a run got: order counts per status, and whether its plan was ever recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunCounts(pub BTreeMap<Status, u64>, pub bool);

impl RunCounts {
    pub fn get(&self, s: Status) -> u64 {
        self.0.get(&s).copied().unwrap_or(0)
    }
    /// No plan recorded yet (the run stopped before it), or some planned order not yet
    /// answered, or in doubt.
    pub fn unfinished(&self) -> bool {
        !self.1 || self.get(Status::NotSent) + self.get(Status::InDoubt) > 0
    }
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
    /// Orders sent (an intent committed): every order but those not sent yet.
    pub fn sent(&self) -> u64 {
        self.total() - self.get(Status::NotSent)
    }
}

/// A run's lease: held while this value lives (an OS lock on a file beside the book).
#[derive(Debug)]
pub struct Lease {
    _file: File,
    pub path: PathBuf,
}

impl Book {
    /// The account's row id, created on first use.
    pub fn account(&self, key: &AccountKey) -> Result<i64, BookError> {
        self.write(|tx| {
            let found: Option<i64> = tx
                .query_row(
                    "SELECT id FROM accounts WHERE gateway = ?1 AND mode = ?2 AND namespace = ?3",
                    params![key.gateway.as_str(), key.mode.as_str(), key.namespace],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.sql_err(e))?;
            if let Some(id) = found {
                return Ok(id);
            }
            tx.execute(
                "INSERT INTO accounts(gateway, mode, namespace, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.gateway.as_str(), key.mode.as_str(), key.namespace, key.label(), now()],
            )
            .map_err(|e| self.sql_err(e))?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The account's row id if the book has it (read-only commands never create one).
    pub fn find_account(&self, key: &AccountKey) -> Result<Option<i64>, BookError> {
        self.conn()
            .query_row(
                "SELECT id FROM accounts WHERE gateway = ?1 AND mode = ?2 AND namespace = ?3",
                params![key.gateway.as_str(), key.mode.as_str(), key.namespace],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))
    }

    /// The label of an account row.
    pub fn account_label(&self, account: i64) -> Result<String, BookError> {
        self.conn()
            .query_row("SELECT label FROM accounts WHERE id = ?1", [account], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql_err(e))
    }

    /// The gateway kind of an account row.
    pub fn account_gateway(&self, account: i64) -> Result<GatewayKind, BookError> {
        let g: String = self
            .conn()
            .query_row(
                "SELECT gateway FROM accounts WHERE id = ?1",
                [account],
                |r| r.get(0),
            )
            .map_err(|e| self.sql_err(e))?;
        GatewayKind::parse(&g).ok_or_else(|| BookError::Tampered {
            path: self.path().into(),
            place: format!("account {account} names the unknown gateway {g:?}"),
        })
    }

    /// A run of the account by its id.
    pub fn run_by_id(&self, account: i64, run_id: &str) -> Result<Option<Run>, BookError> {
        self.conn()
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE account = ?1 AND run_id = ?2"),
                params![account, run_id],
                run_row,
            )
            .optional()
            .map_err(|e| self.sql_err(e))
    }

    /// Runs with this id in any account (for read-only commands given only `--run-id`).
    pub fn runs_named(&self, run_id: &str) -> Result<Vec<Run>, BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?1 ORDER BY id"
            ))
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([run_id], run_row)
            .map_err(|e| self.sql_err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql_err(e))?;
        Ok(rows)
    }

    /// Every run of an account (None: of every account), oldest first.
    pub fn runs(&self, account: Option<i64>) -> Result<Vec<Run>, BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE ?1 IS NULL OR account = ?1 ORDER BY id"
            ))
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([account], run_row)
            .map_err(|e| self.sql_err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql_err(e))?;
        Ok(rows)
    }

    /// Creates a run: `wanted` as given (`--run-id`), else `<stem>-<YYYYMMDD>` of today (UTC),
    /// with `-2`, `-3`… when taken in the account.
    pub fn create_run(
        &self,
        account: i64,
        wanted: Option<&str>,
        stem: &str,
        sheet: &SheetInfo,
        columns: &[String],
    ) -> Result<Run, BookError> {
        let started = now();
        let base = match wanted {
            Some(w) => w.to_string(),
            None => format!("{stem}-{}", chrono::Utc::now().format("%Y%m%d")),
        };
        let run_id = self.write(|tx| {
            let taken = |id: &str| -> Result<bool, BookError> {
                tx.query_row(
                    "SELECT 1 FROM runs WHERE account = ?1 AND run_id = ?2",
                    params![account, id],
                    |_| Ok(()),
                )
                .optional()
                .map(|o| o.is_some())
                .map_err(|e| self.sql_err(e))
            };
            let mut id = base.clone();
            if wanted.is_some() {
                if taken(&id)? {
                    return Err(BookError::Encode(format!("run {id} exists already")));
                }
            } else {
                let mut n = 2;
                while taken(&id)? {
                    id = format!("{base}-{n}");
                    n += 1;
                }
            }
            tx.execute(
                "INSERT INTO runs(account, run_id, sheet_path, sheet_name, worksheet, sheet_sha256, columns, started_at, payouts_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    account,
                    id,
                    sheet.path,
                    sheet.name,
                    sheet.worksheet,
                    sheet.sha256,
                    serde_json::to_string(columns).unwrap_or_else(|_| "[]".into()),
                    started,
                    sheet.payouts_sha256
                ],
            )
            .map_err(|e| self.sql_err(e))?;
            Ok(id)
        })?;
        self.run_by_id(account, &run_id)?
            .ok_or_else(|| BookError::Encode("a run just created is missing".into()))
    }

    /// Records the sheet a run read and its plan, in one transaction: the rows (as the results
    /// ledger shows them), a `sheet` event in the chain, and an order (not sent) for every
    /// order to send that the book does not have yet.
    pub fn save_plan(
        &self,
        account: i64,
        run: &Run,
        sheet: &SheetInfo,
        snapshot: &SheetSnapshot,
        held: &BTreeMap<u64, String>,
        planned: &[(OrderRecord, Option<String>)],
    ) -> Result<(), BookError> {
        self.write(|tx| {
            // A packed run is planned again (a correction): back to the live tables first.
            super::packed::unpack_run(tx, run.pk).map_err(|e| self.pack_err(e))?;
            // The orders first: a row names its order by the order's row, when the order is
            // this run's (schema 9).
            self.plan_orders(tx, account, run.pk, planned)?;
            tx.execute("DELETE FROM rows WHERE run = ?1", [run.pk])
                .map_err(|e| self.sql_err(e))?;
            {
                let mut ins = tx
                    .prepare_cached(
                        "INSERT INTO rows(run, line, order_id, invalid, held, currency, network, amount, quoted_fee, cells, order_row) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    )
                    .map_err(|e| self.sql_err(e))?;
                let mut order_of = tx
                    .prepare_cached("SELECT id, run FROM orders WHERE account = ?1 AND order_id = ?2")
                    .map_err(|e| self.sql_err(e))?;
                for r in &snapshot.rows {
                    let order_row: Option<i64> = match &r.order_id {
                        Some(id) => order_of
                            .query_row(params![account, id.as_str()], |o| {
                                Ok((o.get::<_, i64>(0)?, o.get::<_, i64>(1)?))
                            })
                            .optional()
                            .map_err(|e| self.sql_err(e))?
                            .and_then(|(row, of)| (of == run.pk).then_some(row)),
                        None => None,
                    };
                    let cells = serde_json::to_string(&r.cells).unwrap_or_else(|_| "[]".into());
                    ins.execute(params![
                        run.pk,
                        r.line as i64,
                        r.order_id
                            .as_ref()
                            .filter(|_| order_row.is_none())
                            .map(OrderId::as_str),
                        r.invalid,
                        held.get(&r.line),
                        r.currency,
                        r.network,
                        r.amount.map(|a| a.to_string()),
                        r.quoted_fee.map(|a| a.to_string()),
                        super::codec::encode(&cells),
                        order_row,
                    ])
                    .map_err(|e| self.sql_err(e))?;
                }
            }
            tx.execute(
                "UPDATE runs SET sheet_path = ?2, sheet_name = ?3, worksheet = ?4, sheet_sha256 = ?5, columns = ?6, payouts_sha256 = ?7 WHERE id = ?1",
                params![
                    run.pk,
                    sheet.path,
                    sheet.name,
                    sheet.worksheet,
                    sheet.sha256,
                    serde_json::to_string(&snapshot.columns).unwrap_or_else(|_| "[]".into()),
                    sheet.payouts_sha256
                ],
            )
            .map_err(|e| self.sql_err(e))?;
            self.append_event(
                tx,
                account,
                Some(run.pk),
                &Event::Sheet {
                    sheet_sha256: sheet.sha256.clone(),
                    rows: snapshot.rows.len() as u64,
                    path: sheet.path.clone(),
                    worksheet: sheet.worksheet.clone(),
                    payouts_sha256: sheet.payouts_sha256.clone(),
                    at: now(),
                },
            )?;
            Ok(())
        })
    }

    /// The sheet rows a run last read, with the held reasons.
    pub fn snapshot(&self, run: &Run) -> Result<(SheetSnapshot, BTreeMap<u64, String>), BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT r.line, CASE WHEN r.order_row IS NULL THEN r.order_id ELSE (SELECT order_id FROM orders WHERE id = r.order_row) END, r.invalid, r.held, r.currency, r.network, r.amount, r.quoted_fee, r.cells, r.order_row FROM rows r WHERE r.run = ?1 ORDER BY r.line",
            )
            .map_err(|e| self.sql_err(e))?;
        let mut held = BTreeMap::new();
        let mut rows = Vec::new();
        let mut q = stmt.query([run.pk]).map_err(|e| self.sql_err(e))?;
        let dec = |s: Option<String>| s.and_then(|s| s.parse().ok());
        while let Some(r) = q.next().map_err(|e| self.sql_err(e))? {
            let line: i64 = r.get(0).map_err(|e| self.sql_err(e))?;
            let get_s = |i: usize| -> Result<Option<String>, BookError> {
                r.get(i).map_err(|e| self.sql_err(e))
            };
            if let Some(h) = get_s(3)? {
                held.insert(line as u64, h);
            }
            let cells = super::codec::decode_str(r.get_ref(8).map_err(|e| self.sql_err(e))?)
                .map_err(|e| {
                    BookError::Tampered {
                        path: self.path().into(),
                        place: format!(
                            "line {line} of run {}: its cells (rows.cells) are unreadable ({e}): edited outside payrun",
                            run.run_id
                        ),
                    }
                })?
                .unwrap_or_default();
            let order_id = get_s(1)?.map(OrderId);
            let order_row: Option<i64> = r.get(9).map_err(|e| self.sql_err(e))?;
            if order_id.is_none() && order_row.is_some() {
                return Err(BookError::Tampered {
                    path: self.path().into(),
                    place: format!(
                        "line {line} of run {}: the order it names (rows.order_row) is missing: removed outside payrun",
                        run.run_id
                    ),
                });
            }
            rows.push(SnapshotRow {
                line: line as u64,
                cells: serde_json::from_str(&cells).unwrap_or_default(),
                order_id,
                invalid: get_s(2)?,
                currency: get_s(4)?,
                network: get_s(5)?,
                amount: dec(get_s(6)?),
                quoted_fee: dec(get_s(7)?),
            });
        }
        drop(q);
        drop(stmt);
        // The lines of a packed run's orders, from its blocks (cells kept decoded there).
        let blocks = super::packed::run_blocks(&conn, run.pk).map_err(|e| self.pack_err(e))?;
        for id in &blocks {
            let Some(block) =
                super::packed::load_block(&conn, *id).map_err(|e| self.pack_err(e))?
            else {
                continue;
            };
            for o in &block.orders {
                for r in &o.rows {
                    let (line, row) = super::packed::snapshot_row(r, o);
                    if let Some(h) = row.1 {
                        held.insert(line, h);
                    }
                    rows.push(row.0);
                }
            }
        }
        if !blocks.is_empty() {
            rows.sort_by_key(|r| r.line);
        }
        Ok((
            SheetSnapshot {
                columns: run.columns.clone(),
                rows,
                sheet_sha256: run.sheet_sha256.clone(),
            },
            held,
        ))
    }

    /// Order counts per status of a run; also checks that no order row of the run was removed
    /// outside payrun (the run's order count is kept in the same transactions).
    pub fn run_counts(&self, run: &Run) -> Result<RunCounts, BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT status, count(*) FROM orders WHERE run = ?1 GROUP BY status")
            .map_err(|e| self.sql_err(e))?;
        let mut counts = BTreeMap::new();
        let rows = stmt
            .query_map([run.pk], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(|e| self.sql_err(e))?;
        for r in rows {
            let (s, n) = r.map_err(|e| self.sql_err(e))?;
            let status = Status::parse(&s).ok_or_else(|| BookError::Tampered {
                path: self.path().into(),
                place: format!("run {}: an order has the unknown status {s:?}", run.run_id),
            })?;
            counts.insert(status, n as u64);
        }
        // A packed run's orders, counted per block when it was packed.
        let mut stmt = conn
            .prepare_cached("SELECT statuses FROM packed_blocks WHERE run = ?1")
            .map_err(|e| self.sql_err(e))?;
        let blocks = stmt
            .query_map([run.pk], |r| r.get::<_, String>(0))
            .map_err(|e| self.sql_err(e))?;
        let mut packed = false;
        for b in blocks {
            let b = b.map_err(|e| self.sql_err(e))?;
            packed = true;
            let per: BTreeMap<String, u64> =
                serde_json::from_str(&b).map_err(|e| BookError::Tampered {
                    path: self.path().into(),
                    place: format!(
                        "run {}: a block's status counts (packed_blocks.statuses) are unreadable ({e})",
                        run.run_id
                    ),
                })?;
            for (s, n) in per {
                let status = Status::parse(&s).ok_or_else(|| BookError::Tampered {
                    path: self.path().into(),
                    place: format!("run {}: an order has the unknown status {s:?}", run.run_id),
                })?;
                *counts.entry(status).or_default() += n;
            }
        }
        drop(stmt);
        let expected: i64 = conn
            .query_row(
                "SELECT order_count FROM runs WHERE id = ?1",
                [run.pk],
                |r| r.get(0),
            )
            .map_err(|e| self.sql_err(e))?;
        let have: u64 = counts.values().sum();
        if have != expected.max(0) as u64 {
            let missing = self.order_without_row(&conn, run.pk)?;
            return Err(BookError::Tampered {
                path: self.path().into(),
                place: format!(
                    "run {} should have {expected} orders but has {have}{}: order rows were removed outside payrun",
                    run.run_id,
                    missing.map(|m| format!(" (order {m} has events but no row)")).unwrap_or_default()
                ),
            });
        }
        let planned: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM rows WHERE run = ?1)",
                [run.pk],
                |r| r.get(0),
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(RunCounts(counts, planned || packed))
    }

    /// The first order of the run's events (in `seq` order) that has no order row (bodies
    /// that do not decode or name no order are passed over: the chain check names those).
    fn order_without_row(&self, conn: &Connection, run: i64) -> Result<Option<String>, BookError> {
        #[derive(serde::Deserialize)]
        struct Named {
            order_id: Option<String>,
        }
        let mut events = conn
            .prepare("SELECT account, body FROM events WHERE run = ?1 ORDER BY seq")
            .map_err(|e| self.sql_err(e))?;
        let mut has_row = conn
            .prepare("SELECT 1 FROM orders WHERE account = ?1 AND order_id = ?2")
            .map_err(|e| self.sql_err(e))?;
        let mut rows = events.query([run]).map_err(|e| self.sql_err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
            let account: i64 = r.get(0).map_err(|e| self.sql_err(e))?;
            let Ok(Some(body)) = super::codec::decode(r.get_ref(1).map_err(|e| self.sql_err(e))?)
            else {
                continue;
            };
            let Ok(Named { order_id: Some(id) }) = serde_json::from_slice::<Named>(&body) else {
                continue;
            };
            if !has_row
                .exists(rusqlite::params![account, id])
                .map_err(|e| self.sql_err(e))?
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Takes the run's lease (one sender per run). Fails with `Leased` when another process
    /// holds it; the OS frees it when that process ends, however it ends.
    pub fn lease(&self, run: &Run) -> Result<Lease, BookError> {
        let stem = self
            .path()
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "book".into());
        let dir = self.path().with_file_name(format!("{stem}.leases"));
        let io = |source| BookError::Io {
            path: dir.clone(),
            source,
        };
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&dir).map_err(io)?;
        let path = dir.join(format!("run-{}.lock", run.pk));
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let file = o.open(&path).map_err(|source| BookError::Io {
            path: path.clone(),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Lease { _file: file, path }),
            Err(std::fs::TryLockError::WouldBlock) => Err(BookError::Leased {
                run_id: run.run_id.clone(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(BookError::Io { path, source }),
        }
    }

    /// Whether an explicit order id is already used in the account, and by which run.
    pub fn order_run(&self, account: i64, order_id: &str) -> Result<Option<String>, BookError> {
        let conn = self.conn();
        let live: Option<String> = conn
            .query_row(
                "SELECT r.run_id FROM orders o JOIN runs r ON r.id = o.run WHERE o.account = ?1 AND o.order_id = ?2",
                params![account, order_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        if live.is_some() {
            return Ok(live);
        }
        let Some((block, _)) =
            super::packed::find_order(&conn, account, order_id).map_err(|e| self.pack_err(e))?
        else {
            return Ok(None);
        };
        conn.query_row("SELECT run_id FROM runs WHERE id = ?1", [block.run], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| self.sql_err(e))
    }
}

/// The absolute form of a sheet path as the book keys it (made absolute against the current
/// directory, `..` and symlinks resolved where the file exists).
pub fn sheet_key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}
