//! The deployment standard end to end: `playbooks/site.yaml` on six fresh
//! lab hosts (lab9-lab11 and lab31-lab33, lab11 also the database), then the
//! app through nginx, the units, the firewall, sshd, backups, a repeat run,
//! drift repair, releases with rollback, and blue/green releases under load
//! that drop no request (`deploy/zero_downtime.rs`).
//!
//! One test, because every step builds on the one before and the CPython
//! build is done once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use fleet_tests::{Lab, assert_exit, events, repo_root, scratch_dir};
use serde_json::Value;

#[path = "deploy/zero_downtime.rs"]
mod zero_downtime;

const WEB: [&str; 6] = ["lab9", "lab10", "lab11", "lab31", "lab32", "lab33"];
const DB: &str = "lab11";

struct Deploy {
    lab: &'static Lab,
    inventory: PathBuf,
}

impl Deploy {
    fn fleet(&self, subcommand: &str, playbook: &str, extra: &[&str]) -> Output {
        let output = self
            .lab
            .fleet_with(subcommand, &self.inventory)
            .arg(repo_root().join(playbook))
            .args(["--format", "json"])
            .args(extra)
            .output()
            .expect("fleet runs");
        if !output.status.success() {
            for event in events(&output.stdout) {
                if event["status"] == "failed" || event["status"] == "unreachable" {
                    eprintln!("{event}");
                }
            }
        }
        output
    }

    fn sh(&self, host: &str, command: &str) -> String {
        let out = self.lab.ssh(host, command);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The app's `/` through nginx on port 80.
    fn through_nginx(&self, host: &str) -> Value {
        let url = format!("http://{}/", self.lab.address(host));
        let out = Command::new("curl")
            .args(["-fsS", "--max-time", "10", &url])
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the app answers JSON")
    }
}

/// Runs a controller-side build script and returns its stdout.
fn build(script: &str, args: &[&str]) -> String {
    let out = Command::new(repo_root().join(script))
        .args(args)
        .output()
        .expect("build script runs");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn value_of(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} in {output}"))
        .to_string()
}

fn inventory(lab: &Lab, scratch: &Path, sources: &str) -> PathBuf {
    let dist = repo_root().join("examples/app/dist");
    let public_key = std::fs::read_to_string(lab.key().with_extension("pub")).unwrap();
    let hosts: String = WEB
        .iter()
        .map(|name| format!("        {name}: {{address: {}}}\n", lab.address(name)))
        .collect();
    let yaml = format!(
        r#"all:
  vars:
    user: root
    identity_file: {key}
    app: shop
    pyenv_source: archive
    pyenv_archive: {pyenv}
    python_source: archive
    python_archive: {python}
    python_version: "{python_version}"
    wheelhouse_archive: {dist}/wheelhouse.tar.gz
    release_artifact: {dist}/app-1.0.0.tar.gz
    deploy_authorized_keys: ["{public_key}"]
    db_password: e2e-db-secret-7f3a
    db_allowed_cidr: 10.77.0.0/16
    backup_check_table: visits
    app_secret_env:
      DATABASE_URL: "postgresql://shop:{{{{ db_password }}}}@{db}:5432/shop"
  children:
    web:
      hosts:
{hosts}    db:
      vars:
        firewall_allow: [{{port: 5432, from_ip: 10.77.0.0/16, comment: postgresql}}]
      hosts:
        {DB}: {{}}
"#,
        key = lab.key().display(),
        pyenv = value_of(sources, "pyenv_archive"),
        python = value_of(sources, "python_archive"),
        python_version = value_of(sources, "python_version"),
        dist = dist.display(),
        public_key = public_key.trim(),
        db = lab.address(DB),
    );
    lab.write_inventory(scratch, &yaml)
}

fn results<'a>(events: &'a [Value], task_prefix: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| {
            e["event"] == "task_result"
                && e["task"]
                    .as_str()
                    .is_some_and(|task| task.starts_with(task_prefix))
        })
        .collect()
}

fn seconds(result: &Value) -> f64 {
    result["duration_ms"].as_f64().unwrap_or_default() / 1000.0
}

fn changed(events: &[Value]) -> u64 {
    let done = events.last().expect("run_done");
    assert_eq!(done["event"], "run_done");
    done["counts"]["changed"].as_u64().unwrap()
}

