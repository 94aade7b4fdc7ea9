//! `archive`: packs files that are on the host into an archive on the host,
//! like community.general's `archive`.
//!
//! The probe expands the paths (globs as Python's `glob` does, with the
//! shell), lists every directory tree (`find`) and reports `dest`. The plan
//! then knows what Ansible would put in the archive: `archived`,
//! `missing`, `arcroot`, `expanded_paths`, the member names (relative to
//! the common root, `exclusion_patterns` applied as `fnmatch`). The step
//! builds the archive in a temp file next to `dest` with the host's tools
//! and compares its listing with the old archive's: like Ansible (which
//! compares member checksums), the task is `changed` only when the members
//! differ, and then the new archive replaces `dest`.
//!
//! Host tools: `tar` and `gzip` (`gz`, the default, and `tar`); `bzip2`
//! for `bz2`; `xz` for `xz`; `zip` for `zip`.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::modules::archive_listing::{
    Found, common_path, is_archive_name, parse, walk_dirs_first,
};
use crate::modules::content_file::parent;
use crate::modules::de;
use crate::modules::file_attrs::{Attrs, Scope};
use crate::modules::find::fnmatch_regex;
use crate::modules::path_facts::{Current, PathFacts, STAT_FORMAT, split_listing};
use crate::text::fields;
use crate::{
    Applied, Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput,
    parse_params,
};

pub const PARAMS: &[&str] = &[
    "path",
    "format",
    "dest",
    "exclude_path",
    "exclusion_patterns",
    "force_archive",
    "remove",
    "mode",
    "owner",
    "group",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Bz2,
    Gz,
    Tar,
    Xz,
    Zip,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Bz2 => "bz2",
            Format::Gz => "gz",
            Format::Tar => "tar",
            Format::Xz => "xz",
            Format::Zip => "zip",
        }
    }

    /// The compressor of a single file or of the tar stream.
    fn compressor(self) -> Option<&'static str> {
        match self {
            Format::Bz2 => Some("bzip2"),
            Format::Gz => Some("gzip"),
            Format::Xz => Some("xz"),
            Format::Tar | Format::Zip => None,
        }
    }
}

fn gz() -> Format {
    Format::Gz
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveParams {
    #[serde(deserialize_with = "de::list")]
    pub path: Vec<String>,
    #[serde(default = "gz")]
    pub format: Format,
    pub dest: Option<String>,
    #[serde(default, deserialize_with = "de::list")]
    pub exclude_path: Vec<String>,
    #[serde(default, deserialize_with = "de::list")]
    pub exclusion_patterns: Vec<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub force_archive: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub remove: bool,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug)]
pub struct ArchiveFiles {
    params: ArchiveParams,
    attrs: Attrs,
    exclusions: Vec<regex::Regex>,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let mut params: ArchiveParams = parse_params("archive", params)?;
    if params.path.is_empty() || params.path.iter().any(String::is_empty) {
        return Err(ModuleError::Params {
            module: "archive".into(),
            message: "path is required".into(),
        });
    }
    let attrs = Attrs::new(
        "archive",
        params.mode,
        params.owner.take(),
        params.group.take(),
    )?;
    let exclusions = params
        .exclusion_patterns
        .iter()
        .map(|pattern| regex::Regex::new(&fnmatch_regex(pattern)))
        .collect::<Result<_, _>>()
        .map_err(|err| ModuleError::Params {
            module: "archive".into(),
            message: format!("exclusion_patterns: {err}"),
        })?;
    Ok(Box::new(ArchiveFiles {
        params,
        attrs,
        exclusions,
    }))
}

/// Python's `glob` runs only for a path with `*` or `?`.
fn is_glob(path: &str) -> bool {
    path.contains('*') || path.contains('?')
}

