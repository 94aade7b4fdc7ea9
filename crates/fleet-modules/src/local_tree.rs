//! A file or directory tree read on the controller (`synchronize`'s
//! `src`): each entry's relative path, kind, mode, owner, time and, for a
//! file, its bytes.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One path of a controller tree, relative to the tree's top (`""` is the
/// top itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEntry {
    pub rel: String,
    pub kind: LocalKind,
    /// Permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Whole seconds.
    pub mtime: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalKind {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

/// Reads `path` (not following a symlink at the top or below it): the top
/// first, then each directory's entries sorted by name, depth first.
pub fn read_local_tree(path: &Path) -> Result<Vec<LocalEntry>, String> {
    let mut entries = Vec::new();
    read_into(path, String::new(), &mut entries)?;
    Ok(entries)
}

fn read_into(path: &Path, rel: String, entries: &mut Vec<LocalEntry>) -> Result<(), String> {
    let meta =
        std::fs::symlink_metadata(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let kind = if meta.file_type().is_symlink() {
        let target =
            std::fs::read_link(path).map_err(|err| format!("{}: {err}", path.display()))?;
        LocalKind::Symlink(target.to_string_lossy().into_owned())
    } else if meta.is_dir() {
        LocalKind::Dir
    } else if meta.is_file() {
        LocalKind::File(std::fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?)
    } else {
        // Devices, fifos and sockets are not transferred.
        return Ok(());
    };
    let is_dir = kind == LocalKind::Dir;
    entries.push(LocalEntry {
        rel: rel.clone(),
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: meta.mtime(),
    });
    if is_dir {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .map_err(|err| format!("{}: {err}", path.display()))?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            read_into(&path.join(&name), child, entries)?;
        }
    }
    Ok(())
}
