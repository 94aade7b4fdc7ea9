//! What probes print about a path, parsed once into typed facts that
//! `file`, `stat`, the content writers (`copy`, `template`, `lineinfile`,
//! `blockinfile`) and `unarchive` share; and the probe snippets that print
//! them, written to start as few processes as possible on the host.
//!
//! Probes print `key=value` lines (and `unarchive` NUL-separated `find`
//! records); nothing outside this file reads those keys.

use std::collections::BTreeMap;

use crate::ModuleError;
use crate::text::decode_base64;

/// The `stat --printf` format of a path's attributes, as [`Current`] reads
/// them.
pub(crate) const STAT_FORMAT: &str = r"mode=%a\nuid=%u\ngid=%g\nowner=%U\ngroup=%G\n";

/// Runs `stat --printf "$stat_format"` once on `$p` and prints what it
/// printed (`stat_format` ends with a newline). For a symlink it also sets
/// `target` to what the link points to, read from the same `stat` call
/// (`%N`); `readlink` runs only when this `stat` ignores `QUOTING_STYLE`.
macro_rules! stat_with_target {
    () => {
        "nl='\n'\n\
         attrs=$(QUOTING_STYLE=literal stat --printf \"$stat_format\"'target=%N' -- \"$p\")\n\
         printf '%s\\n' \"${attrs%%\"$nl\"target=*}\"\n\
         if [ -L \"$p\" ]; then target=${attrs#*\"$nl\"target=}\n\
         case $target in \"$p -> \"*) target=${target#\"$p -> \"};; \
         *) target=$(readlink -- \"$p\");; esac; fi\n"
    };
}
pub(crate) use stat_with_target;

/// Prints `me=<uid>:<gid>` (effective ids) without starting a process when
/// `/proc` is there.
pub(crate) const PRINT_ME: &str = r#"me=
while read -r key real_id effective_id rest; do
case $key in Uid:) uid=$effective_id;; Gid:) me=$uid:$effective_id; break;; esac
done 2>/dev/null </proc/self/status
[ -n "$me" ] || me=$(id -u):$(id -g)
printf 'me=%s\n' "$me"
"#;

/// Prints whether `$p`, a directory and not a symlink, is empty, with globs
/// rather than `ls`.
pub(crate) const EMPTY_DIR: &str = "if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then empty=1; \
    for entry in \"$p\"/* \"$p\"/.[!.]* \"$p\"/..?*; do \
    if [ -e \"$entry\" ] || [ -L \"$entry\" ]; then empty=0; break; fi; done; \
    echo empty=$empty; fi\n";

/// The `find -printf` format of the records [`parse_listing`] reads: ten
/// NUL-terminated fields.
pub(crate) const FIND_FORMAT: &str = r"%y\0%m\0%U\0%G\0%u\0%g\0%s\0%T@\0%l\0%p\0";

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Absent,
    Directory,
    File,
    Symlink,
    /// A device, fifo or socket.
    Other,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Absent => "absent",
            Kind::Directory => "directory",
            Kind::File => "file",
            Kind::Symlink => "link",
            Kind::Other => "other",
        }
    }

    /// A `kind=` value.
    fn parse(value: &str) -> Result<Kind, ModuleError> {
        Ok(match value {
            "absent" => Kind::Absent,
            "directory" => Kind::Directory,
            "file" => Kind::File,
            "link" => Kind::Symlink,
            "other" => Kind::Other,
            other => return Err(ModuleError::Probe(format!("kind {other:?}"))),
        })
    }

    /// `find`'s `%y`.
    fn of_find_type(letter: &str) -> Kind {
        match letter {
            "d" => Kind::Directory,
            "f" => Kind::File,
            "l" => Kind::Symlink,
            _ => Kind::Other,
        }
    }
}

/// Owner, group and mode of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Current {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// `UNKNOWN` when the uid has no name.
    pub owner: String,
    pub group: String,
}

impl Current {
    pub fn is_owner(&self, owner: &str) -> bool {
        owner == self.owner || owner == self.uid.to_string()
    }

    pub fn is_group(&self, group: &str) -> bool {
        group == self.group || group == self.gid.to_string()
    }

    /// The owner's name, else its uid.
    pub fn owner_name(&self) -> String {
        named(&self.owner, self.uid)
    }

    /// The group's name, else its gid.
    pub fn group_name(&self) -> String {
        named(&self.group, self.gid)
    }
}

