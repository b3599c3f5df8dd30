//! Submission progress: an indicatif bar (done/total, rate, ETA, failures) on a terminal,
//! plain periodic lines otherwise, and counters for the final summary.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counts answers as they arrive.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: AtomicU64,
    failed: AtomicU64,
    last_line: Mutex<Instant>,
    quiet: bool,
}

impl Progress {
    /// A bar on stderr when it is a terminal; plain lines every few seconds otherwise;
    /// nothing at all when `quiet` (JSON output).
    pub fn new(total: u64, label: &str, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_message(label.to_string());
            b
        });
        Progress {
            bar,
            total,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_line: Mutex::new(Instant::now()),
            quiet,
        }
    }

    /// One order got its answer for this run.
    pub fn finished(&self, failed: bool) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let failures = if failed {
            self.failed.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.failed.load(Ordering::SeqCst)
        };
        if let Some(b) = &self.bar {
            b.set_position(done);
            if failures > 0 {
                b.set_message(format!("paying ({failures} failed)"));
            }
        } else if !self.quiet {
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(5) || done == self.total {
                *last = Instant::now();
                eprintln!(
                    "progress: {done}/{} answered, {failures} failed",
                    self.total
                );
            }
        }
    }

    /// A line on stderr that does not garble the bar (printed even when `quiet`: JSON goes to
    /// stdout).
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
