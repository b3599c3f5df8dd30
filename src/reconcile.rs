//! Reconciliation: what one gateway answer means for one order. Every path that learns about
//! an order — a create answer, a batch item, a lookup, a status refresh, a webhook — asks
//! [`judge`], which checks the answer against the order's request (`gateway::echo::compare`:
//! address, amount, currency, network, memo, contract), against the gateway id the order
//! already has, against the order's first intent (a payout created well before it is one the
//! gateway already held under this order id), and against a final status the order already has.
//! Anything that disagrees is a **conflict**: recorded with each differing field, never counted
//! as paid, never re-sent by payrun.
//!
//! Its other parts: [`triage`] (what the book says of each planned order before a resume),
//! [`status_pass`] (the lookups `run` makes right after sending), [`webhook`] (a genuine
//! delivery into the book), [`follow`] (which orders `payrun status` still asks about). The
//! status refresh itself is `submit::Engine::refresh`, which shares the engine's pacing and
//! retries.

pub mod follow;
pub mod status_pass;
pub mod triage;
pub mod webhook;

use chrono::{DateTime, Utc};

use crate::book::{now, Event, FieldConflict, OrderRecord, Source};
use crate::gateway::echo::{self, Expect, CREATED_TOLERANCE};
use crate::gateway::PayoutState;

/// The event an answer makes for an order: a `result`, or a `conflict` naming what differs.
/// `first_intent_at` is when the order's first intent was committed (None: unknown).
pub fn judge(
    rec: &OrderRecord,
    state: PayoutState,
    source: Source,
    first_intent_at: Option<DateTime<Utc>>,
    expect: &Expect,
) -> Event {
    let mut differences: Vec<FieldConflict> = echo::compare(&rec.request, &state, expect)
        .into_iter()
        .map(|m| FieldConflict {
            field: m.field.to_string(),
            sent: m.sent,
            answered: m.answered,
        })
        .collect();
    if let (Some(known), Some(now_said)) = (
        rec.state.as_ref().and_then(|s| s.gateway_id.as_ref()),
        state.gateway_id.as_ref(),
    ) {
        if known != now_said {
            differences.push(FieldConflict {
                field: "gateway_id".into(),
                sent: format!("{known} (known)"),
                answered: now_said.to_string(),
            });
        }
    }
    if let Some(at) = first_intent_at {
        if let Some(why) = echo::created_before(&state, at, CREATED_TOLERANCE) {
            differences.push(FieldConflict {
                field: "created_at".into(),
                sent: format!(
                    "first intent at {}",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
                answered: why,
            });
        }
    }
    if rec.status.is_final() && state.status.is_final() && state.status != rec.status {
        differences.push(FieldConflict {
            field: "status".into(),
            sent: format!("{} (recorded)", rec.status),
            answered: state.status.to_string(),
        });
    }
    if differences.is_empty() {
        Event::Result {
            order_id: rec.order_id.clone(),
            source,
            state,
            at: now(),
        }
    } else {
        Event::Conflict {
            order_id: rec.order_id.clone(),
            source,
            state: Some(state),
            differences,
            at: now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{AnswerKind, Echo, PayoutRequest};
    use crate::model::{FeeOption, GatewayId, OrderId, Status};
    use rust_decimal::Decimal;

    fn req() -> PayoutRequest {
        PayoutRequest {
            order_id: OrderId("o1".into()),
            currency: "USDT".into(),
            network: "TRX-TRC20".into(),
            amount: Decimal::new(200701, 2),
            to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            fee_option: FeeOption::Deduct,
            ..Default::default()
        }
    }

    fn answer(amount: Decimal, status: Status, created: &str) -> PayoutState {
        PayoutState {
            order_id: OrderId("o1".into()),
            gateway_id: Some(GatewayId("u1".into())),
            status,
            gateway_status: status.as_str().into(),
            echo: Box::new(Echo {
                answer: Some(AnswerKind::Status2328),
                order_id: Some("o1".into()),
                to_address: Some("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into()),
                amount: Some(amount),
                currency: Some("usdt".into()),
                network: Some("TRX-TRC20".into()),
                memo_carried: true,
                created_at: Some(created.into()),
                ..Echo::default()
            }),
            ..PayoutState::default()
        }
    }

    fn record() -> OrderRecord {
        let mut r = OrderRecord::planned(2, "d".into(), req(), now());
        r.sent = true;
        r.status = Status::InDoubt;
        r
    }

    fn intent_at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_answer_that_agrees_is_a_result() {
        let ev = judge(
            &record(),
            answer(
                Decimal::new(2007010, 3),
                Status::Pending,
                "2026-11-29T10:00:01+00:00",
            ),
            Source::Create,
            Some(intent_at()),
            &Expect::g2328(),
        );
        assert!(matches!(ev, Event::Result { .. }), "{ev:?}");
    }

    #[test]
    fn another_amount_an_old_payout_and_a_contradicted_final_status_are_conflicts() {
        let ev = judge(
            &record(),
            answer(
                Decimal::new(99999900, 2),
                Status::Pending,
                "2026-11-29T10:00:01+00:00",
            ),
            Source::Status,
            Some(intent_at()),
            &Expect::g2328(),
        );
        let Event::Conflict { differences, .. } = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(differences.len(), 1);
        assert_eq!(differences[0].field, "amount");
        let ev = judge(
            &record(),
            answer(
                Decimal::new(200701, 2),
                Status::Completed,
                "2026-10-30T10:00:00+00:00",
            ),
            Source::Create,
            Some(intent_at()),
            &Expect::g2328(),
        );
        let Event::Conflict { differences, .. } = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(differences[0].field, "created_at");
        assert!(differences[0].answered.contains("already had a payout"));
        let mut done = record();
        done.status = Status::Completed;
        let ev = judge(
            &done,
            answer(
                Decimal::new(200701, 2),
                Status::Failed,
                "2026-11-29T10:00:01+00:00",
            ),
            Source::Webhook,
            Some(intent_at()),
            &Expect::g2328(),
        );
        let Event::Conflict { differences, .. } = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(differences[0].field, "status");
    }

    #[test]
    fn another_gateway_id_than_the_known_one_is_a_conflict() {
        let mut rec = record();
        rec.state = Some(PayoutState {
            gateway_id: Some(GatewayId("u-known".into())),
            ..PayoutState::default()
        });
        let ev = judge(
            &rec,
            answer(
                Decimal::new(200701, 2),
                Status::Pending,
                "2026-11-29T10:00:01+00:00",
            ),
            Source::Status,
            None,
            &Expect::g2328(),
        );
        assert!(matches!(ev, Event::Conflict { .. }), "{ev:?}");
    }
}
