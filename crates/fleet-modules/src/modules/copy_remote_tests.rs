//! Unit tests of `copy` with `remote_src`: the probe and the steps run in a
//! real `sh` on temp trees.

use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use crate::modules::path_facts::tests::TempDir;
use crate::modules::tests::NoFiles;
use crate::{Module, Plan, Probe, Step};

fn module(params: serde_json::Value) -> Box<dyn Module> {
    crate::modules::copy::build(params, &NoFiles).unwrap()
}

/// Probes in `dir`, plans, and runs the steps: the plan.
fn apply(dir: &TempDir, params: &serde_json::Value) -> Plan {
    let module = module(params.clone());
    let (rc, stdout) = dir.sh(&module.probe().unwrap());
    assert_eq!(rc, 0, "{stdout}");
    let plan = module.plan(&Probe::ok(&stdout)).unwrap();
    for step in &plan.steps {
        let Step::Run { script, .. } = step else {
            panic!("not a script: {step:?}");
        };
        let (rc, out) = dir.sh(script);
        assert_eq!(rc, 0, "{script}\n{out}");
    }
    plan
}

/// Applies twice: the first run changes, the second does not.
fn converge(dir: &TempDir, params: serde_json::Value) -> Plan {
    let first = apply(dir, &params);
    assert!(first.changed, "{first:?}");
    let second = apply(dir, &params);
    assert!(!second.changed, "second run: {second:?}");
    first
}

fn read(dir: &TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path.join(name)).unwrap()
}

fn mkdir(dir: &TempDir, name: &str) {
    std::fs::create_dir_all(dir.path.join(name)).unwrap();
}

#[test]
fn a_host_file_is_copied_then_left_alone() {
    let dir = TempDir::new("remote-copy");
    let src = dir.file("a.conf", "one\n");
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
    let plan = converge(
        &dir,
        json!({"src": src, "dest": dir.join("b.conf"), "remote_src": true}),
    );
    assert_eq!(read(&dir, "b.conf"), "one\n");
    assert_eq!(dir.mode("b.conf"), 0o640, "the source's mode");
    assert_eq!(
        plan.data["checksum"],
        json!("c7059bb19433cc3cabaa6236c83d56668a843dd2")
    );
    // A different file is replaced, and `mode` applies after the copy.
    std::fs::write(dir.path.join("b.conf"), "old\n").unwrap();
    converge(
        &dir,
        json!({"src": src, "dest": dir.join("b.conf"), "remote_src": "yes", "mode": "0600"}),
    );
    assert_eq!(read(&dir, "b.conf"), "one\n");
    assert_eq!(dir.mode("b.conf"), 0o600);
    // Into a directory: dest/<basename>.
    mkdir(&dir, "etc");
    let plan = converge(
        &dir,
        json!({"src": src, "dest": dir.join("etc"), "remote_src": true}),
    );
    assert_eq!(read(&dir, "etc/a.conf"), "one\n");
    assert_eq!(plan.data["dest"], json!(dir.join("etc/a.conf")));
}

#[test]
fn dest_ending_in_a_slash_is_made_with_directory_mode() {
    let dir = TempDir::new("remote-copy-dirmode");
    let src = dir.file("a.conf", "one\n");
    converge(
        &dir,
        json!({"src": src, "dest": dir.join("x/y/"), "remote_src": true,
               "directory_mode": "0750"}),
    );
    assert_eq!(read(&dir, "x/y/a.conf"), "one\n");
    assert_eq!(dir.mode("x"), 0o750);
    assert_eq!(dir.mode("x/y"), 0o750);
}

#[test]
fn missing_sources_and_parents_fail() {
    let dir = TempDir::new("remote-copy-missing");
    let missing =
        module(json!({"src": dir.join("nope"), "dest": dir.join("b"), "remote_src": true}));
    let (_, stdout) = dir.sh(&missing.probe().unwrap());
    let err = missing.plan(&Probe::ok(&stdout)).unwrap_err().to_string();
    assert!(
        err.starts_with("Source ") && err.ends_with(" not found"),
        "{err}"
    );
    let src = dir.file("a", "x");
    let module = module(json!({"src": src, "dest": dir.join("no/b"), "remote_src": true}));
    let (_, stdout) = dir.sh(&module.probe().unwrap());
    let err = module.plan(&Probe::ok(&stdout)).unwrap_err().to_string();
    assert!(err.starts_with("Destination directory "), "{err}");
}

fn tree(dir: &TempDir) {
    mkdir(dir, "src/sub/deep");
    dir.file("src/top.txt", "top\n");
    dir.file("src/sub/a.txt", "a\n");
    dir.file("src/sub/deep/b.txt", "b\n");
    std::os::unix::fs::symlink("top.txt", dir.path.join("src/link")).unwrap();
}

