//! `payrun approve SHEET --approver NAME`: records in the book the plan a second person
//! approves (docs/book.md, "Approvals"), and the check `run` makes against it when approval is
//! required: the newest unused approval of the sheet must match the run's plan row for row,
//! and its approver must not be the runner. Refusals are exit 3 with nothing sent.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;

use crate::book::approvals::{Approval, ApprovedOrder, ApprovedPlan};
use crate::book::{now, Book, Run, SheetInfo};
use crate::cli::ApproveArgs;
use crate::commands::load::{load_sheet, plan_of, print_problems, sheet_info, stem};
use crate::commands::{controls, open_book, Context};
use crate::exit::{Exit, ExitCode};
use crate::plan::PlannedOrder;

/// The name of whoever runs this process: `--runner`, else the OS user (`USER`, `USERNAME`,
/// `LOGNAME`). `None` when neither names anyone.
pub fn runner_name(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| {
            ["USER", "USERNAME", "LOGNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok())
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Whether two names are the same person (trimmed, case-insensitive).
pub fn same_person(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The run id a `payrun run` of this sheet would pay under: `--run-id`; else the sheet's
/// unfinished run (by path, then by content), which `run` resumes; else the first free
/// `<stem>-<YYYYMMDD>[-N]` of today (UTC), which a new run gets (docs/book.md, "Approvals").
pub fn run_id_for(
    book: &Book,
    account: i64,
    wanted: Option<&str>,
    stem: &str,
    info: &SheetInfo,
) -> Result<String, crate::book::BookError> {
    if let Some(id) = wanted {
        return Ok(id.to_string());
    }
    let (by_path, by_sha) = book.runs_of(account, info)?;
    for run in [by_path, by_sha].into_iter().flatten() {
        if book.run_counts(&run)?.unfinished() {
            return Ok(run.run_id);
        }
    }
    let base = format!("{stem}-{}", chrono::Utc::now().format("%Y%m%d"));
    let mut id = base.clone();
    let mut n = 2;
    while book.run_by_id(account, &id)?.is_some() {
        id = format!("{base}-{n}");
        n += 1;
    }
    Ok(id)
}

/// The plan as an approval records it.
pub fn approved_orders(plan: &[PlannedOrder]) -> (Vec<ApprovedOrder>, BTreeMap<String, Decimal>) {
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    let orders = plan
        .iter()
        .map(|o| {
            *totals.entry(o.payout.currency.clone()).or_default() += o.payout.amount;
            ApprovedOrder {
                line: o.payout.line,
                order_id: o.order_id.clone(),
                digest: o.fields_digest.clone(),
                amount: o.payout.amount,
                currency: o.payout.currency.clone(),
                address: o.payout.address.clone(),
            }
        })
        .collect();
    (orders, totals)
}

/// Every row where `plan` differs from the approved orders (compared by line and payout
/// fields; the order ids are not compared, so a run started another day still matches).
pub fn differences(approved: &[ApprovedOrder], plan: &[PlannedOrder]) -> Vec<String> {
    let then: HashMap<u64, &ApprovedOrder> = approved.iter().map(|a| (a.line, a)).collect();
    let now: HashMap<u64, &PlannedOrder> = plan.iter().map(|o| (o.payout.line, o)).collect();
    let mut lines: Vec<u64> = then.keys().chain(now.keys()).copied().collect();
    lines.sort_unstable();
    lines.dedup();
    let mut out = Vec::new();
    for line in lines {
        match (then.get(&line), now.get(&line)) {
            (Some(a), Some(o)) if a.digest == o.fields_digest => {}
            (Some(a), Some(o)) => out.push(format!(
                "line {line}: approved {} {} to {}, now {} {} to {}",
                a.amount,
                a.currency,
                a.address,
                o.payout.amount,
                o.payout.currency,
                o.payout.address
            )),
            (Some(a), None) => out.push(format!(
                "line {line}: approved {} {} to {}, not in this plan",
                a.amount, a.currency, a.address
            )),
            (None, Some(o)) => out.push(format!(
                "line {line}: {} {} to {} was not approved",
                o.payout.amount, o.payout.currency, o.payout.address
            )),
            (None, None) => {}
        }
    }
    out
}

/// `run` with approval required: the approval this plan is paid under, or why not (exit 3).
/// An approval used by another run never pays a second one.
pub fn check(
    book: &Book,
    account: i64,
    run: &Run,
    info: &SheetInfo,
    plan: &[PlannedOrder],
    runner: &str,
) -> anyhow::Result<Approval> {
    let approvals = book.approvals_for(account, &info.path, &info.sha256)?;
    let usable: Vec<&Approval> = approvals
        .iter()
        .filter(|a| a.used_by.as_deref().is_none_or(|r| r == run.run_id))
        .collect();
    let Some(approval) = usable.first() else {
        let used = approvals
            .iter()
            .find_map(|a| a.used_by.as_ref())
            .map(|r| format!(" (the approval of this sheet paid run {r} already)"))
            .unwrap_or_default();
        return Err(Exit::refused(format!(
            "approval required: no approval of this sheet is recorded{used}; nothing was sent. \
             Someone other than {runner} runs `payrun approve {} --approver NAME` first",
            info.name
        ))
        .into());
    };
    if same_person(&approval.plan.approver, runner) {
        return Err(Exit::refused(format!(
            "approval required: the plan was approved by {}, who is also running it; four eyes \
             need a second person (nothing was sent)",
            approval.plan.approver
        ))
        .into());
    }
    let diffs = differences(&approval.plan.orders, plan);
    if !diffs.is_empty() {
        const SHOWN: usize = 10;
        let mut msg = format!(
            "approval required: the plan differs from the one {} approved at {} in {} row(s); nothing was sent:",
            approval.plan.approver,
            approval.plan.at,
            diffs.len()
        );
        for d in diffs.iter().take(SHOWN) {
            msg.push_str(&format!("\n  {d}"));
        }
        if diffs.len() > SHOWN {
            msg.push_str(&format!("\n  … and {} more", diffs.len() - SHOWN));
        }
        return Err(Exit::refused(msg).into());
    }
    Ok((*approval).clone())
}

/// `payrun approve SHEET --approver NAME`.
pub fn execute(ctx: &Context, args: &ApproveArgs) -> anyhow::Result<ExitCode> {
    let approver = args.approver.trim();
    if approver.is_empty() {
        return Err(Exit::usage("--approver must name a person").into());
    }
    let sheet = load_sheet(ctx, &args.sheet)?;
    print_problems(&mut std::io::stderr(), &sheet.report)?;
    if sheet.report.invalid > 0 {
        eprintln!(
            "{} of {} rows are invalid; nothing was approved. Fix them first.",
            sheet.report.invalid, sheet.report.rows
        );
        return Ok(ExitCode::Incomplete);
    }
    let key = crate::commands::connect::account_key(&ctx.config, ctx.global.sandbox).ok_or_else(
        || Exit::usage("approve: the configuration names no gateway account (credentials)"),
    )?;
    let book = open_book(ctx)?;
    let account = book.account(&key)?;
    let stem = stem(&args.sheet.sheet);
    let info = sheet_info(&args.sheet.sheet, &sheet);
    let run_id = run_id_for(&book, account, ctx.global.run_id.as_deref(), &stem, &info)?;
    let plan = plan_of(&sheet, &run_id);
    let key_column = controls::key_column(&sheet.columns, args.sheet.key.as_deref())?;
    let history = Some((book.as_ref(), account));
    let recipients = controls::recipient_checks(&sheet, key_column, history, true)?;
    let acknowledged: Vec<String> = recipients.to_ack.into_keys().map(String::from).collect();
    let (orders, totals) = approved_orders(&plan);
    let approved = ApprovedPlan {
        approver: approver.to_string(),
        sheet_path: info.path.clone(),
        sheet_sha256: info.sha256.clone(),
        run_id: run_id.clone(),
        orders,
        totals,
        acknowledged,
        at: now(),
    };
    let seq = book.record_approval(account, &approved)?;
    print_approval(ctx, &approved, seq, &info.name)?;
    Ok(ExitCode::Success)
}

/// Prints what was approved (`--json`: the approval's number, approver, run, sheet digest,
/// order count, totals and acknowledged warnings).
fn print_approval(
    ctx: &Context,
    approved: &ApprovedPlan,
    seq: i64,
    sheet_name: &str,
) -> anyhow::Result<()> {
    if ctx.global.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "approval": seq,
                "approver": approved.approver,
                "run_id": approved.run_id,
                "sheet_sha256": approved.sheet_sha256,
                "orders": approved.orders.len(),
                "totals": approved.totals,
                "acknowledged": approved.acknowledged,
            }))?
        );
    } else {
        let totals: Vec<String> = approved
            .totals
            .iter()
            .map(|(c, a)| format!("{a} {c}"))
            .collect();
        crate::outln!(
            "approved by {}: {} payout(s), {} — run {} of {} (approval #{seq})",
            approved.approver,
            approved.orders.len(),
            totals.join(", "),
            approved.run_id,
            sheet_name
        );
        if !approved.acknowledged.is_empty() {
            crate::outln!("warnings approved: {}", approved.acknowledged.join(", "));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_across_case_and_spaces() {
        assert!(same_person(" Alice ", "alice"));
        assert!(!same_person("alice", "bob"));
    }
}
