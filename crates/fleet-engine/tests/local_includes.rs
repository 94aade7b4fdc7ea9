//! Dynamic `include_tasks` over the local connection: a file picked per
//! host from a templated name, a loop over the include, `when` checked once
//! per pass, `apply`, tags, and a name that renders to no loaded file.

mod common;

use common::{Scratch, run, run_with};
use fleet_engine::Status;

fn write(scratch: &Scratch, name: &str, text: &str) {
    let path = scratch.path(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn setup_files(scratch: &Scratch) {
    write(
        scratch,
        "tasks/setup-a.yml",
        "- name: a {{ item }}\n  shell: echo a {{ item }} {{ word }} >> {{ tmp }}/{{ inventory_hostname }}\n- name: a done\n  shell: echo a done >> {{ tmp }}/{{ inventory_hostname }}\n",
    );
    write(
        scratch,
        "tasks/setup-b.yml",
        "- name: b {{ item }}\n  shell: echo b {{ item }} {{ word }} >> {{ tmp }}/{{ inventory_hostname }}\n",
    );
}

#[test]
fn each_host_includes_the_file_its_vars_name_once_per_item() {
    let scratch = Scratch::new("include-loop");
    let inventory = scratch.inventory(&["h1: {mode: a}", "h2: {mode: b}"]);
    setup_files(&scratch);
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  tasks:
    - name: setup
      include_tasks: "tasks/setup-{{ mode }}.yml"
      loop: [one, two, skip, three]
      when: item != 'skip'
      vars: {word: "w-{{ item }}"}
    - name: per item file
      include_tasks: "tasks/setup-{{ item }}.yml"
      loop: [b, a]
      loop_control: {loop_var: item}
      vars: {word: again}
    - name: after
      shell: echo after >> {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some(
            "a one w-one\na done\na two w-two\na done\na three w-three\na done\n\
             b b again\na a again\na done\nafter\n"
        )
    );
    assert_eq!(
        scratch.read("h2").as_deref(),
        Some("b one w-one\nb two w-two\nb three w-three\nb b again\na a again\na done\nafter\n")
    );
    // The include reports once per host, as Ansible does.
    let setup = run.of_task("setup");
    assert_eq!(setup.len(), 2);
    assert!(setup.iter().all(|result| result.status == Status::Ok));
    let h2: Vec<String> = run
        .of_host("h2")
        .into_iter()
        .map(|(task, _)| task)
        .collect();
    assert_eq!(
        h2,
        [
            "setup",
            "b one",
            "b two",
            "b three",
            "per item file",
            "b b",
            "a a",
            "a done",
            "after"
        ]
    );
    assert_eq!(run.counts().failed, 0);
}

#[test]
fn the_include_keeps_its_when_and_tags_and_apply_gives_the_included_tasks_theirs() {
    let scratch = Scratch::new("include-apply");
    let inventory = scratch.inventory(&["h1:"]);
    write(
        &scratch,
        "tasks/steps.yml",
        "- name: first\n  shell: echo first >> {{ tmp }}/h1 && touch {{ tmp }}/flag\n- name: second\n  shell: echo second >> {{ tmp }}/h1\n- name: tagged\n  shell: echo tagged >> {{ tmp }}/h1\n  tags: [inner]\n",
    );
    let playbook = r#"
- hosts: all
  tasks:
    - name: steps
      include_tasks:
        file: tasks/steps.yml
        apply: {when: "not (tmp ~ '/stop') is file", tags: [applied]}
      # Checked once for the include, not again before each included task.
      when: "not (tmp ~ '/flag') is file"
      tags: [outer]
"#;
    run(&scratch, &inventory, playbook);
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("first\nsecond\ntagged\n")
    );
    // `--tags outer` runs the include, but of its tasks only those tagged
    // `outer` themselves would run: `applied` and `inner` are not.
    std::fs::remove_file(scratch.path("flag")).unwrap();
    std::fs::remove_file(scratch.path("h1")).unwrap();
    let tagged = run_with(
        &scratch,
        &inventory,
        playbook,
        |_| false,
        |options| {
            options.tags = vec!["outer".into()];
        },
    );
    assert_eq!(scratch.read("h1"), None);
    assert_eq!(tagged.of_host("h1"), [("steps".to_string(), Status::Ok)]);
    // `--tags outer,inner`: the include and its `inner` task.
    run_with(
        &scratch,
        &inventory,
        playbook,
        |_| false,
        |options| {
            options.tags = vec!["outer".into(), "inner".into()];
        },
    );
    assert_eq!(scratch.read("h1").as_deref(), Some("tagged\n"));
    // The include's `when` is false once the flag exists: skipped.
    std::fs::write(scratch.path("flag"), "").unwrap();
    let skipped = run(&scratch, &inventory, playbook);
    assert_eq!(
        skipped.of_host("h1"),
        [("steps".to_string(), Status::Skipped)]
    );
}

#[test]
fn a_name_that_renders_to_no_loaded_file_fails_that_hosts_include() {
    let scratch = Scratch::new("include-unknown");
    let inventory = scratch.inventory(&["h1: {mode: a}", "h2: {mode: c}"]);
    setup_files(&scratch);
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  vars: {word: w}
  tasks:
    - name: setup
      include_tasks: "tasks/setup-{{ mode }}.yml"
      loop: [x]
    - name: after
      shell: echo after >> {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("a x w\na done\nafter\n")
    );
    assert_eq!(scratch.read("h2"), None);
    let failed = run
        .of_task("setup")
        .into_iter()
        .find(|result| result.host == "h2")
        .unwrap();
    assert_eq!(failed.status, Status::Failed);
    let msg = failed.msg.as_deref().unwrap_or_default();
    assert!(
        msg.contains("renders to \"tasks/setup-c.yml\"") && msg.contains("setup-a.yml"),
        "{msg}"
    );
}

#[test]
fn linear_hosts_go_through_include_passes_in_lock_step() {
    let scratch = Scratch::new("include-linear");
    let inventory = scratch.inventory(&["h1: {mode: a}", "h2: {mode: b}"]);
    setup_files(&scratch);
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  strategy: linear
  vars: {word: w}
  tasks:
    - name: setup
      include_tasks: "tasks/setup-{{ mode }}.yml"
      loop: [one, two]
    - name: once
      run_once: true
      shell: echo once >> {{ tmp }}/once
    - name: after
      shell: echo after >> {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("a one w\na done\na two w\na done\nafter\n")
    );
    assert_eq!(
        scratch.read("h2").as_deref(),
        Some("b one w\nb two w\nafter\n")
    );
    assert_eq!(scratch.read("once").as_deref(), Some("once\n"));
    // `once` waits for both hosts to finish every pass.
    let tasks: Vec<String> = run.results().iter().map(|r| r.task.clone()).collect();
    let once = tasks.iter().position(|task| task == "once").unwrap();
    assert!(tasks[..once].iter().filter(|t| t.starts_with("b ")).count() == 2);
    assert!(tasks[..once].iter().filter(|t| *t == "a done").count() == 2);
}

#[test]
fn a_failure_in_an_included_file_stops_the_loop_and_reaches_the_rescue() {
    let scratch = Scratch::new("include-rescue");
    let inventory = scratch.inventory(&["h1:"]);
    write(
        &scratch,
        "step.yml",
        "- name: step {{ item }}\n  shell: echo {{ item }} >> {{ tmp }}/h1 && test {{ item }} != 2\n",
    );
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  tasks:
    - block:
        - name: steps
          include_tasks: step.yml
          loop: [1, 2, 3]
      rescue:
        - name: rescued
          shell: echo rescued >> {{ tmp }}/h1
    - name: after
      shell: echo after >> {{ tmp }}/h1
"#,
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("1\n2\nrescued\nafter\n")
    );
    assert_eq!(run.counts().rescued, 1);
}

