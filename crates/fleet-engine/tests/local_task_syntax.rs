//! Task syntax written the Ansible way, run for real over the local
//! connection: collection names, `key=value` arguments, `args`, task vars.

mod common;

use common::run_on;
use fleet_engine::Status;

use Status::{Changed, Ok};

#[test]
fn collection_names_and_key_value_arguments_run_like_the_map_form() {
    let (scratch, run) = run_on(
        "kv",
        &["h1:", "h2:"],
        r#"
- hosts: all
  tasks:
    - name: one
      ansible.builtin.command: touch {{ inventory_hostname }}.one chdir={{ tmp }}
    - name: two
      ansible.legacy.command: touch {{ tmp }}/{{ inventory_hostname }}.two creates={{ tmp }}/{{ inventory_hostname }}.one
    - name: where
      shell: pwd > {{ inventory_hostname }}.pwd
      args:
        chdir: "{{ tmp }}"
    - name: content
      ansible.builtin.copy: dest={{ tmp }}/{{ inventory_hostname }}.kv content="a b\n" mode=0640
"#,
    );
    for host in ["h1", "h2"] {
        assert_eq!(
            run.of_host(host),
            [
                ("one".to_string(), Changed),
                ("two".to_string(), Ok),
                ("where".to_string(), Changed),
                ("content".to_string(), Changed),
            ]
        );
        assert!(scratch.exists(&format!("{host}.one")));
        assert!(!scratch.exists(&format!("{host}.two")));
        let pwd = scratch.read(&format!("{host}.pwd")).expect("pwd written");
        assert_eq!(
            std::fs::canonicalize(pwd.trim()).ok(),
            std::fs::canonicalize(&scratch.dir).ok()
        );
        assert_eq!(
            scratch.read(&format!("{host}.kv")).as_deref(),
            Some("a b\n")
        );
    }
}

#[test]
fn task_vars_win_over_play_vars_for_their_task_only() {
    let (scratch, run) = run_on(
        "task-vars",
        &["h1: {word: inventory}", "h2:"],
        r#"
- hosts: all
  vars:
    word: play
    line: "{{ word }} {{ inventory_hostname }}"
  tasks:
    - name: with vars
      shell: echo {{ line }} > {{ file }}
      vars:
        word: task
        file: "{{ tmp }}/{{ inventory_hostname }}.with"
    - name: without
      shell: echo {{ line }} > {{ tmp }}/{{ inventory_hostname }}.without
    - name: registered
      command: echo registered
      register: word
    - name: over a result
      shell: echo {{ word.stdout }} > {{ tmp }}/{{ inventory_hostname }}.after
      vars:
        word: {stdout: task}
"#,
    );
    assert!(run.results().iter().all(|result| result.status == Changed));
    for host in ["h1", "h2"] {
        assert_eq!(
            scratch.read(&format!("{host}.with")),
            Some(format!("task {host}\n"))
        );
        assert_eq!(
            scratch.read(&format!("{host}.without")),
            Some(format!("play {host}\n"))
        );
        // A registered result sits above task vars, as in Ansible.
        assert_eq!(
            scratch.read(&format!("{host}.after")).as_deref(),
            Some("registered\n")
        );
    }
}
