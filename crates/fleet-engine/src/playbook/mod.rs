//! `fleet apply`: plays run in order. A play runs on its hosts in batches
//! (`serial`; one batch of every host without it). Within a batch every
//! host goes through the tasks at its own pace (Ansible's "free" strategy);
//! a `run_once` task waits for every host of the batch. Handlers run at the
//! end of each batch. Hosts reach their tasks over SSH, or on the
//! controller for `connection: local` (see [`Connection`]).

mod batches;
mod blocks;
mod controller;
mod delegate;
mod facts;
mod flow;
mod item_result;
mod loop_items;
mod magic;
mod meta;
mod pause;
mod place;
mod release_gate;
mod schedule;
mod sessions;
mod tags;
mod task;
mod task_vars;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use fleet_inventory::{Host, Inventory};

use fleet_playbook::{Play, Playbook, Strategy, Task, Templater};
use fleet_ssh::{Client, Session};
use serde_json::{Map, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::connection::{Connection, runs_locally};
use crate::events::{Counts, Event, Status, StopReason, TaskResult};
pub use batches::{batch_sizes, stop_reason};
use blocks::BlockMap;
use delegate::Delegates;
use flow::IncludeMap;
use magic::Shared;
pub use tags::TagFilter;
pub use task::ApplyOptions;
use task::{HostState, TaskContext};

/// The hosts each play runs on: its `hosts:` pattern within the `-l` limit.
/// Resolve this before contacting any host: pattern errors are bad input.
pub fn play_hosts<'a>(
    inventory: &'a Inventory,
    play: &Play,
    limit: &BTreeSet<String>,
) -> Result<Vec<&'a Host>, fleet_inventory::InventoryError> {
    let hosts = inventory.select_with_origin(&play.hosts, &play.hosts_origin)?;
    Ok(hosts
        .into_iter()
        .filter(|host| limit.contains(&host.name))
        .collect())
}

/// Runs every play of `playbook` and returns the counts.
pub async fn run_playbook(
    client: &Client,
    plays: &[(&Play, Vec<&Host>)],
    playbook: &Playbook,
    options: &ApplyOptions,
    events: &UnboundedSender<Event>,
    cancel: &CancellationToken,
) -> Counts {
    let started = Instant::now();
    let mut all_hosts: Vec<String> = Vec::new();
    for host in plays.iter().flat_map(|(_, hosts)| hosts) {
        if !all_hosts.contains(&host.name) {
            all_hosts.push(host.name.clone());
        }
    }
    let _ = events.send(Event::RunStart {
        hosts: all_hosts,
        task: playbook.path.display().to_string(),
    });
    let templater = Templater::new();
    let all_plays = || plays.iter().map(|(play, _)| *play);
    let shared = Shared::new(facts::hostvars_read_by(all_plays()));
    let mut run = Run {
        client,
        options,
        events,
        cancel,
        templater: &templater,
        shared: &shared,
        gathers: facts::read_by(all_plays()),
        sessions: BTreeMap::new(),
        session_users: BTreeMap::new(),
        delegates: Arc::new(Delegates::new(client.clone(), &options.inventory)),
        registered: BTreeMap::new(),
        included_vars: BTreeMap::new(),
        facts: BTreeMap::new(),
        play_hosts_all: Vec::new(),
        counts: Counts::default(),
        rollout_stopped: false,
        play_ended: false,
    };
    for (play, hosts) in plays {
        if cancel.is_cancelled() || run.rollout_stopped {
            break;
        }
        run.play(play, hosts).await;
    }
    for session in run.sessions.values().flatten() {
        session.close().await;
    }
    run.delegates.close().await;
    let counts = run.counts;
    let _ = events.send(Event::RunDone {
        counts,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        interrupted: cancel.is_cancelled(),
    });
    counts
}

