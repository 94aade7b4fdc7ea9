use super::*;
use crate::modules::command::stub_sh::scripts;
use crate::modules::tests::NoFiles;
use base64::Engine;
use serde_json::json;

fn cron(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn with(content: &str) -> Probe {
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    Probe::ok(&format!("content={encoded}\n"))
}

fn written(plan: &Plan) -> String {
    match plan.steps.last().unwrap() {
        Step::Run {
            stdin: Some(stdin), ..
        } => String::from_utf8(stdin.bytes().to_vec()).unwrap(),
        Step::Upload { contents, .. } => String::from_utf8(contents.clone()).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn adds_a_job_under_its_marker_through_crontab() {
    let module = cron(
        json!({"name": "backup", "minute": 0, "hour": "2", "job": "/usr/local/bin/backup", "user": "app"}),
    );
    assert!(
        module
            .probe()
            .unwrap()
            .as_str()
            .contains("crontab -u \"$u\" -l")
    );
    let plan = module.plan(&Probe::ok("")).unwrap();
    assert!(plan.changed);
    assert_eq!(
        written(&plan),
        "#Ansible: backup\n0 2 * * * /usr/local/bin/backup\n"
    );
    assert!(
        plan.steps[0]
            .script_text()
            .unwrap()
            .contains("crontab -u app -")
    );
    assert_eq!(plan.data["jobs"], json!(["backup"]));
    let again = module
        .plan(&with("#Ansible: backup\n0 2 * * * /usr/local/bin/backup\n"))
        .unwrap();
    assert!(!again.changed);
}

#[test]
fn changes_the_line_after_the_marker_in_place() {
    let module = cron(json!({"name": "a", "special_time": "daily", "job": "run"}));
    let plan = module
        .plan(&with("MAILTO=x\n#Ansible: a\n* * * * * old\n# mine\n"))
        .unwrap();
    assert_eq!(
        written(&plan),
        "MAILTO=x\n#Ansible: a\n@daily run\n# mine\n"
    );
    assert!(plan.diff.unwrap().contains("+@daily run"));
}

#[test]
fn disabled_jobs_are_commented_and_cron_files_name_the_user() {
    let module = cron(
        json!({"name": "x", "job": "true", "cron_file": "fleet", "user": "root",
                             "weekday": "1-5", "disabled": true}),
    );
    assert!(
        module
            .probe()
            .unwrap()
            .as_str()
            .contains("f=/etc/cron.d/fleet")
    );
    let plan = module.plan(&Probe::ok("")).unwrap();
    let Step::Upload { dest, mode, .. } = &plan.steps[0] else {
        panic!("{:?}", plan.steps);
    };
    assert_eq!((dest.as_str(), *mode), ("/etc/cron.d/fleet", 0o644));
    assert_eq!(written(&plan), "#Ansible: x\n#* * * * 1-5 root true\n");
    assert_eq!(plan.data["cron_file"], json!("fleet"));
}

#[test]
fn absent_removes_the_job_and_an_emptied_cron_file() {
    let module = cron(json!({"name": "a", "state": "absent"}));
    let plan = module
        .plan(&with(
            "#Ansible: a\n* * * * * x\n#Ansible: b\n1 * * * * y\n",
        ))
        .unwrap();
    assert_eq!(written(&plan), "#Ansible: b\n1 * * * * y\n");
    assert!(
        !module
            .plan(&with("#Ansible: b\n1 * * * * y\n"))
            .unwrap()
            .changed
    );

    let file = cron(json!({"name": "a", "state": "absent", "cron_file": "/etc/cron.d/f"}));
    let plan = file.plan(&with("#Ansible: a\n* * * * * root x\n")).unwrap();
    assert_eq!(scripts(&plan.steps), ["rm -f -- /etc/cron.d/f\n"]);
    assert!(!file.plan(&Probe::ok("")).unwrap().changed);
}

#[test]
fn variables_are_quoted_lines_first_in_the_table() {
    let module = cron(json!({"name": "MAILTO", "env": true, "job": "ops@example.com"}));
    let plan = module.plan(&with("#Ansible: a\n* * * * * x\n")).unwrap();
    assert_eq!(
        written(&plan),
        "MAILTO=\"ops@example.com\"\n#Ansible: a\n* * * * * x\n"
    );
    assert_eq!(plan.data["envs"], json!(["MAILTO"]));
    assert!(
        !module
            .plan(&with("MAILTO=\"ops@example.com\"\n"))
            .unwrap()
            .changed
    );
    let gone = cron(json!({"name": "MAILTO", "env": true, "state": "absent"}));
    assert_eq!(written(&gone.plan(&with("MAILTO=\"x\"\n")).unwrap()), "");
}

#[test]
fn a_table_without_a_final_newline_is_rewritten() {
    let module = cron(json!({"name": "a", "job": "x"}));
    let plan = module.plan(&with("#Ansible: a\n* * * * * x")).unwrap();
    assert!(plan.changed);
    assert_eq!(written(&plan), "#Ansible: a\n* * * * * x\n");
}

#[test]
fn backup_saves_the_old_table_first() {
    let module = cron(json!({"name": "a", "job": "x", "backup": true}));
    let plan = module.plan(&with("# keep\n")).unwrap();
    assert_eq!(plan.steps.len(), 2);
    assert!(
        plan.steps[0]
            .script_text()
            .unwrap()
            .contains("mktemp /tmp/crontab")
    );
}

#[test]
fn a_missing_crontab_fails() {
    let err = cron(json!({"name": "a", "job": "x"}))
        .plan(&Probe::ok("nocrontab=1\n"))
        .unwrap_err();
    assert!(err.to_string().contains("crontab"), "{err}");
}

#[test]
fn refuses_what_ansible_refuses() {
    let bad = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
    assert!(bad(json!({"name": "a"})).contains("You must specify 'job'"));
    assert!(
        bad(json!({"name": "a", "job": "x", "special_time": "daily", "hour": "1"}))
            .contains("special time")
    );
    assert!(bad(json!({"name": "a", "job": "x", "cron_file": "f"})).contains("user="));
    assert!(
        bad(json!({"name": "a", "job": "x", "cron_file": "/etc/crontab", "user": "r"}))
            .contains("/etc/crontab")
    );
    assert!(bad(json!({"name": "a b", "job": "x", "env": true})).contains("environment"));
    assert!(bad(json!({"name": "a", "job": "x", "insertafter": "B"})).contains("env=yes"));
    assert!(
        bad(json!({"name": "a", "job": "x", "special_time": "often"})).contains("unknown variant")
    );
    assert!(
        bad(json!({"name": "a", "job": "x", "weekdays": "1"})).contains("unknown field `weekdays`")
    );
}
