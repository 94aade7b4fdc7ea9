//! Rolling batches and interruption, on real shell runs over the local
//! connection: `serial`, `max_fail_percentage`, Ctrl-C.

mod common;

use common::{Scratch, run, run_cancelled_when, run_on, run_with};
use fleet_engine::{Event, Status, StopReason};

const HOSTS: [&str; 6] = ["h1:", "h2:", "h3:", "h4:", "h5:", "h6:"];

/// A play in batches of two where h3 fails, then a second play.
fn rollout(max_fail_percentage: &str) -> String {
    format!(
        r#"
- name: web
  hosts: all
  serial: 2
  {max_fail_percentage}
  tasks:
    - name: deploy
      shell: test {{{{ inventory_hostname }}}} != h3 && touch {{{{ tmp }}}}/{{{{ inventory_hostname }}}}.done
- name: after
  hosts: all
  tasks:
    - name: later play
      shell: touch {{{{ tmp }}}}/{{{{ inventory_hostname }}}}.later
"#
    )
}

fn batches(events: &[Event]) -> Vec<(usize, usize, Vec<String>)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::BatchStart {
                batch, of, hosts, ..
            } => Some((*batch, *of, hosts.clone())),
            _ => None,
        })
        .collect()
}

fn hosts(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

#[test]
fn a_batch_over_max_fail_percentage_stops_the_rollout() {
    let (scratch, run) = run_on("max-fail", &HOSTS, &rollout("max_fail_percentage: 25"));
    assert_eq!(
        batches(&run.events),
        [(1, 3, hosts(&["h1", "h2"])), (2, 3, hosts(&["h3", "h4"]))]
    );
    let stopped: Vec<&Event> = run
        .events
        .iter()
        .filter(|event| matches!(event, Event::RolloutStopped { .. }))
        .collect();
    assert_eq!(
        stopped,
        [&Event::RolloutStopped {
            play: "web".into(),
            batch: 2,
            of: 3,
            failed: 1,
            batch_size: 2,
            max_fail_percentage: Some(25.0),
            reason: StopReason::MaxFailPercentage,
        }]
    );
    for host in ["h1", "h2", "h4"] {
        assert!(scratch.exists(&format!("{host}.done")), "{host}");
    }
    // The third batch and the later play never started.
    for host in ["h3", "h5", "h6"] {
        assert!(!scratch.exists(&format!("{host}.done")), "{host}");
    }
    assert_eq!(run.of_host("h3"), [("deploy".to_string(), Status::Failed)]);
    assert!(run.of_host("h5").is_empty() && run.of_host("h6").is_empty());
    for host in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        assert!(!scratch.exists(&format!("{host}.later")), "{host}");
    }
    assert!(run.of_task("later play").is_empty());
    assert!(!run.interrupted());
}

#[test]
fn failures_within_max_fail_percentage_let_the_rollout_go_on() {
    let (scratch, run) = run_on(
        "within-max-fail",
        &HOSTS,
        &rollout("max_fail_percentage: 50"),
    );
    assert_eq!(batches(&run.events).len(), 3);
    assert!(
        !run.events
            .iter()
            .any(|event| matches!(event, Event::RolloutStopped { .. }))
    );
    for host in ["h1", "h2", "h4", "h5", "h6"] {
        assert!(scratch.exists(&format!("{host}.done")), "{host}");
        assert!(scratch.exists(&format!("{host}.later")), "{host}");
    }
    assert!(!scratch.exists("h3.done"));
    assert_eq!(run.of_host("h3")[0], ("deploy".to_string(), Status::Failed));
}

#[test]
fn without_max_fail_percentage_any_failure_stops_a_serial_play() {
    let (scratch, run) = run_on("serial-stop", &HOSTS, &rollout(""));
    assert!(run.events.iter().any(|event| matches!(
        event,
        Event::RolloutStopped {
            batch: 2,
            reason: StopReason::HostFailed,
            ..
        }
    )));
    assert!(!scratch.exists("h5.done") && !scratch.exists("h6.done"));
}

#[test]
fn batches_run_one_after_the_other() {
    let scratch = Scratch::new("batch-order");
    let inventory = scratch.inventory(&HOSTS);
    run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  serial: [1, 2, 3]
  tasks:
    - name: log
      shell: echo {{ inventory_hostname }} >> {{ tmp }}/log
"#,
    );
    let log = scratch.read("log").unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 6, "{log}");
    // h1 alone, then h2 and h3 in any order, then h4 to h6.
    assert_eq!(lines[0], "h1");
    let mut second = lines[1..3].to_vec();
    second.sort_unstable();
    assert_eq!(second, ["h2", "h3"]);
    let mut third = lines[3..].to_vec();
    third.sort_unstable();
    assert_eq!(third, ["h4", "h5", "h6"]);
}

/// A play whose `serial` is a template, then a second play.
fn templated_rollout(serial: &str, vars: &str) -> String {
    format!(
        r#"
- name: web
  hosts: all
  serial: {serial}
  vars: {vars}
  tasks:
    - name: deploy
      shell: touch {{{{ tmp }}}}/{{{{ inventory_hostname }}}}.done
- name: after
  hosts: all
  tasks:
    - name: later play
      shell: touch {{{{ tmp }}}}/{{{{ inventory_hostname }}}}.later
"#
    )
}

