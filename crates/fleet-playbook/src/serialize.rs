//! `to_json`, `to_nice_json`, `from_json`, `to_yaml`, `to_nice_yaml` and
//! `from_yaml`, with the output Ansible's give (Python's `json.dumps` and
//! PyYAML's `dump`): `to_json` separates with `", "` and `": "` and
//! escapes non-ASCII; `to_nice_json` indents by 4 and sorts keys; the YAML
//! ones sort keys, `to_nice_yaml` indents by 4 (see [`super::yaml_emit`]).

use minijinja::value::{Kwargs, Serde};
use minijinja::{Environment, Error, Value};
use serde_json::Value as Json;

use super::yaml_emit::{self, YamlStyle};
use crate::filters::{defined, failed};

pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("from_yaml", from_yaml);
}

pub(crate) fn to_json_value(value: &Value, filter: &str) -> Result<Json, Error> {
    defined(value, filter)?;
    serde_json::to_value(value).map_err(|err| failed(format!("{filter}: cannot convert: {err}")))
}

/// How Python's `json.dumps` was asked to write.
struct JsonStyle {
    indent: Option<usize>,
    sort_keys: bool,
    ensure_ascii: bool,
}

fn json_style(kwargs: &Kwargs, indent: Option<usize>, sort_keys: bool) -> Result<JsonStyle, Error> {
    let style = JsonStyle {
        indent: kwargs.get::<Option<usize>>("indent")?.or(indent),
        sort_keys: kwargs
            .get::<Option<bool>>("sort_keys")?
            .unwrap_or(sort_keys),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    kwargs.assert_all_used()?;
    Ok(style)
}

/// `to_json(indent=None, sort_keys=false, ensure_ascii=true)`: `{"a": 1, "b": [1, 2]}`.
fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let style = json_style(&kwargs, None, false)?;
    let mut out = String::new();
    write_json(&to_json_value(value, "to_json")?, &style, 0, &mut out);
    Ok(out)
}

/// `to_nice_json(indent=4, sort_keys=true)`.
fn to_nice_json(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let style = json_style(&kwargs, Some(indent.unwrap_or(4)), true)?;
    let mut out = String::new();
    write_json(&to_json_value(value, "to_nice_json")?, &style, 0, &mut out);
    Ok(out)
}

fn write_json(value: &Json, style: &JsonStyle, depth: usize, out: &mut String) {
    let (item_sep, newline) = match style.indent {
        Some(width) => (",", Some(width)),
        None => (", ", None),
    };
    let open = |out: &mut String, depth: usize| {
        if let Some(width) = newline {
            out.push('\n');
            out.push_str(&" ".repeat(width * depth));
        }
    };
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Json::Number(number) => out.push_str(&number.to_string()),
        Json::String(text) => write_json_string(text, style.ensure_ascii, out),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(item_sep);
                }
                open(out, depth + 1);
                write_json(item, style, depth + 1, out);
            }
            open(out, depth);
            out.push(']');
        }
        Json::Object(map) if map.is_empty() => out.push_str("{}"),
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            if style.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push_str(item_sep);
                }
                open(out, depth + 1);
                write_json_string(key, style.ensure_ascii, out);
                out.push_str(": ");
                write_json(item, style, depth + 1, out);
            }
            open(out, depth);
            out.push('}');
        }
    }
}

fn write_json_string(text: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !(' '..='~').contains(&c)) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn from_json(text: &str) -> Result<Value, Error> {
    let parsed: Json = serde_json::from_str(text)
        .map_err(|err| failed(format!("from_json: not valid JSON: {err}")))?;
    Ok(Value::from(Serde(parsed)))
}

fn yaml_style(kwargs: &Kwargs, indent: usize, flow_leaves: bool) -> Result<YamlStyle, Error> {
    let style = YamlStyle {
        indent: kwargs.get::<Option<usize>>("indent")?.unwrap_or(indent),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true),
        flow_leaves: match kwargs.get::<Option<Value>>("default_flow_style")? {
            None => flow_leaves,
            Some(value) if value.is_none() => true,
            Some(value) if value.is_true() => {
                return Err(failed(
                    "default_flow_style=true (all flow style) is not supported; use false or none",
                ));
            }
            Some(_) => false,
        },
    };
    // PyYAML folds long lines at `width`; fleet never folds, so any width
    // gives the same data.
    let _ = kwargs.get::<Option<usize>>("width")?;
    kwargs.assert_all_used()?;
    if !(2..=9).contains(&style.indent) {
        return Err(failed(format!(
            "the YAML indent must be from 2 to 9, got {}",
            style.indent
        )));
    }
    Ok(style)
}

/// `to_yaml(indent=2)`: block style, with collections of scalars written
/// inline (`ports: [80, 443]`), as PyYAML's default does.
fn to_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let style = yaml_style(&kwargs, 2, true)?;
    Ok(yaml_emit::dump(&to_json_value(value, "to_yaml")?, &style))
}

/// `to_nice_yaml(indent=4)`: block style throughout.
fn to_nice_yaml(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let style = yaml_style(&kwargs, indent.unwrap_or(4), false)?;
    Ok(yaml_emit::dump(
        &to_json_value(value, "to_nice_yaml")?,
        &style,
    ))
}

/// Read as fleet reads vars files. A value that is not a string comes back
/// as is, as in Ansible.
fn from_yaml(value: &Value) -> Result<Value, Error> {
    defined(value, "from_yaml")?;
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let node = fleet_yaml::parse_document(text, "from_yaml")
        .map_err(|err| failed(format!("from_yaml: not valid YAML: {}", err.diagnostic)))?;
    Ok(Value::from(Serde(node.value.to_json())))
}

#[cfg(test)]
#[path = "serialize_tests.rs"]
mod tests;
