//! The `payrun` binary: parse arguments, run, map errors to the documented exit codes. A closed
//! stdout (`payrun validate big.csv | head -1`) is a normal end, not an error.

fn main() -> std::process::ExitCode {
    let cli = payrun::cli::parse();
    match payrun::commands::dispatch(cli) {
        Ok(code) => code.into(),
        Err(err) if payrun::output::is_broken_pipe(&err) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("payrun: {err:#}");
            payrun::exit::code_of(&err).into()
        }
    }
}
