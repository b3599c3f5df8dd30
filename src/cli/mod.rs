//! The command-line surface: clap definitions (raw flags, no I/O). `config` turns them, the
//! `payrun.toml` profile and the environment into a validated `Config`.

pub mod config;
pub mod submit;
pub mod values;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use values::{
    AmountCurrency, DecimalSeparatorArg, FeeOptionArg, GatewayArg, ModeArg, PerSecond, Seconds,
};

/// Pay out crypto from a spreadsheet through a payout gateway, exactly once per row.
#[derive(Debug, Parser)]
#[command(name = "payrun", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Payout gateway [env: PAYRUN_GATEWAY] [default: 2328]
    #[arg(long, global = true, value_enum)]
    pub gateway: Option<GatewayArg>,
    /// Configuration profile (default: payrun.toml in the current directory, if present)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The book: every run and payout payrun knows [env: PAYRUN_BOOK] (default: <data dir>/payrun/book.sqlite)
    #[arg(long, global = true, value_name = "FILE")]
    pub book: Option<PathBuf>,
    /// The run: resumed if the book has it, else started with this id (default: the run of this sheet, or <sheet stem>-<YYYYMMDD>)
    #[arg(long, global = true, value_name = "ID")]
    pub run_id: Option<String>,
    /// Start the embedded sandbox gateway in-process and run against it (no account needed)
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// Print one machine-readable JSON document on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// When to use colour: auto, always, never (NO_COLOR is honoured)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// More log output on stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `--color`: when to colour what goes to a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream: `always` and `never` decide; `auto` colours a terminal
    /// unless `NO_COLOR` is set to anything non-empty (<https://no-color.org>).
    pub fn enabled(self, terminal: bool, no_color: Option<&str>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(str::is_empty),
        }
    }
}

/// The exit codes and environment variables, at the end of every command's help.
pub const FOOTER: &str = "\
Exit codes:
  0    success
  1    invalid rows, or rows not completed (failed, in doubt, conflict, held, not sent)
  2    usage, configuration or book problem, or a decision to make (--new-run, --retry-failed, --accept-edits)
  3    the gateway refused the run (auth, ban), or a control was not met (totals, approval)
  130  interrupted

Environment:
  PAYRUN_GATEWAY, PAYRUN_BASE_URL, PAYRUN_PROJECT, PAYRUN_API_KEY (or PAYRUN_API_KEY_FILE),
  PAYRUN_API_SECRET (or PAYRUN_API_SECRET_FILE), PAYRUN_CONTRACT_ID, PAYRUN_NETWORK,
  PAYRUN_CALLBACK_URL, PAYRUN_PAYOUT_TYPE, PAYRUN_FROM_ADDRESS, PAYRUN_RATE, PAYRUN_BOOK, NO_COLOR";

/// The command line: the clap definition with the exit codes and environment at the end of
/// every command's help.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command().after_help(FOOTER).mut_subcommands(|s| {
        s.after_help(FOOTER)
            .mut_subcommands(|s| s.after_help(FOOTER))
    });
    // A subcommand that does not use a global option gets its own hidden copy of it: clap
    // propagates a global option only where no option of that name exists, so the copy keeps
    // it out of that subcommand's help while the flag is still accepted (and ignored) there.
    let globals: Vec<clap::Arg> = cmd.get_arguments().cloned().collect();
    for (path, unused) in UNUSED_GLOBALS {
        let copies: Vec<clap::Arg> = globals
            .iter()
            .filter(|a| unused.contains(&a.get_id().as_str()))
            .map(|a| a.clone().global(false).hide(true))
            .collect();
        cmd = add_in(cmd, path, copies);
    }
    cmd
}

/// The global options a subcommand does not use, by its path (`book verify` is `["book", "verify"]`).
const UNUSED_GLOBALS: &[(&[&str], &[&str])] = &[
    (&["validate"], &["book", "run_id", "sandbox"]),
    (&["runs"], &["run_id"]),
    (&["history"], &["run_id"]),
    (&["book"], &["gateway", "run_id", "sandbox"]),
    (&["book", "verify"], &["gateway", "run_id", "sandbox"]),
    (&["book", "export"], &["gateway", "run_id", "sandbox"]),
    (&["webhook", "serve"], &["run_id", "json"]),
    (&["sandbox"], &["run_id", "sandbox", "json"]),
    (
        &["template"],
        &["gateway", "book", "run_id", "sandbox", "json"],
    ),
    (
        &["init"],
        &["gateway", "config", "book", "run_id", "sandbox", "json"],
    ),
    (
        &["completions"],
        &["gateway", "config", "book", "run_id", "sandbox", "json"],
    ),
];

