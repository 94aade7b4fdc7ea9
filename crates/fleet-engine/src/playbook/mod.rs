//! `fleet apply`: plays run in order. A play runs on its hosts in batches
//! (`serial`; one batch of every host without it). Within a batch every
//! host goes through the tasks at its own pace (Ansible's "free" strategy);
//! a `run_once` task waits for every host of the batch. Handlers run at the
//! end of each batch. Hosts reach their tasks over SSH, or on the
//! controller for `connection: local` (see [`Connection`]).

mod batches;
mod blocks;
mod controller;
mod facts;
mod item_result;
mod loop_items;
mod meta;
mod pause;
mod release_gate;
mod sessions;
mod tags;
mod task;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use fleet_inventory::{Host, Inventory};
use std::sync::atomic::{AtomicBool, Ordering};

use fleet_playbook::{Play, Playbook, Strategy, Task, Templater};
use fleet_ssh::{Client, Session};
use futures::StreamExt;
use serde_json::Map;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::connection::{Connection, runs_locally};
use crate::events::{Counts, Event, Status, StopReason, TaskResult};
pub use batches::{batch_sizes, stop_reason};
use blocks::{BlockMap, Failure};
use facts::gather_facts;
pub use facts::{FACTS_SCRIPT, parse_facts};
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
    let mut run = Run {
        client,
        options,
        events,
        cancel,
        templater: &templater,
        sessions: BTreeMap::new(),
        session_users: BTreeMap::new(),
        registered: BTreeMap::new(),
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
    /// One SSH connection per host for the whole run; `None` once
    /// unreachable. Hosts that run locally need none.
    sessions: BTreeMap<String, Option<Session>>,
    /// The SSH user each session logged in as.
    session_users: BTreeMap<String, Option<String>>,
    /// Registered results survive from play to play, as in Ansible.
    registered: BTreeMap<String, Map<String, serde_json::Value>>,
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
        let batches = batches::split(hosts, play.serial.as_ref());
        let of = batches.len();
        let mut done: Vec<&Host> = Vec::new();
        self.play_ended = false;
        for (index, batch) in batches.into_iter().enumerate() {
            if self.cancel.is_cancelled() || self.play_ended {
                break;
            }
            if play.serial.is_some() {
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
                let serial = play.serial.is_some();
                stop_reason(failed.len(), batch.len(), serial, play.max_fail_percentage)
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
                let whole = reason.is_some() || play.serial.is_none();
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
                    last_result: serde_json::Value::Null,
                    facts: None,
                    notified: Vec::new(),
                    failed: false,
                    ended: false,
                    blocks: Default::default(),
                })
            })
            .collect();
        let play_hosts: Vec<String> = hosts.iter().map(|host| host.name.clone()).collect();
        let controller = Connection::local("localhost");
        let ctx = TaskContext {
            play,
            play_hosts: &play_hosts,
            templater: self.templater,
            options: self.options,
            controller: &controller,
            cancel: self.cancel,
            commands: self.options.show_commands.then_some(self.events),
        };
        let tasks: Vec<&Task> = play
            .tasks
            .iter()
            .filter(|task| self.selected(play, task))
            .collect();
        let map = BlockMap::new(&tasks);
        // Hosts go through the tasks independently (Ansible's "free"
        // strategy); a `run_once`, `once_per` or `meta` task waits for
        // every host.
        let linear = play.strategy == Strategy::Linear;
        let barrier =
            |task: &&Task| linear || task.run_once || task.once_per.is_some() || is_meta(task);
        let mut start = 0;
        for segment in tasks.split_inclusive(barrier) {
            let (free, once) = match segment.split_last() {
                Some((last, rest)) if barrier(last) => (rest, Some(*last)),
                _ => (segment, None),
            };
            self.free_tasks(&ctx, free, start, &map, &mut states).await;
            if let Some(task) = once
                && !self.cancel.is_cancelled()
            {
                let runs = |state: &HostState| state.active() && state.blocks.runs(task);
                if is_meta(task) {
                    self.meta(&ctx, task, &mut states, runs).await;
                } else {
                    self.task(&ctx, task, &mut states, &map, runs).await;
                }
                let index = start + free.len();
                for state in states.iter_mut().filter(|state| state.active()) {
                    state.failed = state.blocks.after(index, &map);
                }
            }
            start += segment.len();
            if play.any_errors_fatal && states.iter().any(|state| state.failed) {
                self.stop_on_fatal_error(&mut states);
                break;
            }
        }
        self.flush_handlers(&ctx, &mut states).await;
        let failed = hosts
            .iter()
            .filter(|host| !unreachable_before.contains(host.name.as_str()))
            .filter(|host| {
                states
                    .iter()
                    .find(|state| state.name == host.name)
                    .is_none_or(|state| state.failed)
            })
            .map(|host| host.name.clone())
            .collect();
        for state in states {
            self.registered.insert(state.name, state.registered);
        }
        failed
    }

    /// Every host runs `tasks` in order, at its own pace, until one fails
    /// on it; each result is sent as soon as it is known.
    async fn free_tasks(
        &mut self,
        ctx: &TaskContext<'_>,
        tasks: &[&Task],
        start: usize,
        map: &BlockMap,
        states: &mut [HostState],
    ) {
        if tasks.is_empty() {
            return;
        }
        let (events, cancel) = (self.events, self.cancel);
        // Decided once for all hosts: it serializes vars and reads templates.
        let wants_facts: Vec<bool> = tasks
            .iter()
            .map(|task| mentions_facts(ctx.play, task))
            .collect();
        let wants_facts = &wants_facts;
        // With `any_errors_fatal`, a failure on one host starts no new task
        // on the others.
        let fatal = AtomicBool::new(false);
        let fatal = &fatal;
        let any_errors_fatal = ctx.play.any_errors_fatal;
        let runs = states
            .iter_mut()
            .filter(|state| state.active())
            .map(|state| async move {
                let mut counts = Counts::default();
                for (offset, (task, wants_facts)) in tasks.iter().zip(wants_facts).enumerate() {
                    if cancel.is_cancelled() || !state.active() || fatal.load(Ordering::Relaxed) {
                        break;
                    }
                    if state.blocks.runs(task) {
                        if state.facts.is_none() && *wants_facts {
                            gather_facts(std::iter::once(&mut *state)).await;
                        }
                        let result = ctx.run(task, state).await;
                        let result = record(result, task, state, &mut counts, map);
                        let _ = events.send(Event::TaskResult(result));
                    }
                    if state.active() {
                        state.failed = state.blocks.after(start + offset, map);
                    }
                    if state.failed && any_errors_fatal {
                        fatal.store(true, Ordering::Relaxed);
                    }
                }
                counts
            });
        let mut runs = futures::stream::iter(runs).buffer_unordered(throttle(ctx.play));
        while let Some(counts) = runs.next().await {
            self.counts.merge(&counts);
        }
    }

    /// Runs `task` on every state `eligible` picks, sending each result as
    /// soon as that host is done.
    async fn task(
        &mut self,
        ctx: &TaskContext<'_>,
        task: &Task,
        states: &mut [HostState],
        map: &BlockMap,
        eligible: impl Fn(&HostState) -> bool,
    ) {
        let name = states
            .iter()
            .find(|state| eligible(state))
            .map_or_else(|| task.name.clone(), |state| ctx.task_name(task, state));
        let _ = self.events.send(Event::TaskStart { name });
        if mentions_facts(ctx.play, task) {
            gather_facts(
                states
                    .iter_mut()
                    .filter(|s| s.facts.is_none() && eligible(s)),
            )
            .await;
        }
        let groups = self.groups(ctx, task, states, &eligible);
        let runs = states
            .iter_mut()
            .enumerate()
            .filter(|(index, _)| groups.contains_key(index))
            .map(|(index, state)| async move {
                let result = ctx.run(task, state).await;
                (index, state, result)
            });
        let mut runs = futures::stream::iter(runs).buffer_unordered(throttle(ctx.play));
        let mut shared = Vec::new();
        while let Some((index, state, result)) = runs.next().await {
            let result = record(result, task, state, &mut self.counts, map);
            let registered = task::shared_vars(task, state);
            shared.push((index, state.name.clone(), state.failed, registered));
            let _ = self.events.send(Event::TaskResult(result));
        }
        drop(runs);
        for (runner, runner_name, failed, registered) in shared {
            let Some(members) = groups.get(&runner) else {
                continue;
            };
            for &member in members {
                let state = &mut states[member];
                for (name, value) in &registered {
                    state.registered.insert(name.clone(), value.clone());
                }
                if failed && task.once_per.is_some() {
                    state.failed = true;
                    self.counts.add(Status::Failed);
                    let _ = self.events.send(Event::TaskResult(TaskResult {
                        status: Status::Failed,
                        msg: Some(format!(
                            "failed on {runner_name}, which ran it for this host"
                        )),
                        ..TaskResult::new(&state.name, &task.name)
                    }));
                }
            }
        }
    }

    /// Which hosts run `task` (the keys), and which others take each
    /// one's result: every eligible host runs it alone; `run_once` picks the
    /// first for all; `once_per` picks the first of each distinct key.
    fn groups(
        &self,
        ctx: &TaskContext<'_>,
        task: &Task,
        states: &[HostState],
        eligible: &impl Fn(&HostState) -> bool,
    ) -> BTreeMap<usize, Vec<usize>> {
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut runner_of: BTreeMap<String, usize> = BTreeMap::new();
        for (index, state) in states.iter().enumerate() {
            if !eligible(state) {
                continue;
            }
            let key = match (&task.once_per, task.run_once) {
                (Some(template), _) => ctx.render_key(task, template, state),
                (None, true) => String::new(),
                (None, false) => {
                    groups.insert(index, Vec::new());
                    continue;
                }
            };
            match runner_of.get(&key) {
                Some(runner) => groups.entry(*runner).or_default().push(index),
                None => {
                    runner_of.insert(key, index);
                    groups.insert(index, Vec::new());
                }
            }
        }
        groups
    }

    fn selected(&self, play: &Play, task: &Task) -> bool {
        self.options.tag_filter().selects(play, task)
    }
}

