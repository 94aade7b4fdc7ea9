//! Roles over the local connection: `roles:` with params, meta
//! dependencies run once, defaults below the inventory and vars above the
//! play, templates and files found in the role, role handlers, and
//! `import_role` with `tasks_from`.

mod common;

use common::{Scratch, run};

/// Writes `files` (path, text) under the scratch folder.
fn write(scratch: &Scratch, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = scratch.path(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn roles_run_their_dependencies_tasks_and_handlers_with_their_vars() {
    let scratch = Scratch::new("roles");
    write(
        &scratch,
        &[
            (
                "roles/base/defaults/main.yml",
                "greeting: hello\nshell_name: sh\n",
            ),
            (
                "roles/base/tasks/main.yml",
                "- name: mark\n  shell: echo base {{ greeting }} {{ shell_name }} >> {{ tmp }}/{{ inventory_hostname }}\n  notify: base done\n",
            ),
            (
                "roles/base/handlers/main.yaml",
                "- name: base done\n  shell: echo handler >> {{ tmp }}/{{ inventory_hostname }}\n",
            ),
            ("roles/app/meta/main.yml", "dependencies:\n  - base\n"),
            ("roles/app/vars/main.yml", "port: 8000\nplay_word: role\n"),
            (
                "roles/app/tasks/main.yml",
                "- name: config\n  template: {src: app.conf.j2, dest: \"{{ tmp }}/{{ inventory_hostname }}.conf\"}\n- name: static\n  copy: {src: motd, dest: \"{{ tmp }}/{{ inventory_hostname }}.motd\"}\n",
            ),
            (
                "roles/app/tasks/extra.yml",
                "- name: extra\n  shell: echo extra {{ port }} {{ role_name }} >> {{ tmp }}/{{ inventory_hostname }}\n  notify: \"base : base done\"\n",
            ),
            (
                "roles/app/templates/app.conf.j2",
                "port={{ port }} greeting={{ greeting }} word={{ play_word }}\n",
            ),
            ("roles/app/files/motd", "from the role\n"),
        ],
    );
    // The inventory sets `shell_name` for every host: it beats the role's
    // default.
    let inventory = scratch.inventory_with(&["h1:", "h2:"], "connection: local, shell_name: bash");
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  vars: {play_word: play}
  roles:
    - base
    - {role: app, greeting: hi}
  tasks:
    - import_role: {name: app, tasks_from: extra}
      when: inventory_hostname == 'h1'
"#,
    );
    assert_eq!(run.counts().failed, 0, "{:?}", run.results());
    for host in ["h1", "h2"] {
        assert_eq!(
            scratch.read(&format!("{host}.conf")).as_deref(),
            Some("port=8000 greeting=hi word=role\n"),
            "{host}"
        );
        assert_eq!(
            scratch.read(&format!("{host}.motd")).as_deref(),
            Some("from the role\n")
        );
    }
    // `base` runs once, though `app` depends on it too.
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("base hello bash\nextra 8000 app\nhandler\n")
    );
    assert_eq!(
        scratch.read("h2").as_deref(),
        Some("base hello bash\nhandler\n")
    );
    let names: Vec<&str> = run
        .results()
        .iter()
        .filter(|result| result.host == "h1")
        .map(|result| result.task.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "base : mark",
            "app : config",
            "app : static",
            "app : extra",
            "base done"
        ]
    );
}
