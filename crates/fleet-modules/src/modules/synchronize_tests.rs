//! Unit tests of `synchronize`: a controller tree in a temp dir, pushed to
//! another temp dir by the real probe and steps in `sh`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::modules::path_facts::tests::TempDir;

/// Controller files under a directory.
struct Tree(PathBuf);

impl Controller for Tree {
    fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
        std::fs::read(self.0.join(src)).map_err(|err| ModuleError::Failed(err.to_string()))
    }
    fn render_template(&self, _src: &str) -> Result<String, ModuleError> {
        Ok(String::new())
    }
    fn tree_path(&self, src: &str) -> String {
        self.0.join(src).display().to_string()
    }
    fn read_tree(&self, src: &str) -> Result<Vec<LocalEntry>, ModuleError> {
        crate::read_local_tree(&self.0.join(src.trim_end_matches('/'))).map_err(ModuleError::Failed)
    }
}

/// Plans and applies over the tar stream: the host is this machine's sh,
/// told it has no rsync.
fn run(dir: &TempDir, params: Value) -> Plan {
    let module = build(params, &Tree(dir.path.join("ctl"))).unwrap();
    let (rc, stdout) = dir.sh(&module.probe().unwrap());
    assert_eq!(rc, 0, "{stdout}");
    let stdout = stdout.replace("rsync=1\n", "");
    let plan = module.plan(&Probe::ok(&stdout)).unwrap();
    assert!(
        plan.data.get("transport").is_none_or(|t| t == "tar"),
        "{plan:?}"
    );
    for step in &plan.steps {
        let Step::Run { script, stdin } = step else {
            panic!("{step:?}");
        };
        let stdin = stdin.as_ref().map_or(&[][..], |stdin| stdin.bytes());
        let (rc, out) = dir.sh_with_stdin(script, stdin);
        assert_eq!(rc, 0, "{script}\n{out}");
    }
    plan
}

fn converge(dir: &TempDir, params: Value) -> Plan {
    let first = run(dir, params.clone());
    assert!(first.changed, "{first:?}");
    let second = run(dir, params);
    assert!(!second.changed, "second run: {second:?}");
    first
}

fn read(dir: &TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path.join(name)).unwrap()
}

