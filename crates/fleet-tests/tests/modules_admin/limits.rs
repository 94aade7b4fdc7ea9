//! `pam_limits`, on a limits file of its own.

use fleet_engine::Status;
use fleet_tests::module_harness::assert_status;
use serde_json::json;

use super::{host, sh_ok};

#[test]
fn pam_limits_appends_and_rewrites_limit_lines() {
    let lab = host();
    let dir = "/srv/fleet-admin-limits";
    let file = format!("{dir}/limits.conf");
    sh_ok(
        &lab,
        &format!(
            "rm -rf {dir} && mkdir -p {dir} && printf '# limits\\n*   hard   core   0\\n' > {file} && chmod 640 {file}"
        ),
    );
    let limit = |value: &str| {
        json!({"domain": "app", "limit_type": "soft", "limit_item": "nofile",
               "value": value, "dest": file, "comment": "fleet"})
    };
    let check = lab.run("pam_limits", limit("4096"), true);
    assert_status(&check, Status::Changed);
    assert!(
        check
            .diff
            .unwrap_or_default()
            .contains("+app\tsoft\tnofile\t4096\t#fleet")
    );
    lab.converge("pam_limits", limit("4096"));
    lab.converge("pam_limits", limit("8192"));
    let raised = lab.run(
        "pam_limits",
        json!({"domain": "app", "limit_type": "soft", "limit_item": "nofile",
               "value": "1024", "dest": file, "use_max": true}),
        false,
    );
    assert_status(&raised, Status::Ok);
    assert_eq!(
        sh_ok(&lab, &format!("cat {file}; stat -c %a {file}")),
        "# limits\n*   hard   core   0\napp\tsoft\tnofile\t8192\t#fleet\n640"
    );
    let new_file = format!("{dir}/new.conf");
    lab.converge(
        "pam_limits",
        json!({"domain": "@ops", "limit_type": "-", "limit_item": "nice", "value": -5, "dest": new_file}),
    );
    assert_eq!(sh_ok(&lab, &format!("cat {new_file}")), "@ops\t-\tnice\t-5");
    sh_ok(&lab, &format!("rm -rf {dir}"));
}
