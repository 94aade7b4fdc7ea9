//! Unit tests of `find`: the probe runs in a real `sh` on a temp tree.

use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};

use super::*;
use crate::modules::find_listing::normpath;
use crate::modules::path_facts::tests::TempDir;
use crate::modules::tests::NoFiles;

fn run(dir: &TempDir, params: Value) -> Plan {
    let module = build(params, &NoFiles).unwrap();
    let (rc, stdout) = dir.sh(&module.probe().unwrap());
    assert_eq!(rc, 0, "{stdout}");
    let plan = module.plan(&Probe::ok(&stdout)).unwrap();
    assert!(!plan.changed && plan.steps.is_empty());
    plan
}

/// The matched paths, relative to `dir`, in the order found.
fn paths(dir: &TempDir, plan: &Plan) -> Vec<String> {
    let prefix = format!("{}/", dir.path.display());
    plan.data["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| {
            let path = file["path"].as_str().unwrap();
            path.strip_prefix(&prefix).unwrap_or(path).to_string()
        })
        .collect()
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

fn tree() -> TempDir {
    let dir = TempDir::new("find");
    for sub in ["logs/old", "logs/.cache", "conf"] {
        std::fs::create_dir_all(dir.path.join(sub)).unwrap();
    }
    dir.file("logs/app.log", "started\nERROR disk\n");
    dir.file("logs/app.txt", "fine\n");
    dir.file("logs/.hidden.log", "x\n");
    dir.file("logs/old/a.log", &"y".repeat(2048));
    dir.file("logs/.cache/c.log", "cached\n");
    dir.file("conf/app.conf", "key=1\n");
    std::os::unix::fs::symlink("app.log", dir.path.join("logs/current.log")).unwrap();
    dir
}

#[test]
fn patterns_hidden_and_recurse() {
    let dir = tree();
    let logs = dir.join("logs");
    let plan = run(&dir, json!({"paths": logs, "patterns": "*.log"}));
    assert_eq!(paths(&dir, &plan), ["logs/app.log"]);
    assert_eq!(plan.data["matched"], json!(1));
    // Examined: every entry of the directory, hidden ones too.
    assert_eq!(plan.data["examined"], json!(6));
    assert_eq!(plan.msg.as_deref(), Some("All paths examined"));
    let plan = run(
        &dir,
        json!({"paths": [logs], "patterns": ["*.log"], "recurse": true}),
    );
    // Hidden directories are walked; only hidden names are skipped.
    assert_eq!(
        sorted(paths(&dir, &plan)),
        ["logs/.cache/c.log", "logs/app.log", "logs/old/a.log"]
    );
    let plan = run(
        &dir,
        json!({"paths": logs, "patterns": "*.log", "recurse": true, "hidden": true}),
    );
    assert_eq!(plan.data["matched"], json!(4));
    let plan = run(
        &dir,
        json!({"paths": logs, "patterns": ["*.log", "*.txt"], "excludes": "app.*"}),
    );
    assert!(paths(&dir, &plan).is_empty(), "{plan:?}");
}

#[test]
fn walk_order_is_os_walks() {
    let dir = tree();
    let plan = run(
        &dir,
        json!({"paths": dir.path.to_str().unwrap(), "file_type": "any", "recurse": true}),
    );
    let found = paths(&dir, &plan);
    // The top's entries come first (files, then directories), then each
    // directory's walk.
    let top: Vec<&str> = found.iter().take(2).map(String::as_str).collect();
    assert_eq!(
        sorted(top.iter().map(|s| s.to_string()).collect()),
        ["conf", "logs"]
    );
    let conf = found.iter().position(|p| p == "conf/app.conf").unwrap();
    let logs_file = found.iter().position(|p| p == "logs/app.log").unwrap();
    let old_file = found.iter().position(|p| p == "logs/old/a.log").unwrap();
    assert!(conf > 1 && logs_file > 1 && old_file > logs_file);
}

#[test]
fn types_sizes_depth_and_regex() {
    let dir = tree();
    let root = dir.path.to_str().unwrap();
    let plan = run(
        &dir,
        json!({"paths": root, "recurse": true, "file_type": "directory"}),
    );
    assert_eq!(sorted(paths(&dir, &plan)), ["conf", "logs", "logs/old"]);
    let plan = run(
        &dir,
        json!({"paths": root, "recurse": true, "file_type": "link"}),
    );
    assert_eq!(paths(&dir, &plan), ["logs/current.log"]);
    assert_eq!(plan.data["files"][0]["islnk"], json!(true));
    let plan = run(&dir, json!({"paths": root, "recurse": true, "size": "1k"}));
    assert_eq!(paths(&dir, &plan), ["logs/old/a.log"]);
    let plan = run(&dir, json!({"paths": root, "recurse": true, "size": "-10"}));
    assert_eq!(
        sorted(paths(&dir, &plan)),
        ["conf/app.conf", "logs/.cache/c.log", "logs/app.txt"]
    );
    let plan = run(
        &dir,
        json!({"paths": root, "recurse": true, "depth": 2, "patterns": "*.log"}),
    );
    assert_eq!(paths(&dir, &plan), ["logs/app.log"]);
    let plan = run(
        &dir,
        json!({"paths": root, "recurse": true, "use_regex": true, "patterns": ["app\\.(log|txt)$"]}),
    );
    assert_eq!(sorted(paths(&dir, &plan)), ["logs/app.log", "logs/app.txt"]);
}

