use std::path::Path;

use super::*;
use crate::{LoadOptions, Playbook, load};

fn scratch(files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-includes-{}", fleet_shell::token()));
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn loaded(dir: &Path) -> Result<Playbook, String> {
    load(&dir.join("site.yml"), &LoadOptions::default()).map_err(|err| err.to_string())
}

#[test]
fn each_template_region_is_a_wildcard_within_one_name() {
    assert_eq!(glob_pattern("setup-{{ mode }}.yml"), "setup-*.yml");
    assert_eq!(
        glob_pattern("{{ a | lower }}/{{ b }}{{ c }}.yml"),
        "*/*.yml"
    );
    assert_eq!(glob_pattern("x{# note #}.yml"), "x.yml");
    assert_eq!(
        glob_pattern("[a]{% if x %}b{% endif %}.yml"),
        "[[]a[]]*b*.yml"
    );
}

#[test]
fn a_templated_include_loads_every_file_it_can_name() {
    let dir = scratch(&[
        (
            "site.yml",
            "- hosts: all\n  vars: {mode: a}\n  tasks:\n    - name: pick\n      include_tasks: \"tasks/setup-{{ mode }}.yml\"\n      loop: [1, 2]\n    - name: after\n      command: 'true'\n",
        ),
        (
            "tasks/setup-a.yml",
            "- name: in a {{ item }}\n  command: 'true'\n",
        ),
        (
            "tasks/setup-b.yml",
            "- name: in b\n  command: 'true'\n- name: b2\n  command: 'true'\n",
        ),
        ("tasks/setup-vars.yml", "x: 1\n"),
        ("tasks/other.yml", "- name: other\n  command: 'true'\n"),
    ]);
    let playbook = loaded(&dir).unwrap();
    let tasks = &playbook.plays[0].tasks;
    let names: Vec<&str> = tasks.iter().map(|task| task.name.as_str()).collect();
    assert_eq!(names, ["pick", "in a {{ item }}", "in b", "b2", "after"]);
    let include = tasks[0].include.as_ref().unwrap();
    let files: Vec<String> = include
        .files
        .iter()
        .map(|file| file.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    // A map (a vars file) is not a task file.
    assert_eq!(files, ["tasks/setup-a.yml", "tasks/setup-b.yml"]);
    let parts: Vec<Vec<(usize, usize)>> = tasks
        .iter()
        .map(|task| task.included.iter().map(|p| (p.include, p.file)).collect())
        .collect();
    assert_eq!(
        parts,
        [vec![], vec![(0, 0)], vec![(0, 1)], vec![(0, 1)], vec![]]
    );
    assert_eq!(include.pick("tasks/setup-b.yml"), Some(1));
    assert_eq!(include.pick("tasks/setup-c.yml"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_include_keeps_its_keywords_and_apply_gives_the_included_tasks_theirs() {
    let dir = scratch(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - name: inc\n      include_tasks:\n        file: t.yml\n        apply: {tags: [inner], become: true, when: go}\n      tags: [outer]\n      when: ready\n      vars: {go: true, ready: true}\n",
        ),
        ("t.yml", "- name: t\n  command: 'true'\n"),
    ]);
    let playbook = loaded(&dir).unwrap();
    let tasks = &playbook.plays[0].tasks;
    assert_eq!(tasks[0].tags, ["outer"]);
    assert_eq!(tasks[0].when.as_deref(), Some("ready"));
    assert_eq!(tasks[1].tags, ["inner"]);
    assert_eq!(tasks[1].when.as_deref(), Some("go"));
    assert_eq!(tasks[1].r#become, Some(true));
    assert_eq!(tasks[1].vars["go"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_including_file_is_no_candidate_and_a_name_matching_nothing_is_refused() {
    let dir = scratch(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include_tasks: tasks/main.yml\n",
        ),
        (
            "tasks/main.yml",
            "- include_tasks: \"{{ os }}.yml\"\n  vars: {os: debian}\n",
        ),
        ("tasks/debian.yml", "- name: deb\n  command: 'true'\n"),
    ]);
    let playbook = loaded(&dir).unwrap();
    let inner = playbook.plays[0].tasks[1].include.as_ref().unwrap();
    assert_eq!(inner.files.len(), 1);
    assert!(inner.files[0].ends_with("tasks/debian.yml"));
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  tasks:\n    - include_tasks: \"nothing-{{ x }}.yml\"\n      vars: {x: 1}\n",
    )
    .unwrap();
    let err = loaded(&dir).unwrap_err();
    assert!(
        err.contains("no task file matches the templated name"),
        "{err}"
    );
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  tasks:\n    - include_tasks: tasks/debian.yml\n      become: true\n",
    )
    .unwrap();
    let err = loaded(&dir).unwrap_err();
    assert!(
        err.contains("`become` cannot be set on `include_tasks`"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn included_tasks_know_the_loop_variables_of_their_include() {
    let dir = scratch(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include_tasks: t.yml\n      loop: [a]\n      loop_control: {loop_var: pkg, index_var: i}\n",
        ),
        (
            "t.yml",
            "- name: \"{{ pkg }} {{ i }}\"\n  command: echo {{ pkg }}\n",
        ),
    ]);
    loaded(&dir).unwrap();
    std::fs::write(dir.join("t.yml"), "- command: echo {{ item }}\n").unwrap();
    let err = loaded(&dir).unwrap_err();
    assert!(err.contains("undefined variable `item`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_handler_block_gives_its_keywords_to_each_handler() {
    let dir = scratch(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - command: 'true'\n      notify: [one, topic]\n  handlers:\n    - name: both\n      when: true\n      become: true\n      block:\n        - name: one\n          command: 'true'\n        - name: two\n          command: 'true'\n          listen: topic\n",
    )]);
    let playbook = loaded(&dir).unwrap();
    let handlers = &playbook.plays[0].handlers;
    let names: Vec<&str> = handlers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    assert!(
        handlers
            .iter()
            .all(|h| h.r#become == Some(true) && h.blocks.is_empty())
    );
    assert_eq!(handlers[1].listen, ["topic"]);
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  handlers:\n    - block:\n        - name: one\n          command: 'true'\n      rescue:\n        - command: 'true'\n",
    )
    .unwrap();
    let err = loaded(&dir).unwrap_err();
    assert!(
        err.contains("a handler block cannot have `rescue`"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_legacy_include_runs_as_include_tasks_with_a_warning() {
    let dir = scratch(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include: t.yml\n      loop: [1]\n",
        ),
        ("t.yml", "- name: t {{ item }}\n  command: 'true'\n"),
    ]);
    let playbook = loaded(&dir).unwrap();
    assert!(playbook.plays[0].tasks[0].include.is_some());
    assert_eq!(playbook.warnings.len(), 1);
    assert!(
        playbook.warnings[0]
            .to_string()
            .ends_with("site.yml:3:7: `include` was removed from Ansible; fleet reads it as `include_tasks`\n  hint: write `include_tasks` (or `import_tasks`; `import_playbook` for plays)"),
        "{:?}",
        playbook.warnings
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_candidate_using_variables_undefined_at_the_include_is_left_out() {
    let dir = scratch(&[
        (
            "site.yml",
            "- hosts: all\n  vars: {os: debian}\n  tasks:\n    - include_tasks: \"tasks/{{ os }}.yml\"\n    - include_tasks: tasks/pkg.yml\n      loop: [curl]\n      loop_control: {loop_var: pkg}\n",
        ),
        ("tasks/debian.yml", "- name: deb\n  command: 'true'\n"),
        ("tasks/pkg.yml", "- name: pkg\n  command: echo {{ pkg }}\n"),
    ]);
    let playbook = loaded(&dir).unwrap();
    let tasks = &playbook.plays[0].tasks;
    let names: Vec<&str> = tasks.iter().map(|task| task.name.as_str()).collect();
    // pkg.yml is a candidate of the first include too, where `pkg` is
    // undefined: left out there, kept for the second include.
    assert_eq!(names, ["include_tasks", "deb", "include_tasks", "pkg"]);
    let first = tasks[0].include.as_ref().unwrap();
    assert_eq!(first.files.len(), 2);
    let why = first.left_out(1).unwrap();
    assert!(why.contains("undefined variable `pkg`"), "{why}");
    // When every candidate is left out, the include is an error.
    std::fs::write(dir.join("tasks/debian.yml"), "- command: echo {{ typo }}\n").unwrap();
    let err = loaded(&dir).unwrap_err();
    assert!(err.contains("undefined variable `"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
