//! What `archive`'s probe prints, read back, and Ansible's path rules
//! (`common_path`, `is_archive`, `os.walk`'s order) that `archive` plans
//! with.

use crate::ModuleError;
use crate::modules::find_listing::walk_order;

/// One entry below a directory: `find`'s `%y`, its depth and its path.
pub(crate) type Listed = (char, u32, String);

/// What the probe printed.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub expanded: Vec<String>,
    pub excluded: Vec<String>,
    /// Each listed path: its kind and, for a directory, its tree
    /// (`%y`, depth, path, in `find`'s pre-order).
    pub trees: Vec<(String, String, Vec<Listed>)>,
    pub dest: Option<Vec<String>>,
    pub sums: Vec<String>,
}

pub(crate) fn parse(listing: &str) -> Result<Found, ModuleError> {
    let tokens: Vec<&str> = listing.split('\0').collect();
    let mut found = Found::default();
    let mut section = "";
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        if token.is_empty() {
            if let Some(&marker) = tokens.get(i + 1)
                && ["expanded", "excluded", "trees", "dest", "sums", "path"].contains(&marker)
            {
                if marker == "path" {
                    let path = tokens.get(i + 2).copied().unwrap_or_default();
                    let kind = tokens.get(i + 3).copied().unwrap_or_default();
                    found
                        .trees
                        .push((path.to_string(), kind.to_string(), Vec::new()));
                    i += 4;
                    section = "tree";
                } else {
                    section = marker;
                    if marker == "dest" {
                        found.dest = Some(Vec::new());
                    }
                    i += 2;
                }
                continue;
            }
            i += 1;
            continue;
        }
        match section {
            "expanded" => found.expanded.push(token.to_string()),
            "excluded" => found.excluded.push(token.to_string()),
            "dest" => found
                .dest
                .get_or_insert_with(Vec::new)
                .push(token.to_string()),
            "sums" => found.sums.push(token.to_string()),
            "tree" => {
                if let (Some(depth), Some(path), Some((_, _, tree))) =
                    (tokens.get(i + 1), tokens.get(i + 2), found.trees.last_mut())
                {
                    let kind = token.chars().next().unwrap_or('f');
                    let depth = depth
                        .parse()
                        .map_err(|_| ModuleError::Probe(format!("depth {depth:?}")))?;
                    tree.push((kind, depth, path.to_string()));
                }
                i += 3;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(found)
}

/// Ansible's `common_path`: the directory all paths share, with a
/// trailing `/` (character-wise, as `os.path.commonprefix`).
pub(crate) fn common_path(paths: &[String]) -> String {
    let dirs: Vec<String> = paths.iter().map(|path| with_slash(dirname(path))).collect();
    let first = dirs.first().cloned().unwrap_or_default();
    let mut prefix_len = first.len();
    for dir in &dirs[1..] {
        prefix_len = first
            .bytes()
            .zip(dir.bytes())
            .take(prefix_len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    with_slash(dirname(&first[..prefix_len]))
}

/// `os.path.join(dir, "")`.
fn with_slash(dir: &str) -> String {
    if dir.is_empty() || dir.ends_with('/') {
        dir.to_string()
    } else {
        format!("{dir}/")
    }
}

/// Python's `os.path.dirname`: everything before the last `/` (trailing
/// slashes of the head kept only for `/`).
fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        None => "",
        Some(index) => {
            let head = &path[..=index];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() { "/" } else { trimmed }
        }
    }
}

/// `.tar`, `.tar.gz`, `.tgz`… (Ansible's `is_archive`).
pub(crate) fn is_archive_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    [
        ".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tgz", ".tbz2", ".tzst", ".zip",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}

/// A directory's `find` listing (pre-order, with depths) in `os.walk`'s
/// order for `archive`: each directory's subdirectories, then its other
/// entries, then the walk of each subdirectory. Whether an entry is a
/// directory comes with it.
pub(crate) fn walk_dirs_first(tree: &[Listed]) -> Vec<(&str, bool)> {
    let order = walk_order(
        tree.iter().map(|(kind, depth, _)| (*depth, *kind == 'd')),
        true,
    );
    order
        .into_iter()
        .map(|i| (tree[i].2.as_str(), tree[i].0 == 'd'))
        .collect()
}
