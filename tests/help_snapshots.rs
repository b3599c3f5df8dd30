//! Every command's help, as a person reads it, compared with the snapshot kept in
//! `tests/snapshots/help/`: a flag added, removed, regrouped or reworded shows up in review.
//! `PAYRUN_UPDATE_SNAPSHOTS=1 cargo test --test help_snapshots` rewrites the snapshots.

mod common;

use common::*;

#[test]
fn every_commands_help_matches_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/help");
    let update = std::env::var_os("PAYRUN_UPDATE_SNAPSHOTS").is_some();
    let mut differ = Vec::new();
    for c in HELP_COMMANDS {
        let mut args = c.to_vec();
        args.push("--help");
        let o = payrun(dir.path(), &Default::default(), &args)
            .output()
            .expect("payrun runs");
        let name = if c.is_empty() {
            "payrun".to_string()
        } else {
            c.join("-")
        };
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
        let help = String::from_utf8(o.stdout).expect("help is UTF-8");
        let path = snapshots.join(format!("{name}.txt"));
        if update {
            std::fs::create_dir_all(&snapshots).unwrap();
            std::fs::write(&path, &help).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == help => {}
            Ok(_) => differ.push(format!("{name}: differs from {}", path.display())),
            Err(_) => differ.push(format!("{name}: no snapshot at {}", path.display())),
        }
    }
    assert!(
        differ.is_empty(),
        "{}\n(rewrite with PAYRUN_UPDATE_SNAPSHOTS=1 after reviewing the change)",
        differ.join("\n")
    );
}
