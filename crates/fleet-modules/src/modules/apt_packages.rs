//! `apt` with `name` or `deb`: which packages change, and the commands.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Apt, Installed};
use crate::modules::apt_params::AptState;
use crate::{ModuleError, Plan, Step};

impl Apt {
    /// The steps and diff lines for `name`; whether anything changes.
    pub(super) fn plan_packages(
        &self,
        facts: &BTreeMap<&str, &str>,
        cache_due: bool,
        simulated: u32,
        steps: &mut Vec<Step>,
        diff: &mut Vec<String>,
    ) -> Result<bool, ModuleError> {
        let p = &self.params;
        if p.state == AptState::BuildDep {
            if simulated == 0 {
                return Ok(false);
            }
            diff.push(format!("build-dep: {simulated} package(s)"));
            let names = self.packages.iter().map(|p| p.name.as_str());
            steps.push(Step::run(
                Apt::noninteractive().cmd(
                    self.changing("build-dep")
                        .flag_if(p.fail_on_autoremove, "--no-remove")
                        .operands(names),
                ),
            ));
            return Ok(true);
        }
        let before = diff.len();
        let mut install = Vec::new();
        let mut remove = Vec::new();
        for package in &self.packages {
            let key = format!("pkg.{}", package.name);
            let current = Installed::of(facts.get(key.as_str()).copied());
            if p.only_upgrade && !current.is_installed() && p.state != AptState::Absent {
                continue;
            }
            match p.state {
                AptState::Present | AptState::Fixed | AptState::BuildDep => {
                    if p.only_upgrade {
                        continue;
                    }
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
                    if current.needs_removal(p.purge) {
                        let verb = if p.purge { "purge" } else { "remove" };
                        diff.push(format!("{verb}: {}", package.name));
                        remove.push(package.name.clone());
                    }
                }
            }
        }
        let latest_due = p.state == AptState::Latest && cache_due;
        let changed = diff.len() > before || latest_due;
        if !changed {
            return Ok(false);
        }
        if !install.is_empty() {
            steps.push(Step::run(Apt::noninteractive().cmd(self.install(install))));
        }
        if !remove.is_empty() {
            let verb = if p.purge { "purge" } else { "remove" };
            let mut cmd = self
                .apt_get(verb)
                .flag("-y")
                .flag("-q")
                .flag_if(p.force, "--force-yes")
                .flag_if(p.autoremove, "--auto-remove")
                .flag_if(p.allow_change_held_packages, "--allow-change-held-packages");
            for option in p.dpkg_options.split(',') {
                cmd = cmd.opt("-o", format!("Dpkg::Options::=--{option}"));
            }
            steps.push(Step::run(Apt::noninteractive().cmd(cmd.operands(remove))));
        }
        Ok(true)
    }

    /// `deb`: installs the file unless dpkg has that package at that
    /// version. `apt-get install` of the file also installs what it
    /// depends on.
    pub(super) fn plan_deb(
        &self,
        deb: &str,
        facts: &BTreeMap<&str, &str>,
        cache_due: bool,
        mut steps: Vec<Step>,
        mut diff: Vec<String>,
    ) -> Result<Plan, ModuleError> {
        let (Some(name), Some(version)) = (facts.get("deb.package"), facts.get("deb.version"))
        else {
            return Err(ModuleError::Failed(format!(
                "Unable to install package: {deb} is not a readable .deb file"
            )));
        };
        let current = Installed::of(facts.get("deb.installed").copied());
        if current.is_installed() && current.version == version.trim() {
            return Ok(Plan::upkeep(steps));
        }
        if cache_due {
            diff.push("update cache".into());
            steps.push(self.update_step());
        }
        diff.push(format!("install: {name}={version} from {deb}"));
        let script = Apt::noninteractive().set("deb", deb);
        let script = if deb.contains("://") {
            script
                .snippet(
                    "tmp=$(mktemp -d)\n\
                     if command -v curl >/dev/null; then curl -fsSL -o \"$tmp/p.deb\" \"$deb\"; else wget -q -O \"$tmp/p.deb\" \"$deb\"; fi || { rm -rf \"$tmp\"; exit 1; }\n",
                )
                .cmd(
                    self.install(Vec::new())
                        .operand(fleet_shell::Arg::Joined(vec![
                            fleet_shell::Arg::var("tmp"),
                            "/p.deb".into(),
                        ])),
                )
                .snippet("rc=$?\nrm -rf \"$tmp\"\nexit \"$rc\"\n")
        } else {
            script.cmd(self.install(vec![deb.to_string()]))
        };
        steps.push(Step::run(script));
        let mut plan = Plan::change(steps).with_diff(Some(diff.join("\n") + "\n"));
        plan.data
            .insert("cache_updated".into(), Value::Bool(cache_due));
        Ok(plan)
    }
}
