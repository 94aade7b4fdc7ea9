//! Task keywords on lab hosts: facts, run_once, no_log, environment,
//! retries/until, become_user, loops with register, and tags.

use fleet_tests::{Lab, code, events, scratch_dir};
use serde_json::Value;

fn apply(test: &str, playbook: &str, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let lab = Lab::get();
    let scratch = scratch_dir(test);
    let path = scratch.join("playbook.yaml");
    std::fs::write(&path, playbook).unwrap();
    let output = lab
        .fleet("apply")
        .arg(&path)
        .args(["--format", "json"])
        .args(extra)
        .env("FLEET_TEST_SECRET", "hunter2")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (code(&output), events(&output.stdout), text)
}

fn result<'a>(events: &'a [Value], task: &str, host: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == "task_result" && e["task"] == task && e["host"] == host)
        .unwrap_or_else(|| panic!("no result for {task} on {host}"))
}

fn stdout<'a>(events: &'a [Value], task: &str, host: &str) -> &'a str {
    result(events, task, host)["stdout"]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn facts_are_gathered_when_a_task_mentions_them() {
    let (rc, events, text) = apply(
        "facts",
        r#"
hosts: lab6
tasks:
  - name: show
    command: "echo {{ facts.os_id }} {{ facts.os_codename }} {{ facts.hostname }} {{ facts.init }} {{ facts.cpus }}"
    changed_when: false
"#,
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    let expected = String::from_utf8_lossy(
        &Lab::get()
            .ssh(
                "lab6",
                ". /etc/os-release; echo $ID $VERSION_CODENAME lab6 systemd $(nproc)",
            )
            .stdout,
    )
    .trim()
    .to_string();
    assert_eq!(stdout(&events, "show", "lab6"), format!("{expected}\n"));
}

#[test]
fn run_once_runs_on_one_host_and_shares_its_registered_result() {
    let (rc, events, text) = apply(
        "run_once",
        r#"
hosts: lab5:lab6
tasks:
  - name: pick
    command: hostname
    run_once: true
    register: picked
    changed_when: false
  - name: everyone sees it
    command: "echo {{ picked.stdout }}"
    changed_when: false
"#,
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    let picked: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "task_result" && e["task"] == "pick")
        .collect();
    assert_eq!(picked.len(), 1);
    assert_eq!(stdout(&events, "everyone sees it", "lab5"), "lab5\n");
    assert_eq!(stdout(&events, "everyone sees it", "lab6"), "lab5\n");
}

#[test]
fn no_log_keeps_a_secret_out_of_the_stream_and_environment_reaches_the_command() {
    let (rc, events, text) = apply(
        "no_log",
        r#"
hosts: lab6
vars: {token: hunter2}
tasks:
  - name: secret
    shell: "echo $TOKEN; echo $TOKEN >&2"
    environment: {TOKEN: "{{ token }}"}
    no_log: true
    changed_when: false
  - name: visible
    shell: "echo ${TOKEN:-unset}; echo $GREETING"
    environment: {GREETING: hello}
    changed_when: false
"#,
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    assert!(!text.contains("hunter2"), "the secret leaked: {text}");
    assert_eq!(stdout(&events, "secret", "lab6"), "output hidden by no_log");
    assert_eq!(stdout(&events, "visible", "lab6"), "unset\nhello\n");
}

#[test]
fn until_retries_until_the_condition_holds_and_fails_when_it_never_does() {
    Lab::get().ssh("lab6", "rm -f /tmp/fleet-until-count");
    let (rc, events, text) = apply(
        "until",
        r#"
hosts: lab6
tasks:
  - name: count to three
    shell: "echo x >> /tmp/fleet-until-count; wc -l < /tmp/fleet-until-count"
    register: count
    until: count.stdout | int >= 3
    retries: 5
    delay: 0.1
  - name: never
    command: "false"
    register: never
    until: never.rc == 0
    retries: 2
    delay: 0.1
"#,
        &[],
    );
    assert_eq!(rc, 2, "{text}");
    assert_eq!(stdout(&events, "count to three", "lab6"), "3\n");
    assert_eq!(
        result(&events, "count to three", "lab6")["status"],
        "changed"
    );
    let never = result(&events, "never", "lab6");
    assert_eq!(never["status"], "failed");
    assert!(
        never["msg"].as_str().unwrap().contains("3 attempts"),
        "{never}"
    );
}

#[test]
fn become_user_runs_as_that_user_and_loops_register_every_item() {
    let (rc, events, text) = apply(
        "become_user",
        r#"
hosts: lab6
become: true
tasks:
  - name: as deploy
    command: id -un
    become_user: deploy
    changed_when: false
  - name: items
    command: "echo {{ item }}"
    loop: [a, b]
    register: echoed
    changed_when: false
  - name: joined
    command: "echo {{ echoed.results | map(attribute='stdout') | join(',') }}"
    changed_when: false
"#,
        &[],
    );
    assert_eq!(rc, 0, "{text}");
    assert_eq!(stdout(&events, "as deploy", "lab6"), "deploy\n");
    assert_eq!(stdout(&events, "joined", "lab6"), "a,b\n");
}

#[test]
fn tags_select_tasks_and_always_runs_anyway() {
    let (rc, events, text) = apply(
        "tags",
        r#"
hosts: lab6
tasks:
  - name: tagged
    command: "true"
    tags: [web]
    changed_when: false
  - name: other
    command: "true"
    tags: db
    changed_when: false
  - name: always
    command: "true"
    tags: always
    changed_when: false
"#,
        &["--tags", "web"],
    );
    assert_eq!(rc, 0, "{text}");
    let ran: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "task_result")
        .map(|e| e["task"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["tagged", "always"]);
}

/// Loop items are probed together in one round trip; once an item
/// changes, later items are probed again, so nested paths still work.
#[test]
fn loop_items_that_depend_on_each_other_converge() {
    Lab::get().ssh("lab6", "rm -rf /tmp/fleet-nested");
    let playbook = r#"
hosts: lab6
tasks:
  - name: nested
    file: {path: "{{ item }}", state: directory, mode: "0700"}
    loop: [/tmp/fleet-nested, /tmp/fleet-nested/a, /tmp/fleet-nested/a/b]
"#;
    let (rc, events, text) = apply("nested_first", playbook, &[]);
    assert_eq!(rc, 0, "{text}");
    assert_eq!(result(&events, "nested", "lab6")["status"], "changed");
    let modes = Lab::get().ssh(
        "lab6",
        "stat -c %a /tmp/fleet-nested /tmp/fleet-nested/a /tmp/fleet-nested/a/b",
    );
    assert_eq!(String::from_utf8_lossy(&modes.stdout), "700\n700\n700\n");
    let (rc, events, text) = apply("nested_again", playbook, &[]);
    assert_eq!(rc, 0, "{text}");
    assert_eq!(result(&events, "nested", "lab6")["status"], "ok");
}

/// Items with unrelated paths are applied in one round trip; items that
/// edit the same file still see each other's changes.
#[test]
fn loop_items_on_separate_paths_and_on_one_file_both_converge() {
    Lab::get().ssh(
        "lab6",
        "rm -rf /tmp/fleet-flat && mkdir /tmp/fleet-flat && echo base > /tmp/fleet-flat/conf",
    );
    let playbook = r#"
hosts: lab6
tasks:
  - name: flat
    file: {path: "/tmp/fleet-flat/{{ item }}", state: directory, mode: "0750"}
    loop: [a, b, c]
  - name: lines
    lineinfile: {path: /tmp/fleet-flat/conf, line: "{{ item }}"}
    loop: [one, two]
"#;
    let (rc, events, text) = apply("flat_first", playbook, &[]);
    assert_eq!(rc, 0, "{text}");
    assert_eq!(result(&events, "flat", "lab6")["status"], "changed");
    let state = Lab::get().ssh(
        "lab6",
        "cd /tmp/fleet-flat && stat -c '%n %a' a b c && cat conf",
    );
    assert_eq!(
        String::from_utf8_lossy(&state.stdout),
        "a 750\nb 750\nc 750\nbase\none\ntwo\n"
    );
    let (rc, events, text) = apply("flat_again", playbook, &[]);
    assert_eq!(rc, 0, "{text}");
    assert_eq!(result(&events, "flat", "lab6")["status"], "ok");
    assert_eq!(result(&events, "lines", "lab6")["status"], "ok");
}
