//! `find`: lists files on the host that match patterns, age, size and
//! content, like Ansible's `find`. It changes nothing; check mode finds as
//! well.
//!
//! The probe runs one `find` per path (records of each entry's type, mode,
//! owner, size, times, depth and path), plus `sha1sum` (or the asked
//! digest) of the regular files when `get_checksum` is set and `grep -P`
//! over them when `contains` is set. The plan walks the records in the
//! order Python's `os.walk` does (a directory's non-directories, then its
//! directories, then each directory's own walk) and filters them with
//! Ansible's rules, so `files`, `matched` and `examined` come out the same.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::modules::{de, pyre};
use crate::text::fields;
use crate::{Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

pub const PARAMS: &[&str] = &[
    "paths",
    "name",
    "path",
    "patterns",
    "pattern",
    "excludes",
    "exclude",
    "contains",
    "read_whole_file",
    "file_type",
    "age",
    "age_stamp",
    "size",
    "recurse",
    "hidden",
    "follow",
    "get_checksum",
    "checksum_algorithm",
    "checksum",
    "checksum_algo",
    "use_regex",
    "depth",
];

/// One record per entry: its type (`%y` and, for a symlink, what it points
/// to: `ld`, `lf`, `lN`), mode, ids, names, size, inode, device, links,
/// times, depth and path.
const RECORD: &str = r"%y%Y\0%m\0%U\0%G\0%u\0%g\0%s\0%i\0%D\0%n\0%A@\0%T@\0%C@\0%d\0%p\0";
/// [`RECORD`] under `find -L`, where `%y` is the target's type: `l` first
/// for a symlink (`-xtype l`), so it is still told apart.
const RECORD_LINK: &str = r"l%y\0%m\0%U\0%G\0%u\0%g\0%s\0%i\0%D\0%n\0%A@\0%T@\0%C@\0%d\0%p\0";
const RECORD_PLAIN: &str = r"%y%y\0%m\0%U\0%G\0%u\0%g\0%s\0%i\0%D\0%n\0%A@\0%T@\0%C@\0%d\0%p\0";
const FIELDS: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Any,
    Directory,
    File,
    Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeStamp {
    Atime,
    Ctime,
    Mtime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Digest {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    fn program(self) -> &'static str {
        match self {
            Digest::Md5 => "md5sum",
            Digest::Sha1 => "sha1sum",
            Digest::Sha224 => "sha224sum",
            Digest::Sha256 => "sha256sum",
            Digest::Sha384 => "sha384sum",
            Digest::Sha512 => "sha512sum",
        }
    }
}

fn file_type_default() -> FileType {
    FileType::File
}

fn age_stamp_default() -> AgeStamp {
    AgeStamp::Mtime
}

fn digest_default() -> Digest {
    Digest::Sha1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindParams {
    #[serde(alias = "name", alias = "path", deserialize_with = "de::list")]
    pub paths: Vec<String>,
    #[serde(default, alias = "pattern", deserialize_with = "de::list")]
    pub patterns: Vec<String>,
    #[serde(default, alias = "exclude", deserialize_with = "de::list")]
    pub excludes: Vec<String>,
    pub contains: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub read_whole_file: bool,
    #[serde(default = "file_type_default")]
    pub file_type: FileType,
    #[serde(default, deserialize_with = "de::optional_scalar")]
    pub age: Option<String>,
    #[serde(default = "age_stamp_default")]
    pub age_stamp: AgeStamp,
    #[serde(default, deserialize_with = "de::optional_scalar")]
    pub size: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub recurse: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub hidden: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub follow: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub get_checksum: bool,
    #[serde(
        default = "digest_default",
        alias = "checksum",
        alias = "checksum_algo"
    )]
    pub checksum_algorithm: Digest,
    #[serde(default, deserialize_with = "de::boolean")]
    pub use_regex: bool,
    #[serde(default, deserialize_with = "de::optional_whole_number")]
    pub depth: Option<u32>,
}

/// How a name is matched: Python's `fnmatch` or `re.match`, both as
/// regexes.
#[derive(Debug)]
struct Matcher {
    patterns: Vec<regex::Regex>,
    excludes: Vec<regex::Regex>,
}

