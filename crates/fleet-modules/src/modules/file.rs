//! `file`: the state of a path (a directory, an existing file, a symlink,
//! touched, or absent) and its owner, group and mode, like Ansible's.
//! Symlinks are created and switched atomically (a temp link renamed over
//! the path), so `current -> releases/…` never disappears.

use serde::Deserialize;
use serde_json::Value;

use crate::modules::content_file::join_diff;
use crate::modules::de;
use crate::modules::file_attrs::{Attrs, Scope, beside, octal};
use crate::modules::path_facts::{
    Current, EMPTY_DIR, Kind, PathFacts, STAT_FORMAT, stat_with_target,
};
use crate::{Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "path", "dest", "name", "state", "mode", "owner", "group", "recurse", "src", "force",
];

/// [`STAT_FORMAT`] for a symlink itself, its keys prefixed with `link_`.
const LINK_STAT_FORMAT: &str =
    r"link_mode=%a\nlink_uid=%u\nlink_gid=%g\nlink_owner=%U\nlink_group=%G\n";

/// Prints what is at `$p`: for a symlink, its own attributes and target,
/// then the kind and attributes of what it points to.
const PROBE: &str = concat!(
    "if [ -L \"$p\" ]; then\n",
    stat_with_target!(),
    "printf 'link=%s\\n' \"$target\"; fi\n",
    "if [ -d \"$p\" ]; then echo kind=directory\n",
    "elif [ -f \"$p\" ]; then echo kind=file\n",
    "elif [ -e \"$p\" ]; then echo kind=other\n",
    "else echo kind=absent; fi\n",
    "if [ -e \"$p\" ]; then stat -L --printf \"$attrs_format\" -- \"$p\"; fi\n",
);

/// Prints the inode and link count of `$p` and the inode of `$src`, for
/// `state: hard`.
const INODES: &str = "if [ -e \"$p\" ] && [ ! -L \"$p\" ]; then stat --printf 'inode=%i\\nnlink=%h\\n' -- \"$p\"; fi\n\
    if [ -e \"$src\" ]; then stat -L --printf 'src_inode=%i\\n' -- \"$src\"; fi";

/// Prints whether `$src` exists.
const SRC_EXISTS: &str = "if [ -e \"$src\" ]; then echo src=1; else echo src=0; fi";

/// Prints `tree=differs` when an entry below the directory `$p` (not a
/// symlink) has an owner other than `$owner`, a group other than `$group`
/// or a mode other than `$perm`; each empty one is not compared.
const TREE_DIFFERS: &str = r#"if [ -d "$p" ]; then set --
[ -z "$owner" ] || set -- "$@" -o ! -user "$owner"
[ -z "$group" ] || set -- "$@" -o ! -group "$group"
[ -z "$perm" ] || set -- "$@" -o ! -perm "$perm"
shift
if [ -n "$(find "$p" -mindepth 1 ! -type l \( "$@" \) -print -quit 2>&1)" ]; then echo tree=differs; fi
fi"#;

/// Collects in `"$@"` the directories `mkdir -p -- "$p"` creates, from the
/// top.
const NEW_DIRECTORIES: &str = "set --; d=$p; while [ ! -e \"$d\" ] && [ ! -L \"$d\" ]; do \
    set -- \"$d\" \"$@\"; d=$(dirname -- \"$d\"); done";

/// Removes the temp link `$t` when the switch failed.
const DROP_TEMP_LINK_ON_FAILURE: &str =
    "rc=$?; if [ \"$rc\" -ne 0 ]; then rm -f -- \"$t\"; fi; exit \"$rc\"";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    File,
    Directory,
    Link,
    Hard,
    Absent,
    Touch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileParams {
    #[serde(alias = "dest", alias = "name")]
    pub path: String,
    /// Unset: `directory` when the path is one (or with `recurse`), else
    /// `file`.
    pub state: Option<FileState>,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// `state: directory`: set owner, group and mode on everything below.
    #[serde(default, deserialize_with = "de::boolean")]
    pub recurse: bool,
    /// `state: link`: what the link points to.
    pub src: Option<String>,
    /// `state: link`: replace a file or an empty directory, and allow a
    /// `src` that does not exist.
    #[serde(default, deserialize_with = "de::boolean")]
    pub force: bool,
}

