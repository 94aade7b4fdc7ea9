//! Task file includes: `import_tasks` puts a file's tasks in place when
//! the playbook loads; `include_tasks` (and the legacy `include`) is a task
//! of its own that includes a file per host when it runs, as in Ansible.
//!
//! A dynamic include's file name may be a template. Every file it can
//! name is loaded and validated with the playbook: each `{{ … }}` (or
//! `{% … %}`) of the name stands for any part of one path component, so
//! `setup-{{ mode }}.yml` loads every `setup-*.yml` next to the including
//! file and in the play's folder. When the include runs, the name is
//! rendered with the host's vars (per loop item) and must name one of
//! those files.
//!
//! The include's own keywords are its own (`when` is checked once per
//! pass, `tags` select the include); `vars` go to the included tasks, and
//! `apply:` gives block keywords to them.

use std::path::{Path, PathBuf};

use fleet_yaml::{Node, YamlNode, message_quote, parse_document};

use crate::error::PlaybookError;
use crate::expand::{Entry, Expander, Scope, inherit, scope_of};
use crate::fields::{Fields, entry, shown_key};
use crate::loader::normalize;
use crate::play::read_vars;
use crate::task::{DYNAMIC_INCLUDES, parse_task};
use crate::templater::is_template;
use crate::{Include, IncludePart};

/// The keys of a static task file include.
pub(crate) const STATIC_INCLUDES: &[&str] = &[
    "import_tasks",
    "ansible.builtin.import_tasks",
    "ansible.legacy.import_tasks",
];

/// The keywords a dynamic include takes besides its own key (and any
/// `with_*` loop), as Ansible's `include_tasks` does.
const INCLUDE_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "loop_control",
    "tags",
    "vars",
    "ignore_errors",
    "no_log",
];

/// The keys of an include's map form.
const INCLUDE_PARAMS: &[&str] = &["file", "apply"];

