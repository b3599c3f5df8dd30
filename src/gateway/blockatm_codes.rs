//! The BlockATM error code table: every code of the BlockATM API reference (section "Response
//! envelope", error codes), its meaning, and what the client must do when it gets it. The one
//! place that maps a BlockATM code onto a [`GatewayError`]; used for envelope failures and for
//! refused batch items alike.

use super::http::{clip, CallKind};
use super::GatewayError;

/// What a BlockATM code tells the client to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Not applied (system error, busy, unavailable, maintenance): retry the same order id
    /// after a pause. → [`GatewayError::Unavailable`].
    Retry,
    /// Not applied, and retrying unchanged will not help: the request time was outside the
    /// receive window; check the clock, then retry. → [`GatewayError::NotApplied`].
    ClockCheck,
    /// The order number exists at the gateway already (or was already paid): resolve it by
    /// lookup, never mark the row failed. → [`GatewayError::Duplicate`].
    Duplicate,
    /// "Data does not exist": on a read, the gateway does not know the order
    /// ([`GatewayError::NotFound`]); on a create, a refusal of something the order references
    /// (contract, token) ([`GatewayError::Rejected`]).
    NotFound,
    /// Credentials, session, permission or signature refused: stop the run.
    /// → [`GatewayError::Auth`].
    Auth,
    /// A final refusal of this request. → [`GatewayError::Rejected`] (on a read the caller
    /// turns it into `Ambiguous`: a refused lookup says nothing about the order).
    Reject,
}

/// One documented code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    /// The reference's words.
    pub meaning: &'static str,
    pub action: Action,
}

const fn c(code: &'static str, meaning: &'static str, action: Action) -> Code {
    Code {
        code,
        meaning,
        action,
    }
}

/// Every code of the reference, in its order.
pub const CODES: &[Code] = &[
    // system
    c("000101", "system error", Action::Retry),
    c("000102", "parameter type error", Action::Reject),
    c("000103", "missing required parameter", Action::Reject),
    c("000104", "object empty", Action::Reject),
    c("000105", "invalid request", Action::ClockCheck),
    c("000106", "duplicate request", Action::Duplicate),
    c("000107", "system busy", Action::Retry),
    c("000108", "token required", Action::Auth),
    c("000109", "session expired", Action::Auth),
    c("000110", "no permission", Action::Auth),
    c("000112", "API key required", Action::Auth),
    c("000113", "service unavailable", Action::Retry),
    c("000114", "maintenance", Action::Retry),
    // business
    c("000201", "data already exists", Action::Duplicate),
    c("000202", "data does not exist", Action::NotFound),
    c("000203", "unchanged", Action::Reject),
    c("000204", "invalid status", Action::Reject),
    c("000205", "service request failed", Action::Reject),
    c("000206", "field too long", Action::Reject),
    c("000207", "field too short", Action::Reject),
    c("000208", "unsupported file format", Action::Reject),
    // payment
    c("000301", "already paid", Action::Duplicate),
    c("000302", "cancelled", Action::Reject),
    c("000303", "expired", Action::Reject),
    c("000304", "amount mismatch", Action::Reject),
    c("000305", "method unavailable", Action::Reject),
    c("000306", "signature verification failed", Action::Auth),
    c("000307", "insufficient balance", Action::Reject),
    c("000308", "insufficient authorization", Action::Reject),
    // contract
    c("000401", "contract does not exist", Action::Reject),
    c("000402", "invalid contract address", Action::Reject),
    c("000403", "insufficient contract balance", Action::Reject),
    c("000404", "unsupported token", Action::Reject),
    c("000405", "recipient not in whitelist", Action::Reject),
];

/// The documented code, if `code` is one.
pub fn lookup(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code == code)
}

