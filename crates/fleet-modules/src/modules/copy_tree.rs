//! `copy` with a controller directory as `src`, as Ansible's copy action
//! does it: every file below `src` is copied to `dest/<relative path>`
//! (`src/` copies its contents, `src` the directory itself), every
//! directory is made, and `directory_mode` (with `owner` and `group`) is
//! set on each directory of the tree, new or not, and on each directory
//! made for it.
//!
//! The probe lists `dest` (one `find`, and `sha256sum` of its files); the
//! plan makes the missing directories, uploads the files that are missing
//! or differ, and fixes attributes.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::modules::content_file::sha256_hex;
use crate::modules::copy_remote::make_dirs;
use crate::modules::file_attrs::{Attrs, Scope};
use crate::modules::path_facts::{FIND_FORMAT, Kind, parse_listing, parse_sums, split_listing};
use crate::{Controller, LocalEntry, LocalKind, Module, ModuleError, Plan, Probe, Script, Step};

#[derive(Debug)]
pub(crate) struct TreeCopy {
    src: String,
    /// `dest`, the directory the tree goes into.
    dest: String,
    /// Files by path relative to `dest`, in order.
    files: Vec<(String, Vec<u8>)>,
    /// Directories relative to `dest`, parents first.
    dirs: Vec<String>,
    attrs: Attrs,
    dir_attrs: Attrs,
    force: bool,
}

impl TreeCopy {
    /// The tree `entries` of controller directory `src` (read with
    /// `Controller::read_tree`), to copy into `dest`. A symlink is copied
    /// as the file it points to (Ansible's `local_follow: true`); one that
    /// points to a directory or nowhere is left out.
    pub fn new(
        src: &str,
        dest: &str,
        entries: Vec<LocalEntry>,
        controller: &dyn Controller,
        attrs: Attrs,
        dir_attrs: Attrs,
        force: bool,
    ) -> TreeCopy {
        let prefix = if src.ends_with('/') {
            String::new()
        } else {
            format!("{}/", src.rsplit('/').next().unwrap_or(src))
        };
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in entries {
            if entry.rel.is_empty() {
                continue;
            }
            let rel = format!("{prefix}{}", entry.rel);
            match entry.kind {
                LocalKind::Dir => dirs.push(rel),
                LocalKind::File(bytes) => files.push((rel, bytes)),
                LocalKind::Symlink(_) => {
                    let linked = format!("{}/{}", src.trim_end_matches('/'), entry.rel);
                    if let Ok(bytes) = controller.read_file(&linked) {
                        files.push((rel, bytes));
                    }
                }
            }
        }
        TreeCopy {
            src: src.to_string(),
            dest: dest.trim_end_matches('/').to_string(),
            files,
            dirs,
            attrs,
            dir_attrs,
            force,
        }
    }

    fn path(&self, rel: &str) -> String {
        if self.dest.is_empty() {
            format!("/{rel}")
        } else {
            format!("{}/{rel}", self.dest)
        }
    }
}

const PROBE: &str = r#"echo listing:
if [ -d "$t" ]; then
( cd "$t" && find . -printf "$find_format" ) 2>/dev/null
printf '\0sums\0'
( cd "$t" && find . -type f -exec sha256sum -z -- {} + ) 2>/dev/null
fi
exit 0"#;

