//! Resume triage: what the book says about each planned order of a run before anything is
//! sent again — to send, in doubt (resolve with the gateway first), or held (a row changed
//! since its order was sent). Pure: the book's orders in, the decision out.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::book::OrderRecord;
use crate::model::{OrderId, Status};
use crate::plan::{self, PlannedOrder};

/// What the book says about each planned order.
#[derive(Debug, Default)]
pub struct Triage {
    /// To send now (never sent, certainly not applied, or a correction as a new order).
    pub to_send: Vec<PlannedOrder>,
    /// Sent with no known outcome: resolve first.
    pub in_doubt: Vec<OrderId>,
    /// Rows changed since they were sent, by sheet line: reported, not sent.
    pub held: BTreeMap<u64, String>,
}

/// Sorts planned orders by their state in the book. A row whose order the run sent with other
/// payout fields (found by line, else by address) is held unless `--accept-edits` (any earlier
/// status) or `--retry-failed` (earlier order refused) says to send it as a new order; an
/// unchanged row whose order was refused is sent again under a retry id with `--retry-failed`.
/// A row the run never planned (added to the sheet since) is sent on a plain resume, and held
/// under either flag: a correction sends only the rows it names.
/// Mutates `plan` in that last case, so the rows point at the new order.
pub fn triage(
    run_id: &str,
    plan: &mut [PlannedOrder],
    orders: &HashMap<OrderId, OrderRecord>,
    retry_failed: bool,
    accept_edits: bool,
) -> Triage {
    let planned: HashSet<&OrderId> = plan.iter().map(|o| &o.order_id).collect();
    // Sent orders no planned row has: rows edited or removed since they were sent.
    let vanished: Vec<&OrderRecord> = orders
        .values()
        .filter(|r| r.sent && !planned.contains(&r.order_id))
        .collect();
    let by_line: HashMap<u64, &OrderRecord> = vanished.iter().map(|r| (r.line, *r)).collect();
    let by_address: HashMap<(String, String), &OrderRecord> = vanished
        .iter()
        .map(|r| {
            (
                (
                    r.request.network.clone(),
                    r.request.to_address.to_ascii_lowercase(),
                ),
                *r,
            )
        })
        .collect();
    let refused = |s: Status| matches!(s, Status::Failed | Status::Cancelled);
    let mut t = Triage::default();
    for o in plan.iter_mut() {
        match orders.get(&o.order_id) {
            Some(rec) if rec.sent && rec.digest != o.fields_digest => {
                t.held.insert(
                    o.payout.line,
                    format!(
                        "order {} was already sent with other payout fields; not sent again",
                        o.order_id
                    ),
                );
            }
            Some(rec) if rec.status == Status::InDoubt => t.in_doubt.push(o.order_id.clone()),
            Some(rec) if rec.status == Status::NotSent => t.to_send.push(o.clone()),
            Some(rec) if retry_failed && refused(rec.status) => {
                let mut attempt = 1;
                let mut id = plan::retry_order_id(run_id, &rec.order_id, attempt);
                while let Some(r) = orders.get(&id).filter(|r| r.sent) {
                    if !refused(r.status) {
                        break;
                    }
                    attempt += 1;
                    id = plan::retry_order_id(run_id, &rec.order_id, attempt);
                }
                o.order_id = id;
                match orders.get(&o.order_id).map(|r| r.status) {
                    Some(Status::InDoubt) => t.in_doubt.push(o.order_id.clone()),
                    Some(s) if s != Status::NotSent => {}
                    _ => t.to_send.push(o.clone()),
                }
            }
            // The gateway has it (or it ended): nothing to do.
            Some(_) => {}
            None => {
                let key = (
                    o.payout.network.code.to_string(),
                    o.payout.address.to_ascii_lowercase(),
                );
                let earlier = by_line.get(&o.payout.line).or_else(|| by_address.get(&key));
                match earlier {
                    Some(prev) if accept_edits || (retry_failed && refused(prev.status)) => {
                        t.to_send.push(o.clone())
                    }
                    Some(prev) => {
                        let flag = if refused(prev.status) {
                            "--retry-failed"
                        } else {
                            "--accept-edits"
                        };
                        // An earlier order in doubt is resolved as it was sent (it may be
                        // paid): only the edit waits.
                        let earlier_note = if prev.status == Status::InDoubt {
                            "; the earlier order is asked about as it was sent, and may be paid"
                        } else {
                            ""
                        };
                        t.held.insert(o.payout.line, format!(
                            "changed since it was sent as order {} ({} {} to {}, {}; now {} {} to {}); the change is not sent{earlier_note} — check the sheet, then run again with {flag} to send it as a new order of this run",
                            prev.order_id, prev.request.amount, prev.request.currency, prev.request.to_address, prev.status,
                            o.payout.amount, o.payout.currency, o.payout.address
                        ));
                    }
                    // A row the run never planned, added to the sheet since: a correction
                    // (`--retry-failed`, `--accept-edits`) sends only the rows it names.
                    None if retry_failed || accept_edits => {
                        t.held.insert(o.payout.line, format!(
                            "added since run {run_id} was planned ({} {} to {}); not sent: --retry-failed and --accept-edits only correct rows the run already sent — pay a new row from a sheet of its own",
                            o.payout.amount, o.payout.currency, o.payout.address
                        ));
                    }
                    None => t.to_send.push(o.clone()),
                }
            }
        }
    }
    // Orders in doubt that no row plans any more are resolved too: they may have been paid.
    let listed: HashSet<OrderId> = t.in_doubt.iter().cloned().collect();
    t.in_doubt.extend(
        vanished
            .iter()
            .filter(|r| r.status == Status::InDoubt && !listed.contains(&r.order_id))
            .map(|r| r.order_id.clone()),
    );
    t
}
