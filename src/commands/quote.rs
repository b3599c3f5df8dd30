//! `payrun quote SHEET`: read and plan the sheet, price it through the gateway's fee
//! calculator (the `quote` stage), compare it with the previous run of the sheet, and print or
//! write the report. Sends nothing.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::cli::QuoteArgs;
use crate::commands::connect::{connect, runtime};
use crate::commands::load::{load_and_plan, print_problems};
use crate::commands::{controls, Context};
use crate::exit::{Exit, ExitCode};
use crate::quote::preview;
use crate::quote::render::{to_text, write_out, OutFormat};

/// The book and this configuration's account in it, when both exist already (a quote never
/// creates a book or an account).
fn history_book(ctx: &Context) -> anyhow::Result<Option<(std::sync::Arc<crate::book::Book>, i64)>> {
    let Ok(path) = ctx.config.book.as_ref() else {
        return Ok(None);
    };
    if !path.exists() {
        return Ok(None);
    }
    let Some(key) = crate::commands::connect::account_key(&ctx.config, ctx.global.sandbox) else {
        return Ok(None);
    };
    let book = crate::commands::open_book(ctx)?;
    let account = book.find_account(&key)?;
    Ok(account.map(|a| (book, a)))
}

/// `payrun quote SHEET`: read and plan → recipient controls → price → compare with the
/// previous run → print and write.
pub fn execute(ctx: &Context, args: &QuoteArgs) -> anyhow::Result<ExitCode> {
    let out_file = out_file(ctx, args)?;
    let loaded = load_and_plan(ctx, &args.sheet)?;
    let sheet = &loaded.sheet;
    if !ctx.global.json {
        print_problems(&mut std::io::stderr(), &sheet.report)?;
    }
    let key_column = controls::key_column(&sheet.columns, args.sheet.key.as_deref())?;
    let history = history_book(ctx)?;
    let history = history.as_ref().map(|(b, a)| (b.as_ref(), *a));
    controls::recipient_checks(sheet, key_column, history, !ctx.global.json)?;
    let mut report = price(ctx, args, &loaded.plan)?;
    if let Some((book, account)) = history {
        let path = crate::book::runs::sheet_key(&args.sheet.sheet);
        report.variance = controls::previous_variance(book, account, &path, sheet, None)?;
    }
    report.worksheet = sheet.worksheet.clone();
    if let Some((path, format)) = &out_file {
        write_out(
            path,
            *format,
            &report,
            &args.sheet.sheet.display().to_string(),
        )?;
    }
    if ctx.global.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        crate::out!("{}", to_text(&report));
        if sheet.report.invalid > 0 {
            let invalid = sheet.report.invalid;
            crate::outln!("{invalid} invalid row(s) are not in this preview");
        }
    }
    Ok(if sheet.report.invalid > 0 || !report.unpriced.is_empty() {
        ExitCode::Incomplete
    } else {
        ExitCode::Success
    })
}

/// `--out FILE`: where and as what the report is written, checked before any work (the
/// extension names the format; never over the sheet or the book).
fn out_file(ctx: &Context, args: &QuoteArgs) -> anyhow::Result<Option<(PathBuf, OutFormat)>> {
    let Some(path) = &args.out else {
        return Ok(None);
    };
    let format = OutFormat::of_path(path).ok_or_else(|| {
        Exit::usage(format!(
            "{}: the cost report is written as .csv, .json, .md or .xlsx",
            path.display()
        ))
    })?;
    let book = ctx.config.book.as_deref().ok();
    crate::commands::outputs::check_output(path, book, Some(&args.sheet.sheet))?;
    Ok(Some((path.clone(), format)))
}

/// Prices the plan through the gateway's fee calculator, and checks the balance unless
/// `--no-balance`. Auth, ban or an unreachable gateway: exit 3, nothing guessed.
fn price(
    ctx: &Context,
    args: &QuoteArgs,
    plan: &[crate::plan::PlannedOrder],
) -> anyhow::Result<crate::quote::QuoteReport> {
    let (rate, above) = (args.submit.rate, args.submit.rate_above_limit);
    let gateway = ctx.config.gateway;
    let rate =
        crate::cli::submit::pacing_rate(&ctx.config, ctx.global.sandbox, gateway, rate, above)?;
    let conn = connect(&ctx.config, ctx.global.sandbox)?;
    let rt = runtime()?;
    let pacers = crate::submit::Pacers::for_gateway(gateway, rate);
    let with_balance = !args.no_balance;
    rt.block_on(preview(conn.gateway.as_ref(), &pacers, plan, with_balance))
        .with_context(|| conn.base_url.clone())
}
