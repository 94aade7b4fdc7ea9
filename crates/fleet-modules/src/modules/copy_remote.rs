//! `copy` with `remote_src: true`: `src` is a file or a directory already
//! on the host, copied to `dest` on the same host, the way Ansible's
//! `copy` module does it there.
//!
//! - A file is compared by checksum; a different one is copied to a temp
//!   file next to the destination (`cp --preserve=mode,timestamps`, as
//!   Python's `copystat`) and renamed over it.
//! - A directory follows Ansible's four cases (`src` with or without a
//!   trailing `/`, `dest` existing or not): a missing tree is copied whole
//!   (`cp -RP --preserve=mode,timestamps`, as `shutil.copytree`), an
//!   existing one is merged: files only in `src` are copied, files whose
//!   size or modification time differ are compared by content and copied
//!   when different (content and mode), as `filecmp.dircmp` decides, and
//!   nothing is removed.
//!
//! The probe lists both trees (one `find` each, and `sha256sum` of their
//! files), so the plan knows every copy before anything runs.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::modules::content_file::{backup_script, parent};
use crate::modules::file_attrs::{Attrs, Scope, octal};
use crate::modules::path_facts::{
    Current, FIND_FORMAT, Kind, Listed, PathFacts, STAT_FORMAT, parse_listing,
};
use crate::text::fields;
use crate::{Arg, Cmd, Module, ModuleError, Plan, Probe, Script, Step};

/// Names `filecmp.dircmp` skips when it compares two directories (so a
/// merge never copies them; a whole-tree copy does).
const DIRCMP_IGNORES: &[&str] = &[
    "RCS",
    "CVS",
    "tags",
    ".git",
    ".hg",
    ".bzr",
    "_darcs",
    "__pycache__",
];

/// Prints what `$s` is; for a file its sha1 (Ansible's checksum) and mode.
const SOURCE: &str = r#"if [ -d "$s" ]; then echo src=directory
elif [ -f "$s" ]; then
if [ -r "$s" ]; then sum=$(sha1sum < "$s"); echo "src_sha1=${sum%% *}"; echo src=file; else echo src=unreadable; fi
elif [ -e "$s" ]; then echo src=other
else echo src=absent; fi
if [ -d "$d" ]; then echo dest=directory; f=$into; elif [ -e "$d" ]; then echo dest=other; f=$d; else echo dest=absent; f=$d; fi
if [ "$slash" = 1 ]; then f=$into; fi
printf 'path=%s\n' "$f"
if [ -d "$(dirname -- "$f")" ]; then echo parent=1; else echo parent=0; fi
if [ -L "$f" ]; then echo islink=1; fi
if [ -d "$f" ]; then echo kind=directory; stat -L --printf "$stat_format" -- "$f"
elif [ -f "$f" ]; then echo kind=file; stat -L --printf "$stat_format" -- "$f"
if [ -r "$f" ]; then sum=$(sha1sum < "$f"); echo "checksum=${sum%% *}"; fi
elif [ -e "$f" ]; then echo kind=other
else echo kind=absent; fi
"#;

/// Lists the trees at `$s` and `$m` (each `find` record, then each file's
/// sha256), after a `listing:` line.
const TREES: &str = r#"echo listing:
for tree in src dest; do
if [ "$tree" = src ]; then top=$s; else top=$m; fi
if [ -d "$top" ]; then
printf '@%s\0' "$tree"
( cd "$top" && find . -printf "$find_format" ) 2>/dev/null
printf '@%s-sums\0' "$tree"
( cd "$top" && find . -type f -exec sha256sum -z -- {} + ) 2>/dev/null
fi
done
exit 0
"#;

/// Creates the directories `$dir` lacks, one by one (so each new one gets
/// the attributes after it), and stops at the first failure.
const MAKE_DIRS_HEAD: &str = r#"set --
d=$dir
while [ ! -d "$d" ]; do set -- "$d" "$@"; d=$(dirname -- "$d"); done
for d in "$@"; do
mkdir -- "$d" || exit 1"#;

