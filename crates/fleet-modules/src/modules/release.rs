//! `release`: deploys an application release into the layout
//!
//! ```text
//! <path>/current -> releases/<name>   (switched atomically)
//! <path>/releases/<name>/             (name: host UTC time, YYYYmmdd_HHMMSS)
//! <path>/shared/<p>                   (linked into each release)
//! <path>/venv, <path>/.env, <path>/releases.log
//! ```
//!
//! `present` unpacks a controller tarball into a hidden `.partial` dir,
//! links the shared paths and the env file, runs the pre-switch hooks (pip
//! install, migration), renames the dir, switches `current`, restarts the
//! units, checks health, prunes old releases and logs the deploy.
//! `rollback` switches `current` back; `info` reports the releases;
//! `unlock` breaks a stale deploy lock.
//! A release is identified by its artifact's sha256, recorded in the
//! release's `.fleet-release`: a re-run with the same artifact is `ok`.
//! A deploy and a rollback hold the host's deploy lock (`<path>/.fleet-lock`)
//! while they change it.

use serde_json::{Map, Value, json};

use crate::{Module, ModuleError, Plan, Probe, Step, StepOutput};

#[path = "release_derive.rs"]
mod derive;
#[path = "release_facts.rs"]
mod facts;
#[path = "release_lock.rs"]
mod lock;
#[path = "release_params.rs"]
mod params;
#[path = "release_script.rs"]
mod script;
#[path = "release_slots.rs"]
mod slots;

pub(crate) use derive::DEPLOYER;
use facts::{Facts, parse_log_line, prune, release_key};
use lock::{Guard, Holder};
use params::invalid;
pub use params::{PARAMS, ReleaseParams, ReleaseState, build};

/// The file in each release recording the artifact it came from.
const MARKER_FILE: &str = ".fleet-release";
/// Release log lines reported by `info`.
const LOG_LINES: usize = 10;
/// stderr lines quoted in a failure message.
const FAILURE_TAIL: usize = 40;

/// The artifact of a deploy, read on the controller.
struct Artifact {
    /// The file name, for the log and the diff.
    name: String,
    sha256: String,
    /// A tar stream for the host (`.tar.xz` and `.zip` converted).
    upload: Vec<u8>,
    gzip: bool,
}

impl std::fmt::Debug for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("name", &self.name)
            .field("sha256", &self.sha256)
            .field("bytes", &self.upload.len())
            .finish()
    }
}

#[derive(Debug)]
pub struct Release {
    state: ReleaseState,
    /// Without a trailing `/`.
    root: String,
    to: Option<String>,
    /// `user`, `user:group` or `:group`.
    chown: Option<String>,
    owner: Option<String>,
    shared: Vec<String>,
    env_file: String,
    venv: String,
    requirements: String,
    pip_args: Vec<String>,
    migrate: Option<String>,
    restart: Vec<String>,
    health_urls: Vec<String>,
    /// Blue/green: the api's two slots; `None`: restart in place.
    slots: Option<slots::Slots>,
    health_retries: u32,
    health_delay: u32,
    health_timeout: u32,
    keep_releases: u32,
    log: String,
    /// Seconds to wait for the deploy lock.
    lock_wait: u32,
    /// Seconds after which a held lock is stale.
    lock_ttl: u32,
    force: bool,
    /// `rollback` only a release this fleet process deployed.
    only_own_deploy: bool,
    /// This run, as the deploy lock's owner file names it.
    holder: Holder,
    artifact: Option<Artifact>,
}

fn name_or_null(name: Option<&str>) -> Value {
    name.map_or(Value::Null, |name| Value::String(name.to_string()))
}

/// What a release step may take besides waiting for the lock and health:
/// unpacking, pip installing the requirements, migrations, restarts.
const STEP_BUDGET_SECS: u64 = 900;

impl Module for Release {
    fn probe(&self) -> Option<crate::Script> {
        Some(script::probe(self))
    }

