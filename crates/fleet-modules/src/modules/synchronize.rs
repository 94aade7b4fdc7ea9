//! `synchronize`: makes a host directory (or file) match a controller one,
//! like ansible.posix's `synchronize` in `push` mode, with rsync's rules.
//!
//! Transport: a tar stream over fleet's own connection. The controller
//! tree is read when the task is built; the probe lists `dest` on the host
//! (`find`, and `sha256sum` with `checksum`); the plan decides what rsync
//! would transfer (rsync's quick check: size and modification time, or
//! content with `checksum`), change (permissions, owner, group) or delete
//! (`delete`), and one step removes what goes and extracts a tar of what
//! comes (`tar -x` on the host). The host needs `tar` (and `gzip` with
//! `compress`), not rsync.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::modules::de;
use crate::modules::path_facts::{
    FIND_FORMAT, Kind, Listed, parse_listing, parse_sums, split_listing,
};
use crate::modules::synchronize_excludes::{Exclude, exclude_patterns};
use crate::text::fields;
use crate::{
    Arg, Cmd, Controller, LocalEntry, LocalKind, Module, ModuleError, Plan, Probe, Script, Step,
    parse_params,
};

pub const PARAMS: &[&str] = &[
    "src",
    "dest",
    "mode",
    "delete",
    "recursive",
    "archive",
    "checksum",
    "compress",
    "links",
    "perms",
    "times",
    "owner",
    "group",
    "rsync_opts",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Push,
    Pull,
}

