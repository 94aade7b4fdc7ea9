//! `package`: Ansible's generic package module. On Debian Ansible hands the
//! task to `apt` with `use` left out, so fleet does the same: the task is
//! `apt`'s, after `use` is checked and dropped and `name` and `state`,
//! which `package` requires, are there.

use serde_json::Value;

use super::apt;
use crate::{Controller, Module, ModuleError};

/// `apt`'s parameters (which Ansible passes on), and `use`.
pub const PARAMS: &[&str] = &[
    "name",
    "package",
    "pkg",
    "state",
    "update_cache",
    "update-cache",
    "update_cache_retries",
    "update_cache_retry_max_delay",
    "cache_valid_time",
    "purge",
    "deb",
    "default_release",
    "default-release",
    "install_recommends",
    "install-recommends",
    "force",
    "upgrade",
    "dpkg_options",
    "autoremove",
    "autoclean",
    "fail_on_autoremove",
    "only_upgrade",
    "force_apt_get",
    "clean",
    "allow_unauthenticated",
    "allow-unauthenticated",
    "allow_downgrade",
    "allow-downgrade",
    "allow_downgrades",
    "allow-downgrades",
    "allow_change_held_packages",
    "lock_timeout",
    "auto_install_module_deps",
    "use",
];

/// The package managers `use` may name: fleet drives apt only.
const MANAGERS: &[&str] = &["auto", "apt"];

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "package".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let Value::Object(mut map) = params else {
        return Err(invalid("parameters must be a map"));
    };
    if let Some(manager) = map.remove("use") {
        let manager = manager.as_str().map(str::to_ascii_lowercase);
        if !manager.as_deref().is_some_and(|m| MANAGERS.contains(&m)) {
            return Err(invalid(format!(
                "use: fleet drives apt only (auto or apt), got {}",
                manager.unwrap_or_default()
            )));
        }
    }
    for required in ["name", "state"] {
        if map.get(required).is_none_or(Value::is_null) {
            return Err(invalid(format!("{required} is required")));
        }
    }
    apt::build(Value::Object(map), controller)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    #[test]
    fn takes_apts_parameters_and_use() {
        let own: Vec<&str> = PARAMS.iter().copied().filter(|p| *p != "use").collect();
        assert_eq!(own, apt::PARAMS, "package passes every apt parameter on");
    }

    #[test]
    fn plans_as_apt_does() {
        let package = build(
            json!({"name": ["tree", "pv"], "state": "present", "use": "apt"}),
            &NoFiles,
        )
        .unwrap();
        let apt = apt::build(
            json!({"name": ["tree", "pv"], "state": "present"}),
            &NoFiles,
        )
        .unwrap();
        assert_eq!(package.probe(), apt.probe());
    }

    #[test]
    fn name_and_state_are_required_and_only_apt_is_driven() {
        assert!(build(json!({"name": "tree"}), &NoFiles).is_err());
        assert!(build(json!({"state": "present"}), &NoFiles).is_err());
        let err = build(
            json!({"name": "tree", "state": "present", "use": "dnf"}),
            &NoFiles,
        )
        .unwrap_err();
        assert!(err.to_string().contains("apt only"), "{err}");
        let err = build(
            json!({"name": "tree", "state": "present", "pkgs": "x"}),
            &NoFiles,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `pkgs`"), "{err}");
    }
}
