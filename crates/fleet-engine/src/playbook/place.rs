//! Where one item of a task runs, and as whom: the host's own connection
//! or its delegate's (see [`super::delegate`]), and the become that goes
//! with it.

use fleet_playbook::Task;
use fleet_ssh::{Become, BecomeMethod};
use serde_json::Value;

use super::task::{HostState, TaskContext};
use crate::become_vars::BecomeVars;
use crate::connection::Connection;

impl TaskContext<'_> {
    /// Where `task` runs for `host` with `vars` (one loop item's): over
    /// the host's own connection, or the connection of the host
    /// `delegate_to` renders to.
    pub(super) fn place(
        &self,
        task: &Task,
        host: &HostState,
        vars: &Value,
    ) -> Result<Place, String> {
        let render = |value: &Value| {
            self.templater
                .render_value(value, vars)
                .map_err(|err| err.to_string())
        };
        let Some(template) = &task.delegate_to else {
            let own = vars.as_object().cloned().unwrap_or_default();
            return Ok(Place {
                connection: host.connection.clone(),
                inventory_become: host.inventory_become,
                become_vars: BecomeVars::read(&own, render)?,
                delegated_to: None,
            });
        };
        let name = self
            .templater
            .render_str(template, vars)
            .map_err(|err| format!("cannot render `delegate_to`: {err}"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!(
                "`delegate_to` must render to one host name, got {name:?}"
            ));
        }
        let delegation = self.delegates.to(name, self.play.remote_user.as_deref());
        Ok(Place {
            connection: delegation.connection,
            inventory_become: delegation.inventory_become,
            become_vars: BecomeVars::read(&delegation.vars, render)?,
            delegated_to: Some(delegation.host),
        })
    }

    /// As whom the task runs: the inventory's `become` is the one of the
    /// host the task runs on (`inventory_become`), since the inventory says
    /// how to reach that host; the play's and the task's apply anywhere.
    /// Ansible's become vars (`vars`, see [`BecomeVars`]) win over all of
    /// them, as Ansible's connection vars do.
    pub(super) fn r#become(
        &self,
        task: &Task,
        inventory_become: bool,
        vars: &BecomeVars,
    ) -> Option<Become> {
        let keywords = task
            .r#become
            .unwrap_or(self.play.r#become || inventory_become);
        let method = match fleet_playbook::effective_become(self.play, task) {
            (fleet_playbook::BecomeMethod::Sudo, _) => BecomeMethod::Sudo,
            (fleet_playbook::BecomeMethod::Su, flags) => BecomeMethod::Su {
                flags: flags.map(|flags| flags.words.clone()).unwrap_or_default(),
            },
        };
        vars.wanted(keywords).then(|| {
            vars.over(Become {
                user: task
                    .become_user
                    .clone()
                    .or_else(|| self.play.become_user.clone())
                    .unwrap_or_else(|| "root".into()),
                password: self.options.become_password.clone(),
                method,
            })
        })
    }
}

/// Where one item of a task runs.
pub(super) struct Place {
    pub connection: Connection,
    /// Whether the inventory says to become on that host.
    pub inventory_become: bool,
    /// What Ansible's become vars say for that host.
    pub become_vars: BecomeVars,
    /// The host `delegate_to` named, when the task is delegated.
    pub delegated_to: Option<String>,
}

/// The host whose facts `delegate_facts` sets: the controller is
/// `localhost` under either of its names.
pub(super) fn fact_host(target: &str) -> String {
    match target {
        "127.0.0.1" => "localhost".to_owned(),
        other => other.to_owned(),
    }
}
