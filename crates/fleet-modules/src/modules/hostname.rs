//! `hostname`: sets the host's name as ansible-core's `hostname` does on
//! Linux. On a host that systemd runs (or with `use: systemd`/`debian`),
//! through `hostnamectl`: the static (and pretty) name first, then the
//! transient one. Without systemd, Debian's way: `/etc/hostname` only.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::text::{decode_base64, fields, unified_diff};
use crate::{
    Applied, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput,
    parse_params,
};

pub const PARAMS: &[&str] = &["name", "use"];

/// Ansible's choices for `use`.
const STRATEGIES: &[&str] = &[
    "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd", "openrc",
    "redhat", "sles", "solaris", "systemd",
];

/// The file Debian's strategy keeps the name in.
pub const HOSTNAME_FILE: &str = "/etc/hostname";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostnameParams {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(default, rename = "use")]
    pub strategy: Option<String>,
}

/// `name: 42` is a YAML number; Ansible's `str` takes it as text.
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = Value::deserialize(deserializer)?;
    super::de::scalar_text(&value)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a string, got {value}")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    /// Whatever the host is: systemd's when systemd runs it, else the file.
    Detect,
    /// `hostnamectl` (`use: systemd` and `use: debian`).
    Systemd,
}

#[derive(Debug)]
pub struct Hostname {
    name: String,
    strategy: Strategy,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "hostname".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: HostnameParams = parse_params("hostname", params)?;
    let strategy = match params.strategy.as_deref() {
        None => Strategy::Detect,
        Some("systemd" | "debian") => Strategy::Systemd,
        Some(other) if STRATEGIES.contains(&other) => {
            return Err(invalid(format!(
                "use: {other} is not supported: fleet sets the hostname with systemd's \
                 hostnamectl (use: systemd or debian, or no use on a systemd host) or in \
                 /etc/hostname on a Debian host without systemd"
            )));
        }
        Some(other) => {
            return Err(invalid(format!(
                "value of use must be one of: {}, got: {other}",
                STRATEGIES.join(", ")
            )));
        }
    };
    if params.name.is_empty() {
        return Err(invalid("name must not be empty"));
    }
    if params.name.contains(['\n', '\0']) {
        return Err(invalid("name must be one line"));
    }
    Ok(Box::new(Hostname {
        name: params.name,
        strategy,
    }))
}

/// Python's `socket.getfqdn()`, as the module reports it: the kernel's
/// hostname resolved to an address, that address's name and aliases, the
/// first of them with a dot (else the name); the hostname when either
/// lookup fails.
const FQDN: &str = "h=$(cat /proc/sys/kernel/hostname)\n\
    f=$h\n\
    a=$(getent ahosts \"$h\" 2>/dev/null | awk 'NR==1{print $1}')\n\
    if [ -n \"$a\" ] && r=$(getent hosts \"$a\" 2>/dev/null | head -n1) && [ -n \"$r\" ]; then \
    f=$(printf '%s\\n' \"$r\" | awk '{for (i = 2; i <= NF; i++) if (index($i, \".\")) { print $i; exit } print $2}'); fi\n\
    echo \"fqdn=$f\"\n";

/// What the probe learnt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Names {
    /// `hostnamectl` sets the names (else `/etc/hostname` does).
    pub systemd: bool,
    pub current: String,
    pub permanent: String,
    pub fqdn: String,
}

