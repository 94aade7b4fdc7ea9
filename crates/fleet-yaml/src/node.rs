//! The YAML document as a tree of [`Node`]s that remember where they are.
//!
//! serde-saphyr parses the text; every node is wrapped in its [`Spanned`],
//! so a loader can point its own errors ("port must be a number...",
//! "unknown module...") at the exact line and column.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;

/// A YAML node with its location.
pub type YamlNode = Spanned<Node>;

/// One YAML value. Maps keep their entries in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<YamlNode>),
    Map(Vec<(YamlNode, YamlNode)>),
}

impl Node {
    /// The string, if this node is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(text) => Some(text),
            _ => None,
        }
    }

    /// How the node appears in "got ..." messages: scalars show their value,
    /// collections their kind.
    pub fn describe(&self) -> String {
        match self {
            Node::Null => "nothing (null)".to_owned(),
            Node::Bool(value) => value.to_string(),
            Node::Int(value) => value.to_string(),
            Node::Float(value) => value.to_string(),
            Node::Str(text) => message_quote(text),
            Node::Seq(_) => "a list".to_owned(),
            Node::Map(_) => "a map".to_owned(),
        }
    }

    /// A scalar as plain text, used for map keys inside free-form vars.
    pub fn key_text(&self) -> String {
        match self {
            Node::Str(text) => text.clone(),
            Node::Null => "null".to_owned(),
            other => other.describe(),
        }
    }

    /// Converts the node into JSON, the form vars are kept in.
    pub fn to_json(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(value) => Value::Bool(*value),
            Node::Int(value) => int_to_json(*value),
            Node::Float(value) => Number::from_f64(*value)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(value.to_string())),
            Node::Str(text) => Value::String(text.clone()),
            Node::Seq(items) => {
                Value::Array(items.iter().map(|item| item.value.to_json()).collect())
            }
            Node::Map(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    map.insert(key.value.key_text(), value.value.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// `text` for an error message: in double quotes with `\n`-style escapes,
/// cut after 60 characters (`"..."...`). Not for a shell; that is
/// `fleet_shell::quote`.
pub fn message_quote(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        let short: String = text.chars().take(MAX).collect();
        format!("{short:?}...")
    } else {
        format!("{text:?}")
    }
}

fn int_to_json(value: i128) -> Value {
    if let Ok(small) = i64::try_from(value) {
        Value::Number(small.into())
    } else if let Ok(big) = u64::try_from(value) {
        Value::Number(big.into())
    } else {
        Value::String(value.to_string())
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Node, E> {
        Ok(Node::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Node, E> {
        Ok(Node::Int(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Node, E> {
        Ok(Node::Int(value.into()))
    }

    fn visit_i128<E>(self, value: i128) -> Result<Node, E> {
        Ok(Node::Int(value))
    }

    fn visit_u128<E>(self, value: u128) -> Result<Node, E> {
        Ok(match i128::try_from(value) {
            Ok(value) => Node::Int(value),
            Err(_) => Node::Str(value.to_string()),
        })
    }

    fn visit_f64<E>(self, value: f64) -> Result<Node, E> {
        Ok(Node::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Node, E> {
        Ok(Node::Str(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Node, E> {
        Ok(Node::Str(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }

    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(value).into_owned()))
    }
}
