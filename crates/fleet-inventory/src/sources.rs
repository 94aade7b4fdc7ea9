//! Several inventory sources given together (`-i a -i b`, or `-i folder/`),
//! and executable inventories (scripts that print JSON).
//!
//! A folder is read as Ansible reads one: its entries in sorted order,
//! subfolders too, skipping hidden names, `group_vars/` and `host_vars/`,
//! and names ending in one of [`IGNORED_ENDINGS`]. Hosts and groups of all
//! sources merge by name; for a var set by two sources, the later wins.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use fleet_yaml::{Diagnostic, Location};
use serde_json::{Map, Value};

use crate::ansible_vars::{add_fleet_vars, translate};
use crate::connection::{PathContext, check_value, is_connection_var};
use crate::error::InventoryError;
use crate::ini::scalar_node;
use crate::loader::{ALL, Declared, GroupDecl, HostDecl};

/// Endings Ansible's `inventory_ignore_extensions` skips in a folder.
pub const IGNORED_ENDINGS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// The inventory files that `path` stands for: itself, or a folder's files.
pub(crate) fn expand(path: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let io = |source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    let mut files = Vec::new();
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if name.starts_with('.')
            || IGNORED_ENDINGS.iter().any(|end| name.ends_with(end))
            || (entry.is_dir() && matches!(name, "group_vars" | "host_vars"))
        {
            continue;
        }
        files.extend(expand(&entry)?);
    }
    Ok(files)
}

/// Whether `path` is an inventory script: executable, and starting with
/// `#!` (Ansible's `script` plugin takes exactly those).
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let executable = std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0);
    let mut start = [0u8; 2];
    executable
        && std::fs::File::open(path)
            .and_then(|mut file| file.read_exact(&mut start))
            .is_ok()
        && &start == b"#!"
}

/// Runs the inventory script `path` with `--list` (and `--host NAME` for
/// each host when its JSON has no `_meta.hostvars`) and reads its groups.
pub(crate) fn run_script(path: &Path) -> Result<Declared, InventoryError> {
    let label = path.display().to_string();
    let list = run(path, &["--list"])?;
    let Value::Object(top) = list else {
        return Err(script_error(
            &label,
            "--list printed JSON that is not an object",
        ));
    };
    let mut declared = Declared::empty();
    let meta = top
        .get("_meta")
        .and_then(|meta| meta.get("hostvars"))
        .cloned();
    for (name, body) in &top {
        if name == "_meta" {
            continue;
        }
        let group = declared.group(name);
        match body {
            // The old short form: a group is a list of hosts.
            Value::Array(hosts) => {
                for host in hosts {
                    add_host(&mut declared, group, host, &label)?;
                }
            }
            Value::Object(body) => {
                for host in body
                    .get("hosts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    add_host(&mut declared, group, host, &label)?;
                }
                if let Some(vars) = body.get("vars").and_then(Value::as_object) {
                    let vars = checked_vars(vars.clone(), &label, path)?;
                    declared.groups[group].vars.extend(vars);
                }
                for child in body
                    .get("children")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(child) = child.as_str() else {
                        return Err(script_error(&label, "a group's children must be names"));
                    };
                    let child = declared.group(child);
                    if !declared.groups[group].children.contains(&child) {
                        declared.groups[group].children.push(child);
                        declared.groups[child].parents.push(group);
                    }
                }
            }
            _ => {
                return Err(script_error(
                    &label,
                    &format!("group `{name}` is neither a map nor a list"),
                ));
            }
        }
    }
    for index in 0..declared.hosts.len() {
        let name = declared.hosts[index].name.clone();
        let vars = match &meta {
            Some(hostvars) => hostvars
                .get(&name)
                .cloned()
                .unwrap_or(Value::Object(Map::new())),
            None => run(path, &["--host", &name])?,
        };
        let Value::Object(vars) = vars else {
            return Err(script_error(
                &label,
                &format!("the vars of host `{name}` are not a map"),
            ));
        };
        let vars = checked_vars(vars, &label, path)?;
        declared.hosts[index].vars.extend(vars);
    }
    declared.hang_under_all();
    Ok(declared)
}

/// A script's vars with the connection vars checked, and Ansible's names
/// setting fleet's, as in a file.
fn checked_vars(
    vars: Map<String, Value>,
    label: &str,
    path: &Path,
) -> Result<Map<String, Value>, InventoryError> {
    let paths = PathContext {
        base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        home: std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from),
    };
    let at = || Location::line_only(label, 1);
    let mut checked = Map::new();
    let mut translated = Vec::new();
    for (key, value) in vars {
        let node = scalar_node(&value);
        translated.extend(translate(&key, &node, at(), &paths)?);
        let value = if is_connection_var(&key) {
            check_value(&key, &node, at(), &paths)?
        } else {
            value
        };
        checked.insert(key, value);
    }
    add_fleet_vars(&mut checked, translated);
    Ok(checked)
}

