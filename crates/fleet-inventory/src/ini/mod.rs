//! INI inventories, read the way Ansible's `ini` inventory plugin reads them.
//!
//! ```ini
//! web0 ansible_host=10.0.0.9      # before any section: group `ungrouped`
//!
//! [web]
//! web[01:03].example.com ansible_user=deploy
//! db1:2222
//!
//! [prod:children]
//! web
//!
//! [prod:vars]
//! app_env=production
//! ```
//!
//! - `[group]` lists hosts, `[group:children]` child groups, `[group:vars]`
//!   `key=value` lines. A group named only in `:vars` must be declared
//!   elsewhere in the file; a child group must be declared too (before or
//!   after). Groups that no `:children` section names are children of `all`.
//! - A host line is a host pattern (`name`, `name:port`, with ranges) and
//!   `key=value` words, split like a shell line; `#` starts a comment.
//! - Values are typed as Python literals (see [`literal`]); a host line's
//!   value loses its shell quotes first, so `a="5"` is the number 5 there
//!   but the string "5" in a `:vars` section.
//! - Lines starting with `#` or `;` are comments.

mod hosts;
mod literal;

pub(crate) use hosts::split_words;

use std::collections::HashMap;

use fleet_yaml::{Location, Node, message_quote};
use serde_json::{Map, Value};

use crate::ansible_vars::{add_fleet_vars, translate};
use crate::connection::{PathContext, check_value, is_connection_var};
use crate::error::InventoryError;
use crate::loader::{ALL, Declared, GroupDecl, HostDecl, check_plain_name};

pub(crate) use literal::typed_value;

/// The group of the hosts listed before any section.
const UNGROUPED: &str = "ungrouped";

#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// A forward reference that a later section must resolve.
struct Pending {
    line: usize,
    /// The group whose `:children` names it, or `None` for a `:vars` section.
    parent: Option<String>,
}

/// Reads the INI text `text` of the file `label`.
pub(crate) fn declare(
    text: &str,
    label: &str,
    paths: &PathContext,
) -> Result<Declared, InventoryError> {
    let mut reader = Reader {
        label,
        paths,
        groups: Vec::new(),
        hosts: Vec::new(),
        group_index: HashMap::new(),
        host_index: HashMap::new(),
        pending: Vec::new(),
        group_aliases: Vec::new(),
    };
    reader.group(ALL);
    reader.group(UNGROUPED);
    reader.read(text)?;
    reader.finish()
}

