//! Which `ansible.cfg` is read, in ansible-core's order: `$ANSIBLE_CONFIG`
//! (a file, or a folder holding `ansible.cfg`), `./ansible.cfg` (unless
//! the working folder is world-writable), `~/.ansible.cfg`,
//! `/etc/ansible/ansible.cfg`. The first that exists and is readable wins;
//! the others are not read.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What the search looks at, so that tests can give their own.
pub struct Places<'a> {
    pub ansible_config: Option<&'a str>,
    pub cwd: Option<&'a Path>,
    pub home: Option<&'a Path>,
    pub system: &'a Path,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    pub path: Option<PathBuf>,
    /// Set when `./ansible.cfg` was passed over because the working folder
    /// is world-writable (and no `$ANSIBLE_CONFIG` file was used).
    pub skipped_world_writable: Option<PathBuf>,
}

pub const SYSTEM_CONFIG: &str = "/etc/ansible/ansible.cfg";

/// Paths are kept as written (`ansible.cfg` for the working folder's), so
/// that messages name them the way the user knows them.
pub fn find(places: &Places<'_>) -> Found {
    let on_disk = |path: &Path| match places.cwd {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    let mut candidates = Vec::new();
    let from_env = places.ansible_config.map(|value| {
        let path = expand_home(value, places.home);
        if on_disk(&path).is_dir() {
            path.join("ansible.cfg")
        } else {
            path
        }
    });
    candidates.extend(from_env.clone());
    let mut world_writable = None;
    if let Some(cwd) = places.cwd {
        let local = PathBuf::from("ansible.cfg");
        let open_to_all = std::fs::metadata(cwd)
            .map(|meta| meta.permissions().mode() & 0o002 != 0)
            .unwrap_or(false);
        if !open_to_all {
            candidates.push(local);
        } else if on_disk(&local).exists() {
            world_writable = Some(cwd.join(local));
        }
    }
    if let Some(home) = places.home {
        candidates.push(home.join(".ansible.cfg"));
    }
    candidates.push(places.system.to_path_buf());
    let path = candidates.into_iter().find(|path| {
        let path = on_disk(path);
        path.is_file() && std::fs::File::open(path).is_ok()
    });
    let skipped_world_writable = world_writable.filter(|_| from_env.is_none() || path != from_env);
    Found {
        path,
        skipped_world_writable,
    }
}

/// `~` and `~/…` with `$HOME`; other text as it is.
pub fn expand_home(value: &str, home: Option<&Path>) -> PathBuf {
    match (value, home) {
        ("~", Some(home)) => home.to_path_buf(),
        (_, Some(home)) if value.starts_with("~/") => home.join(&value[2..]),
        _ => PathBuf::from(value),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fleet-cfg-find-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("cwd")).unwrap();
        fs::create_dir_all(dir.join("home")).unwrap();
        fs::create_dir_all(dir.join("etc")).unwrap();
        dir
    }

    fn places<'a>(
        dir: &'a Path,
        env: Option<&'a str>,
        cwd: &'a Path,
        home: &'a Path,
    ) -> Places<'a> {
        let _ = dir;
        Places {
            ansible_config: env,
            cwd: Some(cwd),
            home: Some(home),
            system: Path::new("/nonexistent/ansible.cfg"),
        }
    }

    #[test]
    fn first_existing_file_in_ansible_order() {
        let dir = scratch("order");
        let (cwd, home) = (dir.join("cwd"), dir.join("home"));
        let found = |env: Option<&str>| find(&places(&dir, env, &cwd, &home)).path;
        assert_eq!(found(None), None);
        fs::write(home.join(".ansible.cfg"), "").unwrap();
        assert_eq!(found(None), Some(home.join(".ansible.cfg")));
        fs::write(cwd.join("ansible.cfg"), "").unwrap();
        assert_eq!(found(None), Some(PathBuf::from("ansible.cfg")));
        // $ANSIBLE_CONFIG wins; a folder means its ansible.cfg; a missing
        // file falls through to the next place.
        let etc = dir.join("etc");
        fs::write(etc.join("ansible.cfg"), "").unwrap();
        let etc_text = etc.display().to_string();
        assert_eq!(found(Some(&etc_text)), Some(etc.join("ansible.cfg")));
        assert_eq!(
            found(Some("../etc")),
            Some(PathBuf::from("../etc/ansible.cfg"))
        );
        assert_eq!(
            found(Some("missing.cfg")),
            Some(PathBuf::from("ansible.cfg"))
        );
        assert_eq!(
            found(Some("~/.ansible.cfg")),
            Some(home.join(".ansible.cfg"))
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn world_writable_cwd_is_passed_over() {
        let dir = scratch("open");
        let (cwd, home) = (dir.join("cwd"), dir.join("home"));
        fs::write(cwd.join("ansible.cfg"), "").unwrap();
        fs::set_permissions(&cwd, fs::Permissions::from_mode(0o777)).unwrap();
        let found = find(&places(&dir, None, &cwd, &home));
        assert_eq!(found.path, None);
        assert_eq!(found.skipped_world_writable, Some(cwd.join("ansible.cfg")));
        // With $ANSIBLE_CONFIG naming another file there is nothing to warn of.
        fs::write(home.join("named.cfg"), "").unwrap();
        let named = home.join("named.cfg").display().to_string();
        let found = find(&places(&dir, Some(&named), &cwd, &home));
        assert_eq!(found.path, Some(home.join("named.cfg")));
        assert_eq!(found.skipped_world_writable, None);
        fs::remove_dir_all(dir).unwrap();
    }
}
