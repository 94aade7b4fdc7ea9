//! `ufw`: firewall rules, default policies and the firewall's state through
//! `ufw`, like Ansible's `ufw`. Whether a rule is new is asked of ufw
//! itself: the probe runs `ufw --dry-run` and compares the rule tuples it
//! would write with the ones in `/etc/ufw/user*.rules`.

use serde::Deserialize;
use serde_json::Value;

use super::de;
use crate::text::fields;
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "state",
    "default",
    "direction",
    "rule",
    "port",
    "proto",
    "from_ip",
    "from_port",
    "to_ip",
    "name",
    "interface",
    "delete",
    "comment",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UfwParams {
    pub state: Option<UfwState>,
    pub default: Option<Policy>,
    pub direction: Option<Direction>,
    pub rule: Option<Policy>,
    /// Ansible's `to_port` (its alias `port`): `22`, `"80,443"`, `"6000:6010"`.
    pub port: Option<Value>,
    pub proto: Option<Proto>,
    pub from_ip: Option<String>,
    pub from_port: Option<Value>,
    pub to_ip: Option<String>,
    /// An application profile, e.g. `OpenSSH`.
    pub name: Option<String>,
    pub interface: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub delete: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UfwState {
    Enabled,
    Disabled,
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    Allow,
    Deny,
    Reject,
    Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Incoming,
    Out,
    Outgoing,
    Routed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Any,
    Tcp,
    Udp,
    Ipv6,
    Esp,
    Ah,
    Gre,
    Igmp,
}

impl Policy {
    fn word(self) -> &'static str {
        match self {
            Policy::Allow => "allow",
            Policy::Deny => "deny",
            Policy::Reject => "reject",
            Policy::Limit => "limit",
        }
    }
}

#[derive(Debug)]
pub struct Ufw {
    params: UfwParams,
    /// The rule's words after `ufw`, when the task has a rule.
    rule: Option<Vec<String>>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "ufw".into(),
        message: message.into(),
    }
}

fn port_text(name: &str, port: &Option<Value>) -> Result<Option<String>, ModuleError> {
    match port {
        None => Ok(None),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(Value::String(text))
            if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || ",:".contains(c)) =>
        {
            Ok(Some(text.clone()))
        }
        Some(other) => Err(invalid(format!(
            "{name} must be a port, list or range, got {other}"
        ))),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: UfwParams = parse_params("ufw", params)?;
    let port = port_text("port", &params.port)?;
    let from_port = port_text("from_port", &params.from_port)?;
    if params.state.is_none() && params.default.is_none() && params.rule.is_none() {
        return Err(invalid("one of state, default or rule is required"));
    }
    if params.state == Some(UfwState::Reset) && (params.default.is_some() || params.rule.is_some())
    {
        return Err(invalid(
            "state: reset cannot be combined with default or rule",
        ));
    }
    if params.default == Some(Policy::Limit) {
        return Err(invalid("default must be allow, deny or reject"));
    }
    if params.rule.is_none()
        && (port.is_some()
            || params.from_ip.is_some()
            || params.to_ip.is_some()
            || params.name.is_some())
    {
        return Err(invalid("port, from_ip, to_ip and name need a rule"));
    }
    if params.name.is_some() && (port.is_some() || params.proto.is_some()) {
        return Err(invalid(
            "name (an application profile) excludes port and proto",
        ));
    }
    let values = [
        ("from_ip", &params.from_ip),
        ("to_ip", &params.to_ip),
        ("name", &params.name),
        ("interface", &params.interface),
    ];
    for (what, value) in values {
        if value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.starts_with('-'))
        {
            return Err(invalid(format!("invalid {what} {value:?}")));
        }
    }
    let rule = params.rule.map(|policy| {
        let mut words: Vec<String> = Vec::new();
        if params.delete {
            words.push("delete".into());
        }
        words.push(policy.word().into());
        match params.direction {
            Some(Direction::In | Direction::Incoming) => words.push("in".into()),
            Some(Direction::Out | Direction::Outgoing) => words.push("out".into()),
            _ => {}
        }
        if let Some(interface) = &params.interface {
            words.extend(["on".into(), interface.clone()]);
        }
        words.extend([
            "from".into(),
            params.from_ip.as_deref().unwrap_or("any").into(),
        ]);
        if let Some(from_port) = &from_port {
            words.extend(["port".into(), from_port.clone()]);
        }
        words.extend(["to".into(), params.to_ip.as_deref().unwrap_or("any").into()]);
        if let Some(port) = &port {
            words.extend(["port".into(), port.clone()]);
        }
        if let Some(proto) = params.proto.filter(|p| *p != Proto::Any) {
            words.extend(["proto".into(), format!("{proto:?}").to_lowercase()]);
        }
        if let Some(name) = &params.name {
            words.extend(["app".into(), name.clone()]);
        }
        if let Some(comment) = &params.comment {
            words.extend(["comment".into(), comment.clone()]);
        }
        words
    });
    if params.direction == Some(Direction::Routed) && rule.is_some() {
        return Err(invalid("direction: routed applies to default only"));
    }
    Ok(Box::new(Ufw { params, rule }))
}