struct Run<'a> {
    client: &'a Client,
    options: &'a ApplyOptions,
    events: &'a UnboundedSender<Event>,
    cancel: &'a CancellationToken,
    templater: &'a Templater,
    /// Failed hosts and `hostvars`, for the magic variables.
    shared: &'a Shared,
    /// Some task of the playbook reads facts: plays with `gather_facts`
    /// gather them when each batch starts.
    gathers: bool,
    /// One SSH connection per host for the whole run; `None` once
    /// unreachable. Hosts that run locally need none.
    sessions: BTreeMap<String, Option<Session>>,
    /// The SSH user each session logged in as.
    session_users: BTreeMap<String, Option<String>>,
    /// The sessions tasks are delegated to, the play hosts' included.
    delegates: Arc<Delegates>,
    /// Registered results survive from play to play, as in Ansible.
    registered: BTreeMap<String, Map<String, Value>>,
    /// So do the variables of `include_vars`.
    included_vars: BTreeMap<String, Map<String, Value>>,
    /// So do facts.
    facts: BTreeMap<String, Map<String, Value>>,
    /// The hosts of the current play.
    play_hosts_all: Vec<String>,
    counts: Counts,
    /// Set when a play's rollout stops early: no later play starts.
    rollout_stopped: bool,
    /// Set by `meta: end_play`: no later batch of the play starts.
    play_ended: bool,
}

