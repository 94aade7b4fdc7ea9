//! The release health gate over the local connection: which hosts a failed
//! rollout puts back on their previous release, per `rollback:` and
//! `max_fail_percentage`. Each host's app lives in `{{ tmp }}/<host>`; the
//! health check of h3 fails (nothing listens on its URL).

mod common;

use common::{Scratch, run};
use fleet_engine::{Event, StopReason};

const HOSTS: [&str; 6] = [
    "h1: {health: []}",
    "h2: {health: []}",
    "h3: {health: ['http://127.0.0.1:9/health']}",
    "h4: {health: []}",
    "h5: {health: []}",
    "h6: {health: []}",
];

fn artifact(scratch: &Scratch, version: &str) {
    let dir = scratch.path(&format!("src-{version}"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("VERSION"), format!("{version}\n")).expect("write");
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(scratch.path(&format!("{version}.tar.gz")))
        .arg("-C")
        .arg(&dir)
        .arg("VERSION")
        .status()
        .expect("tar");
    assert!(status.success());
}

fn deploy(version: &str, play_keys: &str, health: &str) -> String {
    format!(
        r#"
- name: app
  hosts: all
{play_keys}
  tasks:
    - name: deploy
      release:
        path: "{{{{ tmp }}}}/{{{{ inventory_hostname }}}}"
        artifact: "{{{{ tmp }}}}/{version}.tar.gz"
        shared: []
        health_urls: {health}
        health_retries: 1
        health_delay: 0
        health_timeout: 2
"#
    )
}

/// Deploys v1 everywhere, then v2 with `play_keys`; returns the second run
/// and each host's current version afterwards.
fn roll_out(name: &str, play_keys: &str) -> (common::Run, Vec<String>) {
    let scratch = Scratch::new(name);
    let inventory = scratch.inventory(&HOSTS);
    artifact(&scratch, "v1");
    artifact(&scratch, "v2");
    let first = run(&scratch, &inventory, &deploy("v1", "", "[]"));
    assert!(
        first
            .results()
            .iter()
            .all(|result| result.status != fleet_engine::Status::Failed),
        "{:?}",
        first.results()
    );
    let second = run(
        &scratch,
        &inventory,
        &deploy("v2", play_keys, "\"{{ health }}\""),
    );
    let current = (1..=6)
        .map(|n| {
            scratch
                .read(&format!("h{n}/current/VERSION"))
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect();
    (second, current)
}

fn stopped(run: &common::Run) -> Option<(usize, StopReason)> {
    run.events.iter().find_map(|event| match event {
        Event::RolloutStopped { batch, reason, .. } => Some((*batch, *reason)),
        _ => None,
    })
}

#[test]
fn a_stopped_rollout_puts_its_batch_back() {
    let (run, current) = roll_out("rollback-batch", "  serial: 2");
    assert_eq!(stopped(&run), Some((2, StopReason::HostFailed)));
    assert_eq!(current, ["v2", "v2", "v1", "v1", "v1", "v1"]);
    // Every host of the play ran, reports its release.
    let reported = run
        .events
        .iter()
        .filter(|event| matches!(event, Event::HostRelease { .. }))
        .count();
    assert_eq!(reported, 4);
}

#[test]
fn rollback_all_puts_back_every_host_done() {
    let (run, current) = roll_out("rollback-all", "  serial: 2\n  rollback: all");
    assert_eq!(stopped(&run), Some((2, StopReason::HostFailed)));
    assert_eq!(current, ["v1", "v1", "v1", "v1", "v1", "v1"]);
}

#[test]
fn rollback_none_leaves_the_failed_release_current() {
    let (run, current) = roll_out("rollback-none", "  serial: 2\n  rollback: none");
    assert_eq!(stopped(&run), Some((2, StopReason::HostFailed)));
    assert_eq!(current, ["v2", "v2", "v2", "v2", "v1", "v1"]);
}

#[test]
fn tolerated_failures_go_back_host_by_host() {
    let (run, current) = roll_out(
        "rollback-tolerated",
        "  serial: 2\n  max_fail_percentage: 50",
    );
    assert_eq!(stopped(&run), None);
    assert_eq!(current, ["v2", "v2", "v1", "v2", "v2", "v2"]);
}
