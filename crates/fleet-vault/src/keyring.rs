//! The vault secrets a run knows, in order, and Ansible's rule for which one
//! decrypts what: the secret whose id matches a 1.2 label first, then every
//! other secret in order. Encryption takes `--encrypt-vault-id`'s secret, or
//! the first one.

use crate::cipher;
use crate::envelope::{Envelope, is_encrypted};
use crate::error::VaultError;

pub const DEFAULT_ID: &str = "default";

/// One vault password under its vault id. Its Debug output hides the bytes.
#[derive(Clone)]
pub struct Secret {
    pub id: String,
    password: Vec<u8>,
}

impl Secret {
    pub fn new(id: impl Into<String>, password: impl Into<Vec<u8>>) -> Secret {
        Secret {
            id: id.into(),
            password: password.into(),
        }
    }

    pub fn password(&self) -> &[u8] {
        &self.password
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(out, "Secret({})", self.id)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Keyring {
    secrets: Vec<Secret>,
}

/// What decryption gives: the plaintext and the id of the secret that worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    pub plaintext: Vec<u8>,
    pub vault_id: String,
}

impl Keyring {
    pub fn new(secrets: Vec<Secret>) -> Keyring {
        Keyring { secrets }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn ids(&self) -> Vec<&str> {
        self.secrets
            .iter()
            .map(|secret| secret.id.as_str())
            .collect()
    }

    pub fn push(&mut self, secret: Secret) {
        self.secrets.push(secret);
    }

    /// The secrets in the order decryption tries them for this label.
    fn candidates<'a>(&'a self, label: Option<&'a str>) -> impl Iterator<Item = &'a Secret> {
        let label = label.unwrap_or(DEFAULT_ID);
        let matching = self.secrets.iter().filter(move |secret| secret.id == label);
        let others = self.secrets.iter().filter(move |secret| secret.id != label);
        matching.chain(others)
    }

    pub fn decrypt(&self, text: &[u8]) -> Result<Decrypted, VaultError> {
        let envelope = Envelope::parse(text)?;
        if self.secrets.is_empty() {
            return Err(VaultError::NoSecrets {
                label: envelope
                    .label
                    .clone()
                    .unwrap_or_else(|| DEFAULT_ID.to_string()),
            });
        }
        for secret in self.candidates(envelope.label.as_deref()) {
            match cipher::decrypt(&envelope, &secret.password) {
                Ok(plaintext) => {
                    return Ok(Decrypted {
                        plaintext,
                        vault_id: secret.id.clone(),
                    });
                }
                Err(VaultError::Hmac) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(VaultError::NoMatch {
            label: envelope
                .label
                .clone()
                .unwrap_or_else(|| DEFAULT_ID.to_string()),
            tried: self.ids_list(),
        })
    }

    /// The secret to encrypt with: `encrypt_id`'s, else the first.
    pub fn encrypt_secret(&self, encrypt_id: Option<&str>) -> Result<&Secret, VaultError> {
        match encrypt_id {
            Some(id) => self
                .secrets
                .iter()
                .find(|secret| secret.id == id)
                .ok_or_else(|| VaultError::NoEncryptId(id.to_string(), self.ids_list())),
            None => self.secrets.first().ok_or(VaultError::NoEncryptSecret),
        }
    }

    /// Encrypts into envelope text, labelled with the secret's id (1.2) unless
    /// that is `default` (1.1).
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        encrypt_id: Option<&str>,
    ) -> Result<String, VaultError> {
        if is_encrypted(plaintext) {
            return Err(VaultError::AlreadyEncrypted);
        }
        let secret = self.encrypt_secret(encrypt_id)?;
        Ok(cipher::encrypt(plaintext, &secret.password, Some(&secret.id))?.format())
    }

    fn ids_list(&self) -> String {
        format!("[{}]", self.ids().join(", "))
    }
}
