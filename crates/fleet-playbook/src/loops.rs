//! A task's loop: `loop:`, or one of Ansible's `with_*` keywords, and
//! `loop_control`. A `with_*` value is kept as written, like `loop`'s; per
//! host it is rendered, then [`LoopLookup::items`] turns it into the loop's
//! items as the Ansible lookup of that name does.

use fleet_yaml::{Node, YamlNode, did_you_mean, message_quote};
use serde::Serialize;
use serde_json::Value;

use crate::error::PlaybookError;
use crate::fields::{Fields, is_identifier, shown_key};
use crate::vars::BUILTIN_VARS;

/// The `with_*` keyword a task loops with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopLookup {
    /// The list, with lists in it flattened one level.
    Items,
    /// The list as it is.
    List,
    /// A map's entries as `{key, value}` items.
    Dict,
    /// Lists zipped: item N holds the Nth element of each (null where a
    /// list is shorter).
    Together,
    /// Numbers formatted as strings: `start`, `end` (or `count`), `stride`,
    /// `format`.
    Sequence,
    /// Each element of a list of maps, paired with each element of one of
    /// its lists: `[element, sub-element]`.
    Subelements,
    /// Every combination of one element of each list.
    Nested,
    /// Controller files matching glob patterns.
    Fileglob,
}

/// The `with_*` keywords fleet runs, with their lookups.
pub(crate) const LOOP_KEYWORDS: &[(&str, LoopLookup)] = &[
    ("with_items", LoopLookup::Items),
    ("with_list", LoopLookup::List),
    ("with_dict", LoopLookup::Dict),
    ("with_together", LoopLookup::Together),
    ("with_sequence", LoopLookup::Sequence),
    ("with_subelements", LoopLookup::Subelements),
    ("with_nested", LoopLookup::Nested),
    ("with_fileglob", LoopLookup::Fileglob),
];

impl LoopLookup {
    /// The keyword, e.g. `with_items`.
    pub fn keyword(self) -> &'static str {
        LOOP_KEYWORDS
            .iter()
            .find(|(_, lookup)| *lookup == self)
            .map_or("loop", |(keyword, _)| keyword)
    }
}

/// `loop_control`: how the loop names its item and reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopControl {
    /// The variable holding the item; `item` unless written.
    pub loop_var: String,
    /// A variable holding the item's index, from 0.
    pub index_var: Option<String>,
    /// A template shown instead of the item in the output.
    pub label: Option<String>,
    /// Seconds to wait between items.
    pub pause: Option<f64>,
    /// Sets `ansible_loop` (`index`, `index0`, `first`, `last`, `length`,
    /// `revindex`, `revindex0`, `previtem`, `nextitem`, `allitems`).
    pub extended: bool,
    /// With `extended`: include `ansible_loop.allitems`. Default `true`.
    pub extended_allitems: bool,
}

impl Default for LoopControl {
    fn default() -> Self {
        LoopControl {
            loop_var: "item".to_owned(),
            index_var: None,
            label: None,
            pause: None,
            extended: false,
            extended_allitems: true,
        }
    }
}

impl LoopControl {
    /// The variables a looped task's templates may use besides the item's.
    pub fn variables(&self) -> Vec<&str> {
        let mut names = vec![self.loop_var.as_str(), "ansible_loop_var"];
        if let Some(index) = &self.index_var {
            names.extend([index.as_str(), "ansible_index_var"]);
        }
        if self.extended {
            names.push("ansible_loop");
        }
        names
    }
}

/// The `loop_control` keys.
const LOOP_CONTROL_KEYS: &[&str] = &[
    "loop_var",
    "index_var",
    "label",
    "pause",
    "extended",
    "extended_allitems",
];

/// The lookup of a task key, when it is a `with_*` keyword; an error for a
/// `with_*` fleet does not run.
pub(crate) fn loop_keyword(
    f: &Fields,
    key: &YamlNode,
    name: &str,
) -> Result<Option<LoopLookup>, PlaybookError> {
    if let Some((_, lookup)) = LOOP_KEYWORDS.iter().find(|(keyword, _)| *keyword == name) {
        return Ok(Some(*lookup));
    }
    if !name.starts_with("with_") {
        return Ok(None);
    }
    let keywords: Vec<&str> = LOOP_KEYWORDS.iter().map(|(keyword, _)| *keyword).collect();
    let near = did_you_mean(name, keywords.iter().copied())
        .map(|near| near + " ")
        .unwrap_or_default();
    Err(PlaybookError::invalid(
        f.at(key),
        format!("`{name}` is not a loop fleet runs"),
        format!(
            "{near}fleet runs `loop` and {}; write other loops as `loop:` over a list",
            keywords.join(", ")
        ),
    ))
}

