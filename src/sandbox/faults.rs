//! Fault injection: the rules (kind, which paths, how often, how many times), their compact
//! spec strings for the CLI, their JSON form for the admin endpoint, the per-request (and
//! per-webhook) decision of which faults fire, and the answer-altering faults themselves (what
//! a lying gateway says, and the payout it "already held").
//!
//! Spec grammar: `KIND[=PART[:PART...]][@PATH]` where a PART is `every:N` (every N-th matching
//! request), `times:N` (fire at most N times), a duration (`50ms`, `3s`), for `burst429` a
//! bare count, for `lie` a field name. `@PATH` limits the rule to request paths containing
//! PATH. Examples: `latency=50ms`, `error5xx=every:5`, `drop=every:7`, `late=every:9:3s`,
//! `malformed=every:11`, `burst429=3`, `drop=times:1@/payout/batch`, `lie=amount`,
//! `lie=address:every:3@/v1/payout`, `lie=contract@/webhook`, `foreign=times:1`. `late`
//! without a duration waits [`DEFAULT_LATE_DELAY`]. `burst429=N` fires once (N consecutive
//! 429s) unless `every`/`times` say otherwise.
//!
//! Transport faults: `latency`, `error5xx`, `burst429`, `drop`, `late`, `malformed`, and
//! `skew` (BlockATM answers `000105`, "request time outside the receive window", applying
//! nothing — what a client with a wrong clock meets).
//!
//! Answer faults (the request is handled normally; the answer is not the truth):
//! - `lie=FIELD` — the answer says something else than the sandbox stored, for one field:
//!   `amount` (answered `999999.00`), `address` (the stored address with its last character
//!   changed), `currency` / `symbol` (`USDC`, or `USDT` when the payout is in USDC), `network`
//!   (`BSC-BEP20`, or `ETH-ERC20`), `memo` (`LIE-MEMO`, or the stored memo plus `-lie`),
//!   `contract` (`LIE-` + the contract id; BlockATM only). Applied to 2328 create and status
//!   answers and to BlockATM create answers, batch items and detail answers (a field the answer
//!   does not carry is added with the lie), and to webhooks of both gateways (signed after the
//!   lie, so the signature is genuine). 2328 `calc` and `balance` answers and refusals are left
//!   alone (but still count for `every`). A webhook is matched against the path
//!   `/webhook/2328` or `/webhook/blockatm`, so `@/webhook` limits a lie to webhooks and
//!   `@/payout` to API answers.
//! - `foreign` — the order id is answered with an earlier, different payout the gateway
//!   "already held": another id, the amount plus 100, the address with its last character
//!   changed, created 30 days ago and completed. 2328: a create is answered with it (nothing
//!   new is created; later creates of that order id get it too, as the gateway's idempotency
//!   says). BlockATM: a single create or each order of a batch is answered `SUCCESS` with it,
//!   and a detail answers it; later details find it. The held payout is stored (it shows in
//!   the payouts list, marked by the remark [`FOREIGN_REMARK`]); no balance moves.

use std::fmt;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::state::SandboxPayout;

/// How long `late` waits before answering when the spec names no duration.
pub const DEFAULT_LATE_DELAY: Duration = Duration::from_secs(10);

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Wait this long before handling the request.
    Latency(Duration),
    /// Answer 503 before applying anything.
    Error5xx,
    /// BlockATM: answer `000105` (the request time outside the receive window, as a client
    /// whose clock is off gets) before applying anything. 2328 requests are not affected.
    ClockSkew,
    /// This and the next N-1 requests get 429.
    Burst429(u32),
    /// Apply the request, then close the connection without any response.
    ApplyThenDrop,
    /// Apply the request, then answer after the delay.
    ApplyThenLate(Duration),
    /// Apply the request, then answer a truncated body.
    Malformed,
    /// Answer the truth about everything but this field.
    Lie(LieField),
    /// Answer the order id with an earlier, different payout.
    Foreign,
}

/// A payout field a `lie` fault misreports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LieField {
    Amount,
    Address,
    /// 2328 `currency`, BlockATM `symbol`.
    Currency,
    Network,
    Memo,
    /// BlockATM `contractId`.
    Contract,
}