/// Runs `playbook` on [`HOSTS`] with the `-e` vars `extra`.
fn run_with_extra(name: &str, playbook: &str, extra: serde_json::Value) -> (Scratch, common::Run) {
    let scratch = Scratch::new(name);
    let inventory = scratch.inventory(&HOSTS);
    let extra = extra.as_object().cloned().unwrap_or_default();
    let run = run_with(
        &scratch,
        &inventory,
        playbook,
        |_| false,
        |options| {
            options.extra_vars = extra;
        },
    );
    (scratch, run)
}

#[test]
fn a_templated_serial_batches_as_the_play_vars_say() {
    let playbook = templated_rollout(
        "\"{{ release_serial }}\"",
        "{release_serial: [1, \"50%\", \"100%\"]}",
    );
    let (scratch, run) = run_on("templated-serial", &HOSTS, &playbook);
    assert_eq!(
        batches(&run.events),
        [
            (1, 3, hosts(&["h1"])),
            (2, 3, hosts(&["h2", "h3", "h4"])),
            (3, 3, hosts(&["h5", "h6"])),
        ]
    );
    for host in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        assert!(scratch.exists(&format!("{host}.done")), "{host}");
        assert!(scratch.exists(&format!("{host}.later")), "{host}");
    }
    // A template among the sizes, from a play var that is itself one.
    let playbook = templated_rollout(
        "[\"{{ first_batch }}\", \"100%\"]",
        "{canary: 2, first_batch: \"{{ canary }}\"}",
    );
    let (_, run) = run_on("templated-serial-entry", &HOSTS, &playbook);
    assert_eq!(
        batches(&run.events),
        [
            (1, 2, hosts(&["h1", "h2"])),
            (2, 2, hosts(&["h3", "h4", "h5", "h6"])),
        ]
    );
}

#[test]
fn extra_vars_override_the_play_vars_of_a_templated_serial() {
    let playbook = templated_rollout("\"{{ release_serial }}\"", "{release_serial: 1}");
    // `-e release_serial=3`: a string, as -e gives it.
    let (_, run) = run_with_extra(
        "templated-serial-extra",
        &playbook,
        serde_json::json!({"release_serial": "3"}),
    );
    assert_eq!(
        batches(&run.events),
        [
            (1, 2, hosts(&["h1", "h2", "h3"])),
            (2, 2, hosts(&["h4", "h5", "h6"])),
        ]
    );
    // `-e '{"release_serial": [2, "100%"]}'`: a list.
    let (_, run) = run_with_extra(
        "templated-serial-extra-list",
        &playbook,
        serde_json::json!({"release_serial": [2, "100%"]}),
    );
    assert_eq!(
        batches(&run.events),
        [
            (1, 2, hosts(&["h1", "h2"])),
            (2, 2, hosts(&["h3", "h4", "h5", "h6"])),
        ]
    );
}

/// The command line refuses such a run before contacting any host; the
/// engine on its own runs the play nowhere and stops there.
#[test]
fn a_templated_serial_that_renders_to_no_size_runs_nothing() {
    let playbook = templated_rollout("\"{{ release_serial }}\"", "{release_serial: 1}");
    let (scratch, run) = run_with_extra(
        "templated-serial-bad",
        &playbook,
        serde_json::json!({"release_serial": "abc"}),
    );
    assert!(batches(&run.events).is_empty());
    for host in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        assert_eq!(
            run.of_host(host),
            [("serial".to_string(), Status::Failed)],
            "{host}"
        );
        assert!(!scratch.exists(&format!("{host}.done")), "{host}");
        assert!(!scratch.exists(&format!("{host}.later")), "{host}");
    }
    let msg = run.of_task("serial")[0].msg.clone().unwrap_or_default();
    assert!(
        msg.contains("playbook.yaml:4:11: `serial` must be a host count or a percentage"),
        "{msg}"
    );
    assert_eq!(run.counts().failed, 6);
}

const SLOW: &str = r#"
- hosts: all
  tasks:
    - name: slow
      shell: touch {{ tmp }}/{{ inventory_hostname }}.started; sleep 1
    - name: next
      shell: touch {{ tmp }}/{{ inventory_hostname }}.next
"#;

#[test]
fn an_interrupt_lets_tasks_in_flight_finish_and_starts_no_new_one() {
    let scratch = Scratch::new("interrupt");
    let inventory = scratch.inventory(&["h1:", "h2:"]);
    let run = run_cancelled_when(&scratch, &inventory, SLOW, |scratch| {
        scratch.exists("h1.started") && scratch.exists("h2.started")
    });
    assert!(run.interrupted());
    for host in ["h1", "h2"] {
        assert_eq!(
            run.of_host(host),
            [("slow".to_string(), Status::Changed)],
            "{host}"
        );
        assert!(!scratch.exists(&format!("{host}.next")), "{host}");
    }
    assert!(run.of_task("next").is_empty());
}

#[test]
fn an_interrupt_starts_no_further_batch() {
    let scratch = Scratch::new("interrupt-serial");
    let inventory = scratch.inventory(&["h1:", "h2:", "h3:"]);
    let playbook = SLOW.replace("  tasks:", "  serial: 1\n  tasks:");
    let run = run_cancelled_when(&scratch, &inventory, &playbook, |scratch| {
        scratch.exists("h1.started")
    });
    assert!(run.interrupted());
    assert!(run.events.iter().any(|event| matches!(
        event,
        Event::RolloutStopped {
            batch: 1,
            of: 3,
            reason: StopReason::Interrupted,
            ..
        }
    )));
    assert!(!scratch.exists("h1.next"));
    for host in ["h2", "h3"] {
        assert!(!scratch.exists(&format!("{host}.started")), "{host}");
        assert!(run.of_host(host).is_empty(), "{host}");
    }
}
