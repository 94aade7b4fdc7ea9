//! The vars a task sees on a host, and what renders with them: `when`,
//! the task's name, a `once_per` key.

use std::borrow::Cow;

use fleet_playbook::Task;
use serde_json::{Map, Value};

use super::task::{HostState, TaskContext};

impl TaskContext<'_> {
    /// The host's vars for `task` (with its own `vars`). The magic
    /// variables (`groups`, `ansible_play_hosts`, `hostvars`…) go in
    /// first, so that play vars built on them render.
    pub(super) fn vars(&self, task: &Task, host: &HostState) -> Value {
        let mut magic = Value::Object(Map::new());
        let (play_hosts, play_batch) = (
            self.shared.remaining(self.play_hosts_all),
            self.shared.remaining(self.play_hosts),
        );
        fleet_playbook::add_magic_vars(
            &mut magic,
            &fleet_playbook::MagicVars {
                groups_of_host: &host.groups,
                groups: &self.options.groups,
                play_hosts_all: self.play_hosts_all,
                play_hosts: &play_hosts,
                play_batch: &play_batch,
                play_name: &self.play.name,
                check_mode: self.options.check,
                diff_mode: self.options.diff,
                inventory_file: self.options.inventory_file.as_deref(),
            },
        );
        if let Value::Object(map) = &mut magic
            && self.hostvars_tasks.contains(&task.origin)
        {
            let dir = std::path::absolute(&self.play.dir).unwrap_or_else(|_| self.play.dir.clone());
            map.insert(
                "hostvars".into(),
                self.shared
                    .hostvars(self.options, &dir.display().to_string()),
            );
        }
        let mut base = host.inventory_vars.clone();
        if let Value::Object(magic) = magic {
            base.extend(magic);
        }
        let mut base = base;
        if !task.role_defaults.is_empty() {
            let mut layered = task.role_defaults.clone();
            layered.extend(base);
            base = layered;
        }
        let task_vars = if host.included_vars.is_empty() {
            Cow::Borrowed(&task.vars)
        } else {
            let mut vars = task.vars.clone();
            vars.extend(host.included_vars.clone());
            Cow::Owned(vars)
        };
        // The loop variables of the includes the task is in: like a loop's,
        // never rendered as templates.
        let registered = if task.included.is_empty() {
            Cow::Borrowed(&host.registered)
        } else {
            let mut registered = host.registered.clone();
            registered.extend(host.flow.vars(task));
            Cow::Owned(registered)
        };
        fleet_playbook::task_host_vars(
            &base,
            self.play,
            &task_vars,
            &registered,
            &self.options.extra_vars,
            &host.name,
            host.facts.as_ref(),
        )
    }

    /// Whether `task`'s `when` holds on `host` (false when it cannot be
    /// evaluated).
    pub fn when_holds(&self, task: &Task, host: &HostState) -> bool {
        task.when.as_ref().is_none_or(|when| {
            self.templater
                .eval_bool(when, &self.vars(task, host))
                .unwrap_or(false)
        })
    }

    /// The rendered `once_per` key of `task` on `host`; a key that fails to
    /// render is its own group, so the task runs there and reports the error.
    pub fn render_key(&self, task: &Task, template: &str, host: &HostState) -> String {
        self.templater
            .render_str(template, &self.vars(task, host))
            .unwrap_or_else(|err| format!("{}: {err}", host.name))
    }

    /// The task's name rendered with `host`'s vars (as written when it
    /// cannot be rendered yet).
    pub fn task_name(&self, task: &Task, host: &HostState) -> String {
        self.templater
            .render_str(&task.name, &self.vars(task, host))
            .unwrap_or_else(|_| task.name.clone())
    }
}