#[test]
fn naming_a_file_left_out_at_load_fails_the_include_with_the_reason() {
    let scratch = Scratch::new("include-left-out");
    let inventory = scratch.inventory(&["h1: {name_of: a}", "h2: {name_of: pkg}"]);
    write(
        &scratch,
        "tasks/a.yml",
        "- name: a\n  shell: echo a >> {{ tmp }}/{{ inventory_hostname }}\n",
    );
    write(
        &scratch,
        "tasks/pkg.yml",
        "- name: pkg\n  shell: echo {{ pkg }} >> {{ tmp }}/{{ inventory_hostname }}\n",
    );
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  tasks:
    - name: pick
      include_tasks: "tasks/{{ name_of }}.yml"
    - name: packages
      include_tasks: tasks/pkg.yml
      loop: [curl]
      loop_control: {loop_var: pkg}
"#,
    );
    assert_eq!(scratch.read("h1").as_deref(), Some("a\ncurl\n"));
    let failed = run
        .of_task("pick")
        .into_iter()
        .find(|result| result.host == "h2")
        .unwrap();
    assert_eq!(failed.status, Status::Failed);
    let msg = failed.msg.as_deref().unwrap_or_default();
    assert!(
        msg.contains("pkg.yml was left out of this include") && msg.contains("`pkg`"),
        "{msg}"
    );
}
