//! Which runs a sheet belongs to: every sheet a run was ever read from, not only its latest.
//!
//! A run records the sheet it reads each time its plan is saved (a `sheet` event in the hash
//! chain: path, worksheet, file SHA-256 and payouts digest), and the `runs` table keeps the
//! latest of them. A run resumed from a copy, or corrected after an edit, answers for every
//! file it was read from: the copy of the sheet as first paid is still "already paid", and an
//! edit of the first path is still "changed since it was paid" (docs/book.md, "A new pay
//! period, or the same run again?"). A worksheet is part of a sheet's identity: another
//! worksheet of the same workbook is another sheet.

use rusqlite::{params, OptionalExtension};

use super::events::Event;
use super::runs::{Run, SheetInfo};
use super::store::Book;
use super::BookError;

/// A sheet as a command sees it, for finding its runs.
#[derive(Debug, Clone, Copy)]
pub struct SheetKey<'a> {
    /// Absolute path (`runs::sheet_key`).
    pub path: &'a str,
    /// XLSX: the worksheet read; `None` for CSV.
    pub worksheet: Option<&'a str>,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: &'a str,
    /// What the sheet pays (`SheetInfo::payouts_sha256`); `None` when not known (the sheet not
    /// read yet, or no valid row).
    pub payouts: Option<&'a str>,
}

impl<'a> SheetKey<'a> {
    /// The key of a sheet as read.
    pub fn of(sheet: &'a SheetInfo) -> Self {
        SheetKey {
            path: &sheet.path,
            worksheet: sheet.worksheet.as_deref(),
            sha256: &sheet.sha256,
            payouts: sheet.payouts_sha256.as_deref(),
        }
    }
}

/// One sheet a run was read from, as its `sheet` event records it.
pub(crate) struct SheetRead {
    /// The event's seq.
    pub seq: i64,
    /// The run's row id.
    pub run: i64,
    pub path: String,
    /// `None` for CSV, and in events written before the worksheet was recorded (then any
    /// worksheet matches, as before).
    pub worksheet: Option<String>,
    pub sha256: String,
    pub payouts: Option<String>,
}

/// Which of a key's identities one recorded sheet shares.
#[derive(Debug, Default, Clone, Copy)]
struct Matches {
    path: bool,
    content: bool,
}

fn matches(
    key: &SheetKey<'_>,
    path: &str,
    worksheet: Option<&str>,
    sha: &str,
    payouts: Option<&str>,
) -> Matches {
    let same_sheet = worksheet.is_none() || worksheet == key.worksheet;
    Matches {
        path: same_sheet && path == key.path,
        content: (same_sheet && sha == key.sha256)
            || (key.payouts.is_some() && payouts == key.payouts),
    }
}