#[derive(Debug)]
pub struct File {
    path: String,
    state: Option<FileState>,
    attrs: Attrs,
    recurse: bool,
    src: Option<String>,
    force: bool,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: FileParams = parse_params("file", params)?;
    let invalid = |message: &str| ModuleError::Params {
        module: "file".into(),
        message: message.into(),
    };
    let path = match params.path.trim_end_matches('/') {
        "" if params.path.starts_with('/') => "/",
        path => path,
    };
    if path.is_empty() {
        return Err(invalid("path is empty"));
    }
    let state = params
        .state
        .or(params.recurse.then_some(FileState::Directory));
    if params.recurse && state != Some(FileState::Directory) {
        return Err(invalid("recurse requires state=directory"));
    }
    match (state, &params.src) {
        (Some(FileState::Link), None) => return Err(invalid("src is required with state=link")),
        (Some(FileState::Link), Some(src)) if src.is_empty() => {
            return Err(invalid("src is empty"));
        }
        (Some(FileState::Link), _) if params.mode.is_some() => {
            return Err(invalid("mode does not apply to symlinks"));
        }
        (Some(FileState::Link), _) => {}
        (Some(FileState::Hard), None) => {
            return Err(invalid("src is required for creating new hardlinks"));
        }
        (Some(FileState::Hard), Some(src)) if !src.starts_with('/') => {
            return Err(invalid(
                "src must be an absolute path with state=hard (Ansible resolves a relative one \
                 from its own working directory on the host)",
            ));
        }
        (Some(FileState::Hard), _) => {}
        (_, Some(_)) => return Err(invalid("src option requires state to be 'link' or 'hard'")),
        _ => {}
    }
    if path == "/" && state == Some(FileState::Absent) {
        return Err(invalid("refusing to remove /"));
    }
    Ok(Box::new(File {
        path: path.to_string(),
        state,
        attrs: Attrs::new("file", params.mode, params.owner, params.group)?,
        recurse: params.recurse,
        src: params.src,
        force: params.force,
    }))
}

/// What the probe found at the path.
#[derive(Debug)]
struct Facts {
    /// The kind following symlinks: a directory, a file, other, absent.
    kind: Kind,
    /// The symlink's target, when the path is one.
    link: Option<String>,
    /// Attributes following symlinks (when the target exists).
    attrs: Option<Current>,
    /// Owner and group of the symlink itself.
    link_attrs: Option<Current>,
    empty_dir: bool,
    src_exists: bool,
    /// Something below the directory differs (`recurse`).
    tree_differs: bool,
}

impl Module for File {
    fn target(&self) -> Option<&str> {
        Some(&self.path)
    }

    fn probe(&self) -> Option<Script> {
        let mut script = Script::new()
            .set("p", &self.path)
            .set("stat_format", LINK_STAT_FORMAT)
            .set("attrs_format", STAT_FORMAT)
            .snippet(PROBE);
        if let Some(src) = &self.src {
            script = script
                .set("src", beside(&self.path, src))
                .snippet(SRC_EXISTS)
                .snippet(EMPTY_DIR);
            if self.state == Some(FileState::Hard) {
                script = script.snippet(INODES);
            }
        }
        if self.recurse && !self.attrs.is_empty() {
            let Attrs { mode, owner, group } = &self.attrs;
            script = script
                .set("owner", owner.as_deref().unwrap_or_default())
                .set("group", group.as_deref().unwrap_or_default())
                .set("perm", mode.map(octal).unwrap_or_default())
                .snippet(TREE_DIFFERS);
        }
        Some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = self.facts(probe)?;
        let state = self.state.unwrap_or(if facts.kind == Kind::Directory {
            FileState::Directory
        } else {
            FileState::File
        });
        let mut plan = match state {
            FileState::Absent => self.absent(&facts),
            FileState::Directory => self.directory(&facts)?,
            FileState::File => self.existing_file(&facts)?,
            FileState::Touch => self.touch(&facts),
            FileState::Link => self.link(&facts)?,
            FileState::Hard => self.hard(&facts, probe)?,
        };
        // Registered as Ansible's `file` does: `path`, and for a link its
        // `dest` (the link) and `src`.
        let path = serde_json::Value::String(self.path.clone());
        if matches!(state, FileState::Link | FileState::Hard) {
            plan.data.insert("dest".into(), path.clone());
            if let Some(src) = &self.src {
                plan.data.insert("src".into(), src.clone().into());
            }
        }
        plan.data.insert("path".into(), path);
        Ok(plan)
    }
}

impl File {
    fn facts(&self, probe: &Probe) -> Result<Facts, ModuleError> {
        let facts = PathFacts::parse(&probe.stdout)?;
        let kind = facts.kind.ok_or_else(|| {
            ModuleError::Probe(format!(
                "{} (rc={}): {}",
                self.path,
                probe.rc,
                probe.stderr.trim()
            ))
        })?;
        if facts.link.is_some() && facts.link_attrs.is_none() {
            return Err(ModuleError::Probe(format!(
                "no attributes of the symlink {}",
                self.path
            )));
        }
        Ok(Facts {
            kind,
            link: facts.link,
            attrs: facts.attrs,
            link_attrs: facts.link_attrs,
            empty_dir: facts.empty_dir == Some(true),
            src_exists: facts.src_exists == Some(true),
            tree_differs: facts.tree_differs,
        })
    }

