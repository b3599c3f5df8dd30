//! The command line under misuse, as a Unix tool should behave: a closed pipe is a normal end,
//! `--color never` means no escape codes even with `-vv` to a file, a secret in a broken profile
//! is never echoed, and no command writes over its input sheet, the book, or a report it was
//! not asked to replace.

mod common;

use std::process::Stdio;

use common::*;

#[test]
fn a_closed_pipe_is_a_normal_end() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 3000);
    for args in [
        vec!["validate", sheet.to_str().unwrap()],
        vec!["validate", sheet.to_str().unwrap(), "--json"],
        vec!["completions", "bash"],
    ] {
        let mut child = payrun(dir.path(), &Default::default(), &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end at once, as `| head -c 0` would.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("panicked"),
            "{}",
            text(&o)
        );
    }
}

#[test]
fn a_run_whose_stdout_is_closed_still_records_and_exits_with_its_own_code() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 3);
    let env = env_for(&sb, Gw::G2328);
    let mut child = payrun(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--rate", "100"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_paid_exactly_once(&sb, 3);
    assert!(dir.path().join("pay.results.csv").exists());
}

#[test]
fn color_never_means_no_escape_codes_in_logs_and_always_means_some() {
    let sb = start(sandbox_config());
    let env = env_for(&sb, Gw::G2328);
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 3);
    // `quote` talks to the gateway: -vv logs every answer.
    let run = |color: &str| {
        let mut c = payrun(
            dir.path(),
            &env,
            &["-vv", "--color", color, "quote", sheet.to_str().unwrap()],
        );
        c.env_remove("NO_COLOR");
        c.output().unwrap()
    };
    let never = run("never");
    assert_eq!(never.status.code(), Some(0), "{}", text(&never));
    assert!(
        String::from_utf8_lossy(&never.stderr).contains("gateway answered"),
        "{}",
        text(&never)
    );
    assert!(!never.stderr.contains(&0x1b), "{}", text(&never));
    let always = run("always");
    assert!(
        always.stderr.contains(&0x1b),
        "--color always colours the logs: {}",
        text(&always)
    );
    // NO_COLOR wins over auto.
    let mut c = payrun(dir.path(), &env, &["-vv", "quote", sheet.to_str().unwrap()]);
    c.env("NO_COLOR", "1");
    let o = c.output().unwrap();
    assert!(!o.stderr.contains(&0x1b), "{}", text(&o));
}

#[test]
fn a_secret_in_a_broken_profile_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 1);
    for profile in [
        "gateway = \"2328\"\napi_key = \"sk_live_TOPSECRET_91\"\n",
        "rate = \"sk_live_TOPSECRET_91\"\n",
        "project = sk_live_TOPSECRET_91\n",
    ] {
        std::fs::write(dir.path().join("payrun.toml"), profile).unwrap();
        let o = run_ok(
            dir.path(),
            &Default::default(),
            &["validate", sheet.to_str().unwrap()],
        );
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{out}");
        assert!(
            out.contains("payrun.toml") && out.contains("line "),
            "{out}"
        );
        assert!(!out.contains("TOPSECRET"), "{out}");
    }
}

