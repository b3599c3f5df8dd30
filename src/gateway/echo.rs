//! Checking a gateway's answer against what was sent: [`compare`] lists every field the answer
//! echoes differently from the request (or leaves out although its answer kind documents it),
//! and [`created_before`] tells when the answer describes a payout created well before the
//! order's intent was written, i.e. a payout the gateway already held under this order id.
//! One function serves every decode path (2328 create / status / webhook, BlockATM create /
//! batch item / detail / webhook); what each answer kind is documented to carry is decided
//! here, from the two API references (2328: "Result object fields"; BlockATM: the create,
//! detail and batch sections and "Payout webhook").
//!
//! Rules:
//! - the order id echoed must be the request's;
//! - addresses compare by their canonical key for the request network's family (EVM
//!   case-insensitive, TON raw and user-friendly forms equal, bech32 lower-cased, base58
//!   exact), through `validate::address`; an address that does not parse falls back to the
//!   family's case rule;
//! - amounts compare by value (`1.00` == `1`); 2328's `amount` is the requested amount
//!   (`merchant_amount` / `network_amount` are the fees' business and never compared);
//! - currency (BlockATM `symbol`) case-insensitively;
//! - network only for 2328 (a BlockATM contract fixes its chain), by registry code;
//! - memo where the request had one or the answer carries a non-empty one;
//! - BlockATM `contractId` against the account's contract, when [`Expect`] names it;
//! - a field the answer kind documents but the answer leaves out is a mismatch answered
//!   `(missing)`; a field the answer kind does not carry (BlockATM create answers and batch
//!   items carry only `orderNo`, `orderId`, `status`, `createTime`) is compared only if present.
//!   A state without an answer kind (decoded before echoes were kept) is compared on the fields
//!   present only.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AnswerKind, PayoutRequest, PayoutState};
use crate::model::{GatewayKind, Status};
use crate::networks;
use crate::validate::address::{self, AddressFamily};

/// What the answer must agree with besides the request itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The gateway the order was sent to.
    pub gateway: GatewayKind,
    /// BlockATM: the account's payout contract (compared with `contractId` when the answer
    /// carries one, and required where the answer kind documents it).
    pub contract_id: Option<String>,
}

impl Expect {
    /// A 2328 order.
    pub fn g2328() -> Expect {
        Expect {
            gateway: GatewayKind::G2328,
            contract_id: None,
        }
    }

    /// A BlockATM order paid from `contract_id`.
    pub fn blockatm(contract_id: impl Into<String>) -> Expect {
        Expect {
            gateway: GatewayKind::BlockAtm,
            contract_id: Some(contract_id.into()),
        }
    }
}

/// One field the answer echoes differently from what was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// `order_id`, `to_address`, `amount`, `currency`, `network`, `memo`, `contract_id`,
    /// `gateway`.
    pub field: &'static str,
    /// What was sent (`(none)` when the request had no such field).
    pub sent: String,
    /// What the answer says (`(missing)`: documented but absent; `(null)`: an explicit null).
    pub answered: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: sent {}, answered {}",
            self.field, self.sent, self.answered
        )
    }
}

/// The `answered` text of a documented field the answer left out.
pub const MISSING: &str = "(missing)";
/// The `answered` text of an explicit JSON null.
pub const NULL: &str = "(null)";
/// The `sent` text of a field the request did not have.
pub const NONE: &str = "(none)";

/// Which fields an answer kind is documented to carry.
#[derive(Debug, Clone, Copy, Default)]
struct Documented {
    order_id: bool,
    to_address: bool,
    amount: bool,
    currency: bool,
    network: bool,
    memo: bool,
    contract_id: bool,
    created_at: bool,
}

