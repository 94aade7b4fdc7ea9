//! Writing a whole file: what `copy`, `template`, `lineinfile` and
//! `blockinfile` share. The probe reports the destination (its kind,
//! attributes and, when small enough, its content, else its sha256); the
//! plan uploads new content atomically (after a backup when asked), fixes
//! attributes otherwise, and shows both in the diff.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::modules::copy_remote::make_dirs;
use crate::modules::file_attrs::{Attrs, Scope, chown_spec};
use crate::modules::path_facts::{Current, Kind, Me, PRINT_ME, PathFacts, STAT_FORMAT};
use crate::modules::validate::Validate;
use crate::text::unified_diff;
use crate::{Applied, Cmd, Module, ModuleError, Plan, Probe, Script, Step, StepOutput};

/// Content up to this size is sent back by the probe for the diff.
pub(crate) const DIFF_LIMIT: u64 = 1024 * 1024;

/// With an existing directory at `$t`, the destination is `$t/$name`.
const INTO_DIR: &str = r#"if [ -d "$t" ]; then parent=$t; t="${t%/}"/"$name"; fi"#;

/// Prints the destination `$t`: whether `$parent` is a directory, its kind
/// and, for a file, its attributes (`stat_format`), size, resolved path and
/// content, printed by `$print_content`.
macro_rules! destination {
    ($print_content:literal) => {
        concat!(
            r#"if [ -d "$parent" ]; then echo parent=1; else echo parent=0; fi
if [ -d "$t" ]; then echo kind=directory
elif [ -f "$t" ]; then
echo kind=file
attrs=$(stat -L --printf "$stat_format"'size=%s' -- "$t")
printf '%s\n' "$attrs"
if [ -L "$t" ]; then real=$(readlink -f -- "$t"); else real=$t; fi
printf 'real=%s\n' "$real"
if [ -r "$t" ]; then
"#,
            $print_content,
            r#"
else echo readable=0; fi
elif [ -e "$t" ]; then echo kind=other
else echo kind=absent; fi
"#
        )
    };
}

/// [`destination!`] printing the whole content.
const DESTINATION: &str = destination!("{ printf 'content='; base64 -w0 < \"$t\"; echo; }");

/// [`destination!`] printing the content up to `$limit` bytes, else its
/// sha256.
const DESTINATION_UP_TO_LIMIT: &str = destination!(
    "if [ \"${attrs##*size=}\" -le \"$limit\" ]; then { printf 'content='; base64 -w0 < \"$t\"; echo; }\n\
     else sum=$(sha256sum < \"$t\"); printf 'sha256=%s\\n' \"${sum%% *}\"; fi"
);

/// Copies `$p` to `$p.YYYY-MM-DD@HH:MM:SS~` (host time), keeping mode,
/// owner and times, and prints where.
const BACKUP: &str = "backup=\"$p\".\"$(date +%Y-%m-%d@%H:%M:%S)\"~ && cp -p -- \"$p\" \"$backup\" \
    && printf 'backup_file=%s\\n' \"$backup\"";

/// The probe for `path`. With `into_dir`, an existing directory at `path`
/// means `path/into_dir` (`copy: src` into a directory). Content is printed
/// (base64) up to `content_limit` bytes, or always with `None`; the sha256 is
/// printed only for a file whose content is not. Every process it starts
/// costs the host CPU, so only `stat` and `base64` run for a usual file.
pub(crate) fn probe(path: &str, into_dir: Option<&str>, content_limit: Option<u64>) -> Script {
    let mut script = Script::new().set("t", path).set("parent", parent(path));
    if let Some(name) = into_dir {
        script = script.set("name", name).snippet(INTO_DIR);
    }
    let script = script
        .snippet("printf 'path=%s\\n' \"$t\"")
        .snippet(PRINT_ME)
        .set("stat_format", STAT_FORMAT);
    match content_limit {
        Some(limit) => script
            .set("limit", limit.to_string())
            .snippet(DESTINATION_UP_TO_LIMIT),
        None => script.snippet(DESTINATION),
    }
}

/// What the probe found at the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The destination (after `into_dir`).
    pub path: String,
    pub parent_exists: bool,
    /// Who the probe (and the steps) run as.
    pub me: Me,
    pub state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    Absent,
    Directory,
    /// A device, fifo or socket.
    Other,
    File(Existing),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Existing {
    /// The path with symlinks resolved.
    pub real: String,
    pub attrs: Current,
    pub size: u64,
    pub sha256: String,
    /// `None` above the content limit.
    pub content: Option<Vec<u8>>,
}

