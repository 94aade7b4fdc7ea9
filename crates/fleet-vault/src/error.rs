//! Everything that can go wrong reading, decrypting or producing vault text.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("not vault encrypted data (no `$ANSIBLE_VAULT` header)")]
    NotEncrypted,
    #[error("vault envelope format error: {0}")]
    Format(String),
    #[error("unsupported vault cipher `{0}` (only AES256 exists)")]
    Cipher(String),
    #[error("unsupported vault format version `{0}` (1.1 and 1.2 are known)")]
    Version(String),
    #[error("HMAC verification failed: wrong vault password")]
    Hmac,
    #[error("no vault password was given for vault id `{label}`")]
    NoSecrets { label: String },
    #[error(
        "decryption failed: wrong vault password for vault id `{label}` (tried the vault ids {tried})"
    )]
    NoMatch { label: String, tried: String },
    #[error("no vault id `{0}` is known for --encrypt-vault-id (known: {1})")]
    NoEncryptId(String, String),
    #[error("a vault password must be given to encrypt data")]
    NoEncryptSecret,
    #[error("input is already vault encrypted")]
    AlreadyEncrypted,
    #[error("{0}")]
    Source(String),
    #[error("{0}")]
    Prompt(String),
}