/// CPython is compiled on one host and copied to the others; prints what
/// that saved.
fn report_build_once(events: &[Value]) {
    let built: Vec<&Value> = results(events, "pyenv : build CPython")
        .into_iter()
        .filter(|r| r["status"] == "changed")
        .collect();
    assert_eq!(built.len(), 1, "compiled on exactly one host: {built:?}");
    let copies: Vec<&Value> = results(events, "pyenv : copy the built interpreter")
        .into_iter()
        .filter(|r| r["status"] == "changed")
        .collect();
    assert_eq!(copies.len(), WEB.len() - 1, "copied to the others");
    let fetch = results(events, "pyenv : fetch the built interpreter");
    let build = seconds(built[0]);
    let copy = fetch.iter().map(|r| seconds(r)).sum::<f64>()
        + copies.iter().map(|r| seconds(r)).fold(0.0, f64::max);
    eprintln!(
        "CPython: built once on {} in {build:.1} s; fetched and copied to {} hosts in {copy:.1} s; \
         compiling on each would have taken ~{:.1} s more: saved {:.1} s",
        built[0]["host"].as_str().unwrap_or_default(),
        copies.len(),
        build * copies.len() as f64,
        build * copies.len() as f64 - copy,
    );
}

#[test]
fn site_deploys_the_sample_app_and_keeps_it_converged() {
    let lab = Lab::get();
    let scratch = scratch_dir("deploy");
    let sources = build("scripts/python-sources", &[]);
    build("examples/app/build", &[]);
    let deploy = Deploy {
        lab,
        inventory: inventory(lab, &scratch, &sources),
    };

    let db = deploy.fleet("apply", "examples/app/db.yaml", &[]);
    assert_exit(&db, 0);
    let site = deploy.fleet("apply", "playbooks/site.yaml", &[]);
    assert_exit(&site, 0);
    let site_events = events(&site.stdout);
    report_build_once(&site_events);

    // The app answers through nginx on every host, from one release.
    let first: Vec<Value> = WEB.iter().map(|h| deploy.through_nginx(h)).collect();
    for (host, answer) in WEB.iter().zip(&first) {
        assert_eq!(answer["app"], "shop");
        assert_eq!(answer["host"], *host);
        let current = deploy.sh(host, "readlink /opt/shop/current");
        assert_eq!(
            current,
            format!("releases/{}", answer["release"].as_str().unwrap())
        );
    }

    // Units: active, with the standard's settings; one scheduler.
    let settings = [
        "KillMode=mixed",
        "KillSignal=15",
        "TimeoutStopUSec=35s",
        "Restart=always",
        "RestartUSec=5s",
        "LimitNOFILE=65536",
        "User=shop",
        "EnvironmentFiles=/opt/shop/.env (ignore_errors=no)",
    ];
    let mut schedulers = 0;
    for host in WEB {
        let api = deploy.sh(
            host,
            "systemctl list-units 'shop-api@*' --state=active --plain --no-legend | awk '{print $1}'",
        );
        assert!(
            api.starts_with("shop-api@800"),
            "{host}: one api slot runs: {api}"
        );
        for unit in [api.as_str(), "shop-worker"] {
            assert_eq!(
                deploy.sh(host, &format!("systemctl is-active {unit}")),
                "active"
            );
            let shown = deploy.sh(
                host,
                &format!(
                    "systemctl show {unit} -p KillMode -p KillSignal -p TimeoutStopUSec \
                     -p Restart -p RestartUSec -p LimitNOFILE -p User -p EnvironmentFiles"
                ),
            );
            for setting in settings {
                assert!(
                    shown.lines().any(|l| l == setting),
                    "{host} {unit}: {setting} in {shown}"
                );
            }
        }
        if deploy.sh(host, "systemctl is-active shop-scheduler") == "active" {
            schedulers += 1;
        }
        assert_eq!(
            deploy.sh(host, "stat -c '%a %U' /opt/shop/.env"),
            "600 shop"
        );
        assert!(deploy.sh(host, "ufw status").starts_with("Status: active"));
    }
    assert_eq!(schedulers, 1, "the scheduler runs on exactly one host");
    let env_secret_shown = String::from_utf8_lossy(&site.stdout).contains("e2e-db-secret-7f3a");
    assert!(
        !env_secret_shown,
        "the database password never reaches the output"
    );

    // sshd offers no password logins any more.
    let refused = Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "PubkeyAuthentication=no",
        ])
        .args([
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
        ])
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            lab.known_hosts().display()
        ))
        .arg(format!("deploypw@{}", lab.address("lab9")))
        .arg("true")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("Permission denied (publickey)"), "{why}");

    // A backup now, then the restore check loads it and compares row counts.
    let backup = deploy.fleet("apply", "playbooks/backup.yaml", &["--tags", "backup-now"]);
    assert_exit(&backup, 0);
    let dumps = deploy.sh(DB, "ls /var/backups/shop/");
    assert!(dumps.lines().any(|f| f.ends_with(".dump")), "{dumps}");
    let restore = deploy.fleet(
        "apply",
        "playbooks/backup.yaml",
        &["--tags", "restore-check"],
    );
    assert_exit(&restore, 0);
    let restore_events = events(&restore.stdout);
    let checked = results(&restore_events, "backup : restore check");
    assert!(
        checked.iter().any(|r| r["host"] == DB
            && r["status"] == "ok"
            && r["stdout"]
                .as_str()
                .is_some_and(|out| out.contains("restores; rows in visits"))),
        "{checked:?}"
    );

    // The same run again changes nothing.
    let again = deploy.fleet("apply", "playbooks/site.yaml", &[]);
    assert_exit(&again, 0);
    assert_eq!(changed(&events(&again.stdout)), 0);

    // A unit edited by hand is drift: reported, then repaired.
    let unit = "/etc/systemd/system/shop-worker.service";
    deploy.sh(
        "lab10",
        &format!("sed -i 's/^RestartSec=5$/RestartSec=9/' {unit}"),
    );
    let drift = deploy.fleet("check", "playbooks/site.yaml", &[]);
    assert_exit(&drift, 5);
    let drifted: Vec<Value> = events(&drift.stdout)
        .into_iter()
        .filter(|e| e["event"] == "task_result" && e["status"] == "changed")
        .collect();
    assert!(
        drifted.iter().any(|e| e["host"] == "lab10"
            && e["task"] == "units : systemd units"
            && e["diff"]
                .as_str()
                .is_some_and(|d| d.contains("-RestartSec=9"))),
        "{drifted:?}"
    );
    assert!(drifted.iter().all(|e| e["host"] == "lab10"), "{drifted:?}");
    assert_exit(&deploy.fleet("apply", "playbooks/site.yaml", &[]), 0);
    assert!(
        deploy
            .sh("lab10", &format!("cat {unit}"))
            .contains("\nRestartSec=5\n")
    );
    assert_exit(&deploy.fleet("check", "playbooks/site.yaml", &[]), 0);

    releases_and_rollback(&deploy, &first);
    zero_downtime::zero_downtime(&deploy);
}

