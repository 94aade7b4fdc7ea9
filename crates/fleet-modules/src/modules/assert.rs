//! `assert`: checks conditions with the host's vars, like Ansible's; the
//! task fails at the first that does not hold. It never touches the host.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::de;
use crate::{Controller, Module, ModuleError, Plan, Probe, parse_params};

pub const PARAMS: &[&str] = &["that", "fail_msg", "msg", "success_msg", "quiet"];

/// The params that are expressions, evaluated by the module with the
/// host's vars rather than rendered before: `that`.
pub const EXPRESSIONS: &[&str] = &["that"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertParams {
    /// One condition or a list of them: bare Jinja expressions, as `when`.
    pub that: Conditions,
    pub fail_msg: Option<Message>,
    /// Another name of `fail_msg`.
    pub msg: Option<Message>,
    pub success_msg: Option<Message>,
    /// Show no message when every condition holds.
    #[serde(default, deserialize_with = "de::boolean")]
    pub quiet: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Conditions {
    One(String),
    Many(Vec<String>),
}

/// A message: a string, or a list of strings shown one per line.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Message {
    One(String),
    Lines(Vec<String>),
}

impl Message {
    fn text(&self) -> String {
        match self {
            Message::One(text) => text.clone(),
            Message::Lines(lines) => lines.join("\n"),
        }
    }
}

#[derive(Debug)]
pub struct Assert {
    /// The first condition that does not hold, and the message.
    failed: Option<(String, String)>,
    success: String,
    quiet: bool,
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: AssertParams = parse_params("assert", params)?;
    let conditions = match params.that {
        Conditions::One(one) => vec![one],
        Conditions::Many(many) => many,
    };
    if conditions.is_empty() {
        return Err(ModuleError::Params {
            module: "assert".into(),
            message: "`that` needs at least one condition".into(),
        });
    }
    let mut failed = None;
    for condition in conditions {
        if !controller.condition(&condition)? {
            let msg = match params.fail_msg.as_ref().or(params.msg.as_ref()) {
                Some(msg) => msg.text(),
                None => format!("Assertion failed: {condition}"),
            };
            failed = Some((condition, msg));
            break;
        }
    }
    let success = params
        .success_msg
        .map_or_else(|| "All assertions passed".to_owned(), |msg| msg.text());
    Ok(Box::new(Assert {
        failed,
        success,
        quiet: params.quiet,
    }))
}

impl Module for Assert {
    fn probe(&self) -> Option<crate::Script> {
        None
    }

    fn plan(&self, _: &Probe) -> Result<Plan, ModuleError> {
        if let Some((_, msg)) = &self.failed {
            return Err(ModuleError::Failed(msg.clone()));
        }
        let mut data = Map::new();
        data.insert("msg".into(), Value::String(self.success.clone()));
        Ok(Plan {
            msg: (!self.quiet).then(|| self.success.clone()),
            data,
            ..Plan::unchanged()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn plan(params: Value) -> Result<Plan, String> {
        let module = build(params, &NoFiles).map_err(|err| err.to_string())?;
        assert_eq!(module.probe(), None);
        module
            .plan(&Probe::default())
            .map_err(|err| err.to_string())
    }

    #[test]
    fn passes_when_every_condition_holds() {
        let passed = plan(json!({"that": ["true", " true"]})).unwrap();
        assert!(!passed.changed);
        assert_eq!(passed.msg.as_deref(), Some("All assertions passed"));
        let passed = plan(json!({"that": "true", "success_msg": ["all", "good"]})).unwrap();
        assert_eq!(passed.msg.as_deref(), Some("all\ngood"));
        let quiet = plan(json!({"that": "true", "quiet": "yes"})).unwrap();
        assert_eq!(quiet.msg, None);
        assert_eq!(quiet.data["msg"], "All assertions passed");
    }

    #[test]
    fn fails_at_the_first_condition_that_does_not_hold() {
        assert_eq!(
            plan(json!({"that": ["true", "x > 1", "y"]})).unwrap_err(),
            "Assertion failed: x > 1"
        );
        assert_eq!(
            plan(json!({"that": "no", "fail_msg": "too small"})).unwrap_err(),
            "too small"
        );
        assert_eq!(
            plan(json!({"that": "no", "msg": "old name"})).unwrap_err(),
            "old name"
        );
        assert!(
            plan(json!({"that": []}))
                .unwrap_err()
                .contains("at least one")
        );
        assert!(plan(json!({"fail_msg": "x"})).unwrap_err().contains("that"));
    }
}
