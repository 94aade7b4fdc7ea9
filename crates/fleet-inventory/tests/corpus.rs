//! The corpus of malformed inventories under `tests/inventories/bad/`.
//!
//! Each `NN-description.yaml` (or `.ini`, an INI inventory) there has a sibling `NN-description.expect`
//! holding the exact first line of the error (paths relative to the repo
//! root). Every error must also carry a `hint:` line. The good examples
//! under `inventories/` must load.

use std::fs;
use std::path::{Path, PathBuf};

use fleet_inventory::Inventory;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `.yaml` and `.ini` files of `dir` (relative to the repo root), sorted.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(repo_root().join(dir))
        .unwrap_or_else(|err| panic!("cannot list {dir}: {err}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "ini")
        })
        .map(|path| Path::new(dir).join(path.file_name().expect("file name")))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bad_inventory_fails_with_the_expected_message() {
    let files = yaml_files("tests/inventories/bad");
    assert!(
        files.len() >= 12,
        "the corpus should hold at least 12 cases, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for relative in &files {
        let source = fs::read_to_string(repo_root().join(relative)).expect("read corpus file");
        let expected = fs::read_to_string(repo_root().join(relative.with_extension("expect")))
            .unwrap_or_else(|_| "(missing .expect file)".to_owned());
        let expected = expected.trim_end_matches('\n');

        // The origin is the path relative to the repo root, as the CLI would
        // show it when run from there.
        let rendered = match Inventory::parse(&source, relative) {
            Ok(_) => {
                failures.push(format!("{}: parsed without error", relative.display()));
                continue;
            }
            Err(err) => err.to_string(),
        };
        let first = rendered.lines().next().unwrap_or_default();
        if first != expected {
            failures.push(format!(
                "{}:\n  expected: {expected}\n  actual:   {first}",
                relative.display()
            ));
        }
        if !rendered
            .lines()
            .skip(1)
            .any(|line| line.starts_with("  hint: "))
        {
            failures.push(format!(
                "{}: no hint line in:\n{rendered}",
                relative.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expect_file_has_its_inventory() {
    let dir = repo_root().join("tests/inventories/bad");
    for entry in fs::read_dir(&dir).expect("list corpus") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|ext| ext == "expect") {
            assert!(
                ["yaml", "ini", "cfg"]
                    .iter()
                    .any(|ext| path.with_extension(ext).exists()),
                "{} has no .yaml, .ini or .cfg (an ansible.cfg case, run by fleet-tests)",
                path.display()
            );
        }
    }
}

#[test]
fn example_inventories_load() {
    // `lab.yaml` is written by the lab at run time; only the examples are checked.
    let examples = yaml_files("inventories")
        .into_iter()
        .filter(|path| !path.ends_with("lab.yaml"));
    for relative in examples {
        if let Err(err) = Inventory::load(&repo_root().join(&relative)) {
            panic!("{} does not load:\n{err}", relative.display());
        }
    }
}