/// A second release goes out; `fleet releases` lists both; `fleet rollback`
/// puts the first one back on every host.
fn releases_and_rollback(deploy: &Deploy, first: &[Value]) {
    build("examples/app/build", &["--version", "1.0.1"]);
    let artifact = repo_root().join("examples/app/dist/app-1.0.1.tar.gz");
    let second = deploy.fleet(
        "apply",
        "playbooks/release.yaml",
        &["-e", &format!("release_artifact={}", artifact.display())],
    );
    assert_exit(&second, 0);
    for (host, before) in WEB.iter().zip(first) {
        let now = deploy.through_nginx(host);
        assert_ne!(
            now["release"], before["release"],
            "{host} runs the new release"
        );
    }

    let listed = deploy.fleet("releases", "playbooks/release.yaml", &[]);
    assert_exit(&listed, 0);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    for before in first {
        assert!(
            listed.contains(before["release"].as_str().unwrap()),
            "{listed}"
        );
    }

    let rollback = deploy.fleet("rollback", "playbooks/release.yaml", &[]);
    assert_exit(&rollback, 0);
    std::thread::sleep(Duration::from_millis(200));
    for (host, before) in WEB.iter().zip(first) {
        assert_eq!(
            deploy.through_nginx(host)["release"],
            before["release"],
            "{host}"
        );
        let log = deploy.sh(host, "tail -n 1 /opt/shop/releases.log");
        assert!(log.contains("rollback"), "{host}: {log}");
    }
}
