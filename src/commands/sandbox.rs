//! `payrun sandbox`: runs the embedded sandbox gateway standalone until Ctrl-C, printing the
//! base URLs and the credentials (or, when they came from the environment, only the variable
//! names) a client needs. It remembers its payouts in a state file beside the book
//! (`book.sqlite` → `book.sandbox.json`), so a restart meets the same gateway; `--reset`
//! forgets them first, `--memory` keeps no file at all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::book::location;
use crate::cli::{GlobalArgs, SandboxArgs};
use crate::exit::{Exit, ExitCode};
use crate::sandbox::{reset_state, FaultRule, Sandbox, SandboxConfig};

/// Builds the configuration from the environment and the flags.
pub fn config_from_args(args: &SandboxArgs) -> Result<SandboxConfig, Exit> {
    let mut config = SandboxConfig::from_env();
    if !(args.settle_secs.is_finite() && args.settle_secs >= 0.0 && args.settle_secs < 1e9) {
        return Err(Exit::usage(format!(
            "--settle-secs {} is not a number of seconds >= 0",
            args.settle_secs
        )));
    }
    config.settle_after = Duration::from_secs_f64(args.settle_secs);
    config.enforce_order_no_unique = !args.allow_duplicate_order_no;
    config.faults = args
        .fault
        .iter()
        .map(|spec| FaultRule::parse(spec))
        .collect::<Result<_, _>>()
        .map_err(|e| Exit::usage(format!("--fault: {e}")))?;
    Ok(config)
}

/// The state file: None with `--memory`, else the one beside the book named by `--book`
/// (`book_flag`), else `PAYRUN_BOOK` (`book_env`), else the default book.
pub fn state_path(
    book_flag: Option<&Path>,
    book_env: Option<&str>,
    args: &SandboxArgs,
) -> Result<Option<PathBuf>, Exit> {
    if args.memory && !args.reset {
        return Ok(None);
    }
    let book = location::resolve(book_flag, book_env, None).map_err(Exit::usage)?;
    Ok(Some(location::sandbox_state_path(&book)))
}

fn from_env(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// What to print for one credential: the value when it is a sandbox default, else where it
/// came from.
fn shown(var: &str, value: &str, secret: bool) -> String {
    match (from_env(var), secret) {
        (true, true) => format!("(from ${var})"),
        (true, false) => format!("{value} (from ${var})"),
        (false, _) => value.to_string(),
    }
}

/// The text printed at start-up.
pub fn banner(sb: &Sandbox) -> String {
    let c = sb.config();
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("payrun sandbox listening on http://{}", sb.addr()));
    line(String::new());
    line(format!("2328      base URL   {}", sb.base_url_2328()));
    line(format!(
        "          project    {}",
        shown("PAYRUN_PROJECT", &c.project, false)
    ));
    line(format!(
        "          payout key {}",
        shown("PAYRUN_API_KEY", &c.payout_key, true)
    ));
    line(format!("BlockATM  base URL   {}", sb.base_url_blockatm()));
    line(format!(
        "          API key    {}",
        shown("PAYRUN_API_KEY", &c.api_key, true)
    ));
    line(format!(
        "          secret     {}",
        shown("PAYRUN_API_SECRET", &c.secret, true)
    ));
    line(format!(
        "          contract   {}",
        shown("PAYRUN_CONTRACT_ID", &c.contract_id, false)
    ));
    line(format!(
        "          chain      {}",
        shown("PAYRUN_NETWORK", &c.blockatm_chain, false)
    ));
    line(String::new());
    line("A client needs (2328):".into());
    line("  export PAYRUN_GATEWAY=2328".into());
    line(format!("  export PAYRUN_BASE_URL={}", sb.base_url_2328()));
    let export = |var: &str, value: &str| {
        if from_env(var) {
            format!("  # {var} already set in this environment")
        } else {
            format!("  export {var}={value}")
        }
    };
    line(export("PAYRUN_PROJECT", &c.project));
    line(export("PAYRUN_API_KEY", &c.payout_key));
    line("A client needs (BlockATM):".into());
    line("  export PAYRUN_GATEWAY=blockatm".into());
    line(format!(
        "  export PAYRUN_BASE_URL={}",
        sb.base_url_blockatm()
    ));
    line(export("PAYRUN_API_KEY", &c.api_key));
    line(export("PAYRUN_API_SECRET", &c.secret));
    line(export("PAYRUN_CONTRACT_ID", &c.contract_id));
    line(export("PAYRUN_NETWORK", &c.blockatm_chain));
    line(String::new());
    line(format!(
        "settle after {:?}; BlockATM orderNo uniqueness {}; rate limits 2328 {}/s, BlockATM {}/min per endpoint",
        c.settle_after,
        if c.enforce_order_no_unique { "enforced" } else { "OFF (duplicates create second payouts)" },
        c.rate_2328_per_sec,
        c.rate_blockatm_per_min
    ));
    if !c.faults.is_empty() {
        let specs: Vec<String> = c.faults.iter().map(ToString::to_string).collect();
        line(format!("faults: {}", specs.join(", ")));
    }
    line(match &c.state_file {
        Some(path) => format!(
            "state: {} ({} payouts remembered; --reset forgets them)",
            path.display(),
            sb.payouts().len()
        ),
        None => "state: in memory only (forgotten on exit)".into(),
    });
    line(format!(
        "admin: GET http://{0}/__sandbox/payouts | /requests | /webhooks; POST /__sandbox/faults, /__sandbox/reset-faults",
        sb.addr()
    ));
    line("Ctrl-C to stop.".into());
    out
}

