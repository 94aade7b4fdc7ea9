//! Built-in modules.
//!
//! A module reads like a pyinfra operation: a pure function from facts to
//! shell commands. Each one is
//! - a `#[serde(deny_unknown_fields)]` params struct,
//! - a [`Module::probe`]: a shell script whose output describes the host's
//!   current state (run in one round trip, also in check mode),
//! - a [`Module::plan`]: facts in, [`Plan`] out: whether anything must change,
//!   the [`Step`]s that change it, and a diff.
//!
//! Nothing here talks to a host; the engine runs the probe and the steps.
//! So every module's logic is unit-tested without one.

mod deploy;
mod error;
mod local_tree;
pub mod modules;
mod plan;
mod registry;
pub mod text;

pub use deploy::{
    DeployRole, Derived, check_derived, check_derived_by_any, deploy_role, deployed_app,
    derived_params, is_deploy, with_lock_wait,
};
pub use error::{ModuleError, ParamError};
pub use fleet_shell::{Arg, Cmd, Raw, Script, Secret, Stdin};
pub use local_tree::{LocalEntry, LocalKind, read_local_tree};
pub use plan::{Applied, Plan, Probe, Step, StepOutput, Wait};
pub use registry::{
    MODULES, build, expression_params, is_module, params_of, takes_any_params, takes_free_form,
    validate,
};

use serde_json::Value;

/// One built-in module, configured for one task on one host.
pub trait Module: std::fmt::Debug + Send + Sync {
    /// A shell script printing the facts this module decides from, or
    /// `None` when it needs none. It must not change the host: it also runs
    /// in check mode.
    fn probe(&self) -> Option<Script>;

    /// Facts in, commands out. `probe` holds the output of [`Module::probe`]
    /// (empty when it returned `None`). An `Err` fails the task.
    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError>;

    /// The one path this module reads and changes, when there is one. Loop
    /// items whose targets are unrelated (none equal to or inside another)
    /// cannot affect each other, so the engine plans them all from one
    /// batched probe and applies them in one round trip.
    fn target(&self) -> Option<&str> {
        None
    }

    /// How long one of this module's commands may run when the task sets
    /// no `timeout:`; `None` is no limit.
    fn default_timeout(&self) -> Option<std::time::Duration> {
        None
    }

    /// The run's verbosity (the count of `-v`) this module's output needs;
    /// below it the task is skipped (`debug`'s `verbosity`).
    fn verbosity(&self) -> u8 {
        0
    }

    /// A wait the engine takes on the controller instead of running
    /// anything on the host (`pause`).
    fn controller_wait(&self) -> Option<&Wait> {
        None
    }

    /// Whether a run that [`Module::outcome`] fails still changed the host.
    /// A command that ran did whatever it did, so Ansible's result says
    /// `changed: true` for it whatever its exit code, and a `failed_when`
    /// that clears the failure leaves it `changed`. Other modules' failed
    /// steps count as no change.
    fn failed_run_changed(&self) -> bool {
        false
    }

    /// Whether check mode skips the module instead of reporting what it
    /// would change: Ansible's `command` and `shell` without `creates` or
    /// `removes`, which cannot tell whether running would change anything.
    fn skipped_in_check_mode(&self) -> bool {
        false
    }

    /// Steps that check mode runs in place of the plan's, for a module
    /// that, as Ansible's does, finds out what it would change by doing it
    /// and undoing it (`postgresql_query`: the queries in a transaction
    /// that is rolled back). Their output goes to [`Module::outcome`] and
    /// [`Module::applied`] as in a real run. `None` (the default): check
    /// mode runs nothing. An `Err` fails the task in check mode.
    fn check_mode_steps(&self) -> Option<Result<Vec<Step>, ModuleError>> {
        None
    }

    /// For a module that learns only by running whether it changed the
    /// host (`get_url`: whether the download differs from the file): the
    /// verdict and more registered values, read from the steps' output
    /// once [`Module::outcome`] accepted it. `None` keeps the plan's.
    fn applied(&self, _outputs: &[StepOutput]) -> Option<Applied> {
        None
    }

    /// Checks what the steps printed once they ran. The default fails the
    /// task when a step exited non-zero.
    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        match outputs.iter().find(|out| out.rc != 0) {
            Some(out) => Err(ModuleError::StepFailed {
                rc: out.rc,
                stderr: out.stderr.trim_end().to_string(),
            }),
            None => Ok(()),
        }
    }
}