fn named(name: &str, id: u32) -> String {
    match name {
        "UNKNOWN" => id.to_string(),
        name => name.to_string(),
    }
}

/// The effective uid and gid the probe (and the steps) run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Me {
    pub uid: u32,
    pub gid: u32,
}

/// Everything a probe printed about one path. A field is `None` when the
/// probe did not print it; a value that does not parse is an error.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PathFacts {
    /// The path the probe looked at (`copy` into a directory).
    pub path: Option<String>,
    pub exists: Option<bool>,
    pub kind: Option<Kind>,
    pub parent_exists: Option<bool>,
    pub me: Option<Me>,
    /// Following symlinks, when the path exists.
    pub attrs: Option<Current>,
    /// File type and mode bits (`stat`'s `%f`).
    pub raw_mode: Option<u32>,
    pub size: Option<u64>,
    pub mtime: Option<f64>,
    pub atime: Option<f64>,
    pub ctime: Option<f64>,
    pub inode: Option<u64>,
    pub dev: Option<u64>,
    pub nlink: Option<u64>,
    /// What the path, a symlink, points to.
    pub link: Option<String>,
    /// The symlink's own owner and group.
    pub link_attrs: Option<Current>,
    /// The path with every symlink resolved.
    pub real: Option<String>,
    pub readable: Option<bool>,
    pub writeable: Option<bool>,
    pub executable: Option<bool>,
    /// The whole content, when the probe sent it.
    pub content: Option<Vec<u8>>,
    pub sha256: Option<String>,
    /// In the algorithm `stat` was asked for.
    pub checksum: Option<String>,
    pub empty_dir: Option<bool>,
    /// `file: src` exists, seen from the link's directory.
    pub src_exists: Option<bool>,
    /// Something below the directory has other attributes (`recurse`).
    pub tree_differs: bool,
}

impl PathFacts {
    /// Reads a probe's `key=value` lines.
    pub fn parse(stdout: &str) -> Result<PathFacts, ModuleError> {
        let fields: BTreeMap<&str, &str> = stdout
            .lines()
            .filter_map(|line| line.split_once('='))
            .collect();
        let text = |key: &str| fields.get(key).map(|value| (*value).to_string());
        let flag = |key: &str| fields.get(key).map(|value| *value == "1");
        let number = |key: &str| number(&fields, key);
        let seconds = |key: &str| -> Result<Option<f64>, ModuleError> {
            fields
                .get(key)
                .map(|value| value.parse().map_err(|_| bad(key, value)))
                .transpose()
        };
        let raw_mode = fields
            .get("raw")
            .map(|raw| u32::from_str_radix(raw, 16).map_err(|_| bad("raw mode", raw)))
            .transpose()?;
        let content = fields
            .get("content")
            .map(|encoded| {
                let path = fields.get("path").copied().unwrap_or_default();
                decode_base64(encoded, &format!("content of {path}"))
            })
            .transpose()?;
        Ok(PathFacts {
            path: text("path"),
            exists: flag("exists"),
            kind: fields.get("kind").copied().map(Kind::parse).transpose()?,
            parent_exists: flag("parent"),
            me: fields.get("me").copied().map(parse_me).transpose()?,
            attrs: attrs(&fields, "", raw_mode)?,
            raw_mode,
            size: number("size")?,
            mtime: seconds("mtime")?,
            atime: seconds("atime")?,
            ctime: seconds("ctime")?,
            inode: number("inode")?,
            dev: number("dev")?,
            nlink: number("nlink")?,
            link: text("link"),
            link_attrs: attrs(&fields, "link_", None)?,
            real: text("real"),
            readable: flag("readable"),
            writeable: flag("writeable"),
            executable: flag("executable"),
            content,
            sha256: text("sha256"),
            checksum: text("checksum"),
            empty_dir: flag("empty"),
            src_exists: flag("src"),
            tree_differs: fields.get("tree") == Some(&"differs"),
        })
    }
}

fn bad(what: &str, value: &str) -> ModuleError {
    ModuleError::Probe(format!("{what} {value:?} in the probe output"))
}

fn number<T: std::str::FromStr>(
    fields: &BTreeMap<&str, &str>,
    key: &str,
) -> Result<Option<T>, ModuleError> {
    fields
        .get(key)
        .map(|value| value.parse().map_err(|_| bad(key, value)))
        .transpose()
}

