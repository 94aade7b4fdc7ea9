//! `-e`: extra vars from the command line, as `ansible-playbook -e` takes
//! them.

use serde_json::{Map, Value};

use crate::error::CliError;

/// `-e 'key=value other="two words"'` (strings), `-e '{"key": [1, 2]}'`
/// (JSON or YAML) or `-e @vars.yml` (a YAML or JSON file); later ones win.
pub fn parse_extra_vars(specs: &[String]) -> Result<Map<String, Value>, CliError> {
    let mut vars = Map::new();
    for spec in specs {
        let parsed = if let Some(path) = spec.strip_prefix('@') {
            let text = std::fs::read_to_string(path)
                .map_err(|err| CliError::Usage(format!("-e @{path}: {err}")))?;
            document(&text, path, spec)?
        } else if spec.trim_start().starts_with('{') {
            document(spec, "-e", spec)?
        } else {
            key_values(spec)?
        };
        vars.extend(parsed);
    }
    Ok(vars)
}

fn key_values(spec: &str) -> Result<Map<String, Value>, CliError> {
    let usage = |why: String| {
        CliError::Usage(format!(
            "-e {spec}: {why}\n  hint: write key=value words, a JSON or YAML map, or @file"
        ))
    };
    let vars = fleet_playbook::key_value_words(spec).map_err(usage)?;
    if vars.is_empty() {
        return Err(usage("no key=value".into()));
    }
    if let Some(key) = vars.keys().find(|key| !is_var_name(key)) {
        return Err(usage(format!("`{key}` is not a variable name")));
    }
    Ok(vars)
}

fn is_var_name(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A YAML (so also JSON) document that must be a map.
fn document(text: &str, source: &str, spec: &str) -> Result<Map<String, Value>, CliError> {
    let node =
        fleet_yaml::parse_document(text, source).map_err(|err| CliError::Playbook(err.into()))?;
    match node.value.to_json() {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(CliError::Usage(format!(
            "-e {spec}: expected a map of vars"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(specs: &[&str]) -> Result<Value, CliError> {
        let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        parse_extra_vars(&specs).map(Value::Object)
    }

    #[test]
    fn extra_vars_take_pairs_and_json_later_wins() {
        let vars = parse(&["app=shop", r#"{"app": "mall", "n": [1]}"#, "x=a=b"]).unwrap();
        assert_eq!(vars, json!({"app": "mall", "n": [1], "x": "a=b"}));
        assert!(parse(&["novalue"]).is_err());
        assert!(parse(&["bad key=1"]).is_err());
        assert!(parse(&["1st=x"]).is_err());
    }

    #[test]
    fn one_spec_sets_every_pair_and_quotes_group_words() {
        let vars = parse(&[r#"a=1 b=2 msg="two words" path='/x y'"#]).unwrap();
        assert_eq!(
            vars,
            json!({"a": "1", "b": "2", "msg": "two words", "path": "/x y"})
        );
        assert!(parse(&[r#"msg="open"#]).is_err());
    }

    #[test]
    fn a_yaml_map_is_read_as_yaml() {
        let vars = parse(&["{app: shop, ports: [80, 443], debug: true}"]).unwrap();
        assert_eq!(
            vars,
            json!({"app": "shop", "ports": [80, 443], "debug": true})
        );
        assert!(parse(&["{app: [}"]).is_err());
    }

    #[test]
    fn a_file_may_be_yaml() {
        let dir = std::env::temp_dir().join(format!("fleet-extra-vars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("vars.yml");
        std::fs::write(&file, "app: shop\nworkers: 4\n").unwrap();
        let vars = parse(&[&format!("@{}", file.display())]).unwrap();
        assert_eq!(vars, json!({"app": "shop", "workers": 4}));
        std::fs::write(&file, "app: [\n").unwrap();
        let err = parse(&[&format!("@{}", file.display())]).unwrap_err();
        assert!(err.to_string().contains("vars.yml:"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
