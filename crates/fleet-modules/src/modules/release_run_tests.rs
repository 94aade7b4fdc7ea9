//! Tests of `release` that run its scripts in a real `sh`, on a release
//! root in a temp dir: the probe's output is planned, and the plan's steps
//! run in order (uploads written as files), with `systemctl`, `curl`,
//! `journalctl`, `chown`, `runuser` and `sleep` replaced by shell functions
//! that log their words. Everything else (`tar`, `ln`, `mv`, the lock's
//! `mkdir`) really runs.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::modules::command::stub_sh as stub_sh_tests;
use crate::{Controller, Step};

/// `systemctl is-enabled` says no for units named `off-*`; `curl` answers
/// 500 for URLs containing `fail`, else 200; `runuser -u U -- CMD…` runs
/// `CMD…`. Every stub logs its words in `$stubs_log`.
const STUBS: &str = r#"
chown() { argv chown "$@" >> "$stubs_log"; }
sleep() { argv sleep "$@" >> "$stubs_log"; }
journalctl() { argv journalctl "$@"; }
systemctl() { argv systemctl "$@" >> "$stubs_log"; case "$1 $4" in 'is-enabled off-'*) return 1 ;; esac; }
curl() { argv curl "$@" >> "$stubs_log"; for url; do :; done; case $url in *fail*) printf 500 ;; *) printf 200 ;; esac; }
runuser() { argv runuser "$@" >> "$stubs_log"; shift 3; "$@"; }
"#;

/// A release root in a temp dir, removed on drop.
pub(super) struct Root {
    pub dir: PathBuf,
    /// Shell functions defined after [`STUBS`], overriding them.
    extra_stubs: &'static str,
}

impl Root {
    pub fn new() -> Root {
        Root::with_stubs("")
    }

    pub fn with_stubs(extra_stubs: &'static str) -> Root {
        let dir = std::env::temp_dir().join(format!("fleet release {}", fleet_shell::token()));
        std::fs::create_dir_all(dir.join("app")).unwrap();
        Root { dir, extra_stubs }
    }

    /// The release root, `<dir>/app`.
    pub fn path(&self) -> String {
        format!("{}/app", self.dir.display())
    }

    pub fn at(&self, rel: &str) -> PathBuf {
        Path::new(&self.path()).join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.at(rel)).unwrap_or_else(|err| panic!("{rel}: {err}"))
    }

    pub fn link(&self, rel: &str) -> String {
        let target = std::fs::read_link(self.at(rel)).unwrap_or_else(|err| panic!("{rel}: {err}"));
        target.display().to_string()
    }

    pub fn stubs_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stubs.log")).unwrap_or_default()
    }

    fn stubs(&self) -> String {
        let log = fleet_shell::quote(&self.dir.join("stubs.log").display().to_string());
        let dir = fleet_shell::quote(&self.dir.display().to_string());
        format!(
            "stubs_log={log}\nstubs_dir={dir}\n{STUBS}\n{}",
            self.extra_stubs
        )
    }

    /// A venv whose `pip` logs its words and the dir it ran in, failing
    /// when `fails`.
    pub fn venv(&self, fails: bool) -> String {
        let venv = self.dir.join("venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        let exit = if fails { "exit 1" } else { "exit 0" };
        let body = format!("#!/bin/sh\necho \"pip $* in $PWD\" >> \"$0.log\"\n{exit}\n");
        // Written by a child, so that no thread here forks while it is open
        // for writing.
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg("printf '%s' \"$2\" > \"$1\" && chmod 755 \"$1\"")
            .arg("sh")
            .arg(venv.join("bin/pip"))
            .arg(body)
            .status()
            .unwrap();
        assert!(status.success());
        venv.display().to_string()
    }

    fn pip_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("venv/bin/pip.log")).unwrap_or_default()
    }

    /// Probes, plans and runs `params` on this root: the plan, what each
    /// step printed (up to the first failure, then the `finally` steps) and
    /// the module's verdict on it.
    pub fn apply(&self, params: Value) -> (Plan, Vec<StepOutput>, Result<(), ModuleError>) {
        let mut params = params;
        params["path"] = json!(self.path());
        let module = build(params, &Sources).unwrap();
        let probe = stub_sh_tests::run(&self.stubs(), &module.probe().unwrap(), b"");
        let probe = Probe {
            rc: probe.rc,
            stdout: probe.stdout,
            stderr: probe.stderr,
        };
        let plan = module.plan(&probe).unwrap();
        let mut outputs = Vec::new();
        for step in &plan.steps {
            let out = self.run(step);
            let failed = out.rc != 0;
            outputs.push(out);
            if failed {
                break;
            }
        }
        for step in &plan.finally {
            outputs.push(self.run(step));
        }
        let outcome = module.outcome(&outputs);
        (plan, outputs, outcome)
    }

    fn run(&self, step: &Step) -> StepOutput {
        match step {
            Step::Upload { dest, contents, .. } => {
                std::fs::write(dest, contents).unwrap();
                StepOutput::default()
            }
            step => stub_sh_tests::run_step(&self.stubs(), step),
        }
    }

    pub fn releases(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.at("releases"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Serves the artifacts and names the operator.
pub(super) struct Sources;

impl Controller for Sources {
    fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
        match src {
            "build/app-1.0.tar" => Ok(tar_with_requirements()),
            "build/app-1.1.tar.gz" => Ok(super::tests::gzipped(
                &crate::modules::archive::tests::sample_tar(),
            )),
            _ => Err(ModuleError::ControllerFile {
                path: src.to_string(),
                reason: "not found".into(),
            }),
        }
    }
    fn render_template(&self, src: &str) -> Result<String, ModuleError> {
        Ok(src.to_string())
    }
    fn operator(&self) -> String {
        "alice@ctl".into()
    }
}

/// A release with a `requirements.txt`.
fn tar_with_requirements() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut file = tar::Header::new_ustar();
    file.set_mode(0o644);
    file.set_size(6);
    builder
        .append_data(&mut file, "requirements.txt", b"flask\n".as_slice())
        .unwrap();
    builder.into_inner().unwrap()
}