/// Prints each match of `$pattern` (or `$pattern` itself when it is no
/// glob) under the current marker; unmatched globs print nothing.
const EXPAND: &str = r#"if [ "$glob" = 1 ]; then
IFS=
for f in $pattern; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done
unset IFS
else printf '%s\0' "$pattern"; fi"#;

/// The sha256 of `$single` and of `$dest` decompressed (`none` when
/// either is missing or unreadable).
const SUMS: &str = r#"printf '\0sums\0'
if [ -f "$single" ] && sum=$(sha256sum < "$single"); then printf '%s\0' "${sum%% *}"; else printf 'none\0'; fi
if [ -f "$dest" ] && sum=$("$compressor" -dc < "$dest" 2>/dev/null | sha256sum); then printf '%s\0' "${sum%% *}"; else printf 'none\0'; fi"#;

/// For each listed path: whether it exists and is a directory, then the
/// tree below a directory.
const TREE: &str = r#"printf '\0path\0%s\0' "$p"
if [ -d "$p" ] && [ ! -L "$p" ]; then printf 'directory\0'; find "$p" -mindepth 1 -printf '%y\0%d\0%p\0' 2>/dev/null
elif [ -e "$p" ] || [ -L "$p" ]; then printf 'file\0'
else printf 'absent\0'; fi"#;

impl Module for ArchiveFiles {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new()
            .set("stat_format", STAT_FORMAT)
            .snippet("echo listing:");
        for (marker, paths) in [
            ("expanded", &self.params.path),
            ("excluded", &self.params.exclude_path),
        ] {
            script = script
                .set("marker", marker)
                .snippet("printf '\\0%s\\0' \"$marker\"");
            for path in paths {
                script = script
                    .set("pattern", path.as_str())
                    .set("glob", if is_glob(path) { "1" } else { "0" })
                    .snippet(EXPAND);
            }
        }
        // The trees of every expanded path: the shell expands the globs
        // again, in the same order.
        script = script.snippet("printf '\\0trees\\0'");
        for path in &self.params.path {
            script = script
                .set("pattern", path.as_str())
                .set("glob", if is_glob(path) { "1" } else { "0" })
                .snippet(
                    "if [ \"$glob\" = 1 ]; then IFS=; set -- $pattern; unset IFS; else set -- \"$pattern\"; fi\n\
                     for p in \"$@\"; do",
                )
                .snippet(TREE)
                .snippet("done");
        }
        // `dest`, and for a single file the sha256 of the file and of the
        // decompressed `dest`.
        let dest = self.default_dest();
        script = script
            .set("dest", dest.as_str())
            .snippet("printf '\\0dest\\0'\nif [ -e \"$dest\" ]; then printf 'exists\\0'; stat -L --printf \"$stat_format\" -- \"$dest\" | tr '\\n' '\\0'; else printf 'absent\\0'; fi");
        if let (Some(compressor), Some(single)) = (self.params.format.compressor(), self.single()) {
            script = script
                .set("single", single)
                .set("compressor", compressor)
                .snippet(SUMS);
        }
        Some(script.snippet("exit 0"))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let (_, listing) = split_listing(probe)?;
        let found = parse(listing)?;
        self.plan_found(&found)
    }

    fn applied(&self, outputs: &[StepOutput]) -> Option<Applied> {
        let printed: String = outputs.iter().map(|out| out.stdout.as_str()).collect();
        let facts = fields(&printed);
        let differs = facts.get("same") != Some(&"1");
        let attrs_changed = facts.get("attrs") == Some(&"1");
        Some(Applied {
            changed: differs || attrs_changed,
            ..Applied::default()
        })
    }
}

impl ArchiveFiles {
    /// The one file compressed without a tar, when the params can only
    /// mean that (one path, no glob, no `force_archive`); the probe then
    /// checks whether it is a directory.
    fn single(&self) -> Option<&str> {
        match self.params.path.as_slice() {
            [path] if !is_glob(path) && !self.params.force_archive => Some(path),
            _ => None,
        }
    }

