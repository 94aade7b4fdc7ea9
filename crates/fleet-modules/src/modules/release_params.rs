//! `release`'s parameters: parsing, checks, and building the module.

use serde::Deserialize;
use serde_json::Value;

use super::lock::Holder;
use super::slots::{Slots, SlotsParams};
use super::{Artifact, MARKER_FILE, Release, facts::release_key};
use crate::modules::apt::StringList;
use crate::modules::archive;
use crate::modules::content_file::sha256_hex;
use crate::{Controller, Module, ModuleError, parse_params};

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
    "lock_wait",
    "lock_ttl",
    "force",
    "only_own_deploy",
    "slots",
];

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
    /// With `slots`, each names the slot's port as `{port}`.
    pub health_urls: Option<Vec<String>>,
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
    /// Seconds a deploy or rollback waits for the deploy lock.
    #[serde(default, deserialize_with = "count")]
    pub lock_wait: u32,
    /// Seconds after which a held lock is stale.
    #[serde(default = "default_lock_ttl", deserialize_with = "count")]
    pub lock_ttl: u32,
    /// `unlock`: break the lock even when it is not stale.
    #[serde(default, deserialize_with = "flag")]
    pub force: bool,
    /// `rollback`: only when this fleet process deployed the current
    /// release (the health gate's rollback), so that a run never undoes
    /// another run's deploy.
    #[serde(default, deserialize_with = "flag")]
    pub only_own_deploy: bool,
    /// Blue/green: the api runs as two instances of a template unit, one
    /// per port, and nginx's upstream names the live one.
    pub slots: Option<SlotsParams>,
}

fn default_requirements() -> String {
    "requirements.txt".into()
}

fn default_health_urls(port: &str) -> Vec<String> {
    ["/health", "/health/ready"]
        .iter()
        .map(|path| format!("http://127.0.0.1:{port}{path}"))
        .collect()
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

fn default_lock_ttl() -> u32 {
    3600
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

/// A bool written as one, or as `-e key=true` gives it, a string.
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Bool(flag) => Some(flag),
        Value::String(text) => match text.trim() {
            "true" | "yes" => Some(true),
            "false" | "no" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| serde::de::Error::custom("expected true or false"))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseState {
    #[default]
    Present,
    Rollback,
    Info,
    /// Breaks a stale deploy lock (any, with `force`).
    Unlock,
}

pub(super) fn invalid(message: impl Into<String>) -> ModuleError {
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

/// A word the scripts pass as one argument (a unit name).
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
    for (name, account) in [("owner", &params.owner), ("group", &params.group)] {
        match account {
            Some(account) if !fleet_shell::is_account_name(account) => {
                return Err(invalid(format!("invalid {name} {account:?}")));
            }
            _ => {}
        }
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
    let health_urls = params.health_urls.clone().unwrap_or_else(|| {
        let port = if params.slots.is_some() {
            "{port}"
        } else {
            "8000"
        };
        default_health_urls(port)
    });
    let slots = params
        .slots
        .as_ref()
        .map(|slots| Slots::build(slots, &health_urls))
        .transpose()
        .map_err(invalid)?;
    let slot_units = slots
        .iter()
        .flat_map(|slots| std::iter::once(&slots.unit).chain(&slots.replaces));
    for unit in restart.iter().chain(slot_units) {
        check_word("unit", unit)?;
    }
    if let Some(url) = health_urls
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
    if params.lock_ttl == 0 {
        return Err(invalid("lock_ttl must be at least 1"));
    }
    if params.force && params.state != ReleaseState::Unlock {
        return Err(invalid("force is only for state unlock"));
    }
    if params.only_own_deploy && params.state != ReleaseState::Rollback {
        return Err(invalid("only_own_deploy is only for state rollback"));
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
        health_urls,
        slots,
        health_retries: params.health_retries,
        health_delay: params.health_delay,
        health_timeout: params.health_timeout,
        keep_releases: params.keep_releases,
        log,
        lock_wait: params.lock_wait,
        lock_ttl: params.lock_ttl,
        force: params.force,
        only_own_deploy: params.only_own_deploy,
        holder: Holder::new(controller.operator(), controller.playbook()),
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
