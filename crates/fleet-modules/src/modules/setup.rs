//! `setup`: gathers the host's facts in one round trip, like Ansible's
//! `setup` module (and its implicit "Gathering Facts"), with its
//! `gather_subset` and `filter`. The result holds them under
//! `ansible_facts`, with the `ansible_` prefix Ansible's result has; the
//! engine keeps them as the host's facts. Nothing on the host changes.
//!
//! What is gathered, and how each value is computed, follows ansible-core's
//! Linux collectors: see `setup_system`, `setup_hardware` and
//! `setup_network`. Ansible collectors fleet does not have (`caps`,
//! `local`, `lsb`, `selinux`, `virtual`, `facter`, `ohai`, the storage and
//! DMI facts) may be named in `gather_subset` and give nothing.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::setup_script::{FACT_PATH, Sections, gather_script};
use super::setup_small as small;
use super::setup_system::{self as system, Facts};
use super::{setup_extra as extra, setup_hardware as hardware, setup_local, setup_network};
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

/// The os-release id of a distribution name, for fleet's `facts.os_id`.
pub use super::setup_system::distribution_id;

pub const PARAMS: &[&str] = &["gather_subset", "filter", "gather_timeout", "fact_path"];

/// Where the result holds the facts, as in Ansible's.
pub const FACTS_KEY: &str = "ansible_facts";

/// Ansible's subsets that are always gathered, even with `!all`.
const MINIMAL: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// Every name `gather_subset` accepts, and the collector it selects.
const SUBSETS: &[(&str, &str)] = &[
    ("apparmor", "apparmor"),
    ("caps", "caps"),
    ("system_capabilities", "caps"),
    ("system_capabilities_enforced", "caps"),
    ("chroot", "chroot"),
    ("is_chroot", "chroot"),
    ("cmdline", "cmdline"),
    ("date_time", "date_time"),
    ("distribution", "distribution"),
    ("distribution_version", "distribution"),
    ("distribution_release", "distribution"),
    ("distribution_major_version", "distribution"),
    ("os_family", "distribution"),
    ("dns", "dns"),
    ("env", "env"),
    ("fips", "fips"),
    ("local", "local"),
    ("lsb", "lsb"),
    ("loadavg", "loadavg"),
    ("pkg_mgr", "pkg_mgr"),
    ("platform", "platform"),
    ("system", "platform"),
    ("kernel", "platform"),
    ("kernel_version", "platform"),
    ("machine", "platform"),
    ("python_version", "platform"),
    ("architecture", "platform"),
    ("machine_id", "platform"),
    ("python", "python"),
    ("selinux", "selinux"),
    ("service_mgr", "service_mgr"),
    ("ssh_pub_keys", "ssh_pub_keys"),
    ("ssh_host_pub_keys", "ssh_pub_keys"),
    ("ssh_host_key_dsa_public", "ssh_pub_keys"),
    ("ssh_host_key_rsa_public", "ssh_pub_keys"),
    ("ssh_host_key_ecdsa_public", "ssh_pub_keys"),
    ("ssh_host_key_ed25519_public", "ssh_pub_keys"),
    ("systemd", "systemd"),
    ("user", "user"),
    ("user_id", "user"),
    ("user_uid", "user"),
    ("user_gid", "user"),
    ("user_gecos", "user"),
    ("user_dir", "user"),
    ("user_shell", "user"),
    ("real_user_id", "user"),
    ("effective_user_id", "user"),
    ("effective_group_ids", "user"),
    ("hardware", "hardware"),
    ("processor", "hardware"),
    ("processor_cores", "hardware"),
    ("processor_count", "hardware"),
    ("mounts", "hardware"),
    ("devices", "hardware"),
    ("network", "network"),
    ("interfaces", "network"),
    ("default_ipv4", "network"),
    ("default_ipv6", "network"),
    ("all_ipv4_addresses", "network"),
    ("all_ipv6_addresses", "network"),
    ("fibre_channel_wwn", "fibre_channel_wwn"),
    ("iscsi", "iscsi"),
    ("nvme", "nvme"),
    ("virtual", "virtual"),
    ("virtualization_type", "virtual"),
    ("virtualization_role", "virtual"),
    ("virtualization_tech_guest", "virtual"),
    ("virtualization_tech_host", "virtual"),
    ("facter", "facter"),
    ("ohai", "ohai"),
];

