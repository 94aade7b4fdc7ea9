//! Roles as the loader expands them: which uses of a role run, in what
//! order, with which vars.

mod common;

use common::scratch;
use fleet_playbook::{LoadOptions, Playbook, load};

/// Loads `play.yaml` holding `play`, beside the role files `files`.
fn load_play(play: &str, files: &[(&str, &str)]) -> Playbook {
    let mut all = files.to_vec();
    all.push(("play.yaml", play));
    let dir = scratch(&all);
    let loaded = load(&dir.join("play.yaml"), &LoadOptions::default());
    std::fs::remove_dir_all(&dir).expect("clean up");
    loaded.unwrap_or_else(|err| panic!("{err}"))
}

/// Each task's name and the value of its var `var`.
fn names_with(playbook: &Playbook, var: &str) -> Vec<String> {
    playbook.plays[0]
        .tasks
        .iter()
        .map(|task| match task.vars.get(var) {
            Some(value) => format!("{} {value}", task.name),
            None => task.name.clone(),
        })
        .collect()
}

const NOTE: &[(&str, &str)] = &[
    ("roles/note/defaults/main.yml", "text: default\n"),
    (
        "roles/note/tasks/main.yml",
        "- name: write\n  debug: {msg: \"{{ text }}\"}\n",
    ),
];

#[test]
fn a_role_entry_with_its_own_vars_when_or_tags_is_another_use_of_the_role() {
    let playbook = load_play(
        "hosts: all\nroles:\n  - note\n  - {role: note, vars: {text: vars}}\n  - {role: note, vars: {text: vars}}\n  - {role: note, when: true}\n  - {role: note, tags: [t]}\n  - note\n",
        NOTE,
    );
    // The bare entry and the vars entry run once each, like Ansible's role
    // cache keyed on the params, `when`, `tags` and `vars`.
    assert_eq!(
        names_with(&playbook, "text"),
        [
            "note : write",
            "note : write \"vars\"",
            "note : write",
            "note : write"
        ]
    );
}

#[test]
fn roles_and_task_files_are_also_included_under_their_qualified_names() {
    let mut files = NOTE.to_vec();
    files.push(("more.yml", "- name: more\n  debug: {msg: more}\n"));
    let playbook = load_play(
        "hosts: all\ntasks:\n  - ansible.builtin.import_role: {name: note}\n    vars: {text: imported}\n  - ansible.legacy.include_role: {name: note}\n  - ansible.builtin.import_tasks: more.yml\n  - ansible.builtin.include_tasks: {file: more.yml}\n",
        &files,
    );
    assert_eq!(
        names_with(&playbook, "text"),
        [
            "note : write \"imported\"",
            "note : write",
            "more",
            // A dynamic include is a task of its own, named as written.
            "ansible.builtin.include_tasks",
            "more"
        ]
    );
}