fn add_in(cmd: clap::Command, path: &[&str], args: Vec<clap::Arg>) -> clap::Command {
    match path {
        [] => cmd.args(args),
        [first, rest @ ..] => cmd.mut_subcommand(*first, |s| add_in(s, rest, args)),
    }
}

/// Parses the process's arguments (exits with clap's usage error, code 2, on bad ones).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    parsed.unwrap_or_else(|e| {
        // `--json` promises one document on stdout whatever the outcome, a command line that
        // does not parse included (help and version are not errors: printed as asked).
        let json = std::env::args_os()
            .skip(1)
            .take_while(|a| a != "--")
            .any(|a| a == "--json");
        if json && e.use_stderr() {
            let message = e.render().to_string();
            crate::output::json_outcome(e.exit_code() as u8, Some(message.trim()));
        }
        e.exit()
    })
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and validate every row; report every problem with line, column and reason
    Validate(ValidateArgs),
    /// Validate, plan and preview fees; sends nothing that moves money
    Quote(QuoteArgs),
    /// Record an approval of exactly this plan (sheet hash, rows, totals, account) in the book
    Approve(ApproveArgs),
    /// The whole pipeline: validate, quote, confirm, submit, write the results ledger
    Run(RunArgs),
    /// Refresh non-final orders from the gateway and rewrite the results ledger
    Status(StatusArgs),
    /// Write the results ledger as .csv, .xlsx, .json (or a summary as .md)
    Report(ReportArgs),
    /// List the runs in the book
    Runs,
    /// Every payout to one recipient or address, across runs
    History(HistoryArgs),
    /// Check or export the book
    #[command(subcommand)]
    Book(BookCommand),
    /// Receive or verify gateway webhooks
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Run the embedded sandbox gateway (both APIs) for demos and tests
    Sandbox(SandboxArgs),
    /// Write an empty payout sheet with the right headers and one example row
    Template(TemplateArgs),
    /// Write a commented payrun.toml
    Init(InitArgs),
    /// Print shell completions
    Completions(CompletionsArgs),
}

/// How the sheet is read and validated (shared by validate, quote and run).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Sheet")]
pub struct SheetArgs {
    /// The payout sheet (.csv or .xlsx)
    pub sheet: PathBuf,
    /// Currency for every row when the sheet has no currency column
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
    /// Network for every row when the sheet has no network column
    #[arg(long, value_name = "CODE")]
    pub network: Option<String>,
    /// XLSX: the worksheet to read (default: the first visible one)
    #[arg(long = "sheet", value_name = "NAME")]
    pub sheet_name: Option<String>,
    /// XLSX: read hidden rows and hidden payout columns (by default they are errors)
    #[arg(long)]
    pub include_hidden: bool,
    /// The sheet's decimal mark for text amounts: `.` (1.500 = 1.5) or `,` (1.234,50 =
    /// 1234.50). Unstated, a `;`-delimited or decimal-comma file makes dot-grouped amounts
    /// (1.500) ambiguous errors
    #[arg(long, value_enum, value_name = "SEP")]
    pub decimal_separator: Option<DecimalSeparatorArg>,
    /// Allow identical rows (same network, address, amount, memo)
    #[arg(long)]
    pub allow_duplicates: bool,
    /// Fee option for rows without one
    #[arg(long, value_enum, default_value_t = FeeOptionArg::Deduct)]
    pub fee_option: FeeOptionArg,
    /// The column saying who a row pays (default: employee_id, recipient_id, payee_id or email)
    #[arg(long, value_name = "COLUMN")]
    pub key: Option<String>,
}

/// A warning kind `run` stops on until acknowledged (`--accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AckCode {
    /// A shared deposit address with a row lacking its memo
    #[value(name = "memo_missing_shared_address")]
    MemoMissingSharedAddress,
    /// A Solana address off the ed25519 curve receiving an SPL token
    #[value(name = "recipient_off_curve")]
    RecipientOffCurve,
    /// An address sharing its ends with another in the sheet or already paid
    #[value(name = "recipient_lookalike")]
    RecipientLookalike,
    /// A recipient key paid before (or elsewhere in the sheet) to another address
    #[value(name = "recipient_address_changed")]
    RecipientAddressChanged,
    /// Another run of this sheet is unfinished: a new run pays its rows again
    #[value(name = "previous_run_unfinished")]
    PreviousRunUnfinished,
}

