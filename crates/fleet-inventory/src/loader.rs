//! Walks the YAML tree and collects the groups and hosts it declares.
//!
//! This step checks the shape of the file (which keys may appear where,
//! which values must be maps, names, connection vars) and records who
//! belongs to whom. Working out each host's final vars is left to
//! [`crate::resolve`].
//!
//! A group is identified by its name: writing `web:` under two parents
//! declares one group `web` with two parents, and its `vars`, `hosts` and
//! `children` from both places are combined (for a var set in both places,
//! the one later in the file wins). Hosts work the same way.

use std::collections::HashMap;

use fleet_yaml::{Location, Node, YamlNode, did_you_mean, location, message_quote};
use serde_json::{Map, Value};

use crate::ansible_vars::{add_fleet_vars, translate};
use crate::connection::{PathContext, check_var, is_connection_var};
use crate::error::InventoryError;

/// The name of the root group.
pub(crate) const ALL: &str = "all";

/// The keys a group may hold.
const GROUP_KEYS: [&str; 3] = ["vars", "hosts", "children"];

/// Characters that host patterns give a meaning to, so names may not use them.
const RESERVED_CHARS: [char; 8] = [':', ',', '&', '!', '*', '?', '[', ']'];

/// A group as declared in the file.
#[derive(Debug)]
pub(crate) struct GroupDecl {
    pub(crate) name: String,
    /// The group's own vars, combined over all the places it is written.
    pub(crate) vars: Map<String, Value>,
    /// Indexes of its child groups, in file order.
    pub(crate) children: Vec<usize>,
    /// Indexes of its parent groups.
    pub(crate) parents: Vec<usize>,
}

/// A host as declared in the file.
#[derive(Debug)]
pub(crate) struct HostDecl {
    pub(crate) name: String,
    /// Where the host first appears.
    pub(crate) location: Location,
    /// Host-level vars, combined over all its entries (later entries win).
    pub(crate) vars: Map<String, Value>,
    /// Indexes of the groups that list it under `hosts`.
    pub(crate) groups: Vec<usize>,
}

/// Everything the file declares, in order of first appearance.
#[derive(Debug)]
pub(crate) struct Declared {
    pub(crate) groups: Vec<GroupDecl>,
    pub(crate) hosts: Vec<HostDecl>,
}

/// Reads the declarations out of the document `root`. `source` names the
/// file in messages; `paths` resolves relative `identity_file`s.
pub(crate) fn declare(
    root: &YamlNode,
    source: &str,
    paths: &PathContext,
) -> Result<Declared, InventoryError> {
    let mut loader = Loader {
        source,
        paths,
        groups: Vec::new(),
        hosts: Vec::new(),
        group_index: HashMap::new(),
        host_index: HashMap::new(),
    };
    loader.add_group(ALL);
    loader.read_root(root)?;
    Ok(Declared {
        groups: loader.groups,
        hosts: loader.hosts,
    })
}

struct Loader<'a> {
    source: &'a str,
    paths: &'a PathContext,
    groups: Vec<GroupDecl>,
    hosts: Vec<HostDecl>,
    group_index: HashMap<String, usize>,
    host_index: HashMap<String, usize>,
}

