//! Moving payouts from pending to final over time: once `settle_after` has passed since
//! creation a payout completes (a txid derived from its gateway id, the next block number;
//! BlockATM also gets its `gasAmount`) or, when its address is on the AML list, fails with
//! `error_type: aml_risk` (BlockATM: `REFUSE`) and its debit is refunded. Runs on every
//! request, on every read through the public handle, and on a background tick, so a read
//! made after the deadline always sees the final state. Returns the webhooks to send, with the
//! `lie` faults that fire for each webhook applied (see `faults`).

use std::time::Instant;

use sha2::{Digest, Sha256};

use super::faults;
use super::fees;
use super::state::State;
use super::webhooks::{self, WebhookJob};
use crate::model::{GatewayKind, Status};

/// Settles every pending payout whose time has come.
pub fn settle_due(st: &mut State, now: Instant) -> Vec<WebhookJob> {
    let mut jobs = Vec::new();
    for i in 0..st.payouts.len() {
        let due = {
            let p = &st.payouts[i];
            p.status == Status::Pending && now >= p.settle_at
        };
        if !due {
            continue;
        }
        let flagged = st.aml_flagged(&st.payouts[i].address);
        let block = st.next_block;
        let gateway = st.payouts[i].gateway;
        let chain_gas = fees::blockatm_gas(&st.config.blockatm_chain);
        let p = &mut st.payouts[i];
        p.updated_at = chrono::Utc::now();
        if flagged {
            p.status = Status::Failed;
            p.error_type = Some("aml_risk".into());
            p.gateway_status = match gateway {
                GatewayKind::G2328 => "failed".into(),
                GatewayKind::BlockAtm => "REFUSE".into(),
            };
            if let Some((amount, currency)) = p.debited.clone() {
                let balances = match gateway {
                    GatewayKind::G2328 => &mut st.balances_2328,
                    GatewayKind::BlockAtm => &mut st.balances_blockatm,
                };
                *balances.entry(currency).or_default() += amount;
            }
        } else {
            p.status = Status::Completed;
            p.txid = Some(hex::encode(Sha256::digest(p.gateway_id.as_bytes())));
            p.block_number = Some(block);
            st.next_block += 1;
            match gateway {
                GatewayKind::G2328 => p.gateway_status = "completed".into(),
                GatewayKind::BlockAtm => {
                    p.gateway_status = "SUCCESS".into();
                    p.gas = Some(chain_gas);
                    p.fee += chain_gas;
                    p.merchant_amount += chain_gas;
                    let currency = p.currency.clone();
                    *st.balances_blockatm.entry(currency).or_default() -= chain_gas;
                }
            }
        }
        let p = &st.payouts[i];
        if !webhooks::has_target(p, &st.config) {
            continue;
        }
        let lies = st
            .faults
            .decide_webhook(faults::webhook_target(gateway))
            .lies;
        let job = match gateway {
            GatewayKind::G2328 => webhooks::for_2328_with(p, &st.config.payout_key, &lies),
            GatewayKind::BlockAtm => webhooks::for_blockatm_with(p, &st.config, &lies),
        };
        jobs.extend(job);
    }
    jobs
}