impl AckCode {
    /// The warning's stable code.
    pub fn code(self) -> &'static str {
        use crate::validate::problem::codes;
        match self {
            AckCode::MemoMissingSharedAddress => codes::MEMO_MISSING_SHARED_ADDRESS,
            AckCode::RecipientOffCurve => codes::RECIPIENT_OFF_CURVE,
            AckCode::RecipientLookalike => codes::RECIPIENT_LOOKALIKE,
            AckCode::RecipientAddressChanged => codes::RECIPIENT_ADDRESS_CHANGED,
            AckCode::PreviousRunUnfinished => codes::PREVIOUS_RUN_UNFINISHED,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub sheet: SheetArgs,
    /// Write every problem as CSV to FILE
    #[arg(long, value_name = "FILE")]
    pub errors_out: Option<PathBuf>,
}

/// How submission behaves (shared by quote and run where it matters).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Submission")]
pub struct SubmitArgs {
    /// Requests per second (default: the gateway's published limit)
    #[arg(long, value_name = "PER_SEC", value_parser = PerSecond::parse, allow_negative_numbers = true)]
    pub rate: Option<PerSecond>,
    /// Allow a rate above the gateway's published limit (it may answer 429 or ban with 418)
    #[arg(long)]
    pub rate_above_limit: bool,
    /// How orders are sent (default: batch on BlockATM with balance payouts, else single)
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Orders per batch (BlockATM batch mode; default 50)
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<usize>,
    /// Requests in flight at once
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
}

#[derive(Debug, Args, Clone)]
pub struct QuoteArgs {
    #[command(flatten)]
    pub sheet: SheetArgs,
    #[command(flatten)]
    pub submit: SubmitArgs,
    /// Write the cost report to FILE (.csv, .json, .md, or .xlsx with every planned row and its fee)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Skip the balance check (2328)
    #[arg(long)]
    pub no_balance: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub sheet: SheetArgs,
    /// Who approves (must differ from whoever runs it)
    #[arg(long, value_name = "NAME")]
    pub approver: String,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub sheet: SheetArgs,
    #[command(flatten)]
    pub submit: SubmitArgs,
    /// Do not ask for confirmation
    #[arg(long, help_heading = "Controls")]
    pub yes: bool,
    /// Acknowledge these warning kinds (comma-separated codes); --yes alone acknowledges none
    #[arg(
        long,
        value_name = "CODE[,CODE]",
        value_enum,
        value_delimiter = ',',
        help_heading = "Controls"
    )]
    pub accept: Vec<AckCode>,
    /// Pay the valid rows and list the invalid ones instead of refusing the run
    #[arg(long, help_heading = "Controls")]
    pub skip_invalid: bool,
    /// Refuse the run when a currency's total exceeds AMOUNT (repeatable)
    #[arg(long, value_name = "AMOUNT:CURRENCY", value_parser = values::amount_currency, help_heading = "Controls")]
    pub max_total: Vec<AmountCurrency>,
    /// Refuse the run unless exactly N rows would be paid
    #[arg(long, value_name = "N", help_heading = "Controls")]
    pub expect_count: Option<usize>,
    /// Refuse the run unless the currency's total is exactly AMOUNT (repeatable)
    #[arg(long, value_name = "AMOUNT:CURRENCY", value_parser = values::amount_currency, help_heading = "Controls")]
    pub expect_total: Vec<AmountCurrency>,
    /// Refuse the run unless `payrun approve` recorded exactly this plan, by someone else (also `require_approval = true` in the profile)
    #[arg(long, help_heading = "Controls")]
    pub require_approval: bool,
    /// Who runs it, for the approval check (default: the OS user)
    #[arg(long, value_name = "NAME", help_heading = "Controls")]
    pub runner: Option<String>,
    /// Start a new run (a new payout period) even if the book already paid this sheet
    #[arg(long, conflicts_with_all = ["retry_failed", "accept_edits"], help_heading = "Which run")]
    pub new_run: bool,
    /// Send rows whose order the gateway refused (failed) as new orders of the same run
    #[arg(long, help_heading = "Which run")]
    pub retry_failed: bool,
    /// Send rows edited since they were sent as new orders of the same run (the earlier payment stands)
    #[arg(long, help_heading = "Which run")]
    pub accept_edits: bool,
}

/// Which run a read-only command means: a sheet, or `--run-id` (global).
#[derive(Debug, Args, Clone, Default)]
pub struct RunSelect {
    /// The sheet whose run to use (default: --run-id, else the latest run of the account)
    pub sheet: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// The recipient key (employee_id, recipient_id, payee_id, email column)
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "address",
        conflicts_with = "address"
    )]
    pub recipient: Option<String>,
    /// The address
    #[arg(long, value_name = "ADDRESS")]
    pub address: Option<String>,
}

