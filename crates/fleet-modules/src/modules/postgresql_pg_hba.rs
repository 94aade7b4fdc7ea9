//! `postgresql_pg_hba`: adds, changes and removes rules of a pg_hba.conf,
//! like community.postgresql's `postgresql_pg_hba`, which rewrites the
//! whole file its way when a rule changes (see `postgresql_pg_hba_rules`).
//! The file is read by the probe and written as `lineinfile` writes, with
//! Ansible's mode for it (0600, from its temp file) unless `mode` says
//! otherwise.

use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Value, json};

use super::de;
use super::postgres::invalid;
use crate::modules::content_file::{self, State, Write};
use crate::modules::file_attrs::Attrs;
use crate::{
    Applied, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput,
    parse_params,
};

#[path = "postgresql_pg_hba_rules.rs"]
pub(crate) mod rules;

use rules::{METHODS, Rule, Spec, TYPES, parse_file, render, sort_rules, tokenize};

pub const PARAMS: &[&str] = &[
    "dest",
    "contype",
    "databases",
    "users",
    "address",
    "source",
    "src",
    "netmask",
    "method",
    "options",
    "comment",
    "state",
    "create",
    "backup",
    "keep_comments_at_rules",
    "overwrite",
    "rules",
    "rules_behavior",
    "sort_rules",
    "mode",
    "owner",
    "group",
];

/// The rule-specific parameters, at the top or in `rules`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleParams {
    pub contype: Option<String>,
    pub databases: Option<String>,
    pub users: Option<String>,
    #[serde(alias = "source", alias = "src")]
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub method: Option<String>,
    pub options: Option<String>,
    pub comment: Option<String>,
    pub state: Option<HbaState>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HbaState {
    #[default]
    Present,
    Absent,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RulesBehavior {
    #[default]
    Conflict,
    Combine,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HbaParams {
    pub dest: String,
    pub contype: Option<String>,
    pub databases: Option<String>,
    pub users: Option<String>,
    #[serde(alias = "source", alias = "src")]
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub method: Option<String>,
    pub options: Option<String>,
    pub comment: Option<String>,
    pub state: Option<HbaState>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub create: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    /// Deprecated by community.postgresql; does nothing there either.
    #[allow(dead_code)]
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub keep_comments_at_rules: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub overwrite: bool,
    #[serde(default)]
    pub rules: Option<Vec<RuleParams>>,
    #[serde(default)]
    pub rules_behavior: RulesBehavior,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub sort_rules: bool,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug)]
pub struct PostgresqlPgHba {
    dest: String,
    specs: Vec<Spec>,
    create: bool,
    backup: bool,
    overwrite: bool,
    sort: bool,
    attrs: Attrs,
    /// The plan's `msgs`, which a run extends.
    msgs: Mutex<Vec<String>>,
}

const MODULE: &str = "postgresql_pg_hba";

/// A rule's params over `defaults` (the module's, or with `combine` the
/// task's own).
fn spec(rule: &RuleParams, defaults: &RuleParams) -> Spec {
    let pick = |own: &Option<String>, default: &Option<String>, fallback: Option<&str>| {
        own.clone()
            .or_else(|| default.clone())
            .or(fallback.map(String::from))
    };
    Spec {
        contype: pick(&rule.contype, &defaults.contype, None),
        databases: pick(&rule.databases, &defaults.databases, Some("all")).unwrap_or_default(),
        users: pick(&rule.users, &defaults.users, Some("all")).unwrap_or_default(),
        address: pick(&rule.address, &defaults.address, Some("samehost")),
        netmask: pick(&rule.netmask, &defaults.netmask, None),
        method: pick(&rule.method, &defaults.method, Some("md5")).unwrap_or_default(),
        options: pick(&rule.options, &defaults.options, None),
        comment: pick(&rule.comment, &defaults.comment, None),
        present: rule.state.or(defaults.state).unwrap_or_default() == HbaState::Present,
    }
}

/// The top-level rule params given with other than the module's default.
fn used_keys(rule: &RuleParams) -> Vec<&'static str> {
    let differs = |value: &Option<String>, default: Option<&str>| {
        value.as_deref().is_some_and(|v| Some(v) != default)
    };
    let mut used = Vec::new();
    for (key, value, default) in [
        ("address", &rule.address, Some("samehost")),
        ("comment", &rule.comment, None),
        ("contype", &rule.contype, None),
        ("databases", &rule.databases, Some("all")),
        ("method", &rule.method, Some("md5")),
        ("netmask", &rule.netmask, None),
        ("options", &rule.options, None),
    ] {
        if differs(value, default) {
            used.push(key);
        }
    }
    if rule.state == Some(HbaState::Absent) {
        used.push("state");
    }
    if differs(&rule.users, Some("all")) {
        used.push("users");
    }
    used
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    Ok(Box::new(new(params)?))
}

