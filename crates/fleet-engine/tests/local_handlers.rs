//! Handlers and `meta` over the local connection: `listen`, handlers
//! notifying handlers, `meta: flush_handlers`, the flush after
//! `pre_tasks`, `end_host`/`end_play`, handler blocks and
//! `clear_host_errors`.

mod common;

use common::run_on;
use fleet_engine::Status;

#[test]
fn handlers_listen_chain_and_flush_in_the_order_the_play_lists_them() {
    let (scratch, run) = run_on(
        "handlers",
        &["h1:", "h2:"],
        r#"
- hosts: all
  pre_tasks:
    - name: pre
      shell: echo pre >> {{ tmp }}/{{ inventory_hostname }}
      notify: reload
  tasks:
    - name: change
      shell: echo change >> {{ tmp }}/{{ inventory_hostname }}
      notify: web changed
      when: inventory_hostname == 'h1'
    - meta: flush_handlers
    - name: after flush
      shell: echo after >> {{ tmp }}/{{ inventory_hostname }}
  handlers:
    - name: restart
      shell: echo restart >> {{ tmp }}/{{ inventory_hostname }}
      listen: web changed
      notify: cleanup
    - name: reload
      shell: echo reload >> {{ tmp }}/{{ inventory_hostname }}
    - name: cleanup
      shell: echo cleanup >> {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("pre\nreload\nchange\nrestart\ncleanup\nafter\n")
    );
    assert_eq!(scratch.read("h2").as_deref(), Some("pre\nreload\nafter\n"));
    assert_eq!(run.counts().failed, 0);
}

#[test]
fn end_host_stops_one_host_and_end_play_every_host() {
    let (scratch, run) = run_on(
        "end",
        &["h1:", "h2:"],
        r#"
- hosts: all
  tasks:
    - name: first
      shell: echo first >> {{ tmp }}/{{ inventory_hostname }}
    - meta: end_host
      when: inventory_hostname == 'h2'
    - name: second
      shell: echo second >> {{ tmp }}/{{ inventory_hostname }}
    - meta: end_play
    - name: never
      shell: echo never >> {{ tmp }}/{{ inventory_hostname }}
- hosts: all
  tasks:
    - name: next play
      shell: echo next >> {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    assert_eq!(scratch.read("h1").as_deref(), Some("first\nsecond\nnext\n"));
    assert_eq!(scratch.read("h2").as_deref(), Some("first\nnext\n"));
    let counts = run.counts();
    assert_eq!((counts.failed, counts.changed), (0, 5), "{counts:?}");
}

#[test]
fn a_handler_block_gives_its_keywords_to_handlers_notified_one_by_one() {
    let (scratch, run) = run_on(
        "handler-block",
        &["h1:", "h2:"],
        r#"
- hosts: all
  tasks:
    - name: change config
      shell: echo change >> {{ tmp }}/{{ inventory_hostname }}
      when: inventory_hostname == 'h1'
      notify: config changed
    - name: change code
      shell: echo change >> {{ tmp }}/{{ inventory_hostname }}
      when: inventory_hostname == 'h2'
      notify: reload
  handlers:
    - name: service handlers
      vars: {unit: app}
      when: inventory_hostname != 'h3'
      block:
        - name: reload
          shell: echo reload {{ unit }} >> {{ tmp }}/{{ inventory_hostname }}
        - name: restart
          shell: echo restart {{ unit }} >> {{ tmp }}/{{ inventory_hostname }}
          listen: config changed
    - name: log
      shell: echo log >> {{ tmp }}/{{ inventory_hostname }}
      listen: config changed
"#,
    );
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("change\nrestart app\nlog\n")
    );
    assert_eq!(scratch.read("h2").as_deref(), Some("change\nreload app\n"));
    assert_eq!(run.counts().failed, 0);
}

#[test]
fn clear_host_errors_clears_failures_but_a_failed_host_runs_no_more_of_the_play() {
    let (scratch, run) = run_on(
        "clear-errors",
        &["h1:", "h2:"],
        r#"
- hosts: all
  strategy: linear
  tasks:
    - name: fails on h2
      shell: test {{ inventory_hostname }} != h2
    - block:
        - name: fails on h1
          shell: test {{ inventory_hostname }} != h1
        - name: not reached
          shell: echo not reached >> {{ tmp }}/{{ inventory_hostname }}
      always:
        - name: clear
          meta: clear_host_errors
    - name: after the block
      shell: echo after >> {{ tmp }}/{{ inventory_hostname }}
- hosts: all
  tasks:
    - name: next play
      shell: echo next >> {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    // h1's block failed, then its errors were cleared in `always`: it goes
    // on after the block. h2 failed before: it stays out of the play, but
    // is no longer failed, so it runs the next play.
    assert_eq!(scratch.read("h1").as_deref(), Some("after\nnext\n"));
    assert_eq!(scratch.read("h2").as_deref(), Some("next\n"));
    let counts = run.counts();
    assert_eq!((counts.failed, counts.cleared), (0, 2), "{counts:?}");
}

#[test]
fn a_handler_notified_by_a_later_one_waits_for_the_next_flush() {
    let (scratch, run) = run_on(
        "handler-order",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - name: change
      shell: echo change >> {{ tmp }}/h1
      notify: second
    - name: not now
      meta: end_host
      when: false
    - meta: flush_handlers
    - name: after
      shell: echo after >> {{ tmp }}/h1
  handlers:
    - name: first
      shell: echo first >> {{ tmp }}/h1
    - name: second
      shell: echo second >> {{ tmp }}/h1
      notify: first
"#,
    );
    // As in Ansible: one pass per flush, so `first`, listed before its
    // notifier, runs at the end of the play, not in the explicit flush.
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("change\nsecond\nafter\nfirst\n")
    );
    // A meta task shows only where its `when` is false, as skipped.
    assert_eq!(
        run.of_host("h1"),
        [
            ("change".to_string(), Status::Changed),
            ("not now".to_string(), Status::Skipped),
            ("second".to_string(), Status::Changed),
            ("after".to_string(), Status::Changed),
            ("first".to_string(), Status::Changed),
        ]
    );
}
