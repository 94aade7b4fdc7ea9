//! Blocks on one host: which tasks of `block`, `rescue` and `always` run,
//! and where a failure goes, as in Ansible.
//!
//! - A failure in a block's body skips the rest of the body and runs its
//!   `rescue`; when the rescue succeeds, the host goes on as if nothing
//!   failed.
//! - Without a rescue, or when the rescue fails, the block has failed: its
//!   `always` still runs, then the failure passes to the enclosing block
//!   (or fails the host).
//! - `always` runs in every case; a failure in it passes on at once.

use std::collections::BTreeMap;

use fleet_playbook::{BlockPart, Section, Task};

/// How a block that met a failure stands on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Its body failed and it has a rescue: the rescue runs.
    Rescuing,
    /// Failed without rescue: its `always` runs, then the failure passes on
    /// when the block ends.
    Unrescued,
    /// Its failure has passed on already (a failure in `always`): the rest
    /// of it is skipped.
    PassedOn,
}

/// The blocks of one host; a block with no entry has not failed.
#[derive(Debug, Clone, Default)]
pub(super) struct HostBlocks {
    standing: BTreeMap<usize, Standing>,
}

/// What the task list says about its blocks, computed once per batch.
#[derive(Debug, Default)]
pub(super) struct BlockMap {
    /// The blocks that have a rescue task.
    rescued: Vec<usize>,
    /// For each task index, the blocks that end with it, innermost first,
    /// with the parts of the blocks around each.
    ends: Vec<Vec<(usize, Vec<BlockPart>)>>,
}

impl BlockMap {
    pub(super) fn new(tasks: &[&Task]) -> BlockMap {
        let mut rescued = Vec::new();
        for task in tasks {
            for part in &task.blocks {
                if part.section == Section::Rescue && !rescued.contains(&part.block) {
                    rescued.push(part.block);
                }
            }
        }
        let ends = tasks
            .iter()
            .enumerate()
            .map(|(index, task)| {
                let next = tasks
                    .get(index + 1)
                    .map_or(&[][..], |next| &next.blocks[..]);
                let mut ending = Vec::new();
                for depth in (0..task.blocks.len()).rev() {
                    let block = task.blocks[depth].block;
                    if !next.iter().any(|part| part.block == block) {
                        ending.push((block, task.blocks[..depth].to_vec()));
                    }
                }
                ending
            })
            .collect();
        BlockMap { rescued, ends }
    }
}

impl BlockMap {
    /// Whether a failure of `task` ends in a rescue: some block around it,
    /// from the inside out, has a rescue and holds the task in its body.
    pub(super) fn rescues(&self, task: &Task) -> bool {
        task.blocks
            .iter()
            .any(|part| part.section == Section::Body && self.rescued.contains(&part.block))
    }
}

impl HostBlocks {
    /// Whether `task` runs on this host, given how its blocks stand.
    pub(super) fn runs(&self, task: &Task) -> bool {
        task.blocks.iter().all(|part| {
            let standing = self.standing.get(&part.block);
            match part.section {
                Section::Body => standing.is_none(),
                Section::Rescue => standing == Some(&Standing::Rescuing),
                Section::Always => standing != Some(&Standing::PassedOn),
            }
        })
    }

    /// `task` failed on this host: returns whether the host has failed
    /// (the failure left every block), and whether a rescue now runs.
    pub(super) fn failed(&mut self, task: &Task, map: &BlockMap) -> Failure {
        self.pass_on(&task.blocks, map)
    }

    /// After task `index` ran (or was skipped) on this host: a block that
    /// ends there and failed passes its failure on. Returns whether the
    /// host has failed.
    pub(super) fn after(&mut self, index: usize, map: &BlockMap) -> bool {
        let Some(ending) = map.ends.get(index) else {
            return false;
        };
        let mut host_failed = false;
        for (block, around) in ending {
            match self.standing.remove(block) {
                // A rescue that ran to its end rescued the block.
                None | Some(Standing::Rescuing | Standing::PassedOn) => {}
                Some(Standing::Unrescued) => {
                    host_failed |= self.pass_on(around, map) == Failure::Host;
                }
            }
        }
        host_failed
    }