/// Reads the probe's output.
pub(crate) fn parse(probe: &Probe) -> Result<Found, ModuleError> {
    let facts = PathFacts::parse(&probe.stdout)?;
    let missing = |name: &str| {
        ModuleError::Probe(format!(
            "no `{name}` (rc={}): {}",
            probe.rc,
            probe.stderr.trim()
        ))
    };
    let path = facts.path.clone().ok_or_else(|| missing("path"))?;
    let state = match facts.kind.ok_or_else(|| missing("kind"))? {
        Kind::Absent => State::Absent,
        Kind::Directory => State::Directory,
        Kind::Other | Kind::Symlink => State::Other,
        Kind::File => {
            if facts.readable == Some(false) {
                return Err(ModuleError::Failed(format!(
                    "cannot read {path}: permission denied (does the task need become?)"
                )));
            }
            let sha256 = match &facts.content {
                Some(content) => sha256_hex(content),
                None => facts.sha256.clone().ok_or_else(|| missing("sha256"))?,
            };
            State::File(Existing {
                real: facts.real.clone().ok_or_else(|| missing("real"))?,
                attrs: facts.attrs.clone().ok_or_else(|| missing("mode"))?,
                size: facts.size.ok_or_else(|| missing("size"))?,
                sha256,
                content: facts.content,
            })
        }
    };
    Ok(Found {
        path,
        parent_exists: facts.parent_exists.ok_or_else(|| missing("parent"))?,
        me: facts.me.ok_or_else(|| missing("me"))?,
        state,
    })
}

/// The file a task wants.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Write<'a> {
    pub contents: &'a [u8],
    pub attrs: &'a Attrs,
    /// Copy the old file to `path.<date>~` before replacing it.
    pub backup: bool,
    /// Create missing parent directories instead of failing.
    pub make_parent: bool,
    /// The attributes of each directory `make_parent` creates (`copy`'s
    /// `directory_mode`, `owner` and `group`); `None`: `mkdir -p`.
    pub new_dirs: Option<&'a Attrs>,
    /// Write through a symlink (to the resolved path) instead of replacing
    /// it with a file.
    pub follow: bool,
}

/// Steps and diff bringing the destination to `write`.
pub(crate) fn plan(found: &Found, write: &Write) -> Result<Plan, ModuleError> {
    let path = &found.path;
    match &found.state {
        State::Directory => Err(ModuleError::Failed(format!("{path} is a directory"))),
        State::Other => Err(ModuleError::Failed(format!(
            "{path} exists and is not a regular file"
        ))),
        State::Absent => {
            let mut steps = Vec::new();
            if !found.parent_exists {
                let parent = parent(path);
                if !write.make_parent {
                    return Err(ModuleError::Failed(format!(
                        "destination directory {parent} does not exist"
                    )));
                }
                let mkdir = match write.new_dirs {
                    Some(attrs) => make_dirs(parent, attrs),
                    None => Script::of(Cmd::new("mkdir").flag("-p").operand(parent)),
                };
                steps.push(Step::run(mkdir));
            }
            steps.push(Step::Upload {
                dest: path.clone(),
                contents: write.contents.to_vec(),
                mode: write.attrs.mode.unwrap_or(0o644),
                owner: write.attrs.chown_spec(),
            });
            let diff = join_diff(
                vec!["state: absent -> file".into()],
                content_diff(path, Some(b""), "", write.contents),
            );
            Ok(Plan::change(steps).with_diff(diff))
        }
        State::File(existing) => {
            let attr_lines = write.attrs.changes(&existing.attrs);
            if sha256_hex(write.contents) == existing.sha256 {
                let Some(script) = write.attrs.fix(path, &existing.attrs, Scope::Path) else {
                    return Ok(Plan::unchanged());
                };
                return Ok(
                    Plan::change(vec![Step::run(script)]).with_diff(join_diff(attr_lines, None))
                );
            }
            let dest = if write.follow { &existing.real } else { path };
            let mut steps = Vec::new();
            if write.backup {
                steps.push(Step::run(backup_script(dest)));
            }
            steps.push(Step::Upload {
                dest: dest.clone(),
                contents: write.contents.to_vec(),
                mode: write.attrs.mode.unwrap_or(existing.attrs.mode),
                owner: kept_owner(write.attrs, &existing.attrs, found.me),
            });
            let diff = content_diff(
                path,
                existing.content.as_deref(),
                &existing.sha256,
                write.contents,
            );
            Ok(Plan::change(steps).with_diff(join_diff(attr_lines, diff)))
        }
    }
}

/// The owner for an upload replacing a file: the one asked for, else the
/// file's own when it is not who the steps run as (the new file would
/// otherwise belong to them).
fn kept_owner(attrs: &Attrs, current: &Current, me: Me) -> Option<String> {
    let uid = (current.uid != me.uid).then(|| current.uid.to_string());
    let gid = (current.gid != me.gid).then(|| current.gid.to_string());
    let owner = attrs.owner.as_deref().or(uid.as_deref());
    let group = attrs.group.as_deref().or(gid.as_deref());
    chown_spec(owner, group)
}

/// Copies `path` to `path.YYYY-MM-DD@HH:MM:SS~` (host time), keeping mode,
/// owner and times, and prints where.
pub(crate) fn backup_script(path: &str) -> Script {
    Script::new().set("p", path).snippet(BACKUP)
}

