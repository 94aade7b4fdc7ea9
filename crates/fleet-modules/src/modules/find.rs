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

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::modules::find_listing::{Entry, Section, sections, stat_info, walk};
use crate::modules::path_facts::split_listing;
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
        let (head, listing) = split_listing(probe)?;
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

#[cfg(test)]
#[path = "find_tests.rs"]
mod tests;
