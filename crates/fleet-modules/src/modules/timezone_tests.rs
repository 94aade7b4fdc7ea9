use super::*;
use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
use crate::modules::tests::NoFiles;
use base64::Engine;
use serde_json::json;

fn timezone(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

const STATUS: &str = "               Local time: Tue 2025-01-07 10:00:00 UTC\n\
                      Universal time: Tue 2025-01-07 10:00:00 UTC\n\
                      RTC time: n/a\n\
                      Time zone: Etc/UTC (UTC, +0000)\n\
                      System clock synchronized: no\n\
                      NTP service: n/a\n\
                      RTC in local TZ: no\n";

fn systemd_probe(status: &str) -> Probe {
    Probe::ok(&format!(
        "timedatectl=/usr/bin/timedatectl\nstatus={}\nzone=1\ndpkg=1\n",
        b64(status)
    ))
}

fn output(stdout: &str) -> StepOutput {
    StepOutput {
        rc: 0,
        stdout: stdout.into(),
        stderr: String::new(),
    }
}

#[test]
fn reads_timedatectl_status() {
    assert_eq!(
        from_status(STATUS),
        (Some("UTC".into()), Some("Etc/UTC".into()))
    );
    assert_eq!(
        from_status("Timezone: Europe/Paris\nRTC in local TZ: yes\n"),
        (Some("local".into()), Some("Europe/Paris".into()))
    );
}

#[test]
fn systemd_sets_the_rtc_then_the_zone() {
    let module = timezone(json!({"name": "Europe/Paris", "rtc": "local"}));
    let plan = module.plan(&systemd_probe(STATUS)).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [
            "timedatectl set-local-rtc yes\n",
            "timedatectl set-timezone -- Europe/Paris\n",
            "LANGUAGE=C LC_ALL=C timedatectl status\n",
        ]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("hwclock: UTC -> local\nname: Etc/UTC -> Europe/Paris\n")
    );
    assert_eq!(
        plan.msg.as_deref(),
        Some(
            "executed `/usr/bin/timedatectl set-local-rtc yes`\n\
             executed `/usr/bin/timedatectl set-timezone Europe/Paris`"
        )
    );
    let done = output("Time zone: Europe/Paris (CET, +0100)\nRTC in local TZ: yes\n");
    assert!(module.outcome(&[output(""), output(""), done]).is_ok());
    let err = module
        .outcome(&[output(""), output(""), output(STATUS)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error message:\nstill not desired state, though changes have made - planned: \
         {'hwclock': 'local', 'name': 'Europe/Paris'}, after: {'hwclock': 'UTC', 'name': 'Etc/UTC'}"
    );
}

#[test]
fn the_same_zone_is_no_change() {
    let module = timezone(json!({"name": "Etc/UTC", "hwclock": "UTC"}));
    assert_eq!(
        module.plan(&systemd_probe(STATUS)).unwrap(),
        Plan::unchanged()
    );
}

#[test]
fn an_unknown_zone_fails() {
    let module = timezone(json!({"name": "Mars/Olympus"}));
    let err = module
        .plan(&Probe::ok("timedatectl=/usr/bin/timedatectl\n"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error message:\ngiven timezone \"Mars/Olympus\" is not available"
    );
}

#[test]
fn debian_without_systemd_edits_its_files() {
    let module = timezone(json!({"name": "Europe/Paris", "hwclock": "local"}));
    let probe = Probe::ok(&format!(
        "zone=1\ndpkg=1\nhwclock=/usr/sbin/hwclock\ntimezone={}\nrcs={}\nlink={}\nlink_ok=1\n",
        b64("Etc/UTC\n"),
        b64("# rcS\nUTC=yes\nVERBOSE=no\n"),
        b64("/usr/share/zoneinfo/Etc/UTC\n"),
    ));
    let plan = module.plan(&probe).unwrap();
    assert_eq!(
        plan.steps[0],
        Step::Upload {
            dest: "/etc/default/rcS".into(),
            contents: b"# rcS\nUTC=no\nVERBOSE=no\n".to_vec(),
            mode: 0o644,
            owner: None
        }
    );
    assert_eq!(
        plan.steps[2],
        Step::Upload {
            dest: "/etc/timezone".into(),
            contents: b"Europe/Paris\n".to_vec(),
            mode: 0o644,
            owner: None
        }
    );
    assert_eq!(
        scripts(&[plan.steps[1].clone(), plan.steps[3].clone()]),
        [
            "hwclock --systohc --localtime\n",
            "ln -sf -- /usr/share/zoneinfo/Europe/Paris /etc/localtime && \
             dpkg-reconfigure --frontend noninteractive -- tzdata\n",
        ]
    );
    assert_eq!(
        plan.msg.as_deref(),
        Some(
            "Added 1 line and deleted 1 line(s) on /etc/default/rcS\n\
             executed `/usr/sbin/hwclock --systohc --localtime`\n\
             Added 1 line and deleted 1 line(s) on /etc/timezone"
        )
    );
    // /etc/timezone names the zone but the link points elsewhere.
    let module = timezone(json!({"name": "Europe/Paris"}));
    let probe = Probe::ok(&format!(
        "zone=1\ndpkg=1\ntimezone={}\nlink={}\nlink_ok=1\n",
        b64("Europe/Paris\n"),
        b64("../usr/share/zoneinfo/Etc/UTC\n"),
    ));
    let plan = module.plan(&probe).unwrap();
    assert_eq!(
        plan.diff.as_deref(),
        Some("name: Etc/UTC -> Europe/Paris\n")
    );
    let probe = Probe::ok(&format!(
        "zone=1\ndpkg=1\ntimezone={}\nlink={}\nlink_ok=1\n",
        b64("Europe/Paris\n"),
        b64("/usr/share/zoneinfo/Europe/Paris\n"),
    ));
    assert!(!module.plan(&probe).unwrap().changed);
    // A copy of the zone file, not a link, is compared by content.
    let probe = Probe::ok(&format!(
        "zone=1\ndpkg=1\ntimezone={}\n",
        b64("Europe/Paris\n")
    ));
    assert!(module.plan(&probe).unwrap().changed);
    let probe = Probe::ok(&format!(
        "zone=1\ndpkg=1\ntimezone={}\nsame=1\n",
        b64("Europe/Paris\n")
    ));
    assert!(!module.plan(&probe).unwrap().changed);
    // Neither systemd nor Debian.
    let err = module.plan(&Probe::ok("zone=1\n")).unwrap_err();
    assert!(err.to_string().contains("timedatectl"), "{err}");
}

#[test]
fn edit_file_replaces_the_first_match_and_drops_the_rest() {
    let matches = |l: &str| l.starts_with("UTC");
    assert_eq!(
        edit_file("a\nUTC=1\nb\nUTC=2\n", matches, "UTC=no\n"),
        ("a\nUTC=no\nb\n".to_string(), 2)
    );
    assert_eq!(
        edit_file("a\nb", matches, "UTC=no\n"),
        ("UTC=no\na\nb".to_string(), 0)
    );
    assert_eq!(
        edit_file("", matches, "UTC=no\n"),
        ("UTC=no\n".to_string(), 0)
    );
}

#[test]
fn the_zone_stays_data() {
    let module = timezone(json!({"name": "$(id) -x"}));
    let out = run(
        &argv_stubs(&["timedatectl", "command", "cmp", "readlink"]),
        &module.probe().unwrap(),
        b"",
    );
    assert_eq!(out.rc, 0, "{out:?}");
    let plan = module.plan(&systemd_probe(STATUS)).unwrap();
    let out = run_step(&argv_stubs(&["timedatectl"]), &plan.steps[0]);
    assert_eq!(out.stdout, "timedatectl [set-timezone] [--] [$(id) -x]\n");
}

#[test]
fn rejects_bad_params() {
    for (params, message) in [
        (json!({}), "one of the following is required: hwclock, name"),
        (
            json!({"hwclock": "utc"}),
            "must be one of: local, UTC, got: utc",
        ),
        (json!({"name": ""}), "non-empty"),
        (json!({"name": "UTC", "zone": "x"}), "unknown field"),
    ] {
        let err = build(params, &NoFiles).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
}