fn documented(answer: Option<AnswerKind>) -> Documented {
    let all_2328 = Documented {
        order_id: true,
        to_address: true,
        amount: true,
        currency: true,
        network: true,
        memo: true,
        contract_id: false,
        created_at: true,
    };
    let blockatm_full = Documented {
        order_id: true,
        to_address: true,
        amount: true,
        currency: true,
        network: false,
        memo: false,
        contract_id: true,
        created_at: true,
    };
    match answer {
        None => Documented::default(),
        Some(AnswerKind::Create2328 | AnswerKind::Status2328 | AnswerKind::Webhook2328) => all_2328,
        Some(AnswerKind::CreateBlockAtm | AnswerKind::BatchItemBlockAtm) => Documented {
            order_id: true,
            created_at: true,
            ..Documented::default()
        },
        Some(AnswerKind::DetailBlockAtm | AnswerKind::WebhookBlockAtm) => blockatm_full,
    }
}

/// Every field of `state`'s answer that disagrees with `req` (empty: the answer agrees with
/// everything it carries and carries everything its kind documents). See the module doc for
/// the rules.
pub fn compare(req: &PayoutRequest, state: &PayoutState, expect: &Expect) -> Vec<Mismatch> {
    let echo = &state.echo;
    let doc = documented(echo.answer);
    let mut out = Vec::new();
    let mut push = |field: &'static str, sent: String, answered: String| {
        out.push(Mismatch {
            field,
            sent,
            answered,
        })
    };

    if let Some(answer) = echo.answer {
        if answer.gateway() != expect.gateway {
            push(
                "gateway",
                expect.gateway.as_str().to_string(),
                answer.describe().to_string(),
            );
        }
    }

    // Order id: what the answer echoed, and what the state was filed under.
    let want = req.order_id.as_str();
    match &echo.order_id {
        Some(got) if got != want => push("order_id", want.to_string(), got.clone()),
        None if doc.order_id => push("order_id", want.to_string(), MISSING.to_string()),
        _ if state.order_id.as_str() != want => {
            push("order_id", want.to_string(), state.order_id.0.clone())
        }
        _ => {}
    }

    let network = networks::lookup(&req.network);
    match &echo.to_address {
        Some(got) if !same_address(network.map(|n| n.family), &req.to_address, got) => {
            push("to_address", req.to_address.clone(), got.clone())
        }
        None if doc.to_address => push("to_address", req.to_address.clone(), MISSING.into()),
        _ => {}
    }

    match echo.amount {
        Some(got) if got != req.amount => push("amount", req.amount.to_string(), got.to_string()),
        None if doc.amount => push("amount", req.amount.to_string(), MISSING.into()),
        _ => {}
    }

    match &echo.currency {
        Some(got) if !got.eq_ignore_ascii_case(&req.currency) => {
            push("currency", req.currency.clone(), got.clone())
        }
        None if doc.currency => push("currency", req.currency.clone(), MISSING.into()),
        _ => {}
    }

    if expect.gateway == GatewayKind::G2328 {
        match &echo.network {
            Some(got) if !same_network(&req.network, got) => {
                push("network", req.network.clone(), got.clone())
            }
            None if doc.network => push("network", req.network.clone(), MISSING.into()),
            _ => {}
        }
    }

    let sent_memo = req.memo.as_deref().filter(|m| !m.is_empty());
    let answered_memo = echo.memo.as_deref().filter(|m| !m.is_empty());
    if sent_memo != answered_memo {
        let answered = match (answered_memo, echo.memo.as_deref()) {
            (Some(m), _) => Some(m.to_string()),
            (None, Some(_)) => Some("(empty)".to_string()),
            (None, None) if echo.memo_carried => Some(NULL.to_string()),
            (None, None) if doc.memo => Some(MISSING.to_string()),
            // The answer kind does not carry a memo and this answer has none: nothing to say.
            (None, None) => None,
        };
        if let Some(answered) = answered {
            push(
                "memo",
                sent_memo.map_or(NONE.to_string(), str::to_string),
                answered,
            );
        }
    }

    if let Some(want) = &expect.contract_id {
        match &echo.contract_id {
            Some(got) if got != want => push("contract_id", want.clone(), got.clone()),
            None if doc.contract_id => push("contract_id", want.clone(), MISSING.into()),
            _ => {}
        }
    }
    out
}

