//! Facts and magic variables, as Ansible names them.
//!
//! A host's facts (what `setup` gathered, keys without the `ansible_`
//! prefix) are seen three ways: as `ansible_facts`, as the top-level
//! `ansible_<name>` variables Ansible injects, and as fleet's own `facts`
//! map (`facts.os_id`…), kept for playbooks written for fleet.
//!
//! The magic variables say where a task runs: `inventory_hostname_short`,
//! `group_names`, `groups`, `ansible_play_hosts`, `ansible_play_batch`,
//! `hostvars`, `ansible_version`… See `docs/playbooks.md`.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use fleet_modules::modules::setup;
use regex::Regex;
use serde_json::{Map, Value, json};

use crate::templater::OMIT;

/// The ansible-core release whose behaviour fleet follows, as
/// `ansible_version` reports it.
pub const ANSIBLE_VERSION: &str = "2.19.0";

/// The value of `ansible_managed` in template files, Ansible's default.
pub const ANSIBLE_MANAGED: &str = "Ansible managed";

/// `ansible_version`: `{full, major, minor, revision, string}`.
pub fn ansible_version() -> Value {
    let parts: Vec<u64> = ANSIBLE_VERSION
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    json!({
        "full": ANSIBLE_VERSION,
        "major": parts[0],
        "minor": parts[1],
        "revision": parts[2],
        "string": ANSIBLE_VERSION,
    })
}

/// `group_names`: the host's groups, sorted, without `all`; a host in no
/// other group is in `ungrouped`, as in Ansible.
pub fn group_names(groups: &[String]) -> Vec<String> {
    let mut names: Vec<String> = groups.iter().filter(|g| *g != "all").cloned().collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        names.push(UNGROUPED.to_string());
    }
    names
}

/// Ansible's group of the hosts that are in no group but `all`.
const UNGROUPED: &str = "ungrouped";

/// Adds `ungrouped` to `groups` (every group's hosts, by name), unless
/// the inventory has a group of that name.
pub fn with_ungrouped(groups: &mut Map<String, Value>) {
    if groups.contains_key(UNGROUPED) {
        return;
    }
    let names = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|hosts| {
                hosts
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let grouped: BTreeSet<String> = groups
        .iter()
        .filter(|(name, _)| *name != "all")
        .flat_map(|(_, hosts)| names(hosts))
        .collect();
    let ungrouped: Vec<String> = groups
        .get("all")
        .map(names)
        .unwrap_or_default()
        .into_iter()
        .filter(|host| !grouped.contains(host))
        .collect();
    groups.insert(UNGROUPED.into(), Value::from(ungrouped));
}

/// `inventory_hostname_short`: up to the first dot, unless the name is an
/// IP address.
pub fn inventory_hostname_short(name: &str) -> String {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return name.to_string();
    }
    name.split('.').next().unwrap_or(name).to_string()
}

/// What the magic variables of one task on one host are made of.
#[derive(Debug, Clone, Copy)]
pub struct MagicVars<'a> {
    /// The host's groups (any order, `all` included or not).
    pub groups_of_host: &'a [String],
    /// Every inventory group's hosts: `groups`.
    pub groups: &'a Map<String, Value>,
    /// The play's hosts: `ansible_play_hosts_all`.
    pub play_hosts_all: &'a [String],
    /// The play's hosts that have not failed: `ansible_play_hosts`.
    pub play_hosts: &'a [String],
    /// The current batch's hosts that have not failed:
    /// `ansible_play_batch` and `play_hosts`.
    pub play_batch: &'a [String],
    pub play_name: &'a str,
    pub check_mode: bool,
    pub diff_mode: bool,
    /// The inventory file, for `inventory_file` and `inventory_dir`.
    pub inventory_file: Option<&'a str>,
}

/// Adds the magic variables to `vars` (a map).
pub fn add_magic_vars(vars: &mut Value, magic: &MagicVars) {
    let Value::Object(map) = vars else {
        return;
    };
    map.insert(
        "group_names".into(),
        Value::from(group_names(magic.groups_of_host)),
    );
    map.insert("groups".into(), Value::Object(magic.groups.clone()));
    map.insert(
        "ansible_play_hosts_all".into(),
        Value::from(magic.play_hosts_all.to_vec()),
    );
    map.insert(
        "ansible_play_hosts".into(),
        Value::from(magic.play_hosts.to_vec()),
    );
    map.insert(
        "ansible_play_batch".into(),
        Value::from(magic.play_batch.to_vec()),
    );
    map.insert("play_hosts".into(), Value::from(magic.play_batch.to_vec()));
    map.insert("ansible_play_name".into(), json!(magic.play_name));
    map.extend(run_vars(
        magic.check_mode,
        magic.diff_mode,
        magic.inventory_file,
    ));
}

/// The magic variables that are the same for every host of the run (and
/// in `hostvars`).
fn run_vars(check_mode: bool, diff_mode: bool, inventory_file: Option<&str>) -> Map<String, Value> {
    let mut vars = Map::new();
    vars.insert("ansible_check_mode".into(), Value::Bool(check_mode));
    vars.insert("ansible_diff_mode".into(), Value::Bool(diff_mode));
    vars.insert("ansible_version".into(), ansible_version());
    let (file, dir) = match inventory_file {
        Some(file) => {
            let path = std::path::absolute(file).unwrap_or_else(|_| file.into());
            let dir = path.parent().map(|dir| dir.display().to_string());
            (json!(path.display().to_string()), json!(dir))
        }
        None => (Value::Null, Value::Null),
    };
    vars.insert("inventory_file".into(), file);
    vars.insert("inventory_dir".into(), dir);
    vars
}

