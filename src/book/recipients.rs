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
    /// The run id of run row `pk`, read once per call of a reader (`cache`).
    fn run_id_cached<'c>(
        &self,
        conn: &rusqlite::Connection,
        cache: &'c mut HashMap<i64, String>,
        pk: i64,
    ) -> Result<&'c str, BookError> {
        if let std::collections::hash_map::Entry::Vacant(v) = cache.entry(pk) {
            let run_id: String = conn
                .query_row("SELECT run_id FROM runs WHERE id = ?1", [pk], |r| r.get(0))
                .map_err(|e| self.sql_err(e))?;
            v.insert(run_id);
        }
        Ok(&cache[&pk])
    }

    /// Calls `each` once per order the account sent (oldest first, by order row): network,
    /// address, run id. Streams the live rows and merges in packed blocks (a block decoded when
    /// the merge reaches its first order), so memory is the caller's index and the blocks whose
    /// orders overlap in row order, not the book's size.
    pub fn each_sent_address(
        &self,
        account: i64,
        mut each: impl FnMut(PaidAddress),
    ) -> Result<(), BookError> {
        use std::collections::VecDeque;
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT CASE WHEN o.network IS NOT NULL THEN o.network WHEN typeof(o.request) = 'text' THEN json_extract(o.request, '$.network') END, o.address, r.run_id, o.id
                 FROM orders o JOIN runs r ON r.id = o.run
                 WHERE o.account = ?1 AND o.sent = 1 ORDER BY o.id",
            )
            .map_err(|e| self.sql_err(e))?;
        let mut rows = stmt.query([account]).map_err(|e| self.sql_err(e))?;
        let mut next_live = || -> Result<Option<(i64, PaidAddress)>, BookError> {
            let Some(r) = rows.next().map_err(|e| self.sql_err(e))? else {
                return Ok(None);
            };
            let network: Option<String> = r.get(0).map_err(|e| self.sql_err(e))?;
            Ok(Some((
                r.get(3).map_err(|e| self.sql_err(e))?,
                PaidAddress {
                    network: network.unwrap_or_default(),
                    address: r.get(1).map_err(|e| self.sql_err(e))?,
                    run_id: r.get(2).map_err(|e| self.sql_err(e))?,
                },
            )))
        };
        let blocks: Vec<(i64, i64)> = conn
            .prepare_cached(
                "SELECT first_order, id FROM packed_blocks WHERE account = ?1 ORDER BY first_order, id",
            )
            .and_then(|mut s| {
                s.query_map([account], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(|e| self.sql_err(e))?;
        let mut blocks = blocks.into_iter().peekable();
        let mut run_ids: HashMap<i64, String> = HashMap::new();
        let mut open: Vec<VecDeque<(i64, PaidAddress)>> = Vec::new();
        let mut live = next_live()?;
        loop {
            let front = open
                .iter()
                .enumerate()
                .filter_map(|(i, q)| q.front().map(|(id, _)| (*id, i)))
                .min();
            let least = match (&live, front) {
                (Some((l, _)), Some((f, _))) => Some((*l).min(f)),
                (Some((l, _)), None) => Some(*l),
                (None, Some((f, _))) => Some(f),
                (None, None) => None,
            };
            // A block whose first order comes before the least one pending is opened first.
            if let Some(&(first, id)) = blocks.peek() {
                if least.is_none_or(|l| first <= l) {
                    blocks.next();
                    let Some(block) =
                        super::packed::load_block(&conn, id).map_err(|e| self.pack_err(e))?
                    else {
                        continue;
                    };
                    let run_id = self.run_id_cached(&conn, &mut run_ids, block.run)?;
                    let mut q: Vec<(i64, PaidAddress)> = block
                        .orders
                        .iter()
                        .filter(|o| o.sent())
                        .map(|o| {
                            (
                                o.id(),
                                PaidAddress {
                                    network: super::packed::network_of(o),
                                    address: o.address().to_string(),
                                    run_id: run_id.to_string(),
                                },
                            )
                        })
                        .collect();
                    q.sort_by_key(|(id, _)| *id);
                    open.push(q.into());
                    continue;
                }
            }
            match (&live, front) {
                (Some((l, _)), Some((f, _))) if f < *l => {}
                (Some(_), _) => {
                    if let Some((_, a)) = live.take() {
                        each(a);
                    }
                    live = next_live()?;
                    continue;
                }
                (None, None) => return Ok(()),
                (None, Some(_)) => {}
            }
            if let Some((_, i)) = front {
                if let Some((_, a)) = open[i].pop_front() {
                    each(a);
                }
                if open[i].is_empty() {
                    open.swap_remove(i);
                }
            }
        }
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
                "SELECT o.recipient_key, CASE WHEN o.network IS NOT NULL THEN o.network WHEN typeof(o.request) = 'text' THEN json_extract(o.request, '$.network') END, o.address, r.run_id, o.id
                 FROM orders o JOIN runs r ON r.id = o.run
                 WHERE o.account = ?1 AND o.sent = 1 AND o.recipient_key IS NOT NULL
                 ORDER BY o.id",
            )
            .map_err(|e| self.sql_err(e))?;
        let mut rows = stmt.query([account]).map_err(|e| self.sql_err(e))?;
        // key → (order row, address): the latest order row wins.
        let mut latest: HashMap<String, (i64, PaidAddress)> = HashMap::new();
        while let Some(r) = rows.next().map_err(|e| self.sql_err(e))? {
            let key: String = r.get(0).map_err(|e| self.sql_err(e))?;
            if !keys.contains(key.as_str()) {
                continue;
            }
            let network: Option<String> = r.get(1).map_err(|e| self.sql_err(e))?;
            latest.insert(
                key,
                (
                    r.get(4).map_err(|e| self.sql_err(e))?,
                    PaidAddress {
                        network: network.unwrap_or_default(),
                        address: r.get(2).map_err(|e| self.sql_err(e))?,
                        run_id: r.get(3).map_err(|e| self.sql_err(e))?,
                    },
                ),
            );
        }
        drop(rows);
        drop(stmt);
        // Packed runs' orders carrying one of the keys.
        let mut run_ids: HashMap<i64, String> = HashMap::new();
        for id in super::packed::all_blocks(&conn, Some(account)).map_err(|e| self.pack_err(e))? {
            let Some(block) = super::packed::load_block(&conn, id).map_err(|e| self.pack_err(e))?
            else {
                continue;
            };
            for o in &block.orders {
                let Some(key) = o.recipient_key().filter(|k| o.sent() && keys.contains(k)) else {
                    continue;
                };
                if latest.get(key).is_some_and(|(row, _)| *row > o.id()) {
                    continue;
                }
                self.run_id_cached(&conn, &mut run_ids, block.run)?;
                let network = super::packed::network_of(o);
                latest.insert(
                    key.to_string(),
                    (
                        o.id(),
                        PaidAddress {
                            network,
                            address: o.address().to_string(),
                            run_id: run_ids[&block.run].clone(),
                        },
                    ),
                );
            }
        }
        out.extend(latest.into_iter().map(|(k, (_, a))| (k, a)));
        Ok(out)
    }
}