/// Makes `dir` and its missing parents; each directory it creates gets
/// `attrs` (Ansible's `directory_mode`, `owner` and `group`). A plain
/// `mkdir -p` when no attribute is given.
pub(crate) fn make_dirs(dir: &str, attrs: &Attrs) -> Script {
    if attrs.is_empty() {
        return Script::of(Cmd::new("mkdir").flag("-p").operand(dir));
    }
    Script::new()
        .set("dir", dir)
        .snippet(MAKE_DIRS_HEAD)
        .all(attrs.set_cmds(Arg::var("d"), Scope::Path))
        .snippet("[ $? -eq 0 ] || exit 1\ndone")
}

/// The task, once its params are checked.
#[derive(Debug)]
pub(crate) struct RemoteCopy {
    pub src: String,
    pub dest: String,
    pub attrs: Attrs,
    /// For directories `copy` creates for a `dest` ending in `/`.
    pub dir_attrs: Attrs,
    pub backup: bool,
    pub force: bool,
}

impl RemoteCopy {
    /// `dest/<basename of src>` (`dest/` for a `src` ending in `/`).
    fn into(&self) -> String {
        join(&self.dest, basename(&self.src))
    }

    /// The tree a directory `src` is merged into: `dest` for `src/`,
    /// else `dest/<basename>`.
    fn merge_target(&self) -> String {
        if self.src.ends_with('/') {
            self.dest.clone()
        } else {
            self.into()
        }
    }
}

/// Ansible's `os.path.basename`: empty for a path ending in `/`.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Ansible's `os.path.join(dir, name)`.
fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// One path of a listed tree.
#[derive(Debug, Clone)]
struct Node {
    listed: Listed,
    sha256: Option<String>,
}

type Tree = BTreeMap<String, Node>;

/// What the probe printed.
#[derive(Debug)]
struct Facts<'a> {
    fields: BTreeMap<&'a str, &'a str>,
    facts: PathFacts,
    src_tree: Option<Tree>,
    dest_tree: Option<Tree>,
}

fn parse(probe: &Probe) -> Result<Facts<'_>, ModuleError> {
    let (head, listing) = probe
        .stdout
        .split_once("listing:\n")
        .unwrap_or((probe.stdout.as_str(), ""));
    let fields = fields(head);
    if !fields.contains_key("src") || !fields.contains_key("kind") {
        return Err(ModuleError::Probe(format!(
            "rc={}: {}",
            probe.rc,
            probe.stderr.trim()
        )));
    }
    let facts = PathFacts::parse(head)?;
    let (src_tree, dest_tree) = trees(listing)?;
    Ok(Facts {
        fields,
        facts,
        src_tree,
        dest_tree,
    })
}

/// The `@src`/`@dest` sections of the listing: `find` records (ten fields
/// each), then `@…-sums` sections of `sha256sum -z` records.
fn trees(listing: &str) -> Result<(Option<Tree>, Option<Tree>), ModuleError> {
    let tokens: Vec<&str> = listing.split('\0').collect();
    let mut sections: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut current: Option<&str> = None;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        if let Some(name) = token.strip_prefix('@') {
            current = Some(name);
            sections.entry(name).or_default();
            i += 1;
            continue;
        }
        let Some(name) = current else {
            i += 1;
            continue;
        };
        let width = if name.ends_with("-sums") { 1 } else { 10 };
        let end = (i + width).min(tokens.len());
        if let Some(section) = sections.get_mut(name) {
            section.extend(&tokens[i..end]);
        }
        i = end;
    }
    let tree = |name: &str| -> Result<Option<Tree>, ModuleError> {
        let Some(records) = sections.get(name) else {
            return Ok(None);
        };
        let mut text = records.join("\0");
        text.push('\0');
        let mut sums = BTreeMap::new();
        for record in sections
            .get(format!("{name}-sums").as_str())
            .into_iter()
            .flatten()
        {
            if let Some((sum, path)) = record.split_once("  ") {
                sums.insert(path.strip_prefix("./").unwrap_or(path), sum.to_string());
            }
        }
        let listed = parse_listing(&text)?;
        Ok(Some(
            listed
                .into_iter()
                .filter(|(path, _)| *path != ".")
                .map(|(path, listed)| {
                    let node = Node {
                        listed,
                        sha256: sums.get(path).cloned(),
                    };
                    (path.to_string(), node)
                })
                .collect(),
        ))
    };
    Ok((tree("src")?, tree("dest")?))
}

