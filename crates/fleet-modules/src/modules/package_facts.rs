//! `package_facts`: the installed Debian packages as Ansible's
//! `package_facts` reports them (its `apt` manager): `ansible_facts.packages`
//! maps each name to a list of `{name, version, arch, category, source}`,
//! read from dpkg's database with one `dpkg-query`.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::set_fact::FACTS_KEY;
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

pub const PARAMS: &[&str] = &["manager", "strategy"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageFactsParams {
    #[serde(default = "auto", deserialize_with = "managers")]
    pub manager: Vec<String>,
    #[serde(default)]
    pub strategy: Strategy,
}

fn auto() -> Vec<String> {
    vec!["auto".into()]
}

fn managers<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text.split(',').map(|m| m.trim().to_lowercase()).collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_lowercase)
                    .ok_or_else(|| serde::de::Error::custom("manager must be strings"))
            })
            .collect(),
        other => Err(serde::de::Error::custom(format!(
            "manager must be a string or a list, got {other}"
        ))),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    #[default]
    First,
    All,
}

#[derive(Debug)]
pub struct PackageFacts;

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: PackageFactsParams = parse_params("package_facts", params)?;
    if let Some(other) = params
        .manager
        .iter()
        .find(|manager| !matches!(manager.as_str(), "auto" | "apt"))
    {
        return Err(ModuleError::Params {
            module: "package_facts".into(),
            message: format!(
                "manager {other:?} is not supported: fleet reads Debian's packages (auto or apt)"
            ),
        });
    }
    Ok(Box::new(PackageFacts))
}

/// One line per package: status, name, version, architecture, section.
const FORMAT: &str = "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${Section}\n";

impl Module for PackageFacts {
    fn probe(&self) -> Option<Script> {
        Some(Script::of(
            Cmd::new("dpkg-query").flag("-W").opt("-f", FORMAT),
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Failed(format!(
                "Could not detect a supported package manager (dpkg-query failed: {})",
                probe.stderr.trim()
            )));
        }
        let mut packages = Map::new();
        for line in probe.stdout.lines() {
            let parts: Vec<&str> = line.split('\t').collect();
            let [status, name, version, arch, section] = parts[..] else {
                continue;
            };
            // Installed as apt counts it: a current version, so neither
            // "not installed" nor only "config-files".
            if matches!(status.chars().nth(1), Some('n' | 'c') | None) {
                continue;
            }
            let entry = packages
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(json!({
                    "name": name,
                    "version": version,
                    "arch": arch,
                    "category": section,
                    "source": "apt",
                }));
            }
        }
        let mut plan = Plan::unchanged();
        plan.data.insert(
            FACTS_KEY.into(),
            json!({"packages": Value::Object(packages)}),
        );
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;

    #[test]
    fn installed_packages_are_listed_as_ansible_lists_them() {
        let module = build(json!({}), &NoFiles).unwrap();
        assert_eq!(
            module.probe().unwrap().as_str(),
            "dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${Section}\n'\n"
        );
        let probe = Probe::ok(
            "ii \thello\t2.10-3\tamd64\tdevel\nrc \told\t1.0\tamd64\tmisc\n\
             hi \tfleet-test-hello\t1.0\tall\tmisc\nun \tnever\t\t\t\n",
        );
        let plan = module.plan(&probe).unwrap();
        assert!(!plan.changed);
        assert_eq!(
            plan.data[FACTS_KEY],
            json!({"packages": {
                "hello": [{"name": "hello", "version": "2.10-3", "arch": "amd64", "category": "devel", "source": "apt"}],
                "fleet-test-hello": [{"name": "fleet-test-hello", "version": "1.0", "arch": "all", "category": "misc", "source": "apt"}],
            }})
        );
    }

    #[test]
    fn only_apt_is_supported() {
        assert!(build(json!({"manager": ["auto"], "strategy": "all"}), &NoFiles).is_ok());
        assert!(build(json!({"manager": "apt"}), &NoFiles).is_ok());
        let err = build(json!({"manager": "rpm"}), &NoFiles).unwrap_err();
        assert!(
            err.to_string().contains("\"rpm\" is not supported"),
            "{err}"
        );
        assert!(build(json!({"strategy": "some"}), &NoFiles).is_err());
    }
}
