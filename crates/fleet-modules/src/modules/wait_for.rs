//! `wait_for`: waits until a port opens or closes, or a path appears or
//! goes, like Ansible's `wait_for`. The whole wait runs in the probe, so it
//! changes nothing and also works in check mode.

use serde::Deserialize;
use serde_json::Value;

use super::de;
use crate::text::fields;
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

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
    #[serde(default, deserialize_with = "de::optional_whole_number")]
    pub port: Option<u16>,
    pub path: Option<String>,
    /// With `path`: wait until the file contains a match (extended regex).
    pub search_regex: Option<String>,
    #[serde(default)]
    pub state: WaitState,
    /// Seconds before failing.
    #[serde(default = "default_timeout", deserialize_with = "de::whole_number")]
    pub timeout: u64,
    /// Seconds to wait before the first check.
    #[serde(default, deserialize_with = "de::whole_number")]
    pub delay: u64,
    /// Seconds between checks.
    #[serde(default = "default_sleep", deserialize_with = "de::whole_number")]
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

/// `check`, true while the port accepts connections: a real TCP connect
/// with bash's `/dev/tcp`, else (for a local port) a listening socket in
/// `ss`, else `result=nobash`.
const PORT_OPEN_LOCAL: &str = "if command -v bash >/dev/null 2>&1; then \
     check() { timeout \"$connect\" bash -c ': < /dev/tcp/$0/$1' \"$host\" \"$port\" 2>/dev/null; }\n\
     else check() { ss -Hltn \"sport = :$port\" | grep -q .; }; fi\n";
const PORT_CLOSED_LOCAL: &str = "if command -v bash >/dev/null 2>&1; then \
     check() { ! timeout \"$connect\" bash -c ': < /dev/tcp/$0/$1' \"$host\" \"$port\" 2>/dev/null; }\n\
     else check() { ! ss -Hltn \"sport = :$port\" | grep -q .; }; fi\n";
const PORT_OPEN: &str = "if command -v bash >/dev/null 2>&1; then \
     check() { timeout \"$connect\" bash -c ': < /dev/tcp/$0/$1' \"$host\" \"$port\" 2>/dev/null; }\n\
     else echo result=nobash; exit 0; fi\n";
const PORT_CLOSED: &str = "if command -v bash >/dev/null 2>&1; then \
     check() { ! timeout \"$connect\" bash -c ': < /dev/tcp/$0/$1' \"$host\" \"$port\" 2>/dev/null; }\n\
     else echo result=nobash; exit 0; fi\n";