impl Expander<'_> {
    /// A task file include in the list read from `f` (in folder `dir`):
    /// `key` is the keyword, `value` its value.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn include(
        &mut self,
        f: &Fields,
        dir: &Path,
        node: &YamlNode,
        key: &YamlNode,
        value: &YamlNode,
        scope: &Scope,
        what: &str,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        let keyword = key.value.as_str().unwrap_or_default();
        let example = format!("{keyword}: tasks/app.yml");
        let (name, apply) = match &value.value {
            Node::Map(entries) => {
                if let Some((bad, _)) = entries
                    .iter()
                    .find(|(k, _)| !INCLUDE_PARAMS.contains(&k.value.as_str().unwrap_or("")))
                {
                    return Err(PlaybookError::invalid(
                        f.at(bad),
                        format!("unknown key {} on `{keyword}`", shown_key(bad)),
                        format!("`{keyword}` takes {}", INCLUDE_PARAMS.join(" and ")),
                    ));
                }
                let name = match entry(value, "file") {
                    Some((_, file)) => f.string(file, "file", &example)?,
                    None => return Err(f.wrong_type(value, keyword, "a file name", &example)),
                };
                (name, entry(value, "apply").map(|(_, apply)| apply))
            }
            _ => (f.string(value, keyword, &example)?, None),
        };
        let dynamic = DYNAMIC_INCLUDES.contains(&keyword);
        if keyword.ends_with("include") {
            crate::warnings::warn(
                f.at(key),
                format!("`{keyword}` was removed from Ansible; fleet reads it as `include_tasks`"),
                "write `include_tasks` (or `import_tasks`; `import_playbook` for plays)",
            );
        }
        if let Some(apply) = apply.filter(|_| !dynamic || what == "handler") {
            return Err(PlaybookError::invalid(
                f.at(apply),
                format!("`apply` is not a key of `{keyword}` here"),
                "`apply` goes on `include_tasks` in a task list; on `import_tasks` write the \
                 keywords on the import itself",
            ));
        }
        if dynamic && what == "task" {
            return self.dynamic_include(f, dir, node, keyword, &name, apply, scope, out);
        }
        if is_template(&name) {
            return Err(PlaybookError::invalid(
                f.at(value),
                format!(
                    "`{keyword}` with a templated file name ({}) is not supported here",
                    message_quote(&name)
                ),
                "an `import_tasks` is read when the playbook loads, and so is an include in \
                 `handlers`: name the file itself, or use `include_tasks` in a task list",
            ));
        }
        if let Some((loop_key, _)) = ["loop", "with_items"]
            .iter()
            .find_map(|key| entry(node, key))
        {
            return Err(PlaybookError::invalid(
                f.at(loop_key),
                format!("`{keyword}` with a loop is not supported here"),
                "an `import_tasks` cannot loop (as in Ansible); use `include_tasks` in a task list",
            ));
        }
        let own = [keyword];
        let scope = scope_of(f, node, scope, &own, keyword)?;
        let path = self
            .bases(dir)
            .iter()
            .map(|base| normalize(&base.join(&name)))
            .find(|path| path.is_file())
            .ok_or_else(|| not_found(f, value, &name, &self.bases(dir)))?;
        self.task_file(&path, &scope, what, out)
    }

    /// Where a relative task file name is looked up: next to the including
    /// file, then in the play's folder.
    fn bases(&self, dir: &Path) -> Vec<PathBuf> {
        let mut bases = vec![normalize(dir)];
        let play_dir = normalize(self.play_dir);
        if !bases.contains(&play_dir) {
            bases.push(play_dir);
        }
        bases
    }

    /// An `include_tasks`: the include itself, then the tasks of each file
    /// it can name, marked with the file they come from.
    #[allow(clippy::too_many_arguments)]
    fn dynamic_include(
        &mut self,
        f: &Fields,
        dir: &Path,
        node: &YamlNode,
        keyword: &str,
        name: &str,
        apply: Option<&YamlNode>,
        scope: &Scope,
        out: &mut Vec<Entry>,
    ) -> Result<(), PlaybookError> {
        check_keywords(f, node, keyword)?;
        let mut include = parse_task(f, node, "task")?;
        let own_vars = match entry(node, "vars") {
            Some((_, vars)) => read_vars(f, vars, "include vars")?,
            None => Default::default(),
        };
        inherit(scope, node, &mut include, "task");
        include.params = serde_json::json!({ "file": name });
        let bases = self.bases(dir);
        let files = if is_template(name) {
            let files = self.candidates(name, &bases);
            if files.is_empty() {
                return Err(PlaybookError::invalid(
                    f.at(entry(node, keyword).map_or(node, |(_, value)| value)),
                    format!(
                        "no task file matches the templated name {}",
                        message_quote(name)
                    ),
                    format!(
                        "fleet loads every file the name can render to before the run: each \
                         `{{{{ … }}}}` stands for part of one file or folder name, looked up in {}",
                        shown_dirs(&bases)
                    ),
                ));
            }
            files
        } else {
            let at = entry(node, keyword).map_or(node, |(_, value)| value);
            let path = bases
                .iter()
                .map(|base| normalize(&base.join(name)))
                .find(|path| path.is_file())
                .ok_or_else(|| not_found(f, at, name, &bases))?;
            vec![path]
        };
        let id = self.next_include;
        self.next_include += 1;
        include.include = Some(Include {
            id,
            file: name.to_owned(),
            bases,
            files: files.clone(),
            left_out: Vec::new(),
        });
        out.push(Entry {
            task: include,
            node: node.clone(),
            label: f.label.to_owned(),
        });
        let mut inner = scope.clone();
        inner.vars.extend(own_vars);
        if let Some(apply) = apply {
            inner = scope_of(f, apply, &inner, &[], "apply")?;
        }
        for (index, path) in files.iter().enumerate() {
            let mut scope = inner.clone();
            scope.included.push(IncludePart {
                include: id,
                file: index,
            });
            self.task_file(path, &scope, "task", out)?;
        }
        Ok(())
    }

    /// The task files the templated name `name` can render to, under each
    /// of `bases`, sorted. A file that includes this one (directly or not)
    /// is left out, and so are files that are not task lists: a vars map,
    /// a playbook.
    fn candidates(&self, name: &str, bases: &[PathBuf]) -> Vec<PathBuf> {
        let pattern = glob_pattern(name);
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let mut files: Vec<PathBuf> = Vec::new();
        for base in bases {
            let full = if Path::new(name).is_absolute() {
                pattern.clone()
            } else {
                let base = glob::Pattern::escape(&base.display().to_string());
                if base.is_empty() {
                    pattern.clone()
                } else {
                    format!("{base}/{pattern}")
                }
            };
            let Ok(paths) = glob::glob_with(&full, options) else {
                continue;
            };
            for path in paths.flatten() {
                let path = normalize(&path);
                if path.is_file() && !files.contains(&path) && !self.including(&path) {
                    files.push(path);
                }
            }
        }
        files.retain(|path| may_hold_tasks(path));
        files.sort();
        files
    }
}

