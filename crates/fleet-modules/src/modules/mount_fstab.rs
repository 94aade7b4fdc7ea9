//! `mount`'s reading of the host: its fstab edits, line for line as
//! ansible.posix's `mount` makes them on Linux, and what
//! `/proc/self/mountinfo` says is mounted where.

use std::collections::BTreeMap;

/// An fstab entry as the module writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub src: Option<String>,
    pub name: String,
    pub fstype: Option<String>,
    pub opts: String,
    pub dump: Option<String>,
    pub passno: Option<String>,
}

/// Ansible's `_escape_fstab`: `\`, space and `&` as octal escapes.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

/// Python's `%s` of an optional value.
fn shown(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "None".into())
}

impl Entry {
    fn escaped(&self) -> [String; 6] {
        let esc = |value: &Option<String>| value.as_deref().map_or("None".into(), escape);
        [
            esc(&self.src),
            escape(&self.name),
            esc(&self.fstype),
            escape(&self.opts),
            esc(&self.dump),
            esc(&self.passno),
        ]
    }

    fn line(fields: &[String; 6]) -> String {
        format!("{}\n", fields.join(" "))
    }

    /// Whether a line's fields name this entry's mount point (for swap,
    /// `none`, also its source).
    fn names(&self, src: &str, name: &str, fstype: &str) -> bool {
        let swap_of_other = self
            .src
            .as_deref()
            .is_some_and(|wanted| name == "none" && fstype == "swap" && src != wanted);
        name == escape(&self.name) && !swap_of_other
    }

    /// `_set_mount_save_old`: the new text, the old one (every line ending
    /// with a newline) and whether it changed.
    pub(crate) fn set(&self, before: &str) -> (String, String, bool) {
        let wanted = self.escaped();
        let mut out = String::new();
        let mut old = String::new();
        let mut exists = false;
        let mut changed = false;
        for line in before.split_inclusive('\n') {
            let line = if line.ends_with('\n') {
                line.to_string()
            } else {
                format!("{line}\n")
            };
            old.push_str(&line);
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                out.push_str(&line);
                continue;
            }
            let fields: Vec<&str> = line
                .split('#')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            if !(4..=6).contains(&fields.len()) {
                out.push_str(&line);
                continue;
            }
            // The dump and pass fields default to the number 0, which no
            // string equals: a short line is always rewritten.
            let mut have: [String; 6] = Default::default();
            for (i, field) in fields.iter().enumerate() {
                have[i] = field.to_string();
            }
            let mut numeric = [false; 6];
            for slot in fields.len()..6 {
                have[slot] = "0".into();
                numeric[slot] = true;
            }
            if !self.names(&have[0], &have[1], &have[2]) {
                out.push_str(&line);
                continue;
            }
            exists = true;
            for i in [0, 2, 3, 4, 5] {
                if numeric[i] || have[i] != wanted[i] {
                    have[i] = wanted[i].clone();
                    changed = true;
                }
            }
            if changed {
                out.push_str(&Entry::line(&have));
            } else {
                out.push_str(&line);
            }
        }
        if !exists {
            out.push_str(&Entry::line(&wanted));
            changed = true;
        }
        (out, old, changed)
    }

    /// `unset_mount`: the text without this mount point's lines of six
    /// fields, and whether any went.
    pub(crate) fn unset(&self, before: &str) -> (String, bool) {
        let mut out = String::new();
        let mut changed = false;
        for line in before.split_inclusive('\n') {
            let trimmed = line.trim();
            let fields: Vec<&str> = line.split_whitespace().collect();
            if trimmed.is_empty() || trimmed.starts_with('#') || fields.len() != 6 {
                out.push_str(line);
                continue;
            }
            if !self.names(fields[0], fields[1], fields[2]) {
                out.push_str(line);
                continue;
            }
            changed = true;
        }
        (out, changed)
    }

    /// The values Ansible returns.
    pub(crate) fn shown_dump(&self) -> String {
        shown(&self.dump)
    }

    pub(crate) fn shown_passno(&self) -> String {
        shown(&self.passno)
    }
}

/// What is mounted on a mount point, by `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mounted {
    pub src: String,
    pub fs: String,
    pub opts: String,
}

/// Ansible's `get_linux_mounts`: mount point to source, where a bind
/// mount's source is the directory it shows (its root under its parent's
/// mount point).
pub(crate) fn linux_mounts(mountinfo: &str) -> BTreeMap<String, Mounted> {
    struct Record<'a> {
        id: i64,
        parent: i64,
        root: String,
        dst: &'a str,
        opts: &'a str,
        fs: &'a str,
        src: &'a str,
    }
    let records: Vec<Record> = mountinfo
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 7 {
                return None;
            }
            Some(Record {
                id: f[0].parse().ok()?,
                parent: f[1].parse().ok()?,
                root: f[3].to_string(),
                dst: f[4],
                opts: f[5],
                fs: f[f.len() - 3],
                src: f[f.len() - 2],
            })
        })
        .collect();
    // Later records of the same id replace earlier ones, as in a dict.
    let mut by_id: Vec<usize> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        match by_id.iter_mut().find(|j| records[**j].id == record.id) {
            Some(j) => *j = i,
            None => by_id.push(i),
        }
    }
    let mut mounts = BTreeMap::new();
    for &i in &by_id {
        let mnt = &records[i];
        let parent = by_id
            .iter()
            .map(|&j| &records[j])
            .find(|record| record.id == mnt.parent);
        let src = match parent {
            Some(parent) if mnt.parent != 1 => {
                let mut root = mnt.root.clone();
                if parent.root.len() > 1 && root.starts_with(&format!("{}/", parent.root)) {
                    root = root[parent.root.len()..].to_string();
                }
                if parent.dst != "/" {
                    root = format!("{}{root}", parent.dst);
                }
                root
            }
            _ => mnt.src.to_string(),
        };
        mounts.insert(
            mnt.dst.to_string(),
            Mounted {
                src,
                fs: mnt.fs.to_string(),
                opts: mnt.opts.to_string(),
            },
        );
    }
    mounts
}
