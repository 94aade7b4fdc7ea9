//! Play keys over the local connection: `strategy: linear`, `order`,
//! `throttle`, `any_errors_fatal`, play `environment` and
//! `module_defaults`.

mod common;

use common::{Scratch, run, run_on};
use fleet_engine::Status;

#[test]
fn linear_finishes_each_task_on_every_host_before_the_next() {
    let scratch = Scratch::new("linear");
    let inventory = scratch.inventory(&["h1:", "h2:"]);
    run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  strategy: linear
  tasks:
    - name: one
      shell: "{% if inventory_hostname == 'h1' %}sleep 0.3; {% endif %}echo one >> {{ tmp }}/log"
    - name: two
      shell: echo two >> {{ tmp }}/log
"#,
    );
    assert_eq!(scratch.read("log").as_deref(), Some("one\none\ntwo\ntwo\n"));
}

#[test]
fn order_and_throttle_choose_which_hosts_run_when() {
    let scratch = Scratch::new("order");
    let inventory = scratch.inventory(&["h1:", "h3:", "h2:"]);
    run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  order: reverse_sorted
  serial: 1
  tasks:
    - shell: echo {{ inventory_hostname }} >> {{ tmp }}/order
- hosts: all
  throttle: 1
  tasks:
    - shell: echo start >> {{ tmp }}/throttle; sleep 0.1; echo end >> {{ tmp }}/throttle
"#,
    );
    assert_eq!(scratch.read("order").as_deref(), Some("h3\nh2\nh1\n"));
    assert_eq!(
        scratch.read("throttle").as_deref(),
        Some("start\nend\nstart\nend\nstart\nend\n")
    );
}

#[test]
fn any_errors_fatal_stops_every_host_and_the_run() {
    let (scratch, run) = run_on(
        "fatal",
        &["h1:", "h2:"],
        r#"
- hosts: all
  any_errors_fatal: true
  tasks:
    - name: one
      shell: "{% if inventory_hostname == 'h1' %}sleep 0.3{% else %}false{% endif %}"
    - name: two
      shell: echo two >> {{ tmp }}/{{ inventory_hostname }}
- hosts: all
  tasks:
    - name: next play
      shell: echo next >> {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    assert!(!scratch.exists("h1") && !scratch.exists("h2"));
    assert_eq!(run.counts().failed, 1);
}

#[test]
fn play_environment_and_module_defaults_reach_the_tasks() {
    let scratch = Scratch::new("defaults");
    let inventory = scratch.inventory(&["h1:"]);
    std::fs::create_dir_all(scratch.path("work")).unwrap();
    run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  environment: {GREETING: hello, OTHER: play}
  module_defaults:
    ansible.builtin.shell: {chdir: "{{ tmp }}/work"}
  tasks:
    - shell: echo "$GREETING $OTHER $(pwd)" > {{ tmp }}/out
      environment: {OTHER: task}
"#,
    );
    assert_eq!(
        scratch.read("out"),
        Some(format!("hello task {}\n", scratch.path("work").display()))
    );
}

#[test]
fn check_mode_true_only_checks_a_task_in_a_real_run() {
    let scratch = Scratch::new("check-mode");
    let inventory = scratch.inventory(&["h1:"]);
    let file = |name: &str| format!("{{{{ tmp }}}}/{name}");
    let playbook = format!(
        r#"
- hosts: all
  tasks:
    - copy: {{content: "x\n", dest: "{checked}"}}
      check_mode: true
    - block:
        - copy: {{content: "x\n", dest: "{in_block}"}}
      check_mode: true
    - copy: {{content: "x\n", dest: "{real}"}}
"#,
        checked = file("checked"),
        in_block = file("in-block"),
        real = file("real"),
    );
    let run = run(&scratch, &inventory, &playbook);
    assert!(!scratch.exists("checked") && !scratch.exists("in-block"));
    assert_eq!(scratch.read("real").as_deref(), Some("x\n"));
    assert_eq!(run.counts().changed, 3);
}

#[test]
fn check_mode_skips_a_command_unless_creates_or_removes_can_tell() {
    let (scratch, run) = run_on(
        "check-command",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - name: blind
      command: touch {{ tmp }}/blind
      check_mode: true
      register: blind
    - name: with creates
      shell: touch {{ tmp }}/made
      args: {creates: "{{ tmp }}/made"}
      check_mode: true
    - name: what was registered
      copy: {content: "{{ blind.skipped }} {{ blind.changed }}\n", dest: "{{ tmp }}/seen"}
"#,
    );
    // As Ansible's `command`: skipped when it cannot tell, else `changed`.
    assert_eq!(
        run.of_host("h1"),
        [
            ("blind".to_string(), Status::Skipped),
            ("with creates".to_string(), Status::Changed),
            ("what was registered".to_string(), Status::Changed),
        ]
    );
    assert_eq!(scratch.read("seen").as_deref(), Some("True False\n"));
    assert!(!scratch.exists("blind") && !scratch.exists("made"));
}

#[test]
fn a_task_that_may_retry_registers_its_attempts() {
    let (scratch, run) = run_on(
        "attempts",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - name: count
      shell: echo x >> {{ tmp }}/count; wc -l < {{ tmp }}/count
      register: counted
      until: counted.stdout | int >= 2
      retries: 4
      delay: 0
    - name: once
      command: "true"
      register: once
    - name: what was registered
      copy:
        content: "{{ counted.attempts }} {{ once.attempts | default('none') }}\n"
        dest: "{{ tmp }}/seen"
"#,
    );
    assert_eq!(run.counts().failed, 0, "{:?}", run.results());
    assert_eq!(scratch.read("seen").as_deref(), Some("2 none\n"));
}