impl Loader<'_> {
    fn at(&self, node: &YamlNode) -> Location {
        location(self.source, &node.referenced)
    }

    fn read_root(&mut self, root: &YamlNode) -> Result<(), InventoryError> {
        const HINT: &str = "an inventory starts with `all:`, which holds vars, hosts and children";
        let entries = match &root.value {
            Node::Map(entries) => entries,
            Node::Null => {
                return Err(InventoryError::invalid(
                    self.at(root),
                    "the inventory is empty",
                    HINT,
                ));
            }
            other => {
                return Err(InventoryError::invalid(
                    self.at(root),
                    format!(
                        "the top level must be a map with the single key `all`, got {}",
                        other.describe()
                    ),
                    HINT,
                ));
            }
        };
        let mut seen_all = false;
        for (key, value) in entries {
            match key.value.as_str() {
                Some(ALL) => {
                    seen_all = true;
                    self.read_group(0, value)?;
                }
                _ => {
                    let name = shown_key(key);
                    let hint = format!(
                        "the top level holds exactly one key, `all`; put groups under `all: children:`{}",
                        and_did_you_mean(key, [ALL])
                    );
                    return Err(InventoryError::invalid(
                        self.at(key),
                        format!("unknown top-level key {name}"),
                        hint,
                    ));
                }
            }
        }
        if seen_all {
            Ok(())
        } else {
            Err(InventoryError::invalid(
                self.at(root),
                "the top level has no key `all`",
                HINT,
            ))
        }
    }

    /// Reads the body of group `group` (`vars`, `hosts`, `children`).
    fn read_group(&mut self, group: usize, node: &YamlNode) -> Result<(), InventoryError> {
        let name = self.groups[group].name.clone();
        let entries = match &node.value {
            Node::Null => return Ok(()),
            Node::Map(entries) => entries,
            other => {
                return Err(InventoryError::invalid(
                    self.at(node),
                    format!("group `{name}` must be a map, got {}", other.describe()),
                    "a group is a map with any of the keys vars, hosts, children, \
                     e.g. `web: {hosts: {web1: {}}}`",
                ));
            }
        };
        for (key, value) in entries {
            match key.value.as_str() {
                Some("vars") => {
                    let vars = self.read_vars(
                        value,
                        &format!("vars of group `{name}`"),
                        "write vars as a map, e.g. `vars: {app: shop, user: deploy}`",
                    )?;
                    self.groups[group].vars.extend(vars);
                }
                Some("hosts") => self.read_hosts(group, value)?,
                Some("children") => self.read_children(group, value)?,
                _ => {
                    let hint = format!(
                        "a group may only hold the keys vars, hosts, children{}",
                        and_did_you_mean(key, GROUP_KEYS)
                    );
                    return Err(InventoryError::invalid(
                        self.at(key),
                        format!("unknown key {} in group `{name}`", shown_key(key)),
                        hint,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Reads a map of var names to values; `what` names it in messages and
    /// `hint` shows how to write it.
    fn read_vars(
        &self,
        node: &YamlNode,
        what: &str,
        hint: &str,
    ) -> Result<Map<String, Value>, InventoryError> {
        let entries = match &node.value {
            Node::Null => return Ok(Map::new()),
            Node::Map(entries) => entries,
            other => {
                return Err(InventoryError::invalid(
                    self.at(node),
                    format!(
                        "{what} must be a map of variable names to values, got {}",
                        other.describe()
                    ),
                    hint,
                ));
            }
        };
        let mut vars = Map::new();
        let mut translated = Vec::new();
        for (key, value) in entries {
            let name = match key.value.as_str() {
                Some(name) if !name.is_empty() => name,
                _ => {
                    return Err(InventoryError::invalid(
                        self.at(key),
                        format!(
                            "variable names must be non-empty strings, got {}",
                            key.value.describe()
                        ),
                        "write a name such as `app_port`; quote it if YAML reads it as a number",
                    ));
                }
            };
            translated.extend(translate(name, &value.value, self.at(value), self.paths)?);
            let value = if is_connection_var(name) {
                check_var(name, value, self.source, self.paths)?
            } else {
                value.value.to_json()
            };
            vars.insert(name.to_owned(), value);
        }
        add_fleet_vars(&mut vars, translated);
        Ok(vars)
    }

    /// Reads the `hosts:` map of group `group`.
    fn read_hosts(&mut self, group: usize, node: &YamlNode) -> Result<(), InventoryError> {
        let entries = match &node.value {
            Node::Null => return Ok(()),
            Node::Map(entries) => entries,
            other => {
                return Err(InventoryError::invalid(
                    self.at(node),
                    format!(
                        "hosts of group `{}` must be a map of host names to vars, got {}",
                        self.groups[group].name,
                        other.describe()
                    ),
                    "write one host per line followed by a colon, e.g. `hosts: {web1: {}, web2: {port: 2222}}`",
                ));
            }
        };
        for (key, value) in entries {
            let name = self.check_name(key, "host")?;
            if self.group_index.contains_key(name) {
                return Err(self.name_clash(key, name));
            }
            let vars = self.read_vars(
                value,
                &format!("host `{name}`"),
                "a host entry is a map of vars, e.g. `web1: {address: 10.0.0.5}`, or nothing (`web1:`)",
            )?;
            let host = match self.host_index.get(name) {
                Some(&host) => host,
                None => {
                    self.host_index.insert(name.to_owned(), self.hosts.len());
                    self.hosts.push(HostDecl {
                        name: name.to_owned(),
                        location: self.at(key),
                        vars: Map::new(),
                        groups: Vec::new(),
                    });
                    self.hosts.len() - 1
                }
            };
            let decl = &mut self.hosts[host];
            decl.vars.extend(vars);
            if !decl.groups.contains(&group) {
                decl.groups.push(group);
            }
        }
        Ok(())
    }

    /// Reads the `children:` map of group `parent`.
    fn read_children(&mut self, parent: usize, node: &YamlNode) -> Result<(), InventoryError> {
        let entries = match &node.value {
            Node::Null => return Ok(()),
            Node::Map(entries) => entries,
            other => {
                return Err(InventoryError::invalid(
                    self.at(node),
                    format!(
                        "children of group `{}` must be a map of group names to groups, got {}",
                        self.groups[parent].name,
                        other.describe()
                    ),
                    "write child groups as a map, e.g. `children: {web: {hosts: {web1: {}}}, db: {}}`",
                ));
            }
        };
        for (key, value) in entries {
            let name = self.check_name(key, "group")?;
            if name == ALL {
                return Err(InventoryError::invalid(
                    self.at(key),
                    "`all` cannot be a child group",
                    "`all` is the root group and already holds every host; pick another name",
                ));
            }
            if self.host_index.contains_key(name) {
                return Err(self.name_clash(key, name));
            }
            let child = match self.group_index.get(name) {
                Some(&child) => child,
                None => self.add_group(name),
            };
            if let Some(path) = self.path_down(child, parent) {
                let cycle: Vec<&str> = path.iter().map(|&g| self.groups[g].name.as_str()).collect();
                return Err(InventoryError::invalid(
                    self.at(key),
                    format!(
                        "group `{name}` would contain itself: {} > {name}",
                        cycle.join(" > ")
                    ),
                    "groups must form a tree without cycles; remove one of the `children` entries",
                ));
            }
            if !self.groups[parent].children.contains(&child) {
                self.groups[parent].children.push(child);
                self.groups[child].parents.push(parent);
            }
            self.read_group(child, value)?;
        }
        Ok(())
    }

    fn add_group(&mut self, name: &str) -> usize {
        self.group_index.insert(name.to_owned(), self.groups.len());
        self.groups.push(GroupDecl {
            name: name.to_owned(),
            vars: Map::new(),
            children: Vec::new(),
            parents: Vec::new(),
        });
        self.groups.len() - 1
    }

    /// The chain of groups from `from` down to `to` through `children`, if any.
    fn path_down(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        if from == to {
            return Some(vec![from]);
        }
        self.groups[from].children.iter().find_map(|&child| {
            let mut path = self.path_down(child, to)?;
            path.insert(0, from);
            Some(path)
        })
    }

    /// Checks a host or group name (`kind`) written as a map key.
    fn check_name<'n>(&self, key: &'n YamlNode, kind: &str) -> Result<&'n str, InventoryError> {
        let Some(name) = key.value.as_str() else {
            return Err(InventoryError::invalid(
                self.at(key),
                format!("{kind} names must be strings, got {}", key.value.describe()),
                format!(
                    "quote the name, e.g. `\"10\": {{}}`, or give the {kind} a name made of letters"
                ),
            ));
        };
        check_plain_name(name, kind)
            .map_err(|(message, hint)| InventoryError::invalid(self.at(key), message, hint))?;
        Ok(name)
    }

    fn name_clash(&self, key: &YamlNode, name: &str) -> InventoryError {
        InventoryError::invalid(
            self.at(key),
            format!("`{name}` is used both as a host name and as a group name"),
            "host patterns could not tell them apart; rename the host or the group",
        )
    }
}

/// Reads a var file's top-level map (`what` names it in messages), with
/// the same checks as vars inside an inventory.
pub(crate) fn read_var_map(
    root: &YamlNode,
    source: &str,
    paths: &PathContext,
    what: &str,
) -> Result<Map<String, Value>, InventoryError> {
    let loader = Loader {
        source,
        paths,
        groups: Vec::new(),
        hosts: Vec::new(),
        group_index: HashMap::new(),
        host_index: HashMap::new(),
    };
    loader.read_vars(
        root,
        what,
        "a var file holds a map of var names to values, e.g. `app_port: 8080`",
    )
}

/// Checks a host or group (`kind`) name: not empty, no whitespace, none of
/// the characters host patterns use. The error is the message and the hint.
pub(crate) fn check_plain_name(name: &str, kind: &str) -> Result<(), (String, String)> {
    if name.is_empty() {
        return Err((
            format!("{kind} name must not be empty"),
            format!(
                "give the {kind} a name such as `web1`; a host's IP or DNS name goes in `address:`"
            ),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_whitespace() || RESERVED_CHARS.contains(c))
    {
        let bad = if bad.is_whitespace() {
            "whitespace".to_owned()
        } else {
            format!("`{bad}`")
        };
        return Err((
            format!(
                "{kind} name {} contains {bad}, which is not allowed in names",
                message_quote(name)
            ),
            format!(
                "names may not contain whitespace or any of {}, which host patterns use; \
                 for a host, put the real address in `address:`",
                RESERVED_CHARS.map(|c| format!("`{c}`")).join(" ")
            ),
        ));
    }
    Ok(())
}

/// A map key for a message: a string in backticks, anything else as written.
fn shown_key(key: &YamlNode) -> String {
    match key.value.as_str() {
        Some(text) => format!("`{text}`"),
        None => key.value.describe(),
    }
}

/// `"; did you mean `x`?"` for a misspelt key, or an empty string.
fn and_did_you_mean<'a>(key: &YamlNode, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(key.value.as_str().unwrap_or_default(), candidates)
        .map(|suggestion| format!("; {suggestion}"))
        .unwrap_or_default()
}
