//! Task syntax written the Ansible way: module names, free-form arguments,
//! `args`, task `vars`.

mod common;

use common::{error, scratch, tasks};
use fleet_playbook::{LoadOptions, load};
use serde_json::json;

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
    let (first, hint) = error("  - ansible.builtin.group_by: {key: x}\n");
    assert_eq!(
        first,
        "3:5: this task uses the module `ansible.builtin.group_by`, which fleet does not implement"
    );
    assert!(
        hint.starts_with("did you mean `ansible.builtin.group`?"),
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

#[test]
fn key_value_strings_become_params() {
    let loaded = tasks(
        "  - apt: name=nginx state=present update_cache=yes\n\
         \x20 - debug: msg=\"hello {{ inventory_hostname }}\"\n\
         \x20 - copy: dest=/etc/motd content='a b\\n' mode=0644\n",
    );
    assert_eq!(
        loaded[0].params,
        json!({"name": "nginx", "state": "present", "update_cache": "yes"})
    );
    assert_eq!(loaded[0].name, "apt: nginx");
    assert_eq!(
        loaded[1].params,
        json!({"msg": "hello {{ inventory_hostname }}"})
    );
    assert_eq!(
        loaded[2].params,
        json!({"dest": "/etc/motd", "content": "a b\n", "mode": "0644"})
    );
}

#[test]
fn command_options_are_taken_out_of_the_command() {
    let loaded = tasks(
        "  - command: make install creates=/usr/local/bin/app chdir=/src\n\
         \x20 - shell: FOO=bar ./run --x=1 >out\n\
         \x20 - shell: chdir=/srv cat a | wc -l\n",
    );
    assert_eq!(
        loaded[0].params,
        json!({"cmd": "make install", "creates": "/usr/local/bin/app", "chdir": "/src"})
    );
    assert_eq!(loaded[0].name, "command: make install");
    assert_eq!(loaded[1].params, json!("FOO=bar ./run --x=1 >out"));
    assert_eq!(
        loaded[2].params,
        json!({"cmd": "cat a | wc -l", "chdir": "/srv"})
    );
}

#[test]
fn a_key_value_string_is_checked_like_a_map() {
    let (first, hint) = error("  - apt: nginx state=present\n");
    assert_eq!(
        first,
        "3:10: the `apt` params are `key=value` words, but \"nginx\" is not one"
    );
    assert!(hint.contains("`apt: {name: value}`"), "{hint}");
    let (first, _) = error("  - debug: msg=\"unclosed\n");
    assert!(first.starts_with("3:12: "), "{first}");
    let (first, hint) = error("  - apt: nmae=nginx\n");
    assert_eq!(first, "3:5: `apt` has no parameter `nmae`");
    assert!(hint.contains("name"), "{hint}");
    let (first, _) = error("  - command: echo {{ nowhere }} chdir=/\n");
    assert_eq!(
        first,
        "3:14: undefined variable `nowhere` in the `command` params"
    );
    let (first, _) = error("  - command: echo hi executable=/bin/bash\n");
    assert_eq!(first, "3:5: `command` has no parameter `executable`");
}

#[test]
fn params_given_as_one_template_are_kept_for_the_host() {
    let dir = scratch(&[(
        "play.yaml",
        "hosts: all\nvars: {motd: {dest: /etc/motd, content: hi}}\ntasks:\n  - copy: \"{{ motd }}\"\n",
    )]);
    let playbook = load(&dir.join("play.yaml"), &LoadOptions::default()).expect("loads");
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(playbook.plays[0].tasks[0].params, json!("{{ motd }}"));
}

#[test]
fn args_go_under_the_modules_own_params() {
    let loaded = tasks(
        "  - command: pwd\n    args: {chdir: /tmp, creates: /x}\n\
         \x20 - file: {path: /a, state: directory}\n    args: {path: /b, mode: '0755'}\n\
         \x20 - command: ls chdir=/srv\n    args: {chdir: /tmp}\n",
    );
    assert_eq!(
        loaded[0].params,
        json!({"chdir": "/tmp", "creates": "/x", "cmd": "pwd"})
    );
    assert_eq!(
        loaded[1].params,
        json!({"path": "/a", "mode": "0755", "state": "directory"})
    );
    assert_eq!(loaded[2].params, json!({"chdir": "/srv", "cmd": "ls"}));
}

#[test]
fn args_are_checked_where_they_are_written() {
    let (first, hint) = error("  - command: pwd\n    args: chdir=/tmp\n");
    assert_eq!(
        first,
        "4:11: `args` must be a map of the module's parameters, got \"chdir=/tmp\""
    );
    assert!(hint.contains("args: {chdir"), "{hint}");
    let (first, _) = error("  - command: pwd\n    args: {chdri: /tmp}\n");
    assert_eq!(first, "4:12: `command` has no parameter `chdri`");
    let (first, _) = error("  - command: pwd\n    args: {chdir: \"{{ nowhere }}\"}\n");
    assert_eq!(first, "4:19: undefined variable `nowhere` in `args`");
}

#[test]
fn task_vars_are_known_to_their_task_only() {
    let loaded = tasks(
        "  - command: echo {{ word }} {{ root }}\n    vars: {word: hi, root: \"/opt/{{ word }}\"}\n",
    );
    assert_eq!(
        loaded[0].vars,
        json!({"word": "hi", "root": "/opt/{{ word }}"})
            .as_object()
            .cloned()
            .unwrap()
    );
    let (first, _) =
        error("  - command: echo {{ word }}\n    vars: {word: hi}\n  - command: echo {{ word }}\n");
    assert_eq!(
        first,
        "5:14: undefined variable `word` in the `command` params"
    );
    let (first, _) = error("  - command: 'true'\n    vars: {facts: 1}\n");
    assert_eq!(
        first,
        "4:12: `facts` is a built-in variable and cannot be set"
    );
    let (first, _) = error("  - command: 'true'\n    vars: [a]\n");
    assert!(
        first.starts_with("4:11: task vars must be a map"),
        "{first}"
    );
}
