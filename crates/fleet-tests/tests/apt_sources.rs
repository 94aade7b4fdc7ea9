//! The apt source modules (apt_repository, deb822_repository, apt_key) and
//! get_url on the lab host `lab25` (`FLEET_APT_SOURCES_HOST`), against the
//! signed test repository and file server the tests serve from the
//! controller (crates/fleet-tests/src/fixtures.rs).

use std::path::Path;

use fleet_engine::Status;
use fleet_tests::fixtures::Fixtures;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

fn host_name() -> String {
    std::env::var("FLEET_APT_SOURCES_HOST").unwrap_or_else(|_| "lab25".into())
}

fn host() -> LabHost {
    LabHost::root(&host_name(), Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Runs `command` and returns its trimmed stdout, asserting it succeeded.
fn sh_ok(lab: &LabHost, command: &str) -> String {
    let (rc, out) = lab.sh(command);
    assert_eq!(rc, 0, "`{command}` failed: {out}");
    out.trim().to_string()
}

#[test]
fn the_test_repository_is_signed_and_installable() {
    let _apt = apt_lock();
    let fixtures = Fixtures::get();
    let lab = host();
    sh_ok(&lab, &fixtures.apt_direct_script());
    let key = format!("{}/keys/fleet-test.asc", fixtures.url());
    sh_ok(
        &lab,
        &format!(
            "curl -fsS -o /etc/apt/keyrings/fleet-smoke.asc {key} && \
             echo 'deb [signed-by=/etc/apt/keyrings/fleet-smoke.asc] {} fleet-test main' > /etc/apt/sources.list.d/fleet-smoke.list && \
             apt-get update -q 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fleet-test-hello hello 2>&1",
            fixtures.repo_url()
        ),
    );
    assert_eq!(
        sh_ok(&lab, "cat /usr/share/fleet-test-hello/hello.txt"),
        "hello from fleet's test repository"
    );
    sh_ok(
        &lab,
        "apt-get purge -y -q fleet-test-hello hello 2>&1; rm -f /etc/apt/sources.list.d/fleet-smoke.list /etc/apt/keyrings/fleet-smoke.asc; apt-get update -q 2>&1",
    );
}

/// Tests that run apt take turns: dpkg and the lists have one lock per host.
fn apt_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The served key, trusted for `signed-by=` at `path`.
fn place_key(lab: &LabHost, fixtures: &Fixtures, path: &str) {
    sh_ok(
        lab,
        &format!(
            "{}mkdir -p /etc/apt/keyrings && curl -fsS -o {path} {}/keys/fleet-test.asc",
            fixtures.apt_direct_script(),
            fixtures.url()
        ),
    );
}

#[test]
fn apt_repository_adds_updates_and_removes_a_source() {
    let _apt = apt_lock();
    let fixtures = Fixtures::get();
    let lab = host();
    let key = "/etc/apt/keyrings/fleet-lab-aptrepo.asc";
    place_key(&lab, fixtures, key);
    let repo = format!(
        "deb [signed-by={key}] {} fleet-test main",
        fixtures.repo_url()
    );
    let port = fixtures.url().rsplit(':').next().unwrap().to_string();
    let ip = fixtures.url()[7..]
        .split(':')
        .next()
        .unwrap()
        .replace('.', "_");
    let list = format!("/etc/apt/sources.list.d/{ip}_{port}_apt.list");
    lab.sh(&format!("rm -f {list}"));

    let check = lab.run("apt_repository", json!({"repo": repo}), true);
    assert_status(&check, Status::Changed);
    assert_eq!(lab.sh(&format!("test -e {list}")).0, 1, "check mode wrote");

    let added = lab.converge("apt_repository", json!({"repo": repo, "mode": "0640"}));
    assert_eq!(added.data["sources_added"], json!([list]));
    assert_eq!(sh_ok(&lab, &format!("cat {list}")), repo);
    assert_eq!(sh_ok(&lab, &format!("stat -c %a {list}")), "640");
    let policy = sh_ok(&lab, "apt-cache policy fleet-test-hello");
    assert!(policy.contains("Candidate: 1.0"), "no update ran: {policy}");

    sh_ok(&lab, &format!("sed -i 's/^/#/' {list}"));
    lab.converge(
        "apt_repository",
        json!({"repo": repo, "update_cache": false}),
    );
    assert_eq!(sh_ok(&lab, &format!("cat {list}")), repo, "re-enabled");

    let removed = lab.converge("apt_repository", json!({"repo": repo, "state": "absent"}));
    assert_eq!(removed.data["sources_removed"], json!([list]));
    assert_eq!(lab.sh(&format!("test -e {list}")).0, 1);

    let unsigned = lab.run(
        "apt_repository",
        json!({"repo": format!("deb {} fleet-test main", fixtures.repo_url()),
               "filename": "fleet-lab-unsigned", "update_cache_retries": 1}),
        false,
    );
    assert_status(&unsigned, Status::Failed);
    let msg = unsigned.msg.unwrap_or_default();
    assert!(
        msg.starts_with("Failed to update apt cache after 1 retries: "),
        "{msg}"
    );
    assert_eq!(
        lab.sh("test -e /etc/apt/sources.list.d/fleet-lab-unsigned.list")
            .0,
        1,
        "the failed source was put back"
    );
    sh_ok(
        &lab,
        &format!("rm -f {key}; apt-get update -q >/dev/null 2>&1; true"),
    );
}
