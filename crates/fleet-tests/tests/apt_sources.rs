//! The apt source modules (apt_repository, deb822_repository), get_url
//! and package_facts on the lab host `lab25` (`FLEET_APT_SOURCES_HOST`), against the
//! signed test repository and file server the tests serve from the
//! controller (crates/fleet-tests/src/fixtures.rs).

use std::path::Path;

use fleet_engine::Status;
use fleet_tests::fixtures::Fixtures;
use fleet_tests::module_harness::sh_ok;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

fn host_name() -> String {
    std::env::var("FLEET_APT_SOURCES_HOST").unwrap_or_else(|_| "lab25".into())
}

fn host() -> LabHost {
    LabHost::root(&host_name(), Path::new(env!("CARGO_MANIFEST_DIR")))
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

#[test]
fn get_url_downloads_checks_checksums_and_is_idempotent() {
    let fixtures = Fixtures::get();
    let lab = host();
    let dir = "/srv/fleet-lab-get-url";
    sh_ok(&lab, &format!("rm -rf {dir} && mkdir -p {dir}"));
    let hello = fixtures.file("/files/hello.txt");
    let url = format!("{}/files/hello.txt", fixtures.url());
    let dest = format!("{dir}/hello.txt");
    let params = json!({"url": url, "dest": dest, "mode": "0640",
                        "checksum": format!("sha256:{}", hello.sha256)});

    assert_status(&lab.run("get_url", params.clone(), true), Status::Changed);
    assert_eq!(lab.sh(&format!("test -e {dest}")).0, 1, "check mode wrote");
    let gets = fixtures.server.gets_of("/files/hello.txt");
    let first = lab.converge("get_url", params.clone());
    assert_eq!(first.data["checksum_src"], json!(hello.sha1));
    assert_eq!(first.data["md5sum"], json!(hello.md5));
    assert_eq!(first.data["status_code"], 200);
    assert_eq!(
        fixtures.server.gets_of("/files/hello.txt"),
        gets + 1,
        "the second run downloaded again"
    );
    assert_eq!(
        sh_ok(&lab, &format!("stat -c %a {dest}; cat {dest}")),
        format!(
            "640\n{}",
            String::from_utf8_lossy(&hello.content).trim_end()
        )
    );

    // A changed file is replaced; without a checksum, an equal one is not.
    sh_ok(&lab, &format!("echo local > {dest}"));
    let plain = json!({"url": url, "dest": dest});
    assert_status(&lab.run("get_url", plain.clone(), false), Status::Changed);
    assert_eq!(lab.run("get_url", plain, false).status, Status::Ok);

    // Into a directory, with the checksum from SHA256SUMS.
    let into_dir = lab.converge(
        "get_url",
        json!({"url": format!("{}/files/config.ini", fixtures.url()), "dest": format!("{dir}/"),
               "checksum": format!("sha256:{}/files/SHA256SUMS", fixtures.url())}),
    );
    assert_eq!(into_dir.data["dest"], json!(format!("{dir}/config.ini")));

    let wrong = lab.run(
        "get_url",
        json!({"url": format!("{}/files/config.ini", fixtures.url()), "dest": format!("{dir}/wrong.ini"),
               "checksum": format!("md5:{}", hello.md5)}),
        false,
    );
    assert_status(&wrong, Status::Failed);
    assert!(wrong.msg.unwrap_or_default().contains("did not match"));
    assert_eq!(
        sh_ok(&lab, &format!("ls -A {dir}")),
        "config.ini\nhello.txt",
        "no temp file left"
    );

    let secret = fixtures.file("/private/secret.txt");
    let private = json!({"url": format!("{}/private/secret.txt", fixtures.url()), "dest": format!("{dir}/secret.txt"),
                         "url_username": fleet_tests::file_server::PRIVATE_USER,
                         "url_password": fleet_tests::file_server::PRIVATE_PASSWORD});
    lab.converge("get_url", private.clone());
    assert_eq!(
        sh_ok(&lab, &format!("sha1sum < {dir}/secret.txt")),
        format!("{}  -", secret.sha1)
    );
    let mut refused = private;
    refused["url_password"] = json!("wrong");
    refused["force"] = json!(true);
    let refused = lab.run("get_url", refused, false);
    assert_status(&refused, Status::Failed);
    assert!(refused.msg.unwrap_or_default().contains("HTTP status 401"));

    let header = lab.converge(
        "get_url",
        json!({"url": format!("{}/needs-header/token.txt", fixtures.url()), "dest": format!("{dir}/token.txt"),
               "headers": {"X-Fleet-Test": "yes"}}),
    );
    assert_eq!(header.data["status_code"], 200);
    sh_ok(&lab, &format!("rm -rf {dir}"));
}

#[test]
fn deb822_repository_writes_the_sources_file_and_fetches_its_key() {
    let _apt = apt_lock();
    let fixtures = Fixtures::get();
    let lab = host();
    sh_ok(&lab, &fixtures.apt_direct_script());
    let sources = "/etc/apt/sources.list.d/fleet-lab-deb822.sources";
    let key = "/etc/apt/keyrings/fleet-lab-deb822.asc";
    lab.sh(&format!("rm -f {sources} {key}"));
    let params = json!({"name": "fleet lab deb822", "uris": fixtures.repo_url(),
                        "suites": "fleet-test", "components": ["main"],
                        "signed_by": format!("{}/keys/fleet-test.asc", fixtures.url())});
    assert_status(
        &lab.run("deb822_repository", params.clone(), true),
        Status::Changed,
    );
    assert_eq!(
        lab.sh(&format!("test -e {sources}")).0,
        1,
        "check mode wrote"
    );
    let first = lab.converge("deb822_repository", params.clone());
    assert_eq!(first.data["key_filename"], key);
    assert_eq!(
        sh_ok(&lab, &format!("cat {sources}")),
        format!(
            "Components: main\nX-Repolib-Name: fleet lab deb822\nSigned-By: {key}\nSuites: fleet-test\nTypes: deb\nURIs: {}",
            fixtures.repo_url()
        )
    );
    assert_eq!(
        sh_ok(&lab, &format!("sha256sum < {key}")),
        sh_ok(
            &lab,
            &format!(
                "curl -fsS {}/keys/fleet-test.asc | sha256sum",
                fixtures.url()
            )
        )
    );
    let policy = sh_ok(
        &lab,
        "apt-get update -q >/dev/null 2>&1; apt-cache policy fleet-test-hello",
    );
    assert!(
        policy.contains("Candidate: 1.0"),
        "apt does not read it: {policy}"
    );

    let mut inline = params.clone();
    inline["signed_by"] = json!(String::from_utf8_lossy(&fixtures.repo.key_asc));
    inline["enabled"] = json!(false);
    lab.converge("deb822_repository", inline);
    let text = sh_ok(&lab, &format!("cat {sources}"));
    assert!(text.contains("Enabled: no\n"), "{text}");
    assert!(
        text.contains("Signed-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n"),
        "{text}"
    );

    let absent = json!({"name": "fleet lab deb822", "state": "absent"});
    lab.converge("deb822_repository", absent);
    assert_eq!(lab.sh(&format!("test -e {sources} || test -e {key}")).0, 1);
    sh_ok(&lab, "apt-get update -q >/dev/null 2>&1; true");
}

#[test]
fn package_facts_lists_what_dpkg_has_installed() {
    let lab = host();
    let facts = lab.run("package_facts", json!({}), true);
    assert_status(&facts, Status::Ok);
    let packages = &facts.data["ansible_facts"]["packages"];
    let ssh = &packages["openssh-server"][0];
    assert_eq!(ssh["name"], "openssh-server");
    assert_eq!(ssh["source"], "apt");
    assert_eq!(ssh["category"], "net");
    let version = sh_ok(&lab, "dpkg-query -W -f '${Version}' openssh-server");
    assert_eq!(ssh["version"], json!(version));
    let count = sh_ok(
        &lab,
        "dpkg-query -W -f '${db:Status-Abbrev}\\n' | grep -vc '^.[nc]'",
    );
    assert_eq!(
        packages.as_object().unwrap().len().to_string(),
        count,
        "one entry per installed package"
    );
}

#[test]
fn service_facts_reports_systemd_and_sysv_services() {
    let lab = host();
    let facts = lab.run("service_facts", json!({}), true);
    assert_status(&facts, Status::Ok);
    let services = &facts.data["ansible_facts"]["services"];
    assert_eq!(
        services["ssh.service"],
        json!({"name": "ssh.service", "state": "running", "status": "enabled", "source": "systemd"})
    );
    assert_eq!(services["ssh"]["source"], "sysv");
    assert_eq!(services["systemd-firstboot.service"]["status"], "masked");
    let units = sh_ok(
        &lab,
        "systemctl list-unit-files --no-pager --type service --all | grep -c '\\.service'",
    );
    let systemd = services
        .as_object()
        .unwrap()
        .values()
        .filter(|service| service["source"] == "systemd")
        .count();
    assert!(
        systemd >= units.parse::<usize>().unwrap(),
        "{systemd} < {units}"
    );
}
