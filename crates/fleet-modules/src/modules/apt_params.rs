//! `apt`'s parameters, with Ansible's names, aliases and defaults, and the
//! checks Ansible makes before it touches the package database.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::de;
use crate::ModuleError;

pub const PARAMS: &[&str] = &[
    "name",
    "package",
    "pkg",
    "state",
    "update_cache",
    "update-cache",
    "update_cache_retries",
    "update_cache_retry_max_delay",
    "cache_valid_time",
    "purge",
    "deb",
    "default_release",
    "default-release",
    "install_recommends",
    "install-recommends",
    "force",
    "upgrade",
    "dpkg_options",
    "autoremove",
    "autoclean",
    "fail_on_autoremove",
    "only_upgrade",
    "force_apt_get",
    "clean",
    "allow_unauthenticated",
    "allow-unauthenticated",
    "allow_downgrade",
    "allow-downgrade",
    "allow_downgrades",
    "allow-downgrades",
    "allow_change_held_packages",
    "lock_timeout",
    "auto_install_module_deps",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AptParams {
    #[serde(alias = "package", alias = "pkg")]
    pub name: Option<StringList>,
    #[serde(default)]
    pub state: AptState,
    #[serde(default, alias = "update-cache", deserialize_with = "de::boolean")]
    pub update_cache: bool,
    /// How many times `apt-get update` is tried before the task fails.
    #[serde(default = "default_retries", deserialize_with = "de::whole_number")]
    pub update_cache_retries: u32,
    /// The longest pause, in seconds, between two tries.
    #[serde(default = "default_retry_delay", deserialize_with = "de::whole_number")]
    pub update_cache_retry_max_delay: u32,
    /// Seconds; implies `update_cache`, which then runs only when the lists
    /// are older than this.
    #[serde(default, deserialize_with = "de::optional_whole_number")]
    pub cache_valid_time: Option<u64>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub purge: bool,
    /// A `.deb` on the host, or a URL the host downloads it from.
    pub deb: Option<String>,
    #[serde(alias = "default-release")]
    pub default_release: Option<String>,
    /// Unset: apt's own configuration decides (it installs recommends).
    #[serde(
        default,
        alias = "install-recommends",
        deserialize_with = "de::optional_boolean"
    )]
    pub install_recommends: Option<bool>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub force: bool,
    #[serde(default)]
    pub upgrade: Upgrade,
    #[serde(default = "default_dpkg_options")]
    pub dpkg_options: String,
    #[serde(default, deserialize_with = "de::boolean")]
    pub autoremove: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub autoclean: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub fail_on_autoremove: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub only_upgrade: bool,
    /// fleet always uses `apt-get`; accepted for Ansible's playbooks.
    #[allow(dead_code)]
    #[serde(default, deserialize_with = "de::boolean")]
    pub force_apt_get: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub clean: bool,
    #[serde(
        default,
        alias = "allow-unauthenticated",
        deserialize_with = "de::boolean"
    )]
    pub allow_unauthenticated: bool,
    #[serde(
        default,
        alias = "allow-downgrade",
        alias = "allow_downgrades",
        alias = "allow-downgrades",
        deserialize_with = "de::boolean"
    )]
    pub allow_downgrade: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub allow_change_held_packages: bool,
    /// Seconds to wait for another apt or dpkg to release its lock.
    #[serde(
        default = "default_lock_timeout",
        deserialize_with = "de::whole_number"
    )]
    pub lock_timeout: u32,
    /// Ansible installs python3-apt for itself; fleet needs none. Accepted.
    #[allow(dead_code)]
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub auto_install_module_deps: bool,
}

fn default_lock_timeout() -> u32 {
    60
}

fn default_retries() -> u32 {
    5
}

fn default_retry_delay() -> u32 {
    12
}

fn default_dpkg_options() -> String {
    "force-confdef,force-confold".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AptState {
    #[default]
    Present,
    Absent,
    Latest,
    /// Installs what building the packages needs (`apt-get build-dep`).
    #[serde(rename = "build-dep")]
    BuildDep,
    /// `present` with `--fix-broken`.
    Fixed,
}

/// `upgrade`: `no`, `yes`/`safe` (`apt-get upgrade --with-new-pkgs`),
/// `full`/`dist` (`apt-get dist-upgrade`). A YAML boolean is `yes`/`no`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Upgrade {
    #[default]
    No,
    Safe,
    Dist,
}

impl<'de> Deserialize<'de> for Upgrade {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Upgrade, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let text = match &value {
            Value::Bool(true) => "yes",
            Value::Bool(false) => "no",
            Value::String(text) => text.as_str(),
            _ => "",
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "no" | "false" => Ok(Upgrade::No),
            "yes" | "true" | "safe" => Ok(Upgrade::Safe),
            "full" | "dist" => Ok(Upgrade::Dist),
            _ => Err(serde::de::Error::custom(format!(
                "upgrade must be one of dist, full, no, safe, yes; got {value}"
            ))),
        }
    }
}

/// `name: tree`, `name: "tree,hello"` or `name: [tree, hello]`, as Ansible
/// reads a list parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StringList {
    One(String),
    Many(Vec<String>),
}

impl StringList {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            StringList::One(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(String::from)
                .collect(),
            StringList::Many(items) => items.iter().map(|item| item.trim().to_string()).collect(),
        }
    }
}

/// One requested package: `tree` or `tree=2.1.0-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    pub name: String,
    pub version: Option<String>,
}

impl Package {
    pub fn parse(spec: &str) -> Result<Package, String> {
        let (name, version) = match spec.split_once('=') {
            Some((name, version)) => (name, Some(version)),
            None => (spec, None),
        };
        let name_ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:".contains(c));
        let version_ok = version.is_none_or(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c))
        });
        if !name_ok || !version_ok {
            return Err(format!(
                "invalid package {spec:?} (expected a Debian package name, optionally `=version`)"
            ));
        }
        Ok(Package {
            name: name.to_string(),
            version: version.map(String::from),
        })
    }

    pub fn spec(&self) -> String {
        match &self.version {
            Some(version) => format!("{}={version}", self.name),
            None => self.name.clone(),
        }
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "apt".into(),
        message: message.into(),
    }
}

/// The checks Ansible's argument spec makes: one of `name`, `deb` and
/// `upgrade` at most. (Its `required_one_of` always holds, since
/// `autoremove` has a default, so a task with nothing to do is `ok`.)
pub(crate) fn check_combination(params: &AptParams) -> Result<(), ModuleError> {
    let given = [
        ("name", params.name.is_some()),
        ("deb", params.deb.is_some()),
        ("upgrade", params.upgrade != Upgrade::No),
    ];
    let set: Vec<&str> = given.iter().filter(|g| g.1).map(|g| g.0).collect();
    if set.len() > 1 {
        return Err(invalid(format!(
            "parameters are mutually exclusive: {}",
            set.join("|")
        )));
    }
    if params.deb.is_some() && params.state != AptState::Present {
        return Err(invalid("deb only supports state: present"));
    }
    let options_ok = params.dpkg_options.split(',').all(|option| {
        !option.is_empty()
            && !option.starts_with('-')
            && option
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-=_.".contains(c))
    });
    if !options_ok {
        return Err(invalid(format!(
            "dpkg_options {:?} must be dpkg options without `--`, separated by commas",
            params.dpkg_options
        )));
    }
    if let Some(release) = &params.default_release
        && (release.is_empty() || release.starts_with('-') || release.contains(char::is_whitespace))
    {
        return Err(invalid(format!(
            "default_release {release:?} is not a release name"
        )));
    }
    Ok(())
}
