//! Writing a whole file: what `copy`, `template`, `lineinfile` and
//! `blockinfile` share. The probe reports the destination (its kind,
//! attributes and, when small enough, its content, else its sha256); the
//! plan uploads new content atomically (after a backup when asked), fixes
//! attributes otherwise, and shows both in the diff.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::modules::file_attrs::{Attrs, Current, PRINT_ME, STAT_FORMAT, chown_spec};
use crate::shell::quote;
use crate::text::{fields, unified_diff};
use crate::{Module, ModuleError, Plan, Probe, Step};

/// Content up to this size is sent back by the probe for the diff.
pub(crate) const DIFF_LIMIT: u64 = 1024 * 1024;

/// The probe for `path`. With `into_dir`, an existing directory at `path`
/// means `path/into_dir` (`copy: src` into a directory). Content is printed
/// (base64) up to `content_limit` bytes, or always with `None`; the sha256 is
/// printed only for a file whose content is not. Every process it starts
/// costs the host CPU, so only `stat` and `base64` run for a usual file.
pub(crate) fn probe(path: &str, into_dir: Option<&str>, content_limit: Option<u64>) -> String {
    let mut script = format!("t={}\nparent={}\n", quote(path), quote(parent(path)));
    if let Some(name) = into_dir {
        script.push_str(&format!(
            "if [ -d \"$t\" ]; then parent=$t; t=\"${{t%/}}\"/{}; fi\n",
            quote(name)
        ));
    }
    let print_content = "{ printf 'content='; base64 -w0 < \"$t\"; echo; }";
    let content = match content_limit {
        Some(limit) => format!(
            "if [ \"${{attrs##*size=}}\" -le {limit} ]; then {print_content}\n\
             else sum=$(sha256sum < \"$t\"); printf 'sha256=%s\\n' \"${{sum%% *}}\"; fi"
        ),
        None => print_content.to_string(),
    };
    script.push_str("printf 'path=%s\\n' \"$t\"\n");
    script.push_str(PRINT_ME);
    script.push_str(&format!(
        r#"if [ -d "$parent" ]; then echo parent=1; else echo parent=0; fi
if [ -d "$t" ]; then echo kind=directory
elif [ -f "$t" ]; then
echo kind=file
attrs=$(stat -L --printf '{STAT_FORMAT}size=%s' -- "$t")
printf '%s\n' "$attrs"
if [ -L "$t" ]; then real=$(readlink -f -- "$t"); else real=$t; fi
printf 'real=%s\n' "$real"
if [ -r "$t" ]; then
{content}
else echo readable=0; fi
elif [ -e "$t" ]; then echo kind=other
else echo kind=absent; fi
"#
    ));
    script
}

