//! `fleet inventory`: the selected hosts and their resolved vars (with
//! `-u` applied, so that it shows whom fleet logs in as).

use std::io::Write;

use std::collections::{BTreeMap, BTreeSet};

use fleet_inventory::{Host, Inventory};
use serde_json::{Map, Value, json};

use crate::cli::{Format, InventoryArgs, SshArgs};
use crate::commands::load_inventory;
use crate::error::CliError;
use crate::exit::Exit;

pub fn show(args: InventoryArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    let inventory = load_inventory(&args.selection, ssh, None)?;
    let hosts = inventory.select(&args.selection.limit)?;
    let mut out = std::io::stdout().lock();
    if args.list {
        let listing = ansible_list(&inventory, &hosts);
        writeln!(out, "{listing:#}")?;
        return Ok(Exit::Success);
    }
    for host in hosts {
        match args.selection.format {
            Format::Json => {
                let line = json!({
                    "event": "host",
                    "name": host.name,
                    "groups": host.groups,
                    "vars": host.vars,
                });
                writeln!(out, "{line}")?;
            }
            Format::Human => {
                writeln!(out, "{}  [{}]", host.name, host.groups.join(", "))?;
                for (key, value) in &host.vars {
                    writeln!(out, "    {key}: {value}")?;
                }
            }
        }
    }
    Ok(Exit::Success)
}

/// The shape of `ansible-inventory --list`: each group with its direct
/// `hosts` and its `children` (empty keys left out), `all` listing the
/// top-level groups, and every selected host's resolved vars under
/// `_meta.hostvars`. Keys are sorted, as ansible-inventory sorts them.
fn ansible_list(inventory: &Inventory, selected: &[&Host]) -> Value {
    let chosen: BTreeSet<&str> = selected.iter().map(|host| host.name.as_str()).collect();
    let mut listing = BTreeMap::new();
    for group in inventory.groups() {
        let below: BTreeSet<&str> = group
            .children
            .iter()
            .filter_map(|child| inventory.group(child))
            .flat_map(|child| child.hosts.iter().map(String::as_str))
            .collect();
        let hosts: Vec<&str> = group
            .hosts
            .iter()
            .map(String::as_str)
            .filter(|host| chosen.contains(host) && !below.contains(host))
            .filter(|_| group.name != "all")
            .collect();
        let mut entry = Map::new();
        if !group.children.is_empty() {
            entry.insert("children".into(), json!(group.children));
        }
        if !hosts.is_empty() {
            entry.insert("hosts".into(), json!(hosts));
        }
        if !entry.is_empty() || group.name == "all" {
            listing.insert(group.name.clone(), Value::Object(entry));
        }
    }
    let hostvars: BTreeMap<&str, BTreeMap<&String, &Value>> = selected
        .iter()
        .map(|host| (host.name.as_str(), host.vars.iter().collect()))
        .collect();
    listing.insert("_meta".into(), json!({"hostvars": hostvars}));
    json!(listing)
}
