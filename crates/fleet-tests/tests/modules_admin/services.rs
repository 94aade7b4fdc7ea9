//! `service`, `systemd_service`'s aliases and `package`.

use fleet_engine::Status;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

use super::{host, packages_lock, sh_ok};

fn unit_state(lab: &LabHost, unit: &str) -> (String, String) {
    let active = lab.sh(&format!("systemctl is-active {unit}")).1;
    let enabled = lab.sh(&format!("systemctl is-enabled {unit}")).1;
    (active.trim().to_string(), enabled.trim().to_string())
}

#[test]
fn service_starts_enables_restarts_and_stops_a_unit_as_systemd() {
    let lab = host();
    let unit = "fleet-admin-svc";
    let path = format!("/usr/local/lib/systemd/system/{unit}.service");
    lab.sh(&format!(
        "systemctl disable --now {unit}; rm -f {path}; true"
    ));
    sh_ok(
        &lab,
        &format!(
            "mkdir -p /usr/local/lib/systemd/system && printf '[Unit]\\nDescription=fleet admin test\\n[Service]\\nExecStart=/bin/sleep infinity\\n[Install]\\nWantedBy=multi-user.target\\n' > {path} && systemctl daemon-reload"
        ),
    );

    let wanted = json!({"name": unit, "state": "started", "enabled": "yes", "pattern": "sleep"});
    let check = lab.run("service", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert_eq!(
        unit_state(&lab, unit),
        ("inactive".into(), "disabled".into())
    );
    let first = lab.converge("service", wanted);
    assert_eq!(first.data["name"], json!(unit));
    assert_eq!(first.data["state"], json!("started"));
    assert_eq!(first.data["enabled"], json!(true));
    assert_eq!(unit_state(&lab, unit), ("active".into(), "enabled".into()));

    let pid = |lab: &LabHost| sh_ok(lab, &format!("systemctl show -p MainPID --value {unit}"));
    let before = pid(&lab);
    let restart = lab.run(
        "service",
        json!({"name": unit, "state": "restarted", "sleep": 1}),
        false,
    );
    assert_status(&restart, Status::Changed);
    assert_ne!(pid(&lab), before, "restarted");

    // systemd_service is systemd, under Ansible's aliases of its params.
    lab.converge(
        "systemd",
        json!({"unit": unit, "state": "stopped", "enabled": false, "daemon-reload": true}),
    );
    assert_eq!(
        unit_state(&lab, unit),
        ("inactive".into(), "disabled".into())
    );

    let missing = lab.run(
        "service",
        json!({"name": "fleet-no-such-unit", "state": "started"}),
        false,
    );
    assert_status(&missing, Status::Failed);
    sh_ok(&lab, &format!("rm -f {path} && systemctl daemon-reload"));
}

#[test]
fn package_installs_and_removes_with_apt() {
    let _turn = packages_lock();
    let lab = host();
    let installed = |lab: &LabHost| {
        lab.sh("dpkg-query -W -f='${db:Status-Abbrev}' pv 2>/dev/null")
            .1
            .trim()
            == "ii"
    };
    sh_ok(
        &lab,
        "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 purge -y -q pv >/dev/null",
    );
    let wanted = json!({"name": "pv", "state": "present", "update_cache": true, "use": "auto"});
    let check = lab.run("package", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert!(!installed(&lab), "check mode installed nothing");

    lab.run("package", wanted.clone(), false);
    assert!(installed(&lab));
    let again = lab.run(
        "package",
        json!({"name": ["pv"], "state": "present"}),
        false,
    );
    assert_status(&again, Status::Ok);

    lab.converge(
        "package",
        json!({"name": "pv", "state": "absent", "use": "apt"}),
    );
    assert!(!installed(&lab));
}
