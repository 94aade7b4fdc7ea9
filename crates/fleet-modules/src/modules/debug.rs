//! `debug`: prints a message, like Ansible's. It never touches the host and
//! always reports `ok`.

use serde::Deserialize;
use serde_json::Value;

use crate::{Controller, Module, ModuleError, Plan, Probe, parse_params};

pub const PARAMS: &[&str] = &["msg"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugParams {
    /// Any value; a string is shown as is, anything else as JSON.
    pub msg: Value,
}

#[derive(Debug)]
pub struct Debug {
    msg: String,
}

pub fn build(params: Value, _: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: DebugParams = parse_params("debug", params)?;
    let msg = match params.msg {
        Value::String(text) => text,
        other => other.to_string(),
    };
    Ok(Box::new(Debug { msg }))
}

impl Module for Debug {
    fn probe(&self) -> Option<crate::Script> {
        None
    }

    fn plan(&self, _: &Probe) -> Result<Plan, ModuleError> {
        Ok(Plan {
            msg: Some(self.msg.clone()),
            ..Plan::unchanged()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    #[test]
    fn shows_the_message_and_changes_nothing() {
        let module = build(json!({"msg": "hello"}), &NoFiles).unwrap();
        assert_eq!(module.probe(), None);
        let plan = module.plan(&Probe::default()).unwrap();
        assert!(!plan.changed && plan.steps.is_empty());
        assert_eq!(plan.msg.as_deref(), Some("hello"));
        let plan = build(json!({"msg": {"a": 1}}), &NoFiles)
            .unwrap()
            .plan(&Probe::default())
            .unwrap();
        assert_eq!(plan.msg.as_deref(), Some(r#"{"a":1}"#));
    }
}
