//! `debug`: shows a message or a variable, like Ansible's. It never
//! touches the host and always reports `ok`; with `verbosity: N` it shows
//! only under `-v` given N times, and is skipped otherwise.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::de;
use crate::{Controller, Module, ModuleError, Plan, Probe, parse_params};

pub const PARAMS: &[&str] = &["msg", "var", "verbosity"];

/// The params that are expressions, evaluated by the module with the
/// host's vars rather than rendered before: `var`.
pub const EXPRESSIONS: &[&str] = &["var"];

/// What `var` shows when it names nothing defined, as in Ansible.
pub const NOT_DEFINED: &str = "VARIABLE IS NOT DEFINED!";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugParams {
    /// Any value; a string is shown as is, anything else as JSON.
    pub msg: Option<Value>,
    /// An expression (`result.stdout_lines`), shown with its value.
    pub var: Option<String>,
    #[serde(default, deserialize_with = "de::whole_number")]
    pub verbosity: u8,
}

#[derive(Debug)]
pub struct Debug {
    msg: String,
    data: Map<String, Value>,
    verbosity: u8,
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: DebugParams = parse_params("debug", params)?;
    let (msg, data) = match (params.msg, params.var) {
        (Some(_), Some(_)) => {
            return Err(ModuleError::Params {
                module: "debug".into(),
                message: "`msg` and `var` cannot be used together".into(),
            });
        }
        (None, Some(var)) => {
            let value = controller
                .variable(&var)?
                .unwrap_or_else(|| Value::String(NOT_DEFINED.into()));
            let msg = format!("{var}: {value}");
            (msg, Map::from_iter([(var, value)]))
        }
        (Some(Value::String(text)), None) => (text, Map::new()),
        (Some(other), None) => (other.to_string(), Map::new()),
        (None, None) => ("Hello world!".to_owned(), Map::new()),
    };
    Ok(Box::new(Debug {
        msg,
        data,
        verbosity: params.verbosity,
    }))
}

impl Module for Debug {
    fn probe(&self) -> Option<crate::Script> {
        None
    }

    fn plan(&self, _: &Probe) -> Result<Plan, ModuleError> {
        Ok(Plan {
            msg: Some(self.msg.clone()),
            data: self.data.clone(),
            ..Plan::unchanged()
        })
    }

    fn verbosity(&self) -> u8 {
        self.verbosity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn planned(params: Value) -> Plan {
        build(params, &NoFiles)
            .unwrap()
            .plan(&Probe::default())
            .unwrap()
    }

    #[test]
    fn shows_the_message_and_changes_nothing() {
        let module = build(json!({"msg": "hello"}), &NoFiles).unwrap();
        assert_eq!(module.probe(), None);
        assert_eq!(module.verbosity(), 0);
        let plan = module.plan(&Probe::default()).unwrap();
        assert!(!plan.changed && plan.steps.is_empty());
        assert_eq!(plan.msg.as_deref(), Some("hello"));
        assert_eq!(
            planned(json!({"msg": {"a": 1}})).msg.as_deref(),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(planned(json!({})).msg.as_deref(), Some("Hello world!"));
    }

    #[test]
    fn var_shows_the_expression_and_its_value() {
        let plan = planned(json!({"var": "motd"}));
        assert_eq!(plan.msg.as_deref(), Some(r#"motd: "hello motd""#));
        assert_eq!(
            plan.data,
            Map::from_iter([("motd".into(), json!("hello motd"))])
        );
        let plan = planned(json!({"var": "missing"}));
        assert_eq!(
            plan.msg.as_deref(),
            Some(r#"missing: "VARIABLE IS NOT DEFINED!""#)
        );
    }

    #[test]
    fn verbosity_and_exclusive_params() {
        let module = build(json!({"msg": "x", "verbosity": "2"}), &NoFiles).unwrap();
        assert_eq!(module.verbosity(), 2);
        let err = build(json!({"msg": "x", "var": "y"}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("cannot be used together"), "{err}");
    }
}
