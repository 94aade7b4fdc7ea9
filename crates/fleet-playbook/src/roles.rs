//! Roles: the play key `roles:` and the tasks `import_role`/`include_role`,
//! read when the playbook loads.
//!
//! A role is a folder with `tasks/`, `handlers/`, `defaults/`, `vars/`,
//! `meta/`, `templates/` and `files/`, each file `main.yml` or `main.yaml`
//! (`tasks_from` and the like pick another). It is found under `roles/`
//! next to the playbook, then in each folder of `ANSIBLE_ROLES_PATH` (or
//! ansible.cfg's `roles_path`), then next to the playbook itself; a name
//! with `/` is a path from there.
//! `meta/main.yml` `dependencies` run first; a role runs once per play with
//! the same params unless its meta says `allow_duplicates: true`.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use fleet_yaml::{Node, YamlNode, message_quote, parse_document};
use serde_json::{Map, Value};

use crate::error::PlaybookError;
use crate::expand::{Entry, Expander, RoleScope, Scope, scope_of};
use crate::fields::{Fields, entry};
use crate::play::read_vars;

/// The keys of an `import_role`/`include_role` map.
const ROLE_TASK_KEYS: &[&str] = &[
    "name",
    "tasks_from",
    "vars_from",
    "defaults_from",
    "handlers_from",
    "allow_duplicates",
    "public",
    "apply",
];

/// One use of a role.
struct RoleUse {
    name: String,
    tasks_from: String,
    vars_from: String,
    defaults_from: String,
    handlers_from: String,
    /// Role params (`- {role: app, port: 80}`), above the role's vars.
    params: Map<String, Value>,
    /// The entry's `when`, `tags` and `vars`, which, with the params, tell
    /// one use of a role from another, as in Ansible: `- app` and
    /// `- {role: app, vars: {port: 80}}` both run.
    distinct_by: Map<String, Value>,
}

impl RoleUse {
    fn named(name: String) -> RoleUse {
        RoleUse {
            name,
            tasks_from: "main".into(),
            vars_from: "main".into(),
            defaults_from: "main".into(),
            handlers_from: "main".into(),
            params: Map::new(),
            distinct_by: Map::new(),
        }
    }
}

