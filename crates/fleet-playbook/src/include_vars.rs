//! Where `include_vars` finds its files on the controller, and what they
//! hold, as in Ansible: a `file` is looked up in the task's role (`vars/`,
//! then the role itself), next to the file of the task (`vars/`, then
//! there), then in the play's folder (`vars/`, then there); a `dir` is
//! under the role's `vars/` for a task of a role, else next to the task's
//! file.

use std::path::{Path, PathBuf};

use fleet_modules::modules::include_vars::{DirSource, IncludedVars, VarsSource};
use fleet_yaml::parse_document;
use regex::Regex;
use serde_json::Value;

use crate::includes::glob_pattern;
use crate::loader::normalize;
use crate::templater::is_template;
use crate::{Play, Task};

/// The variables of the files `source` names, for a task of `play` from
/// the role in `role_dir` (if any), written at `origin` (`file:line:col`).
pub fn read_included_vars(
    play: &Play,
    role_dir: Option<&Path>,
    origin: &str,
    source: &VarsSource,
) -> Result<IncludedVars, String> {
    let task_dir = origin_dir(origin);
    match source {
        VarsSource::File(file) => {
            let candidates = file_candidates(play, role_dir, &task_dir, file);
            let path = candidates
                .iter()
                .find(|path| path.is_file())
                .ok_or_else(|| {
                    let looked: Vec<String> =
                        candidates.iter().map(|p| p.display().to_string()).collect();
                    format!(
                        "vars file {file:?} not found; looked for {}",
                        looked.join(", ")
                    )
                })?;
            let mut included = IncludedVars::default();
            read_into(path, &mut included)?;
            Ok(included)
        }
        VarsSource::Dir(dir) => read_dir(&dir_path(role_dir, &task_dir, &dir.dir), dir, role_dir),
    }
}

/// The names an `include_vars` task sets, when they can be known before the
/// run: its `name`, or the keys of its file (of every file a templated
/// name can render to); none for a templated folder or a file that cannot
/// be read (the task then fails when it runs).
pub(crate) fn names_set(play: &Play, task: &Task) -> Vec<String> {
    let Ok((source, name)) = fleet_modules::modules::include_vars::source(task.params.clone())
    else {
        return Vec::new();
    };
    if let Some(name) = name {
        return vec![name];
    }
    let task_dir = origin_dir(&task.origin);
    let role_dir = task.role_dir.as_deref();
    let mut names: Vec<String> = Vec::new();
    let mut add = |included: IncludedVars| {
        for key in included.vars.keys() {
            if !names.contains(key) {
                names.push(key.clone());
            }
        }
    };
    match &source {
        VarsSource::File(file) if is_template(file) => {
            let pattern = glob_pattern(file);
            for candidate in file_candidates(play, role_dir, &task_dir, &pattern) {
                let Ok(paths) = glob::glob(&candidate.display().to_string()) else {
                    continue;
                };
                for path in paths.flatten().filter(|path| path.is_file()) {
                    let mut included = IncludedVars::default();
                    if read_into(&path, &mut included).is_ok() {
                        add(included);
                    }
                }
            }
        }
        VarsSource::Dir(dir) if is_template(&dir.dir) => {}
        _ => {
            if let Ok(included) = read_included_vars(play, role_dir, &task.origin, &source) {
                add(included);
            }
        }
    }
    names
}

/// The folder of the file in `origin` (`file:line:col`).
fn origin_dir(origin: &str) -> PathBuf {
    let mut parts = origin.rsplitn(3, ':');
    let file = match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(file)) => file,
        _ => origin,
    };
    Path::new(file)
        .parent()
        .unwrap_or(Path::new(""))
        .to_path_buf()
}

fn file_candidates(
    play: &Play,
    role_dir: Option<&Path>,
    task_dir: &Path,
    file: &str,
) -> Vec<PathBuf> {
    if Path::new(file).is_absolute() {
        return vec![PathBuf::from(file)];
    }
    let mut candidates = Vec::new();
    for base in role_dir.into_iter().chain([task_dir, play.dir.as_path()]) {
        for candidate in [base.join("vars").join(file), base.join(file)] {
            let candidate = normalize(&candidate);
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
    }
    candidates
}

fn dir_path(role_dir: Option<&Path>, task_dir: &Path, dir: &str) -> PathBuf {
    if Path::new(dir).is_absolute() {
        return PathBuf::from(dir);
    }
    match role_dir {
        Some(role) if dir == "vars" || dir.starts_with("vars/") => normalize(&role.join(dir)),
        Some(role) => normalize(&role.join("vars").join(dir)),
        None => normalize(&task_dir.join(dir)),
    }
}

/// Reads the vars file at `path` into `included`, over what it holds.
fn read_into(path: &Path, included: &mut IncludedVars) -> Result<(), String> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|err| format!("cannot read {shown}: {err}"))?;
    let root = parse_document(&text, &shown).map_err(|err| err.to_string())?;
    match root.value.to_json() {
        Value::Null => {}
        Value::Object(vars) => included.vars.extend(vars),
        _ => return Err(format!("{shown} must hold a map of variables")),
    }
    included.files.push(shown);
    Ok(())
}