    /// Every step is bounded, so that a hung hook or a lost host fails the
    /// task instead of holding the rollout.
    fn default_timeout(&self) -> Option<std::time::Duration> {
        let per_try: u64 = self
            .health_urls
            .iter()
            .map(|_| u64::from(self.health_timeout))
            .sum();
        let health = match per_try {
            0 => 0,
            _ => u64::from(self.health_retries) * (u64::from(self.health_delay) + per_try),
        };
        Some(std::time::Duration::from_secs(
            STEP_BUDGET_SECS + u64::from(self.lock_wait) + health,
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = Facts::parse(probe)?;
        match (self.state, &self.artifact) {
            (ReleaseState::Present, Some(artifact)) => Ok(self.plan_deploy(&facts, artifact)),
            (ReleaseState::Present, None) => Err(invalid("artifact is required")),
            (ReleaseState::Rollback, _) => self.plan_rollback(&facts),
            (ReleaseState::Info, _) => Ok(self.plan_info(&facts)),
            (ReleaseState::Unlock, _) => lock::plan_unlock(self, &facts),
        }
    }

    /// Explains a refused deploy lock, or names the phase that failed (the
    /// last `fleet-release: <phase>` line on stderr up to the failed step)
    /// and quotes the end of stderr.
    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        let Some(index) = outputs.iter().position(|out| out.rc != 0) else {
            return Ok(());
        };
        let failed = &outputs[index];
        if let Some(refusal) = lock::refusal_in(self, &failed.stderr) {
            return Err(ModuleError::Failed(refusal));
        }
        let phase = outputs[..=index]
            .iter()
            .rev()
            .flat_map(|out| out.stderr.lines().rev())
            .find_map(script::phase_of);
        let lines: Vec<&str> = failed
            .stderr
            .lines()
            .filter(|line| script::phase_of(line).is_none())
            .collect();
        let tail = lines[lines.len().saturating_sub(FAILURE_TAIL)..].join("\n");
        let mut message = match phase {
            Some(phase) => format!("release: {phase} failed (rc={})", failed.rc),
            None => format!("release failed (rc={})", failed.rc),
        };
        if !tail.trim().is_empty() {
            message.push_str(":\n");
            message.push_str(tail.trim_end());
        }
        Err(ModuleError::Failed(message))
    }
}

impl Release {
    /// A change made of `steps` under the deploy lock: taken first (then
    /// `guard` checked), always released after.
    fn locked(&self, guard: Guard<'_>, steps: Vec<Step>) -> Plan {
        let acquire = lock::acquire(self, guard);
        Plan::change(std::iter::once(acquire).chain(steps).collect())
            .with_finally(vec![lock::release(self)])
    }

    fn plan_deploy(&self, facts: &Facts, artifact: &Artifact) -> Plan {
        let current = facts.current.as_deref();
        let data = |release: Option<&str>, previous: Option<&str>, releases: &[String]| {
            let mut data = Map::new();
            data.insert("release".into(), name_or_null(release));
            data.insert("previous".into(), name_or_null(previous));
            data.insert("releases".into(), json!(releases));
            data.insert("artifact_sha256".into(), json!(artifact.sha256));
            data
        };
        let is_current = facts.current_sha256.as_deref() == Some(artifact.sha256.as_str());
        if let (true, Some(current), Some(slots)) = (is_current, current, &self.slots)
            && !slots::serves(slots, facts, current)
        {
            // The artifact is current but no live slot runs it (the host
            // ran the api in place before): it goes live on a slot.
            let steps = script::rollback(self, facts, current, Some(current));
            let mut plan = self
                .locked(Guard::Current(facts.current_link.as_deref()), steps)
                .with_diff(Some(format!("live: {current} on a slot\n")));
            plan.data = data(Some(current), facts.older_than(current), &facts.releases);
            return plan;
        }
        if is_current {
            let previous = current.and_then(|name| facts.older_than(name));
            let mut plan = Plan::unchanged();
            plan.data = data(current, previous, &facts.releases);
            plan.msg = Some(format!(
                "{} is current: {}",
                artifact.name,
                current.unwrap_or("?")
            ));
            return plan;
        }
        let name = facts.new_name();
        let mut after = facts.releases.clone();
        after.push(name.clone());
        after.sort_by(|a, b| release_key(a).cmp(&release_key(b)));
        let pruned = prune(&after, self.keep_releases, &[Some(&name), current]);
        after.retain(|release| !pruned.contains(release));
        let mut diff = format!(
            "current: {} -> {name} ({})\n",
            current.unwrap_or("none"),
            artifact.name
        );
        for release in &pruned {
            diff.push_str(&format!("remove: releases/{release}\n"));
        }
        let steps = script::deploy(self, facts, artifact, &name, current, &pruned);
        let mut plan = self
            .locked(Guard::NewRelease(&name), steps)
            .with_diff(Some(diff));
        plan.data = data(Some(&name), current, &after);
        plan
    }

