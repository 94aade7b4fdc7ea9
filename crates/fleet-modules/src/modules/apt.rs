//! `apt`: installs, upgrades and removes Debian packages and refreshes the
//! package lists, like Ansible's `apt`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::de;
use crate::text::fields;
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "name",
    "state",
    "update_cache",
    "cache_valid_time",
    "purge",
    "lock_timeout",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AptParams {
    pub name: Option<StringList>,
    #[serde(default)]
    pub state: AptState,
    #[serde(default, deserialize_with = "de::boolean")]
    pub update_cache: bool,
    /// Seconds; implies `update_cache`, which then runs only when the lists
    /// are older than this.
    #[serde(default, deserialize_with = "de::optional_whole_number")]
    pub cache_valid_time: Option<u64>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub purge: bool,
    /// Seconds to wait for another apt or dpkg to release its lock.
    #[serde(
        default = "default_lock_timeout",
        deserialize_with = "de::whole_number"
    )]
    pub lock_timeout: u32,
}

fn default_lock_timeout() -> u32 {
    60
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AptState {
    #[default]
    Present,
    Absent,
    Latest,
}

/// `name: tree`, `name: "tree,hello"` or `name: [tree, hello]`, as Ansible
/// reads a list parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StringList {
    One(String),
    Many(Vec<String>),
}

impl StringList {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            StringList::One(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(String::from)
                .collect(),
            StringList::Many(items) => items.iter().map(|item| item.trim().to_string()).collect(),
        }
    }
}

/// One requested package: `tree` or `tree=2.1.0-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Package {
    name: String,
    version: Option<String>,
}

impl Package {
    fn parse(spec: &str) -> Result<Package, String> {
        let (name, version) = match spec.split_once('=') {
            Some((name, version)) => (name, Some(version)),
            None => (spec, None),
        };
        let name_ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:".contains(c));
        let version_ok = version.is_none_or(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c))
        });
        if !name_ok || !version_ok {
            return Err(format!(
                "invalid package {spec:?} (expected a Debian package name, optionally `=version`)"
            ));
        }
        Ok(Package {
            name: name.to_string(),
            version: version.map(String::from),
        })
    }

    fn spec(&self) -> String {
        match &self.version {
            Some(version) => format!("{}={version}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug)]
pub struct Apt {
    packages: Vec<Package>,
    state: AptState,
    update_cache: bool,
    cache_valid_time: Option<u64>,
    purge: bool,
    /// Seconds `apt-get` waits for the dpkg lock.
    lock_timeout: u32,
}

const PERIODIC: &str = "/var/lib/apt/periodic";
const STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "apt".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: AptParams = parse_params("apt", params)?;
    let packages = params
        .name
        .as_ref()
        .map(StringList::to_vec)
        .unwrap_or_default()
        .iter()
        .map(|spec| Package::parse(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let update_cache = params.update_cache || params.cache_valid_time.is_some();
    if packages.is_empty() && !update_cache {
        return Err(invalid("name or update_cache is required"));
    }
    if params.state != AptState::Present && packages.iter().any(|p| p.version.is_some()) {
        return Err(invalid(
            "a pinned version (`name=version`) needs state: present",
        ));
    }
    Ok(Box::new(Apt {
        packages,
        state: params.state,
        update_cache,
        cache_valid_time: params.cache_valid_time,
        purge: params.purge,
        lock_timeout: params.lock_timeout,
    }))
}

/// What dpkg knows of one package.
#[derive(Debug, Default)]
struct Installed<'a> {
    /// The second letter of `db:Status-Abbrev`: `i` installed, `n` not
    /// installed, `c` config files only, others half-done.
    status: char,
    version: &'a str,
}

impl Installed<'_> {
    fn is_installed(&self) -> bool {
        matches!(self.status, 'i' | 'W' | 't')
    }

    fn needs_removal(&self, purge: bool) -> bool {
        !matches!(self.status, 'n' | 'c' | ' ') || (purge && self.status == 'c')
    }
}

impl Apt {
    /// `apt-get` with the lock option every run uses, after
    /// `verb` and its options.
    fn apt_get(&self, verb: &'static str) -> Cmd {
        Cmd::new("apt-get")
            .opt("-o", format!("DPkg::Lock::Timeout={}", self.lock_timeout))
            .arg(verb)
    }

    /// A script where `apt-get` never asks: every step starts with it.
    fn noninteractive() -> Script {
        Script::new().snippet("export DEBIAN_FRONTEND=noninteractive\n")
    }

    fn cache_due(&self, facts: &BTreeMap<&str, &str>) -> bool {
        if !self.update_cache {
            return false;
        }
        let Some(valid) = self.cache_valid_time else {
            return true;
        };
        let number = |key: &str| facts.get(key).and_then(|v| v.trim().parse::<u64>().ok());
        let newest = number("stamp_mtime").max(number("lists_mtime"));
        match (number("now"), newest) {
            (Some(now), Some(mtime)) => now.saturating_sub(mtime) > valid,
            _ => true,
        }
    }

    fn installed<'a>(facts: &BTreeMap<&str, &'a str>, name: &str) -> Installed<'a> {
        let raw = facts.get(format!("pkg.{name}").as_str()).copied();
        let (status, version) = raw.and_then(|r| r.split_once('|')).unwrap_or(("", ""));
        Installed {
            status: status.chars().nth(1).unwrap_or(' '),
            version: version.trim(),
        }
    }
}