#[test]
fn a_directory_without_a_slash_lands_inside_dest() {
    let dir = TempDir::new("remote-copy-tree");
    tree(&dir);
    mkdir(&dir, "dest");
    converge(
        &dir,
        json!({"src": dir.join("src"), "dest": dir.join("dest"), "remote_src": true}),
    );
    assert_eq!(read(&dir, "dest/src/sub/deep/b.txt"), "b\n");
    assert_eq!(
        std::fs::read_link(dir.path.join("dest/src/link")).unwrap(),
        std::path::PathBuf::from("top.txt")
    );
    // A changed file in src is copied again; files only in dest stay.
    std::fs::write(dir.path.join("src/sub/a.txt"), "a2\n").unwrap();
    dir.file("dest/src/extra", "mine\n");
    let plan = converge(
        &dir,
        json!({"src": dir.join("src"), "dest": dir.join("dest"), "remote_src": true}),
    );
    assert_eq!(read(&dir, "dest/src/sub/a.txt"), "a2\n");
    assert_eq!(read(&dir, "dest/src/extra"), "mine\n");
    assert_eq!(plan.diff.as_deref(), Some("copied: sub/a.txt\n"));
}

#[test]
fn a_directory_with_a_slash_is_merged_into_dest() {
    let dir = TempDir::new("remote-copy-contents");
    tree(&dir);
    converge(
        &dir,
        json!({"src": dir.join("src/"), "dest": dir.join("new"), "remote_src": true}),
    );
    assert_eq!(read(&dir, "new/top.txt"), "top\n");
    assert_eq!(read(&dir, "new/sub/a.txt"), "a\n");
    // Into an existing directory, `.git` is skipped by the merge, as
    // `filecmp.dircmp` does.
    mkdir(&dir, "src/.git");
    dir.file("src/.git/HEAD", "ref\n");
    dir.file("src/more", "more\n");
    converge(
        &dir,
        json!({"src": dir.join("src/"), "dest": dir.join("new"), "remote_src": true}),
    );
    assert_eq!(read(&dir, "new/more"), "more\n");
    assert!(!dir.has("new/.git"));
}

#[test]
fn a_directory_into_a_missing_dest_makes_dest_then_the_tree() {
    let dir = TempDir::new("remote-copy-newdest");
    tree(&dir);
    converge(
        &dir,
        json!({"src": dir.join("src"), "dest": dir.join("fresh"), "remote_src": true}),
    );
    // Ansible's case: `dest/<basename>`, copied whole (links kept).
    assert_eq!(read(&dir, "fresh/src/top.txt"), "top\n");
    assert!(dir.has("fresh/src/link"));
    // Merged into an existing empty directory, a symlink only in `src` is
    // left out yet reported as a change on every run.
    mkdir(&dir, "empty");
    let params = json!({"src": dir.join("src/"), "dest": dir.join("empty"), "remote_src": true});
    assert!(apply(&dir, &params).changed);
    assert_eq!(read(&dir, "empty/sub/deep/b.txt"), "b\n");
    assert!(!dir.has("empty/link"));
    let again = apply(&dir, &params);
    assert!(again.changed && again.steps.is_empty(), "{again:?}");
    assert_eq!(
        again.diff.as_deref(),
        Some("symlink not copied (as Ansible): link\n")
    );
    std::fs::remove_file(dir.path.join("src/link")).unwrap();
    let params = json!({"src": dir.join("src"), "dest": dir.join("other"), "remote_src": true,
                        "mode": "0700"});
    assert!(apply(&dir, &params).changed);
    assert_eq!(dir.mode("other"), 0o700);
    assert!(apply(&dir, &params).changed);
    assert_eq!(dir.mode("other/src"), 0o700);
    assert!(!apply(&dir, &params).changed);
}

#[test]
fn hostile_names_stay_data() {
    let dir = TempDir::new("remote-copy-hostile");
    mkdir(&dir, "src");
    for name in ["-rf", "a b", "$(touch pwned)", "x'y"] {
        dir.file(&format!("src/{name}"), name);
    }
    converge(
        &dir,
        json!({"src": dir.join("src/"), "dest": dir.join("out/"), "remote_src": true}),
    );
    for name in ["-rf", "a b", "$(touch pwned)", "x'y"] {
        assert_eq!(read(&dir, &format!("out/{name}")), name);
    }
    assert!(!dir.has("pwned") && !dir.has("out/pwned"));
}

#[test]
fn params_are_checked() {
    let err = |params| {
        crate::modules::copy::build(params, &NoFiles)
            .unwrap_err()
            .to_string()
    };
    assert!(err(json!({"dest": "/f", "remote_src": true})).contains("src"));
    assert!(
        err(json!({"src": "/a", "dest": "/f", "remote_src": true, "validate": "x %s"}))
            .contains("validate")
    );
    assert!(err(json!({"src": "/a", "dest": "/f", "directory_mode": 755})).contains("quoted"));
}

#[test]
fn controller_files_into_a_new_dest_get_directory_mode() {
    let dir = TempDir::new("copy-dirmode");
    let module = module(json!({"src": "files/motd", "dest": dir.join("a/b/"),
                               "directory_mode": "0710"}));
    let (_, stdout) = dir.sh(&module.probe().unwrap());
    let plan = module.plan(&Probe::ok(&stdout)).unwrap();
    let Step::Run { script, .. } = &plan.steps[0] else {
        panic!("{plan:?}");
    };
    assert_eq!(dir.sh(script).0, 0, "{script}");
    assert_eq!(dir.mode("a"), 0o710);
    assert_eq!(dir.mode("a/b"), 0o710);
    assert!(matches!(&plan.steps[1], Step::Upload { dest, .. } if dest.ends_with("a/b/motd")));
}
