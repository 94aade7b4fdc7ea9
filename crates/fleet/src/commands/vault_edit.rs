//! `fleet vault create|edit`: the plaintext lives only in a 0600 temporary
//! file while $EDITOR runs, and that file is removed afterwards, whatever
//! the editor did.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use fleet_vault::{Envelope, Keyring};

use crate::commands::vault::{decrypt_input, write_output};
use crate::error::CliError;

pub fn create(file: &Path, ring: &Keyring, id: Option<&str>) -> Result<(), CliError> {
    if file.exists() {
        return Err(CliError::Usage(format!(
            "{} exists, use `fleet vault edit` instead",
            file.display()
        )));
    }
    let edited = edit_in_temp(file, b"")?;
    if edited.is_empty() {
        return Ok(());
    }
    let text = ring
        .encrypt(&edited, id)
        .map_err(crate::commands::vault::vault_error)?;
    write_output(file, text.as_bytes())
}

/// Re-encrypts with the id (and so the password) that opened the file,
/// keeping its label; an unchanged file is left as it was.
pub fn edit(file: &Path, ring: &Keyring) -> Result<(), CliError> {
    let original = decrypt_input(ring, file)?;
    let edited = edit_in_temp(file, &original)?;
    if edited == original {
        return Ok(());
    }
    let text = std::fs::read(file)?;
    let opened_with = ring
        .decrypt(&text)
        .map_err(crate::commands::vault::vault_error)?
        .vault_id;
    let label = Envelope::parse(&text)
        .ok()
        .and_then(|envelope| envelope.label);
    let keep = label
        .filter(|label| ring.ids().contains(&label.as_str()))
        .unwrap_or(opened_with);
    let text = ring
        .encrypt(&edited, Some(&keep))
        .map_err(crate::commands::vault::vault_error)?;
    write_output(file, text.as_bytes())
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn edit_in_temp(file: &Path, content: &[u8]) -> Result<Vec<u8>, CliError> {
    let suffix = file
        .extension()
        .map(|ext| format!(".{}", ext.to_string_lossy()))
        .unwrap_or_default();
    let temp = create_temp(&suffix, content)?;
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|editor| !editor.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let status = Command::new(program)
        .args(words)
        .arg(&temp.0)
        .status()
        .map_err(|err| CliError::Usage(format!("unable to run the editor `{editor}`: {err}")))?;
    if !status.success() {
        return Err(CliError::Usage(format!(
            "the editor `{editor}` failed ({status}); {} is unchanged",
            file.display()
        )));
    }
    Ok(std::fs::read(&temp.0)?)
}

fn create_temp(suffix: &str, content: &[u8]) -> Result<TempFile, CliError> {
    let dir = std::env::temp_dir();
    for attempt in 0..100u32 {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random)
            .map_err(|err| CliError::Usage(format!("no randomness available: {err}")))?;
        let name = format!(
            "fleet-vault-{}-{attempt}{suffix}",
            u64::from_le_bytes(random)
        );
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut out) => {
                let temp = TempFile(path);
                out.write_all(content)?;
                return Ok(temp);
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(CliError::Usage(
        "cannot create a temporary file for the editor".into(),
    ))
}