impl Module for Apt {
    /// The package names become the positional parameters (`set --`), so
    /// the loops read them as words whatever they hold.
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new();
        if !self.packages.is_empty() {
            let names = self.packages.iter().map(|p| p.name.as_str());
            script = script
                .cmd(Cmd::new("set").operands(names))
                .set("format", "${db:Status-Abbrev}|${Version}\\n")
                .snippet(
                    "for p in \"$@\"; do echo \"pkg.$p=$(dpkg-query -W -f=\"$format\" -- \"$p\" 2>/dev/null | head -n 1)\"; done\n",
                );
        }
        if self.state == AptState::Latest {
            script = script.snippet(
                "for p in \"$@\"; do echo \"candidate.$p=$(LC_ALL=C apt-cache policy -- \"$p\" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)\"; done\n",
            );
        }
        if self.update_cache && self.cache_valid_time.is_some() {
            script = script.snippet(
                "echo now=$(date +%s)\n\
                 [ -e /var/lib/apt/periodic/update-success-stamp ] && echo stamp_mtime=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp)\n\
                 [ -e /var/lib/apt/lists ] && echo lists_mtime=$(stat -c %Y /var/lib/apt/lists)\n\
                 true\n",
            );
        }
        (!script.is_empty()).then_some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let facts = fields(&probe.stdout);
        let cache_due = self.cache_due(&facts);
        let mut diff = Vec::new();
        let mut install = Vec::new();
        let mut remove = Vec::new();
        for package in &self.packages {
            let current = Apt::installed(&facts, &package.name);
            match self.state {
                AptState::Present => {
                    let pinned_ok = package
                        .version
                        .as_ref()
                        .is_none_or(|v| v == current.version);
                    if !current.is_installed() {
                        diff.push(format!("install: {}", package.spec()));
                        install.push(package.spec());
                    } else if !pinned_ok {
                        diff.push(format!(
                            "version: {} {} -> {}",
                            package.name,
                            current.version,
                            package.version.as_deref().unwrap_or_default()
                        ));
                        install.push(package.spec());
                    }
                }
                AptState::Latest => {
                    let key = format!("candidate.{}", package.name);
                    let candidate = facts
                        .get(key.as_str())
                        .map(|c| c.trim())
                        .filter(|c| !c.is_empty() && *c != "(none)");
                    match candidate {
                        None if current.is_installed() || cache_due => {}
                        None => {
                            return Err(ModuleError::Failed(format!(
                                "no installation candidate for package {}",
                                package.name
                            )));
                        }
                        Some(candidate) if !current.is_installed() => {
                            diff.push(format!("install: {} {candidate}", package.name));
                            install.push(package.name.clone());
                        }
                        Some(candidate) if candidate != current.version => {
                            diff.push(format!(
                                "upgrade: {} {} -> {candidate}",
                                package.name, current.version
                            ));
                            install.push(package.name.clone());
                        }
                        Some(_) => {}
                    }
                    if cache_due && !install.contains(&package.name) {
                        install.push(package.name.clone());
                    }
                }
                AptState::Absent => {
                    if current.needs_removal(self.purge) {
                        let verb = if self.purge { "purge" } else { "remove" };
                        diff.push(format!("{verb}: {}", package.name));
                        remove.push(package.name.clone());
                    }
                }
            }
        }
        let latest = self.state == AptState::Latest;
        let update = cache_due && (self.packages.is_empty() || latest || !diff.is_empty());
        let mut steps = Vec::new();
        if update {
            diff.insert(0, "update cache".into());
            steps.push(Step::run(Apt::noninteractive().all([
                self.apt_get("update").flag("-q"),
                Cmd::new("mkdir").flag("-p").operand(PERIODIC),
                Cmd::new("touch").operand(STAMP),
            ])));
        }
        if !install.is_empty() {
            steps.push(Step::run(
                Apt::noninteractive().cmd(
                    self.apt_get("install")
                        .flag("-y")
                        .flag("-q")
                        .flag("--no-install-recommends")
                        .opt("-o", "Dpkg::Options::=--force-confdef")
                        .opt("-o", "Dpkg::Options::=--force-confold")
                        .operands(install),
                ),
            ));
        }
        if !remove.is_empty() {
            let verb = if self.purge { "purge" } else { "remove" };
            steps
                .push(Step::run(Apt::noninteractive().cmd(
                    self.apt_get(verb).flag("-y").flag("-q").operands(remove),
                )));
        }
        if steps.is_empty() {
            return Ok(Plan::unchanged());
        }
        let mut plan = Plan::change(steps).with_diff(Some(diff.join("\n") + "\n"));
        plan.data
            .insert("cache_updated".into(), Value::Bool(update));
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::{run_with_programs, scripts};
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn apt(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    fn error(params: Value) -> String {
        build(params, &NoFiles).unwrap_err().to_string()
    }

    const APT_GET: &str =
        "export DEBIAN_FRONTEND=noninteractive\napt-get -o 'DPkg::Lock::Timeout=60'";
    const DPKG_OPTIONS: &str =
        "-o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold'";

    #[test]
    fn probes_dpkg_and_candidates() {
        let probe = apt(json!({"name": ["tree", "hello"], "state": "latest"}))
            .probe()
            .unwrap();
        assert_eq!(
            probe,
            "set -- tree hello\n\
             format='${db:Status-Abbrev}|${Version}\\n'\n\
             for p in \"$@\"; do echo \"pkg.$p=$(dpkg-query -W -f=\"$format\" -- \"$p\" 2>/dev/null | head -n 1)\"; done\n\
             for p in \"$@\"; do echo \"candidate.$p=$(LC_ALL=C apt-cache policy -- \"$p\" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)\"; done\n"
        );
        // `echo` as bash's: dash's would turn the `\n` dpkg-query got
        // into a newline.
        let stubs = "sed() { cat; }\necho() { printf '%s\\n' \"$*\"; }\n";
        assert_eq!(
            run_with_programs(&["dpkg-query", "apt-cache"], stubs, &probe, b"").stdout,
            "pkg.tree=dpkg-query [-W] [-f=${db:Status-Abbrev}|${Version}\\n] [--] [tree]\n\
             pkg.hello=dpkg-query [-W] [-f=${db:Status-Abbrev}|${Version}\\n] [--] [hello]\n\
             candidate.tree=apt-cache [policy] [--] [tree]\n\
             candidate.hello=apt-cache [policy] [--] [hello]\n"
        );
        assert_eq!(apt(json!({"update_cache": true})).probe(), None);
    }

    #[test]
    fn present_installs_only_what_is_missing() {
        let module = apt(json!({"name": "tree,hello"}));
        let plan = module
            .plan(&Probe::ok("pkg.tree=ii |2.1.0-1\npkg.hello=un |\n"))
            .unwrap();
        assert!(plan.changed);
        assert_eq!(plan.diff.as_deref(), Some("install: hello\n"));
        assert_eq!(
            scripts(&plan.steps),
            [format!(
                "{APT_GET} install -y -q --no-install-recommends {DPKG_OPTIONS} -- hello\n"
            )]
        );
        let Step::Run { script, .. } = &plan.steps[0] else {
            panic!("not a script")
        };
        let out = run_with_programs(&["apt-get"], "", script, b"");
        assert_eq!(
            out.stdout,
            "apt-get [-o] [DPkg::Lock::Timeout=60] [install] [-y] [-q] [--no-install-recommends] \
             [-o] [Dpkg::Options::=--force-confdef] [-o] [Dpkg::Options::=--force-confold] [--] [hello]\n"
        );

        let plan = module
            .plan(&Probe::ok("pkg.tree=ii |2.1.0-1\npkg.hello=ii |2.10-3\n"))
            .unwrap();
        assert_eq!(plan, Plan::unchanged());
    }

    #[test]
    fn a_half_installed_or_missing_package_is_installed() {
        let module = apt(json!({"name": ["tree"]}));
        assert!(
            module
                .plan(&Probe::ok("pkg.tree=iF |2.1\n"))
                .unwrap()
                .changed
        );
        assert!(module.plan(&Probe::ok("pkg.tree=\n")).unwrap().changed);
    }

    #[test]
    fn pinned_versions_are_compared() {
        let module = apt(json!({"name": "tree=2.1.0-1"}));
        assert!(
            !module
                .plan(&Probe::ok("pkg.tree=ii |2.1.0-1\n"))
                .unwrap()
                .changed
        );
        let plan = module.plan(&Probe::ok("pkg.tree=ii |2.0-1\n")).unwrap();
        assert_eq!(
            plan.diff.as_deref(),
            Some("version: tree 2.0-1 -> 2.1.0-1\n")
        );
    }

    #[test]
    fn latest_compares_the_candidate() {
        let module = apt(json!({"name": ["tree", "hello"], "state": "latest"}));
        let plan = module
            .plan(&Probe::ok(
                "pkg.tree=ii |2.0\npkg.hello=ii |2.10-3\ncandidate.tree=2.1\ncandidate.hello=2.10-3\n",
            ))
            .unwrap();
        assert_eq!(plan.diff.as_deref(), Some("upgrade: tree 2.0 -> 2.1\n"));
        let plan = module
            .plan(&Probe::ok(
                "pkg.tree=ii |2.1\npkg.hello=ii |2.10-3\ncandidate.tree=2.1\ncandidate.hello=2.10-3\n",
            ))
            .unwrap();
        assert!(!plan.changed);
        let err = module
            .plan(&Probe::ok("pkg.tree=\ncandidate.tree=(none)\n"))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no installation candidate for package tree")
        );
    }

