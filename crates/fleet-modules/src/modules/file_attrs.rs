//! Owner, group and mode as `file`, `copy`, `template`, `lineinfile`,
//! `blockinfile` and `unarchive` take them: compared with what a probe
//! printed ([`Current`]), shown as diff lines (`mode: 0644 -> 0600`), and
//! applied with `chown` and `chmod`.

use fleet_shell::{Arg, Cmd, Script, is_account_name};

use crate::ModuleError;
use crate::modules::content_file::parent;
use crate::modules::path_facts::Current;

/// `name` as seen from the directory holding `path` (a symlink's target).
pub(crate) fn beside(path: &str, name: &str) -> String {
    match parent(path) {
        _ if name.starts_with('/') => name.to_string(),
        "/" => format!("/{name}"),
        dir => format!("{dir}/{name}"),
    }
}

/// The attributes a task asks for; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// What `chown` and `chmod` change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The path, or what it points to when it is a symlink.
    Path,
    /// A symlink itself (`chown -h`; a symlink has no mode of its own).
    Link,
    /// The path and everything below it (`-R`).
    Tree,
}

impl Attrs {
    /// Checks the names: they end up in `chown` commands.
    pub fn new(
        module: &str,
        mode: Option<u32>,
        owner: Option<String>,
        group: Option<String>,
    ) -> Result<Attrs, ModuleError> {
        for (what, name) in [("owner", &owner), ("group", &group)] {
            if let Some(name) = name
                && !is_account_name(name)
            {
                return Err(ModuleError::Params {
                    module: module.to_string(),
                    message: format!("{what} {name:?} is not a valid user or group name"),
                });
            }
        }
        Ok(Attrs { mode, owner, group })
    }

    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// `user`, `user:group` or `:group`, as `chown` takes it.
    pub fn chown_spec(&self) -> Option<String> {
        chown_spec(self.owner.as_deref(), self.group.as_deref())
    }

    /// One `what: before -> after` line for each attribute that differs.
    pub fn changes(&self, current: &Current) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(mode) = self.mode
            && mode != current.mode
        {
            lines.push(format!("mode: {:04o} -> {mode:04o}", current.mode));
        }
        if let Some(owner) = self.owner.as_deref()
            && !current.is_owner(owner)
        {
            lines.push(format!("owner: {} -> {owner}", current.owner_name()));
        }
        if let Some(group) = self.group.as_deref()
            && !current.is_group(group)
        {
            lines.push(format!("group: {} -> {group}", current.group_name()));
        }
        lines
    }

    /// Commands setting on `path` what differs from `current`.
    pub fn fix_cmds(&self, path: impl Into<Arg>, current: &Current, scope: Scope) -> Vec<Cmd> {
        let owner = self
            .owner
            .as_deref()
            .filter(|owner| !current.is_owner(owner));
        let group = self
            .group
            .as_deref()
            .filter(|group| !current.is_group(group));
        let mode = self.mode.filter(|mode| *mode != current.mode);
        commands(path.into(), chown_spec(owner, group), mode, scope)
    }

    /// [`fix_cmds`](Self::fix_cmds) as a script, or `None` when nothing
    /// differs.
    pub fn fix(&self, path: impl Into<Arg>, current: &Current, scope: Scope) -> Option<Script> {
        script(self.fix_cmds(path, current, scope))
    }

    /// Commands setting every given attribute on `path`.
    pub fn set_cmds(&self, path: impl Into<Arg>, scope: Scope) -> Vec<Cmd> {
        commands(path.into(), self.chown_spec(), self.mode, scope)
    }

    /// [`set_cmds`](Self::set_cmds) as a script, or `None` when no
    /// attribute is given.
    pub fn set(&self, path: impl Into<Arg>, scope: Scope) -> Option<Script> {
        script(self.set_cmds(path, scope))
    }
}

/// `user`, `user:group` or `:group`.
pub(crate) fn chown_spec(owner: Option<&str>, group: Option<&str>) -> Option<String> {
    match (owner, group) {
        (None, None) => None,
        (Some(owner), None) => Some(owner.to_string()),
        (owner, Some(group)) => Some(format!("{}:{group}", owner.unwrap_or_default())),
    }
}

