//! `group_vars/` and `host_vars/` folders, next to the inventory file and
//! next to the playbook, read the way Ansible's `host_group_vars` plugin
//! reads them.
//!
//! For a group or host `NAME`, a folder holds any of the files `NAME`,
//! `NAME.yml`, `NAME.yaml`, `NAME.json`, and a folder `NAME/` whose files
//! with those extensions (or none) are read in sorted order, recursively.
//! Later files win on a conflict. Hidden files and names ending in `~`,
//! `.orig`, `.bak`, `.retry`, `.swp` are skipped.

use std::path::{Path, PathBuf};

use fleet_yaml::{Node, YamlNode};
use serde_json::{Map, Value};

use crate::connection::PathContext;
use crate::error::InventoryError;
use crate::loader::read_var_map;

/// Extensions of var files; a file without an extension is read too.
const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// Endings of names that are never var files (backups, editor files).
const IGNORED_ENDINGS: [&str; 5] = ["~", ".orig", ".bak", ".retry", ".swp"];

/// Reads one var file as a YAML document. Every `group_vars`/`host_vars`
/// file goes through this one function.
pub fn read_var_file(path: &Path) -> Result<YamlNode, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(fleet_yaml::parse_document(
        &text,
        &path.display().to_string(),
    )?)
}

/// The vars that the folder `base/kind/` (`group_vars` or `host_vars`)
/// gives `name`, or an empty map.
pub(crate) fn vars_for(
    base: &Path,
    kind: &str,
    name: &str,
    paths: &PathContext,
) -> Result<Map<String, Value>, InventoryError> {
    let dir = base.join(kind);
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(Map::new());
    }
    let plain = dir.join(name);
    if plain.is_file() {
        files.push(plain.clone());
    }
    for extension in EXTENSIONS {
        let file = dir.join(format!("{name}.{extension}"));
        if file.is_file() {
            files.push(file);
        }
    }
    if plain.is_dir() {
        collect(&plain, &mut files)?;
    }
    let mut vars = Map::new();
    for file in files {
        let root = read_var_file(&file)?;
        if matches!(root.value, Node::Null) {
            continue;
        }
        let what = format!("{kind} file for `{name}`");
        vars.extend(read_var_map(
            &root,
            &file.display().to_string(),
            paths,
            &what,
        )?);
    }
    Ok(vars)
}

/// The var files under `dir`, sorted, recursively.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    let io = |source| InventoryError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if file_name.starts_with('.') || IGNORED_ENDINGS.iter().any(|end| file_name.ends_with(end))
        {
            continue;
        }
        if path.is_dir() {
            collect(&path, files)?;
            continue;
        }
        let extension = path.extension().and_then(|extension| extension.to_str());
        if extension.is_none_or(|extension| EXTENSIONS.contains(&extension)) {
            files.push(path);
        }
    }
    Ok(())
}
