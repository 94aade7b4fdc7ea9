//! Typed readers for the values of play and task keys: each one checks the
//! YAML type and reports a located error naming the key.

use fleet_yaml::{Location, Node, YamlNode, location};

use crate::error::PlaybookError;

/// One file being read: its label (the path as shown in messages) and text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub(crate) label: &'a str,
    pub(crate) text: &'a str,
}

impl Fields<'_> {
    pub(crate) fn at(&self, node: &YamlNode) -> Location {
        location(self.label, &node.referenced)
    }

    /// `file:line:col` of a node, as kept in `origin` fields.
    pub(crate) fn origin(&self, node: &YamlNode) -> String {
        self.at(node).to_string()
    }

    /// Where the first character of a string scalar's value is: one column
    /// right of the node when the scalar is quoted.
    pub(crate) fn value_origin(&self, node: &YamlNode) -> String {
        let mut at = self.at(node);
        let quoted = self
            .text
            .lines()
            .nth(usize::try_from(at.line.saturating_sub(1)).unwrap_or(usize::MAX))
            .and_then(|line| {
                let column = usize::try_from(at.column.unwrap_or(1).saturating_sub(1)).ok()?;
                line.chars().nth(column)
            })
            .is_some_and(|first| first == '"' || first == '\'');
        if quoted {
            at.column = at.column.map(|column| column + 1);
        }
        at.to_string()
    }

    pub(crate) fn wrong_type(
        &self,
        node: &YamlNode,
        key: &str,
        expected: &str,
        example: &str,
    ) -> PlaybookError {
        PlaybookError::invalid(
            self.at(node),
            format!("`{key}` must be {expected}, got {}", node.value.describe()),
            format!("write it like `{example}`"),
        )
    }

    pub(crate) fn string(
        &self,
        node: &YamlNode,
        key: &str,
        example: &str,
    ) -> Result<String, PlaybookError> {
        match &node.value {
            Node::Str(text) if !text.trim().is_empty() => Ok(text.clone()),
            Node::Str(_) => Err(PlaybookError::invalid(
                self.at(node),
                format!("`{key}` must not be empty"),
                format!("write it like `{example}`"),
            )),
            _ => Err(self.wrong_type(node, key, "a string", example)),
        }
    }

    /// `true`/`false`, or the YAML 1.1 words Ansible also takes:
    /// `yes`/`no`, `on`/`off` (any case).
    pub(crate) fn bool(&self, node: &YamlNode, key: &str) -> Result<bool, PlaybookError> {
        let word = node.value.as_str().map(str::to_ascii_lowercase);
        match (&node.value, word.as_deref()) {
            (Node::Bool(value), _) => Ok(*value),
            (_, Some("yes" | "on" | "true")) => Ok(true),
            (_, Some("no" | "off" | "false")) => Ok(false),
            _ => Err(self.wrong_type(node, key, "true or false", &format!("{key}: true"))),
        }
    }

    /// A string or a list of strings.
    pub(crate) fn strings(
        &self,
        node: &YamlNode,
        key: &str,
        example: &str,
    ) -> Result<Vec<String>, PlaybookError> {
        match &node.value {
            Node::Null => Ok(Vec::new()),
            Node::Str(_) => Ok(vec![self.string(node, key, example)?]),
            Node::Seq(items) => items
                .iter()
                .map(|item| self.string(item, key, example))
                .collect(),
            _ => Err(self.wrong_type(node, key, "a string or a list of strings", example)),
        }
    }

    /// A number of at least `min`.
    pub(crate) fn number(
        &self,
        node: &YamlNode,
        key: &str,
        min: f64,
    ) -> Result<f64, PlaybookError> {
        let value = match &node.value {
            Node::Int(value) => *value as f64,
            Node::Float(value) => *value,
            _ => return Err(self.wrong_type(node, key, "a number", &format!("{key}: 10"))),
        };
        if value.is_finite() && value >= min {
            Ok(value)
        } else {
            Err(PlaybookError::invalid(
                self.at(node),
                format!("`{key}` must be at least {min}, got {value}"),
                format!("write it like `{key}: 10`"),
            ))
        }
    }

    /// A non-negative integer that fits in `u32`.
    pub(crate) fn count(&self, node: &YamlNode, key: &str) -> Result<u32, PlaybookError> {
        match &node.value {
            Node::Int(value) => u32::try_from(*value).map_err(|_| {
                PlaybookError::invalid(
                    self.at(node),
                    format!(
                        "`{key}` must be a whole number from 0 to {}, got {value}",
                        u32::MAX
                    ),
                    format!("write it like `{key}: 3`"),
                )
            }),
            _ => Err(self.wrong_type(node, key, "a whole number", &format!("{key}: 3"))),
        }
    }

    /// A conditional: an expression string, a YAML bool, or (when
    /// `list_ok`) a list of them, which means all must hold.
    pub(crate) fn condition(
        &self,
        node: &YamlNode,
        key: &str,
        list_ok: bool,
    ) -> Result<String, PlaybookError> {
        let example = format!("{key}: result.rc == 0");
        match &node.value {
            Node::Bool(value) => Ok(value.to_string()),
            Node::Str(text) => {
                if text.contains("{{") || text.contains("{%") {
                    crate::warnings::warn(
                        self.at(node),
                        format!(
                            "`{key}` is already an expression: `{{{{ }}}}` and `{{% %}}` in it are deprecated"
                        ),
                        format!("write it bare, like `{example}`"),
                    );
                }
                Ok(strip_braces(&self.string(node, key, &example)?).to_owned())
            }
            Node::Seq(items) if list_ok && !items.is_empty() => {
                let parts = items
                    .iter()
                    .map(|item| {
                        self.condition(item, key, false)
                            .map(|expr| format!("({expr})"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(parts.join(" and "))
            }
            _ => Err(self.wrong_type(
                node,
                key,
                if list_ok {
                    "an expression, true/false, or a list of expressions"
                } else {
                    "an expression or true/false"
                },
                &example,
            )),
        }
    }
}

/// `{{ expr }}` written where a bare expression is expected is accepted,
/// like Ansible does, as `expr`.
pub(crate) fn strip_braces(expr: &str) -> &str {
    let trimmed = expr.trim();
    match trimmed
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
    {
        Some(inner) if !inner.contains("{{") && !inner.contains("}}") => inner.trim(),
        _ => trimmed,
    }
}

/// Whether `name` can be used as a variable: letters, digits and `_`, not
/// starting with a digit.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A map key for a message: a string in backticks, anything else as written.
pub(crate) fn shown_key(key: &YamlNode) -> String {
    match key.value.as_str() {
        Some(text) => format!("`{text}`"),
        None => key.value.describe(),
    }
}

/// The entry `name` of a map node.
pub(crate) fn entry<'n>(node: &'n YamlNode, name: &str) -> Option<(&'n YamlNode, &'n YamlNode)> {
    match &node.value {
        Node::Map(entries) => entries
            .iter()
            .find(|(key, _)| key.value.as_str() == Some(name))
            .map(|(key, value)| (key, value)),
        _ => None,
    }
}
