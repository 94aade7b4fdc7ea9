//! Where each host is in the play's task list, and the dynamic includes it
//! is in.
//!
//! The tasks of every file an `include_tasks` can name follow it in the
//! list. When the include runs on a host it picks, for each pass (once, or
//! once per loop item), which file that pass runs; the host then runs the
//! tasks of that file with the pass's loop variables and skips the other
//! files' tasks. At the include's last task, a host with passes left goes
//! back to the include's first task for the next pass.

use std::collections::BTreeMap;
use std::time::Instant;

use fleet_playbook::{Include, Task};
use serde_json::{Map, Value};

use super::item_result::{WHEN_FALSE, hide_output};
use super::loop_items::passes;
use super::task::{HostState, TaskContext};
use crate::events::{Status, TaskResult};

/// One host's place in the play.
#[derive(Debug, Clone, Default)]
pub struct HostFlow {
    /// The index of the next task the host goes through.
    pub pc: usize,
    /// The passes of the includes the host is in, by include id.
    includes: BTreeMap<usize, IncludeRun>,
    /// Failures that failed (or will fail) the host, for
    /// `meta: clear_host_errors`.
    pub failures: usize,
    /// `meta: clear_host_errors` cleared the host's failure: it runs no
    /// more tasks of the play but does not count as failed.
    pub cleared: bool,
}

#[derive(Debug, Clone)]
struct IncludeRun {
    passes: Vec<IncludePass>,
    current: usize,
}

/// One pass of an include on a host.
#[derive(Debug, Clone)]
pub(super) struct IncludePass {
    /// The index of the file in [`Include::files`].
    file: usize,
    /// The loop variables of the pass.
    vars: Map<String, Value>,
}

/// Where the includes of a task list start and end.
#[derive(Debug, Default)]
pub(super) struct IncludeMap {
    /// The index of each include's first task.
    starts: BTreeMap<usize, usize>,
    /// For each task index, the includes whose last task it is, innermost
    /// first.
    ends: Vec<Vec<usize>>,
}

impl IncludeMap {
    pub(super) fn new(tasks: &[&Task]) -> IncludeMap {
        let mut starts = BTreeMap::new();
        let mut last = BTreeMap::new();
        for (index, task) in tasks.iter().enumerate() {
            for part in &task.included {
                starts.entry(part.include).or_insert(index);
                last.insert(part.include, index);
            }
        }
        let ends = tasks
            .iter()
            .enumerate()
            .map(|(index, task)| {
                task.included
                    .iter()
                    .rev()
                    .map(|part| part.include)
                    .filter(|include| last.get(include) == Some(&index))
                    .collect()
            })
            .collect();
        IncludeMap { starts, ends }
    }
}

impl HostFlow {
    /// Whether `task` belongs to the files this host's includes run now.
    pub(super) fn runs(&self, task: &Task) -> bool {
        task.included.iter().all(|part| {
            self.includes
                .get(&part.include)
                .and_then(|run| run.passes.get(run.current))
                .is_some_and(|pass| pass.file == part.file)
        })
    }

    /// The loop variables of the passes `task` runs in, outer first.
    pub(super) fn vars(&self, task: &Task) -> Map<String, Value> {
        let mut vars = Map::new();
        for part in &task.included {
            if let Some(pass) = self
                .includes
                .get(&part.include)
                .and_then(|run| run.passes.get(run.current))
            {
                vars.extend(pass.vars.clone());
            }
        }
        vars
    }

    /// The host reaches task `task`: an include forgets its earlier passes.
    pub(super) fn enter(&mut self, task: &Task) {
        if let Some(include) = &task.include {
            self.includes.remove(&include.id);
        }
    }

    /// After task `index`: the next index, back to an include's start when
    /// it has passes left.
    pub(super) fn advance(&mut self, index: usize, map: &IncludeMap) {
        for include in map.ends.get(index).into_iter().flatten() {
            let Some(run) = self.includes.get_mut(include) else {
                continue;
            };
            if run.current + 1 < run.passes.len() {
                run.current += 1;
                if let Some(start) = map.starts.get(include) {
                    self.pc = *start;
                    return;
                }
            }
            self.includes.remove(include);
        }
        self.pc = index + 1;
    }
}