pub(super) fn stderr(outputs: &[StepOutput]) -> String {
    outputs.iter().map(|out| out.stderr.as_str()).collect()
}

pub(super) fn stdout(outputs: &[StepOutput]) -> String {
    outputs.iter().map(|out| out.stdout.as_str()).collect()
}

/// The phases the markers on stderr name, in order.
pub(super) fn phases(outputs: &[StepOutput]) -> Vec<String> {
    stderr(outputs)
        .lines()
        .filter_map(script::phase_of)
        .map(String::from)
        .collect()
}

#[test]
fn a_deploy_runs_its_phases_and_switches_current() {
    let root = Root::new();
    let (plan, outputs, _) = root.apply(json!({
        "artifact": "build/app-1.1.tar.gz",
        "owner": "app",
        "group": "app",
        "restart": ["app-api", "off-worker"],
    }));
    assert!(outputs.iter().all(|out| out.rc == 0), "{outputs:#?}");
    let name = plan.data["release"].as_str().unwrap().to_string();
    assert_eq!(
        phases(&outputs),
        [
            "lock", "prepare", "unpack", "link", "pip", "switch", "restart", "health", "unlock"
        ]
    );
    assert_eq!(root.link("current"), format!("releases/{name}"));
    assert_eq!(root.read("current/app/run.sh"), "echo hi\n");
    assert_eq!(
        root.read("current/.fleet-release"),
        format!(
            "sha256={}\nartifact=app-1.1.tar.gz\nby=alice@ctl\npid={}\n",
            super::tests::sha_of_v11(),
            std::process::id()
        )
    );
    // No partial dir, tarball, temp link or lock is left.
    assert_eq!(root.releases(), [name.as_str()]);
    assert!(!root.at(".fleet-lock").exists());
    assert!(!root.at(&format!(".current.{name}.tmp")).exists());
    let log = root.stubs_log();
    let partial = format!("{}/releases/.{name}.partial", root.path());
    for expected in [
        format!("chown [-R] [app:app] [--] [{partial}]"),
        "systemctl [restart] [--] [app-api]".to_string(),
        "systemctl [is-enabled] [--quiet] [--] [off-worker]".to_string(),
    ] {
        assert!(log.contains(&expected), "{expected}\nnot in\n{log}");
    }
    assert!(!log.contains("[restart] [--] [off-worker]"), "{log}");
    assert!(
        stdout(&outputs).contains("not enabled, not restarted: off-worker"),
        "{outputs:#?}"
    );

    // The same artifact again changes nothing.
    let (again, outputs, _) = root.apply(json!({"artifact": "build/app-1.1.tar.gz"}));
    assert!(!again.changed && outputs.is_empty());
}