/// `chown` first: it clears set-id bits that `chmod` may then set.
fn commands(path: Arg, owner: Option<String>, mode: Option<u32>, scope: Scope) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    if let Some(spec) = owner {
        cmds.push(
            Cmd::new("chown")
                .flag_if(scope == Scope::Link, "-h")
                .flag_if(scope == Scope::Tree, "-R")
                .arg(spec)
                .operand(path.clone()),
        );
    }
    if let Some(mode) = mode {
        cmds.push(
            Cmd::new("chmod")
                .flag_if(scope == Scope::Tree, "-R")
                .arg(octal(mode))
                .operand(path),
        );
    }
    cmds
}

/// `mode` as `chmod` and `find -perm` take it: `0644`.
pub(crate) fn octal(mode: u32) -> String {
    format!("{mode:04o}")
}

/// `cmds` joined with `&&`, or `None` when there are none.
fn script(cmds: Vec<Cmd>) -> Option<Script> {
    (!cmds.is_empty()).then(|| Script::new().all(cmds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Current {
        Current {
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: "root".into(),
            group: "root".into(),
        }
    }

    fn attrs(mode: Option<u32>, owner: Option<&str>, group: Option<&str>) -> Attrs {
        Attrs::new("file", mode, owner.map(Into::into), group.map(Into::into)).unwrap()
    }

    #[test]
    fn diff_lines_name_only_what_differs() {
        let wanted = attrs(Some(0o600), Some("app"), Some("0"));
        assert_eq!(
            wanted.changes(&current()),
            ["mode: 0644 -> 0600", "owner: root -> app"]
        );
        assert!(
            attrs(Some(0o644), Some("0"), None)
                .changes(&current())
                .is_empty()
        );
    }

    #[test]
    fn scripts_chown_before_chmod() {
        let wanted = attrs(Some(0o2750), Some("app"), Some("www"));
        assert_eq!(
            wanted.fix("/srv/a b", &current(), Scope::Path).unwrap(),
            "chown app:www -- '/srv/a b' && chmod 2750 -- '/srv/a b'\n"
        );
        assert_eq!(
            attrs(None, None, Some("adm"))
                .set("/d", Scope::Tree)
                .unwrap(),
            "chown -R :adm -- /d\n"
        );
        assert_eq!(
            attrs(None, Some("app"), None)
                .fix("/l", &current(), Scope::Link)
                .unwrap(),
            "chown -h app -- /l\n"
        );
        assert_eq!(
            attrs(Some(0o644), None, None).fix("/f", &current(), Scope::Path),
            None
        );
    }

    #[test]
    fn hostile_paths_reach_chmod_as_operands() {
        let dir = crate::modules::path_facts::tests::TempDir::new("attrs");
        for name in ["-rf", "a'b", "$(touch pwned)", "-R"] {
            let path = dir.file(name, "x");
            let script = attrs(Some(0o600), None, None)
                .set(path.as_str(), Scope::Path)
                .unwrap();
            assert!(script.starts_with("chmod 0600 -- "), "{script}");
            let (rc, _) = dir.sh(&script);
            assert_eq!(rc, 0, "{script}");
            assert_eq!(dir.mode(name), 0o600, "{name}");
        }
        // A relative `-R` is a file, not chmod's option.
        let script = attrs(Some(0o640), None, None)
            .set("-R", Scope::Path)
            .unwrap();
        assert_eq!(script, "chmod 0640 -- -R\n");
        assert_eq!(dir.sh(&script).0, 0);
        assert_eq!(dir.mode("-R"), 0o640);
        assert!(!dir.has("pwned"));
    }

    #[test]
    fn link_targets_are_seen_from_the_link_directory() {
        assert_eq!(
            beside("/opt/app/current", "releases/2"),
            "/opt/app/releases/2"
        );
        assert_eq!(beside("/current", "r"), "/r");
        assert_eq!(beside("current", "r"), "./r");
        assert_eq!(beside("/opt/current", "/srv/r"), "/srv/r");
    }

    #[test]
    fn rejects_names_that_are_not_names() {
        for bad in ["", "a b", "-rf", "x;y", "a:b"] {
            assert!(
                Attrs::new("file", None, Some(bad.into()), None).is_err(),
                "{bad}"
            );
        }
        assert!(Attrs::new("file", None, Some("1000".into()), Some("www-data".into())).is_ok());
    }
}
