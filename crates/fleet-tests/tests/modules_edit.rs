//! The file-editing modules and parameters added for Ansible playbooks
//! (`replace`, `validate`, the path aliases, `state: hard`), on the lab host `lab26` (`FLEET_EDIT_HOST` to
//! move it), asserting the real state of the host: exact contents, modes,
//! what a rejected validation leaves behind.

use fleet_engine::{ModuleOutcome, Status};
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

fn host() -> String {
    std::env::var("FLEET_EDIT_HOST").unwrap_or_else(|_| "lab26".into())
}

/// A connection and a fresh dir on the host, private to one test.
fn setup(test: &str) -> (LabHost, String) {
    let files = fleet_tests::scratch_dir(&format!("modules_edit/{test}"));
    let lab = LabHost::root(&host(), &files);
    let dir = format!("/srv/fleet-edit-test/{test}");
    sh_ok(&lab, &format!("rm -rf {dir} && mkdir -p {dir}"));
    (lab, dir)
}

fn sh_ok(lab: &LabHost, command: &str) -> String {
    let (rc, out) = lab.sh(command);
    assert_eq!(rc, 0, "`{command}` failed: {out}");
    out.trim_end_matches('\n').to_string()
}

fn cat(lab: &LabHost, path: &str) -> String {
    let (rc, out) = lab.sh(&format!("cat {path}"));
    assert_eq!(rc, 0, "cat {path}");
    out
}

fn failure(outcome: &ModuleOutcome) -> String {
    assert_status(outcome, Status::Failed);
    outcome.msg.clone().unwrap_or_default()
}

#[test]
fn replace_edits_every_match_keeping_attributes() {
    let (lab, dir) = setup("replace");
    let path = format!("{dir}/app.ini");
    sh_ok(
        &lab,
        &format!(
            "printf 'listen = 80\\n[main]\\ntimeout = 10\\n[extra]\\ntimeout = 10\\n' > {path} \
             && chown deploy {path} && chmod 0640 {path}"
        ),
    );
    let params = json!({"path": path, "regexp": r"^(listen) = \d+$", "replace": r"\1 = 8080"});
    let check = lab.run("replace", params.clone(), true);
    assert_status(&check, Status::Changed);
    assert!(
        cat(&lab, &path).starts_with("listen = 80\n"),
        "check mode wrote"
    );
    let first = lab.converge("replace", params);
    assert_eq!(first.msg.as_deref(), Some("1 replacements made"));
    assert!(
        first
            .diff
            .unwrap_or_default()
            .contains("-listen = 80\n+listen = 8080\n")
    );
    lab.converge(
        "replace",
        json!({
            "path": path, "regexp": r"^timeout = \d+$", "replace": "timeout = 30",
            "after": r"\[main\]", "before": r"\[extra\]",
        }),
    );
    assert_eq!(
        cat(&lab, &path),
        "listen = 8080\n[main]\ntimeout = 30\n[extra]\ntimeout = 10\n"
    );
    assert_eq!(
        sh_ok(&lab, &format!("stat -c '%a %U' {path}")),
        "640 deploy"
    );
    let missing = lab.run(
        "replace",
        json!({"path": format!("{dir}/nope"), "regexp": "a"}),
        false,
    );
    assert_eq!(
        failure(&missing),
        format!("Path {dir}/nope does not exist !")
    );
}

#[test]
fn a_rejected_validation_leaves_the_file_and_no_temp_file() {
    let (lab, dir) = setup("validate");
    let path = format!("{dir}/sudoers");
    sh_ok(&lab, &format!("printf 'ok\\n' > {path}"));
    let rejected = lab.run(
        "replace",
        json!({"path": path, "regexp": "^ok$", "replace": "bad", "validate": "grep -q ok %s"}),
        false,
    );
    assert_eq!(failure(&rejected), "failed to validate: rc:1 error:");
    assert_eq!(cat(&lab, &path), "ok\n");
    assert_eq!(sh_ok(&lab, &format!("ls -A {dir}")), "sudoers");
    let accepted = lab.converge(
        "replace",
        json!({"path": path, "regexp": "^ok$", "replace": "good", "validate": "grep -q good %s"}),
    );
    assert_eq!(accepted.msg.as_deref(), Some("1 replacements made"));
    assert_eq!(cat(&lab, &path), "good\n");
    assert_eq!(sh_ok(&lab, &format!("ls -A {dir}")), "sudoers");
}

#[test]
fn copy_validates_the_new_content_before_it_replaces_the_file() {
    let (lab, dir) = setup("copy_validate");
    let dest = format!("{dir}/sudoers.d/app");
    sh_ok(&lab, &format!("mkdir -p {dir}/sudoers.d"));
    let bad = lab.run(
        "copy",
        json!({"dest": dest, "content": "app ALL=(ALL) NOPASSWD ALL\n", "mode": "0440",
               "validate": "/usr/sbin/visudo -csf %s"}),
        false,
    );
    assert!(
        failure(&bad).starts_with("failed to validate: rc:1 error:"),
        "{bad:?}"
    );
    assert_eq!(lab.sh(&format!("test -e {dest}")).0, 1);
    assert_eq!(sh_ok(&lab, &format!("ls -A {dir}/sudoers.d")), "");
    let good = json!({"dest": dest, "content": "app ALL=(ALL) NOPASSWD: ALL\n", "mode": "0440",
                      "validate": "/usr/sbin/visudo -csf %s"});
    lab.converge("copy", good);
    assert_eq!(cat(&lab, &dest), "app ALL=(ALL) NOPASSWD: ALL\n");
    assert_eq!(sh_ok(&lab, &format!("stat -c %a {dest}")), "440");
}

#[test]
fn the_path_aliases_reach_the_same_file() {
    let (lab, dir) = setup("aliases");
    let conf = format!("{dir}/conf.d/app.conf");
    lab.converge(
        "file",
        json!({"dest": format!("{dir}/conf.d"), "state": "directory", "mode": "0750"}),
    );
    assert_eq!(sh_ok(&lab, &format!("stat -c %a {dir}/conf.d")), "750");
    sh_ok(&lab, &format!("printf 'a=1\\n' > {conf}"));
    lab.converge(
        "lineinfile",
        json!({"dest": conf, "regex": "^a=", "value": "a=2"}),
    );
    lab.converge(
        "blockinfile",
        json!({"destfile": conf, "content": "b=3", "marker": "# {mark}"}),
    );
    assert_eq!(cat(&lab, &conf), "a=2\n# BEGIN\nb=3\n# END\n");
}

#[test]
fn file_state_hard_links_the_same_inode() {
    let (lab, dir) = setup("hard");
    let src = format!("{dir}/data");
    sh_ok(&lab, &format!("printf 'x\\n' > {src}"));
    let link = format!("{dir}/data.link");
    let first = lab.converge("file", json!({"path": link, "src": src, "state": "hard"}));
    assert_eq!(first.diff.as_deref(), Some("state: absent -> hard\n"));
    assert_eq!(
        sh_ok(&lab, &format!("stat -c %i {src}")),
        sh_ok(&lab, &format!("stat -c %i {link}"))
    );
    sh_ok(&lab, &format!("printf 'y\\n' > {dir}/other"));
    let refused = lab.run(
        "file",
        json!({"path": format!("{dir}/other"), "src": src, "state": "hard"}),
        false,
    );
    assert_eq!(failure(&refused), "Cannot link, file exists at destination");
    assert_eq!(cat(&lab, &format!("{dir}/other")), "y\n");
}
