//! Owner, group and mode as `file`, `copy`, `template`, `lineinfile`,
//! `blockinfile` and `unarchive` take them: compared with what a probe
//! printed, shown as diff lines (`mode: 0644 -> 0600`), and applied with
//! `chown` and `chmod`. Also the probe snippets those modules share, written
//! to start as few processes as possible on the host.

use std::collections::BTreeMap;

use crate::ModuleError;
use crate::modules::content_file::parent;
use crate::shell::quote;

/// The `stat --printf` format printing what [`Current::parse`] reads.
pub(crate) const STAT_FORMAT: &str = r"mode=%a\nuid=%u\ngid=%g\nowner=%U\ngroup=%G\n";

/// Shell running `stat --printf '{format}'` once on `$p` and printing
/// what it printed (`format` ends with a newline). For a symlink it also sets
/// `target` to what the link points to, read from the same `stat` call
/// (`%N`); `readlink` runs only when this `stat` ignores `QUOTING_STYLE`.
pub(crate) fn stat_with_target(format: &str) -> String {
    format!(
        "nl='\n'\n\
         attrs=$(QUOTING_STYLE=literal stat --printf '{format}target=%N' -- \"$p\")\n\
         printf '%s\\n' \"${{attrs%%\"$nl\"target=*}}\"\n\
         if [ -L \"$p\" ]; then target=${{attrs#*\"$nl\"target=}}\n\
         case $target in \"$p -> \"*) target=${{target#\"$p -> \"}};; \
         *) target=$(readlink -- \"$p\");; esac; fi\n"
    )
}

/// Prints `me=<uid>:<gid>` (effective ids) without starting a process when
/// `/proc` is there.
pub(crate) const PRINT_ME: &str = r#"me=
while read -r key real_id effective_id rest; do
case $key in Uid:) uid=$effective_id;; Gid:) me=$uid:$effective_id; break;; esac
done 2>/dev/null </proc/self/status
[ -n "$me" ] || me=$(id -u):$(id -g)
printf 'me=%s\n' "$me"
"#;

/// Prints whether `$p`, a directory and not a symlink, is empty, with globs
/// rather than `ls`.
pub(crate) const EMPTY_DIR: &str = "if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then empty=1; \
    for entry in \"$p\"/* \"$p\"/.[!.]* \"$p\"/..?*; do \
    if [ -e \"$entry\" ] || [ -L \"$entry\" ]; then empty=0; break; fi; done; \
    echo empty=$empty; fi\n";

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

/// The attributes a path has, as the probe printed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Current {
    pub mode: u32,
    pub uid: String,
    pub gid: String,
    /// `UNKNOWN` when the uid has no name.
    pub owner: String,
    pub group: String,
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
                && !is_valid_name(name)
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

    /// A script setting on `path` what differs from `current`, or `None`.
    /// `flags` go to both commands (`-h` for a symlink itself).
    pub fn fix(&self, path: &str, current: &Current, flags: &str) -> Option<String> {
        let owner = self
            .owner
            .as_deref()
            .filter(|owner| !current.is_owner(owner));
        let group = self
            .group
            .as_deref()
            .filter(|group| !current.is_group(group));
        let mode = self.mode.filter(|mode| *mode != current.mode);
        commands(path, chown_spec(owner, group), mode, flags)
    }

    /// A script setting every given attribute on `path`, or `None`.
    /// `flags` is `-R ` for a whole tree.
    pub fn set(&self, path: &str, flags: &str) -> Option<String> {
        commands(path, self.chown_spec(), self.mode, flags)
    }
}

impl Current {
    /// Reads the fields [`STAT_FORMAT`] printed.
    pub fn parse(fields: &BTreeMap<&str, &str>) -> Result<Current, ModuleError> {
        let field = |name: &str| {
            fields
                .get(name)
                .map(|value| (*value).to_string())
                .ok_or_else(|| ModuleError::Probe(format!("no `{name}` in the probe output")))
        };
        let mode = field("mode")?;
        let mode = u32::from_str_radix(&mode, 8)
            .map_err(|_| ModuleError::Probe(format!("mode {mode:?} is not octal")))?;
        Ok(Current {
            mode,
            uid: field("uid")?,
            gid: field("gid")?,
            owner: field("owner")?,
            group: field("group")?,
        })
    }

    pub fn is_owner(&self, owner: &str) -> bool {
        owner == self.uid || owner == self.owner
    }

    pub fn is_group(&self, group: &str) -> bool {
        group == self.gid || group == self.group
    }

    fn owner_name(&self) -> &str {
        if self.owner == "UNKNOWN" {
            &self.uid
        } else {
            &self.owner
        }
    }

    fn group_name(&self) -> &str {
        if self.group == "UNKNOWN" {
            &self.gid
        } else {
            &self.group
        }
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
fn commands(path: &str, owner: Option<String>, mode: Option<u32>, flags: &str) -> Option<String> {
    let path = quote(path);
    let mut commands = Vec::new();
    if let Some(spec) = owner {
        commands.push(format!("chown {flags}{} -- {path}", quote(&spec)));
    }
    if let Some(mode) = mode {
        commands.push(format!("chmod {flags}{mode:04o} -- {path}"));
    }
    (!commands.is_empty()).then(|| commands.join(" && "))
}

/// User and group names as `useradd` allows them, or numeric ids.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Current {
        Current {
            mode: 0o644,
            uid: "0".into(),
            gid: "0".into(),
            owner: "root".into(),
            group: "root".into(),
        }
    }

    fn attrs(mode: Option<u32>, owner: Option<&str>, group: Option<&str>) -> Attrs {
        Attrs::new("file", mode, owner.map(Into::into), group.map(Into::into)).unwrap()
    }

    #[test]
    fn parses_stat_output() {
        let fields = crate::text::fields("mode=1777\nuid=0\ngid=0\nowner=root\ngroup=root\n");
        let parsed = Current::parse(&fields).unwrap();
        assert_eq!(parsed.mode, 0o1777);
        assert!(Current::parse(&crate::text::fields("mode=644\n")).is_err());
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
            wanted.fix("/srv/a b", &current(), "").unwrap(),
            "chown app:www -- '/srv/a b' && chmod 2750 -- '/srv/a b'"
        );
        assert_eq!(
            attrs(None, None, Some("adm")).set("/d", "-R ").unwrap(),
            "chown -R :adm -- /d"
        );
        assert_eq!(
            attrs(Some(0o644), None, None).fix("/f", &current(), ""),
            None
        );
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
