//! Unit tests of `archive`: probe and steps run in a real `sh` on temp
//! trees, with the host's `tar` and `gzip`.

use serde_json::{Value, json};

use super::*;
use crate::modules::archive_listing::{common_path, is_archive_name};
use crate::modules::path_facts::tests::TempDir;
use crate::modules::tests::NoFiles;

/// Probes, plans and runs the steps; the plan, and whether the steps
/// said the archive changed (`None` without steps).
fn run(dir: &TempDir, params: Value) -> (Plan, Option<bool>) {
    let module = build(params, &NoFiles).unwrap();
    let (rc, stdout) = dir.sh(&module.probe().unwrap());
    assert_eq!(rc, 0, "{stdout}");
    let plan = module.plan(&Probe::ok(&stdout)).unwrap();
    let mut outputs = Vec::new();
    for step in &plan.steps {
        let Step::Run { script, stdin } = step else {
            panic!("{step:?}");
        };
        let stdin = stdin.as_ref().map_or(&[][..], |stdin| stdin.bytes());
        let (rc, stdout) = dir.sh_with_stdin(script, stdin);
        assert_eq!(rc, 0, "{script}\n{stdout}");
        outputs.push(StepOutput {
            rc,
            stdout,
            stderr: String::new(),
        });
    }
    let applied = (!plan.steps.is_empty()).then(|| module.applied(&outputs).unwrap().changed);
    (plan, applied)
}

fn listing(dir: &TempDir, archive: &str) -> Vec<String> {
    let out = std::process::Command::new("tar")
        .arg("-tf")
        .arg(dir.path.join(archive))
        .output()
        .unwrap();
    let mut names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| line.trim_end_matches('/').to_string())
        .collect();
    names.sort();
    names
}

fn tree(dir: &TempDir) {
    std::fs::create_dir_all(dir.path.join("app/logs")).unwrap();
    dir.file("app/a.conf", "a\n");
    dir.file("app/logs/x.log", "x\n");
    dir.file("app/logs/y.tmp", "y\n");
    dir.file("single.txt", "single\n");
}

#[test]
fn a_tree_is_archived_once_then_left_alone() {
    let dir = TempDir::new("archive");
    tree(&dir);
    let params = json!({"path": dir.join("app"), "dest": dir.join("app.tgz")});
    let (plan, applied) = run(&dir, params.clone());
    assert!(plan.changed && applied == Some(true));
    assert_eq!(
        listing(&dir, "app.tgz"),
        ["app/a.conf", "app/logs", "app/logs/x.log", "app/logs/y.tmp"]
    );
    assert_eq!(
        plan.data["arcroot"],
        json!(format!("{}/", dir.path.display()))
    );
    assert_eq!(plan.data["dest_state"], json!("archive"));
    assert_eq!(plan.data["archived"].as_array().unwrap().len(), 4);
    assert_eq!(dir.mode("app.tgz"), 0o644);
    // Nothing changed below `app`: the new archive lists the same.
    let (_, applied) = run(&dir, params.clone());
    assert_eq!(applied, Some(false));
    dir.file("app/new", "n\n");
    assert_eq!(run(&dir, params).1, Some(true));
}

#[test]
fn exclusions_globs_and_formats() {
    let dir = TempDir::new("archive-globs");
    tree(&dir);
    let (plan, _) = run(
        &dir,
        json!({"path": [dir.join("app/*")], "dest": dir.join("out.tar"), "format": "tar",
               "exclusion_patterns": ["*.tmp"], "exclude_path": [dir.join("app/a.conf")]}),
    );
    // `app/logs` is the one path left: its contents are archived.
    assert_eq!(listing(&dir, "out.tar"), ["logs/x.log"]);
    assert_eq!(
        plan.data["expanded_exclude_paths"],
        json!([dir.join("app/a.conf")])
    );
    assert_eq!(plan.data["arcroot"], json!(format!("{}/", dir.join("app"))));
    let (plan, _) = run(
        &dir,
        json!({"path": [dir.join("app/a.conf"), dir.join("missing")], "dest": dir.join("two.tar.bz2"),
               "format": "bz2"}),
    );
    assert_eq!(plan.data["dest_state"], json!("incomplete"));
    assert_eq!(plan.data["missing"], json!([dir.join("missing")]));
    assert_eq!(listing(&dir, "two.tar.bz2"), ["app/a.conf"]);
}