#[test]
fn contains_age_checksum_and_follow() {
    let dir = tree();
    let root = dir.path.to_str().unwrap();
    let plan = run(
        &dir,
        json!({"paths": root, "recurse": true, "contains": "ERROR"}),
    );
    assert_eq!(paths(&dir, &plan), ["logs/app.log"]);
    // Line by line, `contains` matches at the start of a line.
    let plan = run(
        &dir,
        json!({"paths": root, "recurse": true, "contains": "disk"}),
    );
    assert!(paths(&dir, &plan).is_empty());
    let plan = run(
        &dir,
        json!({"paths": root, "recurse": true, "contains": "started.ERROR", "read_whole_file": true}),
    );
    assert!(
        paths(&dir, &plan).is_empty(),
        "dot does not match a newline"
    );
    let plan = run(
        &dir,
        json!({"paths": root, "recurse": true, "contains": "started\\nERROR", "read_whole_file": true}),
    );
    assert_eq!(paths(&dir, &plan), ["logs/app.log"]);
    let plan = run(&dir, json!({"paths": root, "recurse": true, "age": "1d"}));
    assert!(paths(&dir, &plan).is_empty());
    let plan = run(&dir, json!({"paths": root, "recurse": true, "age": "-1h"}));
    assert_eq!(plan.data["matched"], json!(5));
    let plan = run(
        &dir,
        json!({"paths": dir.join("conf"), "get_checksum": true}),
    );
    assert_eq!(
        plan.data["files"][0]["checksum"],
        json!("373b273d74700f570c862a58571711df51d28d98")
    );
    let plan = run(
        &dir,
        json!({"paths": dir.join("conf"), "get_checksum": true, "checksum_algorithm": "sha256"}),
    );
    assert_eq!(
        plan.data["files"][0]["checksum"].as_str().unwrap().len(),
        64
    );
    std::os::unix::fs::symlink(dir.join("conf"), dir.path.join("logs/conf-link")).unwrap();
    let plan = run(
        &dir,
        json!({"paths": dir.join("logs"), "recurse": true, "patterns": "*.conf"}),
    );
    assert!(paths(&dir, &plan).is_empty());
    let plan = run(
        &dir,
        json!({"paths": dir.join("logs"), "recurse": true, "patterns": "*.conf", "follow": true}),
    );
    assert_eq!(paths(&dir, &plan), ["logs/conf-link/app.conf"]);
}

#[test]
fn result_dicts_have_ansibles_keys() {
    let dir = tree();
    std::fs::set_permissions(
        dir.path.join("conf/app.conf"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let plan = run(&dir, json!({"paths": dir.join("conf")}));
    let file = &plan.data["files"][0];
    assert_eq!(file["mode"], json!("0640"));
    assert_eq!(file["isreg"], json!(true));
    assert_eq!(file["isdir"], json!(false));
    assert_eq!(file["size"], json!(6));
    assert_eq!(
        (file["rgrp"].clone(), file["wgrp"].clone()),
        (json!(true), json!(false))
    );
    for key in [
        "uid", "gid", "inode", "dev", "nlink", "atime", "mtime", "ctime", "pw_name", "gr_name",
    ] {
        assert!(file.get(key).is_some(), "{key}");
    }
}

#[test]
fn a_missing_path_is_skipped_with_a_warning() {
    let dir = tree();
    let plan = run(&dir, json!({"paths": [dir.join("nope"), dir.join("conf")]}));
    assert_eq!(plan.data["matched"], json!(1));
    assert_eq!(
        plan.msg.as_deref(),
        Some("Not all paths examined, check warnings for details")
    );
    let skipped = plan.data["skipped_paths"].as_object().unwrap();
    assert!(
        skipped[&dir.join("nope")]
            .as_str()
            .unwrap()
            .ends_with("is not a directory")
    );
}

#[test]
fn fnmatch_is_pythons() {
    let matches = |pattern: &str, name: &str| {
        regex::Regex::new(&fnmatch_regex(pattern))
            .unwrap()
            .is_match(name)
    };
    assert!(matches("*.log", "a.log"));
    assert!(!matches("*.log", "a.log.1"));
    assert!(matches("a?[!x].[ch]", "ab1.c"));
    assert!(!matches("a?[!x].[ch]", "abx.c"));
    assert!(matches("[]]", "]"));
    assert!(matches("a[", "a["));
    assert!(matches("a.b", "a.b") && !matches("a.b", "axb"));
    assert_eq!(normpath("./x//y/../z/"), "x/z");
    assert_eq!(normpath("/a/./b"), "/a/b");
}

#[test]
fn params_are_checked() {
    let err = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
    assert!(err(json!({})).contains("paths"));
    assert!(err(json!({"paths": "/x", "age": "3 days"})).contains("age"));
    assert!(err(json!({"paths": "/x", "size": "1q"})).contains("size"));
    assert!(err(json!({"paths": "/x", "file_type": "socket"})).contains("socket"));
    assert!(err(json!({"paths": "/x", "limit": 3})).contains("limit"));
    assert!(build(json!({"path": "/x", "age": 3600, "size": 10}), &NoFiles).is_ok());
}
