//! Webhook intake: what a genuine delivery (its signature already checked, `gateway::webhook`)
//! does to the book. The order must be one the book sent; a delivery about another payout
//! (gateway id) or, for BlockATM, another token than the order's is refused and recorded
//! nowhere; anything else is judged like every other answer ([`crate::reconcile::judge`]) and
//! recorded — a result, or a conflict naming each field that differs. The status rule makes
//! repeated, stale and out-of-order deliveries harmless.

use crate::book::{BookError, Event, RunBook, Source};
use crate::gateway::echo::Expect;
use crate::gateway::PayoutState;
use crate::model::GatewayKind;

/// What a genuine delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// About an order the book never sent: ignored.
    NotOurs,
    /// About another payout or token than the order's: refused, recorded nowhere; why.
    Refused(String),
    /// Recorded for the order of run `run` (its primary key); the order's status after it, and
    /// the differing fields when the delivery was a conflict.
    Recorded {
        run: i64,
        status: String,
        conflict: Option<String>,
    },
}

/// Takes one genuine delivery into the book of the account (`book`). A book that cannot
/// record it is an error: the caller answers so that the gateway delivers again.
pub fn take(book: &RunBook, state: PayoutState, expect: &Expect) -> Result<Taken, BookError> {
    let id = state.order_id.clone();
    let known = book
        .book
        .order(book.account, id.as_str())?
        .filter(|(_, r)| r.sent);
    let Some((place, rec)) = known else {
        return Ok(Taken::NotOurs);
    };
    if let (Some(known), Some(said)) = (
        rec.state.as_ref().and_then(|st| st.gateway_id.as_ref()),
        state.gateway_id.as_ref(),
    ) {
        if known != said {
            return Ok(Taken::Refused(format!(
                "order {id} is gateway payout {known}, the delivery describes {said}"
            )));
        }
    }
    if let Some(symbol) = &state.echo.currency {
        if expect.gateway == GatewayKind::BlockAtm
            && !symbol.eq_ignore_ascii_case(&rec.request.currency)
        {
            return Ok(Taken::Refused(format!(
                "order {id} pays {}, the delivery says {symbol}",
                rec.request.currency
            )));
        }
    }
    let first = book.first_intent_at(&id)?;
    let ev = crate::reconcile::judge(&rec, state, Source::Webhook, first, expect);
    let conflict = match &ev {
        Event::Conflict { differences, .. } => Some(
            differences
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    };
    book.record(vec![ev])?;
    let status = book.status(&id).map(|s| s.to_string()).unwrap_or_default();
    Ok(Taken::Recorded {
        run: place.run,
        status,
        conflict,
    })
}