/// The direct children of `dir` (`""`: the top) in `tree`, by name.
fn children<'t>(tree: &'t Tree, dir: &str) -> BTreeMap<&'t str, &'t Node> {
    tree.iter()
        .filter_map(|(path, node)| {
            let (head, name) = path.rsplit_once('/').unwrap_or(("", path));
            (head == dir).then_some((name, node))
        })
        .collect()
}

/// What a copy does, in order.
#[derive(Debug, Default)]
struct Work {
    cmds: Vec<Cmd>,
    /// Paths (relative to the copy's top) copied, for the diff.
    copied: Vec<String>,
    /// Symlinks only in `src` that a merge leaves out but reports.
    skipped: Vec<String>,
}

impl Work {
    /// `shutil.copytree`: the whole tree, links kept as links, with modes
    /// and times.
    fn copy_tree(&mut self, from: &str, to: &str, shown: &str) {
        self.cmds.push(
            Cmd::new("cp")
                .flag("-RP")
                .flag("--preserve=mode,timestamps")
                .operand(from)
                .operand(to),
        );
        self.copied.push(shown.to_string());
    }

    /// `shutil.copyfile` and `copymode`: content and mode.
    fn copy_file(&mut self, from: &str, to: &str, shown: &str) {
        self.cmds.push(
            Cmd::new("cp")
                .flag("--preserve=mode")
                .operand(from)
                .operand(to),
        );
        self.copied.push(shown.to_string());
    }
}

/// Ansible's `copy_diff_files`, `copy_left_only` and `copy_common_dirs`
/// for directory `rel` of both trees, recursively.
fn merge(src: &Tree, dest: &Tree, from: &str, to: &str, rel: &str, work: &mut Work) {
    let theirs = children(dest, rel);
    for (name, node) in children(src, rel) {
        if DIRCMP_IGNORES.contains(&name) {
            continue;
        }
        let path = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let (src_path, dest_path) = (join(from, &path), join(to, &path));
        match (node.listed.kind, theirs.get(name)) {
            (Kind::Directory, None) => work.copy_tree(&src_path, &dest_path, &path),
            // Ansible's `copy_left_only` copies a symlink only when
            // `local_follow` is given (`true` or `false`), which
            // `remote_src` never passes: the link is skipped, yet counted
            // as a change, on every run.
            (Kind::Symlink, None) => work.skipped.push(path),
            (_, None) => work.copy_file(&src_path, &dest_path, &path),
            (Kind::Directory, Some(other)) if other.listed.kind == Kind::Directory => {
                merge(src, dest, from, to, &path, work);
            }
            (Kind::File, Some(other)) if other.listed.kind == Kind::File => {
                let same_signature = node.listed.size == other.listed.size
                    && node.listed.mtime == other.listed.mtime;
                if !same_signature && node.sha256 != other.sha256 {
                    work.copy_file(&src_path, &dest_path, &path);
                }
            }
            // A file against a directory: `dircmp` leaves it alone.
            _ => {}
        }
    }
}

impl Module for RemoteCopy {
    fn probe(&self) -> Option<Script> {
        let script = Script::new()
            .set("s", self.src.as_str())
            .set("d", self.dest.as_str())
            .set("into", self.into())
            .set("slash", if self.dest.ends_with('/') { "1" } else { "0" })
            .set("m", self.merge_target())
            .set("stat_format", STAT_FORMAT)
            .set("find_format", FIND_FORMAT)
            .snippet(SOURCE)
            .snippet(TREES);
        Some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = parse(probe)?;
        let src = &self.src;
        let mut steps = Vec::new();
        let mut lines = Vec::new();
        // `dest/` missing: made first, each new directory with
        // `directory_mode`.
        if self.dest.ends_with('/') && facts.fields.get("dest") == Some(&"absent") {
            let dir = self.dest.trim_end_matches('/');
            steps.push(Step::run(make_dirs(dir, &self.dir_attrs)));
            lines.push(format!("created directory: {dir}"));
        }
        let dest_is_dir = facts.fields.get("dest") == Some(&"directory") || !steps.is_empty();
        let mut planned = match facts.fields.get("src").copied() {
            Some("file") => self.plan_file(&facts, steps, lines)?,
            Some("directory") => self.plan_tree(&facts, dest_is_dir, steps, lines)?,
            Some("absent") => return Err(ModuleError::Failed(format!("Source {src} not found"))),
            Some("unreadable") => {
                return Err(ModuleError::Failed(format!("Source {src} not readable")));
            }
            _ => {
                return Err(ModuleError::Failed(format!(
                    "Cannot copy invalid source '{src}': not a file"
                )));
            }
        };
        planned
            .data
            .insert("src".into(), Value::String(src.clone()));
        Ok(planned)
    }
}

