//! `fleet apply` and `fleet check` on lab hosts: ordering, registered
//! results, loops, handlers, check mode and drift.

use fleet_tests::{Lab, assert_exit, code, events, scratch_dir};
use serde_json::Value;

/// Writes `playbook` into a scratch dir and runs `fleet <subcommand>` on it.
fn fleet_playbook(
    test: &str,
    subcommand: &str,
    playbook: &str,
    extra: &[&str],
) -> std::process::Output {
    let lab = Lab::get();
    let scratch = scratch_dir(test);
    let path = scratch.join("playbook.yaml");
    std::fs::write(&path, playbook).unwrap();
    lab.fleet(subcommand)
        .arg(&path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap()
}

fn done(output: &std::process::Output) -> Value {
    let events = events(&output.stdout);
    let last = events.last().cloned().expect("events");
    assert_eq!(last["event"], "run_done");
    last
}

fn results<'a>(events: &'a [Value], task: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == "task_result" && e["task"] == task)
        .collect()
}

fn cat(host: &str, path: &str) -> String {
    let out = Lab::get().ssh(host, &format!("cat {path}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tasks_run_in_order_with_loops_registers_and_when_and_rerun_changes_nothing() {
    let playbook = r#"
name: ordered tasks
hosts: lab1:lab2
vars: {dir: /tmp/fleet-apply-ordered}
tasks:
  - name: dir
    command: "mkdir -p {{ dir }}"
    changed_when: false
  - name: one line per item
    shell: {cmd: "echo {{ item }} >> {{ dir }}/items", creates: "{{ dir }}/items-done"}
    loop: [a, b, c]
  - name: mark items done
    shell: {cmd: "touch {{ dir }}/items-done", creates: "{{ dir }}/items-done"}
  - name: read the host name
    command: hostname
    register: who
    changed_when: false
  - name: only on lab2
    shell: {cmd: "echo {{ who.stdout }} > {{ dir }}/only-lab2", creates: "{{ dir }}/only-lab2"}
    when: inventory_hostname == "lab2"
"#;
    for host in ["lab1", "lab2"] {
        Lab::get().ssh(host, "rm -rf /tmp/fleet-apply-ordered");
    }
    let first = fleet_playbook("ordered", "apply", playbook, &[]);
    assert_exit(&first, 0);
    for host in ["lab1", "lab2"] {
        assert_eq!(cat(host, "/tmp/fleet-apply-ordered/items"), "a\nb\nc\n");
    }
    assert_eq!(cat("lab2", "/tmp/fleet-apply-ordered/only-lab2"), "lab2\n");
    assert_eq!(cat("lab1", "/tmp/fleet-apply-ordered/only-lab2"), "");
    let events = events(&first.stdout);
    let skipped = results(&events, "only on lab2");
    assert!(
        skipped
            .iter()
            .any(|r| r["host"] == "lab1" && r["status"] == "skipped")
    );

    let again = fleet_playbook("ordered", "apply", playbook, &[]);
    assert_eq!(code(&again), 0);
    assert_eq!(
        done(&again)["counts"]["changed"],
        0,
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn handlers_run_once_at_the_end_in_definition_order_even_after_a_failure() {
    let playbook = |force: &str| {
        format!(
            r#"
name: handlers
hosts: lab3
force_handlers: {force}
vars: {{log: /tmp/fleet-handlers/log}}
tasks:
  - name: first
    shell: "mkdir -p /tmp/fleet-handlers && echo first >> {{{{ log }}}}"
    notify: [second handler, first handler]
  - name: second
    shell: "echo second >> {{{{ log }}}}"
    notify: first handler
  - name: breaks
    command: "false"
  - name: never runs
    shell: "echo never >> {{{{ log }}}}"
handlers:
  - name: first handler
    shell: "echo first-handler >> {{{{ log }}}}"
  - name: second handler
    shell: "echo second-handler >> {{{{ log }}}}"
"#
        )
    };
    let lab = Lab::get();
    lab.ssh("lab3", "rm -rf /tmp/fleet-handlers");
    let output = fleet_playbook("handlers", "apply", &playbook("true"), &[]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        cat("lab3", "/tmp/fleet-handlers/log"),
        "first\nsecond\nfirst-handler\nsecond-handler\n"
    );

    lab.ssh("lab3", "rm -rf /tmp/fleet-handlers");
    let output = fleet_playbook("handlers_off", "apply", &playbook("false"), &[]);
    assert_eq!(code(&output), 2);
    assert_eq!(cat("lab3", "/tmp/fleet-handlers/log"), "first\nsecond\n");
}

#[test]
fn check_mode_changes_nothing_and_fleet_check_reports_drift() {
    let playbook = r#"
name: drift
hosts: lab4
tasks:
  - name: marker
    shell: {cmd: "mkdir -p /tmp/fleet-drift && hostname > /tmp/fleet-drift/marker", creates: /tmp/fleet-drift/marker}
"#;
    let lab = Lab::get();
    lab.ssh("lab4", "rm -rf /tmp/fleet-drift");
    let checked = fleet_playbook("drift_check_mode", "apply", playbook, &["--check"]);
    assert_eq!(code(&checked), 0);
    let events = events(&checked.stdout);
    let marker = results(&events, "marker");
    assert_eq!(marker[0]["status"], "changed");
    assert_eq!(marker[0]["msg"], "would run");
    assert!(
        !lab.ssh("lab4", "test -e /tmp/fleet-drift").status.success(),
        "check mode changed the host"
    );

    let drift = fleet_playbook("drift_check", "check", playbook, &[]);
    assert_eq!(code(&drift), 5);
    let events = fleet_tests::events(&drift.stdout);
    let drifted = results(&events, "marker");
    assert_eq!(
        (drifted[0]["host"].as_str(), drifted[0]["status"].as_str()),
        (Some("lab4"), Some("changed"))
    );

    assert_eq!(
        code(&fleet_playbook("drift_apply", "apply", playbook, &[])),
        0
    );
    assert_eq!(
        code(&fleet_playbook("drift_clean", "check", playbook, &[])),
        0
    );
    lab.ssh("lab4", "rm /tmp/fleet-drift/marker");
    assert_eq!(
        code(&fleet_playbook("drift_again", "check", playbook, &[])),
        5
    );
}

/// Check mode changes nothing: file hashes and unit states are the same
/// before and after. `fleet check` then lists the drift with its diff, and
/// is clean after `apply` until a hand edit drifts it again.
#[test]
fn check_mode_leaves_files_and_units_alone_and_drift_carries_a_diff() {
    let lab = Lab::get();
    let host = "lab5";
    let unit = "[Service]\nExecStart=/bin/sleep infinity\n";
    let setup = format!(
        "rm -rf /tmp/fleet-check && mkdir -p /tmp/fleet-check && echo 'keep me' > /tmp/fleet-check/conf \
         && printf '{}' > /etc/systemd/system/fleet-check.service && systemctl daemon-reload && systemctl stop fleet-check",
        unit.replace('\n', "\\n")
    );
    assert!(lab.ssh(host, &setup).status.success());
    let playbook = r#"
name: check mode
hosts: lab5
tasks:
  - name: motd
    copy: {dest: /tmp/fleet-check/motd, content: "hello\n", mode: "0640"}
  - name: conf line
    lineinfile: {path: /tmp/fleet-check/conf, line: "managed = yes"}
  - name: data dir
    file: {path: /tmp/fleet-check/data, state: directory, mode: "0750"}
  - name: service
    systemd: {name: fleet-check, state: started}
"#;
    let snapshot = || {
        let out = lab.ssh(
            host,
            "cd /tmp/fleet-check && find . | sort && sha256sum conf; systemctl is-active fleet-check || true",
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let before = snapshot();
    let checked = fleet_playbook(
        "check_mode_files",
        "apply",
        playbook,
        &["--check", "--diff"],
    );
    assert_exit(&checked, 0);
    assert_eq!(snapshot(), before, "check mode changed the host");
    assert!(before.ends_with("inactive\n"), "{before}");
    let events = events(&checked.stdout);
    for task in ["motd", "conf line", "data dir", "service"] {
        assert_eq!(
            results(&events, task)[0]["status"],
            "changed",
            "{task} would change"
        );
    }
    let diff = results(&events, "conf line")[0]["diff"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(diff.contains("+managed = yes"), "{diff}");

    assert_eq!(
        code(&fleet_playbook("check_mode_apply", "apply", playbook, &[])),
        0
    );
    assert_eq!(cat(host, "/tmp/fleet-check/motd"), "hello\n");
    let active = lab.ssh(host, "systemctl is-active fleet-check");
    assert_eq!(String::from_utf8_lossy(&active.stdout), "active\n");
    let clean = fleet_playbook("check_mode_clean", "check", playbook, &[]);
    assert_exit(&clean, 0);

    assert!(
        lab.ssh(host, "echo 'by hand' > /tmp/fleet-check/motd")
            .status
            .success()
    );
    let drift = fleet_playbook("check_mode_drift", "check", playbook, &[]);
    assert_eq!(code(&drift), 5);
    let events = fleet_tests::events(&drift.stdout);
    let motd = results(&events, "motd");
    assert_eq!(motd[0]["status"], "changed");
    let diff = motd[0]["diff"].as_str().unwrap_or_default();
    assert!(
        diff.contains("-by hand") && diff.contains("+hello"),
        "{diff}"
    );
    lab.ssh(host, "systemctl stop fleet-check; rm -f /etc/systemd/system/fleet-check.service; systemctl daemon-reload");
}
