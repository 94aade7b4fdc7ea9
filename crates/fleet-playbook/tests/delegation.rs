//! Where a task runs and who runs it, as loaded: `delegate_to`,
//! `delegate_facts`, `local_action` and `action`, `become_method` and
//! `become_flags`, on tasks, blocks and plays.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fleet_playbook::{BecomeMethod, LoadOptions, Playbook, PlaybookError, Task, load};
use serde_json::json;

fn load_text(text: &str, options: &LoadOptions) -> Result<Playbook, PlaybookError> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "fleet-playbook-delegation-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("play.yaml"), text).expect("write");
    let loaded = load(&dir.join("play.yaml"), options);
    std::fs::remove_dir_all(&dir).expect("clean up");
    loaded
}

/// An inventory of `web1`, `web2` and `db1`.
fn inventory() -> LoadOptions {
    let hosts: BTreeSet<String> = ["web1", "web2", "db1"].map(String::from).into();
    LoadOptions {
        inventory_hosts: Some(hosts),
        ..LoadOptions::default()
    }
}

fn tasks(text: &str) -> Vec<Task> {
    let playbook = load_text(text, &inventory()).unwrap_or_else(|err| panic!("{err}"));
    let play = &playbook.plays[0];
    // Without the flushes fleet adds between sections, as Ansible does.
    play.tasks
        .iter()
        .chain(&play.handlers)
        .filter(|task| task.module != "meta")
        .cloned()
        .collect()
}

/// The first line of the error, from the line number on.
fn error(text: &str) -> String {
    let err = load_text(text, &inventory()).expect_err("should be rejected");
    assert!(err.hint().is_some_and(|hint| !hint.is_empty()), "{err}");
    let first = err
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    first
        .split_once("play.yaml:")
        .map_or(first.clone(), |(_, rest)| rest.to_owned())
}

#[test]
fn delegate_to_names_an_inventory_host_the_controller_or_a_template() {
    let loaded = tasks(
        "hosts: all\ntasks:\n  - command: uptime\n    delegate_to: web2\n  - command: uptime\n    delegate_to: \"{{ groups['db'][0] }}\"\n  - command: uptime\n    delegate_to: \"{{ item }}\"\n    loop: [web1, web2]\n  - command: uptime\n    delegate_to: localhost\n  - command: uptime\n    delegate_to: 127.0.0.1\nhandlers:\n  - name: h\n    command: uptime\n    delegate_to: db1\n",
    );
    let targets: Vec<Option<&str>> = loaded.iter().map(|t| t.delegate_to.as_deref()).collect();
    assert_eq!(
        targets,
        [
            Some("web2"),
            Some("{{ groups['db'][0] }}"),
            Some("{{ item }}"),
            Some("localhost"),
            Some("127.0.0.1"),
            Some("db1")
        ]
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: uptime\n    delegate_to: web3\n"),
        "4:18: `delegate_to: web3` names no host of the inventory"
    );
    let undefined =
        error("hosts: all\ntasks:\n  - command: uptime\n    delegate_to: \"{{ peer }}\"\n");
    assert!(
        undefined.starts_with("4:18: ") && undefined.contains("`peer`"),
        "{undefined}"
    );
    // Without an inventory to check against, any name loads.
    let free = load_text(
        "hosts: all\ntasks:\n  - command: uptime\n    delegate_to: web3\n",
        &LoadOptions::default(),
    );
    assert!(free.is_ok());
}

#[test]
fn a_blocks_delegation_reaches_its_tasks_and_is_checked_there() {
    let loaded = tasks(
        "hosts: all\ntasks:\n  - block:\n      - command: uptime\n      - command: uptime\n        delegate_to: web1\n        delegate_facts: false\n    delegate_to: db1\n    delegate_facts: true\n",
    );
    let seen: Vec<(Option<&str>, bool)> = loaded
        .iter()
        .map(|t| (t.delegate_to.as_deref(), t.delegate_facts))
        .collect();
    assert_eq!(seen, [(Some("db1"), true), (Some("web1"), false)]);
    assert_eq!(
        error("hosts: all\ntasks:\n  - block:\n      - command: uptime\n    delegate_to: db9\n"),
        "5:18: `delegate_to: db9` names no host of the inventory"
    );
}

#[test]
fn local_action_and_action_are_the_module_written_the_old_way() {
    let loaded = tasks(
        "hosts: all\ntasks:\n  - local_action: command make -C /src creates=/src/out\n  - local_action:\n      module: copy\n      content: hi\n      dest: /tmp/x\n  - action: shell echo {{ inventory_hostname }}\n  - name: bare\n    local_action: ansible.builtin.debug msg=hi\n",
    );
    let shapes: Vec<(&str, &str, Option<&str>)> = loaded
        .iter()
        .map(|t| {
            (
                t.module.as_str(),
                t.module_as_written.as_str(),
                t.delegate_to.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        shapes[..3],
        [
            ("command", "command", Some("localhost")),
            ("copy", "copy", Some("localhost")),
            ("shell", "shell", None)
        ]
    );
    assert_eq!(
        loaded[0].params,
        json!({"cmd": "make -C /src", "creates": "/src/out"})
    );
    assert_eq!(loaded[1].params, json!({"content": "hi", "dest": "/tmp/x"}));
    assert_eq!(shapes[3].2, Some("localhost"));
    assert_eq!(
        error("hosts: all\ntasks:\n  - local_action: {src: a, dest: b}\n"),
        "3:19: `local_action` as a map needs a `module`"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - action: command true\n    local_action: command true\n"),
        "4:5: a task cannot have both `action` and `local_action`"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - action: commandd true\n"),
        "3:5: unknown task key or module `commandd`"
    );
}

#[test]
fn become_method_and_flags_are_read_at_every_level_and_checked_together() {
    let loaded = tasks(
        "hosts: all\nbecome: true\nbecome_method: su\nbecome_flags: -l\ntasks:\n  - command: id\n  - command: id\n    become_method: sudo\n    become_flags: -H -S -n\n  - block:\n      - command: id\n    become_flags: -s /bin/sh\n",
    );
    let methods: Vec<Option<BecomeMethod>> = loaded.iter().map(|t| t.become_method).collect();
    assert_eq!(methods, [None, Some(BecomeMethod::Sudo), None]);
    let flags: Vec<Option<Vec<String>>> = loaded
        .iter()
        .map(|t| t.become_flags.as_ref().map(|flags| flags.words.clone()))
        .collect();
    assert_eq!(
        flags,
        [
            None,
            Some(vec!["-H".into(), "-S".into(), "-n".into()]),
            Some(vec!["-s".into(), "/bin/sh".into()])
        ]
    );
    assert_eq!(
        error("hosts: all\nbecome_method: su\ntasks:\n  - command: id\n    become_flags: -H\n"),
        "5:19: `become_flags` \"-H\" is not a flag fleet passes to su"
    );
    assert_eq!(
        error("hosts: all\nbecome_flags: -l\ntasks: []\n"),
        "2:15: `become_flags` \"-l\" is not a flag fleet passes to sudo"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: id\n    become_method: pbrun\n"),
        "4:20: `become_method: pbrun` is not supported"
    );
}
