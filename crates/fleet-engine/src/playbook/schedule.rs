//! How a batch's hosts go through its tasks: each at its own pace up to
//! the next barrier (`run_once`, `once_per`, meta tasks and the like),
//! then the barrier nearest the start, and so on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use fleet_playbook::{Play, Task};
use futures::StreamExt;
use serde_json::Map;

use super::blocks::{BlockMap, Failure};
use super::task::{self, HostState, TaskContext};
use super::{Plan, Run, facts, is_meta, mentions_facts};
use crate::events::{Counts, Event, Status, TaskResult};

impl Run<'_> {
    /// Runs the batch's tasks: every host goes through them at its own
    /// pace up to the next barrier that concerns it; then the barrier
    /// nearest the start runs on the hosts waiting there; and so on.
    pub(super) async fn run_tasks(
        &mut self,
        ctx: &TaskContext<'_>,
        plan: &Plan<'_>,
        states: &mut [HostState],
    ) {
        let tasks = &plan.tasks;
        loop {
            if self.cancel.is_cancelled() {
                break;
            }
            self.free_tasks(ctx, plan, states).await;
            if ctx.play.any_errors_fatal && states.iter().any(|state| state.failed) {
                self.stop_on_fatal_error(states);
                break;
            }
            let next = states
                .iter()
                .filter(|state| state.active())
                .map(|state| state.flow.pc)
                .filter(|pc| *pc < tasks.len())
                .min();
            let Some(index) = next else {
                break;
            };
            if self.cancel.is_cancelled() {
                break;
            }
            let task = tasks[index];
            for state in states.iter_mut() {
                if state.active() && state.flow.pc == index {
                    state.flow.enter(task);
                }
            }
            let runs = |state: &HostState| {
                state.active()
                    && state.flow.pc == index
                    && state.blocks.runs(task)
                    && state.flow.runs(task)
            };
            if is_meta(task) {
                self.meta(ctx, task, states, runs).await;
            } else {
                self.task(ctx, task, states, &plan.blocks, runs).await;
            }
            for state in states
                .iter_mut()
                .filter(|state| state.active() && state.flow.pc == index)
            {
                state.failed = state.blocks.after(index, &plan.blocks);
                state.flow.advance(index, &plan.includes);
            }
            if ctx.play.any_errors_fatal && states.iter().any(|state| state.failed) {
                self.stop_on_fatal_error(states);
                break;
            }
        }
    }

    /// The origins of the play's tasks and handlers that read `hostvars`
    /// (none to look for when no task of the playbook does).
    pub(super) fn hostvars_tasks(&self, play: &Play) -> BTreeSet<String> {
        if !self.shared.keeps_hostvars() {
            return BTreeSet::new();
        }
        play.tasks
            .iter()
            .chain(&play.handlers)
            .filter(|task| fleet_playbook::reads_hostvars(play, task))
            .map(|task| task.origin.clone())
            .collect()
    }

    /// Every host runs the tasks from where it is, in order, at its own
    /// pace, until it fails, ends, or reaches a barrier of its files; each
    /// result is sent as soon as it is known.
    async fn free_tasks(
        &mut self,
        ctx: &TaskContext<'_>,
        plan: &Plan<'_>,
        states: &mut [HostState],
    ) {
        let (events, cancel) = (self.events, self.cancel);
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
                while let Some(task) = plan.tasks.get(state.flow.pc).copied() {
                    if cancel.is_cancelled() || !state.active() || fatal.load(Ordering::Relaxed) {
                        break;
                    }
                    let index = state.flow.pc;
                    let concerns = state.flow.runs(task);
                    if plan.barriers[index] && concerns {
                        break;
                    }
                    state.flow.enter(task);
                    if concerns && state.blocks.runs(task) {
                        if state.facts.is_none() && plan.wants_facts[index] {
                            facts::gather_quietly(ctx, state).await;
                        }
                        let result = ctx.run(task, state).await;
                        let result = record(result, task, state, &mut counts, &plan.blocks);
                        let _ = events.send(Event::TaskResult(result));
                    }
                    if state.active() {
                        state.failed = state.blocks.after(index, &plan.blocks);
                        state.flow.advance(index, &plan.includes);
                    }
                    ctx.shared.note(state);
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
    pub(super) async fn task(
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
            let gathering = states
                .iter_mut()
                .filter(|s| s.facts.is_none() && eligible(s))
                .map(|state| facts::gather_quietly(ctx, state));
            futures::future::join_all(gathering).await;
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
            ctx.shared.note(state);
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
                ctx.shared.note(state);
                if failed && task.once_per.is_some() {
                    state.failed = true;
                    ctx.shared.mark_failed(&state.name);
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
        self.hand_over_facts(states);
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

    /// Gives the facts delegated tasks set (`delegate_facts`) to the hosts
    /// they were delegated to: a host of this batch at once, any other for
    /// when it next runs a task.
    fn hand_over_facts(&mut self, states: &mut [HostState]) {
        let handed: Vec<(String, Map<String, serde_json::Value>)> = states
            .iter_mut()
            .flat_map(|state| std::mem::take(&mut state.delegated_facts))
            .collect();
        for (target, facts) in handed {
            match states.iter_mut().find(|state| state.name == target) {
                Some(state) => state.registered.extend(facts),
                None => self.registered.entry(target).or_default().extend(facts),
            }
        }
    }
}

/// How many hosts run at once: the play's `throttle`, else all.
fn throttle(play: &Play) -> usize {
    play.throttle.unwrap_or(usize::MAX).max(1)
}

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
                state.flow.failures += 1;
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
