//! Where a command may write: never over its input sheet or the book (or the book's WAL and
//! shared-memory files), checked before any work starts; and the clean-up of temporary files a
//! killed run left beside an output.

use std::path::{Path, PathBuf};

use crate::exit::Exit;

/// The path as the file system resolves it (the path itself when it does not exist yet, with
/// its parent resolved).
fn resolved(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(abs),
        _ => abs,
    }
}

/// Refuses (exit 2, nothing written) an output path that is the sheet, the book, or one of the
/// book's companion files (`-wal`, `-shm`, `-journal`, the sandbox's state file); removes temporary files a killed payrun left for that output.
pub fn check_output(out: &Path, book: Option<&Path>, sheet: Option<&Path>) -> Result<(), Exit> {
    let target = resolved(out);
    if let Some(s) = sheet {
        if resolved(s) == target {
            return Err(Exit::usage(format!(
                "{}: that is the input sheet; refusing to write over it (nothing was written)",
                out.display()
            )));
        }
    }
    if let Some(b) = book {
        let b = resolved(b);
        let name = b.file_name().map(|n| n.to_string_lossy().into_owned());
        let mut companions: Vec<PathBuf> = match name {
            Some(n) => ["", "-wal", "-shm", "-journal"]
                .iter()
                .map(|sfx| b.with_file_name(format!("{n}{sfx}")))
                .collect(),
            None => vec![b.clone()],
        };
        // The embedded sandbox keeps its gateway's state beside the book.
        let state = crate::book::location::sandbox_state_path(&b);
        if let Some(n) = state.file_name().map(|n| n.to_string_lossy().into_owned()) {
            for side in ["lock", "tmp"] {
                companions.push(state.with_file_name(format!(".{n}.{side}")));
            }
        }
        companions.push(state);
        if companions.contains(&target) {
            return Err(Exit::usage(format!(
                "{}: that is the book; refusing to write over it (nothing was written)",
                out.display()
            )));
        }
    }
    remove_stale_temps(&target);
    Ok(())
}

/// Refuses (exit 2) an output path payrun could not write when the time comes: a directory
/// there, or a folder it cannot create files in (tried with a temporary file, removed at once).
/// `run` asks this of its results ledger before anything is sent.
pub fn check_writable(out: &Path) -> Result<(), Exit> {
    if out.is_dir() {
        return Err(Exit::usage(format!(
            "{} is a directory, so the results ledger cannot be written there; move it away \
             (nothing was sent)",
            out.display()
        )));
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".payrun-write-check.")
        .tempfile_in(&dir)
        .map(drop)
        .map_err(|e| {
            Exit::usage(format!(
                "cannot write the results ledger {} ({e}); nothing was sent",
                out.display()
            ))
        })
}

/// Refuses (exit 2) an existing output file unless `force`: a report never replaces a file
/// nobody asked it to replace.
pub fn check_new(out: &Path, force: bool) -> Result<(), Exit> {
    if !force && out.exists() {
        return Err(Exit::usage(format!(
            "{} exists; pass --force to replace it (nothing was written)",
            out.display()
        )));
    }
    Ok(())
}

/// Removes `.<name>.<pid>.<n>.tmp` files beside `target` whose process is gone.
pub fn remove_stale_temps(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = n.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")) else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        let alive = match pid {
            Some(p) if p == std::process::id() => true,
            Some(p) => Path::new(&format!("/proc/{p}")).exists(),
            None => true,
        };
        if !alive {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sheet_and_the_book_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let sheet = d.path().join("pay.csv");
        std::fs::write(&sheet, "x").unwrap();
        let book = d.path().join("book.sqlite");
        std::fs::write(&book, "x").unwrap();
        let via_dots = d.path().join(".").join("pay.csv");
        assert!(check_output(&via_dots, Some(&book), Some(&sheet)).is_err());
        assert!(check_output(&book, Some(&book), Some(&sheet)).is_err());
        assert!(check_output(&d.path().join("book.sqlite-wal"), Some(&book), None).is_err());
        // The sandbox's state beside the book is the book's too.
        assert!(check_output(&d.path().join("book.sandbox.json"), Some(&book), None).is_err());
        assert!(check_output(&d.path().join("out.csv"), Some(&book), Some(&sheet)).is_ok());
    }

    #[test]
    fn temps_of_dead_processes_are_removed() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("r.csv");
        let dead = d.path().join(".r.csv.999999999.0.tmp");
        let mine = d
            .path()
            .join(format!(".r.csv.{}.0.tmp", std::process::id()));
        std::fs::write(&dead, "x").unwrap();
        std::fs::write(&mine, "x").unwrap();
        check_output(&out, None, None).unwrap();
        assert!(!dead.exists());
        assert!(mine.exists());
    }
}
