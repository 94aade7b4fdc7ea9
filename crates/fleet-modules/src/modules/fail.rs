//! `fail`: fails the task with a message, like Ansible's; usually under a
//! `when`. It never touches the host.

use serde::Deserialize;
use serde_json::Value;

use crate::{Controller, Module, ModuleError, Plan, Probe, parse_params};

pub const PARAMS: &[&str] = &["msg"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailParams {
    /// Any value; a string is shown as is, anything else as JSON.
    pub msg: Option<Value>,
}

#[derive(Debug)]
pub struct Fail {
    msg: String,
}

pub fn build(params: Value, _: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: FailParams = parse_params("fail", params)?;
    let msg = match params.msg {
        None => "Failed as requested from task".to_owned(),
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
    };
    Ok(Box::new(Fail { msg }))
}

impl Module for Fail {
    fn probe(&self) -> Option<crate::Script> {
        None
    }

    fn plan(&self, _: &Probe) -> Result<Plan, ModuleError> {
        Err(ModuleError::Failed(self.msg.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    #[test]
    fn fails_with_the_message() {
        let failed = |params: Value| {
            let module = build(params, &NoFiles).unwrap();
            assert_eq!(module.probe(), None);
            module.plan(&Probe::default()).unwrap_err().to_string()
        };
        assert_eq!(failed(json!({"msg": "no disk"})), "no disk");
        assert_eq!(failed(json!({})), "Failed as requested from task");
        assert_eq!(failed(json!({"msg": ["a", 1]})), r#"["a",1]"#);
        assert!(build(json!({"mesage": "x"}), &NoFiles).is_err());
    }
}
