//! Where a task runs and who runs it, on lab hosts lab18 and lab19:
//! `delegate_to` another host (its files, the original host's vars, one
//! SSH session per host for the run), `delegate_facts`, and
//! `become_method: su`, with and without a password.
//!
//! Everything these tests create lives under /srv/fleet-test-delegation.

use std::path::PathBuf;

use fleet_tests::{Lab, code, events, scratch_dir};
use serde_json::Value;

const DIR: &str = "/srv/fleet-test-delegation";

/// An inventory of lab18 and lab19 as root, and lab18 again as `deploy`
/// (`lab18-deploy`).
fn inventory(lab: &Lab, scratch: &std::path::Path) -> PathBuf {
    let yaml = format!(
        "all:\n  vars: {{identity_file: {key}, user: root}}\n  hosts:\n    lab18: {{address: {a18}, app_port: 8026}}\n    lab19: {{address: {a19}, app_port: 8027}}\n    lab18-deploy: {{address: {a18}, user: deploy}}\n",
        key = lab.key().display(),
        a18 = lab.address("lab18"),
        a19 = lab.address("lab19"),
    );
    lab.write_inventory(scratch, &yaml)
}

/// Runs `playbook` with `fleet apply --format json` and `extra` arguments;
/// returns the exit code, the events and everything printed.
fn apply(
    test: &str,
    playbook: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> (i32, Vec<Value>, String) {
    let lab = Lab::get();
    let scratch = scratch_dir(test);
    let path = scratch.join("playbook.yaml");
    std::fs::write(&path, playbook).unwrap();
    let mut cmd = lab.fleet_with("apply", &inventory(lab, &scratch));
    cmd.arg(&path).args(["--format", "json"]).args(extra);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let output = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (code(&output), events(&output.stdout), text)
}

fn on(host: &str, command: &str) -> String {
    let output = Lab::get().ssh(host, command);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn reset(test: &str) {
    for host in ["lab18", "lab19"] {
        on(
            host,
            &format!("rm -rf {DIR}/{test} && mkdir -p {DIR}/{test}"),
        );
    }
}

#[test]
fn a_delegated_task_changes_the_delegate_with_the_original_hosts_vars() {
    reset("files");
    let (rc, events, text) = apply(
        "delegation_files",
        &format!(
            r#"
- hosts: lab18
  vars:
    greeting: hello from {{{{ inventory_hostname }}}}
  tasks:
    - name: on the delegate
      copy:
        content: "{{{{ greeting }}}} port={{{{ app_port }}}}\n"
        dest: {DIR}/files/note
      delegate_to: lab19
    - name: by template
      file:
        path: {DIR}/files/templated
        state: touch
      delegate_to: "{{{{ groups['all'] | select('match', 'lab19') | first }}}}"
"#
        ),
        &[],
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    assert_eq!(
        on("lab19", &format!("cat {DIR}/files/note")),
        "hello from lab18 port=8026\n"
    );
    assert_eq!(on("lab19", &format!("ls {DIR}/files")), "note\ntemplated\n");
    assert_eq!(
        on("lab18", &format!("ls {DIR}/files")),
        "",
        "nothing on lab18"
    );
    let result = events
        .iter()
        .find(|e| e["event"] == "task_result" && e["task"] == "on the delegate")
        .expect("a result");
    assert_eq!(result["host"], "lab18");
    assert_eq!(result["delegated_to"], "lab19");
    assert_eq!(result["status"], "changed");
}

#[test]
fn each_host_has_one_ssh_session_for_the_run_delegated_to_or_not() {
    reset("sessions");
    // Every command records the SSH connection it came over
    // (`$SSH_CONNECTION` holds the client's port): one line per session.
    let record = format!("echo $SSH_CONNECTION >> {DIR}/sessions/$(hostname)");
    let (rc, _, text) = apply(
        "delegation_sessions",
        &format!(
            r#"
- hosts: lab18
  tasks:
    - name: own
      shell: "{record}"
    - name: delegated
      shell: "{record}"
      delegate_to: lab19
    - name: each
      shell: "{record}"
      delegate_to: "{{{{ item }}}}"
      loop: [lab19, lab18, lab19]
    - name: upload there
      copy:
        content: "x\n"
        dest: {DIR}/sessions/uploaded
      delegate_to: lab19
- hosts: lab19
  tasks:
    - name: own play
      shell: "{record}"
"#
        ),
        &[],
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    for (host, commands) in [("lab18", 2), ("lab19", 4)] {
        let lines = on(host, &format!("cat {DIR}/sessions/{host}"));
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(lines.len(), commands, "{host}: {lines:?}");
        assert!(
            lines.iter().all(|line| *line == lines[0]),
            "{host} was reached over more than one session: {lines:?}"
        );
    }
}

#[test]
fn delegate_facts_sets_the_facts_of_the_delegate_for_its_own_play() {
    reset("facts");
    let (rc, _, text) = apply(
        "delegation_facts",
        &format!(
            r#"
- hosts: lab18
  tasks:
    - name: tell lab19
      set_fact:
        primary: "{{{{ inventory_hostname }}}}"
      delegate_to: lab19
      delegate_facts: true
- hosts: lab18:lab19
  tasks:
    - name: write what each knows
      copy:
        content: "{{{{ primary | default('unknown') }}}}\n"
        dest: {DIR}/facts/primary
"#
        ),
        &[],
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    assert_eq!(on("lab19", &format!("cat {DIR}/facts/primary")), "lab18\n");
    assert_eq!(
        on("lab18", &format!("cat {DIR}/facts/primary")),
        "unknown\n"
    );
}

#[test]
fn become_method_su_runs_as_the_user_and_takes_its_password_on_stdin_only() {
    reset("su");
    on("lab18", &format!("chmod 0777 {DIR}/su"));
    let playbook = format!(
        r#"
- hosts: "{{{{ target }}}}"
  become: true
  become_method: su
  become_user: deploypw
  tasks:
    - name: as deploypw
      shell: id -un > {DIR}/su/$(id -un)-{{{{ inventory_hostname }}}}
    - name: nologin user with a shell
      command: id -un
      become_user: www-data
      become_flags: -s /bin/sh
      register: www
      when: inventory_hostname == 'lab18'
    - name: record it
      copy:
        content: "{{{{ www.stdout }}}}\n"
        dest: {DIR}/su/www
      become: false
      when: inventory_hostname == 'lab18'
"#
    );
    // From root, su needs no password.
    let (rc, _, text) = apply(
        "delegation_su_root",
        &playbook,
        &["-e", "target=lab18"],
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    assert_eq!(
        on("lab18", &format!("cat {DIR}/su/deploypw-lab18")),
        "deploypw\n"
    );
    assert_eq!(
        on("lab18", &format!("stat -c %U {DIR}/su/deploypw-lab18")),
        "deploypw\n"
    );
    assert_eq!(on("lab18", &format!("cat {DIR}/su/www")), "www-data\n");

    // From deploy, su asks for deploypw's password: none given is refused.
    let (rc, events, text) = apply(
        "delegation_su_nopass",
        &playbook,
        &["-e", "target=lab18-deploy"],
        &[],
    );
    assert_eq!(rc, 2, "{text}");
    let failure = events
        .iter()
        .find(|e| e["event"] == "task_result" && e["task"] == "as deploypw")
        .expect("a result");
    assert!(
        failure["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("su asked for a password but none was given"),
        "{failure}"
    );

    // Given, it reaches su on stdin, never a command line: `-vvv` prints
    // every command, and none holds it.
    let (rc, _, text) = apply(
        "delegation_su_password",
        &playbook,
        &["-e", "target=lab18-deploy", "-vvv"],
        &[("FLEET_BECOME_PASSWORD", "fleet-lab")],
    );
    assert_eq!(rc, 0, "{text}");
    assert!(!text.contains("fleet-lab"), "{text}");
    assert_eq!(
        on("lab18", &format!("cat {DIR}/su/deploypw-lab18-deploy")),
        "deploypw\n"
    );
}
