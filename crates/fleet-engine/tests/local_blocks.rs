//! Blocks and task files over the local connection: `rescue` and `always`
//! on the hosts where the body fails, the keywords a block gives its
//! tasks, `import_tasks`, `pre_tasks` and `post_tasks`.

mod common;

use common::{Scratch, run, run_on};

#[test]
fn a_failed_body_runs_rescue_and_always_and_the_host_goes_on() {
    let scratch = Scratch::new("rescue");
    let inventory = scratch.inventory(&["h1:", "h2:"]);
    std::fs::write(
        scratch.path("more.yaml"),
        "- name: imported\n  shell: echo imported {{ word }} >> {{ tmp }}/{{ inventory_hostname }}\n",
    )
    .unwrap();
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  post_tasks:
    - name: post
      shell: echo post >> {{ tmp }}/{{ inventory_hostname }}
  pre_tasks:
    - name: pre
      shell: echo pre >> {{ tmp }}/{{ inventory_hostname }}
  tasks:
    - name: guarded
      vars: {word: body}
      block:
        - name: step
          shell: echo {{ word }} >> {{ tmp }}/{{ inventory_hostname }} && test {{ inventory_hostname }} != h2
        - name: more
          shell: echo more >> {{ tmp }}/{{ inventory_hostname }}
      rescue:
        - name: rescue
          shell: echo "rescued {{ ansible_failed_task.name }} rc={{ ansible_failed_result.rc }}" >> {{ tmp }}/{{ inventory_hostname }}
      always:
        - name: always
          shell: echo always >> {{ tmp }}/{{ inventory_hostname }}
    - name: after
      shell: echo after >> {{ tmp }}/{{ inventory_hostname }}
    - import_tasks: more.yaml
      vars: {word: again}
      when: inventory_hostname == 'h1'
"#,
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("pre\nbody\nmore\nalways\nafter\nimported again\npost\n")
    );
    assert_eq!(
        scratch.read("h2").as_deref(),
        Some("pre\nbody\nrescued step rc=1\nalways\nafter\npost\n")
    );
    let step = run.of_task("step");
    let failed = step.iter().find(|result| result.host == "h2").unwrap();
    assert!(failed.rescued, "{failed:?}");
    let counts = run.counts();
    assert_eq!((counts.failed, counts.rescued), (0, 1), "{counts:?}");
}

#[test]
fn without_rescue_always_runs_and_the_host_fails() {
    let (scratch, run) = run_on(
        "always",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - block:
        - block:
            - name: fails
              shell: echo body >> {{ tmp }}/h1 && false
          always:
            - name: inner always
              shell: echo inner >> {{ tmp }}/h1
        - name: skipped
          shell: echo skipped >> {{ tmp }}/h1
      always:
        - name: outer always
          shell: echo outer >> {{ tmp }}/h1
      become: false
      tags: [app]
    - name: after
      shell: echo after >> {{ tmp }}/h1
"#,
    );
    assert_eq!(scratch.read("h1").as_deref(), Some("body\ninner\nouter\n"));
    assert_eq!(run.counts().failed, 1);
    assert!(run.of_task("after").is_empty());
}

#[test]
fn ansible_failed_result_is_the_failed_tasks_whole_result_even_unregistered() {
    let (scratch, run) = run_on(
        "failed-result",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - block:
        - name: fails
          shell: echo out; echo broken >&2; exit 3
      rescue:
        - name: what failed
          copy:
            dest: "{{ tmp }}/h1"
            content: "[{{ ansible_failed_result.stderr }}] {{ ansible_failed_result.stdout_lines }} rc={{ ansible_failed_result.rc }}\n"
"#,
    );
    assert_eq!(run.counts().failed, 0, "{:?}", run.results());
    // As `register` would keep it: the final newline of stderr gone.
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("[broken] ['out'] rc=3\n")
    );
}

#[test]
fn only_a_rescue_sees_ansible_failed_task() {
    let (scratch, run) = run_on(
        "failed-task-always",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - block:
        - name: breaks
          command: "false"
      always:
        - name: seen from always
          copy:
            dest: "{{ tmp }}/h1"
            content: "{{ (ansible_failed_task | default({'name': 'nothing'})).name }}\n"
"#,
    );
    assert_eq!(run.counts().failed, 1, "{:?}", run.results());
    assert_eq!(scratch.read("h1").as_deref(), Some("nothing\n"));
}