/// How many hosts run at once: the play's `throttle`, else all.
fn throttle(play: &Play) -> usize {
    play.throttle.unwrap_or(usize::MAX).max(1)
}

fn is_meta(task: &Task) -> bool {
    task.module == "meta"
}

/// Counts a result and, unless `ignore_errors` applies, sends a failure
/// where its blocks say (a rescue, or the host), then returns it ready to
/// send.
fn record(
    mut result: TaskResult,
    task: &Task,
    state: &mut HostState,
    counts: &mut Counts,
    map: &BlockMap,
) -> TaskResult {
    match result.status {
        Status::Failed if task.ignore_errors => {
            result.ignored = true;
            counts.ignored += 1;
        }
        Status::Failed => {
            if map.rescues(task) {
                // As in Ansible, only a rescue sees what failed.
                state.keep_failure(task, &result);
                result.rescued = true;
                counts.rescued += 1;
            } else {
                counts.add(Status::Failed);
            }
            if state.blocks.failed(task, map) == Failure::Host {
                state.failed = true;
            }
        }
        Status::Unreachable => {
            state.failed = true;
            counts.add(Status::Unreachable);
        }
        status => counts.add(status),
    }
    result
}

/// Whether the task's templates read `facts`: its params, conditions,
/// loop, the template file it renders, or a play var that reads them
/// (`fleet_playbook::needs_facts`).
fn mentions_facts(play: &Play, task: &Task) -> bool {
    fleet_playbook::needs_facts(play, task)
}