/// Whether two addresses are the same account for the network family (see the module doc).
pub fn same_address(family: Option<AddressFamily>, a: &str, b: &str) -> bool {
    match family {
        Some(f) => canonical_address(f, a) == canonical_address(f, b),
        None => a == b,
    }
}

/// The comparison key of an address: `validate::address`'s canonical key when it parses;
/// otherwise lower case for the case-insensitive forms (EVM hex, bech32) and the text itself
/// for the rest.
pub fn canonical_address(family: AddressFamily, addr: &str) -> String {
    if let Ok(key) = address::check(family, addr) {
        return key;
    }
    let lower = addr.to_ascii_lowercase();
    let case_insensitive = match family {
        AddressFamily::Evm => true,
        AddressFamily::Bitcoin => lower.starts_with("bc1"),
        AddressFamily::Litecoin => lower.starts_with("ltc1"),
        _ => false,
    };
    if case_insensitive {
        lower
    } else {
        addr.to_string()
    }
}

/// Network codes compare by registry network (aliases resolve), else case-insensitively.
fn same_network(a: &str, b: &str) -> bool {
    match (networks::lookup(a), networks::lookup(b)) {
        (Some(x), Some(y)) => x.code == y.code,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

/// How far a payout may predate its order's intent before it counts as an earlier payout (the
/// two clocks differ, and an intent is written just before the request leaves).
pub const CREATED_TOLERANCE: Duration = Duration::from_secs(10 * 60);

/// What an answer's creation time says about the payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Created after, or within the tolerance before, the order's intent.
    Fresh(DateTime<Utc>),
    /// Created more than the tolerance before the intent: a payout the gateway already held.
    Before(DateTime<Utc>),
    /// A creation time that is neither an ISO 8601 time with an offset nor Unix milliseconds.
    Unreadable(String),
    /// The answer carries no creation time although its kind documents one.
    Absent,
    /// The answer kind carries no creation time (or is unknown), or the state is a refusal
    /// that carries none: nothing to judge.
    NotCarried,
}

/// Reads an answer's creation time: ISO 8601 / RFC 3339 with an offset (2328
/// `2026-05-02T23:29:50+03:00`) or Unix milliseconds (BlockATM `createTime`). `None` when it is
/// neither (a time without an offset is not readable: its zone is unknown).
pub fn parse_created(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if !t.is_empty() && t.len() <= 15 && t.bytes().all(|b| b.is_ascii_digit()) {
        let ms = t.parse::<i64>().ok()?;
        return DateTime::from_timestamp_millis(ms);
    }
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Judges `state`'s creation time against the order's intent time (see [`Created`]).
pub fn check_created(
    state: &PayoutState,
    intent_at: DateTime<Utc>,
    tolerance: Duration,
) -> Created {
    let Some(text) = &state.echo.created_at else {
        let expected = documented(state.echo.answer).created_at && state.status != Status::Failed;
        return if expected {
            Created::Absent
        } else {
            Created::NotCarried
        };
    };
    let Some(at) = parse_created(text) else {
        return Created::Unreadable(text.clone());
    };
    let slack = chrono::Duration::from_std(tolerance).unwrap_or(chrono::Duration::MAX);
    match intent_at.checked_sub_signed(slack) {
        Some(earliest) if at < earliest => Created::Before(at),
        _ => Created::Fresh(at),
    }
}

/// `Some(reason)` when the answer does not show that the payout was created for this order's
/// intent: created more than `tolerance` before `intent_at` ("the gateway already had a payout
/// with this order id, created …"), or — payrun's choice — a creation time that is unreadable,
/// or absent where the answer kind documents one. An unreadable or missing time proves
/// nothing either way, so it is not taken as proof that the payout is this order's: the caller
/// must treat the answer as unproven (resolve by lookup, hold the row for an operator), never
/// as paid on its strength. `None`: fresh, or nothing to judge (see [`Created::NotCarried`]).
/// Never panics, whatever the text.
pub fn created_before(
    state: &PayoutState,
    intent_at: DateTime<Utc>,
    tolerance: Duration,
) -> Option<String> {
    let intent = intent_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let what = state
        .echo
        .answer
        .map_or("the gateway's answer", AnswerKind::describe);
    match check_created(state, intent_at, tolerance) {
        Created::Fresh(_) | Created::NotCarried => None,
        Created::Before(at) => {
            let text = state.echo.created_at.as_deref().unwrap_or_default();
            let ago = intent_at
                .signed_duration_since(at)
                .to_std()
                .unwrap_or_default();
            Some(format!(
                "the gateway already had a payout with this order id, created {text} ({} \
                 before this order's intent at {intent}; {what})",
                human(ago)
            ))
        }
        Created::Unreadable(text) => Some(format!(
            "{what} gives the payout's creation time as {:?}, which is not a time payrun can \
             read: nothing shows the payout was created for this order's intent at {intent}",
            super::http::clip(&text)
        )),
        Created::Absent => Some(format!(
            "{what} carries no creation time: nothing shows the payout was created for this \
             order's intent at {intent}"
        )),
    }
}

/// `30 days` (rounded), `2 h 5 min`, `45 s` (cut).
fn human(d: Duration) -> String {
    let s = d.as_secs();
    let m = s % 3600 / 60;
    if s >= 2 * 86_400 {
        format!("{} days", (s + 43_200) / 86_400)
    } else if s >= 3600 {
        format!("{} h {m} min", s / 3600)
    } else if s >= 60 {
        format!("{m} min")
    } else {
        format!("{s} s")
    }
}

/// Renders mismatches on one line (`amount: sent 1.00, answered 2; memo: …`).
pub fn describe(mismatches: &[Mismatch]) -> String {
    mismatches
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::Echo;
    use crate::model::{FeeOption, GatewayId, OrderId};
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn req(network: &str, currency: &str, to: &str, amount: &str) -> PayoutRequest {
        PayoutRequest {
            order_id: OrderId("ord-1".into()),
            currency: currency.into(),
            network: network.into(),
            amount: dec(amount),
            to_address: to.into(),
            memo: None,
            fee_option: FeeOption::Deduct,
            from_currency: None,
            remark: None,
            url_callback: None,
        }
    }

    const TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
    const TRON_2: &str = "THauRv5tcucQRohXg8NiyGTk16DX1XQG5x";
    const EVM: &str = "0x52908400098527886E0F7030069857D2E4169EE7";
    const TON_RAW: &str = "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8";
    const TON_BOUNCE: &str = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";
    const TON_NON_BOUNCE: &str = "UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI";

    /// A 2328 answer that echoes `r` exactly.
    fn state_2328(r: &PayoutRequest, answer: AnswerKind) -> PayoutState {
        PayoutState {
            order_id: r.order_id.clone(),
            gateway_id: Some(GatewayId("u-1".into())),
            status: Status::Pending,
            gateway_status: "pending".into(),
            txid: None,
            merchant_amount: Some(dec("999")),
            network_amount: Some(dec("1")),
            fee: None,
            error: None,
            updated_at: None,
            echo: Box::new(Echo {
                answer: Some(answer),
                order_id: Some(r.order_id.0.clone()),
                to_address: Some(r.to_address.clone()),
                amount: Some(r.amount),
                currency: Some(r.currency.clone()),
                network: Some(r.network.clone()),
                memo: r.memo.clone(),
                memo_carried: true,
                contract_id: None,
                created_at: Some("2026-05-02T23:29:50+03:00".into()),
            }),
        }
    }

    fn state_blockatm(r: &PayoutRequest, answer: AnswerKind, contract: &str) -> PayoutState {
        let full = matches!(
            answer,
            AnswerKind::DetailBlockAtm | AnswerKind::WebhookBlockAtm
        );
        let mut s = state_2328(r, answer);
        *s.echo = Echo {
            answer: Some(answer),
            order_id: Some(r.order_id.0.clone()),
            to_address: full.then(|| r.to_address.clone()),
            amount: full.then_some(r.amount),
            currency: full.then(|| r.currency.clone()),
            network: None,
            memo: None,
            memo_carried: false,
            contract_id: full.then(|| contract.to_string()),
            created_at: Some("1742723373000".into()),
        };
        s
    }

    fn fields(m: &[Mismatch]) -> Vec<&'static str> {
        m.iter().map(|m| m.field).collect()
    }

    #[test]
    fn an_exact_echo_has_no_mismatch_in_every_answer_kind() {
        let r = req("TRX-TRC20", "USDT", TRON, "12.50");
        for k in [
            AnswerKind::Create2328,
            AnswerKind::Status2328,
            AnswerKind::Webhook2328,
        ] {
            assert_eq!(compare(&r, &state_2328(&r, k), &Expect::g2328()), vec![]);
        }
        for k in [
            AnswerKind::CreateBlockAtm,
            AnswerKind::BatchItemBlockAtm,
            AnswerKind::DetailBlockAtm,
            AnswerKind::WebhookBlockAtm,
        ] {
            let s = state_blockatm(&r, k, "C-1");
            assert_eq!(compare(&r, &s, &Expect::blockatm("C-1")), vec![], "{k:?}");
        }
    }

    #[test]
    fn display_names_field_sent_and_answered() {
        let r = req("TRX-TRC20", "USDT", TRON, "2007.01");
        let mut s = state_2328(&r, AnswerKind::Create2328);
        s.echo.amount = Some(dec("999999.00"));
        let m = compare(&r, &s, &Expect::g2328());
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].to_string(), "amount: sent 2007.01, answered 999999.00");
        assert_eq!(describe(&m), "amount: sent 2007.01, answered 999999.00");
    }

    #[test]
    fn amounts_compare_by_value() {
        let r = req("TRX-TRC20", "USDT", TRON, "1.00");
        let mut s = state_2328(&r, AnswerKind::Status2328);
        for same in ["1", "1.0", "1.000000", "01.00"] {
            s.echo.amount = Some(dec(same));
            assert_eq!(compare(&r, &s, &Expect::g2328()), vec![], "{same}");
        }
        s.echo.amount = Some(dec("1.01"));
        assert_eq!(fields(&compare(&r, &s, &Expect::g2328())), ["amount"]);
        // Fees are never a mismatch: merchant/network amounts differ from the request here.
        s.echo.amount = Some(dec("1"));
        s.merchant_amount = Some(dec("1.9"));
        s.network_amount = Some(dec("0.1"));
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
    }

    #[test]
    fn evm_addresses_compare_case_insensitively() {
        let r = req("ETH-ERC20", "USDT", EVM, "5");
        let mut s = state_2328(&r, AnswerKind::Create2328);
        s.echo.to_address = Some(EVM.to_ascii_lowercase());
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
        s.echo.to_address = Some(EVM.to_ascii_uppercase().replacen("0X", "0x", 1));
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
        s.echo.to_address = Some("0x8617E340B3D01FA5F11F306F4090FD50E238070D".into());
        let m = compare(&r, &s, &Expect::g2328());
        assert_eq!(fields(&m), ["to_address"]);
        assert_eq!(m[0].sent, EVM);
    }

    #[test]
    fn ton_raw_and_friendly_forms_are_one_address() {
        let r = req("TON", "USDT", TON_BOUNCE, "5");
        let mut s = state_2328(&r, AnswerKind::Status2328);
        for same in [TON_RAW, TON_NON_BOUNCE, TON_BOUNCE] {
            s.echo.to_address = Some(same.into());
            assert_eq!(compare(&r, &s, &Expect::g2328()), vec![], "{same}");
        }
        let other = TON_RAW.replace("0:83", "0:84");
        s.echo.to_address = Some(other);
        assert_eq!(fields(&compare(&r, &s, &Expect::g2328())), ["to_address"]);
    }

    #[test]
    fn base58_is_exact_and_bech32_lower_cased() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_2328(&r, AnswerKind::Status2328);
        s.echo.to_address = Some(TRON.to_ascii_lowercase());
        assert_eq!(fields(&compare(&r, &s, &Expect::g2328())), ["to_address"]);
        s.echo.to_address = Some(TRON_2.into());
        assert_eq!(fields(&compare(&r, &s, &Expect::g2328())), ["to_address"]);

        let bc = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
        assert!(same_address(
            Some(AddressFamily::Bitcoin),
            bc,
            &bc.to_ascii_uppercase()
        ));
        // Not a valid address: still the bech32 case rule.
        assert!(same_address(
            Some(AddressFamily::Bitcoin),
            "bc1qnotvalid",
            "BC1QNOTVALID"
        ));
        assert!(!same_address(
            Some(AddressFamily::Solana),
            "So11111111111111111111111111111111111111112",
            "so11111111111111111111111111111111111111112"
        ));
        // An unknown network: exact.
        assert!(!same_address(None, "abc", "ABC"));
    }

    #[test]
    fn currency_is_case_insensitive_and_network_by_code() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_2328(&r, AnswerKind::Webhook2328);
        s.echo.currency = Some("usdt".into());
        s.echo.network = Some("trx-trc20".into());
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
        s.echo.currency = Some("USDC".into());
        s.echo.network = Some("BSC-BEP20".into());
        let m = compare(&r, &s, &Expect::g2328());
        assert_eq!(fields(&m), ["currency", "network"]);
        assert_eq!(
            m[1].to_string(),
            "network: sent TRX-TRC20, answered BSC-BEP20"
        );
    }

    #[test]
    fn blockatm_never_compares_network() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_blockatm(&r, AnswerKind::WebhookBlockAtm, "C-1");
        s.echo.network = Some("ETHEREUM".into());
        assert_eq!(compare(&r, &s, &Expect::blockatm("C-1")), vec![]);
    }

    #[test]
    fn documented_fields_that_are_missing_are_mismatches() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_2328(&r, AnswerKind::Create2328);
        s.echo.to_address = None;
        s.echo.amount = None;
        s.echo.currency = None;
        s.echo.network = None;
        s.echo.order_id = None;
        let m = compare(&r, &s, &Expect::g2328());
        assert_eq!(
            fields(&m),
            ["order_id", "to_address", "amount", "currency", "network"]
        );
        assert!(m.iter().all(|m| m.answered == MISSING), "{m:?}");

        let mut d = state_blockatm(&r, AnswerKind::DetailBlockAtm, "C-1");
        d.echo.to_address = None;
        d.echo.contract_id = None;
        let m = compare(&r, &d, &Expect::blockatm("C-1"));
        assert_eq!(fields(&m), ["to_address", "contract_id"]);
        assert_eq!(
            m[1].to_string(),
            "contract_id: sent C-1, answered (missing)"
        );
    }

    #[test]
    fn blockatm_create_answers_carry_only_the_order_id() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        for k in [AnswerKind::CreateBlockAtm, AnswerKind::BatchItemBlockAtm] {
            let mut s = state_blockatm(&r, k, "C-1");
            assert_eq!(compare(&r, &s, &Expect::blockatm("C-1")), vec![]);
            s.echo.order_id = Some("ord-2".into());
            let m = compare(&r, &s, &Expect::blockatm("C-1"));
            assert_eq!(m[0].to_string(), "order_id: sent ord-1, answered ord-2");
            // Present although undocumented: compared.
            s.echo.order_id = Some("ord-1".into());
            s.echo.amount = Some(dec("6"));
            assert_eq!(
                fields(&compare(&r, &s, &Expect::blockatm("C-1"))),
                ["amount"]
            );
            s.echo.order_id = None;
            s.echo.amount = None;
            assert_eq!(
                fields(&compare(&r, &s, &Expect::blockatm("C-1"))),
                ["order_id"]
            );
        }
    }

    #[test]
    fn contract_mismatch() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let s = state_blockatm(&r, AnswerKind::DetailBlockAtm, "OTHER");
        let m = compare(&r, &s, &Expect::blockatm("C-1"));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].to_string(), "contract_id: sent C-1, answered OTHER");
        // Without an expected contract there is nothing to compare it with.
        let loose = Expect {
            gateway: GatewayKind::BlockAtm,
            contract_id: None,
        };
        assert_eq!(compare(&r, &s, &loose), vec![]);
        // A create answer that carries one is compared too.
        let mut c = state_blockatm(&r, AnswerKind::CreateBlockAtm, "C-1");
        c.echo.contract_id = Some("OTHER".into());
        assert_eq!(
            fields(&compare(&r, &c, &Expect::blockatm("C-1"))),
            ["contract_id"]
        );
    }

    #[test]
    fn memo_rules() {
        let mut r = req("TON", "USDT", TON_BOUNCE, "5");
        let mut s = state_2328(&r, AnswerKind::Status2328);
        // No memo sent, `memo: null` answered: fine; absent on a 2328 answer: fine too.
        s.echo.memo = None;
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
        s.echo.memo_carried = false;
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
        s.echo.memo = Some(String::new());
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
        // None sent, one answered.
        s.echo.memo = Some("123".into());
        assert_eq!(
            compare(&r, &s, &Expect::g2328())[0].to_string(),
            "memo: sent (none), answered 123"
        );
        // Sent, and answered: same / other / null / missing.
        r.memo = Some("123".into());
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
        s.echo.memo = Some("124".into());
        assert_eq!(fields(&compare(&r, &s, &Expect::g2328())), ["memo"]);
        s.echo.memo = None;
        s.echo.memo_carried = true;
        assert_eq!(
            compare(&r, &s, &Expect::g2328())[0].to_string(),
            "memo: sent 123, answered (null)"
        );
        s.echo.memo_carried = false;
        assert_eq!(compare(&r, &s, &Expect::g2328())[0].answered, MISSING);
        // A BlockATM create answer carries no memo: nothing to compare.
        let b = state_blockatm(&r, AnswerKind::CreateBlockAtm, "C");
        assert_eq!(compare(&r, &b, &Expect::blockatm("C")), vec![]);
    }

    #[test]
    fn a_state_filed_under_another_order_and_the_wrong_gateway() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_2328(&r, AnswerKind::Status2328);
        s.order_id = OrderId("ord-9".into());
        assert_eq!(fields(&compare(&r, &s, &Expect::g2328())), ["order_id"]);
        let s = state_2328(&r, AnswerKind::Status2328);
        let m = compare(&r, &s, &Expect::blockatm("C"));
        assert_eq!(m[0].field, "gateway");
    }

    #[test]
    fn an_old_state_without_an_echo_compares_nothing() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_2328(&r, AnswerKind::Status2328);
        *s.echo = Echo::default();
        assert_eq!(compare(&r, &s, &Expect::g2328()), vec![]);
        s.echo.amount = Some(dec("7"));
        assert_eq!(fields(&compare(&r, &s, &Expect::g2328())), ["amount"]);
    }

    #[test]
    fn old_serialized_states_decode_and_empty_echoes_are_not_written() {
        let old = r#"{"order_id":"o","status":"pending","gateway_status":"pending"}"#;
        let s: PayoutState = serde_json::from_str(old).unwrap();
        assert!(s.echo.is_empty());
        assert_eq!(serde_json::to_string(&s).unwrap(), old);
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let full = state_2328(&r, AnswerKind::Create2328);
        let text = serde_json::to_string(&full).unwrap();
        assert!(text.contains(r#""answer":"create2328""#), "{text}");
        assert_eq!(serde_json::from_str::<PayoutState>(&text).unwrap(), full);
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn created_before_with_iso_times() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_2328(&r, AnswerKind::Create2328);
        let intent = at("2026-05-02T20:30:00Z");
        // 23:29:50+03:00 is 20:29:50Z: ten seconds before the intent, within tolerance.
        assert_eq!(created_before(&s, intent, CREATED_TOLERANCE), None);
        // Exactly the tolerance: still fresh; one second more: earlier.
        s.echo.created_at = Some("2026-05-02T23:20:00+03:00".into());
        assert_eq!(created_before(&s, intent, CREATED_TOLERANCE), None);
        s.echo.created_at = Some("2026-05-02T23:19:59+03:00".into());
        let m = created_before(&s, intent, CREATED_TOLERANCE).unwrap();
        assert!(m.contains("(10 min before"), "{m}");
        // The offset counts: the same wall time two zones east is an hour earlier.
        s.echo.created_at = Some("2026-05-02T22:25:00+02:00".into());
        assert_eq!(created_before(&s, intent, CREATED_TOLERANCE), None);
        s.echo.created_at = Some("2026-05-02T22:25:00+04:00".into());
        let m = created_before(&s, intent, CREATED_TOLERANCE).unwrap();
        assert!(
            m.starts_with(
                "the gateway already had a payout with this order id, created \
                 2026-05-02T22:25:00+04:00 (2 h 5 min before"
            ),
            "{m}"
        );
        s.echo.created_at = Some("2026-04-02T20:30:00Z".into());
        let m = created_before(&s, intent, CREATED_TOLERANCE).unwrap();
        assert!(
            m.contains("(30 days before this order's intent at 2026-05-02T20:30:00Z"),
            "{m}"
        );
        // Later than the intent: fresh.
        s.echo.created_at = Some("2026-05-03T00:00:00+00:00".into());
        assert!(matches!(
            check_created(&s, intent, CREATED_TOLERANCE),
            Created::Fresh(_)
        ));
    }

    #[test]
    fn created_before_with_unix_milliseconds() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_blockatm(&r, AnswerKind::CreateBlockAtm, "C");
        let intent = DateTime::from_timestamp_millis(1_742_723_373_000).unwrap();
        s.echo.created_at = Some("1742723373000".into());
        assert_eq!(created_before(&s, intent, CREATED_TOLERANCE), None);
        s.echo.created_at = Some((1_742_723_373_000i64 - 9 * 60_000).to_string());
        assert_eq!(created_before(&s, intent, CREATED_TOLERANCE), None);
        s.echo.created_at = Some((1_742_723_373_000i64 - 11 * 60_000).to_string());
        let m = created_before(&s, intent, CREATED_TOLERANCE).unwrap();
        assert!(m.contains("11 min before"), "{m}");
        assert!(m.contains("BlockATM create answer"), "{m}");
        assert_eq!(
            check_created(&s, intent, Duration::from_secs(3600)),
            Created::Fresh(DateTime::from_timestamp_millis(1_742_722_713_000).unwrap())
        );
    }

    #[test]
    fn unreadable_or_missing_created_times_are_not_proof() {
        let r = req("TRX-TRC20", "USDT", TRON, "5");
        let mut s = state_2328(&r, AnswerKind::Create2328);
        let intent = at("2026-05-02T20:30:00Z");
        for bad in [
            "yesterday",
            "",
            "2026-05-02 23:29:50",
            "2026-05-02T23:29:50",
            "99999999999999999999999",
            "-5",
            "1e12",
            "2026-13-45T99:99:99+03:00",
            "\u{0}",
        ] {
            s.echo.created_at = Some(bad.into());
            assert_eq!(
                check_created(&s, intent, CREATED_TOLERANCE),
                Created::Unreadable(bad.into()),
                "{bad:?}"
            );
            let m = created_before(&s, intent, CREATED_TOLERANCE).unwrap();
            assert!(m.contains("not a time payrun can read"), "{m}");
        }
        // Extreme but readable values never panic.
        for edge in ["0", "999999999999999", "9999-12-31T23:59:59+14:00"] {
            s.echo.created_at = Some(edge.into());
            let _ = created_before(&s, intent, CREATED_TOLERANCE);
            let _ = created_before(&s, DateTime::<Utc>::MIN_UTC, Duration::MAX);
        }
        s.echo.created_at = None;
        assert_eq!(
            check_created(&s, intent, CREATED_TOLERANCE),
            Created::Absent
        );
        assert!(created_before(&s, intent, CREATED_TOLERANCE)
            .unwrap()
            .contains("carries no creation time"));
        // A refusal without a time, or an old state: nothing to judge.
        s.status = Status::Failed;
        assert_eq!(created_before(&s, intent, CREATED_TOLERANCE), None);
        s.status = Status::Pending;
        s.echo.answer = None;
        assert_eq!(created_before(&s, intent, CREATED_TOLERANCE), None);
    }
}
