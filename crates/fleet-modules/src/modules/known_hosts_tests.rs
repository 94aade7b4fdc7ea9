use super::*;
use crate::modules::command::stub_sh::run;
use crate::modules::tests::NoFiles;

const A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIAaaa";
const B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIBbbb";
const R: &str = "AAAAB3NzaC1yc2EAAAADAQABAAABrrr";

fn module(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A probe of an existing file `content`, where `ssh-keygen -F` printed
/// `found`.
fn probe(content: &str, found: &str) -> Probe {
    let rc = if found.is_empty() { 1 } else { 0 };
    Probe::ok(&format!(
        "path=/root/.ssh/known_hosts\numask=0022\nexists=1\nstat=640 app:staff\ncontent={}\nrc={rc}\nfound={}\nerror=\nmatches=60\n",
        b64(content),
        b64(found)
    ))
}

fn upload(plan: &Plan) -> (String, u32, Option<String>) {
    match plan.steps.as_slice() {
        [
            Step::Upload {
                contents,
                mode,
                owner,
                dest,
            },
        ] => {
            assert_eq!(dest, "/root/.ssh/known_hosts");
            (
                String::from_utf8(contents.clone()).unwrap(),
                *mode,
                owner.clone(),
            )
        }
        other => panic!("expected one upload, got {other:?}"),
    }
}

#[test]
fn adds_a_new_host_at_the_end_keeping_mode_and_owner() {
    let known =
        module(json!({"name": "Git.Example", "key": format!("git.example ssh-ed25519 {A}")}));
    let other = format!("other ssh-ed25519 {B}\n");
    let plan = known.plan(&probe(&other, "")).unwrap();
    assert!(plan.changed);
    let (content, mode, owner) = upload(&plan);
    assert_eq!(content, format!("{other}git.example ssh-ed25519 {A}\n"));
    assert_eq!((mode, owner.as_deref()), (0o640, Some("app:staff")));
    assert!(
        plan.diff
            .unwrap()
            .contains(&format!("+git.example ssh-ed25519 {A}"))
    );
    assert_eq!(plan.data["name"], json!("Git.Example"));
    assert_eq!(plan.data["path"], json!("/root/.ssh/known_hosts"));
}

#[test]
fn a_new_file_gets_the_umask_mode() {
    let known = module(json!({"name": "h", "key": format!("h ssh-rsa {R}")}));
    let plan = known
        .plan(&Probe::ok(
            "path=/root/.ssh/known_hosts\numask=0027\nmatches=40\n",
        ))
        .unwrap();
    let (content, mode, owner) = upload(&plan);
    assert_eq!(
        (content.as_str(), mode, owner),
        (&*format!("h ssh-rsa {R}\n"), 0o640, None)
    );
    assert!(plan.diff.unwrap().starts_with("--- /dev/null"));
}

#[test]
fn the_same_key_is_left_alone_and_a_new_key_of_its_type_replaces_the_old() {
    let known = module(json!({"name": "h", "key": format!("h ssh-ed25519 {A} comment")}));
    let file = format!("x ssh-rsa {R}\nh ssh-ed25519 {A}\n");
    let found = format!("# Host h found: line 2 \nh ssh-ed25519 {A}\n");
    assert!(!known.plan(&probe(&file, &found)).unwrap().changed);
    let file = format!("h ssh-ed25519 {B}\nx ssh-rsa {R}\n");
    let found = format!("# Host h found: line 1 \nh ssh-ed25519 {B}\n");
    let plan = known.plan(&probe(&file, &found)).unwrap();
    assert_eq!(
        upload(&plan).0,
        format!("x ssh-rsa {R}\nh ssh-ed25519 {A} comment\n")
    );
    // A key of another type is added beside the host's.
    let found = format!("# Host h found: line 2 \nh ssh-rsa {R}\n");
    let plan = known
        .plan(&probe(&format!("x ssh-rsa {R}\nh ssh-rsa {R}\n"), &found))
        .unwrap();
    assert_eq!(
        upload(&plan).0,
        format!("x ssh-rsa {R}\nh ssh-rsa {R}\nh ssh-ed25519 {A} comment\n")
    );
}

#[test]
fn a_different_host_field_is_a_different_key_as_in_ansible() {
    let known = module(json!({"name": "h", "key": format!("h ssh-ed25519 {A}")}));
    let found = format!("# Host h found: line 1 \nh,10.0.0.1 ssh-ed25519 {A}\n");
    let plan = known
        .plan(&probe(&format!("h,10.0.0.1 ssh-ed25519 {A}\n"), &found))
        .unwrap();
    assert_eq!(upload(&plan).0, format!("h ssh-ed25519 {A}\n"));
}

#[test]
fn a_last_line_without_a_newline_runs_into_the_key_as_in_ansible() {
    let known = module(json!({"name": "h", "key": format!("h ssh-rsa {R}")}));
    let plan = known.plan(&probe("# no newline", "")).unwrap();
    assert_eq!(upload(&plan).0, format!("# no newlineh ssh-rsa {R}\n"));
}

#[test]
fn absent_with_a_key_removes_the_line_of_its_type() {
    let known =
        module(json!({"name": "h", "key": format!("h ssh-ed25519 {A}"), "state": "absent"}));
    let file = format!("x ssh-rsa {R}\nh ssh-ed25519 {A}\n");
    let found = format!("# Host h found: line 2 \nh ssh-ed25519 {A}\n");
    let plan = known.plan(&probe(&file, &found)).unwrap();
    assert_eq!(upload(&plan).0, format!("x ssh-rsa {R}\n"));
    // No line of that type: nothing to do.
    let found = format!("# Host h found: line 1 \nh ssh-rsa {R}\n");
    assert!(
        !known
            .plan(&probe(&format!("h ssh-rsa {R}\n"), &found))
            .unwrap()
            .changed
    );
    assert!(!known.plan(&probe("", "")).unwrap().changed);
    assert!(
        !known
            .plan(&Probe::ok("path=/root/.ssh/known_hosts\numask=0022\n"))
            .unwrap()
            .changed
    );
}

#[test]
fn absent_without_a_key_runs_ssh_keygen_remove() {
    let known = module(json!({"name": "-h", "state": "absent"}));
    let found = format!("# Host -h found: line 1 \n-h ssh-rsa {R}\n");
    let plan = known
        .plan(&probe(&format!("-h ssh-rsa {R}\n"), &found))
        .unwrap();
    assert!(plan.changed);
    assert_eq!(
        plan.steps[0].script_text(),
        Some("ssh-keygen -R -h -f /root/.ssh/known_hosts >/dev/null\n")
    );
    assert!(!known.plan(&probe("x ssh-rsa R\n", "")).unwrap().changed);
}

#[test]
fn hashed_hosts_are_matched_and_not_hashed_again() {
    let salt = [7u8; 20];
    let line = hash_key("h", &format!("h ssh-ed25519 {A}\n"), &salt);
    assert!(
        line.starts_with("|1|BwcHBwcHBwcHBwcHBwcHBwcHBwc=|"),
        "{line}"
    );
    assert!(line.ends_with(&format!(" ssh-ed25519 {A}\n")));
    let known =
        module(json!({"name": "h", "key": format!("h ssh-ed25519 {A}"), "hash_host": true}));
    assert!(
        !known.probe().unwrap().contains("matches="),
        "no sanity check"
    );
    let found = format!("# Host h found: line 1 \n{line}");
    assert!(!known.plan(&probe(&line, &found)).unwrap().changed);
    let plan = known.plan(&probe("", "")).unwrap();
    let content = upload(&plan).0;
    assert!(content.starts_with("|1|") && content.ends_with(&format!(" ssh-ed25519 {A}\n")));
}

#[test]
fn markers_match_only_the_same_line() {
    let ca = format!("@cert-authority *.example ssh-rsa {R}");
    let found = format!("# Host a.example found: line 1 CA\n{ca}\n");
    let same = search(&found, Some(&ca)).unwrap();
    assert_eq!(
        (same.found, same.replace_or_add, same.line),
        (true, false, Some(1))
    );
    let other = search(&found, Some(&format!("a.example ssh-rsa {R}"))).unwrap();
    assert_eq!((other.replace_or_add, other.line), (true, None));
}

#[test]
fn a_key_for_another_host_or_a_failing_ssh_keygen_fails() {
    let known = module(json!({"name": "h", "key": format!("other ssh-rsa {R}")}));
    let err = known
        .plan(&Probe::ok("path=/k\numask=0022\nmatches=0\n"))
        .unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    let known = module(json!({"name": "h", "key": format!("h ssh-rsa {R}")}));
    let broken = Probe::ok(&format!(
        "path=/k\nexists=1\ncontent=\nrc=255\nfound=\nerror={}\n",
        b64("bad file")
    ));
    let err = known.plan(&broken).unwrap_err();
    assert!(
        err.to_string().contains("ssh-keygen failed (rc=255"),
        "{err}"
    );
}

#[test]
fn rejects_what_ansible_rejects() {
    assert!(build(json!({"name": "h"}), &NoFiles).is_err());
    assert!(build(json!({"name": "h", "state": "absent"}), &NoFiles).is_ok());
    assert!(
        build(
            json!({"host": "a, b", "key": format!("a ssh-rsa {R}")}),
            &NoFiles
        )
        .is_err()
    );
    assert!(build(json!({"name": "h", "key": "h ssh-rsa"}), &NoFiles).is_err());
    assert!(build(json!({"name": "h", "key": "k", "mode": "0644"}), &NoFiles).is_err());
    assert!(comma_list("a,b") && comma_list("a , b") && !comma_list(",a"));
}

#[test]
fn the_probe_finds_the_host_with_the_real_ssh_keygen() {
    if std::process::Command::new("ssh-keygen")
        .arg("-?")
        .output()
        .is_err()
    {
        return;
    }
    let dir = std::env::temp_dir().join(format!("fleet-kh-{}", fleet_shell::token()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("known hosts");
    let salt = [3u8; 20];
    let hashed = hash_key("hashed.example", &format!("x ssh-rsa {R}"), &salt);
    std::fs::write(&path, format!("a.example ssh-rsa {R}\n{hashed}")).unwrap();
    let path = path.display().to_string();
    let known = module(
        json!({"name": "hashed.example", "key": format!("hashed.example ssh-ed25519 {A}"), "path": path}),
    );
    let out = run("", &known.probe().unwrap(), b"");
    let facts = fields(&out.stdout);
    assert_eq!(facts["rc"], "0", "{}", out.stdout);
    let found = String::from_utf8(decode_base64(facts["found"], "found").unwrap()).unwrap();
    assert!(
        found.starts_with("# Host hashed.example found: line 2"),
        "{found}"
    );
    assert_ne!(facts["matches"].trim(), "0");
    let plan = known.plan(&Probe::ok(&out.stdout)).unwrap();
    match &plan.steps[0] {
        Step::Upload { contents, .. } => assert!(
            String::from_utf8_lossy(contents)
                .ends_with(&format!("{hashed}hashed.example ssh-ed25519 {A}\n"))
        ),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
