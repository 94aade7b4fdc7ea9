//! `file`: the state of a path (a directory, an existing file, a symlink,
//! touched, or absent) and its owner, group and mode, like Ansible's.
//! Symlinks are created and switched atomically (a temp link renamed over
//! the path), so `current -> releases/…` never disappears.

use serde::Deserialize;
use serde_json::Value;

use crate::modules::content_file::join_diff;
use crate::modules::de;
use crate::modules::file_attrs::{
    Attrs, Current, EMPTY_DIR, STAT_FORMAT, beside, stat_with_target,
};
use crate::shell::quote;
use crate::text::fields;
use crate::{Controller, Module, ModuleError, Plan, Probe, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "path", "state", "mode", "owner", "group", "recurse", "src", "force",
];

/// [`STAT_FORMAT`] for a symlink itself, its keys prefixed with `link_`.
const LINK_STAT_FORMAT: &str =
    r"link_mode=%a\nlink_uid=%u\nlink_gid=%g\nlink_owner=%U\nlink_group=%G\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    File,
    Directory,
    Link,
    Absent,
    Touch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileParams {
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
        (_, Some(_)) => return Err(invalid("src requires state=link")),
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
    /// The kind following symlinks: `directory`, `file`, `other`, `absent`.
    kind: String,
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

    fn probe(&self) -> Option<crate::Script> {
        let mut script = format!(
            "p={path}\nif [ -L \"$p\" ]; then\n{link_stat}printf 'link=%s\\n' \"$target\"; fi\n\
             if [ -d \"$p\" ]; then echo kind=directory\n\
             elif [ -f \"$p\" ]; then echo kind=file\n\
             elif [ -e \"$p\" ]; then echo kind=other\n\
             else echo kind=absent; fi\n\
             if [ -e \"$p\" ]; then stat -L --printf '{STAT_FORMAT}' -- \"$p\"; fi\n",
            path = quote(&self.path),
            link_stat = stat_with_target(LINK_STAT_FORMAT),
        );
        if let Some(src) = &self.src {
            script.push_str(&format!(
                "if [ -e {} ]; then echo src=1; else echo src=0; fi\n{EMPTY_DIR}",
                quote(&beside(&self.path, src))
            ));
        }
        if self.recurse && !self.attrs.is_empty() {
            script.push_str(&format!(
                "if [ -d \"$p\" ] && [ -n \"$(find \"$p\" -mindepth 1 ! -type l \\( {} \\) -print -quit 2>&1)\" ]; \
                 then echo tree=differs; fi\n",
                self.tree_test()
            ));
        }
        Some(script.into())
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = self.facts(probe)?;
        let state = self.state.unwrap_or(if facts.kind == "directory" {
            FileState::Directory
        } else {
            FileState::File
        });
        match state {
            FileState::Absent => Ok(self.absent(&facts)),
            FileState::Directory => self.directory(&facts),
            FileState::File => self.existing_file(&facts),
            FileState::Touch => Ok(self.touch(&facts)),
            FileState::Link => self.link(&facts),
        }
    }
}