    /// `dest`, else `<path>.<format>` for a single file.
    fn default_dest(&self) -> String {
        match (&self.params.dest, self.single()) {
            (Some(dest), _) => dest.clone(),
            (None, Some(single)) => format!("{single}.{}", self.params.format.name()),
            (None, None) => String::new(),
        }
    }

    fn fail(message: impl Into<String>) -> ModuleError {
        ModuleError::Failed(message.into())
    }

    fn plan_found(&self, found: &Found) -> Result<Plan, ModuleError> {
        let excluded: BTreeSet<&String> = found.excluded.iter().collect();
        let paths: Vec<String> = found
            .expanded
            .iter()
            .filter(|path| !excluded.contains(path))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if paths.is_empty() {
            return Err(Self::fail("Error, no source paths were found"));
        }
        let tree_of = |path: &str| found.trees.iter().find(|(p, _, _)| p == path);
        let is_dir = |path: &str| tree_of(path).is_some_and(|(_, kind, _)| kind == "directory");
        let root = common_path(&paths);
        let globby = self.params.path.iter().any(|path| is_glob(path));
        let must_archive =
            self.params.force_archive || globby || is_dir(&paths[0]) || paths.len() > 1;
        let dest = match &self.params.dest {
            Some(dest) => dest.clone(),
            None if !must_archive => format!("{}.{}", paths[0], self.params.format.name()),
            None => {
                return Err(Self::fail(
                    "Error, must specify \"dest\" when archiving multiple files or trees",
                ));
            }
        };
        if self.params.remove {
            for path in &paths {
                let inside = format!("{}/", path.trim_end_matches('/'));
                if is_dir(path) && dest.starts_with(&inside) {
                    return Err(Self::fail(
                        "Error, created archive can not be contained in source paths when remove=true",
                    ));
                }
            }
        }
        let (targets, missing): (Vec<&String>, Vec<&String>) = paths
            .iter()
            .partition(|path| tree_of(path).is_some_and(|(_, kind, _)| kind != "absent"));
        let dest_facts = found
            .dest
            .as_ref()
            .filter(|facts| facts.first().map(String::as_str) == Some("exists"));
        let dest_attrs = dest_facts
            .map(|facts| {
                let text = facts[1..].join("\n");
                PathFacts::parse(&text).map(|facts| facts.attrs)
            })
            .transpose()?
            .flatten();
        let mut data = Map::new();
        data.insert("dest".into(), Value::String(dest.clone()));
        data.insert("arcroot".into(), Value::String(root.clone()));
        data.insert("missing".into(), json!(missing));
        data.insert("expanded_paths".into(), json!(found.expanded));
        data.insert("expanded_exclude_paths".into(), json!(found.excluded));
        let mut plan = Plan::unchanged();
        if targets.is_empty() {
            let state = match dest_facts {
                Some(_) if is_archive_name(&dest) => "archive",
                Some(_) => "compress",
                None => "absent",
            };
            data.insert("dest_state".into(), json!(state));
            data.insert("archived".into(), json!([]));
            if let (Some(current), Some(fix)) = (
                &dest_attrs,
                dest_attrs
                    .as_ref()
                    .and_then(|current| self.attrs.fix(dest.as_str(), current, Scope::Path)),
            ) {
                plan = Plan::change(vec![Step::run(fix)])
                    .with_diff(Some(self.attrs.changes(current).join("\n") + "\n"));
            }
            plan.data = data;
            return Ok(plan);
        }
        let (members, archived) = if must_archive || self.params.format.compressor().is_none() {
            self.members(&targets, found, &root, must_archive)
        } else {
            (Vec::new(), vec![targets[0].clone()])
        };
        let state = if !must_archive && self.params.format.compressor().is_some() {
            "compress"
        } else if missing.is_empty() {
            "archive"
        } else {
            "incomplete"
        };
        data.insert("dest_state".into(), json!(state));
        data.insert("archived".into(), json!(archived));
        let build = if state == "compress" {
            self.compress_script(targets[0], &dest)
        } else {
            self.archive_script(&root, &dest)
        };
        let stdin: Vec<u8> = members
            .iter()
            .flat_map(|name| {
                let mut bytes = name.as_bytes().to_vec();
                bytes.push(if self.params.format == Format::Zip {
                    b'\n'
                } else {
                    0
                });
                bytes
            })
            .collect();
        let mut steps = vec![Step::run_with_stdin(build, stdin)];
        steps.push(Step::run(self.attrs_script(&dest, dest_attrs.as_ref())));
        if self.params.remove {
            let mut removed: Vec<String> = archived.clone();
            removed.extend(
                targets
                    .iter()
                    .filter(|path| is_dir(path))
                    .map(|path| path.to_string()),
            );
            steps.push(Step::run(Script::of(
                Cmd::new("rm").flag("-rf").operands(removed),
            )));
        }
        // In check mode Ansible reports an archive as changed, and a single
        // compressed file only when `dest` is missing; the steps tell the
        // rest (`applied`).
        let changed = match state {
            "compress" => {
                let same = found.sums.len() == 2
                    && found.sums[0] == found.sums[1]
                    && found.sums[0] != "none";
                if same
                    && dest_attrs
                        .as_ref()
                        .is_none_or(|current| self.attrs.changes(current).is_empty())
                {
                    plan.data = data;
                    return Ok(plan);
                }
                dest_facts.is_none()
            }
            _ if must_archive => true,
            _ => dest_facts.is_none(),
        };
        Ok(Plan {
            changed,
            steps,
            data,
            ..Plan::default()
        })
    }