    fn plan_rollback(&self, facts: &Facts) -> Result<Plan, ModuleError> {
        let current = facts.current.as_deref();
        let target = match (&self.to, current) {
            (Some(to), _) => {
                if !facts.releases.contains(to) {
                    return Err(ModuleError::Failed(format!(
                        "release {to} does not exist in {}/releases (releases: {})",
                        self.root,
                        listed(&facts.releases)
                    )));
                }
                to.as_str()
            }
            (None, None) => {
                return Err(ModuleError::Failed(format!(
                    "no current release in {} to roll back from",
                    self.root
                )));
            }
            (None, Some(current)) => facts.older_than(current).ok_or_else(|| {
                ModuleError::Failed(format!(
                    "no release older than {current} to roll back to (releases: {})",
                    listed(&facts.releases)
                ))
            })?,
        };
        let serves_target = self
            .slots
            .as_ref()
            .is_none_or(|slots| slots::serves(slots, facts, target));
        let mut plan = if current == Some(target) && serves_target {
            let mut plan = Plan::unchanged();
            plan.msg = Some(format!("{target} is current"));
            plan.data
                .insert("previous".into(), name_or_null(facts.older_than(target)));
            plan
        } else if self.only_own_deploy && !self.deployed_current(facts) {
            let mut plan = Plan::unchanged();
            plan.msg = Some(format!(
                "{} was not deployed by this run: not rolled back",
                current.unwrap_or("the current release")
            ));
            plan.data.insert("previous".into(), Value::Null);
            plan.data.insert("release".into(), name_or_null(current));
            return Ok(plan);
        } else {
            let steps = script::rollback(self, facts, target, current);
            let guard = Guard::Current(facts.current_link.as_deref());
            let mut plan = self.locked(guard, steps).with_diff(Some(format!(
                "current: {} -> {target}\n",
                current.unwrap_or("none")
            )));
            plan.data.insert("previous".into(), name_or_null(current));
            plan
        };
        plan.data
            .insert("release".into(), Value::String(target.to_string()));
        Ok(plan)
    }

    /// Whether this fleet process deployed the current release, as its
    /// `.fleet-release` records.
    fn deployed_current(&self, facts: &Facts) -> bool {
        facts.current_pid == Some(self.holder.pid)
            && facts.current_by.as_deref() == Some(self.holder.operator.as_str())
    }

    fn plan_info(&self, facts: &Facts) -> Plan {
        let current = facts.current.as_deref();
        let previous = current.and_then(|name| facts.older_than(name));
        let log: Vec<Value> = facts.log.iter().map(|line| parse_log_line(line)).collect();
        let mut summary = match current {
            Some(name) => {
                let artifact = facts
                    .current_artifact
                    .as_deref()
                    .map(|artifact| format!(" ({artifact})"))
                    .unwrap_or_default();
                format!("current {name}{artifact}")
            }
            None => "no current release".to_string(),
        };
        if let Some(previous) = previous {
            summary.push_str(&format!(", previous {previous}"));
        }
        let count = facts.releases.len();
        let plural = if count == 1 { "" } else { "s" };
        summary.push_str(&format!("; {count} release{plural}"));
        if let Some(held) = &facts.lock {
            summary.push_str(&format!(
                "; deploy lock held by {}",
                held.describe_with_age(facts.now_epoch, self.lock_ttl)
            ));
        }
        if let Some(slots) = &self.slots {
            summary.push_str(&format!("; {}", slots::describe(slots, facts)));
        }
        let mut plan = Plan::unchanged();
        plan.msg = Some(summary);
        plan.data.insert("current".into(), name_or_null(current));
        plan.data.insert("previous".into(), name_or_null(previous));
        plan.data.insert("releases".into(), json!(facts.releases));
        plan.data.insert("log".into(), Value::Array(log));
        if let Some(slots) = &self.slots {
            plan.data
                .insert("slots".into(), slots::to_json(slots, facts));
        }
        plan.data.insert(
            "lock".into(),
            facts.lock.as_ref().map_or(Value::Null, |held| {
                held.to_json(facts.now_epoch, self.lock_ttl)
            }),
        );
        plan
    }
}

fn listed(releases: &[String]) -> String {
    if releases.is_empty() {
        "none".into()
    } else {
        releases.join(", ")
    }
}

#[cfg(test)]
#[path = "release_lock_tests.rs"]
mod lock_tests;
#[cfg(test)]
#[path = "release_run_tests.rs"]
mod run_tests;
#[cfg(test)]
#[path = "release_slots_tests.rs"]
mod slots_tests;
#[cfg(test)]
#[path = "release_state_tests.rs"]
mod state_tests;
#[cfg(test)]
#[path = "release_tests.rs"]
mod tests;
