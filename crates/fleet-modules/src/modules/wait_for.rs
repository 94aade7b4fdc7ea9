//! `wait_for`: waits until a port opens or closes, or a path appears or
//! goes, like Ansible's `wait_for`. The whole wait runs in the probe, so it
//! changes nothing and also works in check mode.

use serde::Deserialize;
use serde_json::Value;

use crate::shell::quote;
use crate::text::fields;
use crate::{Controller, Module, ModuleError, Plan, Probe, parse_params};

pub const PARAMS: &[&str] = &[
    "host",
    "port",
    "path",
    "search_regex",
    "state",
    "timeout",
    "delay",
    "sleep",
    "msg",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitForParams {
    #[serde(default = "default_host")]
    pub host: String,
    pub port: Option<u16>,
    pub path: Option<String>,
    /// With `path`: wait until the file contains a match (extended regex).
    pub search_regex: Option<String>,
    #[serde(default)]
    pub state: WaitState,
    /// Seconds before failing.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Seconds to wait before the first check.
    #[serde(default)]
    pub delay: u64,
    /// Seconds between checks.
    #[serde(default = "default_sleep")]
    pub sleep: u64,
    /// The failure message instead of the default one.
    pub msg: Option<String>,
}

fn default_host() -> String {
    "127.0.0.1".into()
}

fn default_timeout() -> u64 {
    300
}

fn default_sleep() -> u64 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitState {
    #[default]
    Started,
    Stopped,
    Present,
    Absent,
}

impl WaitState {
    /// `started`/`present` wait for something to be there.
    fn wants_presence(self) -> bool {
        matches!(self, WaitState::Started | WaitState::Present)
    }
}

#[derive(Debug)]
pub struct WaitFor {
    params: WaitForParams,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "wait_for".into(),
        message: message.into(),
    }
}

const LOCAL_HOSTS: &[&str] = &["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"];

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: WaitForParams = parse_params("wait_for", params)?;
    if params.port.is_some() && params.path.is_some() {
        return Err(invalid("port and path are mutually exclusive"));
    }
    if params.search_regex.is_some() && (params.path.is_none() || !params.state.wants_presence()) {
        return Err(invalid("search_regex needs path and state: present"));
    }
    let host_ok = !params.host.is_empty()
        && params
            .host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:-_".contains(c));
    if !host_ok {
        return Err(invalid(format!("invalid host {:?}", params.host)));
    }
    Ok(Box::new(WaitFor { params }))
}

impl WaitFor {
    /// Shell that defines `check`, true when the awaited condition holds.
    fn check(&self) -> String {
        let p = &self.params;
        let negate = if p.state.wants_presence() { "" } else { "! " };
        if let Some(port) = p.port {
            let connect = p.timeout.clamp(1, 5);
            let mut script = format!(
                "if command -v bash >/dev/null 2>&1; then \
                 check() {{ {negate}timeout {connect} bash -c ': < /dev/tcp/$0/$1' {} {port} 2>/dev/null; }}; ",
                quote(&p.host)
            );
            if LOCAL_HOSTS.contains(&p.host.as_str()) {
                script.push_str(&format!(
                    "else check() {{ {negate}ss -Hltn 'sport = :{port}' | grep -q .; }}; "
                ));
            } else {
                script.push_str("else echo result=nobash; exit 0; ");
            }
            script.push_str("fi; ");
            return script;
        }
        match (&p.path, &p.search_regex) {
            (Some(path), Some(regex)) => format!(
                "check() {{ grep -Eq -- {} {} 2>/dev/null; }}; ",
                quote(regex),
                quote(path)
            ),
            (Some(path), None) => format!("check() {{ {negate}[ -e {} ]; }}; ", quote(path)),
            (None, _) => "check() { false; }; ".into(),
        }
    }

    fn what(&self) -> String {
        let p = &self.params;
        match (&p.port, &p.path) {
            (Some(port), _) => format!("{}:{port}", p.host),
            (None, Some(path)) => path.clone(),
            (None, None) => "the timeout".into(),
        }
    }
}