impl TaskContext<'_> {
    /// Runs the include `task` on `host`: decides its passes. It reports
    /// `ok`, `skipped` when no pass runs (`when` false), or `failed` when a
    /// name renders to none of its files.
    pub(super) fn run_include(
        &self,
        task: &Task,
        include: &Include,
        host: &mut HostState,
    ) -> TaskResult {
        let started = Instant::now();
        let vars = self.vars(task, host);
        let name = self
            .templater
            .render_str(&task.name, &vars)
            .unwrap_or_else(|_| task.name.clone());
        let mut result = TaskResult::new(&host.name, &name);
        match self.include_passes(task, include, &vars) {
            Ok(passes) if passes.is_empty() => {
                result.status = Status::Skipped;
                result.msg = Some(WHEN_FALSE.into());
            }
            Ok(passes) => {
                result.status = Status::Ok;
                host.flow
                    .includes
                    .insert(include.id, IncludeRun { passes, current: 0 });
            }
            Err(msg) => {
                result.status = Status::Failed;
                result.msg = Some(msg);
            }
        }
        if task.no_log {
            hide_output(&mut result);
        }
        result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        result
    }

    fn include_passes(
        &self,
        task: &Task,
        include: &Include,
        vars: &Value,
    ) -> Result<Vec<IncludePass>, String> {
        let mut out = Vec::new();
        for pass in passes(self.templater, self.play, task, vars)? {
            if let Some(when) = &task.when
                && !self
                    .templater
                    .eval_bool(when, &pass.vars)
                    .map_err(|err| err.to_string())?
            {
                continue;
            }
            let name = self
                .templater
                .render_str(&include.file, &pass.vars)
                .map_err(|err| format!("cannot render the file name: {err}"))?;
            let file = include
                .pick(&name)
                .ok_or_else(|| unknown_file(include, &name))?;
            if let Some(why) = include.left_out(file) {
                return Err(format!(
                    "{} was left out of this include when the playbook loaded: {why}",
                    include.files[file].display()
                ));
            }
            let vars = pass.item.map(|item| item.fields).unwrap_or_default();
            out.push(IncludePass { file, vars });
        }
        Ok(out)
    }
}

fn unknown_file(include: &Include, name: &str) -> String {
    let files: Vec<String> = include
        .files
        .iter()
        .map(|file| file.display().to_string())
        .collect();
    format!(
        "the file name {:?} renders to {name:?}, which is not one of the files loaded for this \
         include before the run: {}",
        include.file,
        files.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_playbook::IncludePart;

    fn task(included: &[(usize, usize)]) -> Task {
        let mut task = crate::playbook::loaded_task();
        task.included = included
            .iter()
            .map(|&(include, file)| IncludePart { include, file })
            .collect();
        task
    }

    fn pass(file: usize, item: &str) -> IncludePass {
        let mut vars = Map::new();
        vars.insert("item".into(), Value::String(item.into()));
        IncludePass { file, vars }
    }

    /// Walks `tasks` with include 0 (and 1 nested in it) set to `passes`
    /// whenever the host reaches task `at`; returns (index, item) of each
    /// task the host runs.
    fn walk(tasks: &[Task], starts: &[(usize, usize, Vec<IncludePass>)]) -> Vec<(usize, String)> {
        let refs: Vec<&Task> = tasks.iter().collect();
        let map = IncludeMap::new(&refs);
        let mut flow = HostFlow::default();
        let mut ran = Vec::new();
        while flow.pc < tasks.len() {
            let index = flow.pc;
            for (at, id, passes) in starts {
                if *at == index {
                    flow.includes.insert(
                        *id,
                        IncludeRun {
                            passes: passes.clone(),
                            current: 0,
                        },
                    );
                }
            }
            if flow.runs(&tasks[index]) {
                let item = flow.vars(&tasks[index]).get("item").cloned();
                ran.push((index, item.map(|i| i.to_string()).unwrap_or_default()));
            }
            flow.advance(index, &map);
        }
        ran
    }

    #[test]
    fn each_pass_runs_its_file_then_the_next_pass_starts_over() {
        // 0: the include; 1-2: file 0; 3: file 1; 4: after the include.
        let tasks = [
            task(&[]),
            task(&[(0, 0)]),
            task(&[(0, 0)]),
            task(&[(0, 1)]),
            task(&[]),
        ];
        let passes = vec![pass(0, "a"), pass(1, "b"), pass(0, "c")];
        let ran = walk(&tasks, &[(0, 0, passes)]);
        let shown: Vec<(usize, &str)> = ran.iter().map(|(i, s)| (*i, s.as_str())).collect();
        assert_eq!(
            shown,
            [
                (0, ""),
                (1, "\"a\""),
                (2, "\"a\""),
                (3, "\"b\""),
                (1, "\"c\""),
                (2, "\"c\""),
                (4, "")
            ]
        );
        // No pass: the included tasks never run.
        let ran = walk(&tasks, &[(0, 0, Vec::new())]);
        assert_eq!(ran.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 4]);
    }

    #[test]
    fn a_nested_include_runs_all_its_passes_in_each_outer_pass() {
        // 0: outer include; 1: inner include (in outer file 0); 2: inner
        // file 0; 3: outer file 0 after the inner include.
        let tasks = [
            task(&[]),
            task(&[(0, 0)]),
            task(&[(0, 0), (1, 0)]),
            task(&[(0, 0)]),
        ];
        let outer = vec![pass(0, "x"), pass(0, "y")];
        let inner = vec![pass(0, "1"), pass(0, "2")];
        let ran = walk(&tasks, &[(0, 0, outer), (1, 1, inner)]);
        let shown: Vec<(usize, &str)> = ran.iter().map(|(i, s)| (*i, s.as_str())).collect();
        assert_eq!(
            shown,
            [
                (0, ""),
                (1, "\"x\""),
                (2, "\"1\""),
                (2, "\"2\""),
                (3, "\"x\""),
                (1, "\"y\""),
                (2, "\"1\""),
                (2, "\"2\""),
                (3, "\"y\"")
            ]
        );
    }
}