/// What the probe found at the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The destination (after `into_dir`).
    pub path: String,
    pub parent_exists: bool,
    /// `uid:gid` the probe (and the steps) run as.
    pub me: String,
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
    let facts = fields(&probe.stdout);
    let field = |name: &str| {
        facts.get(name).copied().ok_or_else(|| {
            ModuleError::Probe(format!(
                "no `{name}` (rc={}): {}",
                probe.rc,
                probe.stderr.trim()
            ))
        })
    };
    let path = field("path")?.to_string();
    let state = match field("kind")? {
        "absent" => State::Absent,
        "directory" => State::Directory,
        "other" => State::Other,
        "file" => {
            if facts.get("readable") == Some(&"0") {
                return Err(ModuleError::Failed(format!(
                    "cannot read {path}: permission denied (does the task need become?)"
                )));
            }
            let content = match facts.get("content") {
                Some(text) => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .map_err(|err| ModuleError::Probe(format!("content of {path}: {err}")))?,
                ),
                None => None,
            };
            let size = field("size")?;
            let sha256 = match &content {
                Some(content) => sha256_hex(content),
                None => field("sha256")?.to_string(),
            };
            State::File(Existing {
                real: field("real")?.to_string(),
                attrs: Current::parse(&facts)?,
                size: size
                    .parse()
                    .map_err(|_| ModuleError::Probe(format!("size {size:?}")))?,
                sha256,
                content,
            })
        }
        other => return Err(ModuleError::Probe(format!("kind {other:?}"))),
    };
    Ok(Found {
        path,
        parent_exists: field("parent")? == "1",
        me: field("me")?.to_string(),
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
                steps.push(Step::run(format!("mkdir -p -- {}", quote(parent))));
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
                let Some(script) = write.attrs.fix(path, &existing.attrs, "") else {
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
                owner: kept_owner(write.attrs, &existing.attrs, &found.me),
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
fn kept_owner(attrs: &Attrs, current: &Current, me: &str) -> Option<String> {
    let (my_uid, my_gid) = me.split_once(':').unwrap_or((me, ""));
    let owner = attrs
        .owner
        .as_deref()
        .or((current.uid != my_uid).then_some(current.uid.as_str()));
    let group = attrs
        .group
        .as_deref()
        .or((current.gid != my_gid).then_some(current.gid.as_str()));
    chown_spec(owner, group)
}

/// Copies `path` to `path.YYYY-MM-DD@HH:MM:SS~` (host time), keeping mode,
/// owner and times, and prints where.
pub(crate) fn backup_script(path: &str) -> String {
    let path = quote(path);
    format!(
        "backup={path}.\"$(date +%Y-%m-%d@%H:%M:%S)\"~ && cp -p -- {path} \"$backup\" \
         && printf 'backup_file=%s\\n' \"$backup\""
    )
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
        }
    }
}

/// The last component of a controller path (`files/app.conf` → `app.conf`).
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl Module for WriteFile {
    fn target(&self) -> Option<&str> {
        self.into_dir.is_none().then_some(self.dest.as_str())
    }

    fn probe(&self) -> Option<String> {
        Some(probe(
            &self.dest,
            self.into_dir.as_deref(),
            Some(DIFF_LIMIT),
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let found = parse(probe)?;
        if !self.force && matches!(found.state, State::File(_)) {
            return Ok(Plan {
                msg: Some(format!("{} exists (force: false)", found.path)),
                ..Plan::unchanged()
            });
        }
        plan(
            &found,
            &Write {
                contents: &self.contents,
                attrs: &self.attrs,
                backup: self.backup,
                make_parent: self.make_parent,
                follow: false,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_SHA256: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    fn existing(content: &str, extra: &str) -> Probe {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        Probe::ok(&format!(
            "path=/etc/motd\nme=0:0\nparent=1\nkind=file\nmode=644\nuid=1000\ngid=0\n\
             owner=app\ngroup=root\nsize={}\nreal=/etc/motd\nsha256={}\ncontent={encoded}\n{extra}",
            content.len(),
            sha256_hex(content.as_bytes())
        ))
    }

    fn write<'a>(contents: &'a [u8], attrs: &'a Attrs) -> Write<'a> {
        Write {
            contents,
            attrs,
            backup: false,
            make_parent: false,
            follow: false,
        }
    }

    #[test]
    fn probe_redirects_into_directories_and_limits_content() {
        let script = probe("/srv/", Some("app.conf"), Some(DIFF_LIMIT));
        assert!(script.starts_with(
            "t=/srv/\nparent=/\nif [ -d \"$t\" ]; then parent=$t; t=\"${t%/}\"/app.conf; fi\n"
        ));
        assert!(script.contains(
            "if [ \"${attrs##*size=}\" -le 1048576 ]; then { printf 'content='; base64 -w0 < \"$t\"; echo; }\n\
             else sum=$(sha256sum < \"$t\"); printf 'sha256=%s\\n' \"${sum%% *}\"; fi"
        ));
        // Every process costs the host CPU: one `stat`, `readlink` only for
        // a symlink, `id` only without /proc, no `dirname` or `cut`.
        for absent in ["dirname", "cut ", " | ", "id -u)\""] {
            assert!(!script.contains(absent), "{absent}: {script}");
        }
        assert_eq!(script.matches("stat ").count(), 1, "{script}");
        assert!(script.contains("if [ -L \"$t\" ]; then real=$(readlink -f -- \"$t\")"));
        let script = probe("/a b/c", None, None);
        assert!(
            script.starts_with("t='/a b/c'\nparent='/a b'\nprintf"),
            "{script}"
        );
        assert!(script.contains("\n{ printf 'content='"), "{script}");
        assert!(!script.contains("sha256sum"), "{script}");
    }

    #[test]
    fn sha256_comes_from_the_content_or_the_probe() {
        let small = "path=/f\nme=0:0\nparent=1\nkind=file\nmode=644\nuid=0\ngid=0\n\
                     owner=root\ngroup=root\nsize=6\nreal=/f\ncontent=aGVsbG8K\n";
        let large = small.replace("content=aGVsbG8K", &format!("sha256={HELLO_SHA256}"));
        for (output, content) in [(small, Some(&b"hello\n"[..])), (&large, None)] {
            let State::File(existing) = parse(&Probe::ok(output)).unwrap().state else {
                panic!("not a file: {output}")
            };
            assert_eq!(
                (existing.sha256.as_str(), existing.content.as_deref()),
                (HELLO_SHA256, content)
            );
        }
        let neither = small.replace("content=aGVsbG8K\n", "");
        assert!(parse(&Probe::ok(&neither)).is_err());
    }

    #[test]
    fn new_file_is_uploaded_with_default_mode() {
        let found = parse(&Probe::ok(
            "path=/etc/motd\nme=0:0\nparent=1\nkind=absent\n",
        ))
        .unwrap();
        let attrs = Attrs::default();
        let plan = plan(&found, &write(b"hello\n", &attrs)).unwrap();
        assert!(plan.changed);
        assert_eq!(
            plan.steps,
            [Step::Upload {
                dest: "/etc/motd".into(),
                contents: b"hello\n".to_vec(),
                mode: 0o644,
                owner: None
            }]
        );
        let diff = plan.diff.unwrap();
        assert!(diff.starts_with("state: absent -> file\n"), "{diff}");
        assert!(diff.contains("+hello\n"), "{diff}");
    }

    #[test]
    fn missing_parent_fails_unless_it_may_be_made() {
        let found = parse(&Probe::ok(
            "path=/new/dir/f\nme=0:0\nparent=0\nkind=absent\n",
        ))
        .unwrap();
        let attrs = Attrs::default();
        let err = plan(&found, &write(b"x", &attrs)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "destination directory /new/dir does not exist"
        );
        let plan = plan(
            &found,
            &Write {
                make_parent: true,
                ..write(b"x", &attrs)
            },
        )
        .unwrap();
        assert_eq!(plan.steps[0], Step::run("mkdir -p -- /new/dir"));
    }

    #[test]
    fn same_content_and_attributes_is_unchanged() {
        let found = parse(&existing("hello\n", "")).unwrap();
        let attrs = Attrs::new("copy", Some(0o644), Some("app".into()), None).unwrap();
        assert_eq!(
            plan(&found, &write(b"hello\n", &attrs)).unwrap(),
            Plan::unchanged()
        );
    }

    #[test]
    fn attribute_changes_run_chmod_and_chown_only() {
        let found = parse(&existing("hello\n", "")).unwrap();
        let attrs = Attrs::new("copy", Some(0o600), Some("root".into()), None).unwrap();
        let plan = plan(&found, &write(b"hello\n", &attrs)).unwrap();
        assert_eq!(
            plan.steps,
            [Step::run(
                "chown root -- /etc/motd && chmod 0600 -- /etc/motd"
            )]
        );
        assert_eq!(
            plan.diff.unwrap(),
            "mode: 0644 -> 0600\nowner: app -> root\n"
        );
    }

    #[test]
    fn new_content_keeps_mode_and_owner_and_backs_up() {
        let found = parse(&existing("hello\n", "")).unwrap();
        let attrs = Attrs::default();
        let plan = plan(
            &found,
            &Write {
                backup: true,
                ..write(b"bye\n", &attrs)
            },
        )
        .unwrap();
        assert_eq!(plan.steps[0], Step::run(backup_script("/etc/motd")));
        assert_eq!(
            plan.steps[1],
            Step::Upload {
                dest: "/etc/motd".into(),
                contents: b"bye\n".to_vec(),
                mode: 0o644,
                owner: Some("1000".into()),
            }
        );
        let diff = plan.diff.unwrap();
        assert!(diff.contains("-hello\n+bye\n"), "{diff}");
    }

    #[test]
    fn follow_writes_to_the_resolved_path() {
        let found = parse(&existing("a\n", "real=/etc/real\n")).unwrap();
        let attrs = Attrs::default();
        let plan = plan(
            &found,
            &Write {
                follow: true,
                ..write(b"b\n", &attrs)
            },
        )
        .unwrap();
        assert!(matches!(&plan.steps[0], Step::Upload { dest, .. } if dest == "/etc/real"));
    }

    #[test]
    fn large_and_binary_content_get_summaries() {
        assert_eq!(
            content_diff("/f", None, HELLO_SHA256, b"x"),
            Some("content: sha256 5891b5b522d5 -> 2d711642b726 (too large to diff)\n".into())
        );
        assert_eq!(
            content_diff("/f", Some(b"\0\x01"), "", b"\0"),
            Some("content: binary, 2 bytes -> 1 bytes\n".into())
        );
    }

    #[test]
    fn directories_and_unreadable_files_fail() {
        let found = parse(&Probe::ok("path=/etc\nme=0:0\nparent=1\nkind=directory\n")).unwrap();
        let attrs = Attrs::default();
        assert!(plan(&found, &write(b"x", &attrs)).is_err());
        let err = parse(&Probe::ok(
            "path=/f\nme=1:1\nparent=1\nkind=file\nreadable=0\n",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{err}");
        assert!(parse(&Probe::default()).is_err());
    }

    #[test]
    fn parents() {
        assert_eq!(parent("/etc/motd"), "/etc");
        assert_eq!(parent("/motd"), "/");
        assert_eq!(parent("motd"), ".");
        assert_eq!(parent("/srv/app/"), "/srv");
    }
}