impl Run<'_> {
    /// Runs the play batch after batch; hosts of a batch are contacted only
    /// when it starts. A play that deploys with `release` is health-gated:
    /// see [`release_gate`].
    async fn play(&mut self, play: &Play, hosts: &[&Host]) {
        let _ = self.events.send(Event::PlayStart {
            name: play.name.clone(),
            hosts: hosts.iter().map(|h| h.name.clone()).collect(),
        });
        self.shared.start_play();
        self.play_hosts_all = hosts.iter().map(|h| h.name.clone()).collect();
        let serial = match play.serial_sizes(&self.options.extra_vars) {
            Ok(serial) => serial,
            Err(err) => return self.serial_failed(hosts, &err),
        };
        let gate = release_gate::deploy_task(play).filter(|_| !self.options.check);
        let gated;
        let batch_play = match gate {
            Some(deploy) => {
                let record = release_gate::info_task(
                    deploy,
                    "record the release before this rollout",
                    release_gate::BEFORE,
                );
                gated = Play {
                    tasks: std::iter::once(record)
                        .chain(play.tasks.iter().cloned())
                        .collect(),
                    ..play.clone()
                };
                &gated
            }
            None => play,
        };
        let hosts = batches::ordered(hosts, play.order, |host: &Host| host.name.as_str());
        let hosts = hosts.as_slice();
        let batches = batches::split(hosts, serial.as_ref());
        let of = batches.len();
        let mut done: Vec<&Host> = Vec::new();
        self.play_ended = false;
        for (index, batch) in batches.into_iter().enumerate() {
            if self.cancel.is_cancelled() || self.play_ended {
                break;
            }
            if serial.is_some() {
                let _ = self.events.send(Event::BatchStart {
                    play: play.name.clone(),
                    batch: index + 1,
                    of,
                    hosts: batch.iter().map(|host| host.name.clone()).collect(),
                });
            }
            let failed = self.batch(batch_play, batch).await;
            done.extend(batch);
            let reason = if self.cancel.is_cancelled() {
                (index + 1 < of).then_some(StopReason::Interrupted)
            } else {
                let rolling = serial.is_some();
                stop_reason(failed.len(), batch.len(), rolling, play.max_fail_percentage)
            };
            if let Some(reason) = reason {
                let _ = self.events.send(Event::RolloutStopped {
                    play: play.name.clone(),
                    batch: index + 1,
                    of,
                    failed: failed.len(),
                    batch_size: batch.len(),
                    max_fail_percentage: play.max_fail_percentage,
                    reason,
                });
                self.rollout_stopped = true;
            }
            if let Some(deploy) = gate
                && !failed.is_empty()
                && !self.cancel.is_cancelled()
            {
                // A stopped rollout (or a failed play without batches) goes
                // back per `rollback:`; failures the threshold tolerates go
                // back host by host.
                let whole = reason.is_some() || serial.is_none();
                let back = batches::rollback_hosts(play.rollback, whole, batch, &done, |host| {
                    failed.contains(&host.name)
                });
                if !back.is_empty() {
                    let rollback =
                        release_gate::play_of(play, vec![release_gate::rollback_task(deploy)]);
                    self.batch(&rollback, &back).await;
                }
            }
            if reason.is_some() {
                break;
            }
        }
        if let Some(deploy) = gate
            && !done.is_empty()
            && !self.cancel.is_cancelled()
        {
            self.report_releases(play, deploy, &done).await;
        }
    }

    /// A templated `serial` that does not render runs the play on no host:
    /// each host fails it, and no later play starts. (`fleet apply`
    /// renders it before contacting any host, as bad input.)
    fn serial_failed(&mut self, hosts: &[&Host], err: &fleet_playbook::PlaybookError) {
        let _ = self.events.send(Event::TaskStart {
            name: "serial".into(),
        });
        for host in hosts {
            let mut result = TaskResult::new(&host.name, "serial");
            result.status = Status::Failed;
            result.msg = Some(err.to_string());
            self.counts.add(Status::Failed);
            self.shared.mark_failed(&host.name);
            let _ = self.events.send(Event::TaskResult(result));
        }
        self.rollout_stopped = true;
    }

    /// Sends which release each host of `hosts` runs now.
    async fn report_releases(&mut self, play: &Play, deploy: &Task, hosts: &[&Host]) {
        let info = release_gate::info_task(deploy, "release now current", release_gate::NOW);
        self.batch(&release_gate::play_of(play, vec![info]), hosts)
            .await;
        for host in hosts {
            let registered = self.registered.get(&host.name);
            let _ = self.events.send(Event::HostRelease {
                host: host.name.clone(),
                release: release_gate::current_release(registered, release_gate::NOW),
            });
        }
    }

    /// Runs the play on one batch of its hosts and returns the ones that
    /// failed or were unreachable in it. A host unreachable since an
    /// earlier play is skipped and not counted, as in Ansible.
    async fn batch(&mut self, play: &Play, hosts: &[&Host]) -> Vec<String> {
        let (local, remote): (Vec<&Host>, Vec<&Host>) = hosts
            .iter()
            .partition(|host| runs_locally(host, play.connection));
        let unreachable_before: BTreeSet<&str> = remote
            .iter()
            .filter(|host| matches!(self.sessions.get(&host.name), Some(None)))
            .map(|host| host.name.as_str())
            .collect();
        self.connect(&remote, play.remote_user.as_deref()).await;
        for host in &remote {
            if let Some(Some(session)) = self.sessions.get(&host.name) {
                let user = self.session_users.get(&host.name).cloned().flatten();
                self.delegates.lend(&host.name, user.as_deref(), session);
            }
        }
        let mut states: Vec<HostState> = hosts
            .iter()
            .filter_map(|host| {
                let connection = if local.iter().any(|local| local.name == host.name) {
                    Connection::local(&host.name)
                } else {
                    Connection::Ssh(self.sessions.get(&host.name)?.clone()?)
                };
                Some(HostState {
                    name: host.name.clone(),
                    inventory_vars: host.vars.clone(),
                    inventory_become: host.connection.r#become,
                    groups: host.groups.clone(),
                    connection,
                    registered: self.registered.remove(&host.name).unwrap_or_default(),
                    last_result: Value::Null,
                    facts: self.facts.remove(&host.name),
                    notified: Vec::new(),
                    failed: false,
                    ended: false,
                    blocks: Default::default(),
                    flow: Default::default(),
                    included_vars: self.included_vars.remove(&host.name).unwrap_or_default(),
                    delegated_facts: Vec::new(),
                })
            })
            .collect();
        let play_hosts: Vec<String> = hosts.iter().map(|host| host.name.clone()).collect();
        for host in &play_hosts {
            if !states.iter().any(|state| state.name == *host) {
                self.shared.mark_failed(host);
            }
        }
        for state in &states {
            self.shared.note(state);
        }
        let hostvars_tasks = self.hostvars_tasks(play);
        let play_hosts_all = std::mem::take(&mut self.play_hosts_all);
        let delegates = Arc::clone(&self.delegates);
        let ctx = TaskContext {
            play,
            play_hosts: &play_hosts,
            play_hosts_all: &play_hosts_all,
            shared: self.shared,
            hostvars_tasks: &hostvars_tasks,
            templater: self.templater,
            options: self.options,
            delegates: &delegates,
            cancel: self.cancel,
            commands: self.options.show_commands.then_some(self.events),
        };
        let tasks: Vec<&Task> = play
            .tasks
            .iter()
            .filter(|task| self.selected(play, task))
            .collect();
        if play.gather_facts && self.gathers && !self.cancel.is_cancelled() {
            let gathering = play.gathering_facts();
            let no_blocks = BlockMap::default();
            self.task(&ctx, &gathering, &mut states, &no_blocks, HostState::active)
                .await;
        }
        // Hosts go through the tasks independently (Ansible's "free"
        // strategy); a `run_once`, `once_per` or `meta` task waits for
        // every host, and so does one that sets facts on the hosts it is
        // delegated to.
        let linear = play.strategy == Strategy::Linear;
        let plan = Plan {
            blocks: BlockMap::new(&tasks),
            includes: IncludeMap::new(&tasks),
            barriers: tasks
                .iter()
                .map(|task| {
                    linear
                        || task.run_once
                        || task.once_per.is_some()
                        || is_meta(task)
                        || task.delegate_facts
                })
                .collect(),
            // Decided once for all hosts: it serializes vars and reads
            // templates.
            wants_facts: tasks
                .iter()
                .map(|task| mentions_facts(play, task))
                .collect(),
            tasks,
        };
        self.run_tasks(&ctx, &plan, &mut states).await;
        self.flush_handlers(&ctx, &mut states).await;
        let failed = hosts
            .iter()
            .filter(|host| !unreachable_before.contains(host.name.as_str()))
            .filter(|host| {
                states
                    .iter()
                    .find(|state| state.name == host.name)
                    .is_none_or(|state| state.failed && !state.flow.cleared)
            })
            .map(|host| host.name.clone())
            .collect();
        for state in states {
            self.included_vars
                .insert(state.name.clone(), state.included_vars);
            if let Some(facts) = state.facts {
                self.facts.insert(state.name.clone(), facts);
            }
            self.registered.insert(state.name, state.registered);
        }
        self.play_hosts_all = play_hosts_all;
        failed
    }

    fn selected(&self, play: &Play, task: &Task) -> bool {
        self.options.tag_filter().selects(play, task)
    }
}