/// A host's facts as variables: `ansible_facts` (empty before any
/// gathering), each fact as `ansible_<name>`, and fleet's `facts` once
/// there are any.
pub fn fact_vars(facts: Option<&Map<String, Value>>) -> Map<String, Value> {
    let mut vars = Map::new();
    let empty = Map::new();
    let all = facts.unwrap_or(&empty);
    vars.insert("ansible_facts".into(), Value::Object(all.clone()));
    for (name, value) in all {
        vars.insert(setup::injected(name), value.clone());
    }
    if let Some(facts) = facts {
        vars.insert("facts".into(), legacy_facts(facts));
    }
    vars
}

/// fleet's `facts` map, made from Ansible's facts.
fn legacy_facts(facts: &Map<String, Value>) -> Value {
    let text = |key: &str| {
        facts
            .get(key)
            .and_then(Value::as_str)
            .filter(|text| *text != "NA")
            .unwrap_or_default()
            .to_string()
    };
    let distribution = text("distribution");
    // os-release's VERSION_ID: Debian's is its major version.
    let version = if distribution == "Debian" {
        text("distribution_major_version")
    } else {
        text("distribution_version")
    };
    let python = facts
        .get("python")
        .and_then(|python| python.get("executable"))
        .cloned()
        .unwrap_or_else(|| json!(""));
    json!({
        "os_id": setup::distribution_id(&distribution),
        "os_version": version,
        "os_codename": text("distribution_release"),
        "arch": text("architecture"),
        "hostname": text("hostname"),
        "init": text("service_mgr"),
        "python": python,
        "cpus": facts.get("processor_nproc").cloned().unwrap_or(Value::Null),
        "memory_mb": facts.get("memtotal_mb").cloned().unwrap_or(Value::Null),
    })
}

/// Names Linux gives network interfaces (made fact names: `br-1a2b` is
/// `br_1a2b`); their facts are named after them (`ansible_eth0`), so they
/// cannot be listed before the run.
static INTERFACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        "^(lo|br_[0-9a-f]+|(eth|ens|enp|eno|enx|wlan|wlp|wlo|wwan|ib|bond|team|virbr|docker|cni\
         |vlan|vxlan|tun|tap|wg|ppp|host|tailscale|br|veth|flannel_)[a-z0-9_]*[0-9][a-z0-9_]*)$",
    )
    .expect("a valid pattern")
});

/// Whether `name` reads a fact: `ansible_facts`, fleet's `facts`, or one
/// of the `ansible_<fact>` variables.
pub fn is_fact_variable(name: &str) -> bool {
    name == "ansible_facts"
        || name == "facts"
        || name == "ansible_local"
        || setup::META_FACTS.contains(&name)
        || name
            .strip_prefix("ansible_")
            .is_some_and(|fact| setup::FACT_NAMES.contains(&fact) || INTERFACE.is_match(fact))
}

/// The `ansible_<fact>` variables fleet can define, for validation.
pub fn fact_variables() -> BTreeSet<String> {
    setup::FACT_NAMES
        .iter()
        .map(|name| setup::injected(name))
        .chain(setup::META_FACTS.iter().map(|name| (*name).to_string()))
        .collect()
}

/// What `hostvars` holds for one host.
#[derive(Debug, Clone, Copy)]
pub struct HostEntry<'a> {
    pub name: &'a str,
    pub inventory_vars: &'a Map<String, Value>,
    pub groups: &'a [String],
    pub facts: Option<&'a Map<String, Value>>,
    /// Registered results and `set_fact` variables.
    pub registered: &'a Map<String, Value>,
}

/// `hostvars`: each host's inventory vars, facts, registered results and
/// `set_fact` variables, `-e` vars and its own magic variables, as
/// Ansible's `hostvars` (no play vars). Templated inventory vars are
/// rendered with that host's variables.
pub fn hostvars(
    hosts: &[HostEntry],
    extra: &Map<String, Value>,
    groups: &Map<String, Value>,
    run: (bool, bool, Option<&str>),
    playbook_dir: &str,
) -> Value {
    let common = {
        let mut common = run_vars(run.0, run.1, run.2);
        common.insert("groups".into(), Value::Object(groups.clone()));
        common.insert("playbook_dir".into(), json!(playbook_dir));
        common.insert("omit".into(), json!(OMIT));
        common
    };
    let entries = hosts
        .iter()
        .map(|host| {
            let mut vars = host.inventory_vars.clone();
            let facts = fact_vars(host.facts);
            let mut kept: BTreeSet<String> = facts.keys().cloned().collect();
            vars.extend(facts);
            kept.extend(host.registered.keys().cloned());
            vars.extend(host.registered.clone());
            for name in extra.keys() {
                kept.remove(name);
            }
            vars.extend(extra.clone());
            vars.insert("inventory_hostname".into(), json!(host.name));
            vars.insert(
                "inventory_hostname_short".into(),
                json!(inventory_hostname_short(host.name)),
            );
            vars.insert("group_names".into(), json!(group_names(host.groups)));
            vars.extend(common.clone());
            let templated = crate::vars::templated_names(&vars, |name| kept.contains(name));
            crate::vars::resolve(&mut vars, templated);
            (host.name.to_string(), Value::Object(vars))
        })
        .collect();
    Value::Object(entries)
}

#[cfg(test)]
#[path = "magic_tests.rs"]
mod tests;
