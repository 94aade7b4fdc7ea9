use super::*;
use crate::modules::tests::NoFiles;
use serde_json::json;

fn limits(params: Value) -> PamLimits {
    let params: PamLimitsParams = parse_params("pam_limits", params).unwrap();
    PamLimits { params }
}

fn nofile(value: Value) -> PamLimits {
    limits(json!({"domain": "app", "limit_type": "soft", "limit_item": "nofile", "value": value}))
}

#[test]
fn appends_a_missing_limit_with_tabs() {
    let edited = nofile(json!(65536))
        .edit("# header\n\n* hard core 0\n", true, "/f")
        .unwrap();
    assert!(edited.changed);
    assert_eq!(
        edited.text,
        "# header\n\n* hard core 0\napp\tsoft\tnofile\t65536\n"
    );
    assert_eq!(edited.line, "app\tsoft\tnofile\t65536\n");
}

#[test]
fn rewrites_the_matching_line_only_when_its_value_differs() {
    let text = "app   soft  nofile  1024\n@ops - nproc 10\n";
    let edited = nofile(json!("4096")).edit(text, true, "/f").unwrap();
    assert_eq!(edited.text, "app\tsoft\tnofile\t4096\n@ops - nproc 10\n");
    let same = nofile(json!("1024")).edit(text, true, "/f").unwrap();
    assert!(!same.changed);
    assert_eq!(same.text, text);
}

#[test]
fn use_max_and_use_min_keep_the_larger_or_smaller() {
    let text = "app soft nofile 2048\n";
    let mut max = nofile(json!("1024"));
    max.params.use_max = true;
    assert!(!max.edit(text, true, "/f").unwrap().changed);
    max.params.value = "unlimited".into();
    assert_eq!(
        max.edit(text, true, "/f").unwrap().text,
        "app\tsoft\tnofile\tunlimited\n"
    );
    let mut min = nofile(json!("1024"));
    min.params.use_min = true;
    assert_eq!(
        min.edit(text, true, "/f").unwrap().text,
        "app\tsoft\tnofile\t1024\n"
    );
    assert!(
        !min.edit("app soft nofile 10\n", true, "/f")
            .unwrap()
            .changed
    );
}

#[test]
fn comments_are_written_after_a_tab_and_hash() {
    let mut module = nofile(json!("10"));
    module.params.comment = "for app".into();
    assert_eq!(
        module.edit("", false, "/f").unwrap().text,
        "app\tsoft\tnofile\t10\t#for app\n"
    );
    assert!(
        module.edit("", false, "/f").unwrap().changed,
        "a new file is a change"
    );
}

#[test]
fn an_invalid_value_in_the_file_fails() {
    let err = nofile(json!("10"))
        .edit("* soft nofile lots\n", true, "/f")
        .unwrap_err();
    assert!(
        err.starts_with("Invalid configuration found in '/f'."),
        "{err}"
    );
}

#[test]
fn refuses_what_ansible_refuses() {
    let bad = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
    let base = |item: &str, value: &str| json!({"domain": "*", "limit_type": "soft", "limit_item": item, "value": value});
    assert!(bad(base("nofile", "lots")).contains("is invalid"));
    assert!(bad(base("nice", "20")).contains("-20 to 19"));
    assert!(bad(base("files", "1")).contains("limit_item must be one of"));
    assert!(
        bad(json!({"domain": "*", "limit_type": "both", "limit_item": "nofile", "value": "1"}))
            .contains("limit_type")
    );
    let mut both = base("nofile", "1");
    both["use_max"] = json!(true);
    both["use_min"] = json!(true);
    assert!(bad(both).contains("use_min and use_max"));
    assert!(build(base("nice", "-5"), &NoFiles).is_ok());
}

#[test]
fn plans_an_upload_keeping_the_mode() {
    let module = nofile(json!("10"));
    let plan = module.plan(&Probe::ok("mode=600\ncontent=\n")).unwrap();
    let Step::Upload { mode, contents, .. } = &plan.steps[0] else {
        panic!("{:?}", plan.steps);
    };
    assert_eq!(
        (*mode, contents.as_slice()),
        (0o600, &b"app\tsoft\tnofile\t10\n"[..])
    );
    assert!(module.plan(&Probe::ok("")).is_err(), "no parent directory");
}
