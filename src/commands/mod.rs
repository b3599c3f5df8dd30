//! One file per subcommand. `dispatch` resolves the configuration and hands each command a
//! `Context`; every command returns the `ExitCode` it ended with, or an error for the edge to
//! print and map (an `exit::Exit` inside carries its own code; anything else is a usage error).

pub mod connect;
pub mod init;
pub mod quote;
pub mod report;
pub mod results;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod template;
pub mod validate;
pub mod webhook;

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
    init_logging(cli.global.verbose);
    // Commands that need no configuration run before it is read, so a broken payrun.toml
    // cannot stop `init --force` from replacing it.
    match &cli.command {
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(args.shell, &mut cmd, "payrun", &mut std::io::stdout());
            return Ok(ExitCode::Success);
        }
        Command::Template(args) => return template::execute(args),
        Command::Init(args) => return init::execute(args),
        Command::Sandbox(args) => return sandbox::execute(args),
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
        Command::Run(args) => run::execute(&ctx, &args),
        Command::Status(args) => status::execute(&ctx, &args),
        Command::Report(args) => report::execute(&ctx, &args),
        Command::Webhook(cmd) => webhook::execute(&ctx, &cmd),
        Command::Completions(_) | Command::Template(_) | Command::Init(_) | Command::Sandbox(_) => {
            unreachable!("handled before the configuration is read")
        }
    }
}

/// Logs go to stderr; `-v` info, `-vv` debug, `-vvv` trace; `RUST_LOG` overrides.
fn init_logging(verbose: u8) {
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
        .with_target(false)
        .try_init();
}

/// The exit code an error ends the process with.
pub fn exit_code_of(err: &anyhow::Error) -> ExitCode {
    err.chain()
        .find_map(|e| e.downcast_ref::<Exit>())
        .map(|e| e.code)
        .unwrap_or(ExitCode::Usage)
}
