//! The host identity modules (hostname, timezone, locale_gen, mount) on the
//! lab host `lab29` (`FLEET_HOSTCONF_HOST` to move it), asserting the real
//! state of the host after each run. Each test puts back what it changed.
//! The hosts are systemd-nspawn containers with systemd as PID 1: what
//! they allow is what these tests show (see docs/modules/mount.md).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use fleet_engine::Status;
use fleet_tests::module_harness::sh_ok;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

fn host() -> LabHost {
    let name = std::env::var("FLEET_HOSTCONF_HOST").unwrap_or_else(|_| "lab29".into());
    LabHost::root(&name, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// The tests change one host's identity: they take turns.
fn turn() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn hostname_sets_the_static_and_the_running_name_with_hostnamectl() {
    let _turn = turn();
    let lab = host();
    let original = sh_ok(&lab, "hostnamectl --static status");
    let wanted = json!({"name": "fleet-host-test.example.org"});
    let check = lab.run("hostname", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert!(check.diff.unwrap_or_default().contains(&format!(
        "-hostname = {original}\n+hostname = fleet-host-test.example.org\n"
    )),);
    assert_eq!(
        sh_ok(&lab, "cat /etc/hostname"),
        original,
        "check mode changed nothing"
    );
    let first = lab.converge("hostname", wanted);
    assert_eq!(
        first.data["ansible_facts"]["ansible_hostname"],
        json!("fleet-host-test")
    );
    assert_eq!(
        sh_ok(
            &lab,
            "cat /etc/hostname; cat /proc/sys/kernel/hostname; hostnamectl --static status; hostnamectl --transient status"
        ),
        "fleet-host-test.example.org\nfleet-host-test.example.org\nfleet-host-test.example.org\nfleet-host-test.example.org"
    );
    // `--pretty` too, as Ansible sets it: /etc/machine-info names it.
    assert_eq!(
        sh_ok(&lab, "hostnamectl --pretty status"),
        "fleet-host-test.example.org"
    );
    // Only the running name drifted: only it is set again.
    sh_ok(&lab, "hostname drifted");
    let drift = lab.run(
        "hostname",
        json!({"name": "fleet-host-test.example.org"}),
        false,
    );
    assert_status(&drift, Status::Changed);
    assert!(
        drift
            .diff
            .unwrap_or_default()
            .contains("-hostname = drifted\n")
    );
    assert_eq!(sh_ok(&lab, "hostname"), "fleet-host-test.example.org");
    let long = lab.run("hostname", json!({"name": "x".repeat(65)}), false);
    assert_status(&long, Status::Failed);
    lab.converge("hostname", json!({"name": original, "use": "systemd"}));
    sh_ok(&lab, "hostnamectl --pretty set-hostname ''");
    assert_eq!(sh_ok(&lab, "hostname"), original);
}

#[test]
fn timezone_sets_the_zone_with_timedatectl() {
    let _turn = turn();
    let lab = host();
    let zone = |lab: &LabHost| {
        sh_ok(
            lab,
            "readlink /etc/localtime; cat /etc/timezone 2>/dev/null; env -u TZ date +%Z",
        )
    };
    sh_ok(&lab, "timedatectl set-timezone Etc/UTC");
    let wanted = json!({"name": "Europe/Paris"});
    let check = lab.run("timezone", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert_eq!(
        check.diff.as_deref(),
        Some("name: Etc/UTC -> Europe/Paris\n")
    );
    // A fresh host's link may be absolute: timedatectl leaves an
    // unchanged zone as it is.
    let before = zone(&lab);
    assert!(before.contains("usr/share/zoneinfo/Etc/UTC\n"), "{before}");
    let first = lab.converge("timezone", wanted);
    assert_eq!(
        first.msg.as_deref(),
        Some("executed `/usr/bin/timedatectl set-timezone Europe/Paris`")
    );
    let now = zone(&lab);
    assert!(
        now.starts_with("../usr/share/zoneinfo/Europe/Paris\n"),
        "{now}"
    );
    assert!(now.ends_with("CET") || now.ends_with("CEST"), "{now}");
    let unknown = lab.run("timezone", json!({"name": "Mars/Olympus"}), false);
    assert_status(&unknown, Status::Failed);
    assert_eq!(
        unknown.msg.as_deref(),
        Some("Error message:\ngiven timezone \"Mars/Olympus\" is not available")
    );
    // The RTC setting: the container has no RTC, but timedated keeps the
    // setting in /etc/adjtime.
    let rtc = lab.run("timezone", json!({"hwclock": "UTC"}), false);
    assert_status(&rtc, Status::Ok);
    lab.converge("timezone", json!({"hwclock": "local"}));
    assert_eq!(sh_ok(&lab, "tail -n1 /etc/adjtime"), "LOCAL");
    lab.converge("timezone", json!({"rtc": "UTC"}));
    assert_eq!(lab.sh("test -e /etc/adjtime").0, 1);
    lab.converge("timezone", json!({"name": "Etc/UTC"}));
    assert!(zone(&lab).starts_with("../usr/share/zoneinfo/Etc/UTC\n"));
}

#[test]
fn locale_gen_generates_and_removes_locales() {
    let _turn = turn();
    let lab = host();
    sh_ok(
        &lab,
        "dpkg -s locales >/dev/null 2>&1 || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -q locales >/dev/null; }",
    );
    sh_ok(
        &lab,
        "sed -i 's/^de_CH.UTF-8 UTF-8/# de_CH.UTF-8 UTF-8/; s/^# *fr_CH.UTF-8 UTF-8/# fr_CH.UTF-8 UTF-8/' /etc/locale.gen && locale-gen >/dev/null",
    );
    let listed = |lab: &LabHost| sh_ok(lab, "locale -a");
    assert!(!listed(&lab).contains("de_CH.utf8"));
    let wanted = json!({"name": ["de_CH.UTF-8", "fr_CH.UTF-8"]});
    let check = lab.run("locale_gen", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert!(!listed(&lab).contains("de_CH.utf8"));
    let first = lab.converge("locale_gen", wanted);
    assert_eq!(first.data["mechanism"], json!("glibc"));
    let now = listed(&lab);
    assert!(
        now.contains("de_CH.utf8") && now.contains("fr_CH.utf8"),
        "{now}"
    );
    assert_eq!(
        sh_ok(&lab, "grep -E '^#? *(de|fr)_CH.UTF-8 ' /etc/locale.gen"),
        "de_CH.UTF-8 UTF-8\nfr_CH.UTF-8 UTF-8"
    );
    let unknown = lab.run("locale_gen", json!({"name": "xx_YY.UTF-8"}), false);
    assert_status(&unknown, Status::Failed);
    assert_eq!(
        unknown.msg.as_deref(),
        Some(
            "The following locales you have entered are not available on your system: xx_YY.UTF-8"
        )
    );
    lab.converge(
        "locale_gen",
        json!({"name": "de_CH.UTF-8,fr_CH.UTF-8", "state": "absent"}),
    );
    let now = listed(&lab);
    assert!(
        !now.contains("de_CH.utf8") && !now.contains("fr_CH.utf8"),
        "{now}"
    );
    assert_eq!(
        sh_ok(&lab, "grep -E '^#? *(de|fr)_CH.UTF-8 ' /etc/locale.gen"),
        "# de_CH.UTF-8 UTF-8\n# fr_CH.UTF-8 UTF-8"
    );
}

#[test]
fn mount_mounts_a_tmpfs_with_its_own_fstab() {
    let _turn = turn();
    let lab = host();
    let dir = "/srv/fleet-host-mount";
    let point = format!("{dir}/mnt/data");
    let fstab = format!("{dir}/fstab");
    lab.sh(&format!("umount {point} 2>/dev/null; rm -rf {dir}"));
    sh_ok(
        &lab,
        &format!("mkdir -p {dir} && printf '# fleet test\\n' > {fstab}"),
    );
    let mounted = |lab: &LabHost| {
        lab.sh(&format!("findmnt -n -r -o SOURCE,FSTYPE,OPTIONS {point}"))
            .1
            .trim()
            .to_string()
    };
    let params = |state: &str, opts: &str| {
        json!({"path": point, "src": "fleet-tmp", "fstype": "tmpfs", "opts": opts,
               "state": state, "fstab": fstab})
    };
    let check = lab.run("mount", params("mounted", "size=1m"), true);
    assert_status(&check, Status::Changed);
    assert_eq!(
        lab.sh(&format!("test -e {point}")).0,
        1,
        "check mode made no directory"
    );
    lab.converge("mount", params("mounted", "size=1m"));
    assert_eq!(
        sh_ok(&lab, &format!("cat {fstab}")),
        format!("# fleet test\nfleet-tmp {point} tmpfs size=1m 0 0")
    );
    let now = mounted(&lab);
    assert!(
        now.starts_with("fleet-tmp tmpfs rw,") && now.contains("size=1024k"),
        "{now}"
    );
    // New options: fstab rewritten, the mount remounted with them.
    lab.converge("mount", params("mounted", "size=2m"));
    assert!(mounted(&lab).contains("size=2048k"), "{}", mounted(&lab));
    let remounted = lab.run("mount", params("remounted", "size=3m"), false);
    assert_status(&remounted, Status::Changed);
    assert!(mounted(&lab).contains("size=3072k"), "{}", mounted(&lab));
    lab.converge("mount", params("unmounted", "size=2m"));
    assert_eq!(mounted(&lab), "");
    // `ephemeral` reports a change every time: mounted, then remounted.
    for _ in 0..2 {
        let ephemeral = lab.run("mount", params("ephemeral", "size=1m"), false);
        assert_status(&ephemeral, Status::Changed);
        assert!(mounted(&lab).contains("size=1024k"));
    }
    assert_eq!(
        sh_ok(&lab, &format!("cat {fstab}")),
        format!("# fleet test\nfleet-tmp {point} tmpfs size=2m 0 0"),
        "ephemeral leaves fstab alone"
    );
    lab.converge("mount", params("absent", "size=2m"));
    assert_eq!(mounted(&lab), "");
    assert_eq!(sh_ok(&lab, &format!("cat {fstab}")), "# fleet test");
    assert_eq!(
        lab.sh(&format!("test -e {point}")).0,
        1,
        "absent removes the mount point"
    );
    // A mount that fails puts fstab back and removes the directories it made.
    let bad = lab.run(
        "mount",
        json!({"path": format!("{dir}/new/point"), "src": "/dev/fleet-nope", "fstype": "ext4",
               "state": "mounted", "fstab": fstab}),
        false,
    );
    assert_status(&bad, Status::Failed);
    assert!(
        bad.msg
            .as_deref()
            .unwrap_or_default()
            .starts_with(&format!("Error mounting {dir}/new/point: ")),
        "{bad:?}"
    );
    assert_eq!(sh_ok(&lab, &format!("cat {fstab}")), "# fleet test");
    assert_eq!(lab.sh(&format!("test -e {dir}/new")).0, 1);
    sh_ok(&lab, &format!("rm -rf {dir}"));
}