fn add_host(
    declared: &mut Declared,
    group: usize,
    host: &Value,
    label: &str,
) -> Result<(), InventoryError> {
    let Some(name) = host.as_str() else {
        return Err(script_error(label, "host names must be strings"));
    };
    let host = declared.host(name, Location::line_only(label, 1));
    if !declared.hosts[host].groups.contains(&group) {
        declared.hosts[host].groups.push(group);
    }
    Ok(())
}

fn run(path: &Path, args: &[&str]) -> Result<Value, InventoryError> {
    let label = path.display().to_string();
    let program = if path.is_relative() && path.components().count() == 1 {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    };
    let output = Command::new(&program)
        .args(args)
        .output()
        .map_err(|err| script_error(&label, &format!("cannot run it: {err}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(script_error(
            &label,
            &format!(
                "`{} {}` failed ({}): {}",
                label,
                args.join(" "),
                output.status,
                stderr.trim()
            ),
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|err| {
        script_error(
            &label,
            &format!(
                "`{} {}` printed no valid JSON: {err}",
                label,
                args.join(" ")
            ),
        )
    })
}

fn script_error(label: &str, message: &str) -> InventoryError {
    InventoryError::Invalid(Diagnostic::hinted(
        Location::line_only(label, 1),
        format!("inventory script: {message}"),
        "an inventory script prints, for `--list`, a JSON object of groups \
         ({\"web\": {\"hosts\": [...], \"vars\": {...}, \"children\": [...]}}) with `_meta.hostvars`",
    ))
}

impl Declared {
    pub(crate) fn empty() -> Declared {
        let mut declared = Declared {
            groups: Vec::new(),
            hosts: Vec::new(),
        };
        declared.group(ALL);
        declared
    }

    /// The index of group `name`, added if new.
    pub(crate) fn group(&mut self, name: &str) -> usize {
        if let Some(index) = self.groups.iter().position(|group| group.name == name) {
            return index;
        }
        self.groups.push(GroupDecl {
            name: name.to_owned(),
            vars: Map::new(),
            children: Vec::new(),
            parents: Vec::new(),
        });
        self.groups.len() - 1
    }

    /// The index of host `name`, added (first seen at `location`) if new.
    pub(crate) fn host(&mut self, name: &str, location: Location) -> usize {
        if let Some(index) = self.hosts.iter().position(|host| host.name == name) {
            return index;
        }
        self.hosts.push(HostDecl {
            name: name.to_owned(),
            location,
            vars: Map::new(),
            groups: Vec::new(),
        });
        self.hosts.len() - 1
    }

    /// Makes every group without a parent a child of `all`.
    pub(crate) fn hang_under_all(&mut self) {
        for group in 1..self.groups.len() {
            if self.groups[group].parents.is_empty() {
                self.groups[0].children.push(group);
                self.groups[group].parents.push(0);
            }
        }
    }

    /// Adds `other`'s groups, hosts and vars; `other` wins on a var both set.
    pub(crate) fn merge(&mut self, other: Declared) -> Result<(), InventoryError> {
        let mut groups = HashMap::new();
        for (index, group) in other.groups.iter().enumerate() {
            let mine = self.group(&group.name);
            self.groups[mine].vars.extend(group.vars.clone());
            groups.insert(index, mine);
        }
        for (index, group) in other.groups.iter().enumerate() {
            let parent = groups[&index];
            for child in &group.children {
                let child = groups[child];
                if !self.groups[parent].children.contains(&child) {
                    self.groups[parent].children.push(child);
                    self.groups[child].parents.push(parent);
                }
            }
        }
        for host in other.hosts {
            if self.groups.iter().any(|group| group.name == host.name) {
                return Err(InventoryError::invalid(
                    host.location,
                    format!(
                        "`{}` is a host here and a group in another inventory",
                        host.name
                    ),
                    "host patterns could not tell them apart; rename the host or the group",
                ));
            }
            let mine = self.host(&host.name, host.location);
            self.hosts[mine].vars.extend(host.vars);
            for group in host.groups {
                let group = groups[&group];
                if !self.hosts[mine].groups.contains(&group) {
                    self.hosts[mine].groups.push(group);
                }
            }
        }
        Ok(())
    }
}
