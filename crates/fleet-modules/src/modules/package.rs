//! `package`: Ansible's generic package module. On Debian Ansible hands the
//! task to `apt` with `use` left out, so fleet does the same: the task is
//! `apt`'s, after `use` is checked and dropped and `name` and `state`,
//! which `package` requires, are there.

use serde_json::Value;

use super::apt;
use super::generic::{backend_params, joined};
use crate::{Controller, Module, ModuleError};

/// `apt`'s parameters (which Ansible passes on), and `use`.
pub const PARAMS: &[&str] = &joined::<{ apt::PARAMS.len() + 1 }>(&[apt::PARAMS, &["use"]]);

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "package".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let map = backend_params("package", "apt", params)?;
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