fn new(params: Value) -> Result<PostgresqlPgHba, ModuleError> {
    if params.get("backup_file").is_some() {
        return Err(invalid(
            MODULE,
            "backup_file is not supported (see docs/modules/postgresql_pg_hba.md)",
        ));
    }
    let p: HbaParams = parse_params(MODULE, params)?;
    let top = RuleParams {
        contype: p.contype.clone(),
        databases: p.databases.clone(),
        users: p.users.clone(),
        address: p.address.clone(),
        netmask: p.netmask.clone(),
        method: p.method.clone(),
        options: p.options.clone(),
        comment: p.comment.clone(),
        state: p.state,
    };
    if let Some(contype) = &top.contype
        && !TYPES.contains(&contype.as_str())
    {
        return Err(invalid(
            MODULE,
            format!(
                "value of contype must be one of: {}, got: {contype}",
                TYPES.join(", ")
            ),
        ));
    }
    if let Some(method) = &top.method
        && !METHODS.contains(&method.as_str())
    {
        return Err(invalid(
            MODULE,
            format!(
                "value of method must be one of: {}, got: {method}",
                METHODS.join(", ")
            ),
        ));
    }
    let none = RuleParams::default();
    let wanted: Vec<Spec> = match p.rules.as_ref().filter(|rules| !rules.is_empty()) {
        None if top.contype.is_none() && top.comment.is_none() => Vec::new(),
        None => vec![spec(&top, &none)],
        Some(list) => {
            let used = used_keys(&top);
            if p.rules_behavior == RulesBehavior::Conflict && !used.is_empty() {
                return Err(invalid(
                    MODULE,
                    format!(
                        "conflict: either argument \"rules_behavior\" needs to be changed or \"rules\" must not be set or {used:?} must not be set"
                    ),
                ));
            }
            let defaults = match p.rules_behavior {
                RulesBehavior::Combine => &top,
                RulesBehavior::Conflict => &none,
            };
            list.iter().map(|rule| spec(rule, defaults)).collect()
        }
    };
    // One rule for each database and user of a comma list.
    let mut specs = Vec::new();
    for rule in wanted {
        let split = |text: &str| -> Vec<String> {
            if text.starts_with('"') {
                vec![text.to_string()]
            } else {
                text.split(',').map(String::from).collect()
            }
        };
        for database in split(&rule.databases) {
            for user in split(&rule.users) {
                for (what, name) in [("database", &database), ("users", &user)] {
                    if tokenize(name).map(|t| t.len()).unwrap_or(0) != 1 {
                        return Err(ModuleError::Failed(format!(
                            "Invalid string for {what}: {name}"
                        )));
                    }
                }
                specs.push(Spec {
                    databases: database.clone(),
                    users: user,
                    ..rule.clone()
                });
            }
        }
    }
    let attrs = Attrs::new(MODULE, p.mode, p.owner, p.group)?;
    Ok(PostgresqlPgHba {
        dest: p.dest,
        specs,
        create: p.create,
        backup: p.backup,
        overwrite: p.overwrite,
        sort: p.sort_rules,
        attrs,
        msgs: Mutex::new(Vec::new()),
    })
}

/// What the rules came to.
pub(crate) struct Outcome {
    pub changed: bool,
    pub msgs: Vec<String>,
    pub rules: Vec<Rule>,
}

