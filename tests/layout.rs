//! The layout rules of docs/design.md ("Pipeline"), checked on the source: no import cycle
//! between the files of `src/commands/`, and no `cli`, `exit` or `commands` import below
//! `commands/` (the library's stages never see a raw flag or an exit code).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The names of `src/commands/` files a source text refers to as `commands::NAME`, including
/// inside `commands::{a, b::c}` groups.
fn commands_used(text: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (i, _) in text.match_indices("commands::") {
        let rest = &text[i + "commands::".len()..];
        let group = if let Some(inner) = rest.strip_prefix('{') {
            &inner[..inner.find('}').unwrap_or(inner.len())]
        } else {
            rest
        };
        for part in group.split(',') {
            let name: String = part
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if names.contains(&name) {
                used.insert(name);
            }
            if !rest.starts_with('{') {
                break;
            }
        }
    }
    used
}

#[test]
fn commands_do_not_import_each_other_in_a_cycle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let names: BTreeSet<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "mod")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let me = f.file_stem().unwrap().to_string_lossy().into_owned();
        if me == "mod" {
            continue;
        }
        let mut used = commands_used(&std::fs::read_to_string(f).unwrap(), &names);
        used.remove(&me);
        graph.insert(me, used);
    }
    assert!(
        graph.get("run").is_some_and(|u| u.contains("load")),
        "the scan must see run.rs use load.rs: {graph:?}"
    );
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) {
        match state.get(n) {
            Some(2) => return,
            Some(1) => panic!("import cycle between commands: {} → {n}", path.join(" → ")),
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            visit(m, g, state, path);
        }
        path.pop();
        state.insert(n.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        visit(n, &graph, &mut state, &mut Vec::new());
    }
}

#[test]
fn nothing_below_commands_imports_the_cli_the_exit_codes_or_a_command() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offenders = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let top = ["main.rs", "exit.rs", "lib.rs"];
        if rel.starts_with("commands/") || rel.starts_with("cli/") || top.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for banned in ["crate::cli", "crate::exit", "crate::commands"] {
            if text.contains(banned) {
                offenders.push(format!("{rel} uses {banned}"));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
