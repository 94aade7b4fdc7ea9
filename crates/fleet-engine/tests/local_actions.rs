//! The controller-side modules, `debug`, `fail`, `assert`, `set_fact` and
//! `pause`, in real runs over the local connection.

mod common;

use common::{Scratch, run, run_on, run_with};
use fleet_engine::Status;

use Status::{Changed, Failed, Ok, Skipped};

#[test]
fn debug_shows_a_message_or_a_variable_at_its_verbosity() {
    let scratch = Scratch::new("debug");
    let inventory = scratch.inventory(&["h1:"]);
    let playbook = r#"
- hosts: all
  vars: {word: play}
  tasks:
    - name: message
      debug: msg="hi {{ inventory_hostname }}"
    - name: variable
      ansible.builtin.debug: var=word
      register: shown
    - name: undefined
      debug: {var: "nothing_here"}
    - name: expression
      debug: {var: "facts.cpus > 0"}
    - name: verbose
      debug: {msg: details, verbosity: 1}
    - name: registered
      shell: echo {{ shown.word }} > {{ tmp }}/registered
"#;
    let quiet = run(&scratch, &inventory, playbook);
    let msg = |run: &common::Run, task: &str| run.of_task(task)[0].msg.clone();
    assert_eq!(msg(&quiet, "message").as_deref(), Some("hi h1"));
    assert_eq!(msg(&quiet, "variable").as_deref(), Some(r#"word: "play""#));
    assert_eq!(
        msg(&quiet, "undefined").as_deref(),
        Some(r#"nothing_here: "VARIABLE IS NOT DEFINED!""#)
    );
    assert_eq!(
        msg(&quiet, "expression").as_deref(),
        Some("facts.cpus > 0: true")
    );
    assert_eq!(quiet.of_task("verbose")[0].status, Skipped);
    assert_eq!(scratch.read("registered").as_deref(), Some("play\n"));
    let verbose = run_with(
        &scratch,
        &inventory,
        playbook,
        |_| false,
        |options| {
            options.verbosity = 1;
        },
    );
    let shown = &verbose.of_task("verbose")[0];
    assert_eq!((shown.status, shown.msg.as_deref()), (Ok, Some("details")));
}

#[test]
fn fail_and_assert_stop_the_host_they_fail_on() {
    let (scratch, run) = run_on(
        "fail-assert",
        &["h1: {disk: 10}", "h2: {disk: 2}"],
        r#"
- hosts: all
  tasks:
    - name: enough disk
      assert:
        that:
          - disk | int > 1
          - "{{ disk }} >= 2"
        success_msg: "{{ disk }} GB free"
    - name: quietly
      ansible.builtin.assert: {that: "facts.cpus > 0", quiet: true}
      register: checked
    - name: much disk
      assert: {that: [disk > 5], fail_msg: "only {{ disk }} GB"}
    - name: not on h1
      fail: msg="h1 is retired"
      when: inventory_hostname == 'h1'
      ignore_errors: true
    - name: after
      shell: echo {{ checked.msg }} > {{ tmp }}/{{ inventory_hostname }}.after
"#,
    );
    let of = |host: &str, task: &str| {
        let result = run
            .results()
            .into_iter()
            .find(|result| result.host == host && result.task == task)
            .cloned()
            .unwrap_or_else(|| panic!("{host} has no {task}"));
        (result.status, result.msg)
    };
    assert_eq!(of("h1", "enough disk"), (Ok, Some("10 GB free".into())));
    assert_eq!(of("h1", "quietly"), (Ok, None));
    assert_eq!(of("h2", "much disk"), (Failed, Some("only 2 GB".into())));
    assert_eq!(
        of("h1", "not on h1"),
        (Failed, Some("h1 is retired".into()))
    );
    assert_eq!(
        scratch.read("h1.after").as_deref(),
        Some("All assertions passed\n")
    );
    assert!(!scratch.exists("h2.after"));
    // The play reads facts: it starts by gathering them.
    assert_eq!(run.of_host("h2").len(), 4, "{:?}", run.of_host("h2"));
    assert_eq!(run.of_host("h2")[0], ("Gathering Facts".into(), Ok));
}

#[test]
fn set_fact_sets_variables_for_the_later_tasks() {
    let scratch = Scratch::new("set-fact");
    let inventory = scratch.inventory(&["h1:", "h2:"]);
    let playbook = r#"
- hosts: all
  vars: {word: play}
  tasks:
    - name: set
      set_fact: greeting="hello {{ inventory_hostname }}" enabled=yes word=fact
    - ansible.builtin.set_fact:
        last: "{{ item }}"
        cacheable: true
      loop: [a, b, c]
    - name: once
      set_fact: {chosen: "{{ inventory_hostname }}"}
      run_once: true
    - name: use
      shell: echo {{ greeting }} {{ enabled }} {{ word }} {{ last }} {{ chosen }} > {{ tmp }}/{{ inventory_hostname }}
      check_mode: false
"#;
    let run = run(&scratch, &inventory, playbook);
    assert_eq!(run.of_task("set")[0].status, Ok);
    for host in ["h1", "h2"] {
        assert_eq!(
            scratch.read(host),
            Some(format!("hello {host} True fact c h1\n"))
        );
    }
    assert_eq!(run.of_task("once").len(), 1);
    // Check mode sets them too: nothing changes on the host.
    std::fs::remove_file(scratch.path("h1")).expect("rm");
    let checked = run_with(
        &scratch,
        &inventory,
        playbook,
        |_| false,
        |options| {
            options.check = true;
        },
    );
    assert!(
        checked.results().iter().all(|r| r.status != Failed),
        "{:?}",
        checked.results()
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("hello h1 True fact c h1\n")
    );
}

#[test]
fn pause_waits_once_for_every_host() {
    let (scratch, run) = run_on(
        "pause",
        &["h1:", "h2:"],
        r#"
- hosts: all
  tasks:
    - name: settle
      ansible.builtin.pause: seconds=1
      register: paused
    - name: after
      shell: echo "{{ paused.stdout }}" > {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    let settle = run.of_task("settle");
    assert_eq!(settle.len(), 1, "{settle:?}");
    assert_eq!(settle[0].status, Ok);
    assert!(settle[0].duration_ms >= 1000, "{}", settle[0].duration_ms);
    for host in ["h1", "h2"] {
        let text = scratch.read(host).unwrap_or_default();
        assert!(text.starts_with("Paused for 1"), "{host}: {text}");
    }
    assert_eq!(run.of_task("after").len(), 2);
    assert!(run.of_task("after").iter().all(|r| r.status == Changed));
}

#[test]
fn a_pause_waiting_for_an_answer_is_refused_off_a_terminal() {
    let (_scratch, run) = run_on(
        "pause-prompt",
        &["h1:"],
        "- hosts: all\n  tasks:\n    - name: ask\n      pause: {prompt: Go on?}\n    - name: after\n      command: 'true'\n",
    );
    let ask = &run.of_task("ask")[0];
    assert_eq!(ask.status, Failed);
    assert!(
        ask.msg
            .as_deref()
            .unwrap_or_default()
            .contains("not a terminal"),
        "{ask:?}"
    );
    assert!(run.of_task("after").is_empty());
}
