//! Where names appear in template text, for the checks.

use fleet_yaml::{Node, YamlNode};
use regex::Regex;

/// Whether `text` only uses `name` where it may be undefined:
/// `name | default(...)`, `name | d(...)`, `name is defined`.
pub(super) fn guarded(text: &str, name: &str) -> bool {
    let name = regex::escape(name);
    let pattern =
        format!(r"\b{name}\s*\|\s*(default|d)\b|\b{name}\s+is\s+(not\s+)?(defined|undefined)\b");
    Regex::new(&pattern).is_ok_and(|regex| regex.is_match(text))
}

/// The first line (from 1) where `name` appears as a whole word.
pub(super) fn line_of(source: &str, name: &str) -> usize {
    let pattern = format!(r"\b{}\b", regex::escape(name));
    let Ok(regex) = Regex::new(&pattern) else {
        return 1;
    };
    source
        .lines()
        .position(|line| regex.is_match(line))
        .map_or(1, |index| index + 1)
}

/// Calls `visit` with every string scalar under `node` (map values and list
/// items, not map keys).
pub(super) fn walk_strings<E>(
    node: &YamlNode,
    visit: &mut impl FnMut(&YamlNode, &str) -> Result<(), E>,
) -> Result<(), E> {
    match &node.value {
        Node::Str(text) => visit(node, text),
        Node::Seq(items) => items.iter().try_for_each(|item| walk_strings(item, visit)),
        Node::Map(entries) => entries
            .iter()
            .try_for_each(|(_, value)| walk_strings(value, visit)),
        _ => Ok(()),
    }
}