fn push() -> Direction {
    Direction::Push
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynchronizeParams {
    pub src: String,
    pub dest: String,
    #[serde(default = "push")]
    pub mode: Direction,
    #[serde(default, deserialize_with = "de::boolean")]
    pub delete: bool,
    #[serde(default, deserialize_with = "de::optional_boolean")]
    pub recursive: Option<bool>,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub archive: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub checksum: bool,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub compress: bool,
    #[serde(default, deserialize_with = "de::optional_boolean")]
    pub links: Option<bool>,
    #[serde(default, deserialize_with = "de::optional_boolean")]
    pub perms: Option<bool>,
    #[serde(default, deserialize_with = "de::optional_boolean")]
    pub times: Option<bool>,
    #[serde(default, deserialize_with = "de::optional_boolean")]
    pub owner: Option<bool>,
    #[serde(default, deserialize_with = "de::optional_boolean")]
    pub group: Option<bool>,
    #[serde(default, deserialize_with = "de::list")]
    pub rsync_opts: Vec<String>,
}

/// What rsync preserves: `archive` (`-rlptgoD`) unless a flag says.
#[derive(Debug, Clone, Copy)]
struct Keep {
    recursive: bool,
    links: bool,
    perms: bool,
    times: bool,
    owner: bool,
    group: bool,
}

#[derive(Debug)]
pub struct Synchronize {
    params: SynchronizeParams,
    keep: Keep,
    entries: Vec<LocalEntry>,
    /// The name of `src` on the host side: its basename without a
    /// trailing `/`, empty for `src/` (its contents).
    name: String,
    excludes: Vec<Exclude>,
    /// `src` on the controller, for rsync (its trailing `/` kept).
    local_src: String,
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: SynchronizeParams = parse_params("synchronize", params)?;
    let invalid = |message: String| ModuleError::Params {
        module: "synchronize".into(),
        message,
    };
    if params.src.is_empty() || params.dest.is_empty() {
        return Err(invalid("src and dest are required".into()));
    }
    if params.mode == Direction::Pull {
        return Err(invalid(
            "mode: pull is not supported (fleet pushes from the controller only)".into(),
        ));
    }
    let excludes = exclude_patterns(&params.rsync_opts)
        .map_err(invalid)?
        .iter()
        .map(|pattern| Exclude::parse(pattern))
        .collect::<Result<_, _>>()
        .map_err(invalid)?;
    let flag = |given: Option<bool>| given.unwrap_or(params.archive);
    let keep = Keep {
        recursive: flag(params.recursive),
        links: flag(params.links),
        perms: flag(params.perms),
        times: flag(params.times),
        owner: flag(params.owner),
        group: flag(params.group),
    };
    let entries = controller.read_tree(&params.src)?;
    let mut local_src = controller
        .tree_path(&params.src)
        .trim_end_matches('/')
        .to_string();
    if params.src.ends_with('/') {
        local_src.push('/');
    }
    let name = if params.src.ends_with('/') {
        String::new()
    } else {
        params
            .src
            .rsplit('/')
            .next()
            .unwrap_or(&params.src)
            .to_string()
    };
    Ok(Box::new(Synchronize {
        keep,
        entries,
        name,
        excludes,
        local_src,
        params,
    }))
}

impl Synchronize {
    fn top_is_dir(&self) -> bool {
        self.entries
            .first()
            .is_some_and(|entry| entry.kind == LocalKind::Dir)
    }

    /// The host directory the tree lands in: `dest` for `src/`, else
    /// `dest/<name>`. For a file, the file's path is decided on the host
    /// (`dest`, or `dest/<name>` when `dest` is a directory).
    fn target(&self) -> String {
        if self.params.src.ends_with('/') || !self.top_is_dir() {
            self.params.dest.clone()
        } else {
            format!("{}/{}", self.params.dest.trim_end_matches('/'), self.name)
        }
    }

    /// `rel` as rsync names it from the transfer's root.
    fn transfer_name(&self, rel: &str) -> String {
        match (self.name.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_string(),
            (false, true) => self.name.clone(),
            (false, false) => format!("{}/{rel}", self.name),
        }
    }

    /// The entries rsync sends: exclusions (and what is below an excluded
    /// directory) dropped, only the top without `recursive`, symlinks
    /// only with `links`.
    fn sent(&self) -> Vec<&LocalEntry> {
        let mut excluded_dirs: Vec<String> = Vec::new();
        let mut sent = Vec::new();
        for entry in &self.entries {
            if excluded_dirs
                .iter()
                .any(|dir| entry.rel.starts_with(&format!("{dir}/")))
            {
                continue;
            }
            let is_dir = entry.kind == LocalKind::Dir;
            let name = self.transfer_name(&entry.rel);
            if (!entry.rel.is_empty() || !self.name.is_empty())
                && self.excludes.iter().any(|e| e.matches(&name, is_dir))
            {
                if is_dir {
                    excluded_dirs.push(entry.rel.clone());
                }
                continue;
            }
            if !self.keep.recursive && entry.rel.contains('/') {
                continue;
            }
            if matches!(entry.kind, LocalKind::Symlink(_)) && !self.keep.links {
                continue;
            }
            sent.push(entry);
        }
        sent
    }
}

/// Prints where a file `src` lands and what the tree at `$t` holds.
const PROBE: &str = r#"if [ "$file" = 1 ] && [ -d "$t" ]; then t="${t%/}/$name"; fi
printf 'target=%s\n' "$t"
if command -v rsync >/dev/null 2>&1; then echo rsync=1; fi
if [ -d "$t" ] && [ ! -L "$t" ]; then echo top=directory; elif [ -e "$t" ] || [ -L "$t" ]; then echo top=other; else echo top=absent; fi
echo listing:
if [ "$file" = 1 ]; then dir=$(dirname -- "$t"); base=$(basename -- "$t")
( cd "$dir" 2>/dev/null && find "./$base" -maxdepth 0 -printf "$find_format" )
elif [ -d "$t" ]; then ( cd "$t" && find . -printf "$find_format" )
fi
printf '\0sums\0'
if [ "$sums" = 1 ]; then
if [ "$file" = 1 ]; then ( cd "$dir" 2>/dev/null && sha256sum -z -- "./$base" ) 2>/dev/null
elif [ -d "$t" ]; then ( cd "$t" && find . -type f -exec sha256sum -z -- {} + ) 2>/dev/null; fi
fi
exit 0"#;

impl Module for Synchronize {
    fn probe(&self) -> Option<Script> {
        Some(
            Script::new()
                .set("t", self.target())
                .set("file", if self.top_is_dir() { "0" } else { "1" })
                .set("name", self.name.as_str())
                .set("sums", if self.params.checksum { "1" } else { "0" })
                .set("find_format", FIND_FORMAT)
                .snippet(PROBE),
        )
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let (head, listing) = split_listing(probe)?;
        let facts = fields(head);
        let target = facts
            .get("target")
            .map(|target| target.to_string())
            .ok_or_else(|| ModuleError::Probe("no target in the probe output".into()))?;
        let (records, sums) = listing.split_once("\0sums\0").unwrap_or((listing, ""));
        let host = parse_listing(records)?;
        let sums = parse_sums(sums);
        if self.top_is_dir() && !self.keep.recursive {
            let name = if self.name.is_empty() {
                "."
            } else {
                &self.name
            };
            return Ok(Plan {
                msg: Some(format!("skipping directory {name}")),
                ..Plan::unchanged()
            });
        }
        let file_mode = !self.top_is_dir();
        // The host path of `rel` in the listing (`.` is the top; a file
        // `src` is listed as `./<name>`).
        let base = target.rsplit('/').next().unwrap_or(&target).to_string();
        let key = |rel: &str| -> String {
            match (file_mode, rel.is_empty()) {
                (true, _) => base.clone(),
                (false, true) => ".".into(),
                (false, false) => rel.to_string(),
            }
        };
        let sent = self.sent();
        let mut lines = Vec::new();
        let mut removals: Vec<String> = Vec::new();
        let mut transfer: Vec<&LocalEntry> = Vec::new();
        let mut fixes: Vec<Cmd> = Vec::new();
        let host_path = |rel: &str| -> String {
            if file_mode || rel.is_empty() {
                target.clone()
            } else {
                format!("{}/{rel}", target.trim_end_matches('/'))
            }
        };
        let mut touched_dirs: BTreeSet<String> = BTreeSet::new();
        for entry in &sent {
            let found = host.get(key(&entry.rel).as_str());
            let item = self.transfer_name(&entry.rel);
            let same_kind = found.is_some_and(|found| kind_matches(&entry.kind, found));
            if found.is_some() && !same_kind {
                removals.push(host_path(&entry.rel));
            }
            let Some(found) = found.filter(|_| same_kind) else {
                lines.push(format!("{} {item}", created(&entry.kind)));
                transfer.push(entry);
                touched_dirs.insert(parent_rel(&entry.rel));
                continue;
            };
            let content_differs = match &entry.kind {
                LocalKind::File(bytes) => {
                    if self.params.checksum {
                        sums.get(key(&entry.rel).as_str()).copied()
                            != Some(crate::modules::content_file::sha256_hex(bytes).as_str())
                    } else {
                        found.size != bytes.len() as u64 || found.mtime as i64 != entry.mtime
                    }
                }
                LocalKind::Symlink(target) => &found.target != target,
                LocalKind::Dir => false,
            };
            let attrs_differ = self.attrs_differ(entry, found);
            if content_differs {
                lines.push(format!(">f {item}"));
                transfer.push(entry);
                touched_dirs.insert(parent_rel(&entry.rel));
            } else if entry.kind == LocalKind::Dir
                && (attrs_differ || (self.keep.times && found.mtime as i64 != entry.mtime))
            {
                lines.push(format!(".d {item}"));
                transfer.push(entry);
            } else if attrs_differ {
                lines.push(format!(".f {item}"));
                fixes.extend(self.fix_cmds(entry, &host_path(&entry.rel)));
            }
        }
        if self.params.delete && !file_mode {
            let wanted: BTreeSet<String> = sent.iter().map(|entry| key(&entry.rel)).collect();
            let all_local: BTreeSet<String> =
                self.entries.iter().map(|entry| key(&entry.rel)).collect();
            let mut deleted: Vec<&str> = Vec::new();
            for path in host.keys().copied().collect::<BTreeSet<_>>() {
                if path == "." || wanted.contains(path) {
                    continue;
                }
                // Excluded paths are protected from deletion, as rsync's.
                let is_dir = host[path].kind == Kind::Directory;
                let name = self.transfer_name(path);
                if all_local.contains(path)
                    || self.excludes.iter().any(|e| e.matches(&name, is_dir))
                {
                    continue;
                }
                if deleted
                    .iter()
                    .any(|dir| path.starts_with(&format!("{dir}/")))
                {
                    continue;
                }
                deleted.push(path);
                lines.push(format!("*deleting {name}"));
                removals.push(host_path(path));
                touched_dirs.insert(parent_rel(path));
            }
        }
        // A directory whose entries change gets its time back, as rsync
        // sets it after the transfer.
        if self.keep.times && !file_mode {
            for dir in touched_dirs {
                if let Some(entry) = sent.iter().find(|entry| entry.rel == dir)
                    && !transfer.iter().any(|queued| queued.rel == dir)
                {
                    transfer.push(entry);
                }
            }
        }
        let mut steps = Vec::new();
        if !removals.is_empty() {
            steps.push(Step::run(Script::of(
                Cmd::new("rm").flag("-rf").operands(removals),
            )));
        }
        if !transfer.is_empty() {
            // Parents before children, whatever queued them.
            transfer.sort_by(|a, b| a.rel.cmp(&b.rel));
            let (dir, stream) = self.tar_stream(&transfer, &target, file_mode)?;
            steps.push(Step::run_with_stdin(self.extract(&dir), stream));
        }
        if !fixes.is_empty() {
            steps.push(Step::run(Script::new().all(fixes)));
        }
        let transport = if facts.get("rsync") == Some(&"1") {
            if !steps.is_empty() {
                steps = vec![Step::Rsync {
                    args: self.rsync_args(),
                    dest: self.params.dest.clone(),
                }];
            }
            "rsync"
        } else {
            "tar"
        };
        let msg = lines
            .iter()
            .map(|line| format!("{line}\n"))
            .collect::<String>();
        let mut data = serde_json::Map::new();
        data.insert("transport".into(), json!(transport));
        data.insert(
            "stdout_lines".into(),
            json!(lines.iter().map(String::as_str).collect::<Vec<_>>()),
        );
        Ok(Plan {
            changed: !lines.is_empty(),
            steps,
            diff: (!msg.is_empty()).then(|| msg.clone()),
            data,
            msg: Some(msg),
            ..Plan::default()
        })
    }
}

fn parent_rel(rel: &str) -> String {
    rel.rsplit_once('/')
        .map_or(String::new(), |(dir, _)| dir.to_string())
}

fn created(kind: &LocalKind) -> &'static str {
    match kind {
        LocalKind::Dir => "cd+",
        LocalKind::File(_) => ">f+",
        LocalKind::Symlink(_) => "cL+",
    }
}