#[test]
fn a_single_file_is_compressed_beside_itself() {
    let dir = TempDir::new("archive-single");
    tree(&dir);
    let params = json!({"path": dir.join("single.txt"), "mode": "0600"});
    let (plan, applied) = run(&dir, params.clone());
    assert!(plan.changed && applied == Some(true));
    assert_eq!(plan.data["dest"], json!(dir.join("single.txt.gz")));
    assert_eq!(plan.data["dest_state"], json!("compress"));
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(dir.path.join("single.txt.gz"))
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"single\n");
    assert_eq!(dir.mode("single.txt.gz"), 0o600);
    let (plan, applied) = run(&dir, params);
    assert!(!plan.changed && applied.is_none(), "{plan:?}");
}

#[test]
fn remove_deletes_what_was_archived() {
    let dir = TempDir::new("archive-remove");
    tree(&dir);
    let (plan, _) = run(
        &dir,
        json!({"path": dir.join("app"), "dest": dir.join("app.tar.gz"), "remove": true}),
    );
    assert!(plan.changed);
    assert!(!dir.has("app"));
    assert_eq!(listing(&dir, "app.tar.gz").len(), 4);
    let err = build(
        json!({"path": dir.join("single.txt"), "dest": dir.join("x"), "remove": true}),
        &NoFiles,
    )
    .unwrap()
    .plan(&Probe::ok("listing:\n"))
    .unwrap_err();
    assert!(err.to_string().contains("no source paths"), "{err}");
}

#[test]
fn hostile_names_stay_data() {
    let dir = TempDir::new("archive-hostile");
    std::fs::create_dir_all(dir.path.join("src")).unwrap();
    for name in [
        "-rf",
        "a b",
        "$(touch pwned)",
        "--checkpoint-action=exec=touch pwned",
    ] {
        dir.file(&format!("src/{name}"), "x");
    }
    run(
        &dir,
        json!({"path": dir.join("src"), "dest": dir.join("h.tgz")}),
    );
    // A directory's contents, not the directory itself, as Ansible.
    assert_eq!(listing(&dir, "h.tgz").len(), 4);
    assert!(!dir.has("pwned") && !dir.has("src/pwned"));
}

#[test]
fn roots_are_ansibles() {
    let paths = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(common_path(&paths(&["/srv/app"])), "/srv/");
    assert_eq!(common_path(&paths(&["/srv/app/"])), "/srv/app/");
    assert_eq!(common_path(&paths(&["/a/b/c", "/a/b/d"])), "/a/b/");
    assert_eq!(common_path(&paths(&["/a/b/c", "/a/bx/d"])), "/a/");
    assert_eq!(common_path(&paths(&["/x"])), "/");
    assert_eq!(common_path(&paths(&["x"])), "");
    assert!(is_archive_name("/a/b.TGZ") && !is_archive_name("/a/b.gz"));
}

#[test]
fn params_are_checked() {
    let err = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
    assert!(err(json!({})).contains("path"));
    assert!(err(json!({"path": "/a", "format": "rar"})).contains("rar"));
    assert!(err(json!({"path": "/a", "mode": 644})).contains("quoted"));
    let module = build(json!({"path": ["/a", "/b"]}), &NoFiles).unwrap();
    let err = module
        .plan(&Probe::ok(
            "listing:\n\0expanded\0/a\0/b\0\0excluded\0\0trees\0\0path\0/a\0file\0\0path\0/b\0file\0\0dest\0absent\0",
        ))
        .unwrap_err();
    assert!(err.to_string().contains("must specify \"dest\""), "{err}");
}

#[test]
fn zip_and_xz_archives() {
    let dir = TempDir::new("archive-zip");
    tree(&dir);
    let params = json!({"path": dir.join("app"), "dest": dir.join("app.zip"), "format": "zip"});
    let (plan, applied) = run(&dir, params.clone());
    assert_eq!(applied, Some(true));
    // Zip's directories are members but not `archived`, as in Ansible.
    assert_eq!(plan.data["archived"].as_array().unwrap().len(), 3);
    let out = std::process::Command::new("unzip")
        .arg("-Z1")
        .arg(dir.path.join("app.zip"))
        .output();
    if let Ok(out) = out
        && out.status.success()
    {
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("app/logs/x.log"), "{text}");
    }
    assert_eq!(run(&dir, params).1, Some(false));
    let params = json!({"path": dir.join("app"), "dest": dir.join("app.tar.xz"), "format": "xz"});
    assert_eq!(run(&dir, params.clone()).1, Some(true));
    assert_eq!(listing(&dir, "app.tar.xz").len(), 4);
    assert_eq!(run(&dir, params).1, Some(false));
}
