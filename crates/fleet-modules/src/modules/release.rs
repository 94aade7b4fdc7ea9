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
//! `rollback` switches `current` back; `info` reports the releases.
//! A release is identified by its artifact's sha256, recorded in the
//! release's `.fleet-release`: a re-run with the same artifact is `ok`.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::apt::StringList;
use crate::modules::archive;
use crate::modules::content_file::sha256_hex;
use crate::{Controller, Module, ModuleError, Plan, Probe, StepOutput, parse_params};

#[path = "release_facts.rs"]
mod facts;
#[path = "release_script.rs"]
mod script;

use facts::{Facts, parse_log_line, prune, release_key};

pub const PARAMS: &[&str] = &[
    "path",
    "state",
    "artifact",
    "to",
    "owner",
    "group",
    "shared",
    "env_file",
    "venv",
    "requirements",
    "pip_args",
    "migrate",
    "restart",
    "health_urls",
    "health_retries",
    "health_delay",
    "health_timeout",
    "keep_releases",
    "log",
];

/// The file in each release recording the artifact it came from.
const MARKER_FILE: &str = ".fleet-release";
/// Release log lines reported by `info`.
const LOG_LINES: usize = 10;
/// stderr lines quoted in a failure message.
const FAILURE_TAIL: usize = 40;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseParams {
    /// The application root, e.g. `/opt/myapp`.
    pub path: String,
    #[serde(default)]
    pub state: ReleaseState,
    /// A tarball on the controller (`present`).
    pub artifact: Option<String>,
    /// The release `rollback` switches to; default the previous one.
    pub to: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Paths under `<path>/shared/` linked into each release.
    pub shared: Option<StringList>,
    pub env_file: Option<String>,
    pub venv: Option<String>,
    /// Relative to the release.
    #[serde(default = "default_requirements")]
    pub requirements: String,
    #[serde(default)]
    pub pip_args: Vec<String>,
    /// A shell command run in the new release before the switch.
    pub migrate: Option<String>,
    /// systemd units restarted after the switch, when enabled.
    pub restart: Option<StringList>,
    #[serde(default = "default_health_urls")]
    pub health_urls: Vec<String>,
    #[serde(default = "default_health_retries", deserialize_with = "count")]
    pub health_retries: u32,
    /// Seconds between tries.
    #[serde(default = "default_health_delay", deserialize_with = "count")]
    pub health_delay: u32,
    /// Seconds per request.
    #[serde(default = "default_health_timeout", deserialize_with = "count")]
    pub health_timeout: u32,
    #[serde(default = "default_keep_releases", deserialize_with = "count")]
    pub keep_releases: u32,
    pub log: Option<String>,
}

fn default_requirements() -> String {
    "requirements.txt".into()
}

fn default_health_urls() -> Vec<String> {
    vec![
        "http://127.0.0.1:8000/health".into(),
        "http://127.0.0.1:8000/health/ready".into(),
    ]
}

fn default_health_retries() -> u32 {
    30
}

fn default_health_delay() -> u32 {
    1
}

fn default_health_timeout() -> u32 {
    5
}

fn default_keep_releases() -> u32 {
    5
}

/// A count written as a number or, as `-e key=3` gives it, a string.
fn count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| serde::de::Error::custom("expected a whole number"))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseState {
    #[default]
    Present,
    Rollback,
    Info,
}

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
    health_retries: u32,
    health_delay: u32,
    health_timeout: u32,
    keep_releases: u32,
    log: String,
    operator: String,
    artifact: Option<Artifact>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "release".into(),
        message: message.into(),
    }
}

fn check_absolute(name: &str, path: &str) -> Result<(), ModuleError> {
    if !path.starts_with('/') || path.contains('\n') {
        return Err(invalid(format!(
            "{name} must be an absolute path, got {path:?}"
        )));
    }
    Ok(())
}

/// A path inside a release: relative, without `.` or `..` components.
fn check_relative(name: &str, path: &str) -> Result<(), ModuleError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\n')
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(invalid(format!(
            "{name} must be a relative path inside the release, got {path:?}"
        )));
    }
    Ok(())
}