/// community.postgresql's `update_rules`: each rule added, replaced or
/// removed in place; or, with `overwrite`, the wanted rules alone.
pub(crate) fn apply_rules(
    specs: &[Spec],
    mut existing: Vec<Rule>,
    overwrite: bool,
    sort: bool,
) -> Result<Outcome, String> {
    let mut msgs = Vec::new();
    let mut changed = false;
    if overwrite {
        let mut wanted = specs
            .iter()
            .map(|spec| match (&spec.contype, &spec.comment) {
                (None, Some(comment)) if !comment.is_empty() => {
                    Ok(Rule::comment_line(Some(comment)))
                }
                _ => Rule::from_spec(spec),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if sort {
            sort_rules(&mut wanted);
        }
        changed = !rules::identical_lists(&wanted, &existing);
        if changed {
            existing = wanted;
        }
    } else {
        for spec in specs {
            let rule = if spec.contype.as_deref().is_some_and(|c| !c.is_empty()) {
                Rule::from_spec(&Spec {
                    databases: rules::sorted_names(&spec.databases),
                    users: rules::sorted_names(&spec.users),
                    ..spec.clone()
                })?
            } else {
                Rule::comment_line(spec.comment.as_deref())
            };
            let index = existing.iter().position(|old| old.same_key(&rule));
            match (spec.present, index) {
                (true, None) => {
                    msgs.push(format!("Adding rule {}", rule.serialize()));
                    existing.push(rule);
                    changed = true;
                }
                (true, Some(at)) if !existing[at].identical(&rule) => {
                    msgs.push(format!("Updating rule {}", rule.serialize()));
                    existing[at] = rule;
                    changed = true;
                }
                (false, Some(at)) => {
                    msgs.push(format!("Removing rule {}", rule.serialize()));
                    existing.remove(at);
                    changed = true;
                }
                _ => {}
            }
        }
    }
    if changed {
        if sort {
            sort_rules(&mut existing);
        }
        msgs.push("Changed".into());
    }
    Ok(Outcome {
        changed,
        msgs,
        rules: existing,
    })
}

/// Copies the file to `dest.<pid>.<date>~`, as Ansible names its backups,
/// and prints where.
const BACKUP: &str = "backup=\"$p\".$$.\"$(date +%Y-%m-%d@%H:%M:%S)\"~ && cp -- \"$p\" \"$backup\" \
    && printf 'backup_file=%s\\n' \"$backup\"";

impl Module for PostgresqlPgHba {
    fn target(&self) -> Option<&str> {
        Some(&self.dest)
    }

    fn probe(&self) -> Option<Script> {
        Some(content_file::probe(&self.dest, None, None))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let found = content_file::parse(probe)?;
        let existing = match &found.state {
            State::File(file) => {
                let text = super::lineinfile::file_text(&self.dest, file.content.as_deref())?;
                match parse_file(&text) {
                    Ok(rules) => rules,
                    Err(_) if self.overwrite => Vec::new(),
                    Err(err) => {
                        return Err(ModuleError::Failed(format!("Error reading file:\n{err}")));
                    }
                }
            }
            _ => Vec::new(),
        };
        let outcome = apply_rules(&self.specs, existing, self.overwrite, self.sort)
            .map_err(|err| ModuleError::Failed(format!("Error modifying rules:\n{err}")))?;
        let text = render(&outcome.rules);
        let mut data = serde_json::Map::new();
        data.insert("msgs".into(), json!(outcome.msgs));
        data.insert("pg_hba_string".into(), json!(text));
        data.insert(
            "pg_hba".into(),
            Value::Array(
                outcome
                    .rules
                    .iter()
                    .filter(|rule| !rule.special)
                    .map(Rule::to_json)
                    .collect(),
            ),
        );
        *self.msgs.lock().unwrap_or_else(|e| e.into_inner()) = outcome.msgs.clone();
        if !outcome.changed {
            return Ok(Plan {
                data,
                ..Plan::unchanged()
            });
        }
        let mut plan = match &found.state {
            State::Absent if !self.create => Plan {
                // Fails the run, not check mode, where Ansible only warns.
                steps: vec![Step::run(Script::of(Cmd::new("false")))],
                msg: Some(format!(
                    "The file '{}' doesn't exist and `create` is `false`.",
                    self.dest
                )),
                ..Plan::default()
            },
            _ => {
                let attrs = Attrs {
                    mode: Some(self.attrs.mode.unwrap_or(0o600)),
                    ..self.attrs.clone()
                };
                let mut plan = content_file::plan(
                    &found,
                    &Write {
                        contents: text.as_bytes(),
                        attrs: &attrs,
                        backup: false,
                        make_parent: false,
                        new_dirs: None,
                        follow: true,
                    },
                )?;
                if self.backup && matches!(found.state, State::File(_)) {
                    let backup = Script::new().set("p", self.dest.as_str()).snippet(BACKUP);
                    plan.steps.insert(0, Step::run(backup));
                }
                plan
            }
        };
        plan.changed = true;
        plan.data = data;
        Ok(plan)
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        match outputs.iter().find(|out| out.rc != 0) {
            Some(out) if out.stderr.trim().is_empty() => Err(ModuleError::Failed(format!(
                "pg_hba file '{}' doesn't exist. Use the create option to autocreate.",
                self.dest
            ))),
            Some(out) => Err(ModuleError::StepFailed {
                rc: out.rc,
                stderr: out.stderr.trim_end().to_string(),
            }),
            None => Ok(()),
        }
    }

    fn applied(&self, outputs: &[StepOutput]) -> Option<Applied> {
        let mut msgs = self.msgs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut data = serde_json::Map::new();
        let backup = outputs
            .iter()
            .flat_map(|out| out.stdout.lines())
            .find_map(|line| line.strip_prefix("backup_file="));
        if let Some(path) = backup {
            msgs.push("Creating Backup".into());
            data.insert("backup_file".into(), json!(path));
        }
        msgs.push("Writing".into());
        data.insert("msgs".into(), json!(msgs));
        Some(Applied {
            changed: true,
            data,
            msg: None,
        })
    }
}

#[cfg(test)]
#[path = "postgresql_pg_hba_tests.rs"]
mod tests;