/// Checks the shape of a `with_*` value that holds no template, and
/// returns it as written.
pub(crate) fn read_terms(
    f: &Fields,
    node: &YamlNode,
    lookup: LoopLookup,
) -> Result<Value, PlaybookError> {
    let keyword = lookup.keyword();
    let template = |node: &YamlNode| matches!(&node.value, Node::Str(text) if crate::templater::is_template(text));
    let wrong = |expected: &str, example: &str| f.wrong_type(node, keyword, expected, example);
    let fine = match (&node.value, lookup) {
        (Node::Str(_), LoopLookup::Dict | LoopLookup::Subelements | LoopLookup::List) => {
            template(node)
        }
        (Node::Str(_), _) => true,
        (Node::Seq(_), LoopLookup::Dict) => true,
        (Node::Seq(items), LoopLookup::Subelements) => (2..=3).contains(&items.len()),
        (Node::Seq(items), LoopLookup::Together | LoopLookup::Nested) => !items.is_empty(),
        (Node::Seq(items), LoopLookup::Fileglob | LoopLookup::Sequence) => {
            items.iter().all(|item| matches!(item.value, Node::Str(_)))
        }
        (Node::Seq(_), _) => true,
        (Node::Map(_), LoopLookup::Dict | LoopLookup::Sequence) => true,
        _ => false,
    };
    if fine {
        return Ok(node.value.to_json());
    }
    Err(match lookup {
        LoopLookup::Items | LoopLookup::List => {
            wrong("a list or a template string", &format!("{keyword}: [a, b]"))
        }
        LoopLookup::Dict => wrong("a map or a template string", "with_dict: \"{{ users }}\""),
        LoopLookup::Together | LoopLookup::Nested => wrong(
            "a list of lists",
            &format!("{keyword}: [[a, b], \"{{{{ ports }}}}\"]"),
        ),
        LoopLookup::Sequence => wrong(
            "a string such as `start=1 end=5`, or a map",
            "with_sequence: start=1 end=5 format=web%02d",
        ),
        LoopLookup::Subelements => wrong(
            "a list of a list (or a template) and a key, with optional flags",
            "with_subelements: [\"{{ users }}\", authorized_keys]",
        ),
        LoopLookup::Fileglob => wrong(
            "a pattern or a list of patterns",
            "with_fileglob: \"conf.d/*.conf\"",
        ),
    })
}

/// Reads `loop_control`.
pub(crate) fn read_loop_control(f: &Fields, node: &YamlNode) -> Result<LoopControl, PlaybookError> {
    const EXAMPLE: &str = "loop_control: {loop_var: user, label: \"{{ user.name }}\"}";
    let Node::Map(entries) = &node.value else {
        return Err(f.wrong_type(node, "loop_control", "a map", EXAMPLE));
    };
    let mut control = LoopControl::default();
    for (key, value) in entries {
        let name = key.value.as_str().unwrap_or_default();
        match name {
            "loop_var" => control.loop_var = read_variable(f, value, name)?,
            "index_var" => control.index_var = Some(read_variable(f, value, name)?),
            "label" => control.label = Some(f.string(value, name, "label: \"{{ item.name }}\"")?),
            "pause" => control.pause = Some(f.number(value, name, 0.0)?),
            "extended" => control.extended = f.bool(value, name)?,
            "extended_allitems" => control.extended_allitems = f.bool(value, name)?,
            _ => {
                let near = did_you_mean(name, LOOP_CONTROL_KEYS.iter().copied())
                    .map(|near| near + " ")
                    .unwrap_or_default();
                return Err(PlaybookError::invalid(
                    f.at(key),
                    format!("unknown `loop_control` key {}", shown_key(key)),
                    format!(
                        "{near}`loop_control` may hold {}",
                        LOOP_CONTROL_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    if control.index_var.as_deref() == Some(control.loop_var.as_str()) {
        return Err(PlaybookError::invalid(
            f.at(node),
            format!("`loop_var` and `index_var` are both `{}`", control.loop_var),
            "give the index its own name, e.g. `index_var: index`",
        ));
    }
    Ok(control)
}

fn read_variable(f: &Fields, node: &YamlNode, key: &str) -> Result<String, PlaybookError> {
    let name = f.string(node, key, &format!("{key}: server"))?;
    if !is_identifier(&name) {
        return Err(PlaybookError::invalid(
            f.at(node),
            format!(
                "`{key}` needs a variable name, got {}",
                message_quote(&name)
            ),
            "use letters, digits and `_`, not starting with a digit, e.g. `server`",
        ));
    }
    if BUILTIN_VARS.contains(&name.as_str()) {
        return Err(PlaybookError::invalid(
            f.at(node),
            format!("`{key}: {name}` would hide the built-in variable `{name}`"),
            format!(
                "pick another name; built-in variables: {}",
                BUILTIN_VARS.join(", ")
            ),
        ));
    }
    Ok(name)
}
