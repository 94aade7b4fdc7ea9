//! Turns a play's task list into flat tasks: blocks (`block`, `rescue`,
//! `always`) and task files (`import_tasks`, `include_tasks`, the legacy
//! `include`) are expanded in place, and the keywords written on them are
//! given to every task inside, as Ansible does.
//!
//! Each task keeps which blocks it is in ([`BlockPart`]), so that the
//! engine can run `rescue` when the body fails on a host and `always` in
//! every case.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use fleet_yaml::{Node, YamlNode, did_you_mean, parse_document};
use serde_json::{Map, Value};

use crate::error::PlaybookError;
use crate::fields::{Fields, entry, shown_key};
use crate::includes::STATIC_INCLUDES;
use crate::play::read_vars;
use crate::task::{DYNAMIC_INCLUDES, parse_task, read_delegate_to, read_environment};
use crate::{BlockPart, IncludePart, Section, Task};

/// A task with the map it was read from, for validation.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) task: Task,
    pub(crate) node: YamlNode,
    /// The file the task is in.
    pub(crate) label: String,
}

/// The keywords a block, a task file include or a role may hold besides
/// its own.
pub(crate) const INHERITED: &[&str] = &[
    "name",
    "when",
    "tags",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "vars",
    "environment",
    "ignore_errors",
    "no_log",
    "check_mode",
    "delegate_to",
    "delegate_facts",
    "run_once",
];

/// The keys that make a task list entry a role.
const ROLE_TASKS: &[&str] = &[
    "import_role",
    "include_role",
    "ansible.builtin.import_role",
    "ansible.builtin.include_role",
    "ansible.legacy.import_role",
    "ansible.legacy.include_role",
];

/// The role a task comes from.
#[derive(Debug)]
pub(crate) struct RoleScope {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) defaults: Map<String, Value>,
}

/// What enclosing blocks, includes and roles give the tasks inside them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// Conditions, outermost first: all must hold.
    when: Vec<String>,
    tags: Vec<String>,
    r#become: Option<bool>,
    become_user: Option<String>,
    become_method: Option<crate::BecomeMethod>,
    become_flags: Option<crate::BecomeFlags>,
    environment: Vec<(String, String)>,
    ignore_errors: Option<bool>,
    no_log: Option<bool>,
    check_mode: Option<bool>,
    delegate_to: Option<(String, fleet_yaml::Location)>,
    delegate_facts: Option<bool>,
    run_once: Option<bool>,
    blocks: Vec<BlockPart>,
    pub(crate) included: Vec<IncludePart>,
    pub(crate) vars: Map<String, Value>,
    pub(crate) role: Option<Rc<RoleScope>>,
}

/// Expands the task lists of one play.
pub(crate) struct Expander<'a> {
    /// The play's folder: task files are looked for next to the file that
    /// includes them, then here; roles under its `roles/`.
    pub(crate) play_dir: &'a Path,
    next_block: usize,
    /// Numbers the play's dynamic includes.
    pub(crate) next_include: usize,
    /// The task files being read, outermost first, for cycles.
    stack: Vec<PathBuf>,
    /// `ANSIBLE_ROLES_PATH` or `roles_path` of `ansible.cfg`.
    pub(crate) roles_path: Vec<PathBuf>,
    /// The roles expanded so far: folder, params, `when`/`tags`/`vars` and
    /// `tasks_from`.
    pub(crate) roles_seen: Vec<(PathBuf, Value, Value, String)>,
    /// Every role's defaults and vars, in the order the roles came.
    pub(crate) role_defaults: Map<String, Value>,
    pub(crate) role_vars: Map<String, Value>,
    /// Every role's handlers.
    pub(crate) role_handlers: Vec<Entry>,
}

