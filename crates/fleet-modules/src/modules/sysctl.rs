//! `sysctl`: sets a kernel parameter in a sysctl.d file and, with `reload`,
//! in the running kernel, like Ansible's `sysctl`.

use serde::Deserialize;
use serde_json::Value;

use super::de;
use super::group::Presence;
use crate::text::{decode_base64, fields, unified_diff};
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &["name", "value", "state", "sysctl_file", "reload"];

pub const DEFAULT_FILE: &str = "/etc/sysctl.d/99-fleet.conf";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysctlParams {
    pub name: String,
    /// A string or a number; required with `state: present`.
    pub value: Option<Value>,
    #[serde(default)]
    pub state: Presence,
    #[serde(default = "default_file")]
    pub sysctl_file: String,
    /// Also set the running value with `sysctl -w` when it differs.
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub reload: bool,
}

fn default_file() -> String {
    DEFAULT_FILE.to_string()
}

#[derive(Debug)]
pub struct Sysctl {
    params: SysctlParams,
    value: String,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "sysctl".into(),
        message: message.into(),
    }
}

/// `net/ipv4/ip_forward` and `net.ipv4.ip_forward` name the same key.
fn same_key(a: &str, b: &str) -> bool {
    a.replace('/', ".") == b.replace('/', ".")
}

/// Whitespace-insensitive, as `sysctl -n` prints several values with tabs.
fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key and value of a `key = value` line, if it is one.
fn setting(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    if line.starts_with(['#', ';']) {
        return None;
    }
    let (key, value) = line.split_once('=')?;
    Some((key.trim().trim_start_matches('-'), value.trim()))
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: SysctlParams = parse_params("sysctl", params)?;
    // A leading `-` would make the key an option of `sysctl`.
    let key_ok = !params.name.is_empty()
        && !params.name.starts_with('-')
        && params
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    if !key_ok {
        return Err(invalid(format!("invalid key name {:?}", params.name)));
    }
    let value = match &params.value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::Bool(flag)) => u8::from(*flag).to_string(),
        None if params.state == Presence::Absent => String::new(),
        None => return Err(invalid("value is required with state: present")),
        Some(other) => {
            return Err(invalid(format!(
                "value must be a string or number, got {other}"
            )));
        }
    };
    if value.contains('\n') || (params.state == Presence::Present && value.trim().is_empty()) {
        return Err(invalid("value must be one non-empty line"));
    }
    if !params.sysctl_file.starts_with('/') {
        return Err(invalid("sysctl_file must be an absolute path"));
    }
    Ok(Box::new(Sysctl { params, value }))
}

impl Sysctl {
    fn edit(&self, before: &str) -> String {
        let name = &self.params.name;
        let mut lines: Vec<String> = Vec::new();
        let mut placed = false;
        for line in before.lines() {
            match setting(line) {
                Some((key, value)) if same_key(key, name) => {
                    let keep_as_is = self.params.state == Presence::Present
                        && !placed
                        && normalize(value) == normalize(&self.value);
                    if keep_as_is {
                        lines.push(line.to_string());
                    } else if self.params.state == Presence::Present && !placed {
                        lines.push(format!("{name}={}", self.value.trim()));
                    }
                    placed = true;
                }
                _ => lines.push(line.to_string()),
            }
        }
        if self.params.state == Presence::Present && !placed {
            lines.push(format!("{name}={}", self.value.trim()));
        }
        if lines == before.lines().collect::<Vec<_>>() {
            return before.to_string();
        }
        lines.iter().map(|line| format!("{line}\n")).collect()
    }
}