    fn absent(&self, facts: &Facts) -> Plan {
        let before = match (&facts.link, facts.kind) {
            (Some(_), _) => "link",
            (None, Kind::Absent) => return Plan::unchanged(),
            (None, kind) => kind.name(),
        };
        let rm = Cmd::new("rm").flag("-rf").operand(&self.path);
        Plan::change(vec![Step::run(Script::of(rm))])
            .with_diff(Some(format!("state: {before} -> absent\n")))
    }

    fn directory(&self, facts: &Facts) -> Result<Plan, ModuleError> {
        match (facts.kind, &facts.attrs) {
            (Kind::Absent, _) if facts.link.is_some() => Err(ModuleError::Failed(format!(
                "{} is a symlink to a missing path",
                self.path
            ))),
            (Kind::Absent, _) => {
                // Like Ansible, directories created on the way get the
                // attributes too.
                let script = Script::new().set("p", &self.path).snippet(NEW_DIRECTORIES);
                let script = match (self.attrs.chown_spec(), self.attrs.mode) {
                    (None, None) => script.cmd(Cmd::new("mkdir").flag("-p").operand(Arg::var("p"))),
                    (Some(spec), None) => script
                        .set("owner", spec)
                        .snippet(r#"mkdir -p -- "$p" && chown "$owner" -- "$@""#),
                    (None, Some(mode)) => script
                        .set("mode", octal(mode))
                        .snippet(r#"mkdir -p -- "$p" && chmod "$mode" -- "$@""#),
                    (Some(spec), Some(mode)) => script.set("owner", spec).set("mode", octal(mode)).snippet(
                        r#"mkdir -p -- "$p" && chown "$owner" -- "$@" && chmod "$mode" -- "$@""#,
                    ),
                };
                Ok(Plan::change(vec![Step::run(script)])
                    .with_diff(Some("state: absent -> directory\n".into())))
            }
            (Kind::Directory, Some(current)) if facts.tree_differs => {
                let mut lines = self.attrs.changes(current);
                lines.push(format!("recurse: entries under {} differ", self.path));
                let script = self.attrs.set(&self.path, Scope::Tree);
                Ok(changes(script.into_iter().map(Step::run).collect(), lines))
            }
            (Kind::Directory, Some(current)) => Ok(self.fix(current, Scope::Path)),
            (kind, _) => Err(ModuleError::Failed(format!(
                "{} already exists as a {}",
                self.path,
                kind.name()
            ))),
        }
    }

    fn existing_file(&self, facts: &Facts) -> Result<Plan, ModuleError> {
        match (facts.kind, &facts.attrs) {
            (Kind::File, Some(current)) => Ok(self.fix(current, Scope::Path)),
            (kind, _) => Err(ModuleError::Failed(format!(
                "file ({}) is {}, cannot continue",
                self.path,
                kind.name()
            ))),
        }
    }

    /// Like Ansible, always `changed`: the times are updated.
    fn touch(&self, facts: &Facts) -> Plan {
        let attrs = match &facts.attrs {
            Some(current) => self.attrs.fix_cmds(&self.path, current, Scope::Path),
            None => self.attrs.set_cmds(&self.path, Scope::Path),
        };
        let touch = Cmd::new("touch").operand(&self.path);
        let script = Script::new().all(std::iter::once(touch).chain(attrs));
        let mut lines = match &facts.attrs {
            Some(current) => self.attrs.changes(current),
            None => vec!["state: absent -> file".into()],
        };
        lines.push("times: updated".into());
        Plan::change(vec![Step::run(script)]).with_diff(join_diff(lines, None))
    }

    fn link(&self, facts: &Facts) -> Result<Plan, ModuleError> {
        let src = self.src.as_deref().unwrap_or_default();
        if let Some(target) = &facts.link
            && target == src
        {
            return Ok(match &facts.link_attrs {
                Some(current) => self.fix(current, Scope::Link),
                None => Plan::unchanged(),
            });
        }
        if !facts.src_exists && !self.force {
            return Err(ModuleError::Failed(format!(
                "src file does not exist, use \"force: true\" if you really want to create the link: {src}"
            )));
        }
        let (before, clear) = match (&facts.link, facts.kind) {
            (Some(target), _) => (format!("target: {target} -> {src}"), false),
            (None, Kind::Absent) => ("state: absent -> link".to_string(), false),
            (None, Kind::Directory) if !self.force => return Err(self.refuse("directory")),
            (None, Kind::Directory) if !facts.empty_dir => {
                return Err(ModuleError::Failed(format!(
                    "the directory {} is not empty, refusing to convert it",
                    self.path
                )));
            }
            (None, Kind::Directory) => ("state: directory -> link".into(), true),
            (None, kind) if !self.force => return Err(self.refuse(kind.name())),
            (None, kind) => (format!("state: {} -> link", kind.name()), false),
        };
        let (path, temp) = (Arg::var("p"), Arg::var("t"));
        let mut switch = vec![
            Cmd::new("rm").flag("-f").operand(temp.clone()),
            Cmd::new("ln").flag("-s").operand(src).operand(temp.clone()),
        ];
        if let Some(spec) = self.attrs.chown_spec() {
            switch.push(Cmd::new("chown").flag("-h").arg(spec).operand(temp.clone()));
        }
        if clear {
            switch.push(Cmd::new("rmdir").operand(path.clone()));
        }
        switch.push(Cmd::new("mv").flag("-Tf").operand(temp).operand(path));
        let script = Script::new()
            .set("p", &self.path)
            .set("t", temp_link(&self.path))
            .all(switch)
            .snippet(DROP_TEMP_LINK_ON_FAILURE);
        Ok(Plan::change(vec![Step::run(script)]).with_diff(Some(format!("{before}\n"))))
    }

    /// A hard link to `src`, decided as Ansible's `ensure_hardlink`.
    fn hard(&self, facts: &Facts, probe: &Probe) -> Result<Plan, ModuleError> {
        let src = self.src.as_deref().unwrap_or_default();
        if !facts.src_exists {
            return Err(ModuleError::Failed("src does not exist".into()));
        }
        let found = PathFacts::parse(&probe.stdout)?;
        let src_inode = probe
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("src_inode="))
            .and_then(|inode| inode.parse::<u64>().ok());
        let same_inode = found.inode.is_some() && found.inode == src_inode;
        let fail = |message: &str| Err(ModuleError::Failed(message.into()));
        let before = match (&facts.link, facts.kind) {
            (None, Kind::Absent) => "state: absent -> hard".to_string(),
            (Some(target), _) if target == src => {
                return Ok(match &facts.link_attrs {
                    Some(current) => self.fix(current, Scope::Link),
                    None => Plan::unchanged(),
                });
            }
            (Some(target), _) => format!("target: {target} -> hard link to {src}"),
            (None, Kind::Directory) => {
                return fail("Cannot link: different hard link exists at destination");
            }
            (None, _) if found.nlink.unwrap_or(1) > 1 && same_inode => {
                return Ok(match &facts.attrs {
                    Some(current) => self.fix(current, Scope::Path),
                    None => Plan::unchanged(),
                });
            }
            (None, _) if found.nlink.unwrap_or(1) > 1 && !self.force => {
                return fail("Cannot link, different hard link exists at destination");
            }
            (None, _) if found.nlink.unwrap_or(1) <= 1 && !self.force => {
                return fail("Cannot link, file exists at destination");
            }
            (None, kind) => format!("state: {} -> hard", kind.name()),
        };
        let (path, temp) = (Arg::var("p"), Arg::var("t"));
        let mut switch = vec![
            Cmd::new("rm").flag("-f").operand(temp.clone()),
            Cmd::new("ln").operand(src).operand(temp.clone()),
        ];
        switch.extend(self.attrs.set_cmds(temp.clone(), Scope::Path));
        switch.push(Cmd::new("mv").flag("-Tf").operand(temp).operand(path));
        let script = Script::new()
            .set("p", &self.path)
            .set("t", temp_link(&self.path))
            .all(switch)
            .snippet(DROP_TEMP_LINK_ON_FAILURE);
        Ok(Plan::change(vec![Step::run(script)]).with_diff(Some(format!("{before}\n"))))
    }

    fn refuse(&self, kind: &str) -> ModuleError {
        ModuleError::Failed(format!(
            "refusing to convert from {kind} to symlink for {} (force: true replaces it)",
            self.path
        ))
    }

    /// Sets the attributes that differ.
    fn fix(&self, current: &Current, scope: Scope) -> Plan {
        let script = self.attrs.fix(&self.path, current, scope);
        changes(
            script.into_iter().map(Step::run).collect(),
            self.attrs.changes(current),
        )
    }
}

/// Changed when there are steps, with the diff lines.
fn changes(steps: Vec<Step>, lines: Vec<String>) -> Plan {
    if steps.is_empty() {
        return Plan::unchanged();
    }
    Plan::change(steps).with_diff(join_diff(lines, None))
}

/// A temp name next to `path`, for an atomic switch.
fn temp_link(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}.fleet-link"),
        None => format!(".{path}.fleet-link"),
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
