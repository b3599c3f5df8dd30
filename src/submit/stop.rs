//! The stop signal shared by every submission task: Ctrl-C (finish what is in flight, start
//! nothing new) or a fatal gateway answer (auth refused, banned).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::gateway::GatewayError;

#[derive(Debug, Default)]
pub struct Stop {
    set: AtomicBool,
    interrupted: AtomicBool,
    fatal: Mutex<Option<GatewayError>>,
    notify: Notify,
}

impl Stop {
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Ctrl-C: no new request leaves; in-flight ones finish and are recorded in the book.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// A fatal gateway answer stops the run (the first one is kept for the report).
    pub fn fatal(&self, err: GatewayError) {
        let mut f = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(err);
        }
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    pub fn fatal_error(&self) -> Option<GatewayError> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sleeps for `d`; false when the stop came first.
    pub async fn sleep(&self, d: Duration) -> bool {
        if self.is_set() {
            return false;
        }
        let notified = self.notify.notified();
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.is_set(),
            _ = notified => false,
        }
    }
}

/// Listens for Ctrl-C on `rt` until the returned task is aborted: the first one interrupts
/// `stop`, after printing `note` when there is one. A command starts one listener for all it
/// does: once tokio has taken SIGINT over, a signal that arrives while nobody listens is lost.
pub fn interrupt_on_ctrl_c(
    stop: Arc<Stop>,
    rt: &tokio::runtime::Handle,
    note: Option<&'static str>,
) -> tokio::task::JoinHandle<()> {
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            if let Some(note) = note {
                eprintln!("{note}");
            }
            stop.interrupt();
        }
    })
}