/// Every file under `root` that `dir` selects, folders in name order, the
/// files of each in name order; a role's own `vars/main.yml` is left out.
fn read_dir(root: &Path, dir: &DirSource, role_dir: Option<&Path>) -> Result<IncludedVars, String> {
    let shown = root.display().to_string();
    if !root.exists() {
        return Err(format!("{shown} directory does not exist"));
    }
    if !root.is_dir() {
        return Err(format!("{shown} is not a directory"));
    }
    let regex = |pattern: &str| Regex::new(pattern).map_err(|err| err.to_string());
    let matching = dir.files_matching.as_deref().map(regex).transpose()?;
    let ignored = dir
        .ignore_files
        .iter()
        .map(|pattern| regex(&format!("(?:{pattern})$")))
        .collect::<Result<Vec<_>, _>>()?;
    let role_main = role_dir.map(|role| normalize(&role.join("vars").join("main.yml")));
    let mut folders = Vec::new();
    walk(root, 1, dir.depth, &mut folders);
    folders.sort_by(|a, b| a.0.cmp(&b.0));
    let mut included = IncludedVars::default();
    for (_, files) in folders {
        for path in files {
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            if role_main.as_ref() == Some(&normalize(&path))
                || matching.as_ref().is_some_and(|m| !m.is_match(&name))
                || ignored.iter().any(|ignore| ignore.is_match(&name))
            {
                continue;
            }
            let extension = path
                .extension()
                .map(|ext| ext.to_string_lossy().into_owned());
            if !extension.is_some_and(|ext| dir.extensions.contains(&ext)) {
                if dir.ignore_unknown_extensions {
                    continue;
                }
                return Err(format!(
                    "{} does not have a valid extension: {}",
                    path.display(),
                    dir.extensions.join(", ")
                ));
            }
            read_into(&path, &mut included)?;
        }
    }
    Ok(included)
}

/// Collects `(folder, its files sorted)` for `folder` and the folders
/// under it, down to `depth` levels (0: all).
fn walk(folder: &Path, level: usize, depth: usize, out: &mut Vec<(String, Vec<PathBuf>)>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut files = Vec::new();
    let mut folders = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            folders.push(path);
        } else {
            files.push(path);
        }
    }
    files.sort();
    if depth == 0 || level <= depth {
        out.push((folder.display().to_string(), files));
    }
    for sub in folders {
        walk(&sub, level + 1, depth, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_names_the_tasks_folder() {
        assert_eq!(
            origin_dir("roles/app/tasks/main.yml:3:5"),
            Path::new("roles/app/tasks")
        );
        assert_eq!(origin_dir("site.yml:1:1"), Path::new(""));
    }

    #[test]
    fn a_dir_is_read_in_name_order_with_its_filters() {
        let root = std::env::temp_dir().join(format!("fleet-incvars-{}", fleet_shell::token()));
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("b.yml"), "x: b\nb: 1\n").unwrap();
        std::fs::write(root.join("a.yaml"), "x: a\na: 1\n").unwrap();
        std::fs::write(root.join("sub/c.json"), "{\"x\": \"c\"}").unwrap();
        std::fs::write(root.join("sub/deeper/d.yml"), "x: d\n").unwrap();
        std::fs::write(root.join("notes.txt"), "hello").unwrap();
        let mut dir = DirSource {
            dir: String::new(),
            depth: 0,
            files_matching: None,
            ignore_files: Vec::new(),
            extensions: ["yaml", "yml", "json"].map(String::from).to_vec(),
            ignore_unknown_extensions: false,
        };
        let err = read_dir(&root, &dir, None).unwrap_err();
        assert!(
            err.contains("notes.txt does not have a valid extension"),
            "{err}"
        );
        dir.ignore_unknown_extensions = true;
        let all = read_dir(&root, &dir, None).unwrap();
        assert_eq!(all.vars["x"], "d");
        let names: Vec<&str> = all
            .files
            .iter()
            .map(|f| f.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yml", "c.json", "d.yml"]);
        dir.depth = 2;
        assert_eq!(read_dir(&root, &dir, None).unwrap().vars["x"], "c");
        dir.depth = 1;
        dir.files_matching = Some("^b".into());
        let only_b = read_dir(&root, &dir, None).unwrap();
        assert_eq!(
            (only_b.vars["x"].as_str(), only_b.vars.get("a")),
            (Some("b"), None)
        );
        dir.files_matching = None;
        dir.ignore_files = vec!["b.yml".into()];
        assert_eq!(read_dir(&root, &dir, None).unwrap().vars["x"], "a");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
