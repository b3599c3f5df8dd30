//! `payrun runs` and `payrun history`: what the book knows, for people and for `--json`.

use crate::cli::HistoryArgs;
use crate::commands::connect::account_key;
use crate::commands::{open_existing_book, Context};
use crate::exit::ExitCode;

/// `payrun runs`: every run of the configured account (every account when the configuration
/// names none).
pub fn runs(ctx: &Context) -> anyhow::Result<ExitCode> {
    let book = open_existing_book(ctx)?;
    let account = match account_key(&ctx.config, ctx.global.sandbox) {
        Some(k) => match book.find_account(&k)? {
            Some(a) => Some(a),
            None => {
                if ctx.global.json {
                    crate::outln!("[]");
                } else {
                    crate::outln!("no runs for {}", k.label());
                }
                return Ok(ExitCode::Success);
            }
        },
        None => None,
    };
    let lines = book.run_lines(account)?;
    if ctx.global.json {
        crate::outln!("{}", serde_json::to_string_pretty(&lines)?);
        return Ok(ExitCode::Success);
    }
    if lines.is_empty() {
        crate::outln!("no runs in {}", book.path().display());
    }
    for l in &lines {
        let totals: Vec<String> = l.totals.iter().map(|(c, a)| format!("{a} {c}")).collect();
        crate::outln!(
            "{}  {}  {}  {} rows: {} paid, {} pending, {} failed, {} other  {}  [{}]{}",
            l.run_id,
            l.started_at.get(..19).unwrap_or(&l.started_at),
            l.sheet,
            l.rows,
            l.paid,
            l.pending,
            l.failed,
            l.other,
            totals.join(", "),
            l.account,
            l.approved_by
                .as_ref()
                .map(|a| format!("  approved by {a}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::Success)
}

/// `payrun history --recipient KEY | --address A`.
pub fn history(ctx: &Context, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let book = open_existing_book(ctx)?;
    let lines = book.history(args.address.as_deref(), args.recipient.as_deref())?;
    if ctx.global.json {
        crate::outln!("{}", serde_json::to_string_pretty(&lines)?);
        return Ok(ExitCode::Success);
    }
    if lines.is_empty() {
        crate::outln!("no payouts found");
    }
    for l in &lines {
        crate::outln!(
            "{}  {}  {} {} to {} ({})  {}{}  [{}]",
            l.updated_at.get(..19).unwrap_or(&l.updated_at),
            l.run_id,
            l.amount,
            l.currency,
            l.address,
            l.network,
            l.status,
            l.txid
                .as_ref()
                .map(|t| format!(" tx {t}"))
                .unwrap_or_default(),
            l.account
        );
    }
    Ok(ExitCode::Success)
}
