//! The recipient controls that need more than the sheet (docs/design.md, "Controls before
//! money moves"; docs/book.md, "Recipients"): the recipient key column, a key paid before to
//! another address or given two addresses in one sheet (`recipient_address_changed`), an
//! address that looks like one the account already paid (`recipient_lookalike`), and which
//! warnings `run` stops on until the user acknowledges them (`--accept` or the prompt).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};

use crate::book::{Book, BookError};
use crate::cli::{AckCode, RunArgs};
use crate::exit::Exit;
use crate::networks;
use crate::plan::PlannedOrder;
use crate::validate::lookalike::{self, Lookalikes};
use crate::validate::problem::{codes, Problem};
use crate::validate::{address, LoadedSheet};
use rust_decimal::Decimal;

/// Header names that say who a row pays, when `--key` names none (docs/design.md, "The sheet").
pub const KEY_ALIASES: &[&str] = &["employee_id", "recipient_id", "payee_id", "email"];

/// The warnings `run` stops on until acknowledged (docs/design.md, "Validation").
pub const NEEDS_ACK: &[&str] = &[
    codes::MEMO_MISSING_SHARED_ADDRESS,
    codes::RECIPIENT_OFF_CURVE,
    codes::RECIPIENT_LOOKALIKE,
    codes::RECIPIENT_ADDRESS_CHANGED,
    codes::PREVIOUS_RUN_UNFINISHED,
];

/// The recipient key column: `--key COLUMN` (which must exist: exit 2 otherwise), else the
/// first header matching an alias, as every header is matched (`sheet::header_key`: `Employee
/// ID` is `employee_id`). Index and header text.
pub fn key_column(columns: &[String], flag: Option<&str>) -> Result<Option<(usize, String)>, Exit> {
    let find = |name: &str| {
        let want = crate::sheet::header_key(name);
        columns
            .iter()
            .position(|c| crate::sheet::header_key(c) == want)
            .map(|i| (i, columns[i].trim().to_string()))
    };
    match flag {
        Some(name) => find(name).map(Some).ok_or_else(|| {
            Exit::usage(format!(
                "--key {name}: the sheet has no such column (its columns: {})",
                columns.join(", ")
            ))
        }),
        None => Ok(KEY_ALIASES.iter().find_map(|a| find(a))),
    }
}

/// The recipient key of every valid row that has one, by sheet line (trimmed, as written).
pub fn recipient_keys(sheet: &LoadedSheet, column: Option<usize>) -> HashMap<u64, String> {
    let Some(i) = column else {
        return HashMap::new();
    };
    sheet
        .rows
        .iter()
        .filter(|r| r.payout.is_some())
        .filter_map(|r| {
            let k = r.cells.get(i)?.trim();
            (!k.is_empty()).then(|| (r.line, k.to_string()))
        })
        .collect()
}

/// The canonical key of an address the book holds, for comparing with a row's `address_key`.
fn canonical(network: &str, addr: &str) -> Option<(&'static networks::NetworkSpec, String)> {
    let net = networks::lookup(network)?;
    let key = address::check(net.family, addr).ok()?;
    Some((net, key))
}