/// Whether `spec` (`22`, `22/tcp`, `22,80/tcp`, `20:30`) covers TCP `port`.
fn covers(spec: &str, port: u16) -> bool {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    proto == "tcp"
        && ports.split(',').any(|item| match item.split_once(':') {
            Some((low, high)) => {
                low.parse::<u16>().is_ok_and(|low| low <= port)
                    && high.parse::<u16>().is_ok_and(|high| port <= high)
            }
            None => item.parse::<u16>() == Ok(port),
        })
}

/// Whether one `ufw show added` line (`ufw allow 22/tcp`, `ufw limit
/// OpenSSH`, `ufw allow from 10.0.0.0/8 to any port 22 proto tcp`) lets
/// incoming TCP `port` through.
fn allows_ssh(line: &str, port: u16) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let allows = words.iter().any(|w| *w == "allow" || *w == "limit");
    if !allows || words.contains(&"out") || words.contains(&"route") || words.contains(&"delete") {
        return false;
    }
    let udp_only = words.windows(2).any(|w| w[0] == "proto" && w[1] != "tcp");
    let app = |name: &str| {
        let name = name.trim_matches('\'');
        port == 22 && (name == "OpenSSH" || name == "ssh" || name == "ssh/tcp")
    };
    let verbose = words.contains(&"from") || words.contains(&"to");
    if !verbose {
        return words.iter().skip(2).any(|w| covers(w, port) || app(w));
    }
    let after = |keyword: &str, start: usize| {
        words[start..]
            .windows(2)
            .find(|pair| pair[0] == keyword)
            .map(|pair| pair[1])
    };
    let to = words.iter().position(|w| *w == "to").unwrap_or(words.len());
    match (after("port", to), after("app", 0)) {
        (Some(spec), _) => !udp_only && covers(spec, port),
        (None, Some(name)) => app(name),
        (None, None) => false,
    }
}

/// Rule tuples per address family, from a `*filter` dump.
fn dry_run_tuples(lines: &[&str]) -> Vec<(bool, Vec<String>)> {
    let mut sections: Vec<(bool, Vec<String>)> = Vec::new();
    for line in lines {
        if *line == "*filter" {
            sections.push((false, Vec::new()));
        } else if let Some((v6, tuples)) = sections.last_mut() {
            if line.starts_with(":ufw6-") {
                *v6 = true;
            } else if line.starts_with("### tuple") {
                tuples.push(line.to_string());
            }
        }
    }
    sections
}

/// `ufw` and `words`: ufw reads its arguments as a sentence, and takes no
/// `--`.
fn ufw<'a>(words: impl IntoIterator<Item = &'a str>) -> Cmd {
    words.into_iter().fold(Cmd::new("ufw"), Cmd::arg)
}

fn run(cmd: Cmd) -> Step {
    Step::run(Script::of(cmd))
}

impl Ufw {
    fn default_step(
        &self,
        facts: &std::collections::BTreeMap<&str, &str>,
    ) -> Option<(Cmd, String)> {
        let policy = self.params.default?;
        let (key, direction) = match self.params.direction {
            Some(Direction::Out | Direction::Outgoing) => ("DEFAULT_OUTPUT_POLICY", "outgoing"),
            Some(Direction::Routed) => ("DEFAULT_FORWARD_POLICY", "routed"),
            _ => ("DEFAULT_INPUT_POLICY", "incoming"),
        };
        let current = match facts.get(key).map(|v| v.trim_matches('"')) {
            Some("ACCEPT") => "allow",
            Some("REJECT") => "reject",
            Some("DROP") => "deny",
            _ => "unknown",
        };
        (current != policy.word()).then(|| {
            (
                ufw(["default", policy.word(), direction]),
                format!("default {direction}: {current} -> {}", policy.word()),
            )
        })
    }