/// The backup a [`backup_script`] made, as the registered result's
/// `backup_file`. A backup is taken only before a change.
pub(crate) fn backup_made(outputs: &[StepOutput]) -> Option<Applied> {
    backup_made_as("backup_file", outputs)
}

/// [`backup_made`] under the result key `key` (`lineinfile` says `backup`).
pub(crate) fn backup_made_as(key: &str, outputs: &[StepOutput]) -> Option<Applied> {
    let path = outputs
        .iter()
        .flat_map(|out| out.stdout.lines())
        .find_map(|line| line.strip_prefix("backup_file="))?;
    Some(Applied {
        changed: true,
        data: serde_json::Map::from_iter([(key.to_owned(), Value::from(path))]),
        msg: None,
    })
}

/// A unified diff for text, a one-line summary otherwise.
pub(crate) fn content_diff(
    path: &str,
    before: Option<&[u8]>,
    before_sha256: &str,
    after: &[u8],
) -> Option<String> {
    let Some(before) = before else {
        return Some(format!(
            "content: sha256 {} -> {} (too large to diff)\n",
            short(before_sha256),
            short(&sha256_hex(after))
        ));
    };
    match (as_text(before), as_text(after)) {
        (Some(before), Some(after)) => unified_diff(path, before, after),
        _ if before == after => None,
        _ => Some(format!(
            "content: binary, {} bytes -> {} bytes\n",
            before.len(),
            after.len()
        )),
    }
}

/// Attribute lines, then the content diff.
pub(crate) fn join_diff(lines: Vec<String>, content: Option<String>) -> Option<String> {
    let mut diff: String = lines.into_iter().map(|line| line + "\n").collect();
    diff.push_str(content.as_deref().unwrap_or_default());
    (!diff.is_empty()).then_some(diff)
}

fn as_text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|text| !text.contains('\0'))
}

fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The directory holding `path`.
pub(crate) fn parent(path: &str) -> &str {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/",
        Some((dir, _)) => dir,
        None => ".",
    }
}

/// `copy` and `template`: a file whose content is known when the task is
/// built.
#[derive(Debug)]
pub(crate) struct WriteFile {
    pub dest: String,
    /// Write into `dest/<into_dir>` when `dest` is a directory.
    pub into_dir: Option<String>,
    pub make_parent: bool,
    pub contents: Vec<u8>,
    pub attrs: Attrs,
    pub backup: bool,
    /// `false`: leave an existing file alone.
    pub force: bool,
    /// Checks the new content before it replaces the file.
    pub validate: Option<Validate>,
    /// For each directory created for a `dest` ending in `/`.
    pub dir_attrs: Attrs,
}

impl WriteFile {
    /// `source_name` is the basename of `src`, when there is one: like
    /// Ansible, a `dest` ending in `/` or naming a directory then means
    /// `dest/<source_name>`, and a missing `dest/` is created.
    pub fn new(
        dest: &str,
        source_name: Option<&str>,
        contents: Vec<u8>,
        attrs: Attrs,
        backup: bool,
        force: bool,
    ) -> WriteFile {
        let (dest, into_dir, make_parent) = match source_name {
            Some(name) if dest.ends_with('/') => (format!("{dest}{name}"), None, true),
            Some(name) => (dest.to_string(), Some(name.to_string()), false),
            None => (dest.to_string(), None, false),
        };
        WriteFile {
            dest,
            into_dir,
            make_parent,
            contents,
            attrs,
            backup,
            force,
            validate: None,
            dir_attrs: Attrs::default(),
        }
    }

    /// With the new content checked by `validate` before the rename.
    pub fn validated(mut self, validate: Option<Validate>) -> WriteFile {
        self.validate = validate;
        self
    }
}

/// The last component of a controller path (`files/app.conf` → `app.conf`).
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl Module for WriteFile {
    fn applied(&self, outputs: &[StepOutput]) -> Option<Applied> {
        backup_made(outputs)
    }

    fn target(&self) -> Option<&str> {
        self.into_dir.is_none().then_some(self.dest.as_str())
    }

    fn probe(&self) -> Option<Script> {
        Some(probe(
            &self.dest,
            self.into_dir.as_deref(),
            Some(DIFF_LIMIT),
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let found = parse(probe)?;
        let mut planned = if !self.force && matches!(found.state, State::File(_)) {
            Plan {
                msg: Some(format!("{} exists (force: false)", found.path)),
                ..Plan::unchanged()
            }
        } else {
            plan(
                &found,
                &Write {
                    contents: &self.contents,
                    attrs: &self.attrs,
                    backup: self.backup,
                    make_parent: self.make_parent,
                    new_dirs: Some(&self.dir_attrs),
                    follow: false,
                },
            )?
        };
        // Registered as Ansible's `copy` and `template` do: the file
        // written, inside `dest` when that is a directory.
        planned
            .data
            .insert("dest".into(), Value::String(found.path.clone()));
        Ok(match &self.validate {
            Some(validate) => validate.apply(planned),
            None => planned,
        })
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        Validate::outcome(outputs)
    }
}

#[cfg(test)]
#[path = "content_file_tests.rs"]
mod tests;