#[test]
fn shared_paths_and_the_env_file_are_linked_into_the_release() {
    let root = Root::new();
    let env_file = format!("{}/etc/app env", root.dir.display());
    let (plan, outputs, _) = root.apply(json!({
        "artifact": "build/app-1.1.tar.gz",
        "shared": ["logs", "public/uploads", "log files"],
        "env_file": env_file,
        "owner": "app",
        "health_urls": [],
    }));
    assert!(outputs.iter().all(|out| out.rc == 0), "{outputs:#?}");
    for shared in ["logs", "public/uploads", "log files"] {
        assert_eq!(
            root.link(&format!("current/{shared}")),
            format!("{}/shared/{shared}", root.path())
        );
        assert!(root.at(&format!("shared/{shared}")).is_dir(), "{shared}");
        let chown = format!("chown [app] [--] [{}/shared/{shared}]", root.path());
        assert!(root.stubs_log().contains(&chown), "{chown}");
    }
    assert_eq!(root.link("current/.env"), env_file);
    assert!(plan.changed);
}

#[test]
fn hooks_install_requirements_then_migrate_as_the_owner_with_the_env_file() {
    let root = Root::new();
    let venv = root.venv(false);
    let env_file = root.dir.join("env");
    std::fs::write(&env_file, "GREETING=hello\nbin=/nowhere\n").unwrap();
    let (plan, outputs, _) = root.apply(json!({
        "artifact": "build/app-1.0.tar",
        "owner": "app",
        "venv": venv,
        "env_file": env_file.display().to_string(),
        "pip_args": ["--no-index", "--find-links", "/srv/wheels dir"],
        "migrate": "printf '%s %s\\n' \"$GREETING\" \"$PATH\" > migrated",
        "health_urls": [],
    }));
    assert!(outputs.iter().all(|out| out.rc == 0), "{outputs:#?}");
    let name = plan.data["release"].as_str().unwrap();
    let partial = format!("{}/releases/.{name}.partial", root.path());
    assert_eq!(
        root.pip_log(),
        format!(
            "pip install -r requirements.txt --no-index --find-links /srv/wheels dir in {partial}\n"
        )
    );
    let migrated = root.read("current/migrated");
    assert!(
        migrated.starts_with(&format!("hello {venv}/bin:")),
        "{migrated}"
    );
    assert!(
        root.stubs_log()
            .contains("runuser [-u] [app] [--] [sh] [-c]")
    );
    assert_eq!(
        phases(&outputs)[4..6],
        ["pip".to_string(), "migrate".to_string()]
    );

    // Without an owner, the hook runs as the connecting user.
    let other = Root::new();
    let (_, outputs, _) = other.apply(json!({
        "artifact": "build/app-1.0.tar",
        "venv": other.venv(false),
        "migrate": "touch migrated",
        "health_urls": [],
    }));
    assert!(outputs.iter().all(|out| out.rc == 0), "{outputs:#?}");
    assert!(other.at("current/migrated").exists());
    assert!(!other.stubs_log().contains("runuser"));
}

#[test]
fn a_failure_before_the_switch_removes_the_new_release() {
    let root = Root::new();
    let (first, outputs, _) =
        root.apply(json!({"artifact": "build/app-1.1.tar.gz", "health_urls": []}));
    assert!(outputs.iter().all(|out| out.rc == 0), "{outputs:#?}");
    let current = first.data["release"].as_str().unwrap().to_string();
    // A stale partial dir and temp link from an interrupted run.
    std::fs::create_dir_all(root.at("releases/.20200101_000000.partial")).unwrap();
    std::fs::write(root.at("releases/.20200101_000000.tar"), "x").unwrap();
    std::os::unix::fs::symlink("releases/x", root.at(".current.x.tmp")).unwrap();

    let venv = root.venv(true);
    let (plan, outputs, outcome) = root.apply(json!({
        "artifact": "build/app-1.0.tar",
        "venv": venv,
        "health_urls": [],
    }));
    let name = plan.data["release"].as_str().unwrap();
    let failed = outputs.iter().find(|out| out.rc != 0).unwrap();
    assert_eq!(failed.rc, 1);
    assert!(
        failed.stderr.contains(&format!(
            "fleet-release: release {name} not deployed; current is still {current}"
        )),
        "{}",
        failed.stderr
    );
    assert_eq!(root.releases(), [current.as_str()]);
    assert_eq!(root.link("current"), format!("releases/{current}"));
    assert!(!root.at(".current.x.tmp").exists());
    assert!(!root.at(".fleet-lock").exists(), "the lock is released");
    let err = outcome.unwrap_err().to_string();
    assert!(err.contains("release: pip failed (rc=1)"), "{err}");
}