impl<'a> Expander<'a> {
    pub(crate) fn new(play_dir: &'a Path, roles_path: Vec<PathBuf>) -> Expander<'a> {
        Expander {
            play_dir,
            next_block: 0,
            next_include: 0,
            stack: Vec::new(),
            roles_path,
            roles_seen: Vec::new(),
            role_defaults: Map::new(),
            role_vars: Map::new(),
            role_handlers: Vec::new(),
        }
    }

    /// The tasks of the play's `roles:` list `nodes`, in file `f`.
    pub(crate) fn roles(
        &mut self,
        f: &Fields,
        nodes: &[YamlNode],
    ) -> Result<Vec<Entry>, PlaybookError> {
        let mut out = Vec::new();
        for node in nodes {
            self.role_entry(f, node, &Scope::default(), &mut out)?;
        }
        Ok(out)
    }

    /// The tasks of the list `nodes` in file `f`; `what` is "task" or
    /// "handler".
    pub(crate) fn expand(
        &mut self,
        f: &Fields,
        nodes: &[YamlNode],
        what: &str,
    ) -> Result<Vec<Entry>, PlaybookError> {
        let mut out = Vec::new();
        let dir = Path::new(f.label).parent().unwrap_or(Path::new(""));
        self.list(f, dir, nodes, &Scope::default(), what, &mut out)?;
        Ok(out)
    }

    fn list(
        &mut self,
        f: &Fields,
        dir: &Path,
        nodes: &[YamlNode],
        scope: &Scope,
        what: &str,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        for node in nodes {
            if entry(node, "block").is_some() {
                self.block(f, dir, node, scope, what, out)?;
            } else if let Some((key, value)) = STATIC_INCLUDES
                .iter()
                .chain(DYNAMIC_INCLUDES)
                .find_map(|include| entry(node, include))
            {
                self.include(f, dir, node, key, value, scope, what, out)?;
            } else if let Some((key, value)) = ROLE_TASKS.iter().find_map(|role| entry(node, role))
            {
                let key = key.value.as_str().unwrap_or_default();
                self.role_task(f, node, key, value, scope, out)?;
            } else {
                let node = crate::action_keys::normalize(f, node)?;
                let mut task = parse_task(f, &node, what)?;
                inherit(scope, &node, &mut task, what);
                out.push(Entry {
                    task,
                    node,
                    label: f.label.to_owned(),
                });
            }
        }
        Ok(())
    }

    fn block(
        &mut self,
        f: &Fields,
        dir: &Path,
        node: &YamlNode,
        scope: &Scope,
        what: &str,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        if what == "handler" {
            return self.handler_block(f, dir, node, scope, out);
        }
        const PARTS: [(&str, Section); 3] = [
            ("block", Section::Body),
            ("rescue", Section::Rescue),
            ("always", Section::Always),
        ];
        let own: Vec<&str> = PARTS.iter().map(|(key, _)| *key).collect();
        let scope = scope_of(f, node, scope, &own, "block")?;
        let block = self.next_block;
        self.next_block += 1;
        for (key, section) in PARTS {
            let Some((_, value)) = entry(node, key) else {
                continue;
            };
            let items = match &value.value {
                Node::Seq(items) => items.as_slice(),
                Node::Null => &[],
                _ => {
                    return Err(f.wrong_type(
                        value,
                        key,
                        "a list of tasks",
                        &format!("{key}: [{{command: uptime}}]"),
                    ));
                }
            };
            let mut inner = scope.clone();
            inner.blocks.push(BlockPart { block, section });
            self.list(f, dir, items, &inner, what, out)?;
        }
        Ok(())
    }

    /// A block in `handlers`: as in Ansible, each task of its `block:` is a
    /// handler of its own, notified by its name or `listen`, with the
    /// block's keywords. Ansible runs neither `rescue` nor `always` there,
    /// so fleet refuses them, and nested blocks.
    fn handler_block(
        &mut self,
        f: &Fields,
        dir: &Path,
        node: &YamlNode,
        scope: &Scope,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        for key in ["rescue", "always"] {
            if let Some((at, _)) = entry(node, key) {
                return Err(PlaybookError::invalid(
                    f.at(at),
                    format!("a handler block cannot have `{key}`"),
                    "Ansible runs only the `block:` tasks of a handler block, each as a handler \
                     of its own; handle failures in the tasks that notify",
                ));
            }
        }
        let scope = scope_of(f, node, scope, &["block"], "block")?;
        let Some((_, value)) = entry(node, "block") else {
            return Ok(());
        };
        let items = match &value.value {
            Node::Seq(items) => items.as_slice(),
            Node::Null => &[],
            _ => {
                return Err(f.wrong_type(
                    value,
                    "block",
                    "a list of handlers",
                    "block: [{name: restart app, command: systemctl restart app}]",
                ));
            }
        };
        if let Some(inner) = items.iter().find(|item| entry(item, "block").is_some()) {
            return Err(PlaybookError::invalid(
                f.at(inner),
                "a handler block cannot hold another block",
                "list the handlers of the inner block in the outer one",
            ));
        }
        self.list(f, dir, items, &scope, "handler", out)
    }

    /// Whether the task file at `path` is being read: it includes, directly
    /// or not, the file being read now.
    pub(crate) fn including(&self, path: &Path) -> bool {
        let id = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.stack.contains(&id)
    }

    /// The tasks of the task file at `path`, in `scope`.
    pub(crate) fn task_file(
        &mut self,
        path: &Path,
        scope: &Scope,
        what: &str,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        let id = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&id) {
            return Err(PlaybookError::invalid(
                fleet_yaml::Location::line_only(path.display().to_string(), 1),
                format!("task file {} includes itself", path.display()),
                "a task file must not include, directly or not, a file that includes it",
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|source| PlaybookError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let label = path.display().to_string();
        let file = Fields {
            label: &label,
            text: &text,
        };
        let root = parse_document(&text, &label)?;
        let items = match &root.value {
            Node::Seq(items) => items.as_slice(),
            Node::Null => &[],
            other => {
                return Err(PlaybookError::invalid(
                    file.at(&root),
                    format!(
                        "a task file must be a list of tasks, got {}",
                        other.describe()
                    ),
                    "write one `- name: ...` entry per task",
                ));
            }
        };
        let inner_dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        self.stack.push(id);
        let read = self.list(&file, &inner_dir, items, scope, what, out);
        self.stack.pop();
        read
    }
}

/// `scope` with the keywords of the block or include `node` added; `own`
/// are the keys that make it one.
pub(crate) fn scope_of(
    f: &Fields,
    node: &YamlNode,
    scope: &Scope,
    own: &[&str],
    what: &str,
) -> Result<Scope, PlaybookError> {
    let Node::Map(entries) = &node.value else {
        return Err(f.wrong_type(node, what, "a map", "block: [{command: uptime}]"));
    };
    let mut scope = scope.clone();
    for (key, value) in entries {
        let name = key.value.as_str().unwrap_or_default();
        match name {
            _ if own.contains(&name) => {}
            "name" => {
                f.string(value, name, "name: app setup")?;
            }
            "when" => scope.when.push(f.condition(value, name, true)?),
            "tags" => scope.tags.extend(f.strings(value, name, "tags: [setup]")?),
            "become" => scope.r#become = Some(f.bool(value, name)?),
            "become_user" => {
                scope.become_user = Some(f.string(value, name, "become_user: postgres")?);
            }
            "become_method" => {
                scope.become_method = Some(crate::become_keys::read_become_method(f, value)?);
            }
            "become_flags" => {
                scope.become_flags = Some(crate::become_keys::read_become_flags(f, value)?);
            }
            "vars" => scope.vars.extend(read_vars(f, value, "block vars")?),
            "environment" => {
                for (var, text) in read_environment(f, value)? {
                    scope.environment.retain(|(name, _)| *name != var);
                    scope.environment.push((var, text));
                }
            }
            "ignore_errors" => scope.ignore_errors = Some(f.bool(value, name)?),
            "no_log" => scope.no_log = Some(f.bool(value, name)?),
            "check_mode" => scope.check_mode = Some(f.bool(value, name)?),
            "run_once" => scope.run_once = Some(f.bool(value, name)?),
            "delegate_to" => scope.delegate_to = Some((read_delegate_to(f, value)?, f.at(value))),
            "delegate_facts" => scope.delegate_facts = Some(f.bool(value, name)?),
            _ => {
                let keys: Vec<&str> = own.iter().chain(INHERITED).copied().collect();
                let advice = did_you_mean(name, keys.iter().copied())
                    .map(|near| near + " ")
                    .unwrap_or_default();
                return Err(PlaybookError::invalid(
                    f.at(key),
                    format!("unknown key {} on `{what}`", shown_key(key)),
                    format!("{advice}`{what}` may hold the keys {}", keys.join(", ")),
                ));
            }
        }
    }
    Ok(scope)
}

/// Gives `task` (read from `node`) what its scope sets and it does not.
pub(crate) fn inherit(scope: &Scope, node: &YamlNode, task: &mut Task, what: &str) {
    let written = |key: &str| entry(node, key).is_some();
    let mut conditions = scope.when.clone();
    conditions.extend(task.when.take());
    task.when = match conditions.len() {
        0 => None,
        1 => conditions.pop(),
        _ => Some(
            conditions
                .iter()
                .map(|condition| format!("({condition})"))
                .collect::<Vec<_>>()
                .join(" and "),
        ),
    };
    for tag in &scope.tags {
        if !task.tags.contains(tag) {
            task.tags.push(tag.clone());
        }
    }
    if task.r#become.is_none() {
        task.r#become = scope.r#become;
    }
    if task.become_user.is_none() {
        task.become_user.clone_from(&scope.become_user);
    }
    if task.check_mode.is_none() {
        task.check_mode = scope.check_mode;
    }
    if task.become_method.is_none() {
        task.become_method = scope.become_method;
    }
    if task.become_flags.is_none() {
        task.become_flags.clone_from(&scope.become_flags);
    }
    if let (None, Some((target, at))) = (&task.delegate_to, &scope.delegate_to) {
        task.delegate_to = Some(target.clone());
        task.delegate_at = Some(at.clone());
    }
    let mut vars = scope.vars.clone();
    vars.extend(std::mem::take(&mut task.vars));
    task.vars = vars;
    let mut environment = scope.environment.clone();
    for (name, value) in std::mem::take(&mut task.environment) {
        environment.retain(|(var, _)| *var != name);
        environment.push((name, value));
    }
    task.environment = environment;
    let flags = [
        (
            "ignore_errors",
            scope.ignore_errors,
            &mut task.ignore_errors,
        ),
        ("no_log", scope.no_log, &mut task.no_log),
        ("run_once", scope.run_once, &mut task.run_once),
        (
            "delegate_facts",
            scope.delegate_facts,
            &mut task.delegate_facts,
        ),
    ];
    for (key, inherited, flag) in flags {
        if let Some(value) = inherited.filter(|_| !written(key)) {
            *flag = value;
        }
    }
    task.blocks = scope.blocks.clone();
    task.included = scope.included.clone();
    if let Some(role) = &scope.role {
        task.role_dir = Some(role.dir.clone());
        task.role_defaults = role.defaults.clone();
        if what != "task" {
            task.aliases.push(task.name.clone());
        }
        task.name = format!("{} : {}", role.name, task.name);
    }
}
