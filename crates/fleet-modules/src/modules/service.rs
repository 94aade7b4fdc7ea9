//! `service`: Ansible's generic service module. On a systemd host Ansible
//! hands the task to `systemd` with `sleep`, `pattern`, `runlevel` and
//! `arguments` left out (they do not apply there), so fleet does the same:
//! the task is `systemd`'s, after those are checked and dropped.

use serde_json::{Map, Value};

use super::generic::{backend_params, joined};
use super::systemd;
use crate::{Controller, Module, ModuleError};

/// `service`'s own parameters, which do not apply on systemd.
const UNUSED_ON_SYSTEMD: &[&str] = &["sleep", "pattern", "runlevel", "arguments", "args"];

/// `systemd`'s parameters (which Ansible passes on), and `service`'s own.
pub const PARAMS: &[&str] = &joined::<{ systemd::PARAMS.len() + UNUSED_ON_SYSTEMD.len() + 1 }>(&[
    systemd::PARAMS,
    UNUSED_ON_SYSTEMD,
    &["use"],
]);

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "service".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let mut map = backend_params("service", "systemd", params)?;
    check_unused(&map)?;
    for unused in UNUSED_ON_SYSTEMD {
        map.remove(*unused);
    }
    if !["name", "service", "unit"]
        .iter()
        .any(|key| map.contains_key(*key))
    {
        return Err(invalid("name is required"));
    }
    systemd::build(Value::Object(map), controller)
}

/// The ignored parameters still have Ansible's types.
fn check_unused(map: &Map<String, Value>) -> Result<(), ModuleError> {
    if let Some(sleep) = map.get("sleep") {
        let whole = match sleep {
            Value::Number(number) => number.is_u64(),
            Value::String(text) => text.trim().parse::<u64>().is_ok(),
            _ => false,
        };
        if !whole {
            return Err(invalid(format!("sleep must be whole seconds, got {sleep}")));
        }
    }
    for key in ["pattern", "runlevel", "arguments", "args"] {
        if let Some(value) = map.get(key)
            && !(value.is_string() || value.is_number())
        {
            return Err(invalid(format!("{key} must be a string, got {value}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Probe;
    use crate::modules::command::stub_sh::scripts;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn show(active: &str, file: &str) -> Probe {
        Probe::ok(&format!(
            "LoadState=loaded\nActiveState={active}\nUnitFileState={file}\nNeedDaemonReload=no\n"
        ))
    }

    #[test]
    fn plans_as_systemd_does() {
        let module = build(
            json!({"name": "cron", "state": "started", "enabled": "yes", "use": "auto"}),
            &NoFiles,
        )
        .unwrap();
        assert_eq!(
            module.probe().unwrap(),
            "systemctl show -p LoadState,ActiveState,UnitFileState,NeedDaemonReload -- cron\n"
        );
        let plan = module.plan(&show("inactive", "disabled")).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            ["systemctl enable -- cron\n", "systemctl start -- cron\n"]
        );
        assert!(!module.plan(&show("active", "enabled")).unwrap().changed);
    }

    #[test]
    fn sleep_pattern_and_arguments_are_dropped_as_on_systemd() {
        let module = build(
            json!({"name": "app", "state": "restarted", "sleep": "2", "pattern": "app",
                   "arguments": "-v", "runlevel": "3"}),
            &NoFiles,
        )
        .unwrap();
        let plan = module.plan(&show("active", "enabled")).unwrap();
        assert_eq!(scripts(&plan.steps), ["systemctl restart -- app\n"]);
    }

    #[test]
    fn the_name_may_be_written_as_its_aliases() {
        for key in ["service", "unit"] {
            let module = build(json!({key: "app", "state": "stopped"}), &NoFiles).unwrap();
            let plan = module.plan(&show("active", "enabled")).unwrap();
            assert_eq!(scripts(&plan.steps), ["systemctl stop -- app\n"]);
        }
    }

    #[test]
    fn refuses_other_managers_and_bad_types() {
        let err = build(json!({"name": "a", "use": "sysvinit"}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("systemd only"), "{err}");
        assert!(build(json!({"name": "a", "sleep": "soon"}), &NoFiles).is_err());
        assert!(build(json!({"state": "started"}), &NoFiles).is_err());
        assert!(build(json!({"daemon_reload": true}), &NoFiles).is_err());
        let err = build(json!({"name": "a", "enable": true}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("unknown field `enable`"), "{err}");
    }
}
