//! The run's vault state, shared by every loader of the process: the
//! keyring the command line built (installed once, before anything is
//! loaded) and the decrypted values, which are secrets every output masks.
//! One process runs one command, so the state is process-wide; the YAML
//! reader decrypts wherever a document is read without each caller having
//! to carry the keyring.

use std::borrow::Cow;
use std::sync::RwLock;

use crate::error::VaultError;
use crate::keyring::{Decrypted, Keyring};

/// What a masked secret is printed as.
pub const MASK: &str = "********";

/// Secrets shorter than this are not masked: masking `1` or `yes` in every
/// line would make the output unreadable and reveal more than it hides.
pub const MIN_MASKED_LEN: usize = 4;

static KEYRING: RwLock<Option<Keyring>> = RwLock::new(None);
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Installs the run's keyring; later calls replace it.
pub fn install_keyring(keyring: Keyring) {
    if let Ok(mut slot) = KEYRING.write() {
        *slot = Some(keyring);
    }
}

/// Decrypts with the installed keyring (none installed: no secrets) and
/// leaves registering the plaintext as a secret to the caller.
pub fn decrypt_loaded(text: &[u8]) -> Result<Decrypted, VaultError> {
    match KEYRING.read().ok().as_ref().and_then(|slot| slot.as_ref()) {
        Some(keyring) => keyring.decrypt(text),
        None => Keyring::default().decrypt(text),
    }
}

/// Marks `value` as a secret: every output masks it from now on.
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_MASKED_LEN {
        return;
    }
    if let Ok(mut secrets) = SECRETS.write()
        && !secrets.iter().any(|known| known == value)
    {
        secrets.push(value.to_string());
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
}

/// Each line of a decrypted file's content as a secret.
pub fn register_content(content: &str) {
    for line in content.lines() {
        register_secret(line);
    }
}

/// `text` with every registered secret, and its JSON-escaped form, masked.
pub fn mask(text: &str) -> Cow<'_, str> {
    let Ok(secrets) = SECRETS.read() else {
        return Cow::Borrowed(text);
    };
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
        let escaped = json_escaped(secret);
        if escaped != *secret && out.contains(escaped.as_str()) {
            out = Cow::Owned(out.replace(escaped.as_str(), MASK));
        }
    }
    out
}

fn json_escaped(value: &str) -> String {
    let mut out = String::new();
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ch if (ch as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", ch as u32)),
            ch => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_masked_plain_and_json_escaped() {
        register_secret("hunter2-long");
        register_secret("a\"quoted\"one");
        register_secret("no");
        assert_eq!(mask("pw=hunter2-long!"), "pw=********!");
        assert_eq!(mask(r#"{"v":"a\"quoted\"one"}"#), r#"{"v":"********"}"#);
        assert_eq!(mask("no change"), "no change");
    }
}