impl Hostname {
    /// The names the host has, or why Ansible's module would fail.
    pub(crate) fn names(&self, probe: &Probe) -> Result<Names, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let facts = fields(&probe.stdout);
        let decoded = |key: &str| -> Result<String, ModuleError> {
            match facts.get(key) {
                Some(encoded) => Ok(String::from_utf8_lossy(&decode_base64(encoded, key)?)
                    .trim()
                    .to_string()),
                None => Ok(String::new()),
            }
        };
        let fqdn = facts.get("fqdn").copied().unwrap_or_default().to_string();
        let systemd = self.strategy == Strategy::Systemd || facts.contains_key("systemd");
        if !systemd {
            let permanent = decoded("file")?;
            return Ok(Names {
                systemd,
                current: permanent.clone(),
                permanent,
                fqdn,
            });
        }
        if !facts.contains_key("hostnamectl") {
            return Err(ModuleError::Failed(
                "Failed to find required executable \"hostnamectl\" in paths".into(),
            ));
        }
        let mut names = Vec::new();
        for kind in ["transient", "static"] {
            let out = decoded(kind)?;
            let rc = facts.get(format!("{kind}_rc").as_str()).copied();
            if rc != Some("0") {
                return Err(ModuleError::Failed(format!(
                    "Command failed rc={}, out=, err={out}",
                    rc.unwrap_or("?")
                )));
            }
            names.push(out);
        }
        let permanent = names.pop().unwrap_or_default();
        let current = names.pop().unwrap_or_default();
        Ok(Names {
            systemd,
            current,
            permanent,
            fqdn,
        })
    }

    fn facts(&self, fqdn: &str) -> Value {
        let name = &self.name;
        let domain = fqdn.split_once('.').map_or("", |(_, rest)| rest);
        json!({
            "ansible_hostname": name.split('.').next().unwrap_or_default(),
            "ansible_nodename": name,
            "ansible_fqdn": fqdn,
            "ansible_domain": domain,
        })
    }

    fn data(&self, fqdn: &str) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("name".into(), json!(self.name));
        data.insert("ansible_facts".into(), self.facts(fqdn));
        data
    }

    fn too_long(&self) -> Result<(), ModuleError> {
        if self.name.chars().count() > 64 {
            return Err(ModuleError::Failed(
                "name cannot be longer than 64 characters on systemd servers, try a shorter name"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl Module for Hostname {
    fn probe(&self) -> Option<Script> {
        let script = Script::new().snippet(
            "if command -v systemctl >/dev/null 2>&1 && { [ -e /run/systemd/system/ ] || \
             [ -e /dev/.run/systemd/ ] || [ -e /dev/.systemd/ ]; }; then echo systemd=1; fi\n\
             if command -v hostnamectl >/dev/null 2>&1; then echo hostnamectl=1\n\
             t=$(hostnamectl --transient status 2>&1); echo \"transient_rc=$?\"\n\
             echo \"transient=$(printf '%s' \"$t\" | base64 -w0)\"\n\
             s=$(hostnamectl --static status 2>&1); echo \"static_rc=$?\"\n\
             echo \"static=$(printf '%s' \"$s\" | base64 -w0)\"; fi\n\
             if [ -f /etc/hostname ]; then echo \"file=$(base64 -w0 < /etc/hostname)\"; fi\n",
        );
        Some(script.snippet(FQDN))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let names = self.names(probe)?;
        let name = &self.name;
        let mut steps = Vec::new();
        if names.systemd {
            if names.permanent != *name {
                self.too_long()?;
                steps.push(Step::run(Script::of(
                    Cmd::new("hostnamectl")
                        .flag("--pretty")
                        .flag("--static")
                        .arg("set-hostname")
                        .operand(name.as_str()),
                )));
            }
            if names.current != *name {
                self.too_long()?;
                steps.push(Step::run(Script::of(
                    Cmd::new("hostnamectl")
                        .flag("--transient")
                        .arg("set-hostname")
                        .operand(name.as_str()),
                )));
            }
        } else if names.permanent != *name {
            steps.push(Step::Upload {
                dest: HOSTNAME_FILE.into(),
                contents: format!("{name}\n").into_bytes(),
                mode: 0o644,
                owner: None,
            });
        }
        if steps.is_empty() {
            return Ok(Plan {
                data: self.data(&names.fqdn),
                ..Plan::unchanged()
            });
        }
        let before = if *name != names.current {
            &names.current
        } else {
            &names.permanent
        };
        // The fully qualified name, once the host has its new one.
        steps.push(Step::run(Script::new().snippet(FQDN)));
        let diff = unified_diff(
            "hostname",
            &format!("hostname = {before}\n"),
            &format!("hostname = {name}\n"),
        );
        let mut plan = Plan::change(steps).with_diff(diff);
        plan.data = self.data(&names.fqdn);
        Ok(plan)
    }

    fn applied(&self, outputs: &[StepOutput]) -> Option<Applied> {
        let fqdn = fields(&outputs.last()?.stdout)
            .get("fqdn")
            .map(|fqdn| fqdn.to_string())?;
        Some(Applied {
            changed: true,
            data: self.data(&fqdn),
            msg: None,
        })
    }
}

#[cfg(test)]
#[path = "hostname_tests.rs"]
mod tests;
