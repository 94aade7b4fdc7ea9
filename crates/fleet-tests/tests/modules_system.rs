//! The system modules (apt, user, group, authorized_key, systemd, sysctl,
//! ufw, pip, wait_for, uri) on the lab host `lab8`, asserting the real
//! state of the host after each run. Package and account tests live in the
//! submodules; the helpers they share are here.

#[path = "modules_system/accounts.rs"]
mod accounts;
#[path = "modules_system/packages.rs"]
mod packages;
#[path = "modules_system/wheel.rs"]
mod wheel;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fleet_engine::Status;
pub(crate) use fleet_tests::module_harness::sh_ok;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

pub(crate) const HOST: &str = "lab8";

pub(crate) fn host() -> LabHost {
    LabHost::root(HOST, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Tests that install packages take turns: dpkg has one lock per host.
pub(crate) fn packages_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn package_status(lab: &LabHost, package: &str) -> String {
    lab.sh(&format!(
        "dpkg-query -W -f='${{db:Status-Abbrev}}' {package} 2>/dev/null"
    ))
    .1
    .trim()
    .to_string()
}

pub(crate) fn is_installed(lab: &LabHost, package: &str) -> bool {
    package_status(lab, package) == "ii"
}

#[test]
fn systemd_starts_enables_restarts_and_masks_a_unit() {
    let lab = host();
    let unit = "fleet-sys8";
    let path = format!("/usr/local/lib/systemd/system/{unit}.service");
    lab.sh(&format!(
        "systemctl unmask {unit}; systemctl disable --now {unit}; mkdir -p /usr/local/lib/systemd/system; rm -f {path} /etc/systemd/system/{unit}.service; systemctl daemon-reload; true"
    ));
    let write_unit = |exec: &str| {
        let cmd = format!(
            "printf '[Unit]\\nDescription=fleet test\\n[Service]\\nExecStart={exec}\\nExecReload=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n' > {path}"
        );
        assert_status(
            &lab.run("shell", json!({"cmd": cmd}), false),
            Status::Changed,
        );
    };
    write_unit("/bin/sleep infinity");
    let active = |lab: &LabHost| {
        lab.sh(&format!("systemctl is-active {unit}"))
            .1
            .trim()
            .to_string()
    };
    let enabled = |lab: &LabHost| {
        lab.sh(&format!("systemctl is-enabled {unit}"))
            .1
            .trim()
            .to_string()
    };

    let wanted = json!({"name": unit, "state": "started", "enabled": true, "daemon_reload": true});
    let check = lab.run("systemd", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert_eq!(
        check.diff.as_deref(),
        Some("enabled: disabled -> enabled\nstate: inactive -> active\n")
    );
    assert_eq!(
        (active(&lab), enabled(&lab)),
        ("inactive".into(), "disabled".into())
    );

    lab.converge("systemd", wanted.clone());
    assert_eq!(
        (active(&lab), enabled(&lab)),
        ("active".into(), "enabled".into())
    );

    let pid = |lab: &LabHost| sh_ok(lab, &format!("systemctl show -p MainPID --value {unit}"));
    let before = pid(&lab);
    for _ in 0..2 {
        let restart = lab.run(
            "systemd",
            json!({"name": unit, "state": "restarted"}),
            false,
        );
        assert_status(&restart, Status::Changed);
    }
    assert_ne!(pid(&lab), before, "restarted");
    assert_status(
        &lab.run("systemd", json!({"name": unit, "state": "reloaded"}), false),
        Status::Changed,
    );

    // The unit file changed: the reload runs and, as in Ansible, is no
    // change of its own.
    write_unit("/bin/sleep 100000");
    let reload = lab.run("systemd", wanted, false);
    assert_status(&reload, Status::Ok);
    assert_eq!(
        sh_ok(
            &lab,
            &format!("systemctl show -p NeedDaemonReload --value {unit}")
        ),
        "no"
    );

    lab.converge(
        "systemd",
        json!({"name": unit, "state": "stopped", "enabled": false}),
    );
    assert_eq!(
        (active(&lab), enabled(&lab)),
        ("inactive".into(), "disabled".into())
    );
    lab.converge("systemd", json!({"name": unit, "masked": true}));
    assert_eq!(enabled(&lab), "masked");
    lab.converge("systemd", json!({"name": unit, "masked": false}));
    assert_eq!(enabled(&lab), "disabled");

    // A daemon-reload runs and, as in Ansible, reports no change.
    let reload = lab.run("systemd", json!({"daemon_reload": true}), false);
    assert_status(&reload, Status::Ok);
    let missing = lab.run(
        "systemd",
        json!({"name": "fleet-nope8", "state": "started"}),
        false,
    );
    assert_status(&missing, Status::Failed);
    assert_eq!(
        missing.msg.as_deref(),
        Some("could not find the requested unit fleet-nope8")
    );
    lab.sh(&format!("rm -f {path}; systemctl daemon-reload"));
}

#[test]
fn sysctl_writes_the_file_and_the_running_value() {
    let lab = host();
    let file = "/etc/sysctl.d/98-fleet-test8.conf";
    let key = "net.core.somaxconn";
    sh_ok(&lab, &format!("rm -f {file}; sysctl -qw {key}=4096"));
    let running = |lab: &LabHost| sh_ok(lab, &format!("sysctl -n {key}"));
    let wanted = json!({"name": key, "value": 1024, "sysctl_file": file});

    let check = lab.run("sysctl", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert!(
        check
            .diff
            .unwrap_or_default()
            .ends_with("value: 4096 -> 1024\n")
    );
    assert_eq!(running(&lab), "4096", "check mode changed nothing");
    assert_ne!(lab.sh(&format!("test -e {file}")).0, 0);

    lab.converge("sysctl", wanted.clone());
    assert_eq!(running(&lab), "1024");
    assert_eq!(
        sh_ok(&lab, &format!("cat {file}")),
        "net.core.somaxconn=1024"
    );

    sh_ok(&lab, &format!("sysctl -qw {key}=2048"));
    let drift = lab.converge("sysctl", wanted);
    assert_eq!(drift.diff.as_deref(), Some("value: 2048 -> 1024\n"));
    assert_eq!(running(&lab), "1024");

    lab.converge(
        "sysctl",
        json!({"name": key, "state": "absent", "sysctl_file": file}),
    );
    assert_eq!(sh_ok(&lab, &format!("cat {file}")), "");
    let unknown = lab.run(
        "sysctl",
        json!({"name": "net.fleet.nope", "value": 1, "sysctl_file": file}),
        false,
    );
    assert_eq!(
        unknown.msg.as_deref(),
        Some("sysctl key net.fleet.nope does not exist on this host")
    );
    sh_ok(&lab, &format!("rm -f {file}; sysctl -qw {key}=4096"));
}

#[test]
fn wait_for_ports_and_paths() {
    let lab = host();
    let open = lab.run("wait_for", json!({"port": 22, "timeout": 10}), true);
    assert_status(&open, Status::Ok);
    assert!(open.data.contains_key("elapsed"), "{open:?}");

    let started = Instant::now();
    let closed = lab.run("wait_for", json!({"port": 9, "timeout": 2}), false);
    assert_status(&closed, Status::Failed);
    assert_eq!(
        closed.msg.as_deref(),
        Some("Timeout when waiting for 127.0.0.1:9 to be started (2s)")
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_status(
        &lab.run(
            "wait_for",
            json!({"port": 9, "state": "stopped", "timeout": 5}),
            false,
        ),
        Status::Ok,
    );

    let path = "/tmp/fleet-wait8";
    sh_ok(
        &lab,
        &format!("rm -f {path}; (sleep 2; echo service ready > {path}) >/dev/null 2>&1 &"),
    );
    let appeared = lab.run(
        "wait_for",
        json!({"path": path, "search_regex": "ready$", "timeout": 20}),
        false,
    );
    assert_status(&appeared, Status::Ok);
    assert!(
        appeared.data["elapsed"].as_u64().unwrap_or_default() >= 1,
        "{appeared:?}"
    );
    sh_ok(&lab, &format!("rm -f {path}"));
    assert_status(
        &lab.run(
            "wait_for",
            json!({"path": path, "state": "absent", "timeout": 5}),
            false,
        ),
        Status::Ok,
    );
}

#[test]
fn uri_checks_statuses_and_returns_content() {
    let lab = host();
    let unit = "fleet-http8";
    lab.sh(&format!(
        "systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null; true"
    ));
    sh_ok(
        &lab,
        &format!(
            "mkdir -p /tmp/fleet-www8 && echo hello > /tmp/fleet-www8/hello.txt && \
             systemd-run -q --unit {unit} python3 -m http.server 8088 --bind 127.0.0.1 --directory /tmp/fleet-www8"
        ),
    );
    assert_status(
        &lab.run("wait_for", json!({"port": 8088, "timeout": 20}), false),
        Status::Ok,
    );
    let base = "http://127.0.0.1:8088";

    let hello = lab.run(
        "uri",
        json!({"url": format!("{base}/hello.txt"), "return_content": true}),
        true,
    );
    assert_status(&hello, Status::Ok);
    assert_eq!(hello.data["status"], 200);
    assert_eq!(hello.data["content"], "hello\n");

    let missing = lab.run("uri", json!({"url": format!("{base}/missing")}), false);
    assert_status(&missing, Status::Failed);
    assert_eq!(
        missing.msg.as_deref(),
        Some("Status code was 404 and not [200]: http://127.0.0.1:8088/missing")
    );
    let accepted = lab.run(
        "uri",
        json!({"url": format!("{base}/missing"), "status_code": [200, 404]}),
        false,
    );
    assert_eq!(accepted.data["status"], 404);

    let post = json!({"url": format!("{base}/hello.txt"), "method": "POST", "body": "x", "status_code": 501});
    assert_status(&lab.run("uri", post.clone(), true), Status::Changed);
    assert_status(&lab.run("uri", post, false), Status::Changed);
    let rejected = lab.run(
        "uri",
        json!({"url": format!("{base}/hello.txt"), "method": "POST"}),
        false,
    );
    assert_status(&rejected, Status::Failed);

    let refused = lab.run(
        "uri",
        json!({"url": "http://127.0.0.1:9/", "timeout": 5}),
        false,
    );
    assert!(
        refused
            .msg
            .unwrap_or_default()
            .starts_with("request to http://127.0.0.1:9/ failed")
    );
    lab.sh(&format!("systemctl stop {unit}; rm -rf /tmp/fleet-www8"));
}
