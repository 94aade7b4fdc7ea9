//! One task on one host: `when`, `loop`, templating, the module run with
//! `retries`/`until`, then `changed_when`, `failed_when` and `register`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fleet_inventory::Host;
use fleet_modules::{Module, ModuleError, Probe};
use fleet_playbook::{Play, Task, Templater};
use fleet_ssh::Secret;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

/// The modules besides `setup` whose `ansible_facts` join the host's facts
/// (others' set plain variables, as `set_fact` does).
const GATHERS_FACTS: &[&str] = &["package_facts", "service_facts", "hostname"];

use super::controller::PlayController;
use super::delegate::Delegates;
use super::item_result::{ItemResult, WHEN_FALSE, hide_output, summarize};
use super::loop_items::{LoopItem, passes};
use super::magic::Shared;
use super::pause::pause;
use super::place::{Place, fact_host};
use tokio::sync::mpsc::UnboundedSender;

use crate::connection::Connection;
use crate::events::{CommandTrace, Event, Status, TaskResult};
use crate::module_run::{
    ModuleOutcome, RunContext, probe_many, run_module, run_probed, run_probed_many,
};

/// Settings of the whole run that every task sees.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub check: bool,
    pub diff: bool,
    /// Run only tasks with one of these tags (empty: all tasks).
    pub tags: Vec<String>,
    /// Then leave out tasks with one of these tags (see
    /// [`TagFilter`](super::TagFilter)).
    pub skip_tags: Vec<String>,
    pub extra_vars: Map<String, Value>,
    pub become_password: Option<Secret>,
    /// Every inventory group's host names: the `groups` var.
    pub groups: Map<String, Value>,
    /// How many `-v` were given: `debug` with a higher `verbosity` is
    /// skipped.
    pub verbosity: u8,
    /// Whether fleet's input is a terminal, where the operator can answer
    /// a `pause` prompt.
    pub interactive: bool,
    /// Report each command before it runs ([`Event::Command`], `-vvv`),
    /// except for `no_log` tasks.
    pub show_commands: bool,
    /// Every inventory host, whatever `-l` selected: where tasks may be
    /// delegated, and `hostvars`.
    pub inventory: Vec<Host>,
    /// The inventory file: `inventory_file` and `inventory_dir`.
    pub inventory_file: Option<String>,
}

/// What one host carries from task to task within a run.
pub struct HostState {
    pub name: String,
    pub inventory_vars: Map<String, Value>,
    pub inventory_become: bool,
    pub groups: Vec<String>,
    /// The host's own connection (SSH, or local for `connection: local`).
    pub connection: Connection,
    pub registered: Map<String, Value>,
    /// The result of the host's last task, as `register` would store it:
    /// `ansible_failed_result` when that task failed in a block.
    pub last_result: Value,
    /// What `setup` gathered, keys without the `ansible_` prefix (as in
    /// `ansible_facts`); `None` before any gathering.
    pub facts: Option<Map<String, Value>>,
    /// Handlers notified on this host, in notification order.
    pub notified: Vec<String>,
    pub failed: bool,
    /// Set by `meta: end_host` (and `end_batch`, `end_play`): no more
    /// tasks, without failing.
    pub ended: bool,
    /// How the blocks of the play stand on this host.
    pub blocks: super::blocks::HostBlocks,
    /// Where the host is in the play, and in its dynamic includes.
    pub flow: super::flow::HostFlow,
    /// The variables `include_vars` set: over task vars, under registered
    /// results, as in Ansible.
    pub included_vars: Map<String, Value>,
    /// Facts a task delegated with `delegate_facts` set, for the host it
    /// was delegated to (by name), not yet handed over.
    pub delegated_facts: Vec<(String, Map<String, Value>)>,
}

impl HostState {
    /// Whether the host goes on to its next task.
    pub fn active(&self) -> bool {
        !self.failed && !self.ended
    }