impl Module for WaitFor {
    fn probe(&self) -> Option<crate::Script> {
        let p = &self.params;
        let delay = if p.delay > 0 {
            format!("sleep {}; ", p.delay)
        } else {
            String::new()
        };
        let sleeping_only = p.port.is_none() && p.path.is_none();
        let done = if sleeping_only { "ok" } else { "timeout" };
        Some(
            format!(
                "{}{delay}start=$(date +%s); end=$((start + {timeout})); \
             while :; do if check; then echo result=ok; break; fi; \
             if [ \"$(date +%s)\" -ge \"$end\" ]; then echo result={done}; break; fi; \
             sleep {sleep}; done; echo \"elapsed=$(( $(date +%s) - start ))\"",
                self.check(),
                timeout = p.timeout,
                sleep = p.sleep.max(1),
            )
            .into(),
        )
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let elapsed = facts
            .get("elapsed")
            .and_then(|e| e.trim().parse::<u64>().ok());
        match facts.get("result").copied() {
            Some("ok") => {
                let mut plan = Plan::unchanged();
                if let Some(elapsed) = elapsed {
                    plan.data.insert("elapsed".into(), elapsed.into());
                }
                Ok(plan)
            }
            Some("timeout") => {
                let state = format!("{:?}", self.params.state).to_lowercase();
                Err(ModuleError::Failed(self.params.msg.clone().unwrap_or_else(
                    || {
                        format!(
                            "Timeout when waiting for {} to be {state} ({}s)",
                            self.what(),
                            self.params.timeout
                        )
                    },
                )))
            }
            Some("nobash") => Err(ModuleError::Failed(format!(
                "waiting for {} needs bash on the host (its /dev/tcp)",
                self.what()
            ))),
            _ => Err(ModuleError::Probe(format!(
                "{}{}",
                probe.stdout.trim(),
                probe.stderr.trim()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn wait(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    #[test]
    fn waits_for_a_port_with_bash_or_ss() {
        let script = wait(json!({"port": 8000, "timeout": 30, "delay": 2}))
            .probe()
            .unwrap();
        assert!(
            script.starts_with(
                "if command -v bash >/dev/null 2>&1; then check() { timeout 5 bash -c ': < /dev/tcp/$0/$1' 127.0.0.1 8000 2>/dev/null; }; \
                 else check() { ss -Hltn 'sport = :8000' | grep -q .; }; fi; sleep 2; start=$(date +%s); end=$((start + 30));"
            ),
            "{script}"
        );
        let remote = wait(json!({"host": "db.internal", "port": 5432, "state": "stopped"}))
            .probe()
            .unwrap();
        assert!(remote.contains("check() { ! timeout 5 bash"), "{remote}");
        assert!(
            remote.contains("else echo result=nobash; exit 0;"),
            "{remote}"
        );
    }

    #[test]
    fn waits_for_a_path_or_its_content() {
        let script = wait(json!({"path": "/run/app.pid", "state": "absent"}))
            .probe()
            .unwrap();
        assert!(
            script.starts_with("check() { ! [ -e /run/app.pid ]; };"),
            "{script}"
        );
        let script = wait(json!({"path": "/var/log/app.log", "search_regex": "ready|started"}))
            .probe()
            .unwrap();
        assert!(
            script.starts_with("check() { grep -Eq -- 'ready|started' /var/log/app.log"),
            "{script}"
        );
    }

    #[test]
    fn success_is_ok_with_the_elapsed_time() {
        let plan = wait(json!({"port": 22}))
            .plan(&Probe::ok("result=ok\nelapsed=3\n"))
            .unwrap();
        assert!(!plan.changed && plan.steps.is_empty());
        assert_eq!(plan.data["elapsed"], 3);
        let sleep_only = wait(json!({"timeout": 2}));
        assert!(
            sleep_only
                .probe()
                .unwrap()
                .contains("echo result=ok; break")
        );
    }

    #[test]
    fn a_timeout_fails_with_a_clear_message() {
        let module = wait(json!({"port": 9, "timeout": 2}));
        let err = module
            .plan(&Probe::ok("result=timeout\nelapsed=2\n"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Timeout when waiting for 127.0.0.1:9 to be started (2s)"
        );
        let custom = wait(json!({"path": "/x", "msg": "no x"}));
        assert_eq!(
            custom
                .plan(&Probe::ok("result=timeout\n"))
                .unwrap_err()
                .to_string(),
            "no x"
        );
    }

    #[test]
    fn rejects_bad_params() {
        let err = build(json!({"port": 22, "timout": 5}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("unknown field `timout`"), "{err}");
        assert!(build(json!({"port": 22, "path": "/x"}), &NoFiles).is_err());
        assert!(build(json!({"port": 22, "search_regex": "x"}), &NoFiles).is_err());
        assert!(build(json!({"port": 22, "host": "a;b"}), &NoFiles).is_err());
        assert!(build(json!({"port": 70000}), &NoFiles).is_err());
        assert!(build(json!({"port": 22, "state": "drained"}), &NoFiles).is_err());
    }
}