/// The facts fleet gathers, without the `ansible_` prefix (besides one
/// per network interface, named after it).
pub const FACT_NAMES: &[&str] = &[
    "all_ipv4_addresses",
    "all_ipv6_addresses",
    "apparmor",
    "architecture",
    "bios_date",
    "bios_vendor",
    "bios_version",
    "board_asset_tag",
    "board_name",
    "board_serial",
    "board_vendor",
    "board_version",
    "chassis_asset_tag",
    "chassis_serial",
    "chassis_vendor",
    "chassis_version",
    "cmdline",
    "date_time",
    "default_ipv4",
    "default_ipv6",
    "distribution",
    "distribution_file_parsed",
    "distribution_file_path",
    "distribution_file_variety",
    "distribution_major_version",
    "distribution_minor_version",
    "distribution_release",
    "distribution_version",
    "dns",
    "domain",
    "effective_group_id",
    "effective_user_id",
    "env",
    "fibre_channel_wwn",
    "fips",
    "flags",
    "form_factor",
    "fqdn",
    "hostname",
    "hostnqn",
    "interfaces",
    "is_chroot",
    "iscsi_iqn",
    "kernel",
    "kernel_version",
    "loadavg",
    "local",
    "locally_reachable_ips",
    "lsb",
    "lvm",
    "machine",
    "machine_id",
    "memfree_mb",
    "memory_mb",
    "memtotal_mb",
    "nodename",
    "os_family",
    "pkg_mgr",
    "proc_cmdline",
    "processor",
    "processor_cores",
    "processor_count",
    "processor_nproc",
    "processor_threads_per_core",
    "processor_vcpus",
    "product_name",
    "product_serial",
    "product_uuid",
    "product_version",
    "python",
    "python_version",
    "real_group_id",
    "real_user_id",
    "selinux",
    "selinux_python_present",
    "service_mgr",
    "ssh_host_key_dsa_public",
    "ssh_host_key_dsa_public_keytype",
    "ssh_host_key_ecdsa_public",
    "ssh_host_key_ecdsa_public_keytype",
    "ssh_host_key_ed25519_public",
    "ssh_host_key_ed25519_public_keytype",
    "ssh_host_key_rsa_public",
    "ssh_host_key_rsa_public_keytype",
    "swapfree_mb",
    "swaptotal_mb",
    "system",
    "system_capabilities",
    "system_capabilities_enforced",
    "system_vendor",
    "systemd",
    "uptime_seconds",
    "user_dir",
    "user_gecos",
    "user_gid",
    "user_id",
    "user_shell",
    "user_uid",
    "userspace_architecture",
    "userspace_bits",
];

/// Facts `setup` reports about itself, without a prefix.
pub const META_FACTS: &[&str] = &["gather_subset", "module_setup"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupParams {
    #[serde(default)]
    gather_subset: Option<Value>,
    #[serde(default)]
    filter: Option<Value>,
    /// Accepted: the whole gathering is one round trip.
    #[serde(default)]
    #[allow(dead_code)]
    gather_timeout: Option<Value>,
    /// Where `ansible_local`'s `*.fact` files are.
    #[serde(default)]
    fact_path: Option<String>,
}

#[derive(Debug)]
pub struct Setup {
    /// `gather_subset` as written, reported as the `gather_subset` fact.
    subset: Vec<String>,
    collectors: BTreeSet<&'static str>,
    filter: Vec<glob::Pattern>,
    fact_path: String,
}

pub fn build(params: Value, _: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let invalid = |message: String| ModuleError::Params {
        module: "setup".into(),
        message,
    };
    let params: SetupParams = parse_params("setup", params)?;
    let subset = match &params.gather_subset {
        None | Some(Value::Null) => vec!["all".to_string()],
        Some(value) => {
            string_list(value).map_err(|err| invalid(format!("gather_subset: {err}")))?
        }
    };
    let collectors = collectors(&subset).map_err(invalid)?;
    let filter = match &params.filter {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => string_list(value).map_err(|err| invalid(format!("filter: {err}")))?,
    };
    let filter = filter
        .iter()
        .filter(|pattern| !pattern.is_empty() && *pattern != "*")
        .map(|pattern| {
            glob::Pattern::new(pattern)
                .map_err(|err| invalid(format!("filter: {pattern:?} is not a pattern: {err}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Box::new(Setup {
        subset,
        collectors,
        filter,
        fact_path: params.fact_path.unwrap_or_else(|| FACT_PATH.to_string()),
    }))
}

/// A list of strings, or one string of comma-separated items (Ansible's
/// `type: list`).
fn string_list(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(text) => Ok(text
            .split(',')
            .map(|item| item.trim().to_string())
            .collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.trim().to_string()),
                other => Err(format!("expected strings, got {other}")),
            })
            .collect(),
        other => Err(format!("expected a list of strings, got {other}")),
    }
}