    /// Forgets the failures of blocks that failed without rescue
    /// (`meta: clear_host_errors` in their `always`): they end as if none
    /// had failed.
    pub(super) fn clear_failures(&mut self) {
        self.standing
            .retain(|_, standing| *standing != Standing::Unrescued);
    }

    /// A failure in the innermost of `parts`.
    fn pass_on(&mut self, parts: &[BlockPart], map: &BlockMap) -> Failure {
        let Some((inner, around)) = parts.split_last() else {
            return Failure::Host;
        };
        match inner.section {
            Section::Body if map.rescued.contains(&inner.block) => {
                self.standing.insert(inner.block, Standing::Rescuing);
                Failure::Rescue
            }
            Section::Body | Section::Rescue => {
                self.standing.insert(inner.block, Standing::Unrescued);
                Failure::Caught
            }
            Section::Always => {
                self.standing.insert(inner.block, Standing::PassedOn);
                self.pass_on(around, map)
            }
        }
    }
}

/// Where a failed task's failure went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// Out of every block: the host has failed.
    Host,
    /// To a block's rescue, which runs next.
    Rescue,
    /// To a block without (or past) its rescue: its `always` runs, then
    /// it passes on.
    Caught,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(parts: &[(usize, Section)]) -> Task {
        let mut task = crate::playbook::loaded_task();
        task.blocks = parts
            .iter()
            .map(|&(block, section)| BlockPart { block, section })
            .collect();
        task
    }

    /// Runs `tasks` on one host whose tasks fail when their index is in
    /// `failing`; returns the indexes that ran and whether the host failed.
    fn run(tasks: &[Task], failing: &[usize]) -> (Vec<usize>, bool) {
        let refs: Vec<&Task> = tasks.iter().collect();
        let map = BlockMap::new(&refs);
        let mut host = HostBlocks::default();
        let mut ran = Vec::new();
        for (index, task) in tasks.iter().enumerate() {
            if host.runs(task) {
                ran.push(index);
                if failing.contains(&index) && host.failed(task, &map) == Failure::Host {
                    return (ran, true);
                }
            }
            if host.after(index, &map) {
                return (ran, true);
            }
        }
        (ran, false)
    }

    use Section::{Always, Body, Rescue};

    #[test]
    fn a_rescued_failure_runs_rescue_and_always_then_goes_on() {
        let tasks = [
            task(&[(0, Body)]),
            task(&[(0, Body)]),
            task(&[(0, Rescue)]),
            task(&[(0, Always)]),
            task(&[]),
        ];
        assert_eq!(run(&tasks, &[]), (vec![0, 1, 3, 4], false));
        assert_eq!(run(&tasks, &[0]), (vec![0, 2, 3, 4], false));
        // A failing rescue fails the block, after `always`.
        assert_eq!(run(&tasks, &[0, 2]), (vec![0, 2, 3], true));
    }

    #[test]
    fn without_rescue_always_runs_then_the_failure_passes_on() {
        let tasks = [
            task(&[(0, Body)]),
            task(&[(0, Body)]),
            task(&[(0, Always)]),
            task(&[]),
        ];
        assert_eq!(run(&tasks, &[0]), (vec![0, 2], true));
        // A failure in `always` passes on at once.
        assert_eq!(run(&tasks, &[2]), (vec![0, 1, 2], true));
    }

    #[test]
    fn an_inner_failure_reaches_the_outer_rescue_after_the_inner_always() {
        let tasks = [
            task(&[(0, Body), (1, Body)]),
            task(&[(0, Body), (1, Always)]),
            task(&[(0, Body)]),
            task(&[(0, Rescue)]),
            task(&[(0, Always)]),
            task(&[]),
        ];
        assert_eq!(run(&tasks, &[0]), (vec![0, 1, 3, 4, 5], false));
        assert_eq!(run(&tasks, &[2]), (vec![0, 1, 2, 3, 4, 5], false));
        assert_eq!(run(&tasks, &[0, 3]), (vec![0, 1, 3, 4], true));
        // Two blocks in a row: the second one does not see the first's
        // failure.
        let tasks = [
            task(&[(0, Body)]),
            task(&[(0, Rescue)]),
            task(&[(1, Body)]),
            task(&[(1, Rescue)]),
        ];
        assert_eq!(run(&tasks, &[0]), (vec![0, 1, 2], false));
    }
}