#[test]
fn no_output_goes_over_the_sheet_the_book_or_an_existing_report() {
    let sb = start(sandbox_config());
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 2);
    let env = env_for(&sb, Gw::G2328);
    let book = book_path(dir.path(), &env);
    let o = run_ok(dir.path(), &env, &["run", sheet.to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let sheet_before = std::fs::read(&sheet).unwrap();
    let book_before = std::fs::read(&book).unwrap();
    let s = sheet.to_str().unwrap();
    let b = book.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["report", s, "--out", s],
        vec!["report", s, "--out", b],
        vec!["report", s, "--out", "x.csv", "--summary", b],
        vec!["report", "--out", s],
        vec!["validate", s, "--errors-out", s],
        vec!["quote", s, "--out", s],
        vec!["book", "export", "--out", b],
    ];
    for args in &cases {
        let o = run_ok(dir.path(), &env, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
    assert_eq!(std::fs::read(&sheet).unwrap(), sheet_before);
    assert_eq!(std::fs::read(&book).unwrap(), book_before);
    // An existing report file needs --force.
    let out = dir.path().join("r.csv");
    std::fs::write(&out, "mine").unwrap();
    let o = run_ok(
        dir.path(),
        &env,
        &["report", s, "--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
    let o = run_ok(
        dir.path(),
        &env,
        &["report", s, "--out", out.to_str().unwrap(), "--force"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("to_address"));
}

#[test]
fn every_commands_help_ends_with_exit_codes_and_environment_and_groups_its_options() {
    let dir = tempfile::tempdir().unwrap();
    let commands = &HELP_COMMANDS[1..];
    for c in commands {
        let mut args: Vec<&str> = c.to_vec();
        args.push("--help");
        let o = run_ok(dir.path(), &Default::default(), &args);
        let help = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(o.status.code(), Some(0), "{c:?}: {}", text(&o));
        assert!(
            help.contains("Exit codes:\n  0    success"),
            "{c:?}:\n{help}"
        );
        assert!(
            help.trim_end().ends_with("PAYRUN_BOOK, NO_COLOR"),
            "{c:?}:\n{help}"
        );
        assert!(help.contains("Global options:"), "{c:?}:\n{help}");
    }
    let run = String::from_utf8_lossy(
        &run_ok(dir.path(), &Default::default(), &["run", "--help"]).stdout,
    )
    .into_owned();
    for heading in ["Sheet:", "Submission:", "Controls:", "Which run:"] {
        assert!(run.contains(heading), "{heading}\n{run}");
    }
    assert!(
        run.contains("[default: deduct]"),
        "--fee-option shows its default:\n{run}"
    );
    // Typed values are refused at parse time, naming the flag.
    for bad in [
        vec!["run", "x.csv", "--mode", "fast"],
        vec!["run", "x.csv", "--fee-option", "split"],
        vec!["--gateway", "paypal", "validate", "x.csv"],
        vec!["run", "x.csv", "--max-total", "1e3:USDT"],
    ] {
        let o = run_ok(dir.path(), &Default::default(), &bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("invalid value"),
            "{bad:?}: {}",
            text(&o)
        );
    }
}

/// The global options that take part in a subcommand's job (not --color and -v, used by all).
const GLOBALS: [&str; 6] = [
    "--gateway",
    "--config",
    "--book",
    "--run-id",
    "--sandbox",
    "--json",
];

#[test]
fn a_subcommands_help_lists_only_the_global_options_it_uses_and_still_accepts_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let listed = |args: &[&str]| -> Vec<String> {
        let mut a = args.to_vec();
        a.push("--help");
        let o = run_ok(dir.path(), &Default::default(), &a);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        let help = String::from_utf8_lossy(&o.stdout).into_owned();
        GLOBALS
            .iter()
            .filter(|f| help.contains(&format!("  {f} ")) || help.contains(&format!("  {f}\n")))
            .map(|f| f.to_string())
            .collect()
    };
    assert_eq!(listed(&["run"]), GLOBALS);
    assert_eq!(listed(&["status"]), GLOBALS);
    assert_eq!(listed(&["validate"]), ["--gateway", "--config", "--json"]);
    assert_eq!(
        listed(&["book", "verify"]),
        ["--config", "--book", "--json"]
    );
    assert_eq!(listed(&["template"]), ["--config"]);
    assert!(listed(&["init"]).is_empty());
    assert!(listed(&["completions"]).is_empty());
    // Not listed, still accepted (and ignored) where given: scripts that pass them everywhere
    // keep working.
    let sheet = dir.path().join("pay.csv");
    std::fs::write(
        &sheet,
        "to_address,amount,currency,network\nTQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE,1.00,USDT,TRX-TRC20\n",
    )
    .unwrap();
    let book = dir.path().join("b.sqlite");
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &[
            "validate",
            sheet.to_str().unwrap(),
            "--book",
            book.to_str().unwrap(),
            "--run-id",
            "x",
            "--sandbox",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &[
            "book",
            "verify",
            "--book",
            book.to_str().unwrap(),
            "--gateway",
            "blockatm",
        ],
    );
    // `--gateway` was taken (no clap error); the book itself was never written (validate
    // does not create it), which verify names rather than calling an absent book intact.
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no book at"),
        "{}",
        text(&o)
    );
}

/// `--sandbox` on BlockATM names the sandbox contract's chain as a live contract's
/// configuration would: a sheet without a network column is paid on it.
#[test]
fn the_blockatm_sandbox_brings_its_contract_chain() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("p.csv");
    std::fs::write(
        &sheet,
        format!("address,amount,currency\n{},5,USDT\n", tron_address(3)),
    )
    .unwrap();
    let o = run_ok(
        dir.path(),
        &Default::default(),
        &[
            "run",
            sheet.to_str().unwrap(),
            "--gateway",
            "blockatm",
            "--sandbox",
            "--yes",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = read_csv_rows(&dir.path().join("p.results.csv"));
    assert!(
        ["pending", "completed"].contains(&rows[0]["status"].as_str()),
        "{rows:?}"
    );
    assert!(!rows[0]["gateway_id"].is_empty(), "{rows:?}");
}
