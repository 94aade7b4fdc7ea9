//! Deploy tasks and the tasks fleet derives from them.
//!
//! A module that deploys apps (today only `release`) is asked, through
//! these functions, what a playbook's task of it does and what the tasks
//! fleet runs in its place look like: the health gate of a rolling deploy
//! records each host's release before its batch, rolls a failed batch back
//! and reports the release each host ends on; `fleet releases`,
//! `fleet rollback` and `fleet unlock` run a playbook's deploy tasks as
//! reads, rollbacks and unlocks. The module alone decides which of the
//! task's params a derived task keeps, drops or sets, so that the derived
//! task reaches the app the same way the deploy does (path, units, health
//! checks). Callers never match on a module's name: the registry does.

use serde_json::Value;

use crate::ParamError;
use crate::registry::deployer;

/// What a task of a module that deploys apps does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployRole {
    /// It deploys a release: its play is health-gated, and it is the task
    /// `fleet releases`, `fleet rollback` and `fleet unlock` derive from.
    Deploy,
    /// It reads, rolls back or unlocks what a deploy made, as written.
    Manage,
}

/// A task fleet derives from a deploy task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived<'a> {
    /// Reports which release the host runs; changes nothing.
    Info,
    /// Switches back to `to` (a release name, or a template that renders
    /// to one), else to the release before the current one. With
    /// `only_own_deploy`, only when this fleet process deployed the
    /// current release, so that a run never undoes another run's deploy.
    Rollback {
        to: Option<&'a str>,
        only_own_deploy: bool,
    },
    /// Breaks the host's deploy lock when it is stale; with `force`, any.
    Unlock { force: bool },
}

/// How one module that deploys apps answers the functions of this file.
pub(crate) struct Deployer {
    pub(crate) role: fn(&Value) -> DeployRole,
    pub(crate) derive: fn(&Value, Derived<'_>) -> Value,
    pub(crate) app: fn(&Value) -> Option<&Value>,
    pub(crate) check: fn(Derived<'_>) -> Result<(), String>,
    pub(crate) with_lock_wait: fn(&Value, u32) -> Value,
}

/// What a task of `module` with `params` (as written, maybe templated)
/// does; `None` when `module` deploys nothing.
///
/// For `release`, one rule: the task deploys unless its `state` is
/// written as one of `rollback`, `info` or `unlock`. No `state`,
/// `state: present`, and a templated `state` (known per host only at run
/// time) count as a deploy: such a task may deploy, so its play is
/// health-gated (the gate's derived tasks set their own `state`, and its
/// rollback only undoes a deploy this run made).
pub fn deploy_role(module: &str, params: &Value) -> Option<DeployRole> {
    deployer(module).map(|deployer| (deployer.role)(params))
}

/// Whether the task deploys: [`deploy_role`] is [`DeployRole::Deploy`].
pub fn is_deploy(module: &str, params: &Value) -> bool {
    deploy_role(module, params) == Some(DeployRole::Deploy)
}

/// The params of the task `derived` from a task of `module` with
/// `params`; `None` when `module` deploys nothing. What only a deploy
/// reads (`release`: `artifact`) and what belongs to another derived task
/// (`to`, `force`, `only_own_deploy`) is dropped; everything else (the
/// app's path, units, health checks, lock settings) is kept as written.
pub fn derived_params(module: &str, params: &Value, derived: Derived<'_>) -> Option<Value> {
    deployer(module).map(|deployer| (deployer.derive)(params, derived))
}

/// The param that names the app a task of `module` manages (`release`:
/// `path`), as written: two tasks with the same one manage the same app.
pub fn deployed_app<'p>(module: &str, params: &'p Value) -> Option<&'p Value> {
    deployer(module).and_then(|deployer| (deployer.app)(params))
}

/// Checks what the caller gives a task `derived` from one of `module`'s
/// (`Rollback { to }`: a release name) before any host is contacted; a
/// template is left to the run. `Ok` for a module that deploys nothing.
pub fn check_derived(module: &str, derived: Derived<'_>) -> Result<(), ParamError> {
    let Some(deployer) = deployer(module) else {
        return Ok(());
    };
    (deployer.check)(derived).map_err(|message| ParamError::Invalid {
        module: module.to_string(),
        message,
    })
}

/// Checks `derived` before the playbook is even read (`fleet rollback
/// --to NAME`): it must suit at least one module that deploys apps.
pub fn check_derived_by_any(derived: Derived<'_>) -> Result<(), ParamError> {
    let mut first_refusal = None;
    for (module, deployer) in crate::registry::deployers() {
        match (deployer.check)(derived) {
            Ok(()) => return Ok(()),
            Err(message) => {
                first_refusal.get_or_insert(ParamError::Invalid {
                    module: module.to_string(),
                    message,
                });
            }
        }
    }
    first_refusal.map_or(Ok(()), Err)
}

/// `params` with the module's deploy lock wait set to `seconds`, whatever
/// they say: `fleet apply --lock-wait S` and `fleet rollback --lock-wait S`
/// reach the module this way only. `None` when `module` takes no lock.
pub fn with_lock_wait(module: &str, params: &Value, seconds: u32) -> Option<Value> {
    deployer(module).map(|deployer| (deployer.with_lock_wait)(params, seconds))
}

#[cfg(test)]
#[path = "deploy_tests.rs"]
mod tests;
