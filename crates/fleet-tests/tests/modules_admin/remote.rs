//! `raw` and `slurp`.

use fleet_engine::Status;
use fleet_tests::module_harness::assert_status;
use serde_json::json;

use super::{host, sh_ok};

#[test]
fn raw_runs_the_line_and_slurp_reads_a_file_back() {
    let lab = host();
    let dir = "/srv/fleet-admin-remote";
    sh_ok(&lab, &format!("rm -rf {dir} && mkdir -p {dir}"));

    let line = format!("printf 'from raw\\n' > {dir}/note && echo $((6 * 7))");
    assert_status(&lab.run("raw", json!({"cmd": line}), true), Status::Skipped);
    assert_eq!(
        lab.sh(&format!("test -e {dir}/note")).0,
        1,
        "check mode ran nothing"
    );
    let ran = lab.run("raw", json!({"cmd": line}), false);
    assert_status(&ran, Status::Changed);
    assert_eq!(ran.stdout.trim(), "42");
    let bash = lab.run(
        "raw",
        json!({"cmd": "echo ${BASH_VERSION:+bash}", "executable": "/bin/bash"}),
        false,
    );
    assert_eq!(bash.stdout.trim(), "bash");
    assert_status(
        &lab.run("raw", json!({"cmd": "exit 3"}), false),
        Status::Failed,
    );

    let read = lab.run("slurp", json!({"src": format!("{dir}/note")}), false);
    assert_status(&read, Status::Ok);
    assert_eq!(read.data["content"], json!("ZnJvbSByYXcK"));
    assert_eq!(read.data["encoding"], json!("base64"));
    let missing = lab.run("slurp", json!({"path": format!("{dir}/nope")}), true);
    assert_status(&missing, Status::Failed);
    sh_ok(&lab, &format!("rm -rf {dir}"));
}