impl RemoteCopy {
    /// The path written: `dest/<basename>` when `dest` is a directory.
    fn final_path(facts: &Facts) -> String {
        facts.facts.path.clone().unwrap_or_default()
    }

    fn plan_file(
        &self,
        facts: &Facts,
        mut steps: Vec<Step>,
        mut lines: Vec<String>,
    ) -> Result<Plan, ModuleError> {
        let path = Self::final_path(facts);
        let src_sha1 = facts.fields.get("src_sha1").copied().unwrap_or_default();
        let kind = facts.facts.kind.unwrap_or(Kind::Absent);
        let mut data = serde_json::Map::new();
        data.insert("dest".into(), Value::String(path.clone()));
        data.insert("checksum".into(), Value::String(src_sha1.to_string()));
        if kind != Kind::Absent && !self.force {
            return Ok(Plan {
                data,
                msg: Some("file already exists".into()),
                ..Plan::unchanged()
            });
        }
        if kind == Kind::Directory {
            return Err(ModuleError::Failed(format!("{path} is a directory")));
        }
        if kind == Kind::Absent && facts.facts.parent_exists == Some(false) && steps.is_empty() {
            return Err(ModuleError::Failed(format!(
                "Destination directory {} does not exist",
                parent(&path)
            )));
        }
        let is_link = facts.fields.get("islink") == Some(&"1");
        let same =
            kind == Kind::File && facts.facts.checksum.as_deref() == Some(src_sha1) && !is_link;
        if same {
            let current = facts.facts.attrs.clone().ok_or_else(|| {
                ModuleError::Probe(format!("no attributes of {path} in the probe output"))
            })?;
            lines.extend(self.attrs.changes(&current));
            if let Some(script) = self.attrs.fix(path.as_str(), &current, Scope::Path) {
                steps.push(Step::run(script));
            }
        } else {
            if self.backup && kind != Kind::Absent {
                steps.push(Step::run(backup_script(&path)));
            }
            lines.push(match kind {
                Kind::Absent => format!("state: absent -> file (copied from {})", self.src),
                _ => format!("content: copied from {}", self.src),
            });
            steps.push(Step::run(copy_over(&self.src, &path)));
            if let Some(script) = self.attrs.set(path.as_str(), Scope::Path) {
                steps.push(Step::run(script));
            }
        }
        Ok(Plan {
            changed: !steps.is_empty(),
            steps,
            diff: diff(lines),
            data,
            ..Plan::default()
        })
    }