fn controller_tree(dir: &TempDir) {
    std::fs::create_dir_all(dir.path.join("ctl/site/css")).unwrap();
    dir.file("ctl/site/index.html", "<h1>hi</h1>\n");
    dir.file("ctl/site/css/main.css", "body {}\n");
    dir.file("ctl/site/debug.log", "noise\n");
    std::fs::set_permissions(
        dir.path.join("ctl/site/index.html"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::os::unix::fs::symlink("index.html", dir.path.join("ctl/site/home.html")).unwrap();
}

#[test]
fn a_tree_is_pushed_then_left_alone() {
    let dir = TempDir::new("sync");
    controller_tree(&dir);
    let plan = converge(&dir, json!({"src": "site", "dest": dir.join("www")}));
    assert_eq!(read(&dir, "www/site/index.html"), "<h1>hi</h1>\n");
    assert_eq!(dir.mode("www/site/index.html"), 0o640);
    assert_eq!(
        std::fs::read_link(dir.path.join("www/site/home.html")).unwrap(),
        PathBuf::from("index.html")
    );
    assert!(plan.msg.unwrap().contains(">f+ site/css/main.css"));
    // A changed file goes again; mode-only changes are a chmod.
    dir.file("ctl/site/css/main.css", "body { margin: 0 }\n");
    std::fs::set_permissions(
        dir.path.join("ctl/site/debug.log"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let plan = converge(&dir, json!({"src": "site", "dest": dir.join("www")}));
    assert_eq!(read(&dir, "www/site/css/main.css"), "body { margin: 0 }\n");
    assert_eq!(dir.mode("www/site/debug.log"), 0o600);
    let msg = plan.msg.unwrap();
    assert!(
        msg.contains(">f site/css/main.css") && msg.contains(".f site/debug.log"),
        "{msg}"
    );
}

#[test]
fn contents_delete_and_excludes() {
    let dir = TempDir::new("sync-delete");
    controller_tree(&dir);
    std::fs::create_dir_all(dir.path.join("www/old")).unwrap();
    dir.file("www/stale.html", "old\n");
    dir.file("www/keep.log", "mine\n");
    dir.file("www/old/x", "x\n");
    converge(
        &dir,
        json!({"src": "site/", "dest": dir.join("www"), "delete": true,
               "rsync_opts": ["--exclude=*.log"], "checksum": true, "compress": false}),
    );
    assert_eq!(read(&dir, "www/index.html"), "<h1>hi</h1>\n");
    assert!(!dir.has("www/stale.html") && !dir.has("www/old"));
    // Excluded: not sent, and protected from deletion.
    assert!(!dir.has("www/debug.log"));
    assert_eq!(read(&dir, "www/keep.log"), "mine\n");
}

#[test]
fn a_file_lands_in_a_directory_or_at_a_path() {
    let dir = TempDir::new("sync-file");
    controller_tree(&dir);
    std::fs::create_dir_all(dir.path.join("etc")).unwrap();
    converge(
        &dir,
        json!({"src": "site/index.html", "dest": dir.join("etc")}),
    );
    assert_eq!(read(&dir, "etc/index.html"), "<h1>hi</h1>\n");
    converge(
        &dir,
        json!({"src": "site/index.html", "dest": dir.join("etc/other.html")}),
    );
    assert_eq!(read(&dir, "etc/other.html"), "<h1>hi</h1>\n");
}

#[test]
fn a_directory_without_recursive_is_skipped() {
    let dir = TempDir::new("sync-norec");
    controller_tree(&dir);
    for src in ["site", "site/"] {
        let plan = run(
            &dir,
            json!({"src": src, "dest": dir.join("www"), "recursive": false}),
        );
        assert!(!plan.changed && plan.steps.is_empty());
        assert!(plan.msg.unwrap().starts_with("skipping directory"));
    }
}

#[test]
fn excludes_follow_rsync_rules() {
    let e = |pattern: &str| Exclude::parse(pattern).unwrap();
    assert!(e("*.log").matches("site/a/debug.log", false));
    assert!(!e("/a/*.log").matches("site/a/debug.log", false));
    assert!(e("/site/*.log").matches("site/debug.log", false));
    assert!(!e("/site/*.log").matches("site/a/debug.log", false));
    assert!(e("/site/**.log").matches("site/a/debug.log", false));
    assert!(e("a/*.log").matches("site/a/debug.log", false));
    assert!(e("cache/").matches("site/cache", true));
    assert!(!e("cache/").matches("site/cache", false));
}

#[test]
fn params_are_checked() {
    let dir = TempDir::new("sync-params");
    controller_tree(&dir);
    let err = |params: Value| {
        build(params, &Tree(dir.path.join("ctl")))
            .unwrap_err()
            .to_string()
    };
    assert!(err(json!({"src": "site", "dest": "/x", "mode": "pull"})).contains("pull"));
    assert!(
        err(json!({"src": "site", "dest": "/x", "rsync_opts": ["--chmod=755"]}))
            .contains("--chmod")
    );
    assert!(err(json!({"src": "site", "dest": "/x", "dest_port": 22})).contains("dest_port"));
    assert!(err(json!({"src": "missing", "dest": "/x"})).contains("missing"));
}

#[test]
fn a_host_with_rsync_gets_one_rsync_step_with_ansibles_options() {
    let dir = TempDir::new("sync-rsync");
    std::fs::create_dir_all(dir.path.join("ctl/site")).unwrap();
    std::fs::write(dir.path.join("ctl/site/index.html"), "hi\n").unwrap();
    let dest = dir.path.join("www").display().to_string();
    let params = json!({"src": "site/", "dest": dest, "delete": true, "compress": false,
                        "times": false, "rsync_opts": ["--exclude=*.log"]});
    let module = build(params, &Tree(dir.path.join("ctl"))).unwrap();
    let (_, stdout) = dir.sh(&module.probe().unwrap());
    let probe = format!("rsync=1\n{}", stdout.replace("rsync=1\n", ""));
    let plan = module.plan(&Probe::ok(&probe)).unwrap();
    assert!(plan.changed);
    assert_eq!(plan.data["transport"], "rsync");
    let src = format!("{}/", dir.path.join("ctl/site").display());
    assert_eq!(
        plan.steps,
        [Step::Rsync {
            args: [
                "--delay-updates",
                "--archive",
                "--no-times",
                "--delete-after",
                "--exclude=*.log",
                "--out-format=<<CHANGED>>%i %n%L",
                src.as_str(),
            ]
            .map(String::from)
            .to_vec(),
            dest,
        }]
    );
}