impl File {
    fn facts(&self, probe: &Probe) -> Result<Facts, ModuleError> {
        let facts = fields(&probe.stdout);
        let kind = facts
            .get("kind")
            .ok_or_else(|| {
                ModuleError::Probe(format!(
                    "{} (rc={}): {}",
                    self.path,
                    probe.rc,
                    probe.stderr.trim()
                ))
            })?
            .to_string();
        let attrs = facts
            .get("mode")
            .map(|_| Current::parse(&facts))
            .transpose()?;
        let link_fields = facts
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix("link_")?, *value)))
            .collect();
        let link = facts.get("link").map(|target| (*target).to_string());
        let link_attrs = link
            .as_ref()
            .map(|_| Current::parse(&link_fields))
            .transpose()?;
        Ok(Facts {
            kind,
            link,
            attrs,
            link_attrs,
            empty_dir: facts.get("empty") == Some(&"1"),
            src_exists: facts.get("src") == Some(&"1"),
            tree_differs: facts.get("tree") == Some(&"differs"),
        })
    }

    /// A `find` test true for an entry whose owner, group or mode differs.
    fn tree_test(&self) -> String {
        let Attrs { mode, owner, group } = &self.attrs;
        let tests: Vec<String> = [("-user", owner), ("-group", group)]
            .into_iter()
            .filter_map(|(test, name)| Some(format!("! {test} {}", quote(name.as_ref()?))))
            .chain(mode.map(|mode| format!("! -perm {mode:04o}")))
            .collect();
        tests.join(" -o ")
    }

    fn absent(&self, facts: &Facts) -> Plan {
        let before = match (&facts.link, facts.kind.as_str()) {
            (Some(_), _) => "link",
            (None, "absent") => return Plan::unchanged(),
            (None, kind) => kind,
        };
        Plan::change(vec![Step::run(format!("rm -rf -- {}", quote(&self.path)))])
            .with_diff(Some(format!("state: {before} -> absent\n")))
    }

    fn directory(&self, facts: &Facts) -> Result<Plan, ModuleError> {
        let path = quote(&self.path);
        match (facts.kind.as_str(), &facts.attrs) {
            ("absent", _) if facts.link.is_some() => Err(ModuleError::Failed(format!(
                "{} is a symlink to a missing path",
                self.path
            ))),
            ("absent", _) => {
                // Like Ansible, directories created on the way get the
                // attributes too.
                let mut script = format!(
                    "set --; d={path}; while [ ! -e \"$d\" ] && [ ! -L \"$d\" ]; do \
                     set -- \"$d\" \"$@\"; d=$(dirname -- \"$d\"); done; mkdir -p -- {path}"
                );
                if let Some(spec) = self.attrs.chown_spec() {
                    script.push_str(&format!(" && chown {} -- \"$@\"", quote(&spec)));
                }
                if let Some(mode) = self.attrs.mode {
                    script.push_str(&format!(" && chmod {mode:04o} -- \"$@\""));
                }
                Ok(Plan::change(vec![Step::run(script)])
                    .with_diff(Some("state: absent -> directory\n".into())))
            }
            ("directory", Some(current)) if facts.tree_differs => {
                let mut lines = self.attrs.changes(current);
                lines.push(format!("recurse: entries under {} differ", self.path));
                let script = self.attrs.set(&self.path, "-R ");
                Ok(changes(script.into_iter().map(Step::run).collect(), lines))
            }
            ("directory", Some(current)) => Ok(self.fix(current, "")),
            (kind, _) => Err(ModuleError::Failed(format!(
                "{} already exists as a {kind}",
                self.path
            ))),
        }
    }

    fn existing_file(&self, facts: &Facts) -> Result<Plan, ModuleError> {
        match (facts.kind.as_str(), &facts.attrs) {
            ("file", Some(current)) => Ok(self.fix(current, "")),
            (kind, _) => Err(ModuleError::Failed(format!(
                "file ({}) is {kind}, cannot continue",
                self.path
            ))),
        }
    }

    /// Like Ansible, always `changed`: the times are updated.
    fn touch(&self, facts: &Facts) -> Plan {
        let path = quote(&self.path);
        let attrs = match &facts.attrs {
            Some(current) => self.attrs.fix(&self.path, current, ""),
            None => self.attrs.set(&self.path, ""),
        };
        let script = match attrs {
            Some(attrs) => format!("touch -- {path} && {attrs}"),
            None => format!("touch -- {path}"),
        };
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
                Some(current) => self.fix(current, "-h "),
                None => Plan::unchanged(),
            });
        }
        if !facts.src_exists && !self.force {
            return Err(ModuleError::Failed(format!(
                "src file does not exist, use \"force: true\" if you really want to create the link: {src}"
            )));
        }
        let (before, clear) = match (&facts.link, facts.kind.as_str()) {
            (Some(target), _) => (format!("target: {target} -> {src}"), None),
            (None, "absent") => ("state: absent -> link".to_string(), None),
            (None, "directory") if !self.force => return Err(self.refuse("directory")),
            (None, "directory") if !facts.empty_dir => {
                return Err(ModuleError::Failed(format!(
                    "the directory {} is not empty, refusing to convert it",
                    self.path
                )));
            }
            (None, "directory") => ("state: directory -> link".into(), Some("rmdir")),
            (None, kind) if !self.force => return Err(self.refuse(kind)),
            (None, kind) => (format!("state: {kind} -> link"), None),
        };
        let path = quote(&self.path);
        let temp = quote(&temp_link(&self.path));
        let mut script = format!("rm -f -- {temp} && ln -s -- {} {temp}", quote(src));
        if let Some(spec) = self.attrs.chown_spec() {
            script.push_str(&format!(" && chown -h {} -- {temp}", quote(&spec)));
        }
        if let Some(clear) = clear {
            script.push_str(&format!(" && {clear} -- {path}"));
        }
        script.push_str(&format!(
            " && mv -Tf -- {temp} {path} || {{ rc=$?; rm -f -- {temp}; exit $rc; }}"
        ));
        Ok(Plan::change(vec![Step::run(script)]).with_diff(Some(format!("{before}\n"))))
    }

    fn refuse(&self, kind: &str) -> ModuleError {
        ModuleError::Failed(format!(
            "refusing to convert from {kind} to symlink for {} (force: true replaces it)",
            self.path
        ))
    }

    /// Sets the attributes that differ (`flags` `-h `: on a symlink itself).
    fn fix(&self, current: &Current, flags: &str) -> Plan {
        let script = self.attrs.fix(&self.path, current, flags);
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
