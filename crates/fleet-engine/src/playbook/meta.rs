//! `meta` tasks and handler flushes: the steps that act on every host of
//! the batch at once.

use std::collections::BTreeSet;

use fleet_playbook::Task;

use crate::events::{Event, Status, TaskResult};

use super::Run;
use super::blocks::BlockMap;
use super::item_result::WHEN_FALSE;
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
        let eligible: Vec<bool> = states.iter().map(&runs).collect();
        let chosen: Vec<bool> = states
            .iter()
            .zip(&eligible)
            .map(|(state, eligible)| *eligible && ctx.when_holds(task, state))
            .collect();
        // As in Ansible, a `meta` task shows only where its `when` is
        // false: skipped (`noop` has no `when`).
        if task.when.is_some() && task.params != "noop" {
            for (state, _) in states
                .iter()
                .zip(eligible.iter().zip(&chosen))
                .filter(|(_, (eligible, chosen))| **eligible && !**chosen)
            {
                self.counts.add(Status::Skipped);
                let _ = self.events.send(Event::TaskResult(TaskResult {
                    msg: Some(WHEN_FALSE.into()),
                    ..TaskResult::new(&state.name, &ctx.task_name(task, state))
                }));
            }
        }
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
    /// handler that notifies one listed after it runs it in the same
    /// flush; one listed before it waits for the next flush, as in Ansible.
    pub(super) async fn flush_handlers(&mut self, ctx: &TaskContext<'_>, states: &mut [HostState]) {
        let play = ctx.play;
        let no_blocks = BlockMap::default();
        for (index, handler) in play.handlers.iter().enumerate() {
            if self.cancel.is_cancelled() {
                return;
            }
            let answers = |topic: &String| answers(&play.handlers, index, topic);
            // A topic is done with once every handler that answers it had
            // its turn: several handlers may listen to one.
            let done = |topic: &String| {
                answers(topic)
                    && !(index + 1..play.handlers.len())
                        .any(|later| self::answers(&play.handlers, later, topic))
            };
            let chosen: BTreeSet<String> = states
                .iter()
                .filter(|state| {
                    !state.ended
                        && state.notified.iter().any(answers)
                        && (!state.failed || play.force_handlers)
                })
                .map(|state| state.name.clone())
                .collect();
            if chosen.is_empty() {
                continue;
            }
            for state in states
                .iter_mut()
                .filter(|state| chosen.contains(&state.name))
            {
                state.notified.retain(|topic| !done(topic));
            }
            self.task(ctx, handler, states, &no_blocks, |state| {
                chosen.contains(&state.name)
            })
            .await;
        }
    }
}

/// Whether the handler `handlers[index]` runs for a notify of `topic`: it
/// listens to it, or it is the last handler of the play with that name.
fn answers(handlers: &[Task], index: usize, topic: &str) -> bool {
    let handler = &handlers[index];
    handler.listen.iter().any(|listened| listened == topic)
        || named_by(handler, topic)
            && !handlers[index + 1..]
                .iter()
                .any(|later| named_by(later, topic))
}

/// Whether `topic` is the handler's name, or one of its other names: a
/// role's handler is `role : name` and `name`.
fn named_by(handler: &Task, topic: &str) -> bool {
    handler.name == topic || handler.aliases.iter().any(|alias| alias == topic)
}
