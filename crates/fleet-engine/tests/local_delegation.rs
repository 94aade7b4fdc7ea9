//! Delegation over the local connection: `delegate_to` an inventory host
//! (by name, by template, per loop item), `delegate_facts`, `run_once`
//! with `delegate_to`, a block's `delegate_to`, `local_action`, and a
//! delegated handler.

mod common;

use common::{Scratch, run, run_on};
use fleet_engine::Status;

/// `(host, delegated_to, status)` of each result of `task`, by host.
fn delegated(run: &common::Run, task: &str) -> Vec<(String, Option<String>, Status)> {
    let mut seen: Vec<_> = run
        .of_task(task)
        .iter()
        .map(|result| {
            (
                result.host.clone(),
                result.delegated_to.clone(),
                result.status,
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    seen
}

#[test]
fn a_task_delegated_to_another_host_runs_there_with_its_own_hosts_vars() {
    let (scratch, run) = run_on(
        "delegate-host",
        &["h1: {role: web}", "h2: {role: web}", "db1: {role: db}"],
        r#"
- hosts: h1:h2
  tasks:
    - name: record
      shell: echo {{ inventory_hostname }} {{ role }} >> {{ tmp }}/on-db
      delegate_to: db1
    - name: by template
      shell: echo {{ inventory_hostname }} > {{ tmp }}/templated-{{ inventory_hostname }}
      delegate_to: "{{ groups['all'] | last }}"
    - name: each
      command: echo {{ item }}
      delegate_to: "{{ item }}"
      loop: [h1, db1]
      register: each
    - name: loop results
      shell: echo "{{ each.results | map(attribute='stdout') | join(',') }}" > {{ tmp }}/each-{{ inventory_hostname }}
"#,
    );
    let mut lines: Vec<String> = scratch
        .read("on-db")
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    assert_eq!(lines, ["h1 web", "h2 web"], "the delegating hosts' vars");
    let db = Some("db1".to_string());
    assert_eq!(
        delegated(&run, "record"),
        [
            ("h1".into(), db.clone(), Status::Changed),
            ("h2".into(), db.clone(), Status::Changed)
        ]
    );
    assert_eq!(delegated(&run, "by template")[0].1, db);
    assert_eq!(scratch.read("templated-h2").as_deref(), Some("h2\n"));
    assert_eq!(
        delegated(&run, "each")[0].1.as_deref(),
        Some("h1, db1"),
        "each item on its own host"
    );
    assert_eq!(scratch.read("each-h1").as_deref(), Some("h1,db1\n"));
    assert_eq!(run.counts().failed, 0);
}

#[test]
fn delegate_facts_gives_the_facts_to_the_host_delegated_to() {
    let (scratch, run) = run_on(
        "delegate-facts",
        &["h1:", "h2:", "db1:"],
        r#"
- hosts: h1:h2
  tasks:
    - name: tell db1
      set_fact:
        told_by: "{{ inventory_hostname }}"
      delegate_to: db1
      delegate_facts: true
      when: inventory_hostname == 'h1'
      changed_when: true
      notify: remember
    - name: tell h2
      set_fact:
        peer_note: from-{{ inventory_hostname }}
      delegate_to: h2
      delegate_facts: true
      when: inventory_hostname == 'h1'
    - name: keep it
      set_fact:
        own_note: mine-{{ inventory_hostname }}
      delegate_to: db1
    - name: show
      shell: echo "{{ peer_note | default('none') }} {{ told_by | default('none') }} {{ own_note }}" > {{ tmp }}/{{ inventory_hostname }}
  handlers:
    - name: remember
      set_fact:
        handled: by-{{ inventory_hostname }}
      delegate_to: db1
      delegate_facts: true
- hosts: db1
  tasks:
    - name: show db1
      shell: echo "{{ told_by | default('none') }} {{ own_note | default('none') }} {{ handled | default('none') }}" > {{ tmp }}/db1
"#,
    );
    assert_eq!(scratch.read("h1").as_deref(), Some("none none mine-h1\n"));
    assert_eq!(
        scratch.read("h2").as_deref(),
        Some("from-h1 none mine-h2\n")
    );
    assert_eq!(scratch.read("db1").as_deref(), Some("h1 none by-h1\n"));
    assert_eq!(run.counts().failed, 0);
}

#[test]
fn run_once_with_delegate_to_runs_once_there_for_every_host() {
    let (scratch, run) = run_on(
        "delegate-once",
        &["h1:", "h2:", "h3:", "db1:"],
        r#"
- hosts: h1:h2:h3
  tasks:
    - name: migrate
      shell: echo {{ inventory_hostname }} >> {{ tmp }}/migrated; echo done
      delegate_to: db1
      run_once: true
      register: migration
    - name: seen
      shell: echo {{ migration.stdout }} > {{ tmp }}/seen-{{ inventory_hostname }}
"#,
    );
    assert_eq!(scratch.read("migrated").as_deref(), Some("h1\n"));
    for host in ["h1", "h2", "h3"] {
        assert_eq!(
            scratch.read(&format!("seen-{host}")).as_deref(),
            Some("done\n")
        );
    }
    assert_eq!(
        delegated(&run, "migrate"),
        [("h1".into(), Some("db1".into()), Status::Changed)]
    );
}

#[test]
fn a_blocks_delegate_to_and_local_action_place_their_tasks() {
    let (scratch, run) = run_on(
        "delegate-block",
        &["h1:", "db1:"],
        r#"
- hosts: h1
  tasks:
    - block:
        - name: inside
          command: "true"
        - name: own target
          command: "true"
          delegate_to: h1
      delegate_to: db1
    - name: old style
      local_action: command touch {{ tmp }}/local-action
    - name: old style map
      local_action:
        module: copy
        content: "{{ inventory_hostname }}\n"
        dest: "{{ tmp }}/local-copy"
      notify: tell db1
  handlers:
    - name: tell db1
      command: echo {{ inventory_hostname }}
      delegate_to: "{{ 'db' ~ 1 }}"
"#,
    );
    let at = |task: &str| delegated(&run, task)[0].1.clone();
    assert_eq!(at("inside").as_deref(), Some("db1"));
    assert_eq!(at("own target").as_deref(), Some("h1"));
    assert_eq!(at("old style").as_deref(), Some("localhost"));
    assert!(scratch.exists("local-action"));
    assert_eq!(scratch.read("local-copy").as_deref(), Some("h1\n"));
    assert_eq!(
        at("tell db1").as_deref(),
        Some("db1"),
        "a delegated handler"
    );
}

#[test]
fn an_unreachable_delegate_makes_its_task_unreachable_and_only_commands_connect() {
    let scratch = Scratch::new("delegate-unreachable");
    // Nothing listens on port 1.
    let inventory =
        scratch.inventory(&["h1:", "s1: {connection: ssh, address: 127.0.0.1, port: 1}"]);
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: h1
  tasks:
    - name: note
      set_fact:
        noted: yes
      delegate_to: s1
    - name: say
      debug:
        msg: "{{ noted }}"
      delegate_to: s1
    - name: reach
      command: "true"
      delegate_to: s1
    - name: after
      command: "true"
"#,
    );
    assert_eq!(
        run.of_host("h1")[..2],
        [
            ("note".to_string(), Status::Ok),
            ("say".to_string(), Status::Ok)
        ]
    );
    let reach = run.of_task("reach");
    assert_eq!(reach[0].status, Status::Unreachable, "{reach:?}");
    assert!(
        reach[0].msg.as_deref().unwrap_or_default().contains("s1"),
        "{reach:?}"
    );
    assert!(run.of_task("after").is_empty());
}
