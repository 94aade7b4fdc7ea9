//! `pause`: waits on the controller, like Ansible's: for `seconds` or
//! `minutes`, or until the operator presses Enter (answering `prompt`).
//! The engine does the waiting ([`Module::controller_wait`]); the task
//! runs once for all hosts, and its result is everyone's.

use serde::Deserialize;
use serde_json::Value;

use super::de;
use crate::{Controller, Module, ModuleError, Plan, Probe, Wait, parse_params};

pub const PARAMS: &[&str] = &["seconds", "minutes", "prompt", "echo"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseParams {
    pub seconds: Option<Value>,
    pub minutes: Option<Value>,
    pub prompt: Option<String>,
    /// Show what the operator types. Default `true`.
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub echo: bool,
}

#[derive(Debug)]
pub struct Pause {
    wait: Wait,
}

pub fn build(params: Value, _: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: PauseParams = parse_params("pause", params)?;
    let seconds = match (&params.seconds, &params.minutes) {
        (Some(_), Some(_)) => {
            return Err(invalid("`seconds` and `minutes` cannot be used together"));
        }
        (Some(seconds), None) => Some(whole(seconds, "seconds")?),
        (None, Some(minutes)) => Some(whole(minutes, "minutes")? * 60),
        (None, None) => None,
    };
    Ok(Box::new(Pause {
        wait: Wait {
            // As in Ansible, a pause lasts at least one second.
            seconds: seconds.map(|seconds| seconds.max(1) as f64),
            prompt: params.prompt,
            echo: params.echo,
            in_minutes: params.minutes.is_some(),
        },
    }))
}

fn invalid(message: &str) -> ModuleError {
    ModuleError::Params {
        module: "pause".into(),
        message: message.into(),
    }
}

/// A duration as Ansible reads it: a number, its fraction dropped, or a
/// string of digits.
fn whole(value: &Value, key: &str) -> Result<u64, ModuleError> {
    let seconds = match value {
        Value::Number(number) => number.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    seconds.ok_or_else(|| invalid(&format!("`{key}` must be a whole number, got {value}")))
}

impl Module for Pause {
    fn probe(&self) -> Option<crate::Script> {
        None
    }

    fn plan(&self, _: &Probe) -> Result<Plan, ModuleError> {
        Ok(Plan::unchanged())
    }

    fn controller_wait(&self) -> Option<&Wait> {
        Some(&self.wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn wait(params: Value) -> Result<Wait, String> {
        let module = build(params, &NoFiles).map_err(|err| err.to_string())?;
        assert_eq!(module.probe(), None);
        assert!(!module.plan(&Probe::default()).unwrap().changed);
        Ok(module.controller_wait().cloned().expect("a wait"))
    }

    #[test]
    fn a_duration_in_whole_seconds_of_at_least_one() {
        let seconds = |params: Value| wait(params).map(|wait| wait.seconds);
        assert_eq!(seconds(json!({"seconds": 3})), Ok(Some(3.0)));
        assert_eq!(seconds(json!({"seconds": "2"})), Ok(Some(2.0)));
        assert_eq!(seconds(json!({"seconds": 2.7})), Ok(Some(2.0)));
        assert_eq!(seconds(json!({"seconds": 0})), Ok(Some(1.0)));
        assert_eq!(seconds(json!({"minutes": 2})), Ok(Some(120.0)));
        assert!(wait(json!({"minutes": 2})).unwrap().in_minutes);
        assert_eq!(seconds(json!({})), Ok(None));
        assert!(
            seconds(json!({"seconds": 1, "minutes": 1}))
                .unwrap_err()
                .contains("together")
        );
        assert!(
            seconds(json!({"seconds": "soon"}))
                .unwrap_err()
                .contains("whole number")
        );
    }

    #[test]
    fn a_prompt_and_whether_the_answer_echoes() {
        let prompted = wait(json!({"prompt": "Go on?", "echo": "no"})).unwrap();
        assert_eq!(prompted.prompt.as_deref(), Some("Go on?"));
        assert!(!prompted.echo);
        assert!(wait(json!({})).unwrap().echo);
    }
}
