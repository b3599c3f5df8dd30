//! The book: the open journal, the replay index of what it held when opened, and the full
//! records of the orders this process has touched, behind one lock. Every state change goes
//! through `record`, which appends and fsyncs the events before it applies them in memory —
//! so what the process believes is never ahead of what is on disk.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::journal::{self, Event, Index, Journal, JournalError, OrderRecord};
use crate::model::{OrderId, Status};

#[derive(Debug)]
struct Inner {
    journal: Journal,
    index: Index,
    /// Full records of the orders touched since the journal was opened (they win over `index`).
    touched: HashMap<OrderId, OrderRecord>,
    appended: bool,
}

impl Inner {
    /// Loads the order's full record into `touched` (from the index) if it is not there yet.
    fn touch(&mut self, id: &OrderId) -> Result<(), JournalError> {
        if !self.touched.contains_key(id) {
            if let Some(rec) = self.index.record(id)? {
                self.touched.insert(id.clone(), rec);
            }
        }
        Ok(())
    }
}

/// The journal and its records, shared by every submission task.
#[derive(Debug)]
pub struct Book {
    inner: Mutex<Inner>,
}

impl Book {
    pub fn new(journal: Journal, index: Index) -> Book {
        Book {
            inner: Mutex::new(Inner {
                journal,
                index,
                touched: HashMap::new(),
                appended: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends and fsyncs `events`, then applies them. Inside a multi-threaded tokio runtime the
    /// fsync runs via `block_in_place` so other tasks keep running.
    pub fn record(&self, events: Vec<Event>) -> Result<(), JournalError> {
        let write = || {
            let mut inner = self.lock();
            for ev in &events {
                if let Some(id) = ev.order_id() {
                    inner.touch(id)?;
                }
            }
            inner.journal.append(&events)?;
            inner.appended = true;
            for ev in events {
                journal::apply(&mut inner.touched, ev);
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

    /// The full record of an order.
    pub fn get(&self, id: &OrderId) -> Result<Option<OrderRecord>, JournalError> {
        let inner = self.lock();
        match inner.touched.get(id) {
            Some(r) => Ok(Some(r.clone())),
            None => inner.index.record(id),
        }
    }

    /// An order's status (None: never sent).
    pub fn status(&self, id: &OrderId) -> Option<Status> {
        let inner = self.lock();
        inner
            .touched
            .get(id)
            .map(|r| r.status)
            .or_else(|| inner.index.status(id))
    }

    /// The ids of the orders whose status satisfies `keep`.
    pub fn ids_where(&self, keep: impl Fn(Status) -> bool) -> Vec<OrderId> {
        let inner = self.lock();
        let mut ids: Vec<OrderId> = inner
            .touched
            .values()
            .filter(|r| keep(r.status))
            .map(|r| r.order_id.clone())
            .collect();
        ids.extend(
            inner
                .index
                .statuses()
                .filter(|(id, s)| keep(*s) && !inner.touched.contains_key(*id))
                .map(|(id, _)| id.clone()),
        );
        ids
    }

    /// Every full record (decoding those not touched yet).
    pub fn snapshot(&self) -> Result<HashMap<OrderId, OrderRecord>, JournalError> {
        let inner = self.lock();
        let mut all = inner.index.records()?;
        for (id, r) in &inner.touched {
            all.insert(id.clone(), r.clone());
        }
        Ok(all)
    }

    /// Whether anything was appended since the journal was opened.
    pub fn changed(&self) -> bool {
        self.lock().appended
    }
}