impl LieField {
    pub const ALL: [LieField; 6] = [
        LieField::Amount,
        LieField::Address,
        LieField::Currency,
        LieField::Network,
        LieField::Memo,
        LieField::Contract,
    ];

    /// The spec name.
    pub fn name(self) -> &'static str {
        match self {
            LieField::Amount => "amount",
            LieField::Address => "address",
            LieField::Currency => "currency",
            LieField::Network => "network",
            LieField::Memo => "memo",
            LieField::Contract => "contract",
        }
    }

    /// A spec name or alias (`symbol` = `currency`, `recipient`/`to_address` = `address`,
    /// `contract_id`/`contractid` = `contract`).
    pub fn parse(s: &str) -> Option<LieField> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "amount" => LieField::Amount,
            "address" | "to_address" | "recipient" => LieField::Address,
            "currency" | "symbol" => LieField::Currency,
            "network" => LieField::Network,
            "memo" => LieField::Memo,
            "contract" | "contract_id" | "contractid" => LieField::Contract,
            _ => return None,
        })
    }
}

/// The remark that marks a payout stored by the `foreign` fault.
pub const FOREIGN_REMARK: &str = "sandbox: held before this order (foreign fault)";

/// How long before now a `foreign` payout was created.
pub const FOREIGN_AGE: chrono::Duration = chrono::Duration::days(30);

/// The faults that change what an answer says (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerFaults {
    /// Fields to lie about, each once.
    pub lies: Vec<LieField>,
    /// Answer with a payout held before this order.
    pub foreign: bool,
}

impl AnswerFaults {
    pub fn is_empty(&self) -> bool {
        self.lies.is_empty() && !self.foreign
    }

    fn add_lie(&mut self, f: LieField) {
        if !self.lies.contains(&f) {
            self.lies.push(f);
        }
    }
}

/// Where a payout's fields sit in one answer object.
#[derive(Debug, Clone, Copy)]
pub struct FieldNames {
    pub amount: &'static str,
    pub address: &'static str,
    pub currency: &'static str,
    pub network: &'static str,
    pub memo: &'static str,
    /// `None`: the gateway has no contract (2328); a `contract` lie does nothing.
    pub contract: Option<&'static str>,
}

/// 2328 result objects (create and status answers, webhooks).
pub const NAMES_2328: FieldNames = FieldNames {
    amount: "amount",
    address: "to_address",
    currency: "currency",
    network: "network",
    memo: "memo",
    contract: None,
};

/// BlockATM create answers, batch items and detail answers.
pub const NAMES_BLOCKATM: FieldNames = FieldNames {
    amount: "amount",
    address: "recipient",
    currency: "symbol",
    network: "network",
    memo: "memo",
    contract: Some("contractId"),
};

/// BlockATM webhooks.
pub const NAMES_BLOCKATM_WEBHOOK: FieldNames = FieldNames {
    address: "toAddress",
    ..NAMES_BLOCKATM
};

/// `addr` with its last character changed (to `2`, or `3` when it already ends in `2`): a
/// different account in every family's comparison (digits are in every alphabet, and the
/// change is not one of case).
pub fn other_address(addr: &str) -> String {
    let mut out = addr.to_string();
    let last = out.pop();
    out.push(if last == Some('2') { '3' } else { '2' });
    out
}

/// The lie told for `field` about payout `p`.
pub fn lie_value(field: LieField, p: &SandboxPayout, contract_id: &str) -> Value {
    let text = |s: &str| Value::String(s.to_string());
    match field {
        LieField::Amount => {
            let lie = Decimal::new(99_999_900, 2);
            if p.amount == lie {
                text("999998.00")
            } else {
                text("999999.00")
            }
        }
        LieField::Address => Value::String(other_address(&p.address)),
        LieField::Currency => text(if p.currency.eq_ignore_ascii_case("USDC") {
            "USDT"
        } else {
            "USDC"
        }),
        LieField::Network => text(if p.network == "BSC-BEP20" {
            "ETH-ERC20"
        } else {
            "BSC-BEP20"
        }),
        LieField::Memo => match &p.memo {
            Some(m) => Value::String(format!("{m}-lie")),
            None => text("LIE-MEMO"),
        },
        LieField::Contract => Value::String(format!("LIE-{contract_id}")),
    }
}