impl Module for Sysctl {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new()
            .set("file", self.params.sysctl_file.as_str())
            .snippet("[ -f \"$file\" ] && echo \"content=$(base64 -w0 < \"$file\")\"\n");
        if self.params.reload && self.params.state == Presence::Present {
            script = script.set("key", self.params.name.as_str()).snippet(
                "if v=$(sysctl -n -- \"$key\" 2>/dev/null); then \
                 printf 'runtime=%s\\n' \"$(printf '%s' \"$v\" | tr '\\t\\n' '  ')\"; \
                 else echo runtime_missing=1; fi\n",
            );
        }
        Some(script.snippet("true\n"))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let name = &self.params.name;
        if facts.contains_key("runtime_missing") {
            return Err(ModuleError::Failed(format!(
                "sysctl key {name} does not exist on this host"
            )));
        }
        let before = match facts.get("content") {
            Some(encoded) => {
                String::from_utf8_lossy(&decode_base64(encoded, "content")?).into_owned()
            }
            None => String::new(),
        };
        let after = self.edit(&before);
        let path = &self.params.sysctl_file;
        let mut steps = Vec::new();
        let mut diff = unified_diff(path, &before, &after).unwrap_or_default();
        let creates = !facts.contains_key("content") && self.params.state == Presence::Present;
        if after != before || creates {
            steps.push(Step::Upload {
                dest: path.clone(),
                contents: after.into_bytes(),
                mode: 0o644,
                owner: None,
            });
        }
        if let Some(runtime) = facts.get("runtime")
            && normalize(runtime) != normalize(&self.value)
        {
            let setting = format!("{name}={}", normalize(&self.value));
            steps.push(Step::run(Script::of(
                Cmd::new("sysctl").flag("-w").operand(setting),
            )));
            diff.push_str(&format!(
                "value: {} -> {}\n",
                normalize(runtime),
                normalize(&self.value)
            ));
        }
        if steps.is_empty() {
            return Ok(Plan::unchanged());
        }
        Ok(Plan::change(steps).with_diff(Some(diff)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
    use crate::modules::tests::NoFiles;
    use base64::Engine;
    use serde_json::json;

    fn sysctl(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    fn probe(content: Option<&str>, runtime: Option<&str>) -> Probe {
        let mut out = String::new();
        if let Some(content) = content {
            let encoded = base64::engine::general_purpose::STANDARD.encode(content);
            out.push_str(&format!("content={encoded}\n"));
        }
        if let Some(runtime) = runtime {
            out.push_str(&format!("runtime={runtime}\n"));
        }
        Probe::ok(&out)
    }

    #[test]
    fn writes_the_file_and_sets_the_running_value() {
        let module = sysctl(json!({"name": "net.core.somaxconn", "value": 1024}));
        assert_eq!(
            module.probe().unwrap(),
            "file=/etc/sysctl.d/99-fleet.conf\n\
             [ -f \"$file\" ] && echo \"content=$(base64 -w0 < \"$file\")\"\n\
             key=net.core.somaxconn\n\
             if v=$(sysctl -n -- \"$key\" 2>/dev/null); then \
             printf 'runtime=%s\\n' \"$(printf '%s' \"$v\" | tr '\\t\\n' '  ')\"; \
             else echo runtime_missing=1; fi\n\
             true\n"
        );
        let plan = module.plan(&probe(None, Some("4096"))).unwrap();
        assert_eq!(
            plan.steps[0],
            Step::Upload {
                dest: DEFAULT_FILE.into(),
                contents: b"net.core.somaxconn=1024\n".to_vec(),
                mode: 0o644,
                owner: None
            }
        );
        assert_eq!(
            scripts(&plan.steps[1..]),
            ["sysctl -w -- 'net.core.somaxconn=1024'\n"]
        );
        let diff = plan.diff.unwrap();
        assert!(diff.contains("+net.core.somaxconn=1024"), "{diff}");
        assert!(diff.ends_with("value: 4096 -> 1024\n"), "{diff}");
    }

    #[test]
    fn the_key_and_the_setting_reach_sysctl_after_end_of_options() {
        let module = sysctl(json!({"name": "kernel.domainname", "value": "$(id) x"}));
        let out = run(&argv_stubs(&["sysctl"]), &module.probe().unwrap(), b"");
        assert_eq!(
            out.stdout, "runtime=sysctl [-n] [--] [kernel.domainname]\n",
            "{out:?}"
        );
        let plan = module
            .plan(&probe(Some("kernel.domainname=$(id) x\n"), Some("none")))
            .unwrap();
        let out = run_step(&argv_stubs(&["sysctl"]), &plan.steps[0]);
        assert_eq!(out.stdout, "sysctl [-w] [--] [kernel.domainname=$(id) x]\n");
    }

    #[test]
    fn a_key_cannot_be_an_option() {
        for name in ["-p", "-a", "--system"] {
            let err = build(json!({"name": name, "value": 1}), &NoFiles).unwrap_err();
            assert!(err.to_string().contains("invalid key name"), "{err}");
        }
    }

    #[test]
    fn an_equal_setting_is_left_alone() {
        let module = sysctl(json!({"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}));
        let file = "# tuned\nnet/ipv4/tcp_rmem = 4096  87380 6291456\n";
        let plan = module
            .plan(&probe(Some(file), Some("4096 87380 6291456")))
            .unwrap();
        assert_eq!(plan, Plan::unchanged());
    }

    #[test]
    fn replaces_the_first_setting_and_drops_duplicates() {
        let module = sysctl(json!({"name": "vm.swappiness", "value": "10", "reload": false}));
        assert_eq!(
            module.probe().unwrap(),
            "file=/etc/sysctl.d/99-fleet.conf\n\
             [ -f \"$file\" ] && echo \"content=$(base64 -w0 < \"$file\")\"\n\
             true\n"
        );
        let plan = module
            .plan(&probe(
                Some("vm.swappiness=60\nfs.file-max=1\nvm.swappiness = 30\n"),
                None,
            ))
            .unwrap();
        assert_eq!(
            plan.steps,
            vec![Step::Upload {
                dest: DEFAULT_FILE.into(),
                contents: b"vm.swappiness=10\nfs.file-max=1\n".to_vec(),
                mode: 0o644,
                owner: None
            }]
        );
    }

    #[test]
    fn absent_removes_the_setting() {
        let module = sysctl(
            json!({"name": "vm.swappiness", "state": "absent", "sysctl_file": "/etc/sysctl.d/x.conf"}),
        );
        let plan = module
            .plan(&probe(Some("fs.file-max=1\nvm.swappiness=60\n"), None))
            .unwrap();
        assert!(plan.diff.unwrap().contains("-vm.swappiness=60"));
        assert!(
            !module
                .plan(&probe(Some("fs.file-max=1\n"), None))
                .unwrap()
                .changed
        );
        assert!(!module.plan(&probe(None, None)).unwrap().changed);
    }

    #[test]
    fn an_unknown_key_fails() {
        let module = sysctl(json!({"name": "net.nope", "value": 1}));
        let err = module.plan(&Probe::ok("runtime_missing=1\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sysctl key net.nope does not exist on this host"
        );
    }

    #[test]
    fn rejects_bad_params() {
        let err = build(
            json!({"name": "a.b", "value": 1, "reload_": true}),
            &NoFiles,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `reload_`"), "{err}");
        assert!(build(json!({"name": "a.b"}), &NoFiles).is_err());
        assert!(build(json!({"name": "a b", "value": 1}), &NoFiles).is_err());
        assert!(build(json!({"name": "a.b", "value": [1]}), &NoFiles).is_err());
        assert!(
            build(
                json!({"name": "a.b", "value": 1, "sysctl_file": "x.conf"}),
                &NoFiles
            )
            .is_err()
        );
    }
}
