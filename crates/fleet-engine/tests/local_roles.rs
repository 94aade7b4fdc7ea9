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
            "base : base done"
        ]
    );
}

#[test]
fn a_handler_name_runs_the_last_handler_with_it_and_a_topic_every_listener() {
    let scratch = Scratch::new("role-handlers");
    let mut files = Vec::new();
    let (tasks, handlers): (Vec<String>, Vec<String>) = ["web", "app"]
        .iter()
        .map(|role| {
            (
                format!("- name: config\n  shell: echo {role} >> {{{{ tmp }}}}/{{{{ inventory_hostname }}}}\n  notify: reload\n"),
                format!("- name: reload\n  shell: echo {role}-reload >> {{{{ tmp }}}}/{{{{ inventory_hostname }}}}\n- name: check\n  shell: echo {role}-check >> {{{{ tmp }}}}/{{{{ inventory_hostname }}}}\n  listen: tier changed\n"),
            )
        })
        .unzip();
    for (index, role) in ["web", "app"].iter().enumerate() {
        files.push((format!("roles/{role}/tasks/main.yml"), tasks[index].clone()));
        files.push((
            format!("roles/{role}/handlers/main.yml"),
            handlers[index].clone(),
        ));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    write(&scratch, &files);
    let inventory = scratch.inventory_with(&["h1:"], "connection: local");
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  roles: [web, app]
  tasks:
    - name: tier
      shell: echo tier >> {{ tmp }}/{{ inventory_hostname }}
      notify: tier changed
"#,
    );
    assert_eq!(run.counts().failed, 0, "{:?}", run.results());
    // Both roles notify `reload`: as in Ansible, only the last handler of
    // that name runs, once. Both handlers listening to the topic run.
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("web\napp\ntier\nweb-check\napp-reload\napp-check\n")
    );
    let handlers: Vec<&str> = run.results()[3..]
        .iter()
        .map(|result| result.task.as_str())
        .collect();
    assert_eq!(handlers, ["web : check", "app : reload", "app : check"]);
}