/// Rewrites one answer object about payout `p` with the given lies (a field the object does
/// not carry is added).
pub fn apply_lies(
    obj: &mut Map<String, Value>,
    lies: &[LieField],
    names: &FieldNames,
    p: &SandboxPayout,
    contract_id: &str,
) {
    for &field in lies {
        let key = match field {
            LieField::Amount => names.amount,
            LieField::Address => names.address,
            LieField::Currency => names.currency,
            LieField::Network => names.network,
            LieField::Memo => names.memo,
            LieField::Contract => match names.contract {
                Some(k) => k,
                None => continue,
            },
        };
        obj.insert(key.to_string(), lie_value(field, p, contract_id));
    }
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub kind: FaultKind,
    /// Only requests whose path contains this (None: every gateway request).
    pub path_contains: Option<String>,
    /// 1 = every matching request, n = every n-th matching request.
    pub every: u32,
    /// Stop after firing this many times (None: never stop).
    pub remaining: Option<u32>,
}

impl FaultRule {
    /// A rule firing on every request.
    pub fn always(kind: FaultKind) -> FaultRule {
        FaultRule {
            kind,
            path_contains: None,
            every: 1,
            remaining: None,
        }
    }

    /// Parses a compact spec (see the module doc).
    pub fn parse(spec: &str) -> Result<FaultRule, String> {
        let spec = spec.trim();
        let (spec, path) = match spec.split_once('@') {
            Some((s, p)) if !p.is_empty() => (s, Some(p.to_string())),
            Some(_) => return Err(format!("fault {spec:?}: empty path after '@'")),
            None => (spec, None),
        };
        let (name, args) = match spec.split_once('=') {
            Some((n, a)) => (n.trim(), a.trim()),
            None => (spec, ""),
        };
        let mut every = None;
        let mut times = None;
        let mut count = None;
        let mut words: Vec<&str> = Vec::new();
        let mut parts = args.split(':').filter(|p| !p.is_empty());
        while let Some(part) = parts.next() {
            match part {
                "every" | "times" => {
                    let n = parts
                        .next()
                        .and_then(|n| n.parse::<u32>().ok())
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("fault {spec:?}: `{part}` needs a number > 0"))?;
                    if part == "every" {
                        every = Some(n);
                    } else {
                        times = Some(n);
                    }
                }
                _ if part.bytes().all(|b| b.is_ascii_digit()) => {
                    count = Some(
                        part.parse::<u32>()
                            .map_err(|_| format!("fault {spec:?}: bad count {part:?}"))?,
                    );
                }
                _ => words.push(part),
            }
        }
        let one_word = |what: &str| -> Result<Option<&str>, String> {
            match words.as_slice() {
                [] => Ok(None),
                [w] => Ok(Some(*w)),
                _ => Err(format!("fault {spec:?}: more than one {what}")),
            }
        };
        let duration = |w: Option<&str>| -> Result<Option<Duration>, String> {
            w.map(|w| parse_duration(w).map_err(|e| format!("fault {spec:?}: {e}")))
                .transpose()
        };
        let no_word = || -> Result<(), String> {
            match words.first() {
                None => Ok(()),
                Some(w) => Err(format!("fault {spec:?}: unexpected {w:?}")),
            }
        };
        let kind = match name.to_ascii_lowercase().as_str() {
            "latency" => FaultKind::Latency(
                duration(one_word("duration")?)?
                    .ok_or_else(|| format!("fault {spec:?}: latency needs a duration"))?,
            ),
            "late" => FaultKind::ApplyThenLate(
                duration(one_word("duration")?)?.unwrap_or(DEFAULT_LATE_DELAY),
            ),
            "lie" => {
                let word = one_word("field")?.ok_or_else(|| {
                    format!("fault {spec:?}: lie needs a field ({})", lie_fields())
                })?;
                FaultKind::Lie(LieField::parse(word).ok_or_else(|| {
                    format!("fault {spec:?}: unknown field {word:?} ({})", lie_fields())
                })?)
            }
            other => {
                no_word()?;
                match other {
                    "error5xx" | "5xx" => FaultKind::Error5xx,
                    "skew" | "clock_skew" => FaultKind::ClockSkew,
                    "burst429" | "429" => FaultKind::Burst429(count.unwrap_or(1).max(1)),
                    "drop" => FaultKind::ApplyThenDrop,
                    "malformed" => FaultKind::Malformed,
                    "foreign" | "foreign_payout" => FaultKind::Foreign,
                    other => {
                        return Err(format!(
                            "unknown fault {other:?} (latency, error5xx, skew, burst429, drop, \
                             late, malformed, lie, foreign)"
                        ))
                    }
                }
            }
        };
        let remaining = match (&kind, times) {
            (_, Some(t)) => Some(t),
            (FaultKind::Burst429(_), None) if every.is_none() => Some(1),
            _ => None,
        };
        Ok(FaultRule {
            kind,
            path_contains: path,
            every: every.unwrap_or(1),
            remaining,
        })
    }

    /// Reads a rule from the admin endpoint's JSON: either a spec string or an object
    /// `{"kind": "late", "delay_ms": 3000, "count": 3, "every": 9, "remaining": 2,
    /// "path_contains": "/payout"}` (`delay_ms` for latency/late, `count` for burst429,
    /// `field` for lie: `{"kind": "lie", "field": "amount"}`; `{"kind": "foreign"}`).
    pub fn from_json(value: &serde_json::Value) -> Result<FaultRule, String> {
        if let Some(spec) = value.as_str() {
            return FaultRule::parse(spec);
        }
        let obj = value
            .as_object()
            .ok_or("a fault is a spec string or an object")?;
        let kind = obj
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or("fault object needs a string `kind`")?;
        let uint = |field: &str| -> Result<Option<u64>, String> {
            match obj.get(field) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| format!("fault field `{field}` must be a non-negative integer")),
            }
        };
        let small = |field: &str| -> Result<Option<u32>, String> {
            uint(field)?
                .map(|n| {
                    u32::try_from(n).map_err(|_| format!("fault field `{field}` is too large"))
                })
                .transpose()
        };
        let delay = uint("delay_ms")?.map(Duration::from_millis);
        let kind = match kind {
            "latency" => FaultKind::Latency(delay.ok_or("latency needs `delay_ms`")?),
            "error5xx" => FaultKind::Error5xx,
            "skew" => FaultKind::ClockSkew,
            "burst429" => FaultKind::Burst429(small("count")?.unwrap_or(1).max(1)),
            "drop" => FaultKind::ApplyThenDrop,
            "late" => FaultKind::ApplyThenLate(delay.unwrap_or(DEFAULT_LATE_DELAY)),
            "malformed" => FaultKind::Malformed,
            "lie" => {
                let field = obj
                    .get("field")
                    .and_then(|f| f.as_str())
                    .ok_or_else(|| format!("lie needs a string `field` ({})", lie_fields()))?;
                FaultKind::Lie(
                    LieField::parse(field)
                        .ok_or_else(|| format!("unknown lie field {field:?} ({})", lie_fields()))?,
                )
            }
            "foreign" => FaultKind::Foreign,
            other => return Err(format!("unknown fault kind {other:?}")),
        };
        let path_contains = match obj.get("path_contains") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or("`path_contains` must be a string")?
                    .to_string(),
            ),
        };
        Ok(FaultRule {
            kind,
            path_contains,
            every: small("every")?.unwrap_or(1).max(1),
            remaining: small("remaining")?,
        })
    }
}

