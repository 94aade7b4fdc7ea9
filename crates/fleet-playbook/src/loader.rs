//! Reads the top-level file and its imports into a flat list of plays.
//!
//! A file is one play (a map), a list of plays, or a list of imports
//! (`- import: harden.yaml`, relative to the importing file), and plays and
//! imports may be mixed in one list. Imports nest; a file that imports
//! itself, directly or not, is an error naming the cycle.

use std::path::{Component, Path, PathBuf};

use fleet_yaml::{Location, Node, YamlNode, message_quote, parse_document};

use crate::LoadOptions;
use crate::error::PlaybookError;
use crate::fields::{Fields, entry};
use crate::play::{ParsedPlay, PlayContext, parse_play};

/// Reads `path` and every file it imports.
pub(crate) fn load_plays(
    path: &Path,
    options: &LoadOptions,
    template_dirs: &[PathBuf],
) -> Result<Vec<ParsedPlay>, PlaybookError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlaybookError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let roles_path = options.roles_path.clone().unwrap_or_else(|| {
        std::env::var_os("ANSIBLE_ROLES_PATH")
            .map(|paths| std::env::split_paths(&paths).collect())
            .unwrap_or_default()
    });
    let mut loader = Loader {
        options,
        template_dirs,
        roles_path,
        stack: vec![(identity(path), path.display().to_string())],
        plays: Vec::new(),
    };
    loader.read_file(path, &text)?;
    Ok(loader.plays)
}

struct Loader<'a> {
    options: &'a LoadOptions,
    template_dirs: &'a [PathBuf],
    roles_path: Vec<PathBuf>,
    /// The files being read, outermost first: (identity, label).
    stack: Vec<(PathBuf, String)>,
    plays: Vec<ParsedPlay>,
}

impl Loader<'_> {
    fn read_file(&mut self, path: &Path, text: &str) -> Result<(), PlaybookError> {
        let label = path.display().to_string();
        let f = Fields {
            label: &label,
            text,
        };
        let root = parse_document(text, &label)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        match &root.value {
            Node::Map(_) => self.read_entry(&f, &dir, &root),
            Node::Seq(items) => {
                for item in items {
                    if !matches!(item.value, Node::Map(_)) {
                        return Err(PlaybookError::invalid(
                            f.at(item),
                            format!(
                                "each entry of a playbook must be a play (a map) or `import: file.yaml`, got {}",
                                item.value.describe()
                            ),
                            "write a play like `- hosts: web\n    tasks: [...]`, or `- import: harden.yaml`",
                        ));
                    }
                    self.read_entry(&f, &dir, item)?;
                }
                Ok(())
            }
            Node::Null => Err(PlaybookError::invalid(
                Location::new(&label, 1, 1),
                "the playbook file is empty",
                "a playbook is a play (a map with `hosts` and `tasks`), a list of plays, \
                 or a list of `- import: file.yaml`",
            )),
            other => Err(PlaybookError::invalid(
                f.at(&root),
                format!(
                    "a playbook must be a play (a map) or a list of plays and imports, got {}",
                    other.describe()
                ),
                "start the file with `hosts: ...` for one play, or `- hosts: ...` for several",
            )),
        }
    }

    /// One map: an import or a play.
    fn read_entry(&mut self, f: &Fields, dir: &Path, node: &YamlNode) -> Result<(), PlaybookError> {
        // `import_playbook` is Ansible's spelling of the same thing.
        match entry(node, "import").or_else(|| entry(node, "import_playbook")) {
            Some((key, value)) => {
                if let Node::Map(entries) = &node.value
                    && let Some((other, _)) = entries.iter().find(|(k, _)| k != key)
                {
                    return Err(PlaybookError::invalid(
                        f.at(other),
                        format!(
                            "an import entry holds only `import`, but this one also has {}",
                            crate::fields::shown_key(other)
                        ),
                        "write the import alone, e.g. `- import: harden.yaml`; \
                         put play keys in the imported file",
                    ));
                }
                self.import(f, dir, value)
            }
            None => {
                let context = PlayContext {
                    dir,
                    template_dirs: self.template_dirs,
                    extra_vars: &self.options.extra_vars,
                    roles_path: &self.roles_path,
                };
                let play = parse_play(f, node, &context)?;
                self.plays.push(play);
                Ok(())
            }
        }
    }

    fn import(&mut self, f: &Fields, dir: &Path, node: &YamlNode) -> Result<(), PlaybookError> {
        let name = f.string(node, "import", "import: harden.yaml")?;
        let path = normalize(&dir.join(&name));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => {
                let why = if err.kind() == std::io::ErrorKind::NotFound {
                    "not found".to_owned()
                } else {
                    err.to_string()
                };
                return Err(PlaybookError::invalid(
                    f.at(node),
                    format!("cannot import {}: {why}", message_quote(&name)),
                    format!(
                        "looked for {}; import paths are relative to the importing file",
                        path.display()
                    ),
                ));
            }
        };
        let id = identity(&path);
        if let Some(start) = self.stack.iter().position(|(seen, _)| *seen == id) {
            let mut cycle: Vec<&str> = self.stack[start..]
                .iter()
                .map(|(_, label)| label.as_str())
                .collect();
            let label = path.display().to_string();
            cycle.push(&label);
            return Err(PlaybookError::invalid(
                f.at(node),
                format!("import cycle: {}", cycle.join(" > ")),
                "a file must not import, directly or through other files, a file that imports it",
            ));
        }
        self.stack.push((id, path.display().to_string()));
        let read = self.read_file(&path, &text);
        self.stack.pop();
        read
    }
}

/// What identifies a file for cycle detection: its canonical path when it
/// exists, else its normalized path.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| normalize(path))
}

/// Removes `.` and `dir/..` from a path without touching the disk; leading
/// `..` stay.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(component),
            },
            other => parts.push(other),
        }
    }
    parts.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_removes_dot_and_dotdot() {
        assert_eq!(
            normalize(Path::new("a/./b/../c.yaml")),
            Path::new("a/c.yaml")
        );
        assert_eq!(
            normalize(Path::new("../../t/x/../y")),
            Path::new("../../t/y")
        );
        assert_eq!(normalize(Path::new("/a/../../b")), Path::new("/b"));
        assert_eq!(normalize(Path::new("a/..")), Path::new(""));
    }
}
