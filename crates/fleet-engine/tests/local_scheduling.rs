//! The engine's scheduling, on real shell runs over the local connection:
//! task order, `run_once`, `once_per`, handlers, `delegate_to`.

mod common;

use common::{Scratch, run, run_on};
use fleet_engine::{Event, Status};

use Status::{Changed, Failed};

fn names(results: &[(String, Status)]) -> Vec<&str> {
    results.iter().map(|(task, _)| task.as_str()).collect()
}

#[test]
fn every_host_runs_the_tasks_in_order() {
    let (scratch, run) = run_on(
        "order",
        &["h1:", "h2:", "h3:"],
        r#"
- hosts: all
  tasks:
    - name: one
      shell: echo one >> {{ tmp }}/{{ inventory_hostname }}
    - name: two
      shell: echo two >> {{ tmp }}/{{ inventory_hostname }}
    - name: three
      shell: echo three >> {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    for host in ["h1", "h2", "h3"] {
        let results = run.of_host(host);
        assert_eq!(names(&results), ["one", "two", "three"], "{host}");
        assert!(
            results.iter().all(|(_, status)| *status == Changed),
            "{results:?}"
        );
        assert_eq!(scratch.read(host).as_deref(), Some("one\ntwo\nthree\n"));
    }
    assert!(!run.interrupted());
    assert!(matches!(
        run.events.first(),
        Some(Event::RunStart { hosts, .. }) if hosts == &["h1", "h2", "h3"]
    ));
}

#[test]
fn a_failed_task_stops_only_its_host() {
    let (scratch, run) = run_on(
        "fail",
        &["h1:", "h2:"],
        r#"
- hosts: all
  tasks:
    - name: check
      shell: test {{ inventory_hostname }} != h2
    - name: after
      shell: touch {{ tmp }}/{{ inventory_hostname }}.after
"#,
    );
    assert_eq!(run.of_host("h2"), [("check".to_string(), Failed)]);
    assert_eq!(names(&run.of_host("h1")), ["check", "after"]);
    assert!(scratch.exists("h1.after"));
    assert!(!scratch.exists("h2.after"));
}

#[test]
fn run_once_runs_on_one_host_and_shares_its_result() {
    let (scratch, run) = run_on(
        "once",
        &["h1:", "h2:", "h3:"],
        r#"
- hosts: all
  tasks:
    - name: before
      shell: echo before >> {{ tmp }}/{{ inventory_hostname }}
    - name: migrate
      shell: echo {{ inventory_hostname }} >> {{ tmp }}/once; echo {{ inventory_hostname }}
      run_once: true
      register: migrated
    - name: seen
      shell: echo {{ migrated.stdout }} > {{ tmp }}/{{ inventory_hostname }}.seen
"#,
    );
    assert_eq!(scratch.read("once").as_deref(), Some("h1\n"));
    let migrate = run.of_task("migrate");
    assert_eq!(migrate.len(), 1, "{migrate:?}");
    assert_eq!(migrate[0].host, "h1");
    for host in ["h1", "h2", "h3"] {
        assert_eq!(
            scratch.read(&format!("{host}.seen")).as_deref(),
            Some("h1\n")
        );
        // Every host got through `before` first: `run_once` waits for all.
        assert_eq!(scratch.read(host).as_deref(), Some("before\n"));
    }
}

#[test]
fn once_per_runs_once_for_each_key() {
    let scratch = Scratch::new("once-per");
    let inventory = scratch.inventory(&[
        "h1: {rack: a}",
        "h2: {rack: b}",
        "h3: {rack: a}",
        "h4: {rack: b}",
        "h5: {rack: c}",
    ]);
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  tasks:
    - name: build
      shell: echo {{ inventory_hostname }} >> {{ tmp }}/rack-{{ rack }}; echo {{ inventory_hostname }}
      once_per: "{{ rack }}"
      register: built
    - name: seen
      shell: echo {{ built.stdout }} > {{ tmp }}/{{ inventory_hostname }}.seen
"#,
    );
    assert_eq!(scratch.read("rack-a").as_deref(), Some("h1\n"));
    assert_eq!(scratch.read("rack-b").as_deref(), Some("h2\n"));
    assert_eq!(scratch.read("rack-c").as_deref(), Some("h5\n"));
    let mut runners: Vec<&str> = run
        .of_task("build")
        .iter()
        .map(|result| result.host.as_str())
        .collect();
    runners.sort_unstable();
    assert_eq!(runners, ["h1", "h2", "h5"]);
    for (host, runner) in [
        ("h1", "h1"),
        ("h2", "h2"),
        ("h3", "h1"),
        ("h4", "h2"),
        ("h5", "h5"),
    ] {
        assert_eq!(
            scratch.read(&format!("{host}.seen")),
            Some(format!("{runner}\n")),
            "{host}"
        );
    }
}

#[test]
fn a_failed_once_per_runner_fails_the_hosts_it_ran_for() {
    let (scratch, run) = run_on(
        "once-per-fail",
        &["h1: {rack: a}", "h2: {rack: a}", "h3: {rack: b}"],
        r#"
- hosts: all
  tasks:
    - name: build
      shell: test {{ rack }} != a
      once_per: "{{ rack }}"
    - name: after
      shell: touch {{ tmp }}/{{ inventory_hostname }}.after
"#,
    );
    assert_eq!(run.of_host("h1"), [("build".to_string(), Failed)]);
    let h2 = run.of_task("build");
    assert!(
        h2.iter().any(|result| result.host == "h2"
            && result.status == Failed
            && result.msg.as_deref() == Some("failed on h1, which ran it for this host")),
        "{h2:?}"
    );
    assert!(!scratch.exists("h1.after") && !scratch.exists("h2.after"));
    assert!(scratch.exists("h3.after"));
}

const HANDLERS: &str = r#"
  tasks:
    - name: a
      shell: echo a >> {{ tmp }}/{{ inventory_hostname }}
      notify: second
    - name: b
      shell: echo b >> {{ tmp }}/{{ inventory_hostname }}
      notify: [first, second]
    - name: c
      shell: echo c >> {{ tmp }}/{{ inventory_hostname }}; test {{ inventory_hostname }} != h2
  handlers:
    - name: first
      shell: echo first >> {{ tmp }}/{{ inventory_hostname }}
    - name: second
      shell: echo second >> {{ tmp }}/{{ inventory_hostname }}
    - name: never
      shell: echo never >> {{ tmp }}/{{ inventory_hostname }}
"#;

#[test]
fn handlers_run_once_at_the_end_in_definition_order() {
    let scratch = Scratch::new("handlers");
    // No `connection` in the inventory: the play's keyword applies.
    let inventory = scratch.inventory_with(&["h1:", "h3:"], "role: web");
    let run = run(
        &scratch,
        &inventory,
        &format!("- hosts: all\n  connection: local\n{HANDLERS}"),
    );
    for host in ["h1", "h3"] {
        assert_eq!(
            scratch.read(host).as_deref(),
            Some("a\nb\nc\nfirst\nsecond\n"),
            "{host}"
        );
        assert_eq!(
            names(&run.of_host(host)),
            ["a", "b", "c", "first", "second"]
        );
    }
    assert!(run.of_task("never").is_empty());
}

#[test]
fn notified_handlers_still_run_on_a_host_that_failed_later() {
    let (scratch, run) = run_on(
        "force-handlers",
        &["h1:", "h2:"],
        &format!("- hosts: all\n{HANDLERS}"),
    );
    assert_eq!(
        scratch.read("h2").as_deref(),
        Some("a\nb\nc\nfirst\nsecond\n")
    );
    assert_eq!(run.of_host("h2")[2], ("c".to_string(), Failed));
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("a\nb\nc\nfirst\nsecond\n")
    );
}