/// What a module may ask of the controller while it is being built: files
/// and templates that live next to the playbook.
pub trait Controller {
    /// The bytes of a controller-side file (`copy: src`, `unarchive: src`).
    fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError>;
    /// A controller file or directory tree (`synchronize: src`), read
    /// whole; see [`read_local_tree`].
    /// Where the controller-side file or tree `src` is, as `read_tree`
    /// finds it (for a program that reads it itself, as rsync does).
    fn tree_path(&self, src: &str) -> String {
        src.to_string()
    }
    fn read_tree(&self, src: &str) -> Result<Vec<LocalEntry>, ModuleError> {
        Err(ModuleError::ControllerFile {
            path: src.to_string(),
            reason: "directories cannot be read here".into(),
        })
    }
    /// A template rendered with the host's vars (`template: src`).
    fn render_template(&self, src: &str) -> Result<String, ModuleError>;
    /// [`Controller::render_template`] with `template`'s whitespace
    /// settings: `trim_blocks` (Ansible's default: true) and
    /// `lstrip_blocks` (default: false).
    fn render_template_with(
        &self,
        src: &str,
        _trim_blocks: bool,
        _lstrip_blocks: bool,
    ) -> Result<String, ModuleError> {
        self.render_template(src)
    }
    /// Whether a condition holds (`assert`'s `that`): a bare Jinja
    /// expression, evaluated with the host's vars.
    fn condition(&self, expression: &str) -> Result<bool, ModuleError> {
        Err(ModuleError::Failed(format!(
            "cannot evaluate `{expression}`: no variables here"
        )))
    }
    /// The value of an expression (`debug`'s `var`) with the host's vars;
    /// `None` when it is undefined.
    fn variable(&self, expression: &str) -> Result<Option<Value>, ModuleError> {
        Err(ModuleError::Failed(format!(
            "cannot evaluate `{expression}`: no variables here"
        )))
    }
    /// Where a controller path the task writes (`fetch: dest`) lives.
    fn local_path(&self, path: &str) -> String {
        path.to_string()
    }
    /// Who runs the playbook, as `user@controller-host` (`release` logs it).
    fn operator(&self) -> String {
        local_operator()
    }
    /// The playbook file the task comes from, as given (`release` records
    /// it in its deploy lock); empty when unknown.
    fn playbook(&self) -> String {
        String::new()
    }
    /// The variables of the controller files `include_vars` names. Without
    /// a playbook (validation), none.
    fn read_vars(
        &self,
        _source: &modules::include_vars::VarsSource,
    ) -> Result<modules::include_vars::IncludedVars, ModuleError> {
        Ok(Default::default())
    }
}

/// `$USER` (else `$LOGNAME`, else the name of this process's uid) at the
/// controller's hostname.
fn local_operator() -> String {
    let env = |key: &str| {
        std::env::var(key)
            .ok()
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let user = env("USER")
        .or_else(|| env("LOGNAME"))
        .or_else(user_of_this_process)
        .unwrap_or_else(|| "unknown".into());
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| {
            std::fs::read_to_string(path)
                .ok()
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty())
        })
        .or_else(|| env("HOSTNAME"))
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{host}")
}

/// The name `/etc/passwd` gives this process's real uid (Linux).
fn user_of_this_process() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_string())
    })
}

/// Deserializes rendered params into a module's params struct.
pub fn parse_params<T: serde::de::DeserializeOwned>(
    module: &str,
    params: Value,
) -> Result<T, ModuleError> {
    serde_json::from_value(params).map_err(|err| ModuleError::Params {
        module: module.to_string(),
        message: err.to_string(),
    })
}

/// Whether paths are unrelated: none equals another or lies inside it.
pub fn unrelated_paths(paths: &[&str]) -> bool {
    let trimmed: Vec<&str> = paths
        .iter()
        .map(|path| path.trim_end_matches('/'))
        .collect();
    trimmed.iter().enumerate().all(|(i, a)| {
        trimmed.iter().skip(i + 1).all(|b| {
            let inside = |inner: &str, outer: &str| {
                inner
                    .strip_prefix(outer)
                    .is_some_and(|rest| rest.starts_with('/') || outer.is_empty())
            };
            !a.is_empty() && !b.is_empty() && a != b && !inside(a, b) && !inside(b, a)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::unrelated_paths;

    #[test]
    fn nested_or_equal_paths_are_related() {
        assert!(unrelated_paths(&[
            "/opt/a/releases",
            "/opt/a/shared",
            "/opt/a/logs"
        ]));
        assert!(unrelated_paths(&["/opt/ab", "/opt/a"]));
        assert!(!unrelated_paths(&["/opt/a", "/opt/a/b"]));
        assert!(!unrelated_paths(&["/opt/a/", "/opt/a"]));
        assert!(!unrelated_paths(&["/", "/etc"]));
    }
}
