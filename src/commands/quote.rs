//! `payrun quote SHEET`: read and plan the sheet, price it through the gateway's fee
//! calculator (the `quote` stage), compare it with the previous run of the sheet, and print or
//! write the report. Sends nothing.

use std::io::Write;

use crate::cli::QuoteArgs;
use crate::commands::connect::{connect, runtime};
use crate::commands::load::{load_and_plan, print_problems};
use crate::commands::{controls, Context};
use crate::exit::{Exit, ExitCode};
use crate::gateway::GatewayError;
use crate::quote::render::{to_text, write_out, OutFormat};
use crate::quote::{check_balance, compute};

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

/// `payrun quote SHEET`.
pub fn execute(ctx: &Context, args: &QuoteArgs) -> anyhow::Result<ExitCode> {
    let out_format = match &args.out {
        Some(path) => Some(OutFormat::of_path(path).ok_or_else(|| {
            Exit::usage(format!(
                "{}: the cost report is written as .csv, .json, .md or .xlsx",
                path.display()
            ))
        })?),
        None => None,
    };
    if let Some(out) = &args.out {
        crate::commands::outputs::check_output(
            out,
            ctx.config.book.as_deref().ok(),
            Some(&args.sheet.sheet),
        )?;
    }
    let loaded = load_and_plan(ctx, &args.sheet)?;
    let mut out = std::io::stdout().lock();
    if !ctx.global.json {
        print_problems(&mut std::io::stderr(), &loaded.sheet.report)?;
    }
    let key_column = controls::key_column(&loaded.sheet.columns, args.sheet.key.as_deref())?;
    let keys = controls::recipient_keys(&loaded.sheet, key_column.as_ref().map(|k| k.0));
    let history = history_book(ctx)?;
    let recipient_warnings = controls::recipient_warnings(
        &loaded.sheet,
        &keys,
        key_column.as_ref().map(|k| k.1.as_str()).unwrap_or(""),
        history.as_ref().map(|(b, a)| (b.as_ref(), *a)),
    )
    .map_err(|e| Exit::usage(e.to_string()))?;
    if !ctx.global.json {
        for p in &recipient_warnings {
            eprintln!(
                "warning: line {}, {}: {} [{}]",
                p.line, p.column, p.message, p.code
            );
        }
    }
    let rate = crate::cli::submit::pacing_rate(
        &ctx.config,
        ctx.global.sandbox,
        ctx.config.gateway,
        args.submit.rate,
        args.submit.rate_above_limit,
    )?;
    let conn = connect(&ctx.config, ctx.global.sandbox)?;
    let rt = runtime()?;
    let report = rt.block_on(async {
        let pacers = crate::submit::Pacers::for_gateway(ctx.config.gateway, rate);
        let mut report = compute(conn.gateway.as_ref(), &pacers.create, &loaded.plan).await?;
        if !args.no_balance {
            check_balance(conn.gateway.as_ref(), &pacers.lookup, &mut report).await;
        }
        Ok::<_, GatewayError>(report)
    });
    // Auth, ban or an unreachable gateway: the quote is refused (exit 3), nothing guessed.
    let report = report.map_err(|e| Exit::refused(format!("{}: {e}", conn.base_url)))?;
    let mut report = report;
    if let Some((book, account)) = &history {
        report.variance = controls::previous_variance(
            book,
            *account,
            &crate::book::runs::sheet_key(&args.sheet.sheet),
            &loaded.sheet,
            None,
        )
        .map_err(|e| Exit::usage(e.to_string()))?;
    }
    report.worksheet = loaded.sheet.worksheet.clone();
    let sheet_name = args.sheet.sheet.display().to_string();
    if let (Some(path), Some(format)) = (&args.out, out_format) {
        write_out(path, format, &report, &sheet_name)?;
    }
    if ctx.global.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", to_text(&report))?;
        if loaded.sheet.report.invalid > 0 {
            writeln!(
                out,
                "{} invalid row(s) are not in this preview",
                loaded.sheet.report.invalid
            )?;
        }
    }
    Ok(
        if loaded.sheet.report.invalid > 0 || !report.unpriced.is_empty() {
            ExitCode::Incomplete
        } else {
            ExitCode::Success
        },
    )
}