impl Module for TreeCopy {
    fn probe(&self) -> Option<Script> {
        Some(
            Script::new()
                .set(
                    "t",
                    if self.dest.is_empty() {
                        "/"
                    } else {
                        &self.dest
                    },
                )
                .set("find_format", FIND_FORMAT)
                .snippet(PROBE),
        )
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let (_, listing) = split_listing(probe)?;
        let (records, sums) = listing.split_once("\0sums\0").unwrap_or((listing, ""));
        let host = parse_listing(records)?;
        let sums = parse_sums(sums);
        let is_dir = |rel: &str| {
            host.get(rel)
                .is_some_and(|found| found.kind == Kind::Directory)
        };
        let mut lines = Vec::new();
        // Missing directories first: those of the tree and the parents of
        // its files, each made with `directory_mode`.
        let mut missing: BTreeSet<String> = BTreeSet::new();
        for (rel, _) in &self.files {
            if let Some((dir, _)) = rel.rsplit_once('/')
                && !is_dir(dir)
            {
                missing.insert(dir.to_string());
            }
        }
        missing.extend(self.dirs.iter().filter(|dir| !is_dir(dir)).cloned());
        let mut made = Vec::new();
        for dir in &missing {
            // A parent made by an earlier `make_dirs` needs no step.
            if missing
                .iter()
                .any(|other| other != dir && other.starts_with(&format!("{dir}/")))
            {
                continue;
            }
            made.push(Step::run(make_dirs(&self.path(dir), &self.dir_attrs)));
        }
        let dest_missing = host.is_empty();
        if dest_missing && made.is_empty() && !self.files.is_empty() {
            made.push(Step::run(make_dirs(&self.dest, &self.dir_attrs)));
        }
        lines.extend(
            missing
                .iter()
                .map(|dir| format!("directory created: {dir}")),
        );
        let mut steps = made;
        let mut fixes = Vec::new();
        for (rel, bytes) in &self.files {
            let path = self.path(rel);
            match host.get(rel.as_str()) {
                None => {
                    lines.push(format!("file created: {rel}"));
                    steps.push(Step::Upload {
                        dest: path,
                        contents: bytes.clone(),
                        mode: self.attrs.mode.unwrap_or(0o644),
                        owner: self.attrs.chown_spec(),
                    });
                }
                Some(found) if found.kind == Kind::Directory => {
                    return Err(ModuleError::Failed(format!("{path} is a directory")));
                }
                Some(_) if !self.force => {}
                Some(found) => {
                    if sums.get(rel.as_str()).copied() != Some(sha256_hex(bytes).as_str()) {
                        lines.push(format!("file changed: {rel}"));
                        steps.push(Step::Upload {
                            dest: path,
                            contents: bytes.clone(),
                            mode: self.attrs.mode.unwrap_or(found.attrs.mode),
                            owner: self.attrs.chown_spec().or_else(|| {
                                Some(format!("{}:{}", found.attrs.uid, found.attrs.gid))
                            }),
                        });
                    } else if let Some(fix) =
                        self.attrs.fix(path.as_str(), &found.attrs, Scope::Path)
                    {
                        lines.extend(
                            self.attrs
                                .changes(&found.attrs)
                                .into_iter()
                                .map(|line| format!("{rel}: {line}")),
                        );
                        fixes.push(Step::run(fix));
                    }
                }
            }
        }
        // Then every existing directory of the tree gets `directory_mode`,
        // `owner` and `group`, as Ansible's `file` does for each.
        for dir in &self.dirs {
            if let Some(found) = host.get(dir.as_str()).filter(|_| is_dir(dir))
                && let Some(fix) =
                    self.dir_attrs
                        .fix(self.path(dir).as_str(), &found.attrs, Scope::Path)
            {
                lines.extend(
                    self.dir_attrs
                        .changes(&found.attrs)
                        .into_iter()
                        .map(|line| format!("{dir}: {line}")),
                );
                fixes.push(Step::run(fix));
            }
        }
        steps.extend(fixes);
        let mut data = serde_json::Map::new();
        data.insert("dest".into(), Value::String(format!("{}/", self.dest)));
        data.insert("src".into(), Value::String(self.src.clone()));
        let diff =
            (!lines.is_empty()).then(|| lines.iter().map(|line| format!("{line}\n")).collect());
        Ok(Plan {
            changed: !steps.is_empty(),
            steps,
            diff,
            data,
            ..Plan::default()
        })
    }
}

#[cfg(test)]
#[path = "copy_tree_tests.rs"]
mod tests;
