//! `service_facts`: the host's services as Ansible's `service_facts`
//! reports them on Debian: the SysV scripts `service --status-all` lists
//! (source `sysv`), then systemd's service units from `systemctl
//! list-units` and `list-unit-files` (source `systemd`), with Ansible's
//! rules for `state` and `status`, all read in one round trip.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::set_fact::FACTS_KEY;
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

pub const PARAMS: &[&str] = &[];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFactsParams {}

#[derive(Debug)]
pub struct ServiceFacts;

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let _: ServiceFactsParams = parse_params("service_facts", params)?;
    Ok(Box::new(ServiceFacts))
}

/// Section markers, then what each tool printed; `show NAME STATE` for a
/// unit file that `list-units` did not list (`show NAME` when `systemctl
/// show` failed, as it does for a template).
const PROBE: &str = r#"export LC_ALL=C LANG=C
if command -v service >/dev/null 2>&1 && ! command -v chkconfig >/dev/null 2>&1 && ! command -v rc-status >/dev/null 2>&1; then
echo '==sysv'; service --status-all 2>/dev/null
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
units=$(systemctl list-units --no-pager --type service --all --plain)
echo '==units'; printf '%s\n' "$units"
known=" $(printf '%s\n' "$units" | while read -r name rest; do printf '%s ' "$name"; done)"
echo '==files'
systemctl list-unit-files --no-pager --type service --all | while read -r name status rest; do
printf '%s %s %s\n' "$name" "$status" "$rest"
case $name in *.service) ;; *) continue;; esac
case $known in *" $name "*) continue;; esac
if s=$(systemctl show "$name" --property=ActiveState 2>/dev/null) && [ -n "$s" ]; then
printf '==show %s %s\n' "$name" "${s#ActiveState=}"
else printf '==show %s\n' "$name"; fi
done
fi
"#;

const BAD_STATES: &[&str] = &["not-found", "masked", "failed"];

fn entry(name: &str, state: &str, status: Option<&str>, source: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("name".into(), json!(name));
    map.insert("state".into(), json!(state));
    if let Some(status) = status {
        map.insert("status".into(), json!(status));
    }
    map.insert("source".into(), json!(source));
    map
}

/// The services map from the probe's output.
fn services(stdout: &str) -> Map<String, Value> {
    let mut section = "";
    let mut found: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    let mut files: Vec<(String, String)> = Vec::new();
    let sysv = regex::Regex::new(r"^\s*\[ (\+|-) \]\s+(.+)$").expect("regex");
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("==show ") {
            let (name, state) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            shown.insert(name.to_string(), state.to_string());
            continue;
        }
        if let Some(name) = line.strip_prefix("==") {
            section = match name {
                "sysv" => "sysv",
                "units" => "units",
                _ => "files",
            };
            continue;
        }
        match section {
            "sysv" => {
                if let Some(m) = sysv.captures(line) {
                    let state = if &m[1] == "+" { "running" } else { "stopped" };
                    found.insert(m[2].to_string(), entry(&m[2], state, None, "sysv"));
                }
            }
            "units" if line.contains(".service") => {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() < 4 {
                    continue;
                }
                let described = &fields[..fields.len() - 1];
                let status = BAD_STATES
                    .iter()
                    .find(|bad| described.contains(bad))
                    .copied()
                    .unwrap_or(fields[2]);
                let state = if fields[3] == "running" {
                    "running"
                } else {
                    "stopped"
                };
                found.insert(
                    fields[0].to_string(),
                    entry(fields[0], state, Some(status), "systemd"),
                );
            }
            "files" if line.contains(".service") => {
                let mut words = line.split_whitespace();
                if let (Some(name), Some(status)) = (words.next(), words.next()) {
                    files.push((name.to_string(), status.to_string()));
                }
            }
            _ => {}
        }
    }
    for (name, status) in files {
        match found.get_mut(&name) {
            None => {
                let state = shown.get(&name).map_or("unknown", String::as_str);
                let service = entry(&name, state, Some(&status), "systemd");
                found.insert(name, service);
            }
            Some(service) => {
                let bad = service
                    .get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|current| BAD_STATES.contains(&current));
                if !bad {
                    service.insert("status".into(), json!(status));
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(name, service)| (name, Value::Object(service)))
        .collect()
}

impl Module for ServiceFacts {
    fn probe(&self) -> Option<Script> {
        Some(Script::new().snippet(PROBE))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let services = services(&probe.stdout);
        let mut plan = Plan::unchanged();
        if services.is_empty() {
            plan.msg = Some(
                "Failed to find any services. This can be due to privileges or some other \
                 configuration issue."
                    .into(),
            );
        }
        plan.data.insert(
            FACTS_KEY.into(),
            json!({"services": Value::Object(services)}),
        );
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;

    #[test]
    fn services_are_read_as_ansibles_systemd_and_sysv_strategies_read_them() {
        let module = build(json!({}), &NoFiles).unwrap();
        assert!(build(json!({"x": 1}), &NoFiles).is_err());
        let out = "==sysv\n [ + ]  ssh\n [ - ]  hwclock.sh\n\
            ==units\nUNIT LOAD ACTIVE SUB DESCRIPTION\n\
            ssh.service loaded active running OpenBSD Secure Shell server\n\
            auditd.service not-found inactive dead auditd.service\n\
            apt-daily.service loaded inactive dead Daily apt download activities\n\
            gone.service loaded failed failed A failed unit\n\
            ==files\nUNIT FILE STATE PRESET\n\
            ssh.service enabled enabled\napt-daily.service static -\n\
            gone.service enabled enabled\nautovt@.service alias -\n==show autovt@.service\n\
            rsync.service disabled enabled\n==show rsync.service inactive\n";
        let plan = module.plan(&Probe::ok(out)).unwrap();
        let services = &plan.data[FACTS_KEY]["services"];
        assert_eq!(
            services["ssh"],
            json!({"name": "ssh", "state": "running", "source": "sysv"})
        );
        assert_eq!(services["hwclock.sh"]["state"], "stopped");
        assert_eq!(
            services["ssh.service"],
            json!({"name": "ssh.service", "state": "running", "status": "enabled", "source": "systemd"})
        );
        assert_eq!(services["auditd.service"]["status"], "not-found");
        assert_eq!(services["apt-daily.service"]["status"], "static");
        assert_eq!(
            services["gone.service"]["status"], "failed",
            "a bad status stays"
        );
        assert_eq!(services["autovt@.service"]["state"], "unknown");
        assert_eq!(services["rsync.service"]["state"], "inactive");
        assert_eq!(services["rsync.service"]["status"], "disabled");
        assert_eq!(services.as_object().unwrap().len(), 8);
    }
}