/// Checks a `gather_subset` (the play key or the parameter) before any
/// host is contacted.
pub fn check_subset(subset: &[String]) -> Result<(), String> {
    collectors(subset).map(|_| ())
}

/// The collectors a `gather_subset` selects, the way Ansible resolves it:
/// the minimal subsets always, then additions, then exclusions (`!name`),
/// where a name asked for explicitly beats its exclusion.
fn collectors(subset: &[String]) -> Result<BTreeSet<&'static str>, String> {
    let valid: BTreeSet<&str> = SUBSETS.iter().map(|(name, _)| *name).collect();
    let minimal: BTreeSet<&str> = MINIMAL.iter().copied().collect();
    let aliases = |collector: &str| -> Vec<&'static str> {
        SUBSETS
            .iter()
            .filter(|(_, of)| *of == collector)
            .map(|(name, _)| *name)
            .collect()
    };
    let (mut added, mut excluded, mut explicit) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for item in std::iter::once("min").chain(subset.iter().map(String::as_str)) {
        match item {
            "min" => added.extend(minimal.iter().copied()),
            "all" => added.extend(valid.iter().copied()),
            "!min" => excluded.extend(minimal.iter().copied()),
            "!all" => excluded.extend(valid.difference(&minimal).copied()),
            negated if negated.starts_with('!') => {
                let name = &negated[1..];
                excluded.extend(aliases(name));
                if let Some(known) = valid.get(name) {
                    excluded.insert(*known);
                }
            }
            name => {
                let Some(known) = valid.get(name) else {
                    let near = fleet_yaml::did_you_mean(name, valid.iter().copied())
                        .map(|near| format!("; {near}"))
                        .unwrap_or_default();
                    return Err(format!(
                        "bad subset {name:?}{near} (subsets: all, min, hardware, network, \
                         virtual, or a collector or fact name such as distribution)"
                    ));
                };
                explicit.insert(*known);
                added.insert(*known);
            }
        }
    }
    if added.is_empty() {
        added.extend(valid.iter().copied());
    }
    let removed: BTreeSet<&str> = excluded.difference(&explicit).copied().collect();
    let mut selected: BTreeSet<&'static str> = added
        .difference(&removed)
        .filter_map(|name| SUBSETS.iter().find(|(known, _)| known == name))
        .map(|(_, collector)| *collector)
        .collect();
    // A collector brings the ones it reads, as Ansible's `required_facts`.
    for (collector, needs) in REQUIRES {
        if selected.contains(collector) {
            selected.extend(needs.iter().copied());
        }
    }
    Ok(selected)
}

/// The collectors each one needs (Ansible's `required_facts` on Linux).
const REQUIRES: &[(&str, &[&str])] = &[
    ("network", &["distribution", "platform"]),
    ("service_mgr", &["distribution", "platform"]),
    ("pkg_mgr", &["distribution"]),
    ("hardware", &["platform"]),
];

impl Setup {
    /// The facts of the script's output, prefixed, filtered.
    pub fn facts(&self, stdout: &str) -> Map<String, Value> {
        let sections = Sections::parse(stdout);
        let mut facts = Map::new();
        for (_, collected) in collect(&sections, &self.collectors, &self.fact_path) {
            for (key, value) in collected {
                let prefixed = format!("ansible_{key}");
                if self.keeps(&prefixed) {
                    facts.insert(prefixed, value);
                }
            }
        }
        let meta = [
            ("gather_subset", json!(self.subset)),
            ("module_setup", json!(true)),
        ];
        for (key, value) in meta {
            if self.keeps(key) {
                facts.insert(key.to_string(), value);
            }
        }
        facts
    }