/// Recipient warnings for the valid rows of `sheet`: a key with two addresses in the sheet, a
/// key the book last paid to another address, and an address that looks like (same ends,
/// different address) one the account already sent to. `book` is `None` when there is no book
/// yet (nothing was ever paid). Sorted by line.
pub fn recipient_warnings(
    sheet: &LoadedSheet,
    keys: &HashMap<u64, String>,
    key_label: &str,
    book: Option<(&Book, i64)>,
) -> Result<Vec<Problem>, BookError> {
    let mut out = Vec::new();
    let address_label = crate::sheet::Field::Address.name();
    let payouts = || sheet.rows.iter().filter_map(|r| r.payout.as_ref());
    // A key with two addresses in this sheet.
    let mut first_of_key: HashMap<&str, (&str, &str, u64)> = HashMap::new();
    for p in payouts() {
        let Some(k) = keys.get(&p.line) else { continue };
        match first_of_key.get(k.as_str()) {
            Some((net, addr, line)) if *net == p.network.code && *addr != p.address_key => out
                .push(Problem::new(
                    p.line,
                    key_label,
                    codes::RECIPIENT_ADDRESS_CHANGED,
                    format!(
                        "recipient {k} is paid to {} here and to another address on line {line}: \
                         check which one is theirs",
                        p.address
                    ),
                )),
            Some(_) => {}
            None => {
                first_of_key.insert(k, (p.network.code, &p.address_key, p.line));
            }
        }
    }
    let Some((book, account)) = book else {
        out.sort_by_key(|p| p.line);
        return Ok(out);
    };
    // A key the book last paid to another address.
    let wanted: HashSet<&str> = keys.values().map(String::as_str).collect();
    let last = book.last_address_by_key(account, &wanted)?;
    for p in payouts() {
        let Some(k) = keys.get(&p.line) else { continue };
        let Some(before) = last.get(k) else { continue };
        let same = canonical(&before.network, &before.address)
            .is_some_and(|(net, key)| net.code != p.network.code || key == p.address_key);
        if !same {
            out.push(Problem::new(
                p.line,
                key_label,
                codes::RECIPIENT_ADDRESS_CHANGED,
                format!(
                    "recipient {k} was paid to {} in run {}; this row pays {}: confirm the new \
                     address with the recipient through another channel (a changed wallet is \
                     the commonest payroll diversion)",
                    before.address, before.run_id, p.address
                ),
            ));
        }
    }
    // Look-alikes of addresses already paid.
    let mut paid: Lookalikes<(String, String)> = Lookalikes::default();
    book.each_sent_address(account, |a| {
        if let Some((net, key)) = canonical(&a.network, &a.address) {
            if let Some(shape) = lookalike::shape(net.code, net.family, &a.address) {
                let id = lookalike::identity(net.code, &key);
                paid.record(shape, id, (a.address, a.run_id));
            }
        }
    })?;
    if !paid.is_empty() {
        for p in payouts() {
            let Some(shape) = lookalike::shape(p.network.code, p.network.family, &p.address) else {
                continue;
            };
            let id = lookalike::identity(p.network.code, &p.address_key);
            if let Some((addr, run)) = paid.find(shape, id) {
                out.push(Problem::new(
                    p.line,
                    address_label,
                    codes::RECIPIENT_LOOKALIKE,
                    format!(
                        "{} differs from {addr}, paid in run {run}, but shares its first and \
                         last {} characters after the common prefix: check it with the \
                         recipient (the shape of an address-poisoning attack)",
                        p.address,
                        lookalike::ENDS
                    ),
                ));
            }
        }
    }
    out.sort_by_key(|p| p.line);
    Ok(out)
}

/// The variance of `sheet` against the previous run of the same sheet in the book (the latest
/// run of its path, else of its content, started before `current`): that run's sent orders against
/// the sheet planned under that run's id, so an unchanged row has the same order id on both
/// sides (docs/design.md, "Controls before money moves"). `None` when there is no such run.
pub fn previous_variance(
    book: &Book,
    account: i64,
    sheet_path: &str,
    sheet: &LoadedSheet,
    current: Option<i64>,
) -> Result<Option<crate::variance::Variance>, BookError> {
    let Some(previous) = book.previous_run_of_sheet(account, sheet_path, &sheet.sha256, current)?
    else {
        return Ok(None);
    };
    let then: Vec<_> = book
        .run_orders(account, previous.pk)?
        .into_iter()
        .filter(|r| r.sent)
        .collect();
    let plan = crate::commands::load::plan_of(sheet, &previous.run_id);
    Ok(Some(crate::variance::compare(
        &previous.run_id,
        &crate::variance::sides_of_orders(&then),
        &crate::variance::sides_of_plan(&plan),
    )))
}

/// The warnings among `warnings` that need acknowledging, counted per code.
pub fn to_acknowledge<'a>(
    warnings: impl IntoIterator<Item = &'a Problem>,
) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for w in warnings {
        if NEEDS_ACK.contains(&w.code) {
            *out.entry(w.code).or_insert(0) += 1;
        }
    }
    out
}

