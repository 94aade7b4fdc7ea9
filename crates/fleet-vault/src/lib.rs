//! Ansible Vault for fleet: reads and writes the `$ANSIBLE_VAULT;1.1;AES256`
//! and `$ANSIBLE_VAULT;1.2;AES256;LABEL` formats byte-compatibly with
//! ansible-vault, picks the vault id that decrypts a text the way
//! ansible-core does, and loads passwords from files, scripts and prompts.

mod cipher;
mod envelope;
mod error;
mod keyring;
mod process;
mod sources;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod sources_tests;

pub use cipher::{SALT_LEN, decrypt, encrypt, encrypt_with_salt};
pub use envelope::{Envelope, HEADER, is_encrypted};
pub use error::VaultError;
pub use keyring::{DEFAULT_ID, Decrypted, Keyring, Secret};
pub use process::{
    MASK, MIN_MASKED_LEN, decrypt_loaded, install_keyring, mask, register_content, register_secret,
};
pub use sources::{PASSWORD_FILE_ENV, VaultOptions, prompt, prompt_new, read_source, split_slug};
