//! One file per subcommand. `dispatch` resolves the configuration and hands each command a
//! `Context`; every command returns the `ExitCode` it ended with, or an error for the edge to
//! print and map (an `exit::Exit` inside carries its own code; anything else is a usage error).

pub mod already_paid;
pub mod approve;
pub mod book;
pub mod connect;
pub mod controls;
pub mod init;
pub mod load;
pub mod outputs;
pub mod quote;
pub mod repeats;
pub mod report;
pub mod results;
pub mod run;
pub mod runs;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod status;
pub mod template;
pub mod validate;
pub mod webhook;
pub mod webhook_server;

use std::path::Path;
use std::sync::Arc;

use crate::cli::config::{Config, Sources};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::exit::{Exit, ExitCode};

/// What every command gets: the validated configuration and the global flags.
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Config,
    pub global: GlobalArgs,
}

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    init_logging(cli.global.verbose, cli.global.color);
    // Commands that need no configuration run before it is read, so a broken payrun.toml
    // cannot stop `init --force` from replacing it.
    match &cli.command {
        Command::Completions(args) => {
            // Generated into memory, then written as all output is: a closed pipe
            // (`payrun completions bash | head`) ends quietly instead of panicking in
            // clap_complete's own write.
            let mut cmd = crate::cli::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "payrun", &mut script);
            crate::out!("{}", String::from_utf8_lossy(&script));
            return Ok(ExitCode::Success);
        }
        Command::Template(args) => return template::execute(args),
        Command::Init(args) => return init::execute(args),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => return sandbox::execute(&cli.global, args),
        #[cfg(not(feature = "sandbox"))]
        Command::Sandbox(_) => return Err(connect::without_sandbox().into()),
        _ => {}
    }
    let sources =
        Sources::gather(cli.global.config.as_deref()).map_err(|e| Exit::usage(format!("{e}")))?;
    let config = Config::resolve(&cli.global, &sources).map_err(|e| Exit::usage(format!("{e}")))?;
    let ctx = Context {
        config,
        global: cli.global,
    };
    match cli.command {
        Command::Validate(args) => validate::execute(&ctx, &args),
        Command::Quote(args) => quote::execute(&ctx, &args),
        Command::Approve(args) => approve::execute(&ctx, &args),
        Command::Run(args) => run::execute(&ctx, &args),
        Command::Status(args) => status::execute(&ctx, &args),
        Command::Report(args) => report::execute(&ctx, &args),
        Command::Webhook(cmd) => webhook::execute(&ctx, &cmd),
        Command::Runs => runs::runs(&ctx),
        Command::History(args) => runs::history(&ctx, &args),
        Command::Book(cmd) => book::execute(&ctx, &cmd),
        Command::Completions(_) | Command::Template(_) | Command::Init(_) | Command::Sandbox(_) => {
            unreachable!("handled before the configuration is read")
        }
    }
}

/// Opens the book the configuration names (exit 2 when it cannot be opened, or is not a
/// payrun book, or was altered).
pub fn open_book(ctx: &Context) -> anyhow::Result<Arc<crate::book::Book>> {
    let path = ctx.config.book.clone().map_err(Exit::usage)?;
    Ok(Arc::new(crate::book::Book::open(&path)?))
}

/// Opens the book for a command that only reads it or follows runs already in it (`runs`,
/// `history`, `status`, `report`, `book verify`, `book export`). A book that does not exist
/// is a usage error naming the path (exit 2), never a new empty book: a mistyped `--book` or
/// `PAYRUN_BOOK` would otherwise answer "no runs", "no payouts" or "intact" about a book that
/// was never written.
pub fn open_existing_book(ctx: &Context) -> anyhow::Result<Arc<crate::book::Book>> {
    let path = ctx.config.book.clone().map_err(Exit::usage)?;
    if !path.exists() {
        return Err(Exit::usage(format!(
            "no book at {}: no run was ever recorded there (`payrun run` creates it; the book \
             is --book, PAYRUN_BOOK or `book =` in payrun.toml, else the default location)",
            path.display()
        ))
        .into());
    }
    open_book(ctx)
}

/// The run a read-only command means: `--run-id`, else the sheet's latest run (by path, then
/// by content), else the latest run of the account. The account comes from the configuration
/// when its credentials are there; otherwise every account is searched and a name two
/// accounts share must be told apart with the configuration.
pub fn select_run(
    ctx: &Context,
    book: &crate::book::Book,
    sheet: Option<&Path>,
) -> anyhow::Result<crate::book::Run> {
    let key = connect::account_key(&ctx.config, ctx.global.sandbox);
    let account = match &key {
        Some(k) => book.find_account(k)?,
        None => None,
    };
    let none = || {
        Exit::usage(format!(
            "the book {} has no such run{}",
            book.path().display(),
            key.as_ref()
                .map(|k| format!(" for {}", k.label()))
                .unwrap_or_default()
        ))
    };
    let candidates: Vec<crate::book::Run> = if let Some(id) = &ctx.global.run_id {
        match account {
            Some(a) => book.run_by_id(a, id)?.into_iter().collect(),
            None => book.runs_named(id)?,
        }
    } else if let Some(sheet) = sheet {
        let path = crate::book::runs::sheet_key(sheet);
        let sha = crate::validate::file_sha256(sheet).ok();
        let all = book.runs(account)?;
        let by_path: Vec<_> = all
            .iter()
            .filter(|r| r.sheet_path == path)
            .cloned()
            .collect();
        if !by_path.is_empty() {
            by_path.into_iter().rev().take(1).collect()
        } else {
            all.into_iter()
                .filter(|r| Some(&r.sheet_sha256) == sha.as_ref())
                .rev()
                .take(1)
                .collect()
        }
    } else {
        book.runs(account)?.into_iter().rev().take(1).collect()
    };
    match candidates.len() {
        0 => Err(none().into()),
        1 => Ok(candidates.into_iter().next().expect("one")),
        _ => Err(Exit::usage(
            "runs of several accounts have that id: set the gateway account (PAYRUN_PROJECT, or the BlockATM contract and key) to choose",
        )
        .into()),
    }
}

/// The gateway kind of a run's account.
pub fn gateway_of(
    book: &crate::book::Book,
    run: &crate::book::Run,
) -> anyhow::Result<crate::model::GatewayKind> {
    Ok(book.account_gateway(run.account)?)
}

/// Logs go to stderr; `-v` info, `-vv` debug, `-vvv` trace; `RUST_LOG` overrides. Colour as
/// `--color` and `NO_COLOR` say.
fn init_logging(verbose: u8, color: crate::cli::ColorChoice) {
    use std::io::IsTerminal;
    let ansi = color.enabled(
        std::io::stderr().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    );
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("payrun={level},warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// The date part (`YYYY-MM-DD`) of an RFC 3339 time.
pub(crate) fn date_of(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}