    #[test]
    fn absent_removes_or_purges() {
        let module = apt(json!({"name": "cowsay", "state": "absent"}));
        let plan = module.plan(&Probe::ok("pkg.cowsay=ii |3.03\n")).unwrap();
        assert_eq!(plan.diff.as_deref(), Some("remove: cowsay\n"));
        assert_eq!(
            scripts(&plan.steps),
            [format!("{APT_GET} remove -y -q -- cowsay\n")]
        );
        assert!(
            !module
                .plan(&Probe::ok("pkg.cowsay=rc |3.03\n"))
                .unwrap()
                .changed
        );
        let waiting = apt(json!({"name": "cowsay", "state": "absent", "lock_timeout": 5}));
        let plan = waiting.plan(&Probe::ok("pkg.cowsay=ii |3.03\n")).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            [
                "export DEBIAN_FRONTEND=noninteractive\napt-get -o 'DPkg::Lock::Timeout=5' remove -y -q -- cowsay\n"
            ]
        );
        let purge = apt(json!({"name": "cowsay", "state": "absent", "purge": true}));
        let plan = purge.plan(&Probe::ok("pkg.cowsay=rc |3.03\n")).unwrap();
        assert_eq!(plan.diff.as_deref(), Some("purge: cowsay\n"));
        assert!(!purge.plan(&Probe::ok("pkg.cowsay=un |\n")).unwrap().changed);
    }

    #[test]
    fn cache_valid_time_updates_only_a_stale_cache() {
        let module = apt(json!({"cache_valid_time": 3600}));
        assert_eq!(
            module.probe().unwrap(),
            "echo now=$(date +%s)\n\
             [ -e /var/lib/apt/periodic/update-success-stamp ] && echo stamp_mtime=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp)\n\
             [ -e /var/lib/apt/lists ] && echo lists_mtime=$(stat -c %Y /var/lib/apt/lists)\n\
             true\n"
        );
        let fresh = module
            .plan(&Probe::ok(
                "now=10000\nlists_mtime=9000\nstamp_mtime=7000\n",
            ))
            .unwrap();
        assert!(!fresh.changed);
        let stale = module
            .plan(&Probe::ok("now=10000\nlists_mtime=5000\n"))
            .unwrap();
        assert!(stale.changed);
        assert_eq!(stale.diff.as_deref(), Some("update cache\n"));
        assert_eq!(
            scripts(&stale.steps),
            [format!(
                "{APT_GET} update -q && mkdir -p -- /var/lib/apt/periodic && touch -- /var/lib/apt/periodic/update-success-stamp\n"
            )]
        );
    }

    #[test]
    fn update_cache_alone_always_updates_and_with_names_only_when_installing() {
        let plan = apt(json!({"update_cache": "yes"}))
            .plan(&Probe::default())
            .unwrap();
        assert!(plan.changed);
        let with_names = apt(json!({"name": "tree", "update_cache": true}));
        assert!(
            !with_names
                .plan(&Probe::ok("pkg.tree=ii |2\n"))
                .unwrap()
                .changed
        );
        let plan = with_names.plan(&Probe::ok("pkg.tree=un |\n")).unwrap();
        assert_eq!(plan.steps.len(), 2);
        assert_eq!(plan.diff.as_deref(), Some("update cache\ninstall: tree\n"));
    }

    #[test]
    fn rejects_bad_params() {
        assert!(error(json!({"name": "tree", "stat": "present"})).contains("unknown field `stat`"));
        assert!(error(json!({})).contains("name or update_cache is required"));
        assert!(error(json!({"name": "tree; reboot"})).contains("invalid package"));
        assert!(error(json!({"name": "tree=1", "state": "latest"})).contains("state: present"));
        assert!(error(json!({"name": "tree", "state": "installed"})).contains("unknown variant"));
    }
}
