//! `meta` tasks and handler flushes: the steps that act on every host of
//! the batch at once.

use std::collections::{BTreeMap, BTreeSet};

use fleet_playbook::Task;

use super::Run;
use super::blocks::BlockMap;
use super::task::{HostState, TaskContext};

impl Run<'_> {
    /// `any_errors_fatal`: a host failed, so the play stops on every host
    /// and no later batch or play starts.
    pub(super) fn stop_on_fatal_error(&mut self, states: &mut [HostState]) {
        for state in states.iter_mut() {
            state.ended = true;
        }
        self.rollout_stopped = true;
    }

    /// Runs a `meta` task on the hosts `runs` picks (and whose `when`
    /// holds).
    pub(super) async fn meta(
        &mut self,
        ctx: &TaskContext<'_>,
        task: &Task,
        states: &mut [HostState],
        runs: impl Fn(&HostState) -> bool,
    ) {
        let chosen: Vec<bool> = states
            .iter()
            .map(|state| runs(state) && ctx.when_holds(task, state))
            .collect();
        match task.params.as_str().unwrap_or_default() {
            "flush_handlers" => self.flush_handlers(ctx, states).await,
            "end_host" => {
                for (state, _) in states
                    .iter_mut()
                    .zip(&chosen)
                    .filter(|(_, chosen)| **chosen)
                {
                    state.ended = true;
                }
            }
            "clear_host_errors" if chosen.contains(&true) => self.clear_host_errors(states),
            "end_batch" | "end_play" if chosen.contains(&true) => {
                for state in states.iter_mut() {
                    state.ended = true;
                }
                self.play_ended |= task.params == "end_play";
            }
            _ => {}
        }
    }

    /// `meta: clear_host_errors`, as in Ansible: on every host of the
    /// batch, a block that failed no longer has (its `always` done, the host
    /// goes on after it), and a host that failed no longer counts as
    /// failed, though it runs no more tasks of the play. Their failures
    /// count as `cleared`, not `failed`.
    fn clear_host_errors(&mut self, states: &mut [HostState]) {
        for state in states.iter_mut() {
            state.blocks.clear_failures();
            let failures = std::mem::take(&mut state.flow.failures);
            self.counts.failed = self.counts.failed.saturating_sub(failures);
            self.counts.cleared += failures;
            if state.failed && failures > 0 {
                state.flow.cleared = true;
            }
        }
    }

    /// Runs the notified handlers, in the order the play lists them, on the
    /// hosts that notified them (failed ones too with `force_handlers`). A
    /// notification queues the handlers that [`answering`] finds. A
    /// handler that notifies another one runs it in the same flush: in this
    /// pass when listed after it, else in the next.
    pub(super) async fn flush_handlers(&mut self, ctx: &TaskContext<'_>, states: &mut [HostState]) {
        let play = ctx.play;
        let no_blocks = BlockMap::default();
        let mut queued: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let queue = |states: &mut [HostState], queued: &mut BTreeMap<String, BTreeSet<usize>>| {
            for state in states.iter_mut() {
                for topic in std::mem::take(&mut state.notified) {
                    let host = queued.entry(state.name.clone()).or_default();
                    host.extend(answering(&play.handlers, &topic));
                }
            }
        };
        queue(states, &mut queued);
        for _ in 0..=play.handlers.len() {
            let mut ran = false;
            for (index, handler) in play.handlers.iter().enumerate() {
                if self.cancel.is_cancelled() {
                    return;
                }
                let chosen: BTreeSet<String> = states
                    .iter()
                    .filter(|state| {
                        !state.ended
                            && (!state.failed || play.force_handlers)
                            && queued
                                .get(&state.name)
                                .is_some_and(|handlers| handlers.contains(&index))
                    })
                    .map(|state| state.name.clone())
                    .collect();
                if chosen.is_empty() {
                    continue;
                }
                for name in &chosen {
                    if let Some(handlers) = queued.get_mut(name) {
                        handlers.remove(&index);
                    }
                }
                self.task(ctx, handler, states, &no_blocks, |state| {
                    chosen.contains(&state.name)
                })
                .await;
                queue(states, &mut queued);
                ran = true;
            }
            if !ran {
                break;
            }
        }
    }
}

/// The handlers a notification of `topic` queues, as in Ansible: the last
/// one named so, and every one listening to it (of several with one name,
/// the last).
fn answering(handlers: &[Task], topic: &str) -> Vec<usize> {
    let named = handlers.iter().rposition(|handler| handler.name == topic);
    let mut names: Vec<&str> = Vec::new();
    let mut found: Vec<usize> = named.into_iter().collect();
    for (index, handler) in handlers.iter().enumerate().rev() {
        if handler.listen.iter().any(|listened| listened == topic)
            && !names.contains(&handler.name.as_str())
        {
            names.push(&handler.name);
            found.push(index);
        }
    }
    found
}