/// Makes the user acknowledge every kind in `pending` before anything is sent: each named by
/// `--accept`, else typed at the prompt (a terminal, without `--yes`). `--yes` alone
/// acknowledges nothing. Refused: exit 2 (a decision the user must make), nothing sent.
pub fn acknowledge(
    pending: &BTreeMap<&'static str, usize>,
    accepted: &[AckCode],
    yes: bool,
) -> Result<Vec<&'static str>, Exit> {
    let given: HashSet<&str> = accepted.iter().map(|a| a.code()).collect();
    let missing: Vec<&'static str> = pending
        .keys()
        .copied()
        .filter(|c| !given.contains(c))
        .collect();
    let all: Vec<&'static str> = pending.keys().copied().collect();
    if missing.is_empty() {
        if !all.is_empty() {
            eprintln!("acknowledged with --accept: {}", all.join(", "));
        }
        return Ok(all);
    }
    let listing = missing
        .iter()
        .map(|c| format!("{c} ({} row(s))", pending[c]))
        .collect::<Vec<_>>()
        .join(", ");
    if yes || !std::io::stdin().is_terminal() {
        return Err(Exit::usage(format!(
            "warnings need acknowledging before anything is sent: {listing}; nothing was sent. \
             Check the rows listed above, then run again with --accept {}",
            missing.join(",")
        )));
    }
    eprint!(
        "These warnings need acknowledging: {listing}.\nType their codes (comma-separated) to acknowledge them: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Exit::usage(format!("reading the answer: {e}")))?;
    let typed: HashSet<String> = answer
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    if missing.iter().all(|c| typed.contains(*c)) {
        Ok(all)
    } else {
        Err(Exit::usage(
            "warnings not acknowledged; nothing was sent".to_string(),
        ))
    }
}

/// What the recipient controls found: each row's recipient key, and the warning codes to
/// acknowledge (with how many rows each, the sheet's own warnings included) before anything
/// is sent.
pub struct Recipients {
    pub keys: HashMap<u64, String>,
    pub to_ack: BTreeMap<&'static str, usize>,
}

/// The recipient controls of a sheet (docs/book.md, "Recipients"): look-alikes within the
/// sheet, and against the account's history in the book when there is one (`history`: the
/// book and the account). Prints each warning when `print`.
pub fn recipient_checks(
    sheet: &LoadedSheet,
    key_column: Option<(usize, String)>,
    history: Option<(&Book, i64)>,
    print: bool,
) -> Result<Recipients, BookError> {
    let keys = recipient_keys(sheet, key_column.as_ref().map(|k| k.0));
    let key_label = key_column.as_ref().map(|k| k.1.as_str()).unwrap_or("");
    let warnings = recipient_warnings(sheet, &keys, key_label, history)?;
    if print {
        for p in &warnings {
            eprintln!(
                "warning: line {}, {}: {} [{}]",
                p.line, p.column, p.message, p.code
            );
        }
    }
    let to_ack = to_acknowledge(sheet.report.warnings.iter().chain(&warnings));
    Ok(Recipients { keys, to_ack })
}

