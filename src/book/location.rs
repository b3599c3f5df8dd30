//! Where the book lives: `--book FILE`, else `PAYRUN_BOOK`, else `book =` in `payrun.toml`,
//! else the platform data directory (`$XDG_DATA_HOME/payrun/book.sqlite` on Linux,
//! `~/Library/Application Support/payrun/book.sqlite` on macOS, `%APPDATA%\payrun\book.sqlite`
//! on Windows). The embedded sandbox keeps its state in a file beside the book.

use std::path::{Path, PathBuf};

/// The book's file name inside the platform data directory.
pub const FILE_NAME: &str = "book.sqlite";

/// The default book: `<platform data dir>/payrun/book.sqlite`; None when the platform has no
/// data directory (no `HOME`), in which case the user must name one.
pub fn default_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("payrun").join(FILE_NAME))
}

/// The book named by the flag, the environment or the profile, in that order of precedence,
/// else the default. Errors when nothing names one and the platform has no data directory.
pub fn resolve(
    flag: Option<&Path>,
    env: Option<&str>,
    profile: Option<&Path>,
) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(e) = env.map(str::trim).filter(|e| !e.is_empty()) {
        return Ok(PathBuf::from(e));
    }
    if let Some(p) = profile {
        return Ok(p.to_path_buf());
    }
    default_path().ok_or_else(|| {
        "no data directory on this platform (is HOME set?): name the book with --book FILE or PAYRUN_BOOK".into()
    })
}

/// The embedded sandbox's state file beside a book: `<book stem>.sandbox.json` in the book's
/// directory (`book.sqlite` → `book.sandbox.json`).
pub fn sandbox_state_path(book: &Path) -> PathBuf {
    let stem = book
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "book".into());
    book.with_file_name(format!("{stem}.sandbox.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_beats_profile() {
        let f = Path::new("/f/book.sqlite");
        let p = Path::new("/p/book.sqlite");
        assert_eq!(resolve(Some(f), Some("/e.sqlite"), Some(p)).unwrap(), f);
        assert_eq!(
            resolve(None, Some("/e.sqlite"), Some(p)).unwrap(),
            Path::new("/e.sqlite")
        );
        assert_eq!(resolve(None, Some("  "), Some(p)).unwrap(), p);
    }

    #[test]
    fn sandbox_state_sits_beside_the_book() {
        assert_eq!(
            sandbox_state_path(Path::new("/d/book.sqlite")),
            Path::new("/d/book.sandbox.json")
        );
    }
}
