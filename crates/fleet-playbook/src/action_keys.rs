//! `action:` and `local_action:`, the old ways to write a task's module:
//! `local_action: command make` is `command: make` with
//! `delegate_to: localhost`, and `action: {module: copy, dest: /x}` is
//! `copy: {dest: /x}`. The task map is rewritten into the usual form before
//! it is read, so everything after (validation, locations) sees one shape.

use fleet_yaml::{Node, YamlNode, message_quote};

use crate::error::PlaybookError;
use crate::fields::{Fields, entry};

const EXAMPLE: &str = "local_action: command make   (or {module: command, cmd: make})";

/// `node` with its `action` or `local_action` written as the module key
/// (and `delegate_to: localhost` for `local_action`); `node` itself when it
/// has neither.
pub(crate) fn normalize(f: &Fields, node: &YamlNode) -> Result<YamlNode, PlaybookError> {
    let action = entry(node, "action");
    let local = entry(node, "local_action");
    let (key, value, local) = match (action, local) {
        (None, None) => return Ok(node.clone()),
        (Some(_), Some((second, _))) => {
            return Err(PlaybookError::invalid(
                f.at(second),
                "a task cannot have both `action` and `local_action`",
                "keep one: `local_action` is `action` run on the controller",
            ));
        }
        (Some((key, value)), None) => (key, value, false),
        (None, Some((key, value))) => (key, value, true),
    };
    if local && let Some((delegate, _)) = entry(node, "delegate_to") {
        return Err(PlaybookError::invalid(
            f.at(delegate),
            "a task cannot have both `local_action` and `delegate_to`",
            "`local_action` runs the module on the controller: drop `delegate_to`, or write \
             the module as usual and keep `delegate_to`",
        ));
    }
    let keyword = key.value.as_str().unwrap_or_default();
    let (module, params) = split(f, keyword, value)?;
    let Node::Map(entries) = &node.value else {
        return Ok(node.clone());
    };
    let mut rewritten = Vec::with_capacity(entries.len() + 1);
    for (k, v) in entries {
        if k.value.as_str() != Some(keyword) {
            rewritten.push((k.clone(), v.clone()));
            continue;
        }
        rewritten.push((
            YamlNode {
                value: Node::Str(module.clone()),
                ..k.clone()
            },
            params.clone(),
        ));
        if local {
            rewritten.push((
                YamlNode {
                    value: Node::Str("delegate_to".into()),
                    ..k.clone()
                },
                YamlNode {
                    value: Node::Str("localhost".into()),
                    ..k.clone()
                },
            ));
        }
    }
    Ok(YamlNode {
        value: Node::Map(rewritten),
        ..node.clone()
    })
}

/// The module and its params: `command make` (the first word, then the
/// rest as the module's free-form string), or a map with `module:`.
fn split(f: &Fields, keyword: &str, value: &YamlNode) -> Result<(String, YamlNode), PlaybookError> {
    let wrong = || f.wrong_type(value, keyword, "a module and its arguments", EXAMPLE);
    let (module, rest) = match &value.value {
        Node::Str(text) => {
            let text = text.trim_start();
            let (module, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            let rest = rest.trim_start();
            let params = if rest.is_empty() {
                Node::Null
            } else {
                Node::Str(rest.to_owned())
            };
            (module.to_owned(), params)
        }
        Node::Map(entries) => {
            let Some((_, module)) = entry(value, "module") else {
                return Err(PlaybookError::invalid(
                    f.at(value),
                    format!("`{keyword}` as a map needs a `module`"),
                    format!("write it like `{keyword}: {{module: copy, src: a, dest: /b}}`"),
                ));
            };
            let module = module.value.as_str().ok_or_else(wrong)?.trim().to_owned();
            let params: Vec<(YamlNode, YamlNode)> = entries
                .iter()
                .filter(|(k, _)| k.value.as_str() != Some("module"))
                .cloned()
                .collect();
            let params = if params.is_empty() {
                Node::Null
            } else {
                Node::Map(params)
            };
            (module, params)
        }
        _ => return Err(wrong()),
    };
    if module.is_empty() || module.contains(char::is_whitespace) {
        return Err(PlaybookError::invalid(
            f.at(value),
            format!("`{keyword}` names no module: {}", message_quote(&module)),
            format!("write it like `{EXAMPLE}`"),
        ));
    }
    Ok((
        module,
        YamlNode {
            value: rest,
            ..value.clone()
        },
    ))
}