    /// The member names (relative to `root`, exclusions applied) and the
    /// paths Ansible reports as `archived`, in `os.walk`'s order: each
    /// directory's subdirectories, then its files, then the walk below.
    fn members(
        &self,
        targets: &[&String],
        found: &Found,
        root: &str,
        _must_archive: bool,
    ) -> (Vec<String>, Vec<String>) {
        let zip = self.params.format == Format::Zip;
        let mut members = Vec::new();
        let mut archived = Vec::new();
        let strip = |path: &str| path.strip_prefix(root).unwrap_or(path).to_string();
        let mut add = |path: &str, is_dir: bool| {
            let name = strip(path);
            // Zip matches the exclusions against the path, tar against the
            // member name; zip's `contains` never finds a directory.
            let tested = if zip { path } else { name.as_str() };
            if self.exclusions.iter().any(|e| e.is_match(tested)) {
                return;
            }
            members.push(name);
            if !(zip && is_dir) {
                archived.push(path.to_string());
            }
        };
        for target in targets {
            let Some((_, kind, tree)) = found.trees.iter().find(|(p, _, _)| p == *target) else {
                continue;
            };
            if kind != "directory" {
                add(target, false);
                continue;
            }
            for (path, is_dir) in walk_dirs_first(tree) {
                add(path, is_dir);
            }
        }
        (members, archived)
    }

