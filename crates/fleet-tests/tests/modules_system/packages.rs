//! apt, ufw (installed with apt) and pip (from a wheelhouse the test
//! builds) on lab8.

use fleet_engine::Status;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

use super::{host, is_installed, package_status, packages_lock, sh_ok, wheel};

#[test]
fn apt_installs_upgrades_and_removes_packages() {
    let _turn = packages_lock();
    let lab = host();
    sh_ok(
        &lab,
        "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 purge -y -q tree hello >/dev/null",
    );
    let wanted = json!({"name": ["tree", "hello"], "update_cache": true, "cache_valid_time": 3600});

    let check = lab.run("apt", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    let diff = check.diff.unwrap_or_default();
    assert!(diff.contains("install: tree\ninstall: hello"), "{diff}");
    assert!(!is_installed(&lab, "tree"), "check mode installed nothing");

    lab.converge("apt", wanted);
    assert_eq!(package_status(&lab, "tree"), "ii");
    assert_eq!(package_status(&lab, "hello"), "ii");
    assert_eq!(sh_ok(&lab, "hello"), "Hello, world!");

    let version = sh_ok(&lab, "dpkg-query -W -f='${Version}' tree");
    let pinned = lab.run("apt", json!({"name": format!("tree={version}")}), false);
    assert_status(&pinned, Status::Ok);
    let latest = lab.run("apt", json!({"name": "tree", "state": "latest"}), false);
    assert_status(&latest, Status::Ok);

    lab.converge(
        "apt",
        json!({"name": "hello", "state": "absent", "purge": true}),
    );
    assert!(!is_installed(&lab, "hello"));
    assert_eq!(
        lab.sh("dpkg-query -W -f='${Status}' hello 2>/dev/null").1,
        "",
        "purged"
    );
    assert_eq!(package_status(&lab, "tree"), "ii", "tree stays");

    let missing = lab.run("apt", json!({"name": "fleet-no-such-package"}), false);
    assert_status(&missing, Status::Failed);
}

#[test]
fn apt_update_cache_respects_cache_valid_time() {
    let _turn = packages_lock();
    let lab = host();
    let update = lab.run("apt", json!({"update_cache": true}), false);
    assert_status(&update, Status::Changed);
    let stamp = "/var/lib/apt/periodic/update-success-stamp";
    let age = sh_ok(
        &lab,
        &format!("echo $(( $(date +%s) - $(stat -c %Y {stamp}) ))"),
    );
    assert!(age.parse::<u64>().unwrap() < 60, "stamp age {age}");
    let fresh = lab.run("apt", json!({"cache_valid_time": 3600}), false);
    assert_status(&fresh, Status::Ok);
    sh_ok(
        &lab,
        &format!("touch -d '2 hours ago' {stamp} /var/lib/apt/lists"),
    );
    let stale = lab.run("apt", json!({"cache_valid_time": 3600}), true);
    assert_status(&stale, Status::Changed);
    assert_eq!(stale.diff.as_deref(), Some("update cache\n"));
    lab.converge("apt", json!({"cache_valid_time": 3600}));
}

#[test]
fn ufw_adds_rules_and_enables_only_with_ssh_allowed() {
    {
        let _turn = packages_lock();
        let install = host().run("apt", json!({"name": "ufw"}), false);
        assert_ne!(install.status, Status::Failed, "{install:?}");
    }
    let lab = host();
    assert_eq!(package_status(&lab, "ufw"), "ii");
    sh_ok(&lab, "ufw --force reset >/dev/null");

    let refused = lab.run("ufw", json!({"state": "enabled"}), false);
    assert_status(&refused, Status::Failed);
    assert!(
        refused
            .msg
            .unwrap_or_default()
            .starts_with("refusing to enable ufw")
    );
    assert_eq!(sh_ok(&lab, "ufw status"), "Status: inactive");

    lab.converge("ufw", json!({"rule": "allow", "port": 22, "proto": "tcp"}));
    let web = json!({"rule": "allow", "port": "8080", "proto": "tcp", "from_ip": "10.77.0.0/16", "comment": "fleet test"});
    lab.converge("ufw", web.clone());
    let added = sh_ok(&lab, "ufw show added");
    assert!(added.contains("ufw allow 22/tcp"), "{added}");
    assert!(
        added.contains(
            "ufw allow from 10.77.0.0/16 to any port 8080 proto tcp comment 'fleet test'"
        ),
        "{added}"
    );

    lab.converge("ufw", json!({"default": "reject", "direction": "incoming"}));
    assert!(sh_ok(&lab, "grep ^DEFAULT_INPUT_POLICY /etc/default/ufw").contains("REJECT"));
    lab.converge("ufw", json!({"default": "deny", "direction": "incoming"}));

    let check = lab.run("ufw", json!({"state": "enabled"}), true);
    assert_status(&check, Status::Changed);
    assert_eq!(sh_ok(&lab, "ufw status"), "Status: inactive");
    lab.converge("ufw", json!({"state": "enabled"}));
    let status = sh_ok(&lab, "ufw status verbose");
    assert!(status.starts_with("Status: active"), "{status}");
    assert!(status.contains("Default: deny (incoming)"), "{status}");
    assert!(
        status.contains("22/tcp                     ALLOW IN    Anywhere"),
        "{status}"
    );
    assert_eq!(
        sh_ok(&host(), "echo new connections still work"),
        "new connections still work"
    );

    let mut delete = web;
    delete["delete"] = json!(true);
    lab.converge("ufw", delete);
    assert!(!sh_ok(&lab, "ufw show added").contains("8080"));

    lab.converge("ufw", json!({"state": "disabled"}));
    assert_eq!(sh_ok(&lab, "ufw status"), "Status: inactive");
    assert_status(
        &lab.run("ufw", json!({"state": "reset"}), false),
        Status::Changed,
    );
    assert!(sh_ok(&lab, "ufw show added").ends_with("(None)"));
}

#[test]
fn pip_installs_into_a_virtualenv_from_a_local_wheelhouse() {
    {
        let _turn = packages_lock();
        let venv = host().run("apt", json!({"name": "python3-venv"}), false);
        assert_ne!(venv.status, Status::Failed, "{venv:?}");
    }
    let lab = host();
    let wheels = "/tmp/fleet-wheels8";
    let venv = "/tmp/fleet-venv8";
    sh_ok(&lab, &format!("rm -rf {wheels} {venv}; mkdir -p {wheels}"));
    for version in ["0.1.0", "0.2.0"] {
        let (name, bytes) = wheel::build("fleet-probe-pkg", version);
        sh_ok(
            &lab,
            &format!(
                "printf '{}' > {wheels}/{name}",
                wheel::octal_escaped(&bytes)
            ),
        );
    }
    let extra_args = format!("--no-index --find-links {wheels}");
    let installed = |lab: &LabHost| {
        lab.sh(&format!(
            "{venv}/bin/pip list --format=freeze 2>/dev/null | grep -i fleet"
        ))
        .1
        .trim()
        .to_string()
    };
    let wanted =
        json!({"name": ["fleet-probe-pkg==0.1.0"], "virtualenv": venv, "extra_args": extra_args});

    let check = lab.run("pip", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert_ne!(
        lab.sh(&format!("test -e {venv}")).0,
        0,
        "check mode created no virtualenv"
    );

    lab.converge("pip", wanted);
    assert_eq!(installed(&lab), "fleet-probe-pkg==0.1.0");
    assert_eq!(
        sh_ok(
            &lab,
            &format!("{venv}/bin/python -c 'import fleet_probe_pkg as p; print(p.VERSION)'")
        ),
        "0.1.0"
    );

    let upgrade = lab.converge(
        "pip",
        json!({"name": "Fleet_Probe.Pkg==0.2.0", "virtualenv": venv, "extra_args": extra_args}),
    );
    assert_eq!(
        upgrade.diff.as_deref(),
        Some("version: fleet-probe-pkg 0.1.0 -> Fleet_Probe.Pkg==0.2.0\n")
    );
    assert_eq!(installed(&lab), "fleet-probe-pkg==0.2.0");
    let latest = lab.run(
        "pip",
        json!({"name": "fleet-probe-pkg", "state": "latest", "virtualenv": venv, "extra_args": extra_args}),
        false,
    );
    assert_status(&latest, Status::Ok);

    sh_ok(
        &lab,
        &format!("echo 'fleet-probe-pkg==0.1.0' > {wheels}/requirements.txt"),
    );
    let requirements = json!({"requirements": format!("{wheels}/requirements.txt"), "virtualenv": venv, "extra_args": extra_args});
    let downgrade = lab.converge("pip", requirements);
    assert!(
        downgrade
            .diff
            .unwrap_or_default()
            .contains("fleet-probe-pkg-0.1.0")
    );
    assert_eq!(installed(&lab), "fleet-probe-pkg==0.1.0");

    lab.converge(
        "pip",
        json!({"name": "fleet-probe-pkg", "state": "absent", "virtualenv": venv}),
    );
    assert_eq!(installed(&lab), "");
    lab.sh(&format!("rm -rf {wheels} {venv}"));
}