/// `uid:gid`.
fn parse_me(me: &str) -> Result<Me, ModuleError> {
    let (uid, gid) = me.split_once(':').ok_or_else(|| bad("me", me))?;
    Ok(Me {
        uid: uid.parse().map_err(|_| bad("me", me))?,
        gid: gid.parse().map_err(|_| bad("me", me))?,
    })
}

/// The attributes under keys starting with `prefix`, when the probe printed
/// a mode (`mode`, else the mode bits of `raw_mode`); then every other one
/// must be there.
fn attrs(
    fields: &BTreeMap<&str, &str>,
    prefix: &str,
    raw_mode: Option<u32>,
) -> Result<Option<Current>, ModuleError> {
    let key = |name: &str| format!("{prefix}{name}");
    let mode = match (fields.get(key("mode").as_str()), raw_mode) {
        (Some(mode), _) => u32::from_str_radix(mode, 8).map_err(|_| bad("mode", mode))?,
        (None, Some(raw)) => raw & 0o7777,
        (None, None) => return Ok(None),
    };
    let missing = |name: &str| ModuleError::Probe(format!("no `{name}` in the probe output"));
    let text = |name: &str| {
        let name = key(name);
        fields
            .get(name.as_str())
            .map(|value| (*value).to_string())
            .ok_or_else(|| missing(&name))
    };
    let id = |name: &str| {
        let name = key(name);
        number::<u32>(fields, &name)?.ok_or_else(|| missing(&name))
    };
    Ok(Some(Current {
        mode,
        uid: id("uid")?,
        gid: id("gid")?,
        owner: text("owner")?,
        group: text("group")?,
    }))
}

/// One path under `unarchive`'s `dest`, as `find -printf` [`FIND_FORMAT`]
/// printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub kind: Kind,
    pub attrs: Current,
    pub size: u64,
    /// Whole seconds.
    pub mtime: u64,
    /// A symlink's target, else empty.
    pub target: String,
}

/// A probe's output split at its `listing:` line: the `key=value` lines
/// before it, and the listing. A probe that printed no listing failed; the
/// error gives its exit code and stderr.
pub(crate) fn split_listing(probe: &crate::Probe) -> Result<(&str, &str), ModuleError> {
    probe
        .stdout
        .split_once("listing:\n")
        .ok_or_else(|| ModuleError::Probe(format!("rc={}: {}", probe.rc, probe.stderr.trim())))
}

/// `sha256sum -z` records (`SUM  ./path`, NUL-separated), by path
/// without `./`.
pub(crate) fn parse_sums(records: &str) -> BTreeMap<&str, &str> {
    records
        .split('\0')
        .filter_map(|record| record.split_once("  "))
        .map(|(sum, path)| (path.strip_prefix("./").unwrap_or(path), sum))
        .collect()
}

/// Reads `find -printf` [`FIND_FORMAT`] records, by path relative to the
/// directory `find` ran in (without `./`).
pub(crate) fn parse_listing(
    listing: &str,
) -> Result<std::collections::HashMap<&str, Listed>, ModuleError> {
    let fields: Vec<&str> = listing.split('\0').collect();
    let mut found = std::collections::HashMap::new();
    for record in fields.chunks_exact(10) {
        let [
            kind,
            mode,
            uid,
            gid,
            owner,
            group,
            size,
            mtime,
            target,
            path,
        ] = record
        else {
            continue;
        };
        let bad =
            |what: &str, value: &str| ModuleError::Probe(format!("{what} {value:?} for {path}"));
        let path = path.strip_prefix("./").unwrap_or(path);
        let seconds = mtime.split('.').next().unwrap_or_default();
        found.insert(
            path,
            Listed {
                kind: Kind::of_find_type(kind),
                attrs: Current {
                    mode: u32::from_str_radix(mode, 8).map_err(|_| bad("mode", mode))?,
                    uid: uid.parse().map_err(|_| bad("uid", uid))?,
                    gid: gid.parse().map_err(|_| bad("gid", gid))?,
                    owner: (*owner).to_string(),
                    group: (*group).to_string(),
                },
                size: size.parse().map_err(|_| bad("size", size))?,
                mtime: seconds.parse().map_err(|_| bad("mtime", mtime))?,
                target: (*target).to_string(),
            },
        );
    }
    Ok(found)
}

#[cfg(test)]
#[path = "path_facts_tests.rs"]
pub(crate) mod tests;