impl Matcher {
    /// Ansible's `pfilter`: a pattern matches and no exclude does.
    fn matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.is_match(name))
            && !self.excludes.iter().any(|e| e.is_match(name))
    }
}

#[derive(Debug)]
pub struct Find {
    params: FindParams,
    matcher: Matcher,
    /// Seconds; negative: younger than.
    age: Option<i64>,
    /// Bytes; negative: at most.
    size: Option<i64>,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: FindParams = parse_params("find", params)?;
    let invalid = |message: String| ModuleError::Params {
        module: "find".into(),
        message,
    };
    if params.paths.is_empty() || params.paths.iter().any(String::is_empty) {
        return Err(invalid("paths is required (a list of directories)".into()));
    }
    let compile = |pattern: &str| -> Result<regex::Regex, ModuleError> {
        let translated = if params.use_regex {
            format!("^(?:{})", pyre::translate(pattern).map_err(&invalid)?)
        } else {
            fnmatch_regex(pattern)
        };
        regex::Regex::new(&translated).map_err(|err| invalid(format!("pattern {pattern:?}: {err}")))
    };
    let default = if params.use_regex { ".*" } else { "*" };
    let patterns = if params.patterns.is_empty() {
        vec![compile(default)?]
    } else {
        params
            .patterns
            .iter()
            .map(|p| compile(p))
            .collect::<Result<_, _>>()?
    };
    let excludes = params
        .excludes
        .iter()
        .map(|p| compile(p))
        .collect::<Result<_, _>>()?;
    let age = params
        .age
        .as_deref()
        .map(|age| {
            with_unit(
                age,
                &[
                    ("s", 1),
                    ("m", 60),
                    ("h", 3600),
                    ("d", 86400),
                    ("w", 604800),
                ],
            )
            .ok_or_else(|| invalid(format!("failed to process age: {age:?}")))
        })
        .transpose()?;
    let size = params
        .size
        .as_deref()
        .map(|size| {
            let units = [
                ("b", 1),
                ("k", 1024),
                ("m", 1024_i64.pow(2)),
                ("g", 1024_i64.pow(3)),
                ("t", 1024_i64.pow(4)),
            ];
            with_unit(size, &units)
                .ok_or_else(|| invalid(format!("failed to process size: {size:?}")))
        })
        .transpose()?;
    Ok(Box::new(Find {
        matcher: Matcher { patterns, excludes },
        age,
        size,
        params,
    }))
}

/// `-?\d+` with an optional unit letter (case-insensitive), times the unit.
fn with_unit(text: &str, units: &[(&str, i64)]) -> Option<i64> {
    let lower = text.to_lowercase();
    let (number, factor) = match units.iter().find(|(unit, _)| lower.ends_with(unit)) {
        Some((unit, factor)) => (&lower[..lower.len() - unit.len()], *factor),
        None => (lower.as_str(), 1),
    };
    let digits = number.strip_prefix('-').unwrap_or(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse::<i64>().ok()?.checked_mul(factor)
}

/// Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`, the whole
/// name, case-sensitive.
pub(crate) fn fnmatch_regex(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                    continue;
                }
                let mut set: String = chars[i..j].iter().collect();
                i = j + 1;
                let negated = set.starts_with('!');
                if negated {
                    set.remove(0);
                }
                let escaped: String = set
                    .chars()
                    .map(|c| match c {
                        '\\' | '[' | '&' | '~' | '|' | '^' => format!("\\{c}"),
                        c => c.to_string(),
                    })
                    .collect();
                out.push('[');
                if negated {
                    out.push('^');
                }
                out.push_str(&escaped);
                out.push(']');
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    out
}

impl Find {
    /// `-maxdepth` for `find`: one level without `recurse`; with `depth`,
    /// one level more than matched, as `os.walk` lists it.
    fn max_depth(&self) -> Option<u32> {
        match (self.params.recurse, self.params.depth) {
            (false, _) => Some(1),
            (true, Some(depth)) if depth > 0 => Some(depth + 1),
            _ => None,
        }
    }

    fn find_cmd(&self) -> Cmd {
        let mut cmd = Cmd::without_end_of_options("find")
            .flag_if(self.params.follow, "-L")
            .arg(Arg::var("p"))
            .opt("-mindepth", "1");
        if let Some(depth) = self.max_depth() {
            cmd = cmd.opt("-maxdepth", depth.to_string());
        }
        cmd
    }
}

