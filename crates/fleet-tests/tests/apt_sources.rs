//! The apt source modules (apt_repository, deb822_repository, apt_key) and
//! get_url on the lab host `lab25` (`FLEET_APT_SOURCES_HOST`), against the
//! signed test repository and file server the tests serve from the
//! controller (crates/fleet-tests/src/fixtures.rs).

use std::path::Path;

use fleet_tests::fixtures::Fixtures;
use fleet_tests::module_harness::LabHost;

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