/// Maps a BlockATM error code onto what the caller must do (see [`Action`]). `what` names the
/// call for the message. A code the reference does not list, including undocumented codes
/// inside the documented families, is `Ambiguous`: on a create an unknown code may stand for
/// an order that was applied; only the documented refusals are known to be safe to treat as
/// final.
pub fn error_for_code(code: &str, msg: &str, kind: CallKind, what: &str) -> GatewayError {
    let message = format!("{what}: {}", clip(msg));
    let Some(known) = lookup(code) else {
        return GatewayError::Ambiguous {
            message: format!("unknown BlockATM error code {code:?}: {message}"),
        };
    };
    let code_s = code.to_string();
    match known.action {
        Action::Retry => GatewayError::Unavailable {
            message: format!("{code}: {message}"),
        },
        Action::ClockCheck => GatewayError::NotApplied {
            code: code_s,
            message: format!(
                "{message} — BlockATM answers {code} (\"{}\") when the request time \
                 (BlockATM-Request-Time) is outside its receive window: the request was not \
                 applied; this machine's clock is probably off (clock skew against the \
                 gateway). Check the clock (NTP), then retry the same order id",
                known.meaning
            ),
        },
        Action::Duplicate => GatewayError::Duplicate {
            code: code_s,
            message,
        },
        Action::NotFound if kind == CallKind::Read => GatewayError::NotFound {
            code: code_s,
            message,
        },
        Action::Auth => GatewayError::Auth {
            message: format!("{code}: {message}"),
        },
        Action::NotFound | Action::Reject => GatewayError::Rejected {
            code: code_s,
            message: clip(msg),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GatewayError as E;

    fn c(code: &str, kind: CallKind) -> GatewayError {
        error_for_code(code, "m", kind, "t")
    }

    /// The reference's list, code by code, with the error each must give on a create and on a
    /// read.
    #[test]
    fn every_documented_code_on_create_and_read() {
        type Pred = fn(&GatewayError) -> bool;
        let unavailable: Pred = |e| matches!(e, E::Unavailable { .. });
        let not_applied: Pred = |e| matches!(e, E::NotApplied { .. });
        let duplicate: Pred = |e| matches!(e, E::Duplicate { .. });
        let auth: Pred = |e| matches!(e, E::Auth { .. });
        let rejected: Pred = |e| matches!(e, E::Rejected { .. });
        let not_found: Pred = |e| matches!(e, E::NotFound { .. });
        let table: [(&str, Pred, Pred); 34] = [
            ("000101", unavailable, unavailable),
            ("000102", rejected, rejected),
            ("000103", rejected, rejected),
            ("000104", rejected, rejected),
            ("000105", not_applied, not_applied),
            ("000106", duplicate, duplicate),
            ("000107", unavailable, unavailable),
            ("000108", auth, auth),
            ("000109", auth, auth),
            ("000110", auth, auth),
            ("000112", auth, auth),
            ("000113", unavailable, unavailable),
            ("000114", unavailable, unavailable),
            ("000201", duplicate, duplicate),
            ("000202", rejected, not_found),
            ("000203", rejected, rejected),
            ("000204", rejected, rejected),
            ("000205", rejected, rejected),
            ("000206", rejected, rejected),
            ("000207", rejected, rejected),
            ("000208", rejected, rejected),
            ("000301", duplicate, duplicate),
            ("000302", rejected, rejected),
            ("000303", rejected, rejected),
            ("000304", rejected, rejected),
            ("000305", rejected, rejected),
            ("000306", auth, auth),
            ("000307", rejected, rejected),
            ("000308", rejected, rejected),
            ("000401", rejected, rejected),
            ("000402", rejected, rejected),
            ("000403", rejected, rejected),
            ("000404", rejected, rejected),
            ("000405", rejected, rejected),
        ];
        assert_eq!(table.len(), CODES.len());
        for ((code, on_create, on_read), entry) in table.iter().zip(CODES) {
            assert_eq!(*code, entry.code, "table order");
            let e = c(code, CallKind::Create);
            assert!(on_create(&e), "{code} on create: {e:?}");
            let e = c(code, CallKind::Read);
            assert!(on_read(&e), "{code} on read: {e:?}");
        }
    }

    #[test]
    fn refusals_keep_code_and_message() {
        match c("000404", CallKind::Create) {
            E::Rejected { code, message } => {
                assert_eq!(code, "000404");
                assert_eq!(message, "m");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_request_is_not_applied_and_names_the_clock() {
        let e = c("000105", CallKind::Create);
        assert!(!e.is_fatal());
        match &e {
            E::NotApplied { code, message } => {
                assert_eq!(code, "000105");
                assert!(message.contains("clock skew"), "{message}");
                assert!(message.contains("receive window"), "{message}");
                assert!(message.contains("t: m"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(e
            .to_string()
            .starts_with("not applied by the gateway: 000105"));
    }

    #[test]
    fn duplicates_are_never_refusals() {
        for code in ["000106", "000201", "000301"] {
            let e = c(code, CallKind::Create);
            assert!(
                matches!(&e, E::Duplicate { code: got, .. } if got == code),
                "{e:?}"
            );
            assert!(!e.is_fatal());
        }
    }

    #[test]
    fn unknown_codes_are_ambiguous() {
        for code in [
            "000111", "000209", "000309", "000406", "999999", "", "200", "429",
        ] {
            assert!(lookup(code).is_none(), "{code}");
            assert!(
                matches!(c(code, CallKind::Create), E::Ambiguous { .. }),
                "{code}"
            );
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for entry in CODES {
            assert!(seen.insert(entry.code), "{} twice", entry.code);
            assert_eq!(lookup(entry.code), Some(entry));
        }
    }
}