    /// Whether `filter` keeps the fact `name` (`distribution*` also
    /// matches `ansible_distribution`, as in Ansible).
    fn keeps(&self, name: &str) -> bool {
        self.filter.is_empty()
            || self.filter.iter().any(|pattern| {
                pattern.matches(name)
                    || (!["ansible_", "facter", "ohai"]
                        .iter()
                        .any(|prefix| pattern.as_str().starts_with(prefix))
                        && glob::Pattern::new(&format!("ansible_{}", pattern.as_str()))
                            .is_ok_and(|prefixed| prefixed.matches(name)))
            })
    }
}

/// Runs the selected collectors, in Ansible's order.
fn collect(
    sections: &Sections,
    selected: &BTreeSet<&str>,
    fact_path: &str,
) -> Vec<(&'static str, Facts)> {
    let distribution = system::distribution(sections);
    let family = distribution
        .get("os_family")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let platform = system::platform(sections);
    let architecture = platform
        .get("architecture")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let collected: Vec<(&'static str, Facts)> = vec![
        ("platform", platform),
        ("distribution", distribution),
        ("apparmor", small::apparmor(sections)),
        ("chroot", small::chroot(sections)),
        ("fips", small::fips(sections)),
        ("python", system::python(sections)),
        ("pkg_mgr", system::pkg_mgr(sections, &family)),
        ("service_mgr", system::service_mgr(sections)),
        ("cmdline", small::cmdline(sections)),
        ("date_time", hardware::date_time(sections)),
        ("env", system::env(sections)),
        ("loadavg", small::loadavg(sections)),
        ("ssh_pub_keys", small::ssh_pub_keys(sections)),
        ("user", system::user(sections)),
        ("systemd", system::systemd(sections)),
        ("hardware", {
            let mut facts = hardware::hardware(sections, &architecture);
            facts.extend(extra::dmi(sections));
            facts.extend(extra::lvm(sections));
            facts
        }),
        ("caps", extra::caps(sections)),
        ("lsb", extra::lsb(sections)),
        ("selinux", extra::selinux(sections)),
        ("fibre_channel_wwn", extra::fibre_channel_wwn(sections)),
        ("iscsi", extra::iscsi(sections)),
        ("nvme", extra::nvme(sections)),
        ("dns", small::dns(sections)),
        ("network", setup_network::network(sections)),
        ("local", setup_local::local(sections, fact_path)),
    ];
    collected
        .into_iter()
        .filter(|(name, _)| selected.contains(name))
        .collect()
}

impl Module for Setup {
    fn probe(&self) -> Option<Script> {
        Some(gather_script(&self.fact_path))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.stdout.trim().is_empty() {
            return Err(ModuleError::Failed(format!(
                "gathering facts printed nothing: {}",
                probe.stderr.trim()
            )));
        }
        let mut data = Map::new();
        data.insert(FACTS_KEY.into(), Value::Object(self.facts(&probe.stdout)));
        Ok(Plan {
            data,
            ..Plan::unchanged()
        })
    }
}

/// `ansible_facts` as a host's variables hold it: the result's keys without
/// their `ansible_` prefix (Ansible's `namespace_facts`).
pub fn namespaced(result_facts: &Map<String, Value>) -> Map<String, Value> {
    result_facts
        .iter()
        .map(|(key, value)| {
            let key = match key.strip_prefix("ansible_") {
                Some(bare) if key != "ansible_local" => bare,
                _ => key.as_str(),
            };
            (key.to_string(), value.clone())
        })
        .collect()
}

/// The top-level variable Ansible also sets for the fact `name` (a key of
/// `ansible_facts`): `ansible_<name>`, and the meta facts and
/// `ansible_local` under their own names.
pub fn injected(name: &str) -> String {
    if META_FACTS.contains(&name) || name == "ansible_local" {
        return name.to_string();
    }
    format!("ansible_{name}")
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
