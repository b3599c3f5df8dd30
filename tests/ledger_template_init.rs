//! `payrun template` and `payrun init`: the files they write are valid (headers as DESIGN
//! "The sheet" names them, a real base58check TRON address, a profile that parses), and
//! neither ever overwrites a file silently (exit 2), through the library and the binary.

use std::fs;
use std::path::Path;
use std::process::Command;

use calamine::{open_workbook, Data, Reader, Xlsx};
use payrun::cli::config::Profile;
use payrun::cli::{InitArgs, TemplateArgs};
use payrun::commands::{init, template};
use payrun::exit::code_of as exit_code_of;
use payrun::exit::ExitCode;

const HEADERS: [&str; 10] = [
    "to_address",
    "amount",
    "currency",
    "network",
    "memo",
    "order_id",
    "fee_option",
    "remark",
    "name",
    "email",
];

/// TRON base58check: 25 bytes, version 0x41, double-SHA256 checksum (checked by bs58).
fn is_tron_address(s: &str) -> bool {
    matches!(
        bs58::decode(s).with_check(None).into_vec(),
        Ok(v) if v.len() == 21 && v[0] == 0x41
    )
}

fn check_example_row(row: &[String]) {
    assert_eq!(row.len(), 10);
    assert!(is_tron_address(&row[0]), "{}", row[0]);
    assert!(row[1].parse::<rust_decimal::Decimal>().unwrap() > rust_decimal::Decimal::ZERO);
    assert_eq!(row[2], "USDT");
    assert_eq!(row[3], "TRX-TRC20");
    assert_eq!(row[4], "", "TRON takes no memo");
    assert_eq!(row[5], "", "order ids are derived unless given");
    assert_eq!(row[6], "deduct");
}

#[test]
fn the_tron_check_rejects_a_corrupted_address() {
    assert!(is_tron_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"));
    assert!(!is_tron_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"));
}

#[test]
fn csv_template_has_the_headers_and_a_valid_example_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("payouts.csv");
    template::execute(&TemplateArgs { out: out.clone() }).unwrap();
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    assert_eq!(rdr.headers().unwrap().iter().collect::<Vec<_>>(), HEADERS);
    let rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 1);
    check_example_row(&rows[0]);
}

#[test]
fn xlsx_template_has_the_headers_and_a_valid_example_row_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("payouts.xlsx");
    template::execute(&TemplateArgs { out: out.clone() }).unwrap();
    let mut wb: Xlsx<_> = open_workbook(&out).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let cell = |r: u32, c: u32| match range.get_value((r, c)) {
        Some(Data::String(s)) => s.clone(),
        None | Some(Data::Empty) => String::new(),
        other => panic!("({r},{c}) is not text: {other:?}"),
    };
    let header: Vec<String> = (0..10).map(|c| cell(0, c)).collect();
    assert_eq!(header, HEADERS);
    check_example_row(&(0..10).map(|c| cell(1, c)).collect::<Vec<_>>());
}

#[test]
fn template_never_overwrites_and_refuses_other_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mine.csv");
    fs::write(&out, "precious").unwrap();
    let err = template::execute(&TemplateArgs { out: out.clone() }).unwrap_err();
    assert_eq!(exit_code_of(&err), ExitCode::Usage);
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "precious");

    let ods = dir.path().join("t.ods");
    let err = template::execute(&TemplateArgs { out: ods.clone() }).unwrap_err();
    assert_eq!(exit_code_of(&err), ExitCode::Usage);
    assert!(err.to_string().contains(".csv or .xlsx"), "{err}");
    assert!(!ods.exists());
}

#[test]
fn init_writes_a_parseable_profile_and_only_overwrites_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("payrun.toml");
    let args = |force| InitArgs {
        out: out.clone(),
        force,
    };
    init::execute(&args(false)).unwrap();
    let text = fs::read_to_string(&out).unwrap();
    let p: Profile = toml::from_str(&text).unwrap();
    assert!(p.gateway.is_none() && p.api_key_file.is_none());
    assert!(text.contains("api_key_file") && text.contains("PAYRUN_API_SECRET"));

    fs::write(&out, "gateway = \"blockatm\"\n").unwrap();
    let err = init::execute(&args(false)).unwrap_err();
    assert_eq!(exit_code_of(&err), ExitCode::Usage);
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        "gateway = \"blockatm\"\n"
    );

    init::execute(&args(true)).unwrap();
    assert_eq!(fs::read_to_string(&out).unwrap(), text);
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");
}

fn payrun(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_payrun"));
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PAYRUN_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

#[test]
fn the_binary_exits_2_instead_of_overwriting() {
    let dir = tempfile::tempdir().unwrap();
    let ok = payrun(dir.path(), &["init"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let again = payrun(dir.path(), &["init"]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let ok = payrun(dir.path(), &["template", "--out", "t.xlsx"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let again = payrun(dir.path(), &["template", "--out", "t.xlsx"]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    let bad = payrun(dir.path(), &["template", "--out", "t.txt"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

/// The template's example row is never paid: `validate` refuses it until it is replaced,
/// for both template formats; with the remark changed the row is valid.
#[test]
fn the_example_row_is_refused_until_replaced() {
    let dir = tempfile::tempdir().unwrap();
    for out in ["t.csv", "t.xlsx"] {
        assert_eq!(
            payrun(dir.path(), &["template", "--out", out])
                .status
                .code(),
            Some(0)
        );
        let o = payrun(dir.path(), &["validate", out, "--json"]);
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let codes: Vec<_> = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(codes, ["example_row"], "{report}");
        assert_eq!(report["errors"][0]["line"], 2);
    }
    let text = fs::read_to_string(dir.path().join("t.csv")).unwrap();
    fs::write(
        dir.path().join("real.csv"),
        text.replace("EXAMPLE - replace or delete this row", "November bonus"),
    )
    .unwrap();
    let o = payrun(dir.path(), &["validate", "real.csv", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}