    fn plan_tree(
        &self,
        facts: &Facts,
        dest_is_dir: bool,
        mut steps: Vec<Step>,
        mut lines: Vec<String>,
    ) -> Result<Plan, ModuleError> {
        let trailing = self.src.ends_with('/');
        let path = Self::final_path(facts);
        let mut data = serde_json::Map::new();
        data.insert("dest".into(), Value::String(path.clone()));
        let kind = facts.facts.kind.unwrap_or(Kind::Absent);
        if kind != Kind::Absent && !self.force {
            return Ok(Plan {
                data,
                msg: Some("file already exists".into()),
                ..Plan::unchanged()
            });
        }
        let empty = Tree::new();
        let src_tree = facts.src_tree.as_ref().unwrap_or(&empty);
        let target = self.merge_target();
        let mut work = Work::default();
        let dest_exists = facts.fields.get("dest") != Some(&"absent") || dest_is_dir;
        // What `chown_recursive` looks at: the tree written.
        let mut chown_top = None;
        // ansible-core 2.19's `copy_directory`: a missing target is copied
        // whole, an existing one merged; a `dest` that is a file is left.
        if dest_is_dir || !dest_exists {
            match &facts.dest_tree {
                Some(dest_tree) => {
                    merge(src_tree, dest_tree, &self.src, &target, "", &mut work);
                    chown_top = Some((target.clone(), Some(dest_tree)));
                }
                // `dest/` is made by the first step: `src/` is merged into
                // it.
                None if trailing && dest_is_dir => {
                    merge(src_tree, &empty, &self.src, &target, "", &mut work);
                    chown_top = Some((target.clone(), None));
                }
                None if trailing || kind == Kind::Absent => {
                    if !dest_exists {
                        steps.push(Step::run(Script::of(
                            Cmd::new("mkdir").flag("-p").operand(parent(&target)),
                        )));
                    }
                    work.copy_tree(&self.src, &target, ".");
                    chown_top = Some((target.clone(), None));
                }
                None => {
                    return Err(ModuleError::Failed(format!(
                        "failed to copy: {} to {target}: not a directory",
                        self.src
                    )));
                }
            }
        }
        lines.extend(work.copied.iter().map(|path| format!("copied: {path}")));
        lines.extend(
            work.skipped
                .iter()
                .map(|path| format!("symlink not copied (as Ansible): {path}")),
        );
        let copied = !work.cmds.is_empty();
        if copied {
            steps.push(Step::run(Script::new().all(work.cmds)));
        }
        if let Some((top, listed)) = chown_top
            && (self.attrs.owner.is_some() || self.attrs.group.is_some())
        {
            let differs = copied
                || !steps.is_empty()
                || listed.is_none_or(|tree| {
                    tree.values()
                        .map(|node| &node.listed.attrs)
                        .chain(facts.facts.attrs.as_ref())
                        .any(|current| self.owner_differs(current))
                });
            if differs {
                let spec = self.attrs.chown_spec().unwrap_or_default();
                steps.push(Step::run(Script::of(
                    Cmd::new("chown")
                        .flag("-R")
                        .flag("-h")
                        .arg(spec)
                        .operand(top),
                )));
                lines.push("owner/group: set below the copy".into());
            }
        }
        // Then `dest` itself gets `mode` (not recursively), as Ansible's
        // last `set_fs_attributes_if_different`.
        let top = if dest_is_dir {
            path.clone()
        } else {
            self.dest.clone()
        };
        if let Some(mode) = self.attrs.mode {
            let current = facts.facts.attrs.as_ref().map(|current| current.mode);
            if current != Some(mode) {
                let before = current.map_or_else(|| "none".to_string(), octal);
                lines.push(format!("mode: {before} -> {}", octal(mode)));
            }
            if current != Some(mode) || !steps.is_empty() {
                steps.push(Step::run(Script::of(
                    Cmd::new("chmod").arg(octal(mode)).operand(top),
                )));
            }
        }
        let changed = !steps.is_empty() || !work.skipped.is_empty();
        Ok(Plan {
            changed,
            steps,
            diff: diff(lines),
            data,
            ..Plan::default()
        })
    }

    fn owner_differs(&self, current: &Current) -> bool {
        self.attrs
            .owner
            .as_deref()
            .is_some_and(|owner| !current.is_owner(owner))
            || self
                .attrs
                .group
                .as_deref()
                .is_some_and(|group| !current.is_group(group))
    }
}

/// Copies file `src` over `dest`: a temp file beside it, with the source's
/// mode and times, renamed over it (a symlink at `dest` is replaced).
fn copy_over(src: &str, dest: &str) -> Script {
    Script::new()
        .set("s", src)
        .set("f", dest)
        .set("dir", parent(dest))
        .snippet(
            "tmp=$(mktemp \"$dir/.fleet-copy.XXXXXXXX\") || exit 1\n\
             cp --preserve=mode,timestamps -- \"$s\" \"$tmp\" && mv -f -- \"$tmp\" \"$f\" \
             || { rc=$?; rm -f -- \"$tmp\"; exit $rc; }",
        )
}

fn diff(lines: Vec<String>) -> Option<String> {
    (!lines.is_empty()).then(|| lines.into_iter().map(|line| line + "\n").collect())
}

#[cfg(test)]
#[path = "copy_remote_tests.rs"]
mod tests;
