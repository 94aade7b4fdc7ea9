//! `pip`: Python packages in a virtualenv (created when missing) or for a
//! given pip, like Ansible's `pip`. Pinned names are compared with `pip
//! list`; `latest`, requirements files and direct references ask pip
//! itself with `pip install --dry-run`.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::Value;

use super::apt::StringList;
use crate::text::fields;
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};
use fleet_shell::split_words;

pub const PARAMS: &[&str] = &[
    "name",
    "requirements",
    "virtualenv",
    "virtualenv_command",
    "extra_args",
    "state",
    "executable",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipParams {
    /// Requirement specifiers: `tenacity`, `uvicorn[standard]==0.30.1`.
    pub name: Option<StringList>,
    /// A requirements file on the host.
    pub requirements: Option<String>,
    pub virtualenv: Option<String>,
    #[serde(default = "default_virtualenv_command")]
    pub virtualenv_command: String,
    pub extra_args: Option<String>,
    #[serde(default)]
    pub state: PipState,
    /// The pip to run when there is no virtualenv (default `pip3`).
    pub executable: Option<String>,
}

fn default_virtualenv_command() -> String {
    "python3 -m venv".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PipState {
    #[default]
    Present,
    Absent,
    Latest,
}

/// One requirement specifier, split into what can be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    spec: String,
    /// PEP 503 normalized.
    name: String,
    /// `(operator, version)` pairs; `None` for a direct reference (URL,
    /// path, environment marker) that only pip can judge.
    clauses: Option<Vec<(String, String)>>,
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become `-`.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

impl Requirement {
    fn parse(spec: &str) -> Result<Requirement, String> {
        let end = spec
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(spec.len());
        let (name, mut rest) = spec.split_at(end);
        if name.is_empty() {
            return Err(format!("invalid requirement {spec:?}"));
        }
        if rest.starts_with('[') {
            let close = rest
                .find(']')
                .ok_or(format!("invalid extras in {spec:?}"))?;
            rest = &rest[close + 1..];
        }
        let rest = rest.trim();
        let direct = rest.contains(['@', ';']) || rest.contains("://");
        let clauses = if direct {
            None
        } else {
            let mut clauses = Vec::new();
            for clause in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let op_len = clause
                    .find(|c: char| !"=<>!~".contains(c))
                    .unwrap_or(clause.len());
                let (op, version) = clause.split_at(op_len);
                if !["===", "==", "!=", "~=", ">=", "<=", ">", "<"].contains(&op)
                    || version.trim().is_empty()
                {
                    return Err(format!("invalid version clause {clause:?} in {spec:?}"));
                }
                clauses.push((op.to_string(), version.trim().to_string()));
            }
            Some(clauses)
        };
        Ok(Requirement {
            spec: spec.to_string(),
            name: normalize(name),
            clauses,
        })
    }

    fn satisfied_by(&self, installed: &str) -> bool {
        self.clauses.iter().flatten().all(|(op, wanted)| {
            if let Some(prefix) = wanted.strip_suffix(".*") {
                let matches = installed == prefix || installed.starts_with(&format!("{prefix}."));
                return (op == "==") == matches;
            }
            let order = compare_versions(installed, wanted);
            match op.as_str() {
                "===" => installed == wanted,
                "==" => order == Ordering::Equal,
                "!=" => order != Ordering::Equal,
                ">=" => order != Ordering::Less,
                "<=" => order != Ordering::Greater,
                ">" => order == Ordering::Greater,
                "<" => order == Ordering::Less,
                _ => {
                    let prefix = wanted
                        .rsplit_once('.')
                        .map_or(wanted.as_str(), |(head, _)| head);
                    order != Ordering::Less
                        && (installed == prefix || installed.starts_with(&format!("{prefix}.")))
                }
            }
        })
    }
}

/// A PEP 440 sort key: the release numbers, then dev < a < b < rc <
/// final < post.
fn version_key(version: &str) -> (Vec<u64>, u8, u64) {
    let version = version.trim().trim_start_matches('v').to_ascii_lowercase();
    let split = version
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(version.len());
    let (release, suffix) = version.split_at(split);
    let mut numbers: Vec<u64> = release.split('.').filter_map(|n| n.parse().ok()).collect();
    while numbers.last() == Some(&0) {
        numbers.pop();
    }
    let suffix = suffix.trim_start_matches(['.', '-', '_']);
    let phase = [("dev", 0), ("rc", 3), ("a", 1), ("b", 2), ("post", 5)]
        .iter()
        .find(|(tag, _)| suffix.starts_with(tag));
    let (phase, number) = match phase {
        Some((tag, rank)) => (
            *rank,
            suffix[tag.len()..]
                .trim_start_matches('.')
                .parse()
                .unwrap_or(0),
        ),
        None => (4, 0),
    };
    (numbers, phase, number)
}

fn compare_versions(a: &str, b: &str) -> Ordering {
    version_key(a).cmp(&version_key(b))
}

#[derive(Debug)]
pub struct Pip {
    params: PipParams,
    requirements: Vec<Requirement>,
    /// The pip to run: the virtualenv's, `executable`, or `pip3`.
    pip: String,
    extra_args: Vec<String>,
    /// The words of `virtualenv_command`, when there is a virtualenv.
    venv_command: Option<Vec<String>>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "pip".into(),
        message: message.into(),
    }
}