impl Module for Find {
    fn probe(&self) -> Option<Script> {
        let mut script =
            Script::new().snippet("printf 'now=%s\\n' \"$(date +%s.%N)\"\necho listing:");
        for path in &self.params.paths {
            // A path starting with `-` would be read as an expression.
            let start = if path.starts_with('-') {
                format!("./{path}")
            } else {
                path.clone()
            };
            let records = if self.params.follow {
                self.find_cmd()
                    .flag("(")
                    .flag("-xtype")
                    .flag("l")
                    .opt("-printf", RECORD_LINK)
                    .flag(")")
                    .flag("-o")
                    .opt("-printf", RECORD_PLAIN)
            } else {
                self.find_cmd().opt("-printf", RECORD)
            };
            script = script
                .set("p", path.as_str())
                .snippet("printf '\\0path\\0%s\\0' \"$p\"")
                .set("p", start)
                .snippet("if [ -d \"$p\" ]; then")
                .cmd(records.quiet());
            if self.params.get_checksum {
                let sums = self
                    .find_cmd()
                    .opt("-type", "f")
                    .flag("-exec")
                    .arg(self.params.checksum_algorithm.program())
                    .flag("-z")
                    .flag("--")
                    .flag("{}")
                    .flag("+")
                    .quiet();
                script = script.snippet("printf '\\0sums\\0'").cmd(sums);
            }
            if let Some(contains) = &self.params.contains {
                let pattern = if self.params.read_whole_file {
                    contains.clone()
                } else {
                    format!("^(?:{contains})")
                };
                let grep = self
                    .find_cmd()
                    .opt("-type", "f")
                    .flag("-exec")
                    .arg("grep")
                    .flag("-lZP")
                    .flag_if(self.params.read_whole_file, "-z")
                    .opt("-e", pattern)
                    .flag("--")
                    .flag("{}")
                    .flag("+")
                    .quiet();
                script = script.snippet("printf '\\0grep\\0'").cmd(grep);
            }
            script = script.snippet("else printf '\\0notdir\\0'; fi");
        }
        Some(script.snippet("exit 0"))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let (head, listing) = probe.stdout.split_once("listing:\n").ok_or_else(|| {
            ModuleError::Probe(format!("rc={}: {}", probe.rc, probe.stderr.trim()))
        })?;
        let now: f64 = fields(head)
            .get("now")
            .and_then(|now| now.parse().ok())
            .ok_or_else(|| ModuleError::Probe("no `now` in the probe output".into()))?;
        let listed = sections(listing)?;
        let mut files = Vec::new();
        let mut skipped = Map::new();
        let mut examined = 0;
        let mut warned = false;
        for (path, section) in self.params.paths.iter().zip(&listed) {
            if section.not_dir {
                skipped.insert(
                    path.clone(),
                    Value::String(format!("'{path}' is not a directory")),
                );
                warned = true;
                continue;
            }
            for entry in walk(&section.entries) {
                examined += 1;
                if let Some(found) = self.matched(entry, section, now) {
                    files.push(found);
                }
            }
        }
        let msg = if warned {
            "Not all paths examined, check warnings for details"
        } else {
            "All paths examined"
        };
        let mut data = Map::new();
        data.insert("matched".into(), json!(files.len()));
        data.insert("files".into(), Value::Array(files));
        data.insert("examined".into(), json!(examined));
        data.insert("skipped_paths".into(), Value::Object(skipped));
        Ok(Plan {
            data,
            msg: Some(msg.into()),
            ..Plan::unchanged()
        })
    }
}

/// One entry `find` printed.
#[derive(Debug, Clone)]
struct Entry {
    /// `%y`: f, d, l, c, b, p, s.
    kind: char,
    /// What a symlink points to (`%Y`), else `kind`.
    target: char,
    mode: u32,
    uid: u64,
    gid: u64,
    user: String,
    group: String,
    size: u64,
    inode: u64,
    dev: u64,
    nlink: u64,
    atime: f64,
    mtime: f64,
    ctime: f64,
    depth: u32,
    path: String,
}