    /// Refuses to enable a firewall that would drop this SSH connection.
    fn check_ssh_allowed(
        &self,
        facts: &std::collections::BTreeMap<&str, &str>,
        added: &[&str],
    ) -> Result<(), ModuleError> {
        let port = facts
            .get("ssh_port")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or(22);
        let incoming_default = match (self.params.default, self.params.direction) {
            (Some(policy), None | Some(Direction::In | Direction::Incoming)) => policy.word(),
            _ => match facts
                .get("DEFAULT_INPUT_POLICY")
                .map(|v| v.trim_matches('"'))
            {
                Some("ACCEPT") => "allow",
                _ => "deny",
            },
        };
        let own_rule = self.rule.as_ref().is_some_and(|rule| {
            !self.params.delete && allows_ssh(&format!("ufw {}", rule.join(" ")), port)
        });
        if incoming_default == "allow"
            || own_rule
            || added.iter().any(|line| allows_ssh(line, port))
        {
            return Ok(());
        }
        Err(ModuleError::Failed(format!(
            "refusing to enable ufw: no rule allows incoming SSH (port {port}/tcp), so enabling \
             it would cut this connection; add a rule first, e.g. `ufw: {{rule: allow, port: \"{port}\", proto: tcp}}`"
        )))
    }
}

impl Module for Ufw {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new().snippet(
            "command -v ufw >/dev/null || { echo installed=0; exit 0; }\n\
             echo \"status=$(ufw status | head -n 1)\"; grep '^DEFAULT_' /etc/default/ufw\n",
        );
        if self.params.state == Some(UfwState::Enabled) {
            script = script.snippet(
                "echo \"ssh_port=${SSH_CONNECTION##* }\"; ufw show added | sed -n 's/^ufw /added: ufw /p'\n",
            );
        }
        if let Some(rule) = &self.rule {
            // The rule's words are the positional parameters: `"$@"`.
            script = script.cmd(Cmd::new("set").operands(rule)).snippet(
                "for f in /etc/ufw/user.rules /etc/ufw/user6.rules; do \
                 grep -h '^### tuple' \"$f\" 2>/dev/null | sed \"s|^|current $f: |\"; done\n\
                 if out=$(ufw --dry-run \"$@\" 2>&1); then \
                 printf '%s\\n' \"$out\" | grep -E '^(\\*filter|:ufw6-user-input|### tuple)' | sed 's/^/dry: /'; \
                 else echo \"rule_error=$(printf '%s' \"$out\" | tr '\\n' ' ')\"; fi\n",
            );
        }
        Some(script.snippet("true\n"))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        if facts.get("installed") == Some(&"0") {
            return Err(ModuleError::Failed(
                "ufw is not installed on this host".into(),
            ));
        }
        if let Some(error) = facts.get("rule_error") {
            return Err(ModuleError::Failed(format!(
                "ufw rejects the rule: {}",
                error.trim()
            )));
        }
        let lines: Vec<&str> = probe.stdout.lines().collect();
        let prefixed = |prefix: &str| -> Vec<&str> {
            lines
                .iter()
                .filter_map(|line| line.strip_prefix(prefix))
                .collect()
        };
        let mut steps = Vec::new();
        let mut diff = Vec::new();
        if self.params.state == Some(UfwState::Reset) {
            steps.push(run(ufw(["--force", "reset"])));
            diff.push("reset".to_string());
        }
        if let Some(rule) = &self.rule {
            let current_v4 = prefixed("current /etc/ufw/user.rules: ");
            let current_v6 = prefixed("current /etc/ufw/user6.rules: ");
            let changes = dry_run_tuples(&prefixed("dry: "))
                .iter()
                .any(|(v6, tuples)| {
                    let current = if *v6 { &current_v6 } else { &current_v4 };
                    tuples != current
                });
            if changes {
                let cmd = ufw(rule.iter().map(String::as_str));
                diff.push(format!("rule: {}", cmd.render()));
                steps.push(run(cmd));
            }
        }
        if let Some((command, line)) = self.default_step(&facts) {
            steps.push(run(command));
            diff.push(line);
        }
        let active = facts
            .get("status")
            .is_some_and(|s| s.trim() == "Status: active");
        match self.params.state {
            Some(UfwState::Enabled) if !active => {
                self.check_ssh_allowed(&facts, &prefixed("added: "))?;
                steps.push(run(ufw(["--force", "enable"])));
                diff.push("state: inactive -> active".into());
            }
            Some(UfwState::Disabled) if active => {
                steps.push(run(ufw(["disable"])));
                diff.push("state: active -> inactive".into());
            }
            _ => {}
        }
        if steps.is_empty() {
            return Ok(Plan::unchanged());
        }
        Ok(Plan::change(steps).with_diff(Some(diff.join("\n") + "\n")))
    }
}

#[cfg(test)]
#[path = "ufw_tests.rs"]
mod tests;
