//! The `payrun` binary: parse arguments, run, map errors to the documented exit codes. A closed
//! stdout (`payrun validate big.csv | head -1`) is a normal end, not an error.

fn main() -> std::process::ExitCode {
    let cli = payrun::cli::parse();
    let json = cli.global.json;
    let (code, error) = match payrun::commands::dispatch(cli) {
        Ok(code) => (code, None),
        Err(err) if payrun::output::is_broken_pipe(&err) => return std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("payrun: {err:#}");
            (payrun::exit::code_of(&err), Some(format!("{err:#}")))
        }
    };
    if json {
        payrun::output::json_outcome(code.code(), error.as_deref());
    }
    code.into()
}