#[test]
fn without_force_handlers_a_failed_host_runs_none() {
    let (scratch, run) = run_on(
        "no-force-handlers",
        &["h1:", "h2:"],
        &format!("- hosts: all\n  force_handlers: false\n{HANDLERS}"),
    );
    assert_eq!(scratch.read("h2").as_deref(), Some("a\nb\nc\n"));
    assert_eq!(names(&run.of_host("h2")), ["a", "b", "c"]);
    assert_eq!(
        scratch.read("h1").as_deref(),
        Some("a\nb\nc\nfirst\nsecond\n")
    );
}

#[test]
fn a_delegated_task_runs_on_the_controller_with_the_hosts_vars() {
    let (scratch, run) = run_on(
        "delegate",
        &["h1: {role: web}", "h2: {role: db}"],
        r#"
- hosts: all
  tasks:
    - name: record
      shell: echo {{ inventory_hostname }} {{ role }} > {{ tmp }}/delegated-{{ inventory_hostname }}
      delegate_to: localhost
      register: recorded
    - name: after
      shell: echo {{ recorded.rc }} > {{ tmp }}/{{ inventory_hostname }}.rc
"#,
    );
    assert_eq!(scratch.read("delegated-h1").as_deref(), Some("h1 web\n"));
    assert_eq!(scratch.read("delegated-h2").as_deref(), Some("h2 db\n"));
    let mut hosts: Vec<&str> = run
        .of_task("record")
        .iter()
        .map(|result| result.host.as_str())
        .collect();
    hosts.sort_unstable();
    assert_eq!(hosts, ["h1", "h2"], "reported under the delegating hosts");
    assert_eq!(scratch.read("h1.rc").as_deref(), Some("0\n"));
}

#[test]
fn local_and_ssh_hosts_share_a_run() {
    let scratch = Scratch::new("mixed");
    // Nothing listens on port 1: the SSH host is unreachable at once.
    let inventory = scratch.inventory_with(
        &[
            "h1: {connection: local}",
            "s1: {connection: ssh, address: 127.0.0.1, port: 1}",
        ],
        "role: web",
    );
    let run = run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  connection: local
  tasks:
    - name: touch
      shell: touch {{ tmp }}/{{ inventory_hostname }}
"#,
    );
    assert_eq!(run.of_host("h1"), [("touch".to_string(), Changed)]);
    assert!(scratch.exists("h1"));
    // The inventory's `connection: ssh` wins over the play's keyword.
    assert_eq!(
        run.of_host("s1"),
        [("connect".to_string(), Status::Unreachable)]
    );
    assert!(!scratch.exists("s1"));
}