impl Expander<'_> {
    /// An entry of the play's `roles:` list, or of a role's `dependencies`:
    /// a name, or a map with `role:` (or `name:`), keywords and params.
    pub(crate) fn role_entry(
        &mut self,
        f: &Fields,
        node: &YamlNode,
        scope: &Scope,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        const EXAMPLE: &str = "roles: [common, {role: app, vars: {port: 8000}}]";
        let (role, scope) = match &node.value {
            Node::Str(name) => (RoleUse::named(name.clone()), scope.clone()),
            Node::Map(entries) => {
                let name_node = entry(node, "role")
                    .or_else(|| entry(node, "name"))
                    .map(|(_, value)| value)
                    .ok_or_else(|| f.wrong_type(node, "roles", "a role name", EXAMPLE))?;
                let mut role = RoleUse::named(f.string(name_node, "role", EXAMPLE)?);
                let mut keywords = Vec::new();
                for (key, value) in entries {
                    let name = key.value.as_str().unwrap_or_default();
                    if name == "role" || name == "name" {
                        continue;
                    }
                    if crate::expand::INHERITED.contains(&name) {
                        if matches!(name, "when" | "tags" | "vars") {
                            role.distinct_by
                                .insert(name.to_owned(), value.value.to_json());
                        }
                        keywords.push((key.clone(), value.clone()));
                    } else {
                        role.params.insert(name.to_owned(), value.value.to_json());
                    }
                }
                let keyword_node = YamlNode {
                    value: Node::Map(keywords),
                    ..node.clone()
                };
                let scope = scope_of(f, &keyword_node, scope, &[], "role")?;
                (role, scope)
            }
            _ => return Err(f.wrong_type(node, "roles", "a role name or a map", EXAMPLE)),
        };
        self.role(f, node, role, &scope, true, out)
    }

    /// A task `import_role: {name: …}` or `include_role: {name: …}` whose
    /// map is `value`, on the task `node`.
    pub(crate) fn role_task(
        &mut self,
        f: &Fields,
        node: &YamlNode,
        key: &str,
        value: &YamlNode,
        scope: &Scope,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        let example = format!("{key}: {{name: app, tasks_from: deploy}}");
        let Node::Map(entries) = &value.value else {
            return Err(f.wrong_type(value, key, "a map", &example));
        };
        let name = entry(value, "name")
            .map(|(_, name)| f.string(name, "name", &example))
            .transpose()?
            .ok_or_else(|| f.wrong_type(value, key, "a map with `name`", &example))?;
        let mut role = RoleUse::named(name);
        let mut scope = scope_of(f, node, scope, &[key], key)?;
        for (entry_key, entry_value) in entries {
            let word = entry_key.value.as_str().unwrap_or_default();
            let from = |f: &Fields| f.string(entry_value, word, &example);
            match word {
                "name" | "public" | "allow_duplicates" => {}
                "tasks_from" => role.tasks_from = from(f)?,
                "vars_from" => role.vars_from = from(f)?,
                "defaults_from" => role.defaults_from = from(f)?,
                "handlers_from" => role.handlers_from = from(f)?,
                "apply" => scope = scope_of(f, entry_value, &scope, &[], "apply")?,
                _ => {
                    return Err(PlaybookError::invalid(
                        f.at(entry_key),
                        format!("unknown key `{word}` on `{key}`"),
                        format!("`{key}` may hold {}", ROLE_TASK_KEYS.join(", ")),
                    ));
                }
            }
        }
        self.role(f, value, role, &scope, false, out)
    }

    /// Expands one use of a role (its dependencies first) into `out`. A
    /// role of `roles:` or `dependencies` (`once`) that already ran with
    /// the same params is skipped; `import_role` always runs.
    fn role(
        &mut self,
        f: &Fields,
        at: &YamlNode,
        role: RoleUse,
        scope: &Scope,
        once: bool,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        let dir = self.find_role(f, at, &role.name)?;
        let meta = read_map_file(&dir.join("meta"), "main")?;
        let allow_duplicates = meta
            .as_ref()
            .and_then(|(_, root)| entry(root, "allow_duplicates"))
            .is_some_and(|(_, value)| matches!(value.value, Node::Bool(true)));
        let identity = (
            std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()),
            Value::Object(role.params.clone()),
            Value::Object(role.distinct_by.clone()),
            role.tasks_from.clone(),
        );
        if once && self.roles_seen.contains(&identity) && !allow_duplicates {
            return Ok(());
        }
        self.roles_seen.push(identity);
        if let Some((label, root)) = &meta
            && let Some((_, dependencies)) = entry(root, "dependencies")
        {
            let text = std::fs::read_to_string(label).unwrap_or_default();
            let file = Fields { label, text: &text };
            if let Node::Seq(items) = &dependencies.value {
                for item in items {
                    self.role_entry(&file, item, scope, out)?;
                }
            }
        }
        let short = role
            .name
            .rsplit('/')
            .next()
            .unwrap_or(&role.name)
            .to_owned();
        let defaults = read_vars_file(&dir.join("defaults"), &role.defaults_from)?;
        let vars = read_vars_file(&dir.join("vars"), &role.vars_from)?;
        self.role_defaults.extend(defaults.clone());
        self.role_vars.extend(vars.clone());
        let mut inner = scope.clone();
        inner.vars.extend(vars);
        inner.vars.extend(role.params);
        inner
            .vars
            .insert("role_name".into(), Value::String(short.clone()));
        inner
            .vars
            .insert("role_path".into(), Value::String(dir.display().to_string()));
        inner.role = Some(Rc::new(RoleScope {
            name: short,
            dir: dir.clone(),
            defaults,
        }));
        if let Some(path) = role_file(&dir.join("handlers"), &role.handlers_from) {
            let mut handlers = Vec::new();
            self.task_file(&path, &inner, "handler", &mut handlers)?;
            self.role_handlers.extend(handlers);
        }
        if let Some(path) = role_file(&dir.join("tasks"), &role.tasks_from) {
            self.task_file(&path, &inner, "task", out)?;
        }
        Ok(())
    }

    /// The folder of the role `name`.
    fn find_role(&self, f: &Fields, at: &YamlNode, name: &str) -> Result<PathBuf, PlaybookError> {
        if name.split('.').count() == 3 && !name.contains('/') {
            return Err(PlaybookError::invalid(
                f.at(at),
                format!(
                    "role {} is a collection role, which fleet cannot load",
                    message_quote(name)
                ),
                "copy the role into `roles/` next to the playbook",
            ));
        }
        let candidates: Vec<PathBuf> = if Path::new(name).is_absolute() {
            vec![PathBuf::from(name)]
        } else {
            std::iter::once(self.play_dir.join("roles"))
                .chain(self.roles_path.iter().cloned())
                .chain(std::iter::once(self.play_dir.to_path_buf()))
                .map(|base| crate::loader::normalize(&base.join(name)))
                .collect()
        };
        candidates
            .iter()
            .find(|dir| dir.is_dir())
            .cloned()
            .ok_or_else(|| {
                let looked: Vec<String> = candidates
                    .iter()
                    .map(|dir| dir.display().to_string())
                    .collect();
                PlaybookError::invalid(
                    f.at(at),
                    format!("role {} not found", message_quote(name)),
                    format!(
                        "looked in {}; put the role under `roles/` next to the playbook, \
                         or add its folder to ANSIBLE_ROLES_PATH (or to roles_path in ansible.cfg)",
                        looked.join(", ")
                    ),
                )
            })
    }
}

/// `<dir>/<name>`, `<name>.yml` or `<name>.yaml`, whichever exists.
fn role_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [
        dir.join(name),
        dir.join(format!("{name}.yml")),
        dir.join(format!("{name}.yaml")),
    ]
    .into_iter()
    .find(|path| path.is_file())
}

/// The YAML of the role file `name` in `dir`, with its label, when it
/// exists.
fn read_map_file(dir: &Path, name: &str) -> Result<Option<(String, YamlNode)>, PlaybookError> {
    let Some(path) = role_file(dir, name) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| PlaybookError::Io {
        path: path.clone(),
        source,
    })?;
    let label = path.display().to_string();
    let root = parse_document(&text, &label)?;
    Ok(Some((label, root)))
}

/// The variables of a role's `defaults/` or `vars/` file; none when it
/// does not exist.
fn read_vars_file(dir: &Path, name: &str) -> Result<Map<String, Value>, PlaybookError> {
    let Some((label, root)) = read_map_file(dir, name)? else {
        return Ok(Map::new());
    };
    let text = std::fs::read_to_string(&label).unwrap_or_default();
    let file = Fields {
        label: &label,
        text: &text,
    };
    read_vars(&file, &root, "a role vars file")
}
