//! Runs playbooks for real on hosts with `connection: local`, in a scratch
//! folder: every host is the controller, and writes under
//! `{{ tmp }}/{{ inventory_hostname }}…`.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fleet_engine::{ApplyOptions, CancellationToken, Event, Status, TaskResult, play_hosts};
use fleet_inventory::Inventory;
use fleet_playbook::LoadOptions;
use fleet_ssh::{Client, SshOptions};

/// A scratch folder, removed when dropped.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fleet-engine-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The text of `name`, or `None` when it does not exist.
    pub fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.path(name)).ok()
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// An inventory of `hosts` (each `name` or `name: {vars}`), all with
    /// `connection: local` and `tmp` set to this folder.
    pub fn inventory(&self, hosts: &[&str]) -> Inventory {
        self.inventory_with(hosts, "connection: local")
    }

    /// An inventory of `hosts` with `tmp` and `all_vars` (a flow map's
    /// entries) as vars of `all`.
    pub fn inventory_with(&self, hosts: &[&str], all_vars: &str) -> Inventory {
        let mut yaml = format!(
            "all:\n  vars: {{tmp: '{}', {all_vars}}}\n  hosts:\n",
            self.dir.display()
        );
        for host in hosts {
            yaml.push_str(&format!("    {host}\n"));
        }
        let path = self.path("inventory.yaml");
        std::fs::write(&path, &yaml).expect("write inventory");
        Inventory::parse(&yaml, &path).unwrap_or_else(|err| panic!("{err}\n{yaml}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a run sent, in order.
pub struct Run {
    pub events: Vec<Event>,
}

impl Run {
    pub fn results(&self) -> Vec<&TaskResult> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::TaskResult(result) => Some(result),
                _ => None,
            })
            .collect()
    }

    /// `host`'s results, in the order they came: (task, status).
    pub fn of_host(&self, host: &str) -> Vec<(String, Status)> {
        self.results()
            .into_iter()
            .filter(|result| result.host == host)
            .map(|result| (result.task.clone(), result.status))
            .collect()
    }

    /// The results of the task named `task`.
    pub fn of_task(&self, task: &str) -> Vec<&TaskResult> {
        self.results()
            .into_iter()
            .filter(|result| result.task == task)
            .collect()
    }

    /// The counts of the run.
    pub fn counts(&self) -> fleet_engine::Counts {
        match self.events.last() {
            Some(Event::RunDone { counts, .. }) => *counts,
            other => panic!("the last event is not run_done: {other:?}"),
        }
    }

    /// Whether the run ended interrupted.
    pub fn interrupted(&self) -> bool {
        match self.events.last() {
            Some(Event::RunDone { interrupted, .. }) => *interrupted,
            other => panic!("the last event is not run_done: {other:?}"),
        }
    }
}

/// Loads `playbook` (YAML text written next to the inventory) and runs it
/// on every host of `inventory`.
pub fn run(scratch: &Scratch, inventory: &Inventory, playbook: &str) -> Run {
    run_cancelled_when(scratch, inventory, playbook, |_| false)
}

/// Like [`run`], cancelling the run (as Ctrl-C does) once `cancel_when`
/// holds for the scratch folder; it is checked every 20 ms.
pub fn run_cancelled_when(
    scratch: &Scratch,
    inventory: &Inventory,
    playbook: &str,
    cancel_when: impl Fn(&Scratch) -> bool,
) -> Run {
    run_with(scratch, inventory, playbook, cancel_when, |_| {})
}

/// Like [`run_cancelled_when`], with the run's options changed by `tweak`
/// (`-v`, `--check`…).
pub fn run_with(
    scratch: &Scratch,
    inventory: &Inventory,
    playbook: &str,
    cancel_when: impl Fn(&Scratch) -> bool,
    tweak: impl FnOnce(&mut ApplyOptions),
) -> Run {
    let path = scratch.path("playbook.yaml");
    std::fs::write(&path, playbook).expect("write playbook");
    let mut known_vars: BTreeSet<String> = BTreeSet::new();
    for host in inventory.hosts() {
        known_vars.extend(host.vars.keys().cloned());
    }
    let options = LoadOptions {
        known_vars,
        ..LoadOptions::default()
    };
    let playbook =
        fleet_playbook::load(&path, &options).unwrap_or_else(|err| panic!("{err}\n{playbook}"));
    let limit: BTreeSet<String> = inventory.hosts().iter().map(|h| h.name.clone()).collect();
    let plays: Vec<_> = playbook
        .plays
        .iter()
        .map(|play| (play, play_hosts(inventory, play, &limit).expect("hosts")))
        .collect();
    let mut apply = ApplyOptions {
        groups: inventory
            .groups()
            .iter()
            .map(|group| (group.name.clone(), group.hosts.clone().into()))
            .collect(),
        inventory: inventory.hosts().to_vec(),
        inventory_file: Some(scratch.path("inventory.yaml").display().to_string()),
        ..ApplyOptions::default()
    };
    fleet_playbook::with_ungrouped(&mut apply.groups);
    tweak(&mut apply);
    let client = Client::new(SshOptions {
        known_hosts: scratch.path("known_hosts"),
        ssh_config: Some(scratch.path("ssh_config")),
        ..SshOptions::with_defaults()
    })
    .expect("client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let finished = std::cell::Cell::new(false);
    runtime.block_on(async {
        let running = async {
            fleet_engine::run_playbook(&client, &plays, &playbook, &apply, &sender, &cancel).await;
            finished.set(true);
        };
        let watching = async {
            while !finished.get() {
                if cancel_when(scratch) {
                    cancel.cancel();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::join!(running, watching);
    });
    drop(sender);
    let mut events = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        events.push(event);
    }
    Run { events }
}

/// A fresh scratch folder named `name`, an inventory of `hosts` in it, and
/// a run of `playbook` on all of them: what most tests start with.
pub fn run_on(name: &str, hosts: &[&str], playbook: &str) -> (Scratch, Run) {
    let scratch = Scratch::new(name);
    let inventory = scratch.inventory(hosts);
    let run = run(&scratch, &inventory, playbook);
    (scratch, run)
}
