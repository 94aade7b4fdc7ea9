//! Deserializers for params written the Ansible way.

use serde::de::Error;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A boolean as Ansible accepts it: `true`/`false`, `yes`/`no`, `on`/`off`,
/// `1`/`0`, also as strings (templating renders booleans as text).
pub(crate) fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let value = Value::deserialize(deserializer)?;
    parse_bool(&value).ok_or_else(|| {
        D::Error::custom(format!(
            "expected a boolean (true/false, yes/no), got {value}"
        ))
    })
}

/// [`boolean`] for a parameter whose absence means something else than
/// `false` (`install_recommends`: apt's own default).
pub(crate) fn optional_boolean<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse_bool(&value).map(Some).ok_or_else(|| {
            D::Error::custom(format!(
                "expected a boolean (true/false, yes/no), got {value}"
            ))
        }),
    }
}

fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => match number.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "y" | "1" => Some(true),
            "false" | "no" | "off" | "n" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A whole number, also written as a string: `key=value` arguments give
/// strings (`port=22`), and so does a template with text around it. As
/// Ansible's `int` parameters take them.
pub(crate) fn whole_number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let value = Value::deserialize(deserializer)?;
    parse_whole_number(&value).ok_or_else(|| {
        D::Error::custom(format!("expected a whole number within range, got {value}"))
    })
}

/// [`whole_number`] for an optional parameter (`null` is none).
pub(crate) fn optional_whole_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse_whole_number(&value).map(Some).ok_or_else(|| {
            D::Error::custom(format!("expected a whole number within range, got {value}"))
        }),
    }
}

fn parse_whole_number<T: TryFrom<u64>>(value: &Value) -> Option<T> {
    let number = match value {
        Value::Number(number) => number.as_u64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    T::try_from(number).ok()
}

/// `true`, for `#[serde(default = ...)]`.
pub(crate) fn yes() -> bool {
    true
}

/// An octal mode written as a string (`"0644"`). A bare YAML number is
/// refused: `0644` and `644` mean different things to YAML 1.1 and 1.2.
pub(crate) fn mode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => crate::text::parse_mode(&text)
            .map(Some)
            .map_err(D::Error::custom),
        Some(other) => Err(D::Error::custom(format!(
            "mode must be a quoted octal string such as \"0644\", got {other}"
        ))),
    }
}

/// A list as Ansible's `list` type takes it: a list of scalars, or a
/// string split at commas.
pub(crate) fn to_list(value: Value) -> Result<Vec<String>, String> {
    let scalar =
        |value: &Value| scalar_text(value).ok_or_else(|| format!("expected a string, got {value}"));
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        Value::String(text) => Ok(text.split(',').map(str::to_string).collect()),
        Value::Null => Ok(Vec::new()),
        other => scalar(&other).map(|text| vec![text]),
    }
}

/// [`to_list`] as a deserializer.
pub(crate) fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    to_list(Value::deserialize(deserializer)?).map_err(D::Error::custom)
}

/// A scalar (string, number or bool) as text, for a `str` param that is
/// often written as a number (`age: 3600`); `null` is none.
pub(crate) fn optional_scalar<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value) => scalar_text(&value)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a string, got {value}"))),
    }
}

/// A scalar param as text: a string, a number or a bool as written.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Numbers {
        #[serde(deserialize_with = "whole_number")]
        port: u16,
        #[serde(default, deserialize_with = "optional_whole_number")]
        uid: Option<u32>,
    }

    #[test]
    fn whole_numbers_may_be_written_as_strings() {
        let parse =
            |value: Value| serde_json::from_value::<Numbers>(value).map_err(|e| e.to_string());
        let numbers = parse(json!({"port": "22", "uid": 1000})).unwrap();
        assert_eq!((numbers.port, numbers.uid), (22, Some(1000)));
        assert_eq!(parse(json!({"port": 8000})).unwrap().uid, None);
        assert_eq!(parse(json!({"port": 1, "uid": null})).unwrap().uid, None);
        for bad in [
            json!("70000"),
            json!("-1"),
            json!("2.5"),
            json!(true),
            json!("x"),
        ] {
            let err = parse(json!({ "port": bad })).unwrap_err();
            assert!(err.contains("expected a whole number"), "{err}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Params {
        #[serde(default, deserialize_with = "boolean")]
        flag: bool,
        #[serde(default, deserialize_with = "mode")]
        mode: Option<u32>,
    }

    fn parse(value: Value) -> Result<Params, String> {
        serde_json::from_value(value).map_err(|err| err.to_string())
    }

    #[test]
    fn booleans_accept_ansible_spellings() {
        for yes in [
            json!(true),
            json!("yes"),
            json!("True"),
            json!(1),
            json!("on"),
        ] {
            assert!(parse(json!({ "flag": yes })).unwrap().flag, "{yes}");
        }
        for no in [
            json!(false),
            json!("no"),
            json!("FALSE"),
            json!(0),
            json!("off"),
        ] {
            assert!(!parse(json!({ "flag": no })).unwrap().flag, "{no}");
        }
        assert!(!parse(json!({})).unwrap().flag);
        let err = parse(json!({"flag": "maybe"})).unwrap_err();
        assert!(err.contains("expected a boolean"), "{err}");
    }

    #[test]
    fn modes_must_be_quoted_octal() {
        assert_eq!(parse(json!({"mode": "0640"})).unwrap().mode, Some(0o640));
        assert_eq!(parse(json!({})).unwrap().mode, None);
        let err = parse(json!({"mode": 644})).unwrap_err();
        assert!(err.contains("quoted octal string"), "{err}");
        assert!(parse(json!({"mode": "u+x"})).is_err());
    }
}