    /// Keeps a failed task and its result as `ansible_failed_task` and
    /// `ansible_failed_result`, for the rescue that may handle it.
    pub fn keep_failure(&mut self, task: &Task, result: &TaskResult) {
        let failed_result = match &self.last_result {
            Value::Object(found) if found.get("failed") == Some(&Value::Bool(true)) => {
                self.last_result.clone()
            }
            _ => json!({
                "failed": true,
                "changed": false,
                "msg": result.msg,
                "rc": result.rc,
                "stdout": result.stdout,
                "stderr": result.stderr,
            }),
        };
        self.registered.insert(
            "ansible_failed_task".into(),
            json!({"name": result.task, "action": task.module}),
        );
        self.registered
            .insert("ansible_failed_result".into(), failed_result);
    }
}

pub struct TaskContext<'a> {
    pub play: &'a Play,
    /// The hosts of the current batch.
    pub play_hosts: &'a [String],
    /// Every host of the play.
    pub play_hosts_all: &'a [String],
    /// Which hosts failed, and every host's facts and results for
    /// `hostvars`.
    pub shared: &'a Shared,
    /// The origins of the play's tasks that read `hostvars`.
    pub hostvars_tasks: &'a BTreeSet<String>,
    pub templater: &'a Templater,
    pub options: &'a ApplyOptions,
    /// The connections of the hosts tasks are delegated to.
    pub delegates: &'a Delegates,
    /// Cut short waits (`loop_control.pause`) when the run is interrupted.
    pub cancel: &'a CancellationToken,
    /// Where commands are reported before they run, with `show_commands`.
    pub commands: Option<&'a UnboundedSender<Event>>,
}

