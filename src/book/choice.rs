//! Which run `payrun run SHEET` means: a new pay period, the same run again (resume), or a
//! sheet already paid — decided from the book alone (docs/book.md, "A new pay period, or the
//! same run again?").

use crate::book::identity::SheetKey;
use crate::book::{Book, BookError, Run, SheetInfo};

/// Which run `payrun run SHEET` means (docs/book.md, "A new pay period, or the same run again?").
#[derive(Debug)]
pub enum Choice {
    /// No run of this sheet: a new one.
    New,
    /// Resume this run (unfinished, named by `--run-id`, or corrected with the flags).
    Resume(Run),
    /// A finished run with the same content: nothing to send.
    AlreadyPaid(Run),
    /// A finished run of the same path with other content: the user must choose.
    Differs(Run),
}

/// What the command line asks for: a run by id (`--run-id`), a new run (`--new-run`), or a
/// correction of the earlier run (`--retry-failed`, `--accept-edits`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted<'a> {
    pub run_id: Option<&'a str>,
    pub new_run: bool,
    pub correcting: bool,
}

/// Decides which run a command means, from the book alone: the run named; else an unfinished
/// run of the sheet's path or content (every sheet a run was read from counts, see
/// [`crate::book::identity`]), unless it sent nothing and a finished run of this content came
/// before it; else a finished run of the same content (already paid)
/// unless correcting; else a finished run of the same path with other content (the user must
/// choose) unless correcting; else a new run.
pub fn choose(
    book: &Book,
    account: i64,
    wanted: Wanted<'_>,
    sheet: &SheetInfo,
) -> Result<Choice, BookError> {
    // The runs table is only an index of the chain: checked first, so a run edited or deleted
    // by hand never makes a paid sheet look new.
    book.check_runs_against_chain(Some(account))?;
    let run_id = wanted.run_id;
    if let Some(id) = run_id {
        return Ok(match book.run_by_id(account, id)? {
            Some(run) => Choice::Resume(run),
            None => Choice::New,
        });
    }
    if wanted.new_run {
        return Ok(Choice::New);
    }
    let correcting = wanted.correcting;
    let mut runs = book.sheet_runs(account, &SheetKey::of(sheet))?;
    // A run that sent nothing (stopped by a control or not confirmed), started after a
    // finished run of this very content, is a new period never begun: it is resumed only
    // when named (`--run-id`), never by a plain re-run of a paid sheet.
    let mut finished_content_before = false;
    let mut never_begun = Vec::new();
    for r in runs.iter().rev() {
        let counts = book.run_counts(&r.run)?;
        if r.by_content && !counts.unfinished() {
            finished_content_before = true;
        } else if finished_content_before && counts.unfinished() && counts.sent() == 0 {
            never_begun.push(r.run.pk);
        }
    }
    if !correcting {
        runs.retain(|r| !never_begun.contains(&r.run.pk));
    }
    let by_path = runs.iter().find(|r| r.by_path).map(|r| r.run.clone());
    let by_sha = runs.iter().find(|r| r.by_content).map(|r| r.run.clone());
    if let Some(run) = &by_path {
        if book.run_counts(run)?.unfinished() {
            return Ok(Choice::Resume(run.clone()));
        }
    }
    if let Some(run) = &by_sha {
        if book.run_counts(run)?.unfinished() || correcting {
            return Ok(Choice::Resume(run.clone()));
        }
        return Ok(Choice::AlreadyPaid(run.clone()));
    }
    Ok(match by_path {
        Some(run) if correcting => Choice::Resume(run),
        Some(run) => Choice::Differs(run),
        None => Choice::New,
    })
}