/// The tasks of a batch, and what is known of them before any runs.
struct Plan<'a> {
    tasks: Vec<&'a Task>,
    blocks: BlockMap,
    includes: IncludeMap,
    /// Tasks every host waits for before they run.
    barriers: Vec<bool>,
    /// Tasks that read facts.
    wants_facts: Vec<bool>,
}

fn is_meta(task: &Task) -> bool {
    task.module == "meta"
}

/// Counts a result and, unless `ignore_errors` applies, sends a failure
/// where its blocks say (a rescue, or the host), then returns it ready to
/// send.
/// Whether the task's templates read `facts`: its params, conditions,
/// loop, the template file it renders, or a play var that reads them
/// (`fleet_playbook::needs_facts`).
fn mentions_facts(play: &Play, task: &Task) -> bool {
    fleet_playbook::needs_facts(play, task)
}

/// One `command` task as the loader makes it, for the unit tests of the
/// parts that schedule tasks (blocks, includes).
#[cfg(test)]
fn loaded_task() -> Task {
    let dir = std::env::temp_dir().join(format!("fleet-task-{}", fleet_shell::token()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("site.yaml");
    std::fs::write(&path, "- hosts: all\n  tasks:\n    - command: 'true'\n").unwrap();
    let playbook = fleet_playbook::load(&path, &Default::default()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    playbook.plays[0].tasks[0].clone()
}