/// `payrun sandbox`: serves until Ctrl-C, keeping its state beside the book (`--book`).
pub fn execute(global: &GlobalArgs, args: &SandboxArgs) -> anyhow::Result<ExitCode> {
    let mut config = config_from_args(args)?;
    let addr: SocketAddr = args.listen.parse().map_err(|_| {
        Exit::usage(format!(
            "--listen {:?} is not an address like 127.0.0.1:8080",
            args.listen
        ))
    })?;
    let book_env = std::env::var("PAYRUN_BOOK").ok();
    let state = state_path(global.book.as_deref(), book_env.as_deref(), args)?;
    if let (true, Some(path)) = (args.reset, &state) {
        let removed = reset_state(path)
            .with_context(|| format!("forgetting the sandbox state in {}", path.display()))?;
        if removed {
            eprintln!(
                "forgot every payout the sandbox remembered (removed {})",
                path.display()
            );
        }
    }
    if !args.memory {
        config.state_file = state;
    }
    let sandbox =
        Sandbox::start(config, addr).with_context(|| format!("starting the sandbox on {addr}"))?;
    crate::out!("{}", banner(&sandbox));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal runtime")?;
    runtime
        .block_on(tokio::signal::ctrl_c())
        .context("waiting for Ctrl-C")?;
    eprintln!(
        "stopping the sandbox ({} payouts created)",
        sandbox.payouts().len()
    );
    sandbox.shutdown();
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::FaultKind;

    fn args(faults: &[&str], settle: f64, dup: bool) -> SandboxArgs {
        SandboxArgs {
            listen: "127.0.0.1:0".into(),
            settle_secs: settle,
            allow_duplicate_order_no: dup,
            fault: faults.iter().map(|s| s.to_string()).collect(),
            reset: false,
            memory: false,
        }
    }

    #[test]
    fn the_state_file_sits_beside_the_book_unless_memory() {
        let mut a = args(&[], 1.0, false);
        let flag = Path::new("/f/book.sqlite");
        assert_eq!(
            state_path(Some(flag), Some("/e/b.sqlite"), &a).unwrap(),
            Some(PathBuf::from("/f/book.sandbox.json"))
        );
        assert_eq!(
            state_path(None, Some("/e/b.sqlite"), &a).unwrap(),
            Some(PathBuf::from("/e/b.sandbox.json"))
        );
        a.memory = true;
        assert_eq!(state_path(Some(flag), None, &a).unwrap(), None);
        a.reset = true;
        assert_eq!(
            state_path(Some(flag), None, &a).unwrap(),
            Some(PathBuf::from("/f/book.sandbox.json")),
            "--reset --memory still names the file to forget"
        );
    }

    #[test]
    fn banner_names_the_state_file_and_its_payouts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sandbox.json");
        let config = SandboxConfig {
            state_file: Some(path.clone()),
            ..SandboxConfig::default()
        };
        let text = banner(&Sandbox::start_local(config).unwrap());
        assert!(
            text.contains(&format!("state: {} (0 payouts remembered", path.display())),
            "{text}"
        );
        let text = banner(&Sandbox::start_local(SandboxConfig::default()).unwrap());
        assert!(text.contains("state: in memory only"), "{text}");
    }

    #[test]
    fn flags_become_the_config() {
        let c = config_from_args(&args(&["drop=every:7", "latency=50ms"], 0.5, true)).unwrap();
        assert_eq!(c.settle_after, Duration::from_millis(500));
        assert!(!c.enforce_order_no_unique);
        assert_eq!(c.faults.len(), 2);
        assert_eq!(c.faults[0].kind, FaultKind::ApplyThenDrop);
        assert_eq!(c.faults[0].every, 7);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let e = config_from_args(&args(&["explode"], 1.0, false)).unwrap_err();
        assert_eq!(e.code, ExitCode::Usage);
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                config_from_args(&args(&[], bad, false)).unwrap_err().code,
                ExitCode::Usage
            );
        }
    }

    #[test]
    fn banner_names_the_base_urls_and_never_an_env_secret() {
        let config = SandboxConfig {
            secret: "secret-value-that-must-not-print".into(),
            ..SandboxConfig::default()
        };
        let sb = Sandbox::start_local(config).unwrap();
        let text = banner(&sb);
        assert!(text.contains(&sb.base_url_2328()));
        assert!(text.contains(&format!("PAYRUN_BASE_URL={}", sb.base_url_blockatm())));
        if from_env("PAYRUN_API_SECRET") {
            assert!(!text.contains("secret-value-that-must-not-print"));
        } else {
            assert!(text.contains("export PAYRUN_API_SECRET=secret-value-that-must-not-print"));
        }
    }
}
