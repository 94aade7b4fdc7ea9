//! Ansible Vault inside YAML: a document that is a whole vault-encrypted
//! file, and scalars tagged `!vault`. Both are decrypted with the run's
//! keyring (`fleet_vault::install_keyring`) as the document is read, and
//! every decrypted value becomes a secret the outputs mask.

use crate::diagnostic::Diagnostic;
use crate::document::{YamlError, YamlErrorKind};
use crate::location::{Location, location};
use crate::node::{Node, YamlNode};

const HINT: &str = "give the password of its vault id with --vault-password-file FILE, \
                    --vault-id LABEL@FILE or --ask-vault-pass";

/// The plaintext of a whole-file vault, or `None` when `text` is not one.
pub fn decrypt_whole(text: &str, source: &str) -> Result<Option<String>, YamlError> {
    if !fleet_vault::is_encrypted(text.as_bytes()) {
        return Ok(None);
    }
    let decrypted = fleet_vault::decrypt_loaded(text.as_bytes())
        .map_err(|err| vault_error(Location::new(source, 1, 1), "vault-encrypted file", &err))?;
    let plaintext = String::from_utf8(decrypted.plaintext).map_err(|_| YamlError {
        diagnostic: Diagnostic::new(
            Location::new(source, 1, 1),
            "the decrypted vault file is not UTF-8 text",
        ),
        kind: YamlErrorKind::Vault,
    })?;
    Ok(Some(plaintext))
}

/// Replaces each `!vault`-tagged string in `node` with its plaintext, and
/// registers every string of a decrypted whole file (`whole_file`) as a secret.
pub fn decrypt_tagged(
    node: &mut YamlNode,
    text: &str,
    source: &str,
    whole_file: bool,
) -> Result<(), YamlError> {
    let tagged = is_vault_tagged(node, text);
    match &mut node.value {
        Node::Str(value) if tagged => {
            let at = location(source, &node.referenced);
            let decrypted = fleet_vault::decrypt_loaded(value.as_bytes())
                .map_err(|err| vault_error(at.clone(), "`!vault` value", &err))?;
            let plaintext = String::from_utf8(decrypted.plaintext).map_err(|_| YamlError {
                diagnostic: Diagnostic::new(at, "the decrypted `!vault` value is not UTF-8 text"),
                kind: YamlErrorKind::Vault,
            })?;
            fleet_vault::register_secret(&plaintext);
            *value = plaintext;
        }
        Node::Str(value) if whole_file => fleet_vault::register_secret(value),
        Node::Int(_) | Node::Float(_) if whole_file => {
            fleet_vault::register_secret(&node.value.key_text())
        }
        Node::Seq(items) => {
            for item in items {
                decrypt_tagged(item, text, source, whole_file)?;
            }
        }
        Node::Map(entries) => {
            for (_, value) in entries {
                decrypt_tagged(value, text, source, whole_file)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn vault_error(at: Location, what: &str, err: &fleet_vault::VaultError) -> YamlError {
    YamlError {
        diagnostic: Diagnostic::hinted(at, format!("cannot decrypt this {what}: {err}"), HINT),
        kind: YamlErrorKind::Vault,
    }
}

/// Whether the scalar was written `!vault |`, `!vault >` or `!vault "..."`:
/// serde-saphyr drops the tag, so the text before the scalar is read back.
fn is_vault_tagged(node: &YamlNode, text: &str) -> bool {
    if !matches!(node.value, Node::Str(_)) {
        return false;
    }
    let Some(start) = node
        .defined
        .span()
        .byte_offset()
        .and_then(|start| usize::try_from(start).ok())
    else {
        return false;
    };
    let Some(before) = text.get(..start) else {
        return false;
    };
    let before = before.trim_end();
    let before = before.trim_end_matches(|ch: char| ch.is_ascii_digit() || ch == '-' || ch == '+');
    let before = before.strip_suffix(['|', '>']).unwrap_or(before).trim_end();
    before.strip_suffix("!vault").is_some_and(|rest| {
        rest.is_empty() || rest.ends_with([' ', '\t', '\n', ':', '-', '[', ',', '{'])
    })
}