struct Reader<'a> {
    label: &'a str,
    paths: &'a PathContext,
    groups: Vec<GroupDecl>,
    hosts: Vec<HostDecl>,
    group_index: HashMap<String, usize>,
    host_index: HashMap<String, usize>,
    pending: Vec<(String, Pending)>,
    /// The fleet vars that `:vars` lines set through Ansible names, in file order.
    group_aliases: Vec<(usize, (&'static str, Value))>,
}

impl Reader<'_> {
    fn at(&self, line: usize, column: usize) -> Location {
        Location::new(self.label, line as u64, column as u64)
    }

    fn fail(&self, line: usize, column: usize, message: String, hint: &str) -> InventoryError {
        InventoryError::invalid(self.at(line, column), message, hint)
    }

    fn read(&mut self, text: &str) -> Result<(), InventoryError> {
        let mut group = self.group_index[UNGROUPED];
        let mut state = State::Hosts;
        for (index, raw) in text.lines().enumerate() {
            let line_number = index + 1;
            let indent = raw.len() - raw.trim_start().len();
            let column = raw[..indent].chars().count() + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            let header =
                line.starts_with('[') && (line.ends_with(']') || section_end(line).is_some());
            if header && let Some((name, kind)) = self.section(line, line_number, column)? {
                (group, state) = self.open_section(&name, kind, line_number, column)?;
                continue;
            }
            match state {
                State::Hosts => self.host_line(group, raw, line_number)?,
                State::Vars => self.var_line(group, line, line_number, column)?,
                State::Children => self.child_line(group, line, line_number, column)?,
            }
        }
        Ok(())
    }

    /// Reads a `[name]` or `[name:kind]` header; `None` when the line is a
    /// host pattern that starts with a bracket (`[2001:db8::1]:22`).
    fn section(
        &self,
        line: &str,
        number: usize,
        column: usize,
    ) -> Result<Option<(String, State)>, InventoryError> {
        const HINT: &str = "a section header is `[group]`, `[group:vars]` or `[group:children]`, \
             with no spaces inside the brackets";
        let Some(end) = section_end(line) else {
            if line.ends_with(']') {
                return Err(self.fail(
                    number,
                    column,
                    format!("invalid section header {}", message_quote(line)),
                    HINT,
                ));
            }
            return Ok(None);
        };
        let inner = &line[1..end];
        let (name, kind) = match inner.split_once(':') {
            None => (inner, None),
            Some((name, kind)) => (name, Some(kind)),
        };
        if kind.is_some_and(|kind| kind.chars().all(|c| c.is_ascii_digit()))
            && !kind.unwrap_or_default().is_empty()
        {
            // `[host]:port` is a host line, not a section.
            return Ok(None);
        }
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(self.fail(
                number,
                column,
                format!("invalid section header {}", message_quote(line)),
                HINT,
            ));
        }
        let state = match kind {
            None | Some("hosts") => State::Hosts,
            Some("children") => State::Children,
            Some("vars") => State::Vars,
            Some(other) => {
                return Err(self.fail(
                    number,
                    column + 2 + name.chars().count(),
                    format!("section [{inner}] has unknown type `{other}`"),
                    "the only section types are `[group]`, `[group:vars]` and `[group:children]`",
                ));
            }
        };
        Ok(Some((name.to_owned(), state)))
    }

    fn open_section(
        &mut self,
        name: &str,
        state: State,
        line: usize,
        column: usize,
    ) -> Result<(usize, State), InventoryError> {
        self.check_group_name(name, line, column + 1)?;
        let group = match self.group_index.get(name) {
            Some(&group) => group,
            None => {
                if state == State::Vars && !self.is_pending(name) {
                    self.pending
                        .push((name.to_owned(), Pending { line, parent: None }));
                }
                self.group(name)
            }
        };
        if state != State::Vars {
            self.pending.retain(|(pending, _)| pending != name);
        }
        Ok((group, state))
    }

    fn is_pending(&self, name: &str) -> bool {
        self.pending.iter().any(|(pending, _)| pending == name)
    }

    fn host_line(&mut self, group: usize, raw: &str, line: usize) -> Result<(), InventoryError> {
        let words = hosts::split_words(raw).map_err(|column| {
            self.fail(
                line,
                column,
                "this quote is never closed".to_owned(),
                "close the quote on the same line, e.g. `web1 motd='hello world'`",
            )
        })?;
        let Some((pattern_word, var_words)) = words.split_first() else {
            return Ok(());
        };
        let column = pattern_word.column;
        let (pattern, port) = hosts::split_port(&pattern_word.text);
        if pattern.ends_with(':') {
            return Err(self.fail(
                line,
                column,
                format!("host pattern {} ends in `:`", message_quote(pattern)),
                "`:` after a host name gives its port, e.g. `web1:2222`",
            ));
        }
        if pattern == "---" {
            return Err(self.fail(
                line,
                column,
                "`---` in an INI inventory".to_owned(),
                "`---` starts a YAML document: name the file .yaml, or remove the line",
            ));
        }
        let names = hosts::expand_ranges(pattern).map_err(|why| {
            self.fail(
                line,
                column,
                why,
                "write a range as [begin:end] or [begin:end:step], e.g. `web[01:20].example.com` or `db-[a:f]`",
            )
        })?;
        let mut vars = Map::new();
        let mut translated = Vec::new();
        if let Some(port) = port {
            let port = typed_value(port);
            translated.extend(self.translated("ansible_port", &port, line, column)?);
            vars.insert("ansible_port".to_owned(), port);
        }
        for word in var_words {
            let Some((key, value)) = word.text.split_once('=') else {
                return Err(self.fail(
                    line,
                    word.column,
                    format!(
                        "expected a key=value host variable, got {}",
                        message_quote(&word.text)
                    ),
                    "host vars follow the host name as key=value words; quote a value with spaces, e.g. `motd='hello world'`",
                ));
            };
            self.check_var_name(key, line, word.column)?;
            let value = self.checked(key, typed_value(value), line, word.column)?;
            translated.extend(self.translated(key, &value, line, word.column)?);
            vars.insert(key.to_owned(), value);
        }
        add_fleet_vars(&mut vars, translated);
        for name in names {
            self.check_host_name(&name, line, column)?;
            self.add_host(group, &name, &vars, line, column);
        }
        Ok(())
    }

    fn var_line(
        &mut self,
        group: usize,
        line: &str,
        number: usize,
        column: usize,
    ) -> Result<(), InventoryError> {
        let Some((key, value)) = line.split_once('=') else {
            return Err(self.fail(
                number,
                column,
                format!("expected key=value, got {}", message_quote(line)),
                "a `[group:vars]` section holds one `key=value` per line",
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        self.check_var_name(key, number, column)?;
        let value = self.checked(key, typed_value(value), number, column)?;
        if let Some(translated) = self.translated(key, &value, number, column)? {
            self.group_aliases.push((group, translated));
        }
        self.groups[group].vars.insert(key.to_owned(), value);
        Ok(())
    }

    fn child_line(
        &mut self,
        parent: usize,
        line: &str,
        number: usize,
        column: usize,
    ) -> Result<(), InventoryError> {
        let name = line
            .split_once('#')
            .map_or(line, |(name, _)| name)
            .trim_end();
        if name.is_empty() || name.contains([':', ']']) || name.contains(char::is_whitespace) {
            return Err(self.fail(
                number,
                column,
                format!("expected a group name, got {}", message_quote(line)),
                "a `[group:children]` section holds one group name per line",
            ));
        }
        self.check_group_name(name, number, column)?;
        let child = match self.group_index.get(name) {
            Some(&child) => child,
            None => {
                let parent_name = self.groups[parent].name.clone();
                match self.pending.iter_mut().find(|(pending, _)| pending == name) {
                    Some((_, pending)) => {
                        pending.parent = pending.parent.take().or(Some(parent_name))
                    }
                    None => self.pending.push((
                        name.to_owned(),
                        Pending {
                            line: number,
                            parent: Some(parent_name),
                        },
                    )),
                }
                self.group(name)
            }
        };
        if child == 0 {
            return Err(self.fail(
                number,
                column,
                "`all` cannot be a child group".to_owned(),
                "`all` is the root group and already holds every host",
            ));
        }
        if self.reaches(child, parent) {
            return Err(self.fail(
                number,
                column,
                format!(
                    "group `{name}` would contain itself through `{}`",
                    self.groups[parent].name
                ),
                "groups must form a tree without cycles; remove one of the `:children` lines",
            ));
        }
        if !self.groups[parent].children.contains(&child) {
            self.groups[parent].children.push(child);
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    /// Whether `to` is `from` or one of its descendants.
    fn reaches(&self, from: usize, to: usize) -> bool {
        from == to
            || self.groups[from]
                .children
                .iter()
                .any(|&child| self.reaches(child, to))
    }

    fn checked(
        &self,
        key: &str,
        value: Value,
        line: usize,
        column: usize,
    ) -> Result<Value, InventoryError> {
        if !is_connection_var(key) {
            return Ok(value);
        }
        check_value(key, &scalar_node(&value), self.at(line, column), self.paths)
    }

    fn translated(
        &self,
        key: &str,
        value: &Value,
        line: usize,
        column: usize,
    ) -> Result<Option<(&'static str, Value)>, InventoryError> {
        translate(key, &scalar_node(value), self.at(line, column), self.paths)
    }

    fn check_var_name(&self, key: &str, line: usize, column: usize) -> Result<(), InventoryError> {
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(self.fail(
                line,
                column,
                format!("invalid variable name {}", message_quote(key)),
                "a variable name is a word such as `app_port`, followed by `=` and the value",
            ));
        }
        Ok(())
    }

    fn check_group_name(
        &self,
        name: &str,
        line: usize,
        column: usize,
    ) -> Result<(), InventoryError> {
        if self.host_index.contains_key(name) {
            return Err(self.clash(name, line, column));
        }
        check_plain_name(name, "group")
            .map_err(|(message, hint)| self.fail(line, column, message, &hint))
    }

    fn check_host_name(
        &self,
        name: &str,
        line: usize,
        column: usize,
    ) -> Result<(), InventoryError> {
        if self.group_index.contains_key(name) {
            return Err(self.clash(name, line, column));
        }
        check_plain_name(name, "host")
            .map_err(|(message, hint)| self.fail(line, column, message, &hint))
    }

    fn clash(&self, name: &str, line: usize, column: usize) -> InventoryError {
        self.fail(
            line,
            column,
            format!("`{name}` is used both as a host name and as a group name"),
            "host patterns could not tell them apart; rename the host or the group",
        )
    }

    fn group(&mut self, name: &str) -> usize {
        self.group_index.insert(name.to_owned(), self.groups.len());
        self.groups.push(GroupDecl {
            name: name.to_owned(),
            vars: Map::new(),
            children: Vec::new(),
            parents: Vec::new(),
        });
        self.groups.len() - 1
    }

    fn add_host(
        &mut self,
        group: usize,
        name: &str,
        vars: &Map<String, Value>,
        line: usize,
        column: usize,
    ) {
        let host = match self.host_index.get(name) {
            Some(&host) => host,
            None => {
                self.host_index.insert(name.to_owned(), self.hosts.len());
                self.hosts.push(HostDecl {
                    name: name.to_owned(),
                    location: self.at(line, column),
                    vars: Map::new(),
                    groups: Vec::new(),
                });
                self.hosts.len() - 1
            }
        };
        let decl = &mut self.hosts[host];
        decl.vars.extend(vars.clone());
        if !decl.groups.contains(&group) {
            decl.groups.push(group);
        }
    }

    /// Reports the first unresolved forward reference, hangs the top-level
    /// groups under `all`, and keeps in `ungrouped` only the hosts that are
    /// in no other group, as Ansible does.
    fn finish(mut self) -> Result<Declared, InventoryError> {
        if let Some((name, pending)) = self.pending.first() {
            let (message, hint) = match &pending.parent {
                None => (
                    format!(
                        "section [{name}:vars] is for group `{name}`, which the file never declares"
                    ),
                    format!(
                        "declare the group with a `[{name}]` section (it may be empty), or fix the name"
                    ),
                ),
                Some(parent) => (
                    format!(
                        "section [{parent}:children] names group `{name}`, which the file never declares"
                    ),
                    format!(
                        "declare the group with a `[{name}]` section (it may be empty), or fix the name"
                    ),
                ),
            };
            return Err(self.fail(pending.line, 1, message, &hint));
        }
        // The last Ansible name written wins; a fleet name written in the same section wins over all.
        for (group, translated) in std::mem::take(&mut self.group_aliases).into_iter().rev() {
            add_fleet_vars(&mut self.groups[group].vars, vec![translated]);
        }
        for group in 1..self.groups.len() {
            if self.groups[group].parents.is_empty() {
                self.groups[0].children.push(group);
                self.groups[group].parents.push(0);
            }
        }
        let ungrouped = self.group_index[UNGROUPED];
        for host in &mut self.hosts {
            if host.groups.len() > 1 {
                host.groups.retain(|&group| group != ungrouped);
            }
        }
        Ok(Declared {
            groups: self.groups,
            hosts: self.hosts,
        })
    }
}

/// Where a section header's `]` is, when the line is `[...]` followed by
/// nothing but blanks or a `#` comment.
fn section_end(line: &str) -> Option<usize> {
    let end = line.find(']')?;
    let rest = line[end + 1..].trim_start();
    (rest.is_empty() || rest.starts_with('#')).then_some(end)
}

/// A scalar value as a YAML node, so INI values go through the same
/// connection var checks as YAML ones.
pub(crate) fn scalar_node(value: &Value) -> Node {
    match value {
        Value::Null => Node::Null,
        Value::Bool(flag) => Node::Bool(*flag),
        Value::Number(number) => match number.as_i64() {
            Some(int) => Node::Int(int.into()),
            None => number
                .as_u64()
                .map(|int| Node::Int(int.into()))
                .unwrap_or_else(|| Node::Float(number.as_f64().unwrap_or_default())),
        },
        Value::String(text) => Node::Str(text.clone()),
        Value::Array(_) => Node::Seq(Vec::new()),
        Value::Object(_) => Node::Map(Vec::new()),
    }
}

/// Whether an inventory file's text is INI rather than YAML: its first
/// meaningful line (not blank, not a `#` or `;` comment) is a `[section]`
/// header or a host line, not `---`, `{`, or a YAML `key:`.
pub(crate) fn looks_like_ini(text: &str) -> bool {
    let Some(first) = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with(['#', ';']))
    else {
        return false;
    };
    if first.starts_with("---") || first.starts_with('{') || first.starts_with("%YAML") {
        return false;
    }
    if first.starts_with('[') {
        return section_end(first).is_some() || !first.contains(": ");
    }
    match first.split_once(':') {
        Some((key, rest)) => {
            !(key.chars().all(|c| !c.is_whitespace())
                && (rest.is_empty() || rest.starts_with([' ', '\t'])))
        }
        None => true,
    }
}

#[cfg(test)]
mod tests;
