//! `systemd`: starts, stops, restarts, reloads, enables and masks units,
//! and reloads systemd's configuration, like Ansible's `systemd`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::de;
use crate::text::fields;
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "name",
    "state",
    "enabled",
    "daemon_reload",
    "masked",
    "service",
    "unit",
    "daemon-reload",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemdParams {
    /// A unit name; `.service` is implied, as with `systemctl`. Ansible's
    /// aliases `service` and `unit` name it too.
    #[serde(default, alias = "service", alias = "unit")]
    pub name: Option<String>,
    pub state: Option<UnitState>,
    #[serde(default, deserialize_with = "optional_boolean")]
    pub enabled: Option<bool>,
    #[serde(default, alias = "daemon-reload", deserialize_with = "de::boolean")]
    pub daemon_reload: bool,
    #[serde(default, deserialize_with = "optional_boolean")]
    pub masked: Option<bool>,
}

/// An optional boolean in any spelling [`de::boolean`] accepts.
fn optional_boolean<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value) => de::boolean(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitState {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

#[derive(Debug)]
pub struct Systemd {
    params: SystemdParams,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "systemd".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: SystemdParams = parse_params("systemd", params)?;
    let acts_on_unit =
        params.state.is_some() || params.enabled.is_some() || params.masked.is_some();
    match &params.name {
        None if acts_on_unit => {
            return Err(invalid("name is required with state, enabled or masked"));
        }
        None if !params.daemon_reload => {
            return Err(invalid("name or daemon_reload is required"));
        }
        Some(name) if name.is_empty() || name.starts_with('-') || name.contains(['/', '\n']) => {
            return Err(invalid(format!("invalid unit name {name:?}")));
        }
        _ => {}
    }
    if params.masked == Some(true) && params.enabled == Some(true) {
        return Err(invalid("a masked unit cannot be enabled"));
    }
    Ok(Box::new(Systemd { params }))
}

/// `UnitFileState` values that mean the unit starts at boot.
const ENABLED: &[&str] = &["enabled", "enabled-runtime", "alias"];
/// Values where `enable`/`disable` do not apply.
const FIXED: &[&str] = &["static", "indirect", "generated", "transient"];
const RUNNING: &[&str] = &["active", "activating", "reloading"];

impl Module for Systemd {
    fn probe(&self) -> Option<Script> {
        self.params.name.as_ref().map(|name| {
            Script::of(
                Cmd::new("systemctl")
                    .arg("show")
                    .opt("-p", "LoadState,ActiveState,UnitFileState,NeedDaemonReload")
                    .operand(name),
            )
        })
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let fact = |key: &str| facts.get(key).map_or("", |v| v.trim());
        // A daemon-reload runs first and, as in Ansible, is no change.
        let mut upkeep = Vec::new();
        let needs_reload = self.params.name.is_none() || fact("NeedDaemonReload") == "yes";
        if self.params.daemon_reload && needs_reload {
            upkeep.push(Step::run(Script::of(
                Cmd::new("systemctl").arg("daemon-reload"),
            )));
        }
        let Some(name) = &self.params.name else {
            return Ok(Plan::upkeep(upkeep));
        };
        let mut steps = Vec::new();
        let mut diff = Vec::new();
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let file_state = fact("UnitFileState");
        let masked = file_state.starts_with("masked") || fact("LoadState") == "masked";
        let not_found = fact("LoadState") == "not-found";
        if not_found && self.params.masked != Some(true) && !self.acts_only_on_reload() {
            return Err(ModuleError::Failed(format!(
                "could not find the requested unit {name}"
            )));
        }
        let mut run = |command: &'static str, line: String| {
            let systemctl = Cmd::new("systemctl").arg(command).operand(name);
            steps.push(Step::run(Script::of(systemctl)));
            diff.push(line);
        };
        match self.params.masked {
            Some(true) if !masked => run("mask", format!("masked: {file_state} -> masked")),
            Some(false) if masked => run("unmask", "masked: masked -> unmasked".into()),
            _ => {}
        }
        let after_unmask = if self.params.masked == Some(false) && masked {
            "disabled"
        } else {
            file_state
        };
        match self.params.enabled {
            Some(true) if !ENABLED.contains(&after_unmask) && !FIXED.contains(&after_unmask) => {
                run("enable", format!("enabled: {after_unmask} -> enabled"));
            }
            Some(false) if ENABLED.contains(&after_unmask) => {
                run("disable", format!("enabled: {after_unmask} -> disabled"));
            }
            _ => {}
        }
        let active = fact("ActiveState");
        let running = RUNNING.contains(&active);
        match self.params.state {
            Some(UnitState::Started) if !running => {
                run("start", format!("state: {active} -> active"));
            }
            Some(UnitState::Stopped) if running => {
                run("stop", format!("state: {active} -> inactive"));
            }
            Some(UnitState::Restarted) => run("restart", "restart".into()),
            Some(UnitState::Reloaded) if running => run("reload", "reload".into()),
            Some(UnitState::Reloaded) => run("start", format!("state: {active} -> active")),
            _ => {}
        }
        let mut plan = if steps.is_empty() {
            Plan::upkeep(upkeep)
        } else {
            upkeep.extend(steps);
            Plan::change(upkeep).with_diff(Some(diff.join("\n") + "\n"))
        };
        plan.data = self.returned(name);
        Ok(plan)
    }
}

impl Systemd {
    /// What Ansible's result holds besides `changed`: the unit, and the
    /// `state`, `enabled` and `masked` asked for.
    fn returned(&self, name: &str) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("name".into(), Value::String(name.to_string()));
        let state = self.params.state.map(|state| match state {
            UnitState::Started => "started",
            UnitState::Stopped => "stopped",
            UnitState::Restarted => "restarted",
            UnitState::Reloaded => "reloaded",
        });
        data.insert(
            "state".into(),
            state.map_or(Value::Null, |state| Value::String(state.into())),
        );
        if let Some(enabled) = self.params.enabled {
            data.insert("enabled".into(), Value::Bool(enabled));
        }
        if let Some(masked) = self.params.masked {
            data.insert("masked".into(), Value::Bool(masked));
        }
        data
    }

    fn acts_only_on_reload(&self) -> bool {
        self.params.state.is_none() && self.params.enabled.is_none() && self.params.masked.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn unit(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    fn show(active: &str, file: &str) -> Probe {
        Probe::ok(&format!(
            "LoadState=loaded\nActiveState={active}\nUnitFileState={file}\nNeedDaemonReload=no\n"
        ))
    }

    #[test]
    fn probes_systemctl_show() {
        assert_eq!(
            unit(json!({"name": "app-api", "state": "started"}))
                .probe()
                .unwrap(),
            "systemctl show -p LoadState,ActiveState,UnitFileState,NeedDaemonReload -- app-api\n"
        );
        assert_eq!(unit(json!({"daemon_reload": true})).probe(), None);
    }

    #[test]
    fn starts_and_enables_only_when_needed() {
        let module = unit(json!({"name": "app", "state": "started", "enabled": "yes"}));
        let plan = module.plan(&show("inactive", "disabled")).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            ["systemctl enable -- app\n", "systemctl start -- app\n"]
        );
        assert_eq!(
            plan.diff.as_deref(),
            Some("enabled: disabled -> enabled\nstate: inactive -> active\n")
        );
        let unchanged = module.plan(&show("active", "enabled")).unwrap();
        assert!(!unchanged.changed && unchanged.steps.is_empty());
        assert_eq!(
            Value::Object(unchanged.data),
            json!({"name": "app", "state": "started", "enabled": true})
        );
        assert!(!module.plan(&show("activating", "static")).unwrap().changed);
    }

    #[test]
    fn stops_and_disables() {
        let module = unit(json!({"name": "app", "state": "stopped", "enabled": false}));
        let plan = module.plan(&show("active", "enabled")).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            ["systemctl disable -- app\n", "systemctl stop -- app\n"]
        );
        assert!(!module.plan(&show("failed", "disabled")).unwrap().changed);
    }

    #[test]
    fn restarted_and_reloaded_always_change() {
        let restart = unit(json!({"name": "app", "state": "restarted"}));
        let plan = restart.plan(&show("active", "enabled")).unwrap();
        assert_eq!(scripts(&plan.steps), ["systemctl restart -- app\n"]);
        let reload = unit(json!({"name": "app", "state": "reloaded"}));
        let plan = reload.plan(&show("active", "enabled")).unwrap();
        assert_eq!(scripts(&plan.steps), ["systemctl reload -- app\n"]);
        let plan = reload.plan(&show("inactive", "enabled")).unwrap();
        assert_eq!(scripts(&plan.steps), ["systemctl start -- app\n"]);
    }

    #[test]
    fn masks_and_unmasks() {
        let mask = unit(json!({"name": "app", "masked": true, "state": "stopped"}));
        let plan = mask.plan(&show("active", "enabled")).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            ["systemctl mask -- app\n", "systemctl stop -- app\n"]
        );
        assert!(!mask.plan(&show("inactive", "masked")).unwrap().changed);
        let unmask = unit(json!({"name": "app", "masked": false, "enabled": true}));
        let plan = unmask.plan(&show("inactive", "masked")).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            ["systemctl unmask -- app\n", "systemctl enable -- app\n"]
        );
    }

    #[test]
    fn daemon_reload_alone_always_runs_and_with_a_name_when_the_unit_needs_it() {
        let plan = unit(json!({"daemon_reload": true}))
            .plan(&Probe::default())
            .unwrap();
        assert_eq!(scripts(&plan.steps), ["systemctl daemon-reload\n"]);
        assert!(!plan.changed, "a daemon-reload is no change, as in Ansible");
        let named = unit(json!({"name": "app", "daemon_reload": true, "state": "started"}));
        assert!(!named.plan(&show("active", "enabled")).unwrap().changed);
        let stale = Probe::ok("LoadState=loaded\nActiveState=active\nNeedDaemonReload=yes\n");
        let reloaded = named.plan(&stale).unwrap();
        assert_eq!(scripts(&reloaded.steps), ["systemctl daemon-reload\n"]);
        assert!(!reloaded.changed);
    }

    #[test]
    fn the_unit_name_is_one_word_after_end_of_options() {
        let stubs = argv_stubs(&["systemctl"]);
        let module = unit(json!({"name": "app@$(id) x.service", "state": "restarted"}));
        assert_eq!(
            run(&stubs, &module.probe().unwrap(), b"").stdout,
            "systemctl [show] [-p] [LoadState,ActiveState,UnitFileState,NeedDaemonReload] [--] [app@$(id) x.service]\n"
        );
        let plan = module.plan(&show("active", "enabled")).unwrap();
        assert_eq!(
            run_step(&stubs, &plan.steps[0]).stdout,
            "systemctl [restart] [--] [app@$(id) x.service]\n"
        );
    }

    #[test]
    fn ansibles_aliases_name_the_unit_and_the_reload() {
        let module = unit(json!({"unit": "app", "daemon-reload": "yes", "state": "started"}));
        let stale = Probe::ok("LoadState=loaded\nActiveState=inactive\nNeedDaemonReload=yes\n");
        assert_eq!(
            scripts(&module.plan(&stale).unwrap().steps),
            ["systemctl daemon-reload\n", "systemctl start -- app\n"]
        );
        let module = unit(json!({"service": "app", "masked": true}));
        assert!(module.probe().unwrap().as_str().ends_with("-- app\n"));
        assert!(build(json!({"name": "a", "unit": "b"}), &NoFiles).is_err());
    }

    #[test]
    fn a_missing_unit_fails() {
        let module = unit(json!({"name": "nope", "state": "started"}));
        let err = module
            .plan(&Probe::ok("LoadState=not-found\nActiveState=inactive\n"))
            .unwrap_err();
        assert_eq!(err.to_string(), "could not find the requested unit nope");
    }

    #[test]
    fn rejects_bad_params() {
        let err = build(json!({"name": "a", "enable": true}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("unknown field `enable`"), "{err}");
        assert!(build(json!({}), &NoFiles).is_err());
        assert!(build(json!({"state": "started"}), &NoFiles).is_err());
        assert!(build(json!({"name": "a", "state": "running"}), &NoFiles).is_err());
        assert!(
            build(
                json!({"name": "a", "masked": true, "enabled": true}),
                &NoFiles
            )
            .is_err()
        );
    }
}