fn kind_matches(kind: &LocalKind, found: &Listed) -> bool {
    matches!(
        (kind, found.kind),
        (LocalKind::Dir, Kind::Directory)
            | (LocalKind::File(_), Kind::File)
            | (LocalKind::Symlink(_), Kind::Symlink)
    )
}

impl Synchronize {
    fn attrs_differ(&self, entry: &LocalEntry, found: &Listed) -> bool {
        if matches!(entry.kind, LocalKind::Symlink(_)) {
            return false;
        }
        (self.keep.perms && found.attrs.mode != entry.mode)
            || (self.keep.owner && found.attrs.uid != entry.uid)
            || (self.keep.group && found.attrs.gid != entry.gid)
    }

    fn fix_cmds(&self, entry: &LocalEntry, path: &str) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        let owner = match (self.keep.owner, self.keep.group) {
            (true, true) => Some(format!("{}:{}", entry.uid, entry.gid)),
            (true, false) => Some(entry.uid.to_string()),
            (false, true) => Some(format!(":{}", entry.gid)),
            (false, false) => None,
        };
        if let Some(owner) = owner {
            cmds.push(Cmd::new("chown").flag("-h").arg(owner).operand(path));
        }
        if self.keep.perms {
            cmds.push(
                Cmd::new("chmod")
                    .arg(crate::modules::file_attrs::octal(entry.mode))
                    .operand(path),
            );
        }
        cmds
    }

    /// The tar of `entries`, named relative to the directory it is
    /// extracted in (returned).
    fn tar_stream(
        &self,
        entries: &[&LocalEntry],
        target: &str,
        file_mode: bool,
    ) -> Result<(String, Vec<u8>), ModuleError> {
        let (dir, prefix) = if file_mode {
            let (dir, base) = target.rsplit_once('/').unwrap_or((".", target));
            (
                if dir.is_empty() { "/" } else { dir }.to_string(),
                base.to_string(),
            )
        } else {
            (target.to_string(), ".".to_string())
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let mut builder = tar::Builder::new(Vec::new());
        let failed = |err: std::io::Error| ModuleError::Failed(format!("tar stream: {err}"));
        for entry in entries {
            let name = if file_mode || entry.rel.is_empty() {
                prefix.clone()
            } else {
                format!("./{}", entry.rel)
            };
            let mut header = tar::Header::new_gnu();
            header.set_mtime(if self.keep.times {
                u64::try_from(entry.mtime).unwrap_or(0)
            } else {
                now
            });
            header.set_uid(u64::from(entry.uid));
            header.set_gid(u64::from(entry.gid));
            match &entry.kind {
                LocalKind::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(entry.mode);
                    header.set_size(0);
                    builder
                        .append_data(&mut header, format!("{name}/"), std::io::empty())
                        .map_err(failed)?;
                }
                LocalKind::File(bytes) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(entry.mode);
                    header.set_size(bytes.len() as u64);
                    builder
                        .append_data(&mut header, &name, bytes.as_slice())
                        .map_err(failed)?;
                }
                LocalKind::Symlink(link) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_size(0);
                    builder
                        .append_link(&mut header, &name, link)
                        .map_err(failed)?;
                }
            }
        }
        let bytes = builder.into_inner().map_err(failed)?;
        if !self.params.compress {
            return Ok((dir, bytes));
        }
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&bytes).map_err(failed)?;
        Ok((dir, gz.finish().map_err(failed)?))
    }

    /// Extracts the stream on stdin into `dir` (made first).
    fn extract(&self, dir: &str) -> Script {
        let tar = Cmd::new("tar")
            .flag("-x")
            .flag_if(self.params.compress, "-z")
            .flag("--numeric-owner")
            .flag_if(self.keep.perms, "-p")
            .flag_if(!self.keep.perms, "--no-same-permissions")
            .flag_if(self.keep.owner || self.keep.group, "--same-owner")
            .flag_if(!(self.keep.owner || self.keep.group), "--no-same-owner")
            .flag_if(!self.keep.times, "-m")
            .opt("-C", Arg::var("dir"))
            .opt("-f", "-");
        Script::new()
            .set("dir", dir)
            .all([Cmd::new("mkdir").flag("-p").operand(Arg::var("dir")), tar])
    }
}

#[path = "synchronize_rsync.rs"]
mod rsync;

#[cfg(test)]
#[path = "synchronize_tests.rs"]
mod tests;