impl TaskContext<'_> {
    /// Runs `task` on `host` and returns its result; registers and notifies.
    pub async fn run(&self, task: &Task, host: &mut HostState) -> TaskResult {
        if let Some(include) = &task.include {
            return self.run_include(task, include, host);
        }
        let started = Instant::now();
        let vars = self.vars(task, host);
        let task_name = self
            .templater
            .render_str(&task.name, &vars)
            .unwrap_or_else(|_| task.name.clone());
        let mut result = TaskResult::new(&host.name, &task_name);
        let outcome = self.run_items(task, host, vars).await;
        let (registered, status) = match outcome {
            Ok(items) => {
                let mut delegated: Vec<String> = Vec::new();
                for item in &items {
                    let facts = item.facts();
                    match &item.delegated_to {
                        Some(target) if task.delegate_facts && !facts.is_empty() => {
                            host.delegated_facts.push((fact_host(target), facts));
                        }
                        _ if task.module == "setup" => super::facts::merge(&mut host.facts, &facts),
                        // Also plain variables, as Ansible injects them.
                        _ if GATHERS_FACTS.contains(&task.module.as_str()) => {
                            super::facts::merge(&mut host.facts, &facts);
                            host.registered.extend(facts);
                        }
                        _ if task.module == "include_vars" => host.included_vars.extend(facts),
                        _ => host.registered.extend(facts),
                    }
                    if let Some(target) = item
                        .delegated_to
                        .as_ref()
                        .filter(|target| !delegated.contains(target))
                    {
                        delegated.push(target.clone());
                    }
                }
                result.delegated_to = (!delegated.is_empty()).then(|| delegated.join(", "));
                summarize(items, &mut result)
            }
            Err(msg) => {
                result.msg = Some(msg.clone());
                (
                    json!({"failed": true, "changed": false, "msg": msg}),
                    Status::Failed,
                )
            }
        };
        result.status = status;
        let mut registered = registered;
        if let Value::Object(map) = &mut registered {
            // Seconds the task took, like the `delta` of Ansible's commands.
            map.insert("elapsed".into(), json!(started.elapsed().as_secs_f64()));
        }
        if let Some(name) = &task.register {
            host.registered.insert(name.clone(), registered.clone());
        }
        host.last_result = registered;
        if status == Status::Changed {
            for handler in &task.notify {
                if !host.notified.contains(handler) {
                    host.notified.push(handler.clone());
                }
            }
        }
        // Diffs are kept with `--diff` (always with `fleet check`), or when
        // the task's `diff:` says so.
        if !task.diff.unwrap_or(self.options.diff) {
            result.diff = None;
        }
        if task.no_log {
            hide_output(&mut result);
        }
        result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        result
    }

    /// The task once per loop item (once when there is no loop).
    async fn run_items(
        &self,
        task: &Task,
        host: &HostState,
        vars: Value,
    ) -> Result<Vec<ItemResult>, String> {
        let passes = passes(self.templater, self.play, task, &vars)?;
        let mut todo = Vec::with_capacity(passes.len());
        for pass in passes {
            let (item, vars) = (pass.item, pass.vars);
            let wanted = match &task.when {
                Some(when) => self
                    .templater
                    .eval_bool(when, &vars)
                    .map_err(|e| e.to_string())?,
                None => true,
            };
            todo.push((item, vars, wanted));
        }
        let batch = self.probe_items(task, host, &todo).await;
        if let Some((prepared, probes)) = &batch {
            let targets: Option<Vec<&str>> = prepared.iter().map(|p| p.module.target()).collect();
            if targets.is_some_and(|targets| fleet_modules::unrelated_paths(&targets)) {
                let modules: Vec<&dyn Module> =
                    prepared.iter().map(|p| p.module.as_ref()).collect();
                let place = &prepared[0].place;
                let outcomes =
                    run_probed_many(&place.connection, &modules, probes, &prepared[0].ctx).await;
                return self.collect_items(task, todo, outcomes, place.delegated_to.as_ref());
            }
        }
        let (mut built, mut probes) = match batch {
            Some((prepared, probes)) => (prepared.into_iter(), probes.into_iter()),
            None => (Vec::new().into_iter(), Vec::new().into_iter()),
        };
        let mut results = Vec::with_capacity(todo.len());
        let pause = task.loop_control.pause.filter(|seconds| *seconds > 0.0);
        for (index, (item, vars, wanted)) in todo.into_iter().enumerate() {
            if let Some(seconds) = pause.filter(|_| index > 0) {
                self.wait(seconds).await;
            }
            if !wanted {
                results.push(ItemResult::skipped(item, WHEN_FALSE));
                continue;
            }
            let prepared = match built.next() {
                Some(prepared) => prepared,
                None => self.prepare(task, host, &vars)?,
            };
            let probe = probes.next();
            results.push(self.run_item(task, &vars, item, &prepared, probe).await?);
            if results
                .last()
                .is_some_and(|r: &ItemResult| r.outcome.status != Status::Ok)
            {
                // A change may alter what later items find: probe them afresh.
                probes = Vec::new().into_iter();
            }
        }
        Ok(results)
    }

    /// Pairs batched outcomes with their items (skipped ones stay skipped)
    /// and applies `changed_when`/`failed_when`.
    fn collect_items(
        &self,
        task: &Task,
        todo: Vec<(Option<LoopItem>, Value, bool)>,
        outcomes: Vec<ModuleOutcome>,
        delegated_to: Option<&String>,
    ) -> Result<Vec<ItemResult>, String> {
        let mut outcomes = outcomes.into_iter();
        let mut results = Vec::with_capacity(todo.len());
        for (item, vars, wanted) in todo {
            match wanted.then(|| outcomes.next()).flatten() {
                Some(outcome) => {
                    let mut result = ItemResult::from_outcome(outcome, item);
                    result.delegated_to = delegated_to.cloned();
                    self.apply_overrides(task, &vars, &mut result)?;
                    results.push(result);
                }
                None => results.push(ItemResult::skipped(item, WHEN_FALSE)),
            }
        }
        Ok(results)
    }

    /// For a loop, every item's probe in one round trip, with the items'
    /// modules; `None` when no batch applies (fewer than two items,
    /// retries, or an error: each item then probes by itself).
    async fn probe_items(
        &self,
        task: &Task,
        host: &HostState,
        todo: &[(Option<LoopItem>, Value, bool)],
    ) -> Option<(Vec<Prepared>, Vec<Probe>)> {
        let wanted: Vec<&Value> = todo
            .iter()
            .filter(|(_, _, wanted)| *wanted)
            .map(|(_, vars, _)| vars)
            .collect();
        let paused = task.loop_control.pause.is_some_and(|seconds| seconds > 0.0);
        if wanted.len() < 2 || task.retries.is_some() || task.until.is_some() || paused {
            return None;
        }
        let prepared = wanted
            .iter()
            .map(|vars| self.prepare(task, host, vars))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        // One round trip reaches one host: items delegated to different
        // hosts probe one by one.
        let place = &prepared[0].place;
        if prepared
            .iter()
            .any(|p| p.place.delegated_to != place.delegated_to)
        {
            return None;
        }
        let modules: Vec<&dyn Module> = prepared.iter().map(|p| p.module.as_ref()).collect();
        let probes = probe_many(&place.connection, &modules, &prepared[0].ctx)
            .await
            .ok()?;
        Some((prepared, probes))
    }

    /// The task's params rendered with `vars`, except those the module
    /// evaluates itself (`debug`'s `var`, `assert`'s `that`).
    fn render_params(&self, task: &Task, vars: &Value) -> Result<Value, String> {
        let raw = fleet_modules::expression_params(&task.module);
        let (Value::Object(params), false) = (&task.params, raw.is_empty()) else {
            return self
                .templater
                .render_value(&task.params, vars)
                .map_err(|e| e.to_string());
        };
        let mut rendered = Map::new();
        for (key, value) in params {
            if raw.contains(&key.as_str()) {
                rendered.insert(key.clone(), value.clone());
                continue;
            }
            let value = self
                .templater
                .render_value(value, vars)
                .map_err(|e| e.to_string())?;
            if value.as_str() != Some(fleet_playbook::OMIT) {
                rendered.insert(key.clone(), value);
            }
        }
        Ok(Value::Object(rendered))
    }

    /// Renders the params for one item and builds its module.
    fn prepare(&self, task: &Task, host: &HostState, vars: &Value) -> Result<Prepared, String> {
        let place = self.place(task, host, vars)?;
        let params = self.render_params(task, vars)?;
        let controller = PlayController {
            play: self.play,
            origin: &task.origin,
            role_dir: task.role_dir.as_deref(),
            templater: self.templater,
            vars,
        };
        let module = fleet_modules::build(&task.module, params, &controller)
            .map_err(|e: ModuleError| e.to_string())?;
        let environment = task
            .environment
            .iter()
            .map(|(key, value)| {
                Ok((
                    key.clone(),
                    self.templater
                        .render_str(value, vars)
                        .map_err(|e| e.to_string())?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let ctx = RunContext {
            r#become: self.r#become(task, place.inventory_become, &place.become_vars),
            check: task.check_mode.unwrap_or(self.options.check),
            timeout: task
                .timeout
                .map(Duration::from_secs_f64)
                .or_else(|| module.default_timeout()),
            environment,
            trace: self
                .commands
                .filter(|_| !task.no_log)
                .map(|events| CommandTrace {
                    host: host.name.clone(),
                    events: events.clone(),
                }),
        };
        Ok(Prepared { module, ctx, place })
    }

    /// Runs one prepared item, retrying per `retries`/`until`. `probe` is a
    /// batched probe for the first attempt, if one was taken.
    async fn run_item(
        &self,
        task: &Task,
        vars: &Value,
        item: Option<LoopItem>,
        prepared: &Prepared,
        mut probe: Option<Probe>,
    ) -> Result<ItemResult, String> {
        let (module, ctx) = (prepared.module.as_ref(), &prepared.ctx);
        let delegated_to = prepared.place.delegated_to.clone();
        if module.verbosity() > self.options.verbosity {
            return Ok(ItemResult::skipped(
                item,
                "skipped: verbosity threshold not met",
            ));
        }
        if let Some(wait) = module.controller_wait() {
            let name = self
                .templater
                .render_str(&task.name, vars)
                .unwrap_or_else(|_| task.name.clone());
            let outcome = pause(wait, &name, self.options.interactive, self.cancel).await;
            let mut paused = ItemResult::from_outcome(outcome, item);
            paused.delegated_to = delegated_to;
            self.apply_overrides(task, vars, &mut paused)?;
            return Ok(paused);
        }
        let attempts = task.retries.map_or(1, |retries| retries + 1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let connection = &prepared.place.connection;
            let outcome = match probe.take() {
                Some(probe) => run_probed(connection, module, &probe, ctx).await,
                None => run_module(connection, module, ctx).await,
            };
            let mut item_result = ItemResult::from_outcome(outcome, item.clone());
            item_result.delegated_to.clone_from(&delegated_to);
            if attempts > 1 {
                // As in Ansible, a task that may retry registers its tries.
                item_result
                    .outcome
                    .data
                    .insert("attempts".into(), json!(attempt));
            }
            let done = match &task.until {
                Some(until) => self.eval_with_result(until, task, vars, &item_result)?,
                None => task.retries.is_none() || item_result.outcome.status != Status::Failed,
            };
            if done
                || attempt >= attempts
                || matches!(item_result.outcome.status, Status::Unreachable)
            {
                if !done && task.until.is_some() {
                    item_result.outcome.status = Status::Failed;
                    item_result.outcome.msg =
                        Some(format!("`until` still false after {attempt} attempts"));
                }
                self.apply_overrides(task, vars, &mut item_result)?;
                return Ok(item_result);
            }
            tokio::time::sleep(Duration::from_secs_f64(task.delay.unwrap_or(5.0))).await;
        }
    }

    /// `changed_when` and `failed_when` see the result under the registered
    /// name (and as `result`).
    fn apply_overrides(
        &self,
        task: &Task,
        vars: &Value,
        item: &mut ItemResult,
    ) -> Result<(), String> {
        // As in Ansible, a skipped result (a command in check mode) is not
        // evaluated.
        if matches!(item.outcome.status, Status::Unreachable | Status::Skipped) {
            return Ok(());
        }
        // As in Ansible, `changed_when` is evaluated on a failed result
        // too: it decides the status when `failed_when` clears the failure.
        if let Some(expr) = &task.changed_when {
            item.changed = self.eval_with_result(expr, task, vars, item)?;
        }
        let failed = match &task.failed_when {
            Some(expr) => self.eval_with_result(expr, task, vars, item)?,
            None => item.outcome.status == Status::Failed,
        };
        if failed && item.outcome.status != Status::Failed {
            item.outcome
                .msg
                .get_or_insert_with(|| "failed_when condition met".into());
        }
        item.outcome.status = match (failed, item.changed) {
            (true, _) => Status::Failed,
            (false, true) => Status::Changed,
            (false, false) => Status::Ok,
        };
        Ok(())
    }

    /// Waits `seconds`, or until the run is interrupted.
    async fn wait(&self, seconds: f64) {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs_f64(seconds)) => {}
            () = self.cancel.cancelled() => {}
        }
    }

    fn eval_with_result(
        &self,
        expr: &str,
        task: &Task,
        vars: &Value,
        item: &ItemResult,
    ) -> Result<bool, String> {
        let mut vars = vars.clone();
        if let Value::Object(map) = &mut vars {
            let registered = item.registered();
            if let Some(name) = &task.register {
                map.insert(name.clone(), registered.clone());
            }
            map.insert("result".into(), registered);
        }
        self.templater
            .eval_bool(expr, &vars)
            .map_err(|e| e.to_string())
    }
}

/// What a host that ran `task` for others (`run_once`, `once_per`) gives
/// them: its registered result, and the variables a `set_fact` set, as
/// Ansible gives a `run_once` `set_fact` to every host.
pub fn shared_vars(task: &Task, host: &HostState) -> Vec<(String, Value)> {
    let facts = match (&task.params, task.module.as_str()) {
        // Facts given to the delegated host are not the runner's to share.
        _ if task.delegate_facts => Vec::new(),
        (Value::Object(params), "set_fact") => params
            .keys()
            .filter(|name| *name != "cacheable")
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    task.register
        .iter()
        .cloned()
        .chain(facts)
        .filter_map(|name| Some((name.clone(), host.registered.get(&name)?.clone())))
        .collect()
}

/// A module built for one item, with how and where to run it.
struct Prepared {
    module: Box<dyn Module>,
    ctx: RunContext,
    place: Place,
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
