//! Where vault passwords come from, as ansible-core's CLI gathers them:
//! `--vault-id [LABEL@]SOURCE` (repeatable; SOURCE is a file, an executable
//! script, or `prompt`), then `--vault-password-file PATH` and the configured
//! `vault_password_file` / `ANSIBLE_VAULT_PASSWORD_FILE` as `default@PATH`,
//! then `--ask-vault-pass` as a `default` prompt.

use std::io::IsTerminal;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::VaultError;
use crate::keyring::{DEFAULT_ID, Keyring, Secret};

/// The environment variable ansible-core reads for the default password file.
pub const PASSWORD_FILE_ENV: &str = "ANSIBLE_VAULT_PASSWORD_FILE";

/// The password options of one command line.
#[derive(Debug, Clone, Default)]
pub struct VaultOptions {
    /// `--vault-id` values, in order.
    pub vault_ids: Vec<String>,
    /// `--vault-password-file` values, in order.
    pub password_files: Vec<String>,
    /// `--ask-vault-pass`.
    pub ask_vault_pass: bool,
    /// `vault_password_file` from ansible.cfg, or `ANSIBLE_VAULT_PASSWORD_FILE`.
    pub configured_file: Option<String>,
    /// A prompt asks twice for a new password (create, encrypt, rekey).
    pub new_password: bool,
}

impl VaultOptions {
    /// Sets the configured `vault_password_file` (ansible.cfg's `[defaults]`
    /// key); the environment variable wins when both are set, as in Ansible.
    pub fn with_configured_file(mut self, configured: Option<&str>) -> VaultOptions {
        let from_env = std::env::var(PASSWORD_FILE_ENV)
            .ok()
            .filter(|path| !path.is_empty());
        self.configured_file = from_env.or_else(|| configured.map(str::to_string));
        self
    }

    /// The `[LABEL@]SOURCE` slugs in the order Ansible loads them.
    pub fn slugs(&self) -> Vec<String> {
        let mut slugs = self.vault_ids.clone();
        let files = self
            .password_files
            .iter()
            .chain(self.configured_file.as_ref());
        slugs.extend(files.map(|file| format!("{DEFAULT_ID}@{file}")));
        if self.ask_vault_pass {
            slugs.push(format!("{DEFAULT_ID}@prompt"));
        }
        slugs
    }

    pub fn is_empty(&self) -> bool {
        self.slugs().is_empty()
    }

    /// Loads every source into a keyring. A source that fails is skipped
    /// with a warning as long as another one loads, as in Ansible; when none
    /// loads, the last failure is the error.
    pub fn load(&self, warn: &mut dyn FnMut(String)) -> Result<Keyring, VaultError> {
        let mut keyring = Keyring::default();
        let mut last_failure = None;
        for slug in self.slugs() {
            let (label, source) = split_slug(&slug);
            let id = label.unwrap_or(DEFAULT_ID).to_string();
            let loaded = if source == "prompt" || source == "prompt_ask_vault_pass" {
                let asked = if self.new_password {
                    prompt_new(&id)
                } else {
                    prompt(&id)
                };
                asked.map(|password| Secret::new(&id, password))
            } else {
                read_source(Path::new(source), &id).map(|password| Secret::new(&id, password))
            };
            match loaded {
                Ok(secret) => keyring.push(secret),
                Err(err @ VaultError::Source(_)) => {
                    warn(format!("vault id `{id}`: {err}"));
                    last_failure = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        match last_failure {
            Some(err) if keyring.is_empty() => Err(err),
            _ => Ok(keyring),
        }
    }
}

/// Splits `label@source`; a slug without `@` is a bare source.
pub fn split_slug(slug: &str) -> (Option<&str>, &str) {
    match slug.split_once('@') {
        Some((label, source)) => (Some(label), source),
        None => (None, slug),
    }
}

/// A password file's content, stripped of surrounding whitespace; an
/// executable's stdout stripped of line ends. An executable whose name ends
/// in `-client` (before any extension) is a client script and is run with
/// `--vault-id ID`.
pub fn read_source(path: &Path, id: &str) -> Result<Vec<u8>, VaultError> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|_| {
        VaultError::Source(format!("the vault password file {shown} was not found"))
    })?;
    if meta.is_dir() {
        return Err(VaultError::Source(format!(
            "the vault password file {shown} can not be a directory"
        )));
    }
    let password = if meta.permissions().mode() & 0o111 != 0 {
        run_script(path, id)?
    } else {
        let content = std::fs::read(path).map_err(|err| {
            VaultError::Source(format!("could not read vault password file {shown}: {err}"))
        })?;
        content.trim_ascii().to_vec()
    };
    if password.is_empty() {
        return Err(VaultError::Source(format!(
            "invalid (empty) vault password from {shown}"
        )));
    }
    Ok(password)
}

fn is_client_script(path: &Path) -> bool {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .is_some_and(|stem| stem.ends_with("-client"))
}

fn run_script(path: &Path, id: &str) -> Result<Vec<u8>, VaultError> {
    let shown = path.display();
    let mut command = Command::new(path);
    if is_client_script(path) {
        command.args(["--vault-id", id]);
    }
    let output = command
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| {
            VaultError::Source(format!(
                "problem running vault password script {shown}: {err}"
            ))
        })?;
    if !output.status.success() {
        return Err(VaultError::Source(format!(
            "vault password script {shown} returned non-zero ({})",
            output.status.code().unwrap_or(-1)
        )));
    }
    let mut password = output.stdout;
    while password
        .last()
        .is_some_and(|byte| matches!(byte, b'\r' | b'\n'))
    {
        password.pop();
    }
    while password
        .first()
        .is_some_and(|byte| matches!(byte, b'\r' | b'\n'))
    {
        password.remove(0);
    }
    Ok(password)
}

/// Asks on the terminal; off a terminal there is no one to ask.
pub fn prompt(id: &str) -> Result<Vec<u8>, VaultError> {
    if !std::io::stdin().is_terminal() {
        return Err(VaultError::Prompt(format!(
            "vault id `{id}` asks for a password, but standard input is not a terminal"
        )));
    }
    let label = if id == DEFAULT_ID {
        "Vault password: ".to_string()
    } else {
        format!("Vault password ({id}): ")
    };
    let password =
        rpassword::prompt_password(label).map_err(|err| VaultError::Prompt(err.to_string()))?;
    let password = password.trim().as_bytes().to_vec();
    if password.is_empty() {
        return Err(VaultError::Prompt(format!(
            "invalid (empty) vault password for vault id `{id}`"
        )));
    }
    Ok(password)
}

/// Asks twice for a new password (create/encrypt/rekey on a terminal).
pub fn prompt_new(id: &str) -> Result<Vec<u8>, VaultError> {
    if !std::io::stdin().is_terminal() {
        return Err(VaultError::Prompt(
            "a new vault password is asked for, but standard input is not a terminal".into(),
        ));
    }
    let first = rpassword::prompt_password(format!("New vault password ({id}): "))
        .map_err(|err| VaultError::Prompt(err.to_string()))?;
    let second = rpassword::prompt_password(format!("Confirm new vault password ({id}): "))
        .map_err(|err| VaultError::Prompt(err.to_string()))?;
    if first != second {
        return Err(VaultError::Prompt("passwords do not match".into()));
    }
    let password = first.trim().as_bytes().to_vec();
    if password.is_empty() {
        return Err(VaultError::Prompt("invalid (empty) vault password".into()));
    }
    Ok(password)
}
