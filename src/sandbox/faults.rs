//! Fault injection: the rules (kind, which paths, how often, how many times), their compact
//! spec strings for the CLI, their JSON form for the admin endpoint, and the per-request
//! decision of which faults fire.
//!
//! Spec grammar: `KIND[=PART[:PART...]][@PATH]` where a PART is `every:N` (every N-th matching
//! request), `times:N` (fire at most N times), a duration (`50ms`, `3s`) or, for `burst429`, a
//! bare count. `@PATH` limits the rule to request paths containing PATH. Examples:
//! `latency=50ms`, `error5xx=every:5`, `drop=every:7`, `late=every:9:3s`, `malformed=every:11`,
//! `burst429=3`, `drop=times:1@/payout/batch`. `late` without a duration waits
//! [`DEFAULT_LATE_DELAY`]. `burst429=N` fires once (N consecutive 429s) unless `every`/`times`
//! say otherwise.

use std::fmt;
use std::time::Duration;

/// How long `late` waits before answering when the spec names no duration.
pub const DEFAULT_LATE_DELAY: Duration = Duration::from_secs(10);

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Wait this long before handling the request.
    Latency(Duration),
    /// Answer 503 before applying anything.
    Error5xx,
    /// This and the next N-1 requests get 429.
    Burst429(u32),
    /// Apply the request, then close the connection without any response.
    ApplyThenDrop,
    /// Apply the request, then answer after the delay.
    ApplyThenLate(Duration),
    /// Apply the request, then answer a truncated body.
    Malformed,
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
        let mut duration = None;
        let mut count = None;
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
                _ => {
                    duration =
                        Some(parse_duration(part).map_err(|e| format!("fault {spec:?}: {e}"))?)
                }
            }
        }
        let kind = match name.to_ascii_lowercase().as_str() {
            "latency" => FaultKind::Latency(
                duration.ok_or_else(|| format!("fault {spec:?}: latency needs a duration"))?,
            ),
            "error5xx" | "5xx" => FaultKind::Error5xx,
            "burst429" | "429" => FaultKind::Burst429(count.unwrap_or(1).max(1)),
            "drop" => FaultKind::ApplyThenDrop,
            "late" => FaultKind::ApplyThenLate(duration.unwrap_or(DEFAULT_LATE_DELAY)),
            "malformed" => FaultKind::Malformed,
            other => {
                return Err(format!(
                    "unknown fault {other:?} (latency, error5xx, burst429, drop, late, malformed)"
                ))
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
    /// "path_contains": "/payout"}` (`delay_ms` for latency/late, `count` for burst429).
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
            "burst429" => FaultKind::Burst429(small("count")?.unwrap_or(1).max(1)),
            "drop" => FaultKind::ApplyThenDrop,
            "late" => FaultKind::ApplyThenLate(delay.unwrap_or(DEFAULT_LATE_DELAY)),
            "malformed" => FaultKind::Malformed,
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
            FaultKind::Burst429(n) => ("burst429", Some(n.to_string())),
            FaultKind::ApplyThenDrop => ("drop", None),
            FaultKind::ApplyThenLate(d) => ("late", Some(ms(d))),
            FaultKind::Malformed => ("malformed", None),
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
    pub after: Option<AfterApply>,
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
                FaultKind::Burst429(n) => self.burst_left += n,
                FaultKind::ApplyThenDrop => d.after = d.after.or(Some(AfterApply::Drop)),
                FaultKind::ApplyThenLate(t) => d.after = d.after.or(Some(AfterApply::Late(t))),
                FaultKind::Malformed => d.after = d.after.or(Some(AfterApply::Malformed)),
            }
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            d.too_many = true;
        }
        d
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
        assert!(FaultRule::from_json(&serde_json::json!(7)).is_err());
    }
}