fn words(text: &str, what: &str) -> Result<Vec<String>, ModuleError> {
    split_words(text).map_err(|err| invalid(format!("{what}: {err}")))
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: PipParams = parse_params("pip", params)?;
    let names = params
        .name
        .as_ref()
        .map(StringList::to_vec)
        .unwrap_or_default();
    match (names.is_empty(), &params.requirements) {
        (true, None) => return Err(invalid("name or requirements is required")),
        (false, Some(_)) => return Err(invalid("name and requirements are mutually exclusive")),
        (true, Some(_)) if params.state == PipState::Absent => {
            return Err(invalid("state: absent needs name, not requirements"));
        }
        _ => {}
    }
    if params.virtualenv.is_some() && params.executable.is_some() {
        return Err(invalid("virtualenv and executable are mutually exclusive"));
    }
    // The virtualenv is the last word of `virtualenv_command`, which may
    // not take `--`.
    if params
        .virtualenv
        .as_ref()
        .is_some_and(|v| v.starts_with('-'))
    {
        return Err(invalid("virtualenv must not start with `-`"));
    }
    let requirements = names
        .iter()
        .map(|spec| Requirement::parse(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let pip = match (&params.virtualenv, &params.executable) {
        (Some(venv), _) => format!("{}/bin/pip", venv.trim_end_matches('/')),
        (None, Some(executable)) => executable.clone(),
        (None, None) => "pip3".into(),
    };
    let extra_args = words(
        params.extra_args.as_deref().unwrap_or_default(),
        "extra_args",
    )?;
    let venv_command = match &params.virtualenv {
        Some(_) => {
            let command = words(&params.virtualenv_command, "virtualenv_command")?;
            if command.is_empty() {
                return Err(invalid("virtualenv_command is empty"));
            }
            Some(command)
        }
        None => None,
    };
    Ok(Box::new(Pip {
        params,
        requirements,
        pip,
        extra_args,
        venv_command,
    }))
}

/// A script where pip does not look for a newer pip: every pip step
/// starts with it.
fn quiet_pip() -> Script {
    Script::new().snippet("export PIP_DISABLE_PIP_VERSION_CHECK=1\n")
}

impl Pip {
    /// Whether pip has to be asked (`--dry-run`) rather than `pip list`.
    fn asks_pip(&self) -> bool {
        self.params.state == PipState::Latest
            || self.params.requirements.is_some()
            || self.requirements.iter().any(|r| r.clauses.is_none())
    }

    fn pip(&self) -> Cmd {
        Cmd::at(self.pip.as_str())
    }

    /// `install` with the options every install uses, then the
    /// requirements file or `specs`, as arguments of `base`: pip itself,
    /// or `set` for the probe's positional parameters.
    fn install(&self, base: Cmd, specs: &[&str], dry_run: bool) -> Cmd {
        let install = base
            .arg("install")
            .flag("--no-input")
            .flag_if(dry_run, "--dry-run")
            .flag_if(self.params.state == PipState::Latest, "-U");
        let install = self
            .extra_args
            .iter()
            .fold(install, |install, arg| install.arg(arg));
        match &self.params.requirements {
            Some(file) => install.opt("-r", file),
            None => install.operands(specs.iter().copied()),
        }
    }

    fn all_specs(&self) -> Vec<&str> {
        self.requirements.iter().map(|r| r.spec.as_str()).collect()
    }

    /// What `install` installs, for the diff.
    fn all_targets(&self) -> String {
        match &self.params.requirements {
            Some(file) => format!("-r {file}"),
            None => self.all_specs().join(" "),
        }
    }

    fn install_step(&self, specs: &[&str]) -> Step {
        Step::run(quiet_pip().cmd(self.install(self.pip(), specs, false)))
    }
}

impl Module for Pip {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new();
        if let Some(venv) = &self.params.virtualenv {
            script = script
                .set(
                    "python",
                    format!("{}/bin/python", venv.trim_end_matches('/')),
                )
                .snippet("[ -x \"$python\" ] || { echo venv=0; exit 0; }\n");
        }
        if self.asks_pip() && self.params.state != PipState::Absent {
            // pip's arguments are the positional parameters: `"$@"`.
            let arguments = self.install(Cmd::new("set").flag("--"), &self.all_specs(), true);
            script = script
                .then(quiet_pip())
                .set("pip", self.pip.as_str())
                .cmd(arguments)
                .snippet(
                    "if out=$(\"$pip\" \"$@\" 2>&1); then \
                     printf '%s\\n' \"$out\" | sed -n 's/^Would install /would=/p'; \
                     else echo \"pip_error=$({ printf '%s\\n' \"$out\" | grep ERROR || printf '%s\\n' \"$out\" | tail -n 3; } | tr '\\n' ' ')\"; fi\n",
                );
        } else {
            script = script.pipeline([
                self.pip()
                    .arg("list")
                    .opt("--format", "freeze")
                    .flag("--disable-pip-version-check")
                    .quiet(),
                Cmd::new("sed").arg("s/^/installed: /"),
            ]);
        }
        Some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        if let Some(error) = facts.get("pip_error") {
            return Err(ModuleError::Failed(format!("pip: {}", error.trim())));
        }
        let absent = self.params.state == PipState::Absent;
        let mut steps = Vec::new();
        let mut diff = Vec::new();
        if facts.get("venv") == Some(&"0") {
            if absent {
                return Ok(Plan::unchanged());
            }
            let venv = self.params.virtualenv.as_deref().unwrap_or_default();
            let create = Cmd::argv(self.venv_command.as_deref().unwrap_or_default())
                .ok_or_else(|| invalid("virtualenv_command is empty"))?
                .operand(venv);
            steps.push(Step::run(Script::of(create)));
            steps.push(self.install_step(&self.all_specs()));
            diff.push(format!("virtualenv: absent -> {venv}"));
            diff.push(format!("install: {}", self.all_targets()));
            return Ok(Plan::change(steps).with_diff(Some(diff.join("\n") + "\n")));
        }
        if self.asks_pip() && !absent {
            if let Some(would) = facts.get("would").filter(|w| !w.trim().is_empty()) {
                steps.push(self.install_step(&self.all_specs()));
                diff.push(format!("install: {}", would.trim()));
            }
        } else {
            let installed: Vec<(String, &str)> = probe
                .stdout
                .lines()
                .filter_map(|line| line.strip_prefix("installed: "))
                .filter_map(|line| line.split_once("=="))
                .map(|(name, version)| (normalize(name), version.trim()))
                .collect();
            let version_of =
                |name: &str| installed.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            let mut targets = Vec::new();
            for requirement in &self.requirements {
                match (version_of(&requirement.name), absent) {
                    (Some(_), true) => {
                        diff.push(format!("remove: {}", requirement.name));
                        targets.push(requirement.name.as_str());
                    }
                    (None, false) => {
                        diff.push(format!("install: {}", requirement.spec));
                        targets.push(requirement.spec.as_str());
                    }
                    (Some(version), false) if !requirement.satisfied_by(version) => {
                        diff.push(format!(
                            "version: {} {version} -> {}",
                            requirement.name, requirement.spec
                        ));
                        targets.push(requirement.spec.as_str());
                    }
                    _ => {}
                }
            }
            if !targets.is_empty() {
                steps.push(if absent {
                    Step::run(
                        quiet_pip().cmd(self.pip().arg("uninstall").flag("-y").operands(targets)),
                    )
                } else {
                    self.install_step(&targets)
                });
            }
        }
        if steps.is_empty() {
            return Ok(Plan::unchanged());
        }
        Ok(Plan::change(steps).with_diff(Some(diff.join("\n") + "\n")))
    }
}

#[cfg(test)]
#[path = "pip_tests.rs"]
mod tests;
