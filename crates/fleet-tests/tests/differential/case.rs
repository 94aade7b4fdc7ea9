//! A case directory: `site.yml`, run by both tools, and `case.yml`, which
//! says what the case touches on a host and which differences are
//! documented.

use std::path::{Path, PathBuf};

use fleet_shell::quote;
use fleet_tests::fixtures::{APT_DIRECT_CONF, Fixtures};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// `case.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// One line: what the case shows.
    about: String,
    /// Paths the case touches; a directory counts with everything below it.
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    units: Vec<String>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    packages: Vec<String>,
    /// Shell run on both twins after the reset, before the first run.
    #[serde(default)]
    setup: Option<String>,
    /// How many times the playbook runs; the second run shows idempotence.
    #[serde(default = "two_runs")]
    runs: u32,
    /// The exit code both tools must end with, every run: 0, or 2 for a
    /// case whose task fails on purpose.
    #[serde(default)]
    exit: i32,
    /// Vars of the host in both inventories.
    #[serde(default)]
    host_vars: Map<String, Value>,
    /// More inventory hosts, name to vars, at the twin's own address: a
    /// task delegated to one of them runs on the same twin.
    #[serde(default)]
    peers: Map<String, Value>,
    #[serde(default)]
    differences: Vec<Documented>,
    /// The case downloads from the test file server and package
    /// repository (`fleet_tests::fixtures`): its vars are set, and apt on
    /// the twins reaches the server directly.
    #[serde(default)]
    fixtures: bool,
    /// More `ansible.cfg` keys, section to key to value: added to the
    /// suite's own file, which fleet then reads too.
    #[serde(default)]
    ansible_cfg: Map<String, Value>,
    /// A vault password file in the case's folder, passed to both tools
    /// as `--vault-password-file`.
    #[serde(default)]
    vault_password_file: Option<String>,
}

fn two_runs() -> u32 {
    2
}

/// A difference the case expects, and where the docs explain it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Documented {
    /// The difference's key, as the report prints it (`run 1: task 3`,
    /// `run 2: path /srv/x/a: sha256`), or the start of keys up to a `: `
    /// (`run 1: path /srv/x/a` for all of that path's fields).
    pub at: String,
    /// Text of the "Differences from Ansible" section of `page`.
    pub doc: String,
    /// The page under `docs/`, `playbooks.md` unless given.
    #[serde(default = "playbooks_page")]
    pub page: String,
}

impl Documented {
    /// `at` names the key itself, or every key under it:
    /// `run 1: path /srv/x` covers `run 1: path /srv/x: mode`.
    pub fn covers(&self, key: &str) -> bool {
        key.strip_prefix(self.at.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(": "))
    }
}

fn playbooks_page() -> String {
    "playbooks.md".into()
}

/// A loaded case.
#[derive(Debug)]
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub about: String,
    pub setup: Option<String>,
    pub runs: u32,
    pub exit: i32,
    pub host_vars: Map<String, Value>,
    /// Other inventory names of the twin, with their vars.
    pub peers: Map<String, Value>,
    pub differences: Vec<Documented>,
    /// `ansible_cfg` of case.yml: section to key to value.
    pub ansible_cfg: Map<String, Value>,
    /// `--vault-password-file` for both tools.
    pub vault_password_file: Option<PathBuf>,
    /// What `hostside.py` resets and reads.
    pub touches: Value,
    /// See `CaseFile::fixtures`.
    pub fixtures: bool,
}

impl Case {
    pub fn playbook(&self) -> PathBuf {
        self.dir.join("site.yml")
    }

    /// Gives a case that asked for them the fixtures' vars, in both
    /// inventories and as environment variables of its setup, which first
    /// lets apt reach the server past the lab's proxy.
    pub fn serve(&mut self, fixtures: &Fixtures) {
        let vars = fixtures.vars();
        let mut prelude = fixtures.apt_direct_script();
        for (name, value) in &vars {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            prelude += &format!("export {name}={}\n", quote(&text));
        }
        self.host_vars.extend(vars);
        self.setup = Some(prelude + self.setup.as_deref().unwrap_or_default());
    }
}

/// Every case under `root`, sorted by name; with `only`, those named there.
pub fn load_all(root: &Path, only: Option<&str>) -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|err| panic!("{}: {err}", root.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    let cases: Vec<Case> = dirs.iter().map(|dir| load(dir)).collect();
    let Some(only) = only else { return cases };
    let wanted: Vec<&str> = only.split(',').map(str::trim).collect();
    let names: Vec<&str> = cases.iter().map(|case| case.name.as_str()).collect();
    for name in &wanted {
        assert!(
            names.contains(name),
            "FLEET_DIFF_CASE names no case {name:?}; cases: {}",
            names.join(", ")
        );
    }
    cases
        .into_iter()
        .filter(|case| wanted.contains(&case.name.as_str()))
        .collect()
}

fn load(dir: &Path) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let path = dir.join("case.yml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut file: CaseFile =
        serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    if file.fixtures {
        file.paths.push(APT_DIRECT_CONF.into());
    }
    assert!(
        dir.join("site.yml").is_file(),
        "{}: no site.yml",
        dir.display()
    );
    for touched in &file.paths {
        assert!(
            is_resettable(touched),
            "{}: path {touched:?} must be absolute, below a top-level folder and without `..`: \
             the reset removes it",
            path.display()
        );
    }
    assert!(
        file.runs >= 1,
        "{}: runs must be at least 1",
        path.display()
    );
    Case {
        name,
        dir: dir.to_path_buf(),
        about: file.about,
        setup: file.setup,
        runs: file.runs,
        exit: file.exit,
        host_vars: file.host_vars,
        peers: file.peers,
        differences: file.differences,
        fixtures: file.fixtures,
        ansible_cfg: file.ansible_cfg,
        vault_password_file: file.vault_password_file.map(|file| dir.join(file)),
        touches: json!({
            "paths": file.paths,
            "units": file.units,
            "users": file.users,
            "groups": file.groups,
            "packages": file.packages,
        }),
    }
}

/// `/srv/x` and deeper: never `/`, `/etc` or a relative path.
fn is_resettable(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    path.starts_with('/') && parts.len() >= 2 && !parts.contains(&"..")
}

/// The "Differences from Ansible" section of `docs/<page>`, with its
/// whitespace folded, so a quote may span wrapped lines.
pub fn differences_section(docs: &Path, page: &str) -> String {
    let path = docs.join(page);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let section: Vec<&str> = text
        .lines()
        .skip_while(|line| line.trim() != "## Differences from Ansible")
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .collect();
    assert!(
        !section.is_empty(),
        "{} has no \"## Differences from Ansible\" section",
        path.display()
    );
    fold_whitespace(&section.join(" "))
}

pub fn fold_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_difference_covers_its_key_and_the_fields_under_it() {
        let doc = Documented {
            at: "run 1: path /srv/x".into(),
            doc: String::new(),
            page: playbooks_page(),
        };
        assert!(doc.covers("run 1: path /srv/x"));
        assert!(doc.covers("run 1: path /srv/x: mode"));
        assert!(!doc.covers("run 1: path /srv/xy: mode"));
        assert!(!doc.covers("run 1: path /srv/x/y: mode"));
    }

    #[test]
    fn only_paths_below_a_top_level_folder_are_reset() {
        assert!(is_resettable("/srv/fleet-diff/files"));
        assert!(is_resettable("/etc/systemd/system/x.service"));
        for bad in ["/", "/etc", "srv/x", "/srv/../etc", "//etc/"] {
            assert!(!is_resettable(bad), "{bad}");
        }
    }
}