#[test]
fn a_failed_health_check_names_the_url_and_shows_the_journal() {
    let root = Root::new();
    let (_, outputs, _) = root.apply(json!({
        "artifact": "build/app-1.1.tar.gz",
        "restart": ["app-api"],
        "health_urls": ["http://127.0.0.1:8000/health?a=1&b=2", "http://127.0.0.1:8000/fail"],
        "health_retries": 3,
        "health_delay": 2,
        "health_timeout": 4,
    }));
    let health = outputs.iter().find(|out| out.rc != 0).unwrap();
    for expected in [
        "fleet-release: health check failed: http://127.0.0.1:8000/fail: HTTP 500: ",
        "fleet-release: current is now ",
        "not switched back",
        "fleet-release: last 30 journal lines of app-api:",
        "journalctl [-u] [app-api] [-n] [30] [--no-pager]",
    ] {
        assert!(
            health.stderr.contains(expected),
            "{expected}\nnot in\n{}",
            health.stderr
        );
    }
    let log = root.stubs_log();
    let tries = |url: &str| {
        log.lines()
            .filter(|line| line.ends_with(&format!("[{url}]")))
            .count()
    };
    assert_eq!(tries("http://127.0.0.1:8000/health?a=1&b=2"), 1);
    assert_eq!(tries("http://127.0.0.1:8000/fail"), 3);
    assert!(log.contains("curl [-sS] [--max-time] [4] [-o]"), "{log}");
    assert_eq!(log.matches("sleep [2]").count(), 2, "{log}");
}

#[test]
fn old_releases_are_pruned_and_every_switch_is_logged() {
    let root = Root::new();
    for old in ["20200101_000000", "20200102_000000", "20200103_000000"] {
        std::fs::create_dir_all(root.at(&format!("releases/{old}"))).unwrap();
    }
    std::os::unix::fs::symlink("releases/20200101_000000", root.at("current")).unwrap();
    let log = format!("{}/logs/releases.log", root.dir.display());
    let (plan, outputs, _) = root.apply(json!({
        "artifact": "build/app-1.1.tar.gz",
        "keep_releases": 2,
        "log": log,
        "health_urls": [],
    }));
    assert!(outputs.iter().all(|out| out.rc == 0), "{outputs:#?}");
    let name = plan.data["release"].as_str().unwrap().to_string();
    // Current (old after a rollback) survives; the newest are kept.
    assert_eq!(
        root.releases(),
        ["20200101_000000", "20200103_000000", name.as_str()]
    );
    assert!(stdout(&outputs).contains("removed: 20200102_000000"));
    assert_eq!(phases(&outputs).last().map(String::as_str), Some("unlock"));

    let (_, outputs, _) = root.apply(json!({"state": "rollback", "log": log, "health_urls": []}));
    assert!(outputs.iter().all(|out| out.rc == 0), "{outputs:#?}");
    assert_eq!(root.link("current"), "releases/20200103_000000");
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| line.split_once('\t').unwrap().1.to_string())
        .collect();
    assert_eq!(
        lines,
        [
            format!(
                "by=alice@ctl\taction=deploy\trelease={name}\tartifact=app-1.1.tar.gz\tsha256={}\tprevious=20200101_000000",
                super::tests::sha_of_v11()
            ),
            format!("by=alice@ctl\taction=rollback\trelease=20200103_000000\tprevious={name}"),
        ]
    );
}

#[test]
fn a_held_lock_refuses_a_deploy_and_only_unlock_breaks_it() {
    let root = Root::new();
    std::fs::create_dir_all(root.at(".fleet-lock")).unwrap();
    let owner = "operator=bob@elsewhere\npid=4242\nrun=17\nplaybook=site.yaml\n";
    std::fs::write(root.at(".fleet-lock/owner"), owner).unwrap();
    let (_, outputs, outcome) = root.apply(json!({"artifact": "build/app-1.1.tar.gz"}));
    assert_eq!(phases(&outputs), ["lock", "unlock"]);
    let err = outcome.unwrap_err().to_string();
    assert!(
        err.contains("is held by bob@elsewhere (pid 4242, ") && err.contains("site.yaml"),
        "{err}"
    );
    // Nothing changed, and the other run's lock is still there.
    assert!(!root.at("releases").exists());
    assert_eq!(root.read(".fleet-lock/owner"), owner);

    let (plan, outputs, outcome) = root.apply(json!({"state": "unlock", "force": true}));
    assert!(plan.changed && outcome.is_ok(), "{outputs:#?}");
    assert!(!root.at(".fleet-lock").exists());
    let (again, _, _) = root.apply(json!({"state": "unlock"}));
    assert!(!again.changed);
}