impl WaitFor {
    /// The script that defines `check`, true when the awaited condition
    /// holds.
    fn check(&self) -> Script {
        let p = &self.params;
        let presence = p.state.wants_presence();
        if let Some(port) = p.port {
            let local = LOCAL_HOSTS.contains(&p.host.as_str());
            let check = match (presence, local) {
                (true, true) => PORT_OPEN_LOCAL,
                (false, true) => PORT_CLOSED_LOCAL,
                (true, false) => PORT_OPEN,
                (false, false) => PORT_CLOSED,
            };
            return Script::new()
                .set("host", p.host.as_str())
                .set("port", port.to_string())
                .set("connect", p.timeout.clamp(1, 5).to_string())
                .snippet(check);
        }
        match (&p.path, &p.search_regex) {
            (Some(path), Some(regex)) => Script::new()
                .set("path", path.as_str())
                .set("regex", regex.as_str())
                .snippet("check() { grep -Eq -- \"$regex\" \"$path\" 2>/dev/null; }\n"),
            (Some(path), None) => Script::new()
                .set("path", path.as_str())
                .snippet(if presence {
                    "check() { [ -e \"$path\" ]; }\n"
                } else {
                    "check() { ! [ -e \"$path\" ]; }\n"
                }),
            (None, _) => Script::new().snippet("check() { false; }\n"),
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
    fn probe(&self) -> Option<Script> {
        let p = &self.params;
        let mut script = self.check();
        if p.delay > 0 {
            script = script.cmd(Cmd::new("sleep").arg(p.delay.to_string()));
        }
        let sleeping_only = p.port.is_none() && p.path.is_none();
        Some(
            script
                .set("limit", p.timeout.to_string())
                .set("interval", p.sleep.max(1).to_string())
                .set("at_end", if sleeping_only { "ok" } else { "timeout" })
                .snippet(
                    "start=$(date +%s); end=$((start + $limit))\n\
                     while :; do if check; then echo result=ok; break; fi\n\
                     if [ \"$(date +%s)\" -ge \"$end\" ]; then echo \"result=$at_end\"; break; fi\n\
                     sleep \"$interval\"; done\n\
                     echo \"elapsed=$(( $(date +%s) - start ))\"\n",
                ),
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
    use crate::modules::command::stub_sh::run;
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
        assert_eq!(
            script.as_str(),
            format!(
                "host=127.0.0.1\nport=8000\nconnect=5\n{PORT_OPEN_LOCAL}sleep 2\n\
                 limit=30\ninterval=1\nat_end=timeout\n{LOOP}"
            )
        );
        assert_eq!(
            PORT_OPEN_LOCAL,
            "if command -v bash >/dev/null 2>&1; then \
             check() { timeout \"$connect\" bash -c ': < /dev/tcp/$0/$1' \"$host\" \"$port\" 2>/dev/null; }\n\
             else check() { ss -Hltn \"sport = :$port\" | grep -q .; }; fi\n"
        );
        let remote = wait(json!({"host": "db.internal", "port": 5432, "state": "stopped"}))
            .probe()
            .unwrap();
        assert_eq!(
            remote.as_str(),
            format!(
                "host=db.internal\nport=5432\nconnect=5\n{PORT_CLOSED}\
                 limit=300\ninterval=1\nat_end=timeout\n{LOOP}"
            )
        );
        assert_eq!(
            PORT_CLOSED,
            "if command -v bash >/dev/null 2>&1; then \
             check() { ! timeout \"$connect\" bash -c ': < /dev/tcp/$0/$1' \"$host\" \"$port\" 2>/dev/null; }\n\
             else echo result=nobash; exit 0; fi\n"
        );
    }

    #[test]
    fn waits_for_a_path_or_its_content() {
        let script = wait(json!({"path": "/run/app.pid", "state": "absent"}))
            .probe()
            .unwrap();
        assert!(
            script.starts_with("path=/run/app.pid\ncheck() { ! [ -e \"$path\" ]; }\nlimit=300\n"),
            "{script}"
        );
        let script = wait(json!({"path": "/var/log/app.log", "search_regex": "ready|started"}))
            .probe()
            .unwrap();
        assert!(
            script.starts_with(
                "path=/var/log/app.log\nregex='ready|started'\n\
                 check() { grep -Eq -- \"$regex\" \"$path\" 2>/dev/null; }\nlimit=300\n"
            ),
            "{script}"
        );
    }

    /// The wait loop after `check` and the bound values.
    const LOOP: &str = "start=$(date +%s); end=$((start + $limit))\n\
                        while :; do if check; then echo result=ok; break; fi\n\
                        if [ \"$(date +%s)\" -ge \"$end\" ]; then echo \"result=$at_end\"; break; fi\n\
                        sleep \"$interval\"; done\n\
                        echo \"elapsed=$(( $(date +%s) - start ))\"\n";

    #[test]
    fn paths_and_patterns_are_data_in_a_real_shell() {
        let result = |params: Value| {
            let out = run("", &wait(params).probe().unwrap(), b"");
            out.stdout.lines().next().unwrap_or_default().to_string()
        };
        assert_eq!(result(json!({"path": "/", "timeout": 0})), "result=ok");
        let hostile = "/nonexistent/$(echo /)";
        assert_eq!(
            result(json!({"path": hostile, "state": "absent"})),
            "result=ok"
        );
        assert_eq!(
            result(json!({"path": hostile, "timeout": 0})),
            "result=timeout"
        );
        assert_eq!(
            result(json!({"path": "/etc/passwd", "search_regex": "^root:", "timeout": 0})),
            "result=ok"
        );
        let log = std::env::temp_dir().join(format!("fleet-wait-{}.log", fleet_shell::token()));
        std::fs::write(&log, "-x ready\n").unwrap();
        let log_path = log.to_str().unwrap();
        assert_eq!(
            result(json!({"path": log_path, "search_regex": "-x ready", "timeout": 0})),
            "result=ok"
        );
        assert_eq!(
            result(json!({"path": log_path, "search_regex": "-x started", "timeout": 0})),
            "result=timeout"
        );
        std::fs::remove_file(&log).unwrap();
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
