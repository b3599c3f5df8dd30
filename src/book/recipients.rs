//! What the book knows about recipients, for the controls before money moves
//! (docs/design.md, "Controls before money moves"; docs/book.md, "Recipients"): every address
//! an account has sent to (for look-alike checks), and the last address each recipient key was
//! sent to (for address-change checks). Read-only; "sent" means an intent left for the gateway
//! (the `sent` flag of an order), whatever its answer. The network is `orders.network` (from
//! schema 8), else read from the request an older row holds as text.

use std::collections::HashMap;

use super::store::Book;
use super::BookError;

/// One address the account sent to, with the latest run that sent to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidAddress {
    /// The registry network code of the order (`TRX-TRC20`).
    pub network: String,
    /// The address as sent.
    pub address: String,
    pub run_id: String,
}

impl Book {
    /// Calls `each` once per order the account sent (oldest first): network, address, run id.
    /// Streams, so memory is the caller's index, not the book's size.
    pub fn each_sent_address(
        &self,
        account: i64,
        mut each: impl FnMut(PaidAddress),
    ) -> Result<(), BookError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT CASE WHEN o.network IS NOT NULL THEN o.network WHEN typeof(o.request) = 'text' THEN json_extract(o.request, '$.network') END, o.address, r.run_id
                 FROM orders o JOIN runs r ON r.id = o.run
                 WHERE o.account = ?1 AND o.sent = 1 ORDER BY o.id",
            )
            .map_err(|e| self.sql_err(e))?;
        let mut rows = stmt.query([account]).map_err(|e| self.sql_err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
            let network: Option<String> = r.get(0).map_err(|e| self.sql_err(e))?;
            each(PaidAddress {
                network: network.unwrap_or_default(),
                address: r.get(1).map_err(|e| self.sql_err(e))?,
                run_id: r.get(2).map_err(|e| self.sql_err(e))?,
            });
        }
        Ok(())
    }

    /// For every recipient key among `keys`, the address the account last sent to it (the
    /// latest sent order carrying that key) and that order's run.
    pub fn last_address_by_key(
        &self,
        account: i64,
        keys: &std::collections::HashSet<&str>,
    ) -> Result<HashMap<String, PaidAddress>, BookError> {
        let mut out = HashMap::new();
        if keys.is_empty() {
            return Ok(out);
        }
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT o.recipient_key, CASE WHEN o.network IS NOT NULL THEN o.network WHEN typeof(o.request) = 'text' THEN json_extract(o.request, '$.network') END, o.address, r.run_id
                 FROM orders o JOIN runs r ON r.id = o.run
                 WHERE o.account = ?1 AND o.sent = 1 AND o.recipient_key IS NOT NULL
                 ORDER BY o.id",
            )
            .map_err(|e| self.sql_err(e))?;
        let mut rows = stmt.query([account]).map_err(|e| self.sql_err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
            let key: String = r.get(0).map_err(|e| self.sql_err(e))?;
            if !keys.contains(key.as_str()) {
                continue;
            }
            let network: Option<String> = r.get(1).map_err(|e| self.sql_err(e))?;
            out.insert(
                key,
                PaidAddress {
                    network: network.unwrap_or_default(),
                    address: r.get(2).map_err(|e| self.sql_err(e))?,
                    run_id: r.get(3).map_err(|e| self.sql_err(e))?,
                },
            );
        }
        Ok(out)
    }
}