fn check_word(name: &str, word: &str) -> Result<(), ModuleError> {
    if word.is_empty() || word.starts_with('-') || word.contains(['/', ':', '\n', '\t']) {
        return Err(invalid(format!("invalid {name} {word:?}")));
    }
    Ok(())
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: ReleaseParams = parse_params("release", params)?;
    check_absolute("path", &params.path)?;
    let root = params.path.trim_end_matches('/').to_string();
    if root.is_empty() {
        return Err(invalid("path must not be /"));
    }
    let shared = match &params.shared {
        Some(list) => list.to_vec(),
        None => vec!["logs".into(), "uploads".into()],
    };
    for path in &shared {
        check_relative("shared", path)?;
        if path == MARKER_FILE || path == ".env" {
            return Err(invalid(format!("shared cannot hold {path}")));
        }
    }
    check_relative("requirements", &params.requirements)?;
    let env_file = params.env_file.unwrap_or_else(|| format!("{root}/.env"));
    let venv = params.venv.unwrap_or_else(|| format!("{root}/venv"));
    let log = params.log.unwrap_or_else(|| format!("{root}/releases.log"));
    for (name, path) in [("env_file", &env_file), ("venv", &venv), ("log", &log)] {
        check_absolute(name, path)?;
    }
    if let Some(owner) = &params.owner {
        check_word("owner", owner)?;
    }
    if let Some(group) = &params.group {
        check_word("group", group)?;
    }
    let chown = match (&params.owner, &params.group) {
        (Some(owner), Some(group)) => Some(format!("{owner}:{group}")),
        (Some(owner), None) => Some(owner.clone()),
        (None, Some(group)) => Some(format!(":{group}")),
        (None, None) => None,
    };
    let restart = params
        .restart
        .as_ref()
        .map_or_else(Vec::new, StringList::to_vec);
    for unit in &restart {
        check_word("unit", unit)?;
    }
    if let Some(url) = params
        .health_urls
        .iter()
        .find(|url| url.is_empty() || url.starts_with('-') || url.contains('\n'))
    {
        return Err(invalid(format!("invalid health URL {url:?}")));
    }
    if params.health_retries == 0 {
        return Err(invalid("health_retries must be at least 1"));
    }
    if params.health_timeout == 0 {
        return Err(invalid("health_timeout must be at least 1"));
    }
    if params.keep_releases == 0 {
        return Err(invalid("keep_releases must be at least 1"));
    }
    if let Some(to) = &params.to
        && release_key(to).is_none()
    {
        return Err(invalid(format!(
            "to must be a release name such as 20260301_120000, got {to:?}"
        )));
    }
    if params
        .migrate
        .as_deref()
        .is_some_and(|cmd| cmd.trim().is_empty())
    {
        return Err(invalid("migrate is empty"));
    }
    let artifact = match (params.state, &params.artifact) {
        (ReleaseState::Present, None) => {
            return Err(invalid("artifact is required with state present"));
        }
        (ReleaseState::Present, Some(src)) => Some(read_artifact(src, controller)?),
        _ => None,
    };
    Ok(Box::new(Release {
        state: params.state,
        root,
        to: params.to,
        chown,
        owner: params.owner,
        shared,
        env_file,
        venv,
        requirements: params.requirements,
        pip_args: params.pip_args,
        migrate: params.migrate,
        restart,
        health_urls: params.health_urls,
        health_retries: params.health_retries,
        health_delay: params.health_delay,
        health_timeout: params.health_timeout,
        keep_releases: params.keep_releases,
        log,
        operator: controller.operator(),
        artifact,
    }))
}

fn read_artifact(src: &str, controller: &dyn Controller) -> Result<Artifact, ModuleError> {
    if src.is_empty() {
        return Err(invalid("artifact is empty"));
    }
    let bytes = controller.read_file(src)?;
    let sha256 = sha256_hex(&bytes);
    let archive =
        archive::read(bytes).map_err(|err| ModuleError::Failed(format!("{src}: {err}")))?;
    let name = src
        .rsplit('/')
        .next()
        .unwrap_or(src)
        .replace(['\n', '\t', '\r'], " ");
    Ok(Artifact {
        name,
        sha256,
        upload: archive.upload,
        gzip: archive.gzip,
    })
}

fn name_or_null(name: Option<&str>) -> Value {
    name.map_or(Value::Null, |name| Value::String(name.to_string()))
}

impl Module for Release {
    fn probe(&self) -> Option<String> {
        Some(script::probe(self))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = Facts::parse(probe)?;
        match (self.state, &self.artifact) {
            (ReleaseState::Present, Some(artifact)) => Ok(self.plan_deploy(&facts, artifact)),
            (ReleaseState::Present, None) => Err(invalid("artifact is required")),
            (ReleaseState::Rollback, _) => self.plan_rollback(&facts),
            (ReleaseState::Info, _) => Ok(self.plan_info(&facts)),
        }
    }

    /// Names the phase that failed (the last `fleet-release: <phase>` line
    /// on stderr) and quotes the end of stderr.
    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        let Some(failed) = outputs.iter().find(|out| out.rc != 0) else {
            return Ok(());
        };
        let phase = outputs
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
        if facts.current_sha256.as_deref() == Some(artifact.sha256.as_str()) {
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
        let steps = script::deploy(self, artifact, &name, current, &pruned);
        let mut plan = Plan::change(steps).with_diff(Some(diff));
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
        let mut plan = if current == Some(target) {
            let mut plan = Plan::unchanged();
            plan.msg = Some(format!("{target} is current"));
            plan.data
                .insert("previous".into(), name_or_null(facts.older_than(target)));
            plan
        } else {
            let mut plan = Plan::change(script::rollback(self, target, current)).with_diff(Some(
                format!("current: {} -> {target}\n", current.unwrap_or("none")),
            ));
            plan.data.insert("previous".into(), name_or_null(current));
            plan
        };
        plan.data
            .insert("release".into(), Value::String(target.to_string()));
        Ok(plan)
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
        let mut plan = Plan::unchanged();
        plan.msg = Some(summary);
        plan.data.insert("current".into(), name_or_null(current));
        plan.data.insert("previous".into(), name_or_null(previous));
        plan.data.insert("releases".into(), json!(facts.releases));
        plan.data.insert("log".into(), Value::Array(log));
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
#[path = "release_state_tests.rs"]
mod state_tests;
#[cfg(test)]
#[path = "release_tests.rs"]
mod tests;
