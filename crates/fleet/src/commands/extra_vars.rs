//! `-e`: extra vars from the command line.

use serde_json::{Map, Value};

use crate::error::CliError;

/// `-e key=value` (a string), `-e '{"key": [1, 2]}'` (JSON) or
/// `-e @vars.json`; later ones win.
pub fn parse_extra_vars(specs: &[String]) -> Result<Map<String, Value>, CliError> {
    let mut vars = Map::new();
    for spec in specs {
        let parsed = if let Some(path) = spec.strip_prefix('@') {
            let text = std::fs::read_to_string(path)
                .map_err(|err| CliError::Usage(format!("-e @{path}: {err}")))?;
            json_object(&text, spec)?
        } else if spec.trim_start().starts_with('{') {
            json_object(spec, spec)?
        } else {
            let (key, value) = spec.split_once('=').ok_or_else(|| {
                CliError::Usage(format!(
                    "-e {spec}: expected key=value, a JSON object or @file"
                ))
            })?;
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(CliError::Usage(format!(
                    "-e {spec}: `{key}` is not a variable name"
                )));
            }
            Map::from_iter([(key.to_string(), Value::String(value.to_string()))])
        };
        vars.extend(parsed);
    }
    Ok(vars)
}

fn json_object(text: &str, spec: &str) -> Result<Map<String, Value>, CliError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CliError::Usage(format!(
            "-e {spec}: expected a JSON object"
        ))),
        Err(err) => Err(CliError::Usage(format!("-e {spec}: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_vars_take_pairs_and_json_later_wins() {
        let specs = [
            "app=shop".to_string(),
            r#"{"app": "mall", "n": [1]}"#.to_string(),
            "x=a=b".to_string(),
        ];
        let vars = parse_extra_vars(&specs).unwrap();
        assert_eq!(
            Value::Object(vars),
            json!({"app": "mall", "n": [1], "x": "a=b"})
        );
        assert!(parse_extra_vars(&["novalue".to_string()]).is_err());
        assert!(parse_extra_vars(&["bad key=1".to_string()]).is_err());
    }
}
