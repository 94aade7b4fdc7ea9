//! `script`: the controller's script runs on the host from a temp copy
//! that is removed after.

use fleet_engine::Status;
use fleet_tests::module_harness::assert_status;
use serde_json::json;

use super::{host_with_files, sh_ok};

const REPORT: &str = "#!/bin/sh\n\
    echo \"args=$1|$2\"\n\
    echo \"to stderr\" >&2\n\
    pwd > ran-in\n\
    exit \"${3:-0}\"\n";

#[test]
fn script_uploads_runs_and_removes_the_script() {
    let files = fleet_tests::scratch_dir("modules_remote/script");
    std::fs::create_dir_all(files.join("files")).unwrap();
    std::fs::write(files.join("files/report.sh"), REPORT).unwrap();
    std::fs::write(
        files.join("files/bashism.sh"),
        "echo \"${BASH_VERSION:+bash}\"\n",
    )
    .unwrap();
    let lab = host_with_files(&files);
    let dir = "/srv/fleet-remote-script";
    sh_ok(&lab, &format!("rm -rf {dir} && mkdir -p {dir}"));
    let leftovers = "ls -d /tmp/fleet-script-* 2>/dev/null | wc -l";
    let before = sh_ok(&lab, leftovers);

    let ran = lab.run(
        "script",
        json!({"cmd": "files/report.sh 'a b' $((2 + 3))", "chdir": dir}),
        false,
    );
    assert_status(&ran, Status::Changed);
    assert_eq!(ran.rc, Some(0));
    assert_eq!(ran.stdout, "args=a b|5\n");
    assert_eq!(ran.stderr, "to stderr\n");
    assert_eq!(sh_ok(&lab, &format!("cat {dir}/ran-in")), dir);
    assert_eq!(sh_ok(&lab, leftovers), before, "the temp copy is removed");

    // creates/removes skip the task; check mode runs nothing.
    let skipped = lab.run(
        "script",
        json!({"cmd": "files/report.sh", "creates": format!("{dir}/ran-in")}),
        false,
    );
    assert_status(&skipped, Status::Skipped);
    assert_eq!(
        skipped.msg.as_deref(),
        Some("/srv/fleet-remote-script/ran-in exists, matching creates option")
    );
    sh_ok(&lab, &format!("rm {dir}/ran-in"));
    let check = lab.run(
        "script",
        json!({"cmd": "files/report.sh", "chdir": dir}),
        true,
    );
    assert_status(&check, Status::Skipped);
    let check = lab.run(
        "script",
        json!({"cmd": "files/report.sh", "chdir": dir, "removes": dir}),
        true,
    );
    assert_status(&check, Status::Changed);
    assert_eq!(lab.sh(&format!("test -e {dir}/ran-in")).0, 1, "nothing ran");

    // A failing script fails the task with its exit code, and is gone too.
    let failed = lab.run(
        "script",
        json!({"cmd": "files/report.sh x y 3", "chdir": dir}),
        false,
    );
    assert_status(&failed, Status::Failed);
    assert_eq!(failed.rc, Some(3));
    assert!(failed.failed_after_change);
    assert_eq!(sh_ok(&lab, leftovers), before);

    let bash = lab.run(
        "script",
        json!({"cmd": "files/bashism.sh", "executable": "/bin/bash"}),
        false,
    );
    assert_status(&bash, Status::Changed);
    assert_eq!(bash.stdout.trim(), "bash");
    sh_ok(&lab, &format!("rm -rf {dir}"));
}