/// Control totals: refuse (exit 3) before anything is sent when they are not met.
pub fn check_controls(args: &RunArgs, plan: &[PlannedOrder]) -> Result<(), Exit> {
    let mut totals: HashMap<String, Decimal> = HashMap::new();
    for o in plan {
        *totals
            .entry(o.payout.currency.to_ascii_uppercase())
            .or_default() += o.payout.amount;
    }
    let mut problems = Vec::new();
    for m in &args.max_total {
        let (cap, cur) = (m.amount, &m.currency);
        let have = totals.get(cur).copied().unwrap_or_default();
        if have > cap {
            problems.push(format!("the {cur} total {have} exceeds --max-total {cap}"));
        }
    }
    // A cap on a currency the sheet does not pay, while a currency it pays has none, is most
    // likely a typo (USDC for USDT): the cap the user meant would bind nothing.
    let capped: Vec<&str> = args.max_total.iter().map(|m| m.currency.as_str()).collect();
    let mut uncapped: Vec<&str> = totals
        .keys()
        .map(String::as_str)
        .filter(|c| !capped.contains(c))
        .collect();
    uncapped.sort_unstable();
    if !uncapped.is_empty() {
        for m in &args.max_total {
            if !totals.contains_key(&m.currency) {
                problems.push(format!(
                    "--max-total {}:{} caps a currency this sheet does not pay, while {} is not \
                     capped (a typo?)",
                    m.amount,
                    m.currency,
                    uncapped.join(", ")
                ));
            }
        }
    }
    if let Some(n) = args.expect_count {
        if plan.len() != n {
            problems.push(format!(
                "{} rows would be paid, --expect-count says {n}",
                plan.len()
            ));
        }
    }
    for e in &args.expect_total {
        let (want, cur) = (e.amount, &e.currency);
        let have = totals.get(cur).copied().unwrap_or_default();
        if have != want {
            problems.push(format!(
                "the {cur} total is {have}, --expect-total says {want}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Exit::refused(format!(
            "control totals not met, nothing was sent: {}",
            problems.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(code: &'static str) -> Problem {
        Problem::new(2, "address", code, "m")
    }

    #[test]
    fn only_the_listed_kinds_need_acknowledging() {
        let ws = [
            warning(codes::RECIPIENT_LOOKALIKE),
            warning(codes::RECIPIENT_LOOKALIKE),
            warning(codes::FEE_OPTION_IGNORED),
            warning(codes::MEMO_MISSING_SHARED_ADDRESS),
        ];
        let pending = to_acknowledge(&ws);
        assert_eq!(
            pending.into_iter().collect::<Vec<_>>(),
            vec![
                (codes::MEMO_MISSING_SHARED_ADDRESS, 1),
                (codes::RECIPIENT_LOOKALIKE, 2)
            ]
        );
    }

    #[test]
    fn yes_acknowledges_nothing_and_accept_must_name_every_kind() {
        let pending = to_acknowledge(&[
            warning(codes::RECIPIENT_LOOKALIKE),
            warning(codes::RECIPIENT_ADDRESS_CHANGED),
        ]);
        let refused = acknowledge(&pending, &[], true).unwrap_err();
        assert_eq!(refused.code, crate::exit::ExitCode::Usage);
        assert!(acknowledge(&pending, &[AckCode::RecipientLookalike], true).is_err());
        let all = [
            AckCode::RecipientLookalike,
            AckCode::RecipientAddressChanged,
        ];
        assert_eq!(
            acknowledge(&pending, &all, true).unwrap(),
            vec![codes::RECIPIENT_ADDRESS_CHANGED, codes::RECIPIENT_LOOKALIKE]
        );
        assert!(acknowledge(&BTreeMap::new(), &[], true).unwrap().is_empty());
    }

    #[test]
    fn the_key_column_is_the_flag_or_the_first_alias() {
        let cols: Vec<String> = ["Name", " Email ", "employee_id", "address"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            key_column(&cols, None).unwrap(),
            Some((2, "employee_id".to_string()))
        );
        assert_eq!(
            key_column(&cols, Some("EMAIL")).unwrap(),
            Some((1, "Email".to_string()))
        );
        assert!(key_column(&cols, Some("staff")).is_err());
        assert_eq!(key_column(&cols[..1], None).unwrap(), None);
        // Matched as payout headers are: spaces and hyphens count as underscores.
        for header in ["Employee ID", "employee-id", " Payee Id", "Recipient ID"] {
            let cols: Vec<String> = ["address", header].map(String::from).to_vec();
            assert_eq!(
                key_column(&cols, None).unwrap(),
                Some((1, header.trim().to_string())),
                "{header}"
            );
        }
        let cols: Vec<String> = ["Staff No", "address"].map(String::from).to_vec();
        assert_eq!(
            key_column(&cols, Some("staff_no")).unwrap(),
            Some((0, "Staff No".to_string()))
        );
    }
}