#[derive(Debug, Subcommand, Clone)]
pub enum BookCommand {
    /// Check the book's hash chain and every order against its events; exit 1 on a broken link
    Verify,
    /// Write every event of the book as JSON Lines
    Export(BookExportArgs),
}

#[derive(Debug, Args, Clone)]
pub struct BookExportArgs {
    /// Output file (.jsonl)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace the output file if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub select: RunSelect,
    /// Poll until every order is final
    #[arg(long)]
    pub wait: bool,
    /// Seconds between polls with --wait
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = Seconds::parse, allow_negative_numbers = true)]
    pub interval: Seconds,
    /// Give up after SECS: list the orders still pending, rewrite the results ledger, exit 1
    #[arg(long, value_name = "SECS", value_parser = Seconds::parse, allow_negative_numbers = true)]
    pub timeout: Option<Seconds>,
    /// Requests per second (default: the gateway's published limit)
    #[arg(long, value_name = "PER_SEC", value_parser = PerSecond::parse, allow_negative_numbers = true)]
    pub rate: Option<PerSecond>,
    /// Allow a rate above the gateway's published limit (it may answer 429 or ban with 418)
    #[arg(long)]
    pub rate_above_limit: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    #[command(flatten)]
    pub select: RunSelect,
    /// Output file: .csv, .xlsx, .json, or .md for the run summary
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write the run summary (markdown) to FILE
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Replace the output files if they exist
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand, Clone)]
pub enum WebhookCommand {
    /// Receive webhooks, verify them and record status changes in the book
    Serve(WebhookServeArgs),
    /// Verify one webhook payload read from stdin; exit 0 when genuine, 1 otherwise
    Verify(WebhookVerifyArgs),
}

#[derive(Debug, Args, Clone)]
pub struct WebhookServeArgs {
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: String,
}

#[derive(Debug, Args, Clone)]
pub struct WebhookVerifyArgs {
    /// BlockATM: the BlockATM-Signature-V2 header value
    #[arg(long, value_name = "HEX")]
    pub signature: Option<String>,
    /// BlockATM: the BlockATM-Request-Time header value
    #[arg(long, value_name = "MS")]
    pub time: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct SandboxArgs {
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Seconds before a pending payout settles
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub settle_secs: f64,
    /// Let BlockATM accept a repeated orderNo (to prove the client alone prevents double pays)
    #[arg(long)]
    pub allow_duplicate_order_no: bool,
    /// Fault to inject, repeatable (e.g. latency=50ms, error5xx=every:5, drop=every:7, late=every:9, malformed=every:11, burst429=3, lie=amount|address|currency|symbol|network|memo|contract, foreign; scope with @PATH, e.g. lie=amount@/webhook, foreign=times:1@/payout/order)
    #[arg(long, value_name = "SPEC")]
    pub fault: Vec<String>,
    /// Forget every payout the sandbox remembers (its state file beside the book) before starting
    #[arg(long)]
    pub reset: bool,
    /// Keep no state file: start empty and forget everything on exit
    #[arg(long)]
    pub memory: bool,
}

#[derive(Debug, Args, Clone)]
pub struct TemplateArgs {
    /// Output file (.csv or .xlsx)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct InitArgs {
    /// Output file
    #[arg(long, value_name = "FILE", default_value = "payrun.toml")]
    pub out: PathBuf,
    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    pub shell: clap_complete::Shell,
}

impl SheetArgs {
    /// The second stage of the sheet flags: the validation options they and the configuration
    /// give, checked as a whole (a bad flag is a usage error, exit 2).
    pub fn validate_options(
        &self,
        config: &config::Config,
    ) -> Result<crate::validate::ValidateOptions, crate::exit::Exit> {
        let opts = crate::validate::ValidateOptions {
            gateway: config.gateway,
            currency: self.currency.clone(),
            network: self.network.clone(),
            contract_network: config.network,
            sheet_name: self.sheet_name.clone(),
            include_hidden: self.include_hidden,
            decimal_separator: self.decimal_separator.map(Into::into),
            allow_duplicates: self.allow_duplicates,
            default_fee_option: crate::model::FeeOption::from(self.fee_option),
        };
        opts.check()
            .map_err(|e| crate::exit::Exit::usage(e.to_string()))?;
        Ok(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn colour_follows_the_flag_then_no_color_then_the_terminal() {
        assert!(ColorChoice::Always.enabled(false, Some("1")));
        assert!(!ColorChoice::Never.enabled(true, None));
        assert!(ColorChoice::Auto.enabled(true, None));
        assert!(ColorChoice::Auto.enabled(true, Some("")));
        assert!(!ColorChoice::Auto.enabled(true, Some("1")));
        assert!(!ColorChoice::Auto.enabled(false, None));
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }
}
