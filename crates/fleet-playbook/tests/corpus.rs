//! The corpus of playbooks under `tests/playbooks/`.
//!
//! Each `bad/NN-description.yaml` has a sibling `NN-description.expect`
//! holding the exact first line of the error, with paths relative to the
//! repo root. Every error must also carry a `hint:` line. Every playbook
//! under `good/` must load.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;

use fleet_playbook::{LoadOptions, load};

/// Runs the test from the repo root, so that paths in messages read as
/// they do for an operator there. Every test of this file does the same.
fn at_repo_root() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::env::set_current_dir(root).expect("cd to the repo root");
    });
}

/// The `.yaml` files directly in `dir` (relative to the repo root), sorted.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot list {dir}: {err}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bad_playbook_fails_with_the_expected_message() {
    at_repo_root();
    let files = yaml_files("tests/playbooks/bad");
    assert!(
        files.len() >= 16,
        "the corpus should hold at least 16 cases, found {}",
        files.len()
    );
    let options = LoadOptions {
        known_vars: ["inventory_var".to_owned()].into(),
        // The inventory of `fleet-tests`' invalid_input.rs.
        inventory_hosts: Some(["web1".to_owned()].into()),
        ..LoadOptions::default()
    };
    let mut failures = Vec::new();
    for path in &files {
        let expected = fs::read_to_string(path.with_extension("expect"))
            .unwrap_or_else(|_| "(missing .expect file)".to_owned());
        let expected = expected.trim_end_matches('\n');
        let rendered = match load(path, &options) {
            Ok(_) => {
                failures.push(format!("{}: loaded without error", path.display()));
                continue;
            }
            Err(err) => err.to_string(),
        };
        let first = rendered.lines().next().unwrap_or_default();
        if first != expected {
            failures.push(format!(
                "{}:\n  expected: {expected}\n  actual:   {first}",
                path.display()
            ));
        }
        if !rendered
            .lines()
            .skip(1)
            .any(|line| line.starts_with("  hint: "))
        {
            failures.push(format!("{}: no hint line in:\n{rendered}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expect_file_has_its_playbook() {
    at_repo_root();
    for entry in fs::read_dir("tests/playbooks/bad").expect("list corpus") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|ext| ext == "expect") {
            assert!(
                path.with_extension("yaml").exists(),
                "{} has no .yaml",
                path.display()
            );
        }
    }
}

#[test]
fn every_good_playbook_loads() {
    at_repo_root();
    let files = yaml_files("tests/playbooks/good");
    assert!(files.len() >= 3);
    for path in files {
        if let Err(err) = load(&path, &LoadOptions::default()) {
            panic!("{} does not load:\n{err}", path.display());
        }
    }
}
