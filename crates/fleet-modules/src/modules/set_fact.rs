//! `set_fact`: sets variables on the host for the tasks after it, like
//! Ansible's; they sit with registered results in precedence. It never
//! touches the host. The result carries them under `ansible_facts`, which
//! the engine adds to the host's variables.

use serde_json::{Map, Value};

use super::de;
use crate::{Controller, Module, ModuleError, Plan, Probe};

/// `set_fact` takes any variable name; this is its one other parameter.
pub const PARAMS: &[&str] = &["cacheable"];

/// Where the result holds the variables set.
pub const FACTS_KEY: &str = "ansible_facts";

#[derive(Debug)]
pub struct SetFact {
    facts: Map<String, Value>,
}

pub fn build(params: Value, _: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let invalid = |message: String| ModuleError::Params {
        module: "set_fact".into(),
        message,
    };
    let Value::Object(mut params) = params else {
        return Err(invalid(
            "the params must be a map of names to values".into(),
        ));
    };
    if let Some(cacheable) = params.remove("cacheable") {
        // Accepted for Ansible's playbooks; fleet keeps no fact cache.
        de::boolean(cacheable).map_err(|err| invalid(format!("cacheable: {err}")))?;
    }
    if params.is_empty() {
        return Err(invalid("give at least one `name: value`".into()));
    }
    let mut facts = Map::new();
    for (name, value) in params {
        if !is_variable_name(&name) {
            return Err(invalid(format!(
                "`{name}` is not a variable name: use letters, digits and `_`, not starting with a digit"
            )));
        }
        facts.insert(name, as_ansible_sets_it(value));
    }
    Ok(Box::new(SetFact { facts }))
}

/// Ansible (without Jinja2 native types) turns the strings `true`,
/// `false`, `yes` and `no`, in any case, into bools.
fn as_ansible_sets_it(value: Value) -> Value {
    match &value {
        Value::String(text) => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" => Value::Bool(true),
            "false" | "no" => Value::Bool(false),
            _ => value,
        },
        _ => value,
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Module for SetFact {
    fn probe(&self) -> Option<crate::Script> {
        None
    }

    fn plan(&self, _: &Probe) -> Result<Plan, ModuleError> {
        let mut data = Map::new();
        data.insert(FACTS_KEY.into(), Value::Object(self.facts.clone()));
        Ok(Plan {
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

    fn facts(params: Value) -> Result<Value, String> {
        let module = build(params, &NoFiles).map_err(|err| err.to_string())?;
        assert_eq!(module.probe(), None);
        let plan = module.plan(&Probe::default()).unwrap();
        assert!(!plan.changed && plan.steps.is_empty());
        Ok(plan.data[FACTS_KEY].clone())
    }

    #[test]
    fn sets_the_names_with_yes_and_no_as_bools() {
        assert_eq!(
            facts(json!({"a": "1", "b": "Yes", "c": "false", "d": {"x": [1]}, "cacheable": true})),
            Ok(json!({"a": "1", "b": true, "c": false, "d": {"x": [1]}}))
        );
    }

    #[test]
    fn needs_valid_names() {
        assert!(facts(json!({})).unwrap_err().contains("at least one"));
        assert!(
            facts(json!({"cacheable": true}))
                .unwrap_err()
                .contains("at least one")
        );
        assert!(
            facts(json!({"1x": 1}))
                .unwrap_err()
                .contains("not a variable name")
        );
        assert!(
            facts(json!({"a": 1, "cacheable": "maybe"}))
                .unwrap_err()
                .contains("boolean")
        );
        assert!(facts(json!("a=1")).is_err());
    }
}