fn lie_fields() -> String {
    LieField::ALL.map(LieField::name).join(", ") + ", symbol"
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000)
    } else {
        return Err(format!("{text:?} is not a duration like 50ms or 3s"));
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 50ms or 3s"))?;
    Ok(Duration::from_millis(n.saturating_mul(unit)))
}

impl fmt::Display for FaultRule {
    /// The compact spec form, parseable by [`FaultRule::parse`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: &Duration| format!("{}ms", d.as_millis());
        let (name, arg) = match &self.kind {
            FaultKind::Latency(d) => ("latency", Some(ms(d))),
            FaultKind::Error5xx => ("error5xx", None),
            FaultKind::ClockSkew => ("skew", None),
            FaultKind::Burst429(n) => ("burst429", Some(n.to_string())),
            FaultKind::ApplyThenDrop => ("drop", None),
            FaultKind::ApplyThenLate(d) => ("late", Some(ms(d))),
            FaultKind::Malformed => ("malformed", None),
            FaultKind::Lie(field) => ("lie", Some(field.name().to_string())),
            FaultKind::Foreign => ("foreign", None),
        };
        let mut parts = vec![format!("every:{}", self.every)];
        if let Some(r) = self.remaining {
            parts.push(format!("times:{r}"));
        }
        parts.extend(arg);
        write!(f, "{name}={}", parts.join(":"))?;
        if let Some(p) = &self.path_contains {
            write!(f, "@{p}")?;
        }
        Ok(())
    }
}

