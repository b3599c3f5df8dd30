//! Standard output that a closed pipe cannot break: `payrun validate big.csv | head -1` ends
//! normally. A write to a closed stdout is dropped (and remembered); nothing panics, and a
//! `run` that is printing its summary after the money moved still finishes its recording and
//! exits with its own code. Use [`outln!`](crate::outln) / [`out!`](crate::out) instead of
//! `println!` / `print!`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
static WRITTEN: AtomicBool = AtomicBool::new(false);

/// Writes formatted text to stdout; a closed pipe (or any write error) is remembered, not
/// raised.
pub fn write(args: std::fmt::Arguments<'_>) {
    WRITTEN.store(true, Ordering::Relaxed);
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut o = std::io::stdout().lock();
    if o.write_fmt(args).and_then(|()| o.flush()).is_err() {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Whether anything was written to stdout through [`write`].
pub fn written() -> bool {
    WRITTEN.load(Ordering::Relaxed)
}

/// With `--json`, the one document a command that printed none leaves on stdout as it ends
/// (a run refused for invalid rows or for a decision to make, any error): `{"exit_code": N,
/// "error": "…"}`, the error as stderr shows it (`null` when the command ended without one).
/// Nothing when the command printed its own document.
pub fn json_outcome(code: u8, error: Option<&str>) {
    if written() {
        return;
    }
    let doc = serde_json::json!({ "exit_code": code, "error": error });
    write(format_args!("{doc}\n"));
}

/// Whether stdout was found closed.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Whether an error is a closed pipe (anywhere in its chain).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!` to stdout, surviving a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::output::write(format_args!("{}\n", format_args!($($t)*))) };
}

/// `print!` to stdout, surviving a closed pipe.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::output::write(format_args!($($t)*)) };
}