/// What the probe printed for one of `paths`.
#[derive(Debug, Default)]
struct Section {
    not_dir: bool,
    entries: Vec<Entry>,
    sums: BTreeMap<String, String>,
    containing: Vec<String>,
}

/// Splits the NUL-separated listing at its markers (an empty field, then
/// `path`, `sums`, `grep` or `notdir`).
fn sections(listing: &str) -> Result<Vec<Section>, ModuleError> {
    let tokens: Vec<&str> = listing.split('\0').collect();
    let mut sections: Vec<Section> = Vec::new();
    let mut mode = "";
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].is_empty() {
            let marker = tokens.get(i + 1).copied().unwrap_or_default();
            match marker {
                "path" => {
                    sections.push(Section::default());
                    i += 3;
                    mode = "records";
                    continue;
                }
                "sums" | "grep" => {
                    mode = marker;
                    i += 2;
                    continue;
                }
                "notdir" => {
                    if let Some(section) = sections.last_mut() {
                        section.not_dir = true;
                    }
                    i += 2;
                    continue;
                }
                _ => {
                    i += 1;
                    continue;
                }
            }
        }
        let Some(section) = sections.last_mut() else {
            i += 1;
            continue;
        };
        match mode {
            "records" => {
                let Some(record) = tokens.get(i..i + FIELDS) else {
                    break;
                };
                section.entries.push(entry(record)?);
                i += FIELDS;
            }
            "sums" => {
                if let Some((sum, path)) = tokens[i].split_once("  ") {
                    section.sums.insert(path.to_string(), sum.to_string());
                }
                i += 1;
            }
            _ => {
                section.containing.push(tokens[i].to_string());
                i += 1;
            }
        }
    }
    Ok(sections)
}

fn entry(record: &[&str]) -> Result<Entry, ModuleError> {
    let bad = |what: &str, value: &str| {
        ModuleError::Probe(format!("{what} {value:?} for {:?}", record[FIELDS - 1]))
    };
    let number = |index: usize, what: &str| -> Result<u64, ModuleError> {
        record[index].parse().map_err(|_| bad(what, record[index]))
    };
    let seconds = |index: usize, what: &str| -> Result<f64, ModuleError> {
        record[index].parse().map_err(|_| bad(what, record[index]))
    };
    let mut kind = record[0].chars();
    let (kind, target) = match (kind.next(), kind.next()) {
        (Some(kind), Some(target)) => (kind, target),
        _ => return Err(bad("type", record[0])),
    };
    Ok(Entry {
        kind,
        target,
        mode: u32::from_str_radix(record[1], 8).map_err(|_| bad("mode", record[1]))?,
        uid: number(2, "uid")?,
        gid: number(3, "gid")?,
        user: record[4].to_string(),
        group: record[5].to_string(),
        size: number(6, "size")?,
        inode: number(7, "inode")?,
        dev: number(8, "device")?,
        nlink: number(9, "links")?,
        atime: seconds(10, "atime")?,
        mtime: seconds(11, "mtime")?,
        ctime: seconds(12, "ctime")?,
        depth: number(13, "depth")? as u32,
        path: record[14].to_string(),
    })
}

/// `find`'s pre-order listing in `os.walk`'s top-down order: each
/// directory's non-directories, then its directories (a symlink to a
/// directory counts as one), then the walk of each directory in turn.
fn walk(entries: &[Entry]) -> Vec<&Entry> {
    // Children of each entry, by index; `None` is the top.
    let mut children: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    let mut stack: Vec<usize> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        while stack
            .last()
            .is_some_and(|&open| entries[open].depth >= entry.depth)
        {
            stack.pop();
        }
        children
            .entry(stack.last().copied())
            .or_default()
            .push(index);
        stack.push(index);
    }
    let mut out = Vec::with_capacity(entries.len());
    let mut pending = vec![None];
    while let Some(dir) = pending.pop() {
        let Some(list) = children.get(&dir) else {
            continue;
        };
        let is_dir = |index: &usize| entries[*index].target == 'd';
        let (dirs, others): (Vec<usize>, Vec<usize>) = list.iter().partition(|i| is_dir(i));
        out.extend(others.iter().chain(&dirs).map(|&i| &entries[i]));
        pending.extend(dirs.iter().rev().map(|&i| Some(i)));
    }
    out
}