impl Book {
    /// Every sheet the account's runs (every account's: `None`) were read from, oldest first:
    /// the `sheet` events, through their partial index for one account (schema 12).
    pub(crate) fn sheets_read(&self, account: Option<i64>) -> Result<Vec<SheetRead>, BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(match account {
                Some(_) => {
                    "SELECT seq, run, body FROM events WHERE kind = 'sheet' AND account = ?1 ORDER BY seq"
                }
                None => "SELECT seq, run, body FROM events WHERE kind = 'sheet' ORDER BY seq",
            })
            .map_err(|e| self.sql_err(e))?;
        let mut rows = match account {
            Some(a) => stmt.query([a]),
            None => stmt.query([]),
        }
        .map_err(|e| self.sql_err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
            let g = |e| self.sql_err(e);
            let seq: i64 = r.get(0).map_err(g)?;
            let Some(run) = r.get::<_, Option<i64>>(1).map_err(g)? else {
                continue;
            };
            let body = self.event_body(seq, "sheet", r.get_ref(2).map_err(g)?)?;
            if let Ok(Event::Sheet {
                sheet_sha256,
                path,
                worksheet,
                payouts_sha256,
                ..
            }) = serde_json::from_slice::<Event>(&body)
            {
                out.push(SheetRead {
                    seq,
                    run,
                    path,
                    worksheet,
                    sha256: sheet_sha256,
                    payouts: payouts_sha256,
                });
            }
        }
        Ok(out)
    }

    /// The row ids of the account's runs read from a sheet with this key's path (`.0`) or
    /// content (`.1`): the runs table's latest sheet of each run and every earlier one.
    fn run_pks_of(
        &self,
        account: i64,
        key: &SheetKey<'_>,
    ) -> Result<Vec<(i64, Matches)>, BookError> {
        let mut found: Vec<(i64, Matches)> = Vec::new();
        let mut note = |run: i64, m: Matches| {
            if m.path || m.content {
                found.push((run, m));
            }
        };
        {
            let conn = self.conn();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, sheet_path, worksheet, sheet_sha256, payouts_sha256 FROM runs \
                     WHERE account = ?1 AND (sheet_path = ?2 OR sheet_sha256 = ?3 \
                     OR (?4 IS NOT NULL AND payouts_sha256 = ?4))",
                )
                .map_err(|e| self.sql_err(e))?;
            let rows = stmt
                .query_map(params![account, key.path, key.sha256, key.payouts], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .map_err(|e| self.sql_err(e))?;
            for row in rows {
                let (pk, path, ws, sha, payouts) = row.map_err(|e| self.sql_err(e))?;
                // The runs table always records the worksheet: compared exactly.
                let same_sheet = ws.as_deref() == key.worksheet;
                let m = Matches {
                    path: same_sheet && path == key.path,
                    content: (same_sheet && sha == key.sha256)
                        || (key.payouts.is_some() && payouts.as_deref() == key.payouts),
                };
                note(pk, m);
            }
        }
        for s in self.sheets_read(Some(account))? {
            let m = matches(
                key,
                &s.path,
                s.worksheet.as_deref(),
                &s.sha256,
                s.payouts.as_deref(),
            );
            note(s.run, m);
        }
        Ok(found)
    }

    /// A run by its row id.
    pub(crate) fn run_by_pk(&self, pk: i64) -> Result<Option<Run>, BookError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {} FROM runs WHERE id = ?1",
                    super::runs::RUN_COLUMNS
                ),
                [pk],
                super::runs::run_row,
            )
            .optional()
            .map_err(|e| self.sql_err(e))
    }

    /// Every run of the account ever read from a sheet with this key's path or content,
    /// newest first, each with which of the two it shares.
    pub fn sheet_runs(&self, account: i64, key: &SheetKey<'_>) -> Result<Vec<SheetRun>, BookError> {
        let mut found = self.run_pks_of(account, key)?;
        found.sort_unstable_by_key(|f| std::cmp::Reverse(f.0));
        let mut out: Vec<SheetRun> = Vec::new();
        for (pk, m) in found {
            if let Some(last) = out.last_mut().filter(|r| r.run.pk == pk) {
                last.by_path |= m.path;
                last.by_content |= m.content;
                continue;
            }
            if let Some(run) = self.run_by_pk(pk)? {
                out.push(SheetRun {
                    run,
                    by_path: m.path,
                    by_content: m.content,
                });
            }
        }
        Ok(out)
    }

    /// The latest run of the account ever read from a sheet at this path (and worksheet),
    /// and the latest ever read from a sheet with this content: the same file (and
    /// worksheet), or the same payouts however the file is laid out.
    pub fn runs_of_sheet(
        &self,
        account: i64,
        key: &SheetKey<'_>,
    ) -> Result<(Option<Run>, Option<Run>), BookError> {
        let runs = self.sheet_runs(account, key)?;
        let by_path = runs.iter().find(|r| r.by_path).map(|r| r.run.clone());
        let by_content = runs.iter().find(|r| r.by_content).map(|r| r.run.clone());
        Ok((by_path, by_content))
    }

    /// [`Book::runs_of_sheet`] for a sheet as read, so no caller leaves a part of its key out.
    pub fn runs_of(
        &self,
        account: i64,
        sheet: &SheetInfo,
    ) -> Result<(Option<Run>, Option<Run>), BookError> {
        self.runs_of_sheet(account, &SheetKey::of(sheet))
    }
}

/// A run of a sheet, and which of the sheet's identities it was read under.
#[derive(Debug, Clone)]
pub struct SheetRun {
    pub run: Run,
    /// Read from this path (and worksheet).
    pub by_path: bool,
    /// Read from this content (file or payouts).
    pub by_content: bool,
}
