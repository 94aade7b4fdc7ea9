//! Where a task runs and who runs it, on lab hosts lab26 and lab27:
//! `delegate_to` another host (its files, the original host's vars, one
//! SSH session per host for the run), `delegate_facts`, and
//! `become_method: su`, with and without a password.
//!
//! Everything these tests create lives under /srv/fleet-test-delegation.

use std::path::PathBuf;

use fleet_tests::{Lab, code, events, scratch_dir};
use serde_json::Value;

const DIR: &str = "/srv/fleet-test-delegation";

/// An inventory of lab26 and lab27 as root, and lab26 again as `deploy`
/// (`lab26-deploy`).
fn inventory(lab: &Lab, scratch: &std::path::Path) -> PathBuf {
    let yaml = format!(
        "all:\n  vars: {{identity_file: {key}, user: root}}\n  hosts:\n    lab26: {{address: {a26}, app_port: 8026}}\n    lab27: {{address: {a27}, app_port: 8027}}\n    lab26-deploy: {{address: {a26}, user: deploy}}\n",
        key = lab.key().display(),
        a26 = lab.address("lab26"),
        a27 = lab.address("lab27"),
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
    for host in ["lab26", "lab27"] {
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
- hosts: lab26
  vars:
    greeting: hello from {{{{ inventory_hostname }}}}
  tasks:
    - name: on the delegate
      copy:
        content: "{{{{ greeting }}}} port={{{{ app_port }}}}\n"
        dest: {DIR}/files/note
      delegate_to: lab27
    - name: by template
      file:
        path: {DIR}/files/templated
        state: touch
      delegate_to: "{{{{ groups['all'] | select('match', 'lab27') | first }}}}"
"#
        ),
        &[],
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    assert_eq!(
        on("lab27", &format!("cat {DIR}/files/note")),
        "hello from lab26 port=8026\n"
    );
    assert_eq!(on("lab27", &format!("ls {DIR}/files")), "note\ntemplated\n");
    assert_eq!(
        on("lab26", &format!("ls {DIR}/files")),
        "",
        "nothing on lab26"
    );
    let result = events
        .iter()
        .find(|e| e["event"] == "task_result" && e["task"] == "on the delegate")
        .expect("a result");
    assert_eq!(result["host"], "lab26");
    assert_eq!(result["delegated_to"], "lab27");
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
- hosts: lab26
  tasks:
    - name: own
      shell: "{record}"
    - name: delegated
      shell: "{record}"
      delegate_to: lab27
    - name: each
      shell: "{record}"
      delegate_to: "{{{{ item }}}}"
      loop: [lab27, lab26, lab27]
    - name: upload there
      copy:
        content: "x\n"
        dest: {DIR}/sessions/uploaded
      delegate_to: lab27
- hosts: lab27
  tasks:
    - name: own play
      shell: "{record}"
"#
        ),
        &[],
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    for (host, commands) in [("lab26", 2), ("lab27", 4)] {
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
- hosts: lab26
  tasks:
    - name: tell lab27
      set_fact:
        primary: "{{{{ inventory_hostname }}}}"
      delegate_to: lab27
      delegate_facts: true
- hosts: lab26:lab27
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
    assert_eq!(on("lab27", &format!("cat {DIR}/facts/primary")), "lab26\n");
    assert_eq!(
        on("lab26", &format!("cat {DIR}/facts/primary")),
        "unknown\n"
    );
}

#[test]
fn become_method_su_runs_as_the_user_and_takes_its_password_on_stdin_only() {
    reset("su");
    on("lab26", &format!("chmod 0777 {DIR}/su"));
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
      when: inventory_hostname == 'lab26'
    - name: record it
      copy:
        content: "{{{{ www.stdout }}}}\n"
        dest: {DIR}/su/www
      become: false
      when: inventory_hostname == 'lab26'
"#
    );
    // From root, su needs no password.
    let (rc, _, text) = apply(
        "delegation_su_root",
        &playbook,
        &["-e", "target=lab26"],
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    assert_eq!(
        on("lab26", &format!("cat {DIR}/su/deploypw-lab26")),
        "deploypw\n"
    );
    assert_eq!(
        on("lab26", &format!("stat -c %U {DIR}/su/deploypw-lab26")),
        "deploypw\n"
    );
    assert_eq!(on("lab26", &format!("cat {DIR}/su/www")), "www-data\n");

    // From deploy, su asks for deploypw's password: none given is refused.
    let (rc, events, text) = apply(
        "delegation_su_nopass",
        &playbook,
        &["-e", "target=lab26-deploy"],
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
        &["-e", "target=lab26-deploy", "-vvv"],
        &[("FLEET_BECOME_PASSWORD", "fleet-lab")],
    );
    assert_eq!(rc, 0, "{text}");
    assert!(!text.contains("fleet-lab"), "{text}");
    assert_eq!(
        on("lab26", &format!("cat {DIR}/su/deploypw-lab26-deploy")),
        "deploypw\n"
    );
}
