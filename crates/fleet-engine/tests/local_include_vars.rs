//! `include_vars` and the `diff` keyword over the local connection.

mod common;

use common::{Scratch, run, run_with};

fn write(scratch: &Scratch, name: &str, text: &str) {
    let path = scratch.path(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn include_vars_reads_a_file_a_folder_or_nests_under_a_name() {
    let scratch = Scratch::new("include-vars");
    let inventory = scratch.inventory(&["h1:"]);
    write(
        &scratch,
        "vars/app.yml",
        "app: shop\nroot: \"/opt/{{ app }}\"\nlevel: file\n",
    );
    write(&scratch, "conf.d/10-a.yml", "first: a\nlevel: a\n");
    write(
        &scratch,
        "conf.d/20-b.json",
        "{\"second\": \"b\", \"level\": \"b\"}",
    );
    write(&scratch, "conf.d/README", "not vars");
    run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  tasks:
    - name: free form
      include_vars: app.yml
    - name: over task vars
      shell: echo {{ root }} {{ level }} >> {{ tmp }}/h1
      vars: {level: task}
    - name: a folder
      include_vars:
        dir: conf.d
        files_matching: '\.(yml|json)$'
    - name: nested
      include_vars: {file: vars/app.yml, name: nested}
    - name: show
      shell: echo {{ first }} {{ second }} {{ level }} {{ nested.app }} >> {{ tmp }}/h1
    - name: a fact wins
      set_fact: {level: fact}
    - name: again
      include_vars: app.yml
    - name: show again
      shell: echo {{ level }} >> {{ tmp }}/h1
- hosts: all
  tasks:
    - name: next play
      shell: echo {{ app }} >> {{ tmp }}/h1
"#,
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("/opt/shop file\na b b shop\nfact\nshop\n")
    );
}

#[test]
fn the_diff_keyword_overrides_the_runs_diff_setting() {
    let scratch = Scratch::new("diff-keyword");
    let inventory = scratch.inventory(&["h1:"]);
    let playbook = r#"
- hosts: all
  tasks:
    - name: default
      copy: {content: "one\n", dest: "{{ tmp }}/a"}
    - name: shown
      copy: {content: "two\n", dest: "{{ tmp }}/b"}
      diff: true
    - name: hidden
      copy: {content: "three\n", dest: "{{ tmp }}/c"}
      diff: false
"#;
    let has_diff = |run: &common::Run, task: &str| run.of_task(task)[0].diff.is_some();
    let plain = run(&scratch, &inventory, playbook);
    assert_eq!(
        ["default", "shown", "hidden"].map(|task| has_diff(&plain, task)),
        [false, true, false]
    );
    for name in ["a", "b", "c"] {
        std::fs::remove_file(scratch.path(name)).unwrap();
    }
    let diffed = run_with(
        &scratch,
        &inventory,
        playbook,
        |_| false,
        |options| {
            options.diff = true;
        },
    );
    assert_eq!(
        ["default", "shown", "hidden"].map(|task| has_diff(&diffed, task)),
        [true, true, false]
    );
}