/// Refuses keywords that Ansible's `include_tasks` does not take.
fn check_keywords(f: &Fields, node: &YamlNode, keyword: &str) -> Result<(), PlaybookError> {
    let Node::Map(entries) = &node.value else {
        return Ok(());
    };
    for (key, _) in entries {
        let word = key.value.as_str().unwrap_or_default();
        if word == keyword || INCLUDE_KEYWORDS.contains(&word) || word.starts_with("with_") {
            continue;
        }
        return Err(PlaybookError::invalid(
            f.at(key),
            format!("`{word}` cannot be set on `{keyword}`"),
            format!(
                "an include is a task of its own that takes {} and `with_*` loops; keywords for the \
                 included tasks go under `apply:`, e.g. `{keyword}: {{file: app.yml, apply: \
                 {{become: true}}}}`",
                INCLUDE_KEYWORDS.join(", ")
            ),
        ));
    }
    Ok(())
}

fn not_found(f: &Fields, at: &YamlNode, name: &str, bases: &[PathBuf]) -> PlaybookError {
    PlaybookError::invalid(
        f.at(at),
        format!("cannot include {}: not found", message_quote(name)),
        format!(
            "looked in {}; task file paths are relative to the including file",
            shown_dirs(bases)
        ),
    )
}

fn shown_dirs(bases: &[PathBuf]) -> String {
    let shown: Vec<String> = bases
        .iter()
        .map(|base| match base.as_os_str().is_empty() {
            true => ".".to_owned(),
            false => base.display().to_string(),
        })
        .collect();
    shown.join(" and ")
}

/// `name` as a glob: each template region becomes `*`, the rest matches
/// itself.
pub(crate) fn glob_pattern(name: &str) -> String {
    let mut pattern = String::new();
    let mut literal = String::new();
    let mut rest = name;
    while !rest.is_empty() {
        let open = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|open| rest.find(open).map(|at| (at, *open)))
            .min();
        let Some((at, open)) = open else {
            literal.push_str(rest);
            break;
        };
        literal.push_str(&rest[..at]);
        let close = match open {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let after = &rest[at + 2..];
        let end = after.find(close).map_or(after.len(), |end| end + 2);
        pattern.push_str(&glob::Pattern::escape(&literal));
        literal.clear();
        if open != "{#" && !pattern.ends_with('*') {
            pattern.push('*');
        }
        rest = &after[end.min(after.len())..];
    }
    pattern.push_str(&glob::Pattern::escape(&literal));
    pattern
}

/// Whether the file at `path` may be a task file: not a map or a scalar,
/// and not a list of plays. A file that does not parse is kept, so that
/// loading it reports the error.
fn may_hold_tasks(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return true;
    };
    let Ok(root) = parse_document(&text, &path.display().to_string()) else {
        return true;
    };
    match &root.value {
        Node::Null => true,
        Node::Seq(items) => !items.iter().any(|item| {
            entry(item, "hosts").is_some()
                || entry(item, "import_playbook").is_some()
                || entry(item, "ansible.builtin.import_playbook").is_some()
        }),
        _ => false,
    }
}

#[cfg(test)]
#[path = "includes_tests.rs"]
mod tests;
