//! Task syntax written the Ansible way: module names, free-form arguments,
//! `args`, task `vars`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fleet_playbook::{LoadOptions, Playbook, PlaybookError, Task, load};
use serde_json::json;

/// A fresh folder holding `files` (path, text); returns the folder.
fn scratch(files: &[(&str, &str)]) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "fleet-playbook-tasks-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn load_tasks(tasks: &str) -> Result<Playbook, PlaybookError> {
    let dir = scratch(&[("play.yaml", &format!("hosts: all\ntasks:\n{tasks}"))]);
    let loaded = load(&dir.join("play.yaml"), &LoadOptions::default());
    std::fs::remove_dir_all(&dir).expect("clean up");
    loaded
}

/// The tasks of a one-play playbook whose `tasks:` are `tasks`.
fn tasks(tasks: &str) -> Vec<Task> {
    match load_tasks(tasks) {
        Ok(playbook) => playbook.plays[0].tasks.clone(),
        Err(err) => panic!("{err}\n{tasks}"),
    }
}

/// The error's first line without the scratch folder, and its hint.
fn error(tasks: &str) -> (String, String) {
    let err = load_tasks(tasks).expect_err("should be rejected");
    let hint = err.hint().unwrap_or_default().to_owned();
    assert!(!hint.is_empty(), "{err}");
    let first = err
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let first = first
        .split_once("play.yaml:")
        .map_or(first.clone(), |(_, rest)| rest.to_owned());
    (first, hint)
}

#[test]
fn collection_names_resolve_to_fleets_modules() {
    let loaded = tasks(
        "  - ansible.builtin.command: uptime\n\
         \x20 - ansible.legacy.shell: echo hi\n\
         \x20 - ansible.posix.authorized_key: {user: app, key: ssh-ed25519 AAAA}\n\
         \x20 - ansible.posix.sysctl: {name: vm.swappiness, value: '10'}\n\
         \x20 - community.general.ufw: {state: enabled}\n\
         \x20 - ansible.builtin.systemd_service: {name: nginx, state: started}\n",
    );
    let modules: Vec<(&str, &str)> = loaded
        .iter()
        .map(|task| (task.module.as_str(), task.module_as_written.as_str()))
        .collect();
    assert_eq!(
        modules,
        [
            ("command", "ansible.builtin.command"),
            ("shell", "ansible.legacy.shell"),
            ("authorized_key", "ansible.posix.authorized_key"),
            ("sysctl", "ansible.posix.sysctl"),
            ("ufw", "community.general.ufw"),
            ("systemd", "ansible.builtin.systemd_service"),
        ]
    );
    assert_eq!(loaded[0].name, "command: uptime");
    assert_eq!(loaded[0].params, json!("uptime"));
}

#[test]
fn a_collection_name_is_checked_like_the_short_one() {
    let (first, hint) = error("  - ansible.builtin.copy: {dest: /x, contnet: a}\n");
    assert_eq!(first, "3:38: `copy` has no parameter `contnet`");
    assert!(hint.contains("content"), "{hint}");
}

#[test]
fn an_unimplemented_collection_module_is_refused_where_it_is_written() {
    let (first, hint) =
        error("  - name: run it\n    community.docker.docker_container: {name: x}\n");
    assert_eq!(
        first,
        "4:5: this task uses the module `community.docker.docker_container`, \
         which fleet does not implement"
    );
    assert!(hint.contains("command`/`shell"), "{hint}");
    assert!(hint.contains("ansible.posix.sysctl"), "{hint}");
    let (first, hint) = error("  - ansible.builtin.apt_key: {url: x}\n");
    assert_eq!(
        first,
        "3:5: this task uses the module `ansible.builtin.apt_key`, which fleet does not implement"
    );
    assert!(
        hint.starts_with("did you mean `ansible.builtin.apt`?"),
        "{hint}"
    );
}

#[test]
fn two_modules_under_any_names_are_two_modules() {
    let (first, _) = error("  - ansible.builtin.command: uptime\n    shell: uptime\n");
    assert_eq!(
        first,
        "4:5: this task has two modules, `ansible.builtin.command` and `shell`"
    );
}
