use super::*;
use crate::Step;
use crate::modules::content_file::sha256_hex;
use crate::modules::tests::NoFiles;
use base64::Engine;
use serde_json::json;

fn module(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn error(params: Value) -> String {
    build(params, &NoFiles).unwrap_err().to_string()
}

fn file(content: &str) -> Probe {
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    Probe::ok(&format!(
        "path=/etc/app.conf\nme=0:0\nparent=1\nkind=file\nmode=644\nuid=0\ngid=0\n\
         owner=root\ngroup=root\nsize={}\nreal=/etc/app.conf\nsha256={}\ncontent={encoded}\n",
        content.len(),
        sha256_hex(content.as_bytes())
    ))
}

fn uploaded(plan: &Plan) -> String {
    match &plan.steps[..] {
        [Step::Upload { contents, .. }] => String::from_utf8(contents.clone()).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_match_is_replaced_with_groups() {
    let module = module(json!({
        "path": "/etc/app.conf",
        "regexp": r"^(\w+) = old$",
        "replace": r"\1 = new",
    }));
    let plan = module.plan(&file("a = old\nb = old\nc = keep\n")).unwrap();
    assert!(plan.changed);
    assert_eq!(plan.msg.as_deref(), Some("2 replacements made"));
    assert_eq!(uploaded(&plan), "a = new\nb = new\nc = keep\n");
    assert!(
        plan.diff
            .unwrap()
            .contains("-a = old\n-b = old\n+a = new\n+b = new\n")
    );
    assert_eq!(plan.data["rc"], json!(0));
    let done = module.plan(&file("a = new\nc = keep\n")).unwrap();
    assert!(!done.changed);
    assert!(done.steps.is_empty());
    assert_eq!(done.msg.as_deref(), Some(""));
}

#[test]
fn a_replacement_giving_the_same_text_changes_nothing() {
    let module = module(json!({"dest": "/etc/app.conf", "regexp": "(a)", "replace": r"\g<1>"}));
    let plan = module.plan(&file("a\n")).unwrap();
    assert!(!plan.changed);
}

#[test]
fn after_and_before_limit_the_section() {
    let text = "x=1\n[main]\nx=1\n[other]\nx=1\n";
    let module = module(json!({
        "path": "/etc/app.conf", "regexp": "^x=1$", "replace": "x=2",
        "after": r"\[main\]", "before": r"\[other\]",
    }));
    let plan = module.plan(&file(text)).unwrap();
    assert_eq!(plan.msg.as_deref(), Some("1 replacements made"));
    assert_eq!(uploaded(&plan), "x=1\n[main]\nx=2\n[other]\nx=1\n");
    let after = module_after(r"\[other\]");
    assert_eq!(
        uploaded(&after.plan(&file(text)).unwrap()),
        "x=1\n[main]\nx=1\n[other]\nx=2\n"
    );
    let missing = after.plan(&file("x=1\n")).unwrap();
    assert!(!missing.changed);
    assert_eq!(
        missing.msg.as_deref(),
        Some(
            "Pattern for before/after params did not match the given file: \
             \\[other\\](?P<subsection>.*)"
        )
    );
}

fn module_after(after: &str) -> Box<dyn Module> {
    module(json!({"path": "/etc/app.conf", "regexp": "^x=1$", "replace": "x=2", "after": after}))
}

#[test]
fn attributes_are_fixed_and_named_in_the_message() {
    let module = module(json!({
        "path": "/etc/app.conf", "regexp": "old", "replace": "new", "mode": "0600",
    }));
    let plan = module.plan(&file("old\n")).unwrap();
    assert_eq!(
        plan.msg.as_deref(),
        Some("1 replacements made and ownership, perms or SE linux context changed")
    );
    assert!(matches!(
        &plan.steps[..],
        [Step::Upload { mode: 0o600, .. }]
    ));
    let plan = module.plan(&file("new\n")).unwrap();
    assert!(plan.changed);
    assert_eq!(
        plan.msg.as_deref(),
        Some("ownership, perms or SE linux context changed")
    );
    assert_eq!(
        plan.steps[0].script_text(),
        Some("chmod 0600 -- /etc/app.conf\n")
    );
}

#[test]
fn validate_checks_the_new_file_before_the_rename() {
    let module = module(json!({
        "path": "/etc/app.conf", "regexp": "old", "replace": "new",
        "validate": "grep -q new %s", "backup": true,
    }));
    let plan = module.plan(&file("old\n")).unwrap();
    assert!(plan.steps[0].script_text().unwrap().contains("backup="));
    let script = plan.steps[1].script_text().unwrap();
    assert!(script.contains("grep -q new \"$tmp\"\n"), "{script}");
}

#[test]
fn missing_paths_and_directories_fail_as_in_ansible() {
    let module = module(json!({"path": "/etc/app.conf", "regexp": "a"}));
    let absent = Probe::ok("path=/etc/app.conf\nme=0:0\nparent=1\nkind=absent\n");
    assert_eq!(
        module.plan(&absent).unwrap_err().to_string(),
        "Path /etc/app.conf does not exist !"
    );
    let dir = Probe::ok("path=/etc/app.conf\nme=0:0\nparent=1\nkind=directory\n");
    assert_eq!(
        module.plan(&dir).unwrap_err().to_string(),
        "Path /etc/app.conf is a directory !"
    );
}

#[test]
fn latin1_files_keep_their_bytes() {
    let module = module(json!({
        "path": "/etc/app.conf", "regexp": "a", "replace": "b", "encoding": "latin-1",
    }));
    let mut probe = file("");
    let encoded = base64::engine::general_purpose::STANDARD.encode(b"\xe9a\n");
    probe.stdout = probe
        .stdout
        .replace("content=\n", &format!("content={encoded}\n"))
        .replace(&sha256_hex(b""), &sha256_hex(b"\xe9a\n"));
    let plan = module.plan(&probe).unwrap();
    assert!(matches!(&plan.steps[..], [Step::Upload { contents, .. }] if contents == b"\xe9b\n"));
}

#[test]
fn params_are_checked_at_load_time() {
    assert!(error(json!({"path": "/f"})).contains("regexp"));
    assert!(error(json!({"path": "/f", "regexp": r"(a)\1"})).contains("backreference"));
    assert!(error(json!({"path": "/f", "regexp": "a(?=b)"})).contains("lookahead"));
    assert!(error(json!({"path": "/f", "regexp": "(a)", "replace": r"\2"})).contains("group"));
    assert!(error(json!({"path": "/f", "regexp": "a", "validate": "true"})).contains("%s"));
    assert!(error(json!({"path": "/f", "regexp": "a", "encoding": "utf-16"})).contains("utf-16"));
    assert!(error(json!({"path": "/f", "regexp": "a", "unsafe_writes": true})).contains("unsafe"));
    assert!(error(json!({"path": "/f", "regexp": "a", "after": "("})).contains("after/before"));
}
