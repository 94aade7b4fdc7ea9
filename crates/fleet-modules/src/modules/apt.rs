//! `apt`: installs, upgrades and removes Debian packages and refreshes the
//! package lists, like Ansible's `apt`. What apt itself would do
//! (`upgrade`, `autoremove`, `autoclean`, `build-dep`) is asked of
//! `apt-get --simulate` in the probe.

use std::collections::BTreeMap;

use serde_json::Value;

use super::apt_params::{AptParams, AptState, Package, Upgrade, check_combination, invalid};
pub use super::apt_params::{PARAMS, StringList};
use crate::text::fields;
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

#[derive(Debug)]
pub struct Apt {
    packages: Vec<Package>,
    params: AptParams,
    update_cache: bool,
    /// `upgrade`, or `name: "*"` with `state: latest` (Ansible's "upgrade
    /// everything").
    upgrade: Upgrade,
}

const PERIODIC: &str = "/var/lib/apt/periodic";
const STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: AptParams = parse_params("apt", params)?;
    check_combination(&params)?;
    let specs = params
        .name
        .as_ref()
        .map(StringList::to_vec)
        .unwrap_or_default();
    let everything = specs.iter().any(|spec| spec == "*");
    let mut upgrade = params.upgrade;
    if everything {
        if params.state != AptState::Latest {
            return Err(invalid("name: \"*\" needs state: latest"));
        }
        if specs.len() > 1 {
            return Err(invalid(
                "unable to install additional packages when upgrading all installed packages",
            ));
        }
        upgrade = Upgrade::Safe;
    }
    let packages = specs
        .iter()
        .filter(|spec| *spec != "*")
        .map(|spec| Package::parse(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let pin_ok = matches!(params.state, AptState::Present | AptState::Fixed);
    if !pin_ok && packages.iter().any(|p| p.version.is_some()) {
        return Err(invalid(
            "a pinned version (`name=version`) needs state: present",
        ));
    }
    if let Some(deb) = &params.deb {
        let url = deb.contains("://");
        if deb.contains(',') || (!url && !deb.starts_with('/')) {
            return Err(invalid(format!(
                "deb {deb:?} must be one absolute path on the host or one URL"
            )));
        }
    }
    Ok(Box::new(Apt {
        packages,
        update_cache: params.update_cache || params.cache_valid_time.is_some(),
        upgrade,
        params,
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
    fn of(raw: Option<&str>) -> Installed<'_> {
        let (status, version) = raw.and_then(|r| r.split_once('|')).unwrap_or(("", ""));
        Installed {
            status: status.chars().nth(1).unwrap_or(' '),
            version: version.trim(),
        }
    }

    fn is_installed(&self) -> bool {
        matches!(self.status, 'i' | 'W' | 't')
    }

    fn needs_removal(&self, purge: bool) -> bool {
        !matches!(self.status, 'n' | 'c' | ' ') || (purge && self.status == 'c')
    }
}

impl Apt {
    /// `apt-get` with the lock option every run uses, then `verb`.
    fn apt_get(&self, verb: &'static str) -> Cmd {
        Cmd::new("apt-get")
            .opt(
                "-o",
                format!("DPkg::Lock::Timeout={}", self.params.lock_timeout),
            )
            .arg(verb)
    }

    /// `apt-get VERB -y -q` with the options every changing run takes, in
    /// the order Ansible's module passes them.
    fn changing(&self, verb: &'static str) -> Cmd {
        let p = &self.params;
        let mut cmd = self
            .apt_get(verb)
            .flag("-y")
            .flag("-q")
            .flag_if(p.force, "--force-yes");
        if let Some(release) = &p.default_release {
            cmd = cmd.opt("-t", release);
        }
        cmd = match p.install_recommends {
            Some(true) => cmd.opt("-o", "APT::Install-Recommends=yes"),
            Some(false) => cmd.opt("-o", "APT::Install-Recommends=no"),
            None => cmd,
        };
        cmd = cmd
            .flag_if(p.allow_unauthenticated, "--allow-unauthenticated")
            .flag_if(p.allow_downgrade, "--allow-downgrades")
            .flag_if(p.allow_change_held_packages, "--allow-change-held-packages");
        for option in p.dpkg_options.split(',') {
            cmd = cmd.opt("-o", format!("Dpkg::Options::=--{option}"));
        }
        cmd
    }

    /// The install command for `state` present/latest/fixed.
    fn install(&self, specs: Vec<String>) -> Cmd {
        let p = &self.params;
        self.changing("install")
            .flag_if(p.only_upgrade, "--only-upgrade")
            .flag_if(p.state == AptState::Fixed, "--fix-broken")
            .flag_if(p.autoremove, "--auto-remove")
            .flag_if(p.fail_on_autoremove, "--no-remove")
            .operands(specs)
    }

    fn upgrade_cmd(&self, simulate: bool) -> Cmd {
        let p = &self.params;
        let cmd = match self.upgrade {
            Upgrade::Dist => self.changing("dist-upgrade"),
            _ => self.changing("upgrade").flag("--with-new-pkgs"),
        };
        cmd.flag_if(p.autoremove, "--auto-remove")
            .flag_if(p.fail_on_autoremove, "--no-remove")
            .flag_if(simulate, "--simulate")
    }

    fn cleanup_cmd(&self, verb: &'static str, simulate: bool) -> Cmd {
        self.changing(verb)
            .flag_if(self.params.purge, "--purge")
            .flag_if(simulate, "--simulate")
    }

    /// A script where `apt-get` never asks: every step starts with it.
    fn noninteractive() -> Script {
        Script::new().snippet("export DEBIAN_FRONTEND=noninteractive\n")
    }

    /// `apt-get update`, tried `update_cache_retries` times with growing
    /// pauses, then the stamp APT's periodic job also touches.
    fn update_step(&self) -> Step {
        let p = &self.params;
        Step::run(
            Apt::noninteractive()
                .set("tries", p.update_cache_retries.max(1).to_string())
                .set("max_delay", p.update_cache_retry_max_delay.to_string())
                .snippet("n=0\nuntil ")
                .cmd(self.apt_get("update").flag("-q"))
                .snippet(
                    "do n=$((n + 1)); [ \"$n\" -lt \"$tries\" ] || exit 1; \
                     d=$((1 << (n - 1))); [ \"$d\" -le \"$max_delay\" ] || d=$max_delay; sleep \"$d\"; done\n",
                )
                .all([
                    Cmd::new("mkdir").flag("-p").operand(PERIODIC),
                    Cmd::new("touch").operand(STAMP),
                ]),
        )
    }

    fn cache_due(&self, facts: &BTreeMap<&str, &str>) -> bool {
        if !self.update_cache {
            return false;
        }
        let Some(valid) = self.params.cache_valid_time else {
            return true;
        };
        let number = |key: &str| facts.get(key).and_then(|v| v.trim().parse::<u64>().ok());
        let newest = number("stamp_mtime").max(number("lists_mtime"));
        match (number("now"), newest) {
            (Some(now), Some(mtime)) => now.saturating_sub(mtime) > valid,
            _ => true,
        }
    }

    /// What `apt-get --simulate` of the one apt-decided action prints:
    /// `simulated=N`, the count of packages it would touch.
    fn simulation(&self) -> Option<Cmd> {
        let p = &self.params;
        if self.upgrade != Upgrade::No {
            return Some(self.upgrade_cmd(true));
        }
        if p.deb.is_some() || !self.packages.is_empty() {
            return (p.state == AptState::BuildDep).then(|| {
                self.changing("build-dep")
                    .flag_if(p.fail_on_autoremove, "--no-remove")
                    .flag("--simulate")
                    .operands(self.packages.iter().map(|p| p.name.as_str()))
            });
        }
        if self.update_cache {
            return None;
        }
        if p.autoclean {
            return Some(self.cleanup_cmd("autoclean", true));
        }
        p.autoremove.then(|| self.cleanup_cmd("autoremove", true))
    }
}

impl Module for Apt {
    /// The package names become the positional parameters (`set --`), so
    /// the loops read them as words whatever they hold.
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new();
        let mut used = false;
        let reads_dpkg = self.params.deb.is_some()
            || (!self.packages.is_empty() && self.params.state != AptState::BuildDep);
        if reads_dpkg {
            script = script.set("format", "${db:Status-Abbrev}|${Version}\\n");
        }
        if !self.packages.is_empty() && self.params.state != AptState::BuildDep {
            let names = self.packages.iter().map(|p| p.name.as_str());
            script = script.cmd(Cmd::new("set").operands(names)).snippet(
                "for p in \"$@\"; do echo \"pkg.$p=$(dpkg-query -W -f=\"$format\" -- \"$p\" 2>/dev/null | head -n 1)\"; done\n",
            );
            used = true;
        }
        if self.params.state == AptState::Latest && !self.packages.is_empty() {
            script = match &self.params.default_release {
                Some(release) => script.set("release", release.as_str()).snippet(
                    "for p in \"$@\"; do echo \"candidate.$p=$(LC_ALL=C apt-cache -t \"$release\" policy -- \"$p\" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)\"; done\n",
                ),
                None => script.snippet(
                    "for p in \"$@\"; do echo \"candidate.$p=$(LC_ALL=C apt-cache policy -- \"$p\" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)\"; done\n",
                ),
            };
        }
        if let Some(deb) = &self.params.deb {
            script = deb_probe(script.set("deb", deb.as_str()), deb);
            used = true;
        }
        if let Some(simulate) = self.simulation() {
            script = script
                .snippet("printf 'simulated='\n")
                .pipeline([
                    simulate,
                    Cmd::new("grep")
                        .flag("-c")
                        .arg("^\\(Inst\\|Remv\\|Purg\\|Del\\) "),
                ])
                .snippet("true\n");
            used = true;
        }
        if self.update_cache && self.params.cache_valid_time.is_some() {
            script = script.snippet(
                "echo now=$(date +%s)\n\
                 [ -e /var/lib/apt/periodic/update-success-stamp ] && echo stamp_mtime=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp)\n\
                 [ -e /var/lib/apt/lists ] && echo lists_mtime=$(stat -c %Y /var/lib/apt/lists)\n\
                 true\n",
            );
            used = true;
        }
        used.then_some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let facts = fields(&probe.stdout);
        let cache_due = self.cache_due(&facts);
        let mut steps = Vec::new();
        let mut diff = Vec::new();
        if self.params.clean {
            steps.push(Step::run(
                Apt::noninteractive().cmd(self.apt_get("clean").flag("-y")),
            ));
            diff.push("clean".to_string());
        }
        let simulated = facts
            .get("simulated")
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0);
        let p = &self.params;
        let (changed, update) = if self.upgrade != Upgrade::No {
            // As for `latest` with a due update: the packages the new lists
            // bring cannot be known beforehand, so the update is a change.
            if simulated > 0 {
                diff.push(format!("upgrade: {simulated} package(s)"));
            }
            let changed = simulated > 0 || cache_due;
            if changed {
                steps.push(Step::run(
                    Apt::noninteractive().cmd(self.upgrade_cmd(false)),
                ));
            }
            (changed, cache_due)
        } else if let Some(deb) = &p.deb {
            return self.plan_deb(deb, &facts, cache_due, steps, diff);
        } else if self.packages.is_empty() {
            if self.update_cache {
                (cache_due, cache_due)
            } else if p.autoclean || p.autoremove {
                let verb = if p.autoclean {
                    "autoclean"
                } else {
                    "autoremove"
                };
                let changed = simulated > 0;
                if changed {
                    diff.push(format!("{verb}: {simulated} package(s)"));
                    steps.push(Step::run(
                        Apt::noninteractive().cmd(self.cleanup_cmd(verb, false)),
                    ));
                }
                (changed, false)
            } else {
                (p.clean, false)
            }
        } else {
            let changed =
                self.plan_packages(&facts, cache_due, simulated, &mut steps, &mut diff)?;
            (changed, cache_due && changed)
        };
        if update {
            diff.retain(|line| line != "clean");
            diff.insert(0, "update cache".into());
            let at = usize::from(p.clean);
            steps.insert(at, self.update_step());
            if p.clean {
                diff.insert(0, "clean".into());
            }
        }
        let mut plan = if changed {
            Plan::change(steps).with_diff(Some(diff.join("\n") + "\n"))
        } else {
            Plan::upkeep(steps)
        };
        if changed {
            plan.data
                .insert("cache_updated".into(), Value::Bool(update));
        }
        Ok(plan)
    }
}

/// Reads the `.deb`'s name and version (downloading it first when `deb`
/// is a URL) and what dpkg has of that package. `$deb` and `$format` are
/// bound before.
fn deb_probe(script: Script, deb: &str) -> Script {
    let fetch = if deb.contains("://") {
        script.snippet(
            "tmp=$(mktemp -d)\n\
             if command -v curl >/dev/null; then curl -fsSL -o \"$tmp/p.deb\" \"$deb\"; else wget -q -O \"$tmp/p.deb\" \"$deb\"; fi || { rm -rf \"$tmp\"; echo \"cannot download $deb\" >&2; exit 1; }\n\
             file=$tmp/p.deb\n",
        )
    } else {
        script.snippet("tmp=\nfile=$deb\n")
    };
    fetch.snippet(
        "if [ -f \"$file\" ]; then n=$(dpkg-deb -f \"$file\" Package); echo \"deb.package=$n\"\n\
         echo \"deb.version=$(dpkg-deb -f \"$file\" Version)\"\n\
         echo \"deb.installed=$(dpkg-query -W -f=\"$format\" -- \"$n\" 2>/dev/null | head -n 1)\"; fi\n\
         [ -z \"$tmp\" ] || rm -rf \"$tmp\"\n",
    )
}

#[path = "apt_packages.rs"]
mod packages;

#[cfg(test)]
#[path = "apt_tests.rs"]
mod tests;