/// What happens to a request after it has been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterApply {
    Drop,
    Late(Duration),
    Malformed,
}

/// The faults that fire for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub too_many: bool,
    pub latency: Duration,
    pub error5xx: bool,
    /// BlockATM: answer 000105 without applying.
    pub clock_skew: bool,
    pub after: Option<AfterApply>,
    /// Faults that change what the answer says.
    pub answer: AnswerFaults,
    /// The fired rules, as spec strings (for the request record).
    pub fired: Vec<String>,
}

/// The active rules with their match counters, and the 429 burst in progress.
#[derive(Debug, Default)]
pub struct FaultSet {
    rules: Vec<(FaultRule, u32)>,
    burst_left: u32,
}

impl FaultSet {
    pub fn new(rules: Vec<FaultRule>) -> FaultSet {
        FaultSet {
            rules: rules.into_iter().map(|r| (r, 0)).collect(),
            burst_left: 0,
        }
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Counts the request against every matching rule and returns what fires.
    pub fn decide(&mut self, path: &str) -> Decision {
        let mut d = Decision::default();
        for (rule, seen) in &mut self.rules {
            if rule
                .path_contains
                .as_deref()
                .is_some_and(|p| !path.contains(p))
            {
                continue;
            }
            if rule.remaining == Some(0) {
                continue;
            }
            *seen += 1;
            if *seen % rule.every.max(1) != 0 {
                continue;
            }
            if let Some(r) = rule.remaining.as_mut() {
                *r -= 1;
            }
            d.fired.push(rule.to_string());
            match rule.kind {
                FaultKind::Latency(t) => d.latency += t,
                FaultKind::Error5xx => d.error5xx = true,
                FaultKind::ClockSkew => d.clock_skew = true,
                FaultKind::Burst429(n) => self.burst_left += n,
                FaultKind::ApplyThenDrop => d.after = d.after.or(Some(AfterApply::Drop)),
                FaultKind::ApplyThenLate(t) => d.after = d.after.or(Some(AfterApply::Late(t))),
                FaultKind::Malformed => d.after = d.after.or(Some(AfterApply::Malformed)),
                FaultKind::Lie(f) => d.answer.add_lie(f),
                FaultKind::Foreign => d.answer.foreign = true,
            }
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            d.too_many = true;
        }
        d
    }

    /// The lies told in one webhook, `target` being `/webhook/2328` or `/webhook/blockatm`.
    /// Only `lie` rules are counted and can fire (a webhook has no transport faults here).
    pub fn decide_webhook(&mut self, target: &str) -> AnswerFaults {
        let mut a = AnswerFaults::default();
        for (rule, seen) in &mut self.rules {
            let FaultKind::Lie(field) = rule.kind else {
                continue;
            };
            if rule
                .path_contains
                .as_deref()
                .is_some_and(|p| !target.contains(p))
                || rule.remaining == Some(0)
            {
                continue;
            }
            *seen += 1;
            if *seen % rule.every.max(1) != 0 {
                continue;
            }
            if let Some(r) = rule.remaining.as_mut() {
                *r -= 1;
            }
            a.add_lie(field);
        }
        a
    }
}

/// The webhook target matched by `@PATH` (see the module doc).
pub fn webhook_target(gateway: crate::model::GatewayKind) -> &'static str {
    match gateway {
        crate::model::GatewayKind::G2328 => "/webhook/2328",
        crate::model::GatewayKind::BlockAtm => "/webhook/blockatm",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_from_the_cli_help_parse() {
        let r = FaultRule::parse("latency=50ms").unwrap();
        assert_eq!(r.kind, FaultKind::Latency(Duration::from_millis(50)));
        assert_eq!((r.every, r.remaining), (1, None));
        assert_eq!(FaultRule::parse("error5xx=every:5").unwrap().every, 5);
        assert_eq!(
            FaultRule::parse("drop=every:7").unwrap().kind,
            FaultKind::ApplyThenDrop
        );
        let late = FaultRule::parse("late=every:9:3s").unwrap();
        assert_eq!(late.kind, FaultKind::ApplyThenLate(Duration::from_secs(3)));
        assert_eq!(late.every, 9);
        assert_eq!(
            FaultRule::parse("late=every:9").unwrap().kind,
            FaultKind::ApplyThenLate(DEFAULT_LATE_DELAY)
        );
        assert_eq!(FaultRule::parse("malformed=every:11").unwrap().every, 11);
        let burst = FaultRule::parse("burst429=3").unwrap();
        assert_eq!(burst.kind, FaultKind::Burst429(3));
        assert_eq!(burst.remaining, Some(1));
        let scoped = FaultRule::parse("drop=times:2@/payout/batch").unwrap();
        assert_eq!(scoped.path_contains.as_deref(), Some("/payout/batch"));
        assert_eq!(scoped.remaining, Some(2));
    }

    #[test]
    fn bad_specs_are_refused() {
        for bad in [
            "",
            "explode",
            "latency",
            "latency=5m",
            "error5xx=every:0",
            "drop=every:x",
            "drop@",
        ] {
            assert!(FaultRule::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_round_trips() {
        for spec in [
            "latency=50ms",
            "late=every:9:3s",
            "burst429=3",
            "drop=times:2@/v1/payout",
        ] {
            let rule = FaultRule::parse(spec).unwrap();
            assert_eq!(FaultRule::parse(&rule.to_string()).unwrap(), rule);
        }
    }

    #[test]
    fn every_nth_and_remaining_are_honoured() {
        let mut set = FaultSet::new(vec![FaultRule::parse("error5xx=every:3:times:2").unwrap()]);
        let fired: Vec<bool> = (0..12)
            .map(|_| set.decide("/api/v1/payout").error5xx)
            .collect();
        let expect = [
            false, false, true, false, false, true, false, false, false, false, false, false,
        ];
        assert_eq!(fired, expect);
    }

    #[test]
    fn burst_covers_the_next_n_requests() {
        let mut set = FaultSet::new(vec![FaultRule::parse("burst429=3").unwrap()]);
        let seq: Vec<bool> = (0..5).map(|_| set.decide("/x").too_many).collect();
        assert_eq!(seq, [true, true, true, false, false]);
    }

    #[test]
    fn path_filter_limits_the_rule() {
        let mut set = FaultSet::new(vec![FaultRule::parse("drop@/payout/order").unwrap()]);
        assert_eq!(set.decide("/order/api/v2/payout/detail").after, None);
        assert_eq!(
            set.decide("/order/api/v2/payout/order").after,
            Some(AfterApply::Drop)
        );
    }

    #[test]
    fn lie_and_foreign_specs_parse() {
        for (spec, field) in [
            ("lie=amount", LieField::Amount),
            ("lie=address", LieField::Address),
            ("lie=recipient", LieField::Address),
            ("lie=currency", LieField::Currency),
            ("lie=symbol", LieField::Currency),
            ("lie=network", LieField::Network),
            ("lie=memo", LieField::Memo),
            ("lie=contract", LieField::Contract),
            ("LIE=Contract_Id", LieField::Contract),
        ] {
            let r = FaultRule::parse(spec).unwrap();
            assert_eq!(r.kind, FaultKind::Lie(field), "{spec}");
            assert_eq!((r.every, r.remaining, r.path_contains), (1, None, None));
        }
        let r = FaultRule::parse("lie=amount:every:3:times:2@/v1/payout").unwrap();
        assert_eq!(r.kind, FaultKind::Lie(LieField::Amount));
        assert_eq!((r.every, r.remaining), (3, Some(2)));
        assert_eq!(r.path_contains.as_deref(), Some("/v1/payout"));
        // The field may come after the counters.
        assert_eq!(
            FaultRule::parse("lie=every:2:memo").unwrap().kind,
            FaultKind::Lie(LieField::Memo)
        );
        assert_eq!(
            FaultRule::parse("foreign").unwrap().kind,
            FaultKind::Foreign
        );
        let f = FaultRule::parse("foreign=times:1@/payout/order").unwrap();
        assert_eq!((f.kind, f.remaining), (FaultKind::Foreign, Some(1)));
        for bad in [
            "lie",
            "lie=",
            "lie=colour",
            "lie=amount:memo",
            "foreign=amount",
            "drop=3s",
            "latency=50ms:60ms",
        ] {
            assert!(FaultRule::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(FaultRule::parse("lie=colour")
            .unwrap_err()
            .contains("amount, address, currency, network, memo, contract"));
        for spec in [
            "lie=amount",
            "lie=symbol:every:4@/webhook",
            "foreign=times:1",
        ] {
            let rule = FaultRule::parse(spec).unwrap();
            assert_eq!(FaultRule::parse(&rule.to_string()).unwrap(), rule, "{spec}");
        }
        assert_eq!(
            FaultRule::parse("lie=symbol").unwrap().to_string(),
            "lie=every:1:currency"
        );
    }

    #[test]
    fn answer_faults_are_decided_per_request() {
        let mut set = FaultSet::new(vec![
            FaultRule::parse("lie=amount").unwrap(),
            FaultRule::parse("lie=amount:every:2").unwrap(),
            FaultRule::parse("lie=memo@/status").unwrap(),
            FaultRule::parse("foreign=times:1").unwrap(),
        ]);
        let d = set.decide("/api/v1/payout");
        assert_eq!(d.answer.lies, [LieField::Amount]);
        assert!(d.answer.foreign);
        assert_eq!(d.after, None);
        assert_eq!(d.fired.len(), 2);
        let d = set.decide("/api/v1/payout/status/u");
        // Amount once even though two rules fired.
        assert_eq!(d.answer.lies, [LieField::Amount, LieField::Memo]);
        assert!(!d.answer.foreign);
        assert_eq!(d.fired.len(), 3);
    }

    #[test]
    fn webhooks_only_count_lies() {
        let mut set = FaultSet::new(vec![
            FaultRule::parse("drop").unwrap(),
            FaultRule::parse("foreign").unwrap(),
            FaultRule::parse("lie=amount@/webhook").unwrap(),
            FaultRule::parse("lie=contract@/webhook/blockatm").unwrap(),
            FaultRule::parse("lie=address@/v1/payout").unwrap(),
            FaultRule::parse("lie=currency:every:2").unwrap(),
        ]);
        let a = set.decide_webhook(webhook_target(crate::model::GatewayKind::G2328));
        assert_eq!(a.lies, [LieField::Amount]);
        assert!(!a.foreign);
        let a = set.decide_webhook(webhook_target(crate::model::GatewayKind::BlockAtm));
        assert_eq!(
            a.lies,
            [LieField::Amount, LieField::Contract, LieField::Currency]
        );
        // API requests do not see webhook-scoped lies.
        let d = set.decide("/api/v1/payout");
        assert_eq!(d.answer.lies, [LieField::Address]);
    }

    fn payout() -> SandboxPayout {
        let now = chrono::Utc::now();
        SandboxPayout {
            gateway: crate::model::GatewayKind::G2328,
            order_id: "o".into(),
            gateway_id: "u".into(),
            amount: Decimal::new(1250, 2),
            currency: "USDT".into(),
            network: "TRX-TRC20".into(),
            address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            memo: None,
            fee_option: None,
            status: crate::model::Status::Pending,
            gateway_status: "pending".into(),
            merchant_amount: Decimal::ONE,
            network_amount: Decimal::ONE,
            fee: Decimal::ZERO,
            txid: None,
            block_number: None,
            error_type: None,
            url_callback: None,
            from_currency: None,
            remark: None,
            created_at: now,
            updated_at: now,
            amount_text: "12.50".into(),
            settle_at: std::time::Instant::now(),
            debited: None,
            payout_type: 0,
            gas: None,
        }
    }

    #[test]
    fn lies_rewrite_or_add_one_field_each() {
        let p = payout();
        let mut obj: Map<String, Value> = serde_json::from_str(
            r#"{"uuid":"u","amount":"12.50","to_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","currency":"USDT","network":"TRX-TRC20","memo":null}"#,
        )
        .unwrap();
        apply_lies(&mut obj, &LieField::ALL, &NAMES_2328, &p, "C");
        assert_eq!(obj["amount"], "999999.00");
        assert_eq!(obj["to_address"], "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj62");
        assert_eq!(obj["currency"], "USDC");
        assert_eq!(obj["network"], "BSC-BEP20");
        assert_eq!(obj["memo"], "LIE-MEMO");
        assert!(!obj.contains_key("contractId"), "2328 has no contract");
        assert_eq!(obj["uuid"], "u");
        // BlockATM create answer: the fields are added.
        let mut obj: Map<String, Value> =
            serde_json::from_str(r#"{"orderNo":"o","orderId":"1"}"#).unwrap();
        apply_lies(
            &mut obj,
            &[LieField::Contract, LieField::Address, LieField::Currency],
            &NAMES_BLOCKATM,
            &p,
            "C",
        );
        assert_eq!(obj["contractId"], "LIE-C");
        assert_eq!(obj["recipient"], "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj62");
        assert_eq!(obj["symbol"], "USDC");
        // The lie always differs from the truth.
        let mut q = payout();
        q.amount = Decimal::new(99_999_900, 2);
        q.currency = "USDC".into();
        q.network = "BSC-BEP20".into();
        q.memo = Some("7".into());
        assert_eq!(lie_value(LieField::Amount, &q, ""), "999998.00");
        assert_eq!(lie_value(LieField::Currency, &q, ""), "USDT");
        assert_eq!(lie_value(LieField::Network, &q, ""), "ETH-ERC20");
        assert_eq!(lie_value(LieField::Memo, &q, ""), "7-lie");
        assert_eq!(other_address("0xab2"), "0xab3");
        assert_eq!(other_address("0xabC"), "0xab2");
        assert_eq!(other_address(""), "2");
    }

    #[test]
    fn json_objects_and_strings_are_accepted() {
        let v: serde_json::Value = serde_json::json!([
            "drop=every:2",
            {"kind": "late", "delay_ms": 1500, "every": 3, "path_contains": "/v1/payout"}
        ]);
        let rules: Vec<FaultRule> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| FaultRule::from_json(r).unwrap())
            .collect();
        assert_eq!(rules[0].every, 2);
        assert_eq!(
            rules[1].kind,
            FaultKind::ApplyThenLate(Duration::from_millis(1500))
        );
        assert!(FaultRule::from_json(&serde_json::json!({"kind": "nope"})).is_err());
        assert_eq!(
            FaultRule::from_json(&serde_json::json!({"kind": "lie", "field": "symbol"}))
                .unwrap()
                .kind,
            FaultKind::Lie(LieField::Currency)
        );
        assert!(FaultRule::from_json(&serde_json::json!({"kind": "lie"})).is_err());
        assert_eq!(
            FaultRule::from_json(&serde_json::json!({"kind": "foreign", "remaining": 1}))
                .unwrap()
                .remaining,
            Some(1)
        );
        assert!(FaultRule::from_json(&serde_json::json!(7)).is_err());
    }
}
