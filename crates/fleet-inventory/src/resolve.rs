//! Turns the declarations into hosts with their final vars.
//!
//! # Precedence
//!
//! A host's vars are merged from, lowest first:
//!
//! 1. the vars of every group it belongs to (directly, or through a child
//!    group), ordered by *depth* and then by *name*:
//!    - `all` has depth 0, and every other group is one deeper than its
//!      deepest parent. A child group is therefore always deeper than its
//!      parents, and so wins over them.
//!    - For groups of the same depth (siblings such as `web` and `prod`), the
//!      alphabetical order of the names decides: the later name wins
//!      (`prod` over `canary`).
//! 2. the host's own vars, which win over every group. If the host appears
//!    in several places, its entries are merged in file order, the later
//!    one winning.
//!
//! This is the rule Ansible uses. With `group_vars/` and `host_vars/`
//! folders (see `var_dirs`), the order is Ansible's: every group's vars
//! from the inventory file, then `group_vars/all` next to the inventory,
//! then next to the playbook, then the other groups' `group_vars` next to
//! the inventory (by depth and name), then next to the playbook, then the
//! host's own vars from the file, then `host_vars` next to the inventory,
//! then next to the playbook.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::connection::Connection;
use crate::error::InventoryError;
use crate::loader::{Declared, GroupDecl};
use crate::{Group, Host};

/// The vars of `group_vars/` and `host_vars/` folders: one entry per
/// folder pair, lowest first (next to the inventory, then next to the
/// playbook), each indexed like the declared groups and hosts.
#[derive(Debug, Default)]
pub(crate) struct VarLayers {
    pub(crate) groups: Vec<Vec<Map<String, Value>>>,
    pub(crate) hosts: Vec<Vec<Map<String, Value>>>,
}

/// Builds the hosts and groups of the inventory from its declarations.
pub(crate) fn resolve(
    declared: Declared,
    layers: &VarLayers,
) -> Result<(Vec<Host>, Vec<Group>), InventoryError> {
    let Declared { groups, hosts } = declared;
    let depths = depths(&groups);
    let ancestors: Vec<BTreeSet<usize>> = (0..groups.len())
        .map(|group| ancestors(&groups, group))
        .collect();

    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    let mut resolved = Vec::with_capacity(hosts.len());
    for (index, host) in hosts.into_iter().enumerate() {
        let mut own: Vec<usize> = host
            .groups
            .iter()
            .flat_map(|&group| ancestors[group].iter().copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        own.sort_by(|&a, &b| (depths[a], &groups[a].name).cmp(&(depths[b], &groups[b].name)));

        let mut vars = Map::new();
        for &group in &own {
            members[group].push(index);
            merge(&mut vars, &groups[group].vars);
        }
        for dir in &layers.groups {
            merge(&mut vars, &dir[0]);
        }
        for dir in &layers.groups {
            for &group in own.iter().filter(|&&group| group != 0) {
                merge(&mut vars, &dir[group]);
            }
        }
        merge(&mut vars, &host.vars);
        for dir in &layers.hosts {
            merge(&mut vars, &dir[index]);
        }
        let connection = Connection::from_vars(&host.name, &vars, &host.location)?;

        resolved.push(Host {
            name: host.name,
            groups: own
                .iter()
                .map(|&group| groups[group].name.clone())
                .collect(),
            vars,
            connection,
        });
    }

    let groups = groups
        .iter()
        .zip(members)
        .map(|(group, members)| Group {
            name: group.name.clone(),
            children: group
                .children
                .iter()
                .map(|&child| groups[child].name.clone())
                .collect(),
            hosts: members
                .iter()
                .map(|&host| resolved[host].name.clone())
                .collect(),
            vars: group.vars.clone(),
            members,
        })
        .collect();
    Ok((resolved, groups))
}

/// Copies `layer` over `vars`: a key in both takes the value of `layer`.
/// Maps are replaced as a whole, not merged key by key (like Ansible's default).
fn merge(vars: &mut Map<String, Value>, layer: &Map<String, Value>) {
    for (key, value) in layer {
        vars.insert(key.clone(), value.clone());
    }
}

/// Depth of each group: 0 for `all` (index 0), else 1 + the deepest parent.
/// Parents are always declared before their children, but a group may get
/// another, deeper parent later, so this iterates until nothing changes.
/// The loader has rejected cycles, so it ends.
fn depths(groups: &[GroupDecl]) -> Vec<usize> {
    let mut depths = vec![0; groups.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for (group, decl) in groups.iter().enumerate() {
            let depth = decl
                .parents
                .iter()
                .map(|&parent| depths[parent] + 1)
                .max()
                .unwrap_or(0);
            if depth > depths[group] {
                depths[group] = depth;
                changed = true;
            }
        }
    }
    depths
}

/// The group itself and every group above it.
fn ancestors(groups: &[GroupDecl], group: usize) -> BTreeSet<usize> {
    let mut found = BTreeSet::from([group]);
    let mut todo = vec![group];
    while let Some(current) = todo.pop() {
        for &parent in &groups[current].parents {
            if found.insert(parent) {
                todo.push(parent);
            }
        }
    }
    found
}
