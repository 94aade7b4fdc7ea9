//! `cron`, in a user's crontab and in a file under /etc/cron.d.

use fleet_engine::Status;
use fleet_tests::module_harness::assert_status;
use serde_json::json;

use super::{apt_install, host, sh_ok};

#[test]
fn cron_manages_jobs_and_variables_in_crontabs_and_cron_files() {
    let lab = host();
    apt_install(&lab, "cron");
    let user = "fleet-cron";
    let file = "/etc/cron.d/fleet-admin-cron";
    lab.sh(&format!(
        "crontab -r -u {user} 2>/dev/null; userdel -r {user} 2>/dev/null; rm -f {file}; true"
    ));
    sh_ok(&lab, &format!("useradd -m {user}"));
    let table = || lab.sh(&format!("crontab -l -u {user}")).1;

    let job = json!({"name": "report", "minute": 15, "hour": "3", "job": "/usr/bin/true report", "user": user});
    let check = lab.run("cron", job.clone(), true);
    assert_status(&check, Status::Changed);
    assert!(table().is_empty(), "check mode wrote nothing");
    let first = lab.converge("cron", job);
    assert_eq!(first.data["jobs"], json!(["report"]));
    lab.converge(
        "cron",
        json!({"name": "MAILTO", "env": true, "job": "", "user": user}),
    );
    lab.converge(
        "cron",
        json!({"name": "report", "special_time": "weekly", "job": "/usr/bin/true report", "user": user}),
    );
    assert_eq!(
        table(),
        "MAILTO=\"\"\n#Ansible: report\n@weekly /usr/bin/true report\n"
    );
    lab.converge(
        "cron",
        json!({"name": "report", "state": "absent", "user": user}),
    );
    assert_eq!(table(), "MAILTO=\"\"\n");

    let in_file = json!({"name": "sweep", "cron_file": "fleet-admin-cron", "user": "root",
                         "minute": "*/5", "job": "find /tmp -mtime +7 -delete"});
    lab.converge("cron", in_file);
    assert_eq!(
        sh_ok(&lab, &format!("cat {file}; stat -c %a {file}")),
        "#Ansible: sweep\n*/5 * * * * root find /tmp -mtime +7 -delete\n644"
    );
    lab.converge(
        "cron",
        json!({"name": "sweep", "cron_file": "fleet-admin-cron", "state": "absent"}),
    );
    assert_eq!(
        lab.sh(&format!("test -e {file}")).0,
        1,
        "emptied file removed"
    );
    sh_ok(&lab, &format!("crontab -r -u {user}; userdel -r {user}"));
}
