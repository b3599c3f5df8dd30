//! The `payrun` binary: parse arguments, run, map errors to the documented exit codes.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = payrun::cli::Cli::parse();
    match payrun::commands::dispatch(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("payrun: {err:#}");
            payrun::commands::exit_code_of(&err).into()
        }
    }
}
