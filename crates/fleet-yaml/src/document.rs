//! Parsing one YAML document into a [`YamlNode`] tree.
//!
//! Syntax errors, duplicate keys and extra documents are reported by
//! serde-saphyr itself and turned into a located [`YamlError`]; each caller
//! adds its own hint for the [`YamlErrorKind`].

use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use crate::diagnostic::Diagnostic;
use crate::location::{Location, location};
use crate::node::{Node, YamlNode};

/// Why a text is not one valid YAML document.
///
/// `Display`: `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{diagnostic}")]
pub struct YamlError {
    /// Where the parser stopped and what is wrong, without a hint: the
    /// hint depends on what the document was meant to be.
    pub diagnostic: Diagnostic,
    /// What kind of problem it is, so callers can choose their hint.
    pub kind: YamlErrorKind,
}

/// The kinds of [`YamlError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YamlErrorKind {
    /// Not YAML: bad indentation, a tab, an unclosed quote...
    Syntax,
    /// The same key twice in one map.
    DuplicateKey,
    /// More than one document (`---`) in the text.
    MultipleDocuments,
    /// A vault-encrypted file or `!vault` value that cannot be decrypted;
    /// its diagnostic carries the hint already.
    Vault,
}

/// Parses `text` as one YAML document; `source` names it in locations.
///
/// Options: duplicate keys are rejected (serde-saphyr's default, kept
/// explicit here); numbers written with a leading zero such as `0644` stay
/// strings, so file modes in vars keep their meaning.
pub fn parse_document(text: &str, source: &str) -> Result<YamlNode, YamlError> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        leading_zero_numbers_as_strings: true,
    };
    let decrypted = crate::vault::decrypt_whole(text, source)?;
    let whole_file = decrypted.is_some();
    let text = decrypted.as_deref().unwrap_or(text);
    let mut root = serde_saphyr::from_str_with_options(text, options)
        .map_err(|err| yaml_error(&err, source))?;
    keep_pyyaml_bools(&mut root, text);
    crate::vault::decrypt_tagged(&mut root, text, source, whole_file)?;
    Ok(root)
}

/// The plain words that Ansible's YAML reader (PyYAML, YAML 1.1) takes as
/// bools. serde-saphyr's YAML 1.1 mode also takes `y`, `n` and any case
/// (`yEs`), which stay strings in Ansible: `loop: [x, y]` loops over two
/// letters.
const PYYAML_BOOLS: &[&str] = &[
    "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on",
    "On", "ON", "off", "Off", "OFF",
];

/// Turns each bool that PyYAML would read as a string back into the string
/// written in `text`.
fn keep_pyyaml_bools(node: &mut YamlNode, text: &str) {
    match &mut node.value {
        Node::Bool(_) => {
            let span = node.defined.span();
            let written = span
                .byte_offset()
                .zip(span.byte_len())
                .and_then(|(start, len)| {
                    let start = usize::try_from(start).ok()?;
                    text.get(start..start + usize::try_from(len).ok()?)
                });
            if let Some(word) = written.map(str::trim)
                && !word.starts_with('!')
                && !PYYAML_BOOLS.contains(&word)
            {
                node.value = Node::Str(word.to_owned());
            }
        }
        Node::Seq(items) => {
            for item in items {
                keep_pyyaml_bools(item, text);
            }
        }
        Node::Map(entries) => {
            for (key, value) in entries {
                keep_pyyaml_bools(key, text);
                keep_pyyaml_bools(value, text);
            }
        }
        _ => {}
    }
}

fn yaml_error(err: &serde_saphyr::Error, source: &str) -> YamlError {
    let location = match err.location() {
        Some(at) => location(source, &at),
        None => Location::new(source, 1, 1),
    };
    let (kind, message) = match err.without_snippet() {
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => (
            YamlErrorKind::DuplicateKey,
            match key {
                Some(key) => format!("duplicate key `{key}` in the same map"),
                None => "duplicate key in the same map".to_owned(),
            },
        ),
        serde_saphyr::Error::MultipleDocuments { .. } => (
            YamlErrorKind::MultipleDocuments,
            "more than one YAML document (`---`) in one file".to_owned(),
        ),
        other => (
            YamlErrorKind::Syntax,
            format!(
                "invalid YAML: {}",
                UserMessageFormatter.format_message(other)
            ),
        ),
    };
    YamlError {
        diagnostic: Diagnostic::new(location, message.replace('\n', " ")),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_error(text: &str) -> YamlError {
        parse_document(text, "doc.yaml").expect_err("invalid YAML")
    }

    #[test]
    fn nodes_keep_their_values_and_locations() {
        let root = parse_document("all:\n  mode: 0644\n  port: 22\n", "doc.yaml").expect("valid");
        assert_eq!(
            root.value.to_json(),
            json!({"all": {"mode": "0644", "port": 22}})
        );
        let Node::Map(top) = &root.value else {
            panic!("a map, got {:?}", root.value)
        };
        let Node::Map(entries) = &top[0].1.value else {
            panic!("a map, got {:?}", top[0].1.value)
        };
        let (key, value) = &entries[1];
        assert_eq!(key.value.as_str(), Some("port"));
        assert_eq!(
            location("doc.yaml", &value.referenced).to_string(),
            "doc.yaml:3:9"
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse_error("all:\n  hosts: [web1, web2\n");
        assert_eq!(err.kind, YamlErrorKind::Syntax);
        assert_eq!(
            err.to_string(),
            "doc.yaml:2:10: invalid YAML: unclosed bracket '['"
        );
    }

    #[test]
    fn tabs_are_syntax_errors() {
        let err = parse_error("all:\n\thosts: {}\n");
        assert_eq!(err.kind, YamlErrorKind::Syntax);
        assert_eq!(err.diagnostic.location.line, 2, "{err}");
    }

    #[test]
    fn duplicate_keys_name_the_key_and_point_at_the_second_one() {
        let err = parse_error("a: 1\nb: 2\na: 3\n");
        assert_eq!(err.kind, YamlErrorKind::DuplicateKey);
        assert_eq!(err.diagnostic.message, "duplicate key `a` in the same map");
        assert_eq!(err.diagnostic.location, Location::new("doc.yaml", 3, 1));
        assert_eq!(err.diagnostic.hint, None);
        assert_eq!(
            err.to_string(),
            "doc.yaml:3:1: duplicate key `a` in the same map"
        );
    }

    #[test]
    fn several_documents_are_rejected() {
        let err = parse_error("a: 1\n---\nb: 2\n");
        assert_eq!(err.kind, YamlErrorKind::MultipleDocuments);
        assert_eq!(
            err.diagnostic.message,
            "more than one YAML document (`---`) in one file"
        );
    }

    #[test]
    fn only_the_words_pyyaml_reads_as_bools_are_bools() {
        let root = parse_document(
            "a: [x, y, n, Y, N, yEs, yes, No, ON, off, true, FALSE]\nb: !!bool true\nc: &v y\nd: *v\n",
            "doc.yaml",
        )
        .expect("valid");
        assert_eq!(
            root.value.to_json(),
            json!({
                "a": ["x", "y", "n", "Y", "N", "yEs", true, false, true, false, true, false],
                "b": true,
                "c": "y",
                "d": "y",
            })
        );
    }
}
