use std::path::PathBuf;

use super::*;
use crate::{LoadOptions, Playbook};

const PLAYBOOK: &str = r#"
- hosts: all
  vars:
    artifacts: /srv/artifacts
    os_line: "os {{ os_name }}"
    os_name: "{{ facts.os }}"
    app_dir: "/opt/{{ app }}"
    app: shop
  defaults_files: [defaults.yaml]
  tasks:
    - name: plain path
      copy: {src: a.txt, dest: /srv/artifacts/a.txt}
    - name: facts in params
      command: "echo {{ facts.os }}"
    - name: facts in when
      command: "true"
      when: facts.os == "debian"
    - name: facts in a loop
      command: "echo {{ item }}"
      loop: "{{ facts.disks }}"
    - name: facts in the template file
      template: {src: motd.j2, dest: /etc/motd}
    - name: a template without facts
      template: {src: plain.j2, dest: /etc/plain}
    - name: a play var that reads facts, through another
      command: "echo {{ os_line }}"
    - name: play vars that do not
      command: "ls {{ app_dir }} {{ artifacts }}"
    - name: a default that reads facts
      command: "echo {{ arch_dir }}"
    - name: "on {{ facts.hostname }}"
      command: "true"
    - name: facts only when defined
      command: "true"
      changed_when: facts is defined
"#;

/// The playbook, and its folder (the template files are read when a
/// task's variables are listed): remove it when done.
fn load(test: &str) -> (Playbook, PathBuf) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("fleet-references-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), "a\n").unwrap();
    std::fs::write(dir.join("motd.j2"), "Welcome\n{{ facts.os }} {{ app }}\n").unwrap();
    std::fs::write(dir.join("plain.j2"), "{{ app }} under /srv/artifacts\n").unwrap();
    std::fs::write(
        dir.join("defaults.yaml"),
        "arch_dir: \"/opt/{{ facts.arch }}\"\n",
    )
    .unwrap();
    let path = dir.join("playbook.yaml");
    std::fs::write(&path, PLAYBOOK).unwrap();
    (crate::load(&path, &LoadOptions::default()).unwrap(), dir)
}

fn needs(play: &Play, name: &str) -> bool {
    let task = play.tasks.iter().find(|task| task.name == name).unwrap();
    needs_facts(play, task)
}

#[test]
fn only_tasks_that_read_facts_need_them() {
    let (playbook, dir) = load("needs");
    let play = &playbook.plays[0];
    for name in [
        "facts in params",
        "facts in when",
        "facts in a loop",
        "facts in the template file",
        "a play var that reads facts, through another",
        "a default that reads facts",
        "on {{ facts.hostname }}",
        "facts only when defined",
    ] {
        assert!(needs(play, name), "{name}");
    }
    for name in [
        "plain path",
        "a template without facts",
        "play vars that do not",
    ] {
        assert!(!needs(play, name), "{name}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_variables_of_a_task_include_those_its_play_vars_read() {
    let (playbook, dir) = load("variables");
    let play = &playbook.plays[0];
    let task = play
        .tasks
        .iter()
        .find(|task| task.name == "play vars that do not")
        .unwrap();
    let names: Vec<String> = task_variables(play, task).into_iter().collect();
    assert_eq!(names, ["app", "app_dir", "artifacts"]);
    let task = play
        .tasks
        .iter()
        .find(|task| task.name == "a play var that reads facts, through another")
        .unwrap();
    let names: Vec<String> = task_variables(play, task).into_iter().collect();
    assert_eq!(names, ["facts", "os_line", "os_name"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ansible_facts_and_hostvars_count_as_reading_facts() {
    let dir = std::env::temp_dir().join(format!("fleet-references-{}-ansible", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("playbook.yaml");
    std::fs::write(
        &path,
        r#"
- hosts: all
  vars:
    family: "{{ ansible_os_family }}"
  tasks:
    - name: injected
      command: "echo {{ ansible_distribution }}"
    - name: namespaced
      command: "echo {{ ansible_facts['distribution'] }}"
    - name: through a play var
      command: "echo {{ family }}"
    - name: other hosts
      command: "echo {{ hostvars[groups['all'][0]].inventory_hostname }}"
    - name: an interface
      command: "echo {{ ansible_eth0.ipv4.address }}"
    - name: magic but no facts
      command: "echo {{ ansible_play_hosts }} {{ ansible_check_mode }} {{ group_names }}"
"#,
    )
    .unwrap();
    let playbook = crate::load(&path, &LoadOptions::default()).unwrap();
    let play = &playbook.plays[0];
    let task = |name: &str| play.tasks.iter().find(|task| task.name == name).unwrap();
    for name in [
        "injected",
        "namespaced",
        "through a play var",
        "other hosts",
        "an interface",
    ] {
        assert!(reads_facts(play, task(name)), "{name}");
    }
    assert!(!reads_facts(play, task("magic but no facts")));
    assert!(reads_hostvars(play, task("other hosts")));
    assert!(!reads_hostvars(play, task("injected")));
    std::fs::remove_dir_all(dir).unwrap();
}