    /// Builds the archive from the member names on stdin into a temp file,
    /// prints `same=1` when its listing is the old archive's, and renames
    /// it over `dest` (keeping the old file's mode and owner).
    fn archive_script(&self, root: &str, dest: &str) -> Script {
        let script = Script::new()
            .set("dest", dest)
            .set("dir", parent(dest))
            .set("root", if root.is_empty() { "." } else { root })
            .snippet(
                "tmp=$(mktemp \"$dir/.fleet-archive.XXXXXXXX\") || exit 1\n\
                 case $tmp in /*) ;; *) tmp=$PWD/$tmp;; esac\n\
                 trap 'rm -f -- \"$tmp\"' EXIT",
            );
        let script = match self.params.format {
            Format::Zip => script
                .snippet("rm -f -- \"$tmp\"\nhere=$PWD\ncd \"$root\" || exit 1")
                .cmd(
                    Cmd::new("zip")
                        .flag("-q")
                        .flag("-X")
                        .flag("-@")
                        .arg(Arg::var("tmp"))
                        .stdout_to("/dev/null"),
                )
                .snippet("rc=$?; cd \"$here\" || exit 1"),
            format => {
                let compress = match format {
                    Format::Gz => Some("-z"),
                    Format::Bz2 => Some("-j"),
                    Format::Xz => Some("-J"),
                    Format::Tar | Format::Zip => None,
                };
                let tar = Cmd::new("tar")
                    .flag("--null")
                    .flag("--verbatim-files-from")
                    .flag("--no-recursion")
                    .opt("-C", Arg::var("root"))
                    .opt("-T", "-")
                    .flag("-c");
                let tar = match compress {
                    Some(flag) => tar.flag(flag),
                    None => tar,
                };
                script.cmd(tar.opt("-f", Arg::var("tmp"))).snippet("rc=$?")
            }
        };
        let compare = if self.params.format == Format::Zip {
            "[ -f \"$dest\" ] && cmp -s -- \"$dest\" \"$tmp\""
        } else {
            "[ -f \"$dest\" ] && old=$(tar -tvf \"$dest\" --full-time 2>/dev/null | sort) \
             && [ \"$old\" = \"$(tar -tvf \"$tmp\" --full-time | sort)\" ]"
        };
        script
            .snippet("[ \"$rc\" -eq 0 ] || exit \"$rc\"")
            .snippet(compare)
            .snippet(REPLACE)
    }

    /// Compresses the one file into a temp file, renamed over `dest`.
    fn compress_script(&self, src: &str, dest: &str) -> Script {
        let compressor = self.params.format.compressor().unwrap_or("gzip");
        Script::new()
            .set("dest", dest)
            .set("dir", parent(dest))
            .set("src", src)
            .snippet(
                "tmp=$(mktemp \"$dir/.fleet-archive.XXXXXXXX\") || exit 1\n\
                 trap 'rm -f -- \"$tmp\"' EXIT",
            )
            .cmd(
                Cmd::new(compressor)
                    .flag("-c")
                    .stdin_from(Arg::var("src"))
                    .stdout_to(Arg::var("tmp")),
            )
            .snippet("rc=$?; [ \"$rc\" -eq 0 ] || exit \"$rc\"\nfalse")
            .snippet(REPLACE)
    }

    /// `mode`, `owner` and `group` on `dest` after the archive; prints
    /// `attrs=1` when one of them changed.
    fn attrs_script(&self, dest: &str, current: Option<&Current>) -> Script {
        let cmds = match current {
            Some(current) => self.attrs.fix_cmds(dest, current, Scope::Path),
            None => self.attrs.set_cmds(dest, Scope::Path),
        };
        if cmds.is_empty() {
            return Script::of(Cmd::new("true"));
        }
        Script::new()
            .all(cmds)
            .snippet("rc=$?; [ \"$rc\" -eq 0 ] || exit \"$rc\"\necho attrs=1")
    }
}

/// After a comparison (its exit status: 0 is the same archive): prints
/// `same=`, gives the temp file the old file's mode and owner (a new one
/// 0666 less the umask), and renames it over `$dest`.
const REPLACE: &str = r#"if [ $? -eq 0 ]; then echo same=1; else echo same=0; fi
if [ -e "$dest" ]; then chmod --reference="$dest" -- "$tmp" && chown --reference="$dest" -- "$tmp" || exit 1
else chmod "$(printf '%o' $((0666 & ~0$(umask))))" -- "$tmp" || exit 1; fi
mv -f -- "$tmp" "$dest" || exit 1
trap - EXIT"#;

#[cfg(test)]
#[path = "archive_create_tests.rs"]
mod tests;
