//! The book: the open journal together with the order records it replays to, behind one lock.
//! Every state change goes through `record`, which appends and fsyncs the events before it
//! applies them in memory — so what the process believes is never ahead of what is on disk.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::journal::{self, Event, Journal, JournalError, OrderRecord};
use crate::model::OrderId;

#[derive(Debug)]
struct Inner {
    journal: Journal,
    orders: HashMap<OrderId, OrderRecord>,
}

/// The journal and its records, shared by every submission task.
#[derive(Debug)]
pub struct Book {
    inner: Mutex<Inner>,
}

impl Book {
    pub fn new(journal: Journal, orders: HashMap<OrderId, OrderRecord>) -> Book {
        Book {
            inner: Mutex::new(Inner { journal, orders }),
        }
    }

    /// Appends and fsyncs `events`, then applies them. Inside a multi-threaded tokio runtime the
    /// fsync runs via `block_in_place` so other tasks keep running.
    pub fn record(&self, events: Vec<Event>) -> Result<(), JournalError> {
        let write = || {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.journal.append(&events)?;
            for ev in events {
                journal::apply(&mut inner.orders, ev);
            }
            Ok(())
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(write)
            }
            _ => write(),
        }
    }

    pub fn get(&self, id: &OrderId) -> Option<OrderRecord> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .orders
            .get(id)
            .cloned()
    }

    /// A copy of every record.
    pub fn snapshot(&self) -> HashMap<OrderId, OrderRecord> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .orders
            .clone()
    }

    /// The records, consuming the book (and releasing the journal's lock).
    pub fn into_orders(self) -> HashMap<OrderId, OrderRecord> {
        self.inner
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .orders
    }
}
