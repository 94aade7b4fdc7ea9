use super::*;
use crate::Step;
use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
use crate::modules::tests::NoFiles;
use base64::Engine;
use serde_json::json;

fn mount(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

const MOUNTINFO: &str = "\
1021 1000 0:50 / / rw,relatime - overlay overlay rw\n\
1030 1021 0:60 / /srv/data rw,relatime - tmpfs fleet-tmp rw,size=1024k\n\
1031 1021 0:50 /srv/src /srv/bound rw,relatime - overlay overlay rw\n";

fn probe(fstab: Option<&str>, mounted: bool, exists: bool) -> Probe {
    let mut out = String::new();
    if let Some(fstab) = fstab {
        out.push_str(&format!("fstab={}\nfstab_mode=644\n", b64(fstab)));
    }
    if exists {
        out.push_str("exists=1\n");
        out.push_str(if mounted {
            "self=60:1\nparent=50:2\n"
        } else {
            "self=50:3\nparent=50:2\n"
        });
        out.push_str(&format!("ancestor={}\n", b64("/srv/data")));
    } else {
        out.push_str(&format!("ancestor={}\n", b64("/srv")));
    }
    out.push_str(&format!("mountinfo={}\n", b64(MOUNTINFO)));
    Probe::ok(&out)
}

#[test]
fn fstab_lines_are_written_as_ansible_writes_them() {
    let entry = Entry {
        src: Some("fleet tmp".into()),
        name: "/srv/data".into(),
        fstype: Some("tmpfs".into()),
        opts: "size=1m".into(),
        dump: Some("0".into()),
        passno: Some("0".into()),
    };
    let (after, old, changed) = entry.set("# fstab\nproc /proc proc defaults 0 0");
    assert!(changed);
    assert_eq!(old, "# fstab\nproc /proc proc defaults 0 0\n");
    assert_eq!(
        after,
        "# fstab\nproc /proc proc defaults 0 0\nfleet\\040tmp /srv/data tmpfs size=1m 0 0\n"
    );
    assert_eq!(entry.set(&after), (after.clone(), after.clone(), false));
    // A line of four fields is always rewritten (its dump is the number 0),
    // and comments after the fields go.
    let (after, _, changed) = entry.set("fleet\\040tmp /srv/data tmpfs size=1m # mine\n");
    assert!(changed);
    assert_eq!(after, "fleet\\040tmp /srv/data tmpfs size=1m 0 0\n");
    let (after, changed) = entry.unset("a /srv/data tmpfs x 0 0\nb /srv/data tmpfs x\n#c\n");
    assert!(changed);
    assert_eq!(after, "b /srv/data tmpfs x\n#c\n");
}

#[test]
fn mountinfo_gives_a_bind_mount_its_directory() {
    let mounts = super::super::mount_fstab::linux_mounts(MOUNTINFO);
    assert_eq!(mounts["/srv/data"].src, "/");
    assert_eq!(mounts["/srv/bound"].src, "/srv/src");
    assert_eq!(mounts["/"].src, "overlay");
}

#[test]
fn mounted_writes_fstab_and_mounts() {
    let module = mount(
        json!({"path": "/srv/data/x", "src": "fleet-tmp", "fstype": "tmpfs",
                               "opts": "size=1m", "state": "mounted", "boot": false}),
    );
    let plan = module
        .plan(&probe(Some("# fstab\n"), false, false))
        .unwrap();
    assert!(plan.changed);
    assert_eq!(
        scripts(&plan.steps[..1]),
        ["p=/srv/data/x\nf=/etc/fstab\nmkdir -p -- \"$p\"\n"]
    );
    assert_eq!(
        plan.steps[1],
        Step::Upload {
            dest: "/etc/fstab".into(),
            contents: b"# fstab\nfleet-tmp /srv/data/x tmpfs size=1m,noauto 0 0\n".to_vec(),
            mode: 0o644,
            owner: None
        }
    );
    let text = plan.steps[2].script_text().unwrap();
    assert!(text.contains("mount -- \"$p\"\n"), "{text}");
    assert!(text.contains("c='/srv/data/x\n/srv/data'\n"), "{text}");
    assert_eq!(plan.data["boot"], json!("no"));
    assert_eq!(plan.data["opts"], json!("size=1m,noauto"));
    assert!(plan.diff.unwrap().ends_with("mounted: /srv/data/x\n"));
}

#[test]
fn a_failed_mount_puts_fstab_back_and_removes_the_new_directories() {
    let module = mount(json!({"path": "/srv/new/a", "src": "x", "fstype": "nope",
                               "state": "mounted", "fstab": "/srv/fstab"}));
    let plan = module
        .plan(&Probe::ok(&format!(
            "fstab={}\nancestor={}\n",
            b64("old"),
            b64("/srv")
        )))
        .unwrap();
    let text = plan.steps.last().unwrap().script_text().unwrap();
    assert!(text.contains("c='/srv/new/a\n/srv/new'\n"), "{text}");
    assert!(text.contains("mount -T \"$f\" -- \"$p\"\n"), "{text}");
    let stubs = "mount() { echo 'mount: unknown filesystem type' >&2; return 32; }\n\
                 rmdir() { echo \"rmdir $*\"; }\n\
                 cd \"$(mktemp -d)\"; f=./fstab\n";
    let mut script = String::from(stubs);
    script.push_str(&text.replace("f=/srv/fstab\n", ""));
    let out = run(
        "",
        &Script::new().snippet(Box::leak(script.into_boxed_str())),
        b"old\n",
    );
    assert_eq!(out.rc, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "Error mounting /srv/new/a: mount: unknown filesystem type\n"
    );
    assert_eq!(out.stdout, "rmdir -- /srv/new/a\nrmdir -- /srv/new\n");
}

#[test]
fn an_equal_mount_is_no_change_and_a_changed_one_is_remounted() {
    let fstab = "fleet-tmp /srv/data tmpfs size=1m 0 0\n";
    let params = json!({"path": "/srv/data", "src": "fleet-tmp", "fstype": "tmpfs",
                        "opts": "size=1m", "state": "mounted"});
    let plan = mount(params).plan(&probe(Some(fstab), true, true)).unwrap();
    assert!(!plan.changed);
    assert!(plan.steps.is_empty());
    let params = json!({"path": "/srv/data", "src": "fleet-tmp", "fstype": "tmpfs",
                        "opts": "size=2m", "state": "mounted"});
    let plan = mount(params).plan(&probe(Some(fstab), true, true)).unwrap();
    assert!(plan.changed);
    let text = plan.steps[1].script_text().unwrap();
    assert!(text.contains("mount -o remount -- \"$p\"\n"), "{text}");
    assert!(text.contains("umount -- \"$p\"\n"), "{text}");
    let out = run_step(&argv_stubs(&["mount", "umount"]), &plan.steps[1]);
    assert_eq!(out.rc, 0, "{out:?}");
}

#[test]
fn unmounted_absent_and_remounted() {
    let fstab = "fleet-tmp /srv/data tmpfs size=1m 0 0\n";
    let plan = mount(json!({"path": "/srv/data", "state": "unmounted"}))
        .plan(&probe(Some(fstab), true, true))
        .unwrap();
    assert!(plan.changed);
    assert!(
        plan.steps[0]
            .script_text()
            .unwrap()
            .contains("umount -- \"$p\"")
    );
    let plan = mount(json!({"path": "/srv/other", "state": "unmounted"}))
        .plan(&probe(Some(fstab), false, true))
        .unwrap();
    assert!(!plan.changed);
    let plan = mount(json!({"path": "/srv/data", "state": "absent"}))
        .plan(&probe(Some(fstab), true, true))
        .unwrap();
    assert_eq!(plan.steps.len(), 3, "{:?}", plan.steps);
    assert!(
        plan.steps[2]
            .script_text()
            .unwrap()
            .contains("rmdir -- \"$p\"")
    );
    // Not in fstab: absent does nothing, not even unmount.
    let plan = mount(json!({"path": "/srv/other", "state": "absent"}))
        .plan(&probe(Some(fstab), true, true))
        .unwrap();
    assert!(!plan.changed && plan.steps.is_empty());
    let plan = mount(json!({"path": "/srv/data", "state": "remounted", "opts": "ro"}))
        .plan(&probe(Some(fstab), true, true))
        .unwrap();
    let text = plan.steps[0].script_text().unwrap();
    assert!(text.contains("mount -o remount,ro -- \"$p\""), "{text}");
    assert!(
        text.contains("Options were specified with remounted"),
        "{text}"
    );
    assert!(!text.contains("umount"), "{text}");
}

#[test]
fn ephemeral_mounts_without_fstab() {
    let params = json!({"path": "/srv/data", "src": "fleet-tmp", "fstype": "tmpfs",
                        "opts": "size=1m", "state": "ephemeral"});
    let module = mount(params);
    let plan = module.plan(&probe(None, false, true)).unwrap();
    assert!(plan.changed);
    assert_eq!(plan.steps.len(), 1, "{:?}", plan.steps);
    let text = plan.steps[0].script_text().unwrap();
    assert!(
        text.contains("mount -t tmpfs -o 'size=1m' -- fleet-tmp \"$p\""),
        "{text}"
    );
    // Mounted from elsewhere: refused.
    let err = module.plan(&probe(None, true, true)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Ephemeral mount point is already mounted")
    );
    let mut same = probe(None, true, true);
    same.stdout.push_str(&format!(
        "mount_v={}\n",
        b64("fleet-tmp on /srv/data type tmpfs (rw)\n")
    ));
    let plan = module.plan(&same).unwrap();
    assert!(
        plan.steps[0]
            .script_text()
            .unwrap()
            .contains("mount -o remount -t tmpfs")
    );
}

#[test]
fn rejects_bad_params() {
    for (params, message) in [
        (
            json!({"path": "/m", "state": "mounted"}),
            "state is mounted but all of the following are missing: src, fstype",
        ),
        (
            json!({"path": "/m", "state": "present", "src": "a"}),
            "missing: fstype",
        ),
        (json!({"path": "/m", "state": "on"}), "unknown variant"),
        (json!({"path": "/m"}), "missing field `state`"),
        (
            json!({"path": "/m", "state": "absent", "nofail": true}),
            "unknown field",
        ),
    ] {
        let err = build(params, &NoFiles).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
    assert!(
        build(
            json!({"name": "/m", "state": "absent", "dump": 1}),
            &NoFiles
        )
        .is_ok()
    );
}
