//! Crash-safe file writes. `write_replace` puts the new content in a temporary file (tempfile) in the
//! target's directory, fsyncs it, renames it over the target and fsyncs the directory, so a
//! reader (or a crash) sees the old file or the new one, never half of one. `write_new` creates
//! a file that must not exist yet (templates, `payrun init` without `--force`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::LedgerError;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory a file lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Flushes the directory entry of `path` to disk (Unix; elsewhere a no-op).
pub fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(parent_dir(path))?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Replaces `path` with `bytes` atomically. The file is private (0600) afterwards, whatever
/// the file it replaces allowed: a ledger holds names, addresses and amounts.
pub fn write_replace(path: &Path, bytes: &[u8]) -> Result<(), LedgerError> {
    let mut r = Replacement::create(path)?;
    r.write_all(bytes).map_err(io_err(path))?;
    r.commit()
}

/// A replacement of `path` written piece by piece (a stream of problems too large to hold),
/// then put in place: fsync'd, renamed over `path` (private, 0600, even where the old file was
/// readable by others), and the directory fsync'd. Dropped without `commit`, it leaves `path` as it was and removes
/// its temporary file.
pub struct Replacement {
    path: PathBuf,
    file: io::BufWriter<tempfile::NamedTempFile>,
}

impl Replacement {
    /// Creates the temporary file beside `path`: `.<name>.<pid>.<random>.tmp`, private
    /// (tempfile creates it 0600), so one a killed process left is recognised and removed by
    /// the next run (`outputs::remove_stale_temps`).
    pub fn create(path: &Path) -> Result<Replacement, LedgerError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| LedgerError::Io {
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
            })?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.{}.", std::process::id()))
            .suffix(".tmp")
            .tempfile_in(parent_dir(path))
            .map_err(io_err(path))?;
        Ok(Replacement {
            path: path.to_path_buf(),
            file: io::BufWriter::new(tmp),
        })
    }

    /// Flushes, syncs and renames the file over `path`.
    pub fn commit(self) -> Result<(), LedgerError> {
        let path = self.path;
        let tmp = self
            .file
            .into_inner()
            .map_err(|e| io_err(&path)(e.into_error()))?;
        // tempfile creates it 0600; said again so that no umask or platform default decides.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(io_err(&path))?;
        }
        tmp.as_file().sync_all().map_err(io_err(&path))?;
        crate::failpoint::hit("in_results");
        // A failed rename leaves the temp file to its drop, which removes it.
        tmp.persist(&path).map_err(|e| io_err(&path)(e.error))?;
        sync_dir(&path).map_err(io_err(&path))
    }
}

impl Write for Replacement {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Creates `path` with `bytes`; fails with `LedgerError::Exists` if it is already there. A
/// failed write removes the partial file.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), LedgerError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(LedgerError::Exists {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err(path));
    if result.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    result?;
    sync_dir(path).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replace_writes_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        write_replace(&p, b"one").unwrap();
        write_replace(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(entries(dir.path()), vec!["out.csv"]);
    }

    #[cfg(unix)]
    #[test]
    fn replace_makes_the_file_private_whatever_the_old_one_allowed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        for old in [0o666, 0o644, 0o600, 0o400] {
            fs::write(&p, "old").unwrap_or(());
            fs::set_permissions(&p, fs::Permissions::from_mode(old)).unwrap();
            write_replace(&p, b"new").unwrap();
            assert_eq!(fs::read(&p).unwrap(), b"new");
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600,
                "replacing a {old:o} file"
            );
        }
    }

    #[test]
    fn replace_into_a_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope").join("out.csv");
        assert!(matches!(
            write_replace(&p, b"x"),
            Err(LedgerError::Io { .. })
        ));
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn new_refuses_an_existing_file_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_new(&p, b"first").unwrap();
        assert!(matches!(
            write_new(&p, b"second"),
            Err(LedgerError::Exists { .. })
        ));
        assert_eq!(fs::read(&p).unwrap(), b"first");
    }
}
