//! What `find`'s probe prints, read back: the NUL-separated records of
//! each path, put in `os.walk`'s order, and Ansible's result dict of one
//! entry.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::ModuleError;

/// Fields of one record (see `find`'s `RECORD`).
const FIELDS: usize = 15;

/// One entry `find` printed.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// `%y`: f, d, l, c, b, p, s.
    pub kind: char,
    /// What a symlink points to (`%Y`), else `kind`.
    pub target: char,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub user: String,
    pub group: String,
    pub size: u64,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
    pub atime: f64,
    pub mtime: f64,
    pub ctime: f64,
    pub depth: u32,
    pub path: String,
}

/// What the probe printed for one of `paths`.
#[derive(Debug, Default)]
pub(crate) struct Section {
    pub not_dir: bool,
    pub entries: Vec<Entry>,
    pub sums: BTreeMap<String, String>,
    pub containing: Vec<String>,
}

/// Splits the NUL-separated listing at its markers (an empty field, then
/// `path`, `sums`, `grep` or `notdir`).
pub(crate) fn sections(listing: &str) -> Result<Vec<Section>, ModuleError> {
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
pub(crate) fn walk(entries: &[Entry]) -> Vec<&Entry> {
    let order = walk_order(
        entries
            .iter()
            .map(|entry| (entry.depth, entry.target == 'd')),
        false,
    );
    order.into_iter().map(|index| &entries[index]).collect()
}

/// The indexes of a pre-order listing of `(depth, is a directory)` in
/// `os.walk`'s top-down order: each directory's entries (its directories
/// first when `dirs_first`, else last), then the walk of each of its
/// directories in turn.
pub(crate) fn walk_order(
    listing: impl IntoIterator<Item = (u32, bool)>,
    dirs_first: bool,
) -> Vec<usize> {
    let listing: Vec<(u32, bool)> = listing.into_iter().collect();
    // Children of each entry, by index; `None` is the top.
    let mut children: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    let mut stack: Vec<usize> = Vec::new();
    for (index, &(depth, _)) in listing.iter().enumerate() {
        while stack.last().is_some_and(|&open| listing[open].0 >= depth) {
            stack.pop();
        }
        children
            .entry(stack.last().copied())
            .or_default()
            .push(index);
        stack.push(index);
    }
    let mut out = Vec::with_capacity(listing.len());
    let mut pending = vec![None];
    while let Some(dir) = pending.pop() {
        let Some(list) = children.get(&dir) else {
            continue;
        };
        let (dirs, others): (Vec<usize>, Vec<usize>) = list.iter().partition(|&&i| listing[i].1);
        if dirs_first {
            out.extend(dirs.iter().chain(&others));
        } else {
            out.extend(others.iter().chain(&dirs));
        }
        pending.extend(dirs.iter().rev().map(|&i| Some(i)));
    }
    out
}

/// Ansible's `statinfo`.
pub(crate) fn stat_info(entry: &Entry) -> Map<String, Value> {
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