impl Find {
    /// The result dict of `entry` when it passes every filter.
    fn matched(&self, entry: &Entry, section: &Section, now: f64) -> Option<Value> {
        let params = &self.params;
        if let Some(depth) = params.depth.filter(|depth| *depth > 0)
            && entry.depth > depth
        {
            return None;
        }
        let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
        if name.starts_with('.') && !params.hidden {
            return None;
        }
        // Without `follow`, `find` reports the link itself; with it, a
        // symlink's record is its target's but still starts with `l`.
        let kind = entry.kind;
        let regular = kind == 'f';
        let wanted = match params.file_type {
            FileType::Any => true,
            FileType::Directory => kind == 'd',
            FileType::File => regular,
            FileType::Link => kind == 'l',
        };
        if !wanted || !self.matcher.matches(name) || !self.age_ok(entry, now) {
            return None;
        }
        let sized =
            params.file_type == FileType::File || (params.file_type == FileType::Any && regular);
        if sized && !self.size_ok(entry.size) {
            return None;
        }
        if params.file_type == FileType::File
            && params.contains.is_some()
            && !section.containing.contains(&entry.path)
        {
            return None;
        }
        let mut found = stat_info(entry);
        if regular
            && params.get_checksum
            && matches!(params.file_type, FileType::Any | FileType::File)
            && let Some(sum) = section.sums.get(&entry.path)
        {
            found.insert("checksum".into(), Value::String(sum.clone()));
        }
        Some(Value::Object(found))
    }

    fn age_ok(&self, entry: &Entry, now: f64) -> bool {
        let Some(age) = self.age else {
            return true;
        };
        let stamp = match self.params.age_stamp {
            AgeStamp::Atime => entry.atime,
            AgeStamp::Ctime => entry.ctime,
            AgeStamp::Mtime => entry.mtime,
        };
        let elapsed = now - stamp;
        if age >= 0 {
            elapsed >= age as f64
        } else {
            elapsed <= age.unsigned_abs() as f64
        }
    }

    fn size_ok(&self, size: u64) -> bool {
        match self.size {
            None => true,
            Some(wanted) if wanted >= 0 => size >= wanted as u64,
            Some(wanted) => size <= wanted.unsigned_abs(),
        }
    }
}

/// Ansible's `statinfo`.
fn stat_info(entry: &Entry) -> Map<String, Value> {
    let mode = entry.mode;
    let bit = |mask: u32| Value::Bool(mode & mask != 0);
    // `find` prints the id when it has no name; Python's lookup gives "".
    let name = |name: &str, id: u64| {
        if name == id.to_string() {
            String::new()
        } else {
            name.to_string()
        }
    };
    let mut info = Map::new();
    info.insert("path".into(), Value::String(normpath(&entry.path)));
    info.insert(
        "mode".into(),
        Value::String(format!("{:04o}", mode & 0o7777)),
    );
    for (key, letter) in [
        ("isdir", 'd'),
        ("ischr", 'c'),
        ("isblk", 'b'),
        ("isreg", 'f'),
        ("isfifo", 'p'),
        ("islnk", 'l'),
        ("issock", 's'),
    ] {
        info.insert(key.into(), Value::Bool(entry.kind == letter));
    }
    info.insert("uid".into(), json!(entry.uid));
    info.insert("gid".into(), json!(entry.gid));
    info.insert("size".into(), json!(entry.size));
    info.insert("inode".into(), json!(entry.inode));
    info.insert("dev".into(), json!(entry.dev));
    info.insert("nlink".into(), json!(entry.nlink));
    info.insert("atime".into(), json!(entry.atime));
    info.insert("mtime".into(), json!(entry.mtime));
    info.insert("ctime".into(), json!(entry.ctime));
    info.insert(
        "gr_name".into(),
        Value::String(name(&entry.group, entry.gid)),
    );
    info.insert(
        "pw_name".into(),
        Value::String(name(&entry.user, entry.uid)),
    );
    for (key, mask) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        info.insert(key.into(), bit(mask));
    }
    info
}

/// Python's `os.path.normpath` (POSIX).
pub(crate) fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
#[path = "find_tests.rs"]
mod tests;
