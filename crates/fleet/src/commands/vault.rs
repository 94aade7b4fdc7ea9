//! `fleet vault`: ansible-vault's actions over the same files, byte for byte.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use fleet_vault::{Keyring, VaultOptions};

use crate::commands::vault_args::{EncryptingArgs, VaultAction, VaultArgs, VaultPasswordArgs};
use crate::commands::vault_edit;
use crate::error::CliError;
use crate::exit::Exit;

/// `configured` is ansible.cfg's `vault_password_file`.
pub fn vault(args: VaultArgs, configured: Option<&Path>) -> Result<Exit, CliError> {
    match args.action {
        VaultAction::Create {
            encrypting,
            skip_tty_check,
            file,
        } => {
            let (ring, id) = encrypting_ring(&encrypting, configured)?;
            if !(skip_tty_check || std::io::stdout().is_terminal()) {
                return Err(CliError::Usage(
                    "not a tty, the editor cannot be opened (--skip-tty-check opens it anyway)"
                        .into(),
                ));
            }
            vault_edit::create(&file, &ring, id.as_deref())?;
        }
        VaultAction::Encrypt {
            encrypting,
            output,
            files,
        } => {
            check_one_input(&output, files.len())?;
            let (ring, id) = encrypting_ring(&encrypting, configured)?;
            for file in inputs(files) {
                let plaintext = read_input(&file)?;
                let text = ring
                    .encrypt(&plaintext, id.as_deref())
                    .map_err(|err| located(&file, err))?;
                write_output(output.as_ref().unwrap_or(&file), text.as_bytes())?;
            }
            success("Encryption successful");
        }
        VaultAction::Decrypt {
            passwords,
            output,
            files,
        } => {
            check_one_input(&output, files.len())?;
            let ring = reading_ring(&passwords, configured)?;
            for file in inputs(files) {
                let plaintext = decrypt_input(&ring, &file)?;
                write_output(output.as_ref().unwrap_or(&file), &plaintext)?;
            }
            success("Decryption successful");
        }
        VaultAction::View { passwords, files } => {
            let ring = reading_ring(&passwords, configured)?;
            let mut stdout = std::io::stdout().lock();
            for file in files {
                stdout.write_all(&decrypt_input(&ring, &file)?)?;
            }
        }
        VaultAction::Edit { encrypting, files } => {
            let ring = reading_ring(&encrypting.passwords, configured)?;
            for file in files {
                vault_edit::edit(&file, &ring)?;
            }
        }
        VaultAction::Rekey {
            encrypting,
            new_vault_password_file,
            new_vault_id,
            files,
        } => {
            let ring = reading_ring(&encrypting.passwords, configured)?;
            let new = VaultOptions {
                vault_ids: new_vault_id.into_iter().collect(),
                password_files: new_vault_password_file.into_iter().collect(),
                ask_vault_pass: false,
                configured_file: None,
                new_password: true,
            };
            let new = if new.is_empty() {
                VaultOptions {
                    ask_vault_pass: true,
                    ..new
                }
            } else {
                new
            };
            let new_ring = new.load(&mut warn).map_err(vault_error)?;
            let texts: Vec<(PathBuf, String)> = files
                .iter()
                .map(|file| {
                    let plaintext = decrypt_input(&ring, file)?;
                    let text = new_ring
                        .encrypt(&plaintext, None)
                        .map_err(|err| located(file, err))?;
                    Ok((file.clone(), text))
                })
                .collect::<Result<_, CliError>>()?;
            for (file, text) in texts {
                write_output(&file, text.as_bytes())?;
            }
            eprintln!("Rekey successful");
        }
        VaultAction::EncryptString {
            encrypting,
            output,
            names,
            stdin_name,
            prompt,
            show_input,
            strings,
        } => {
            let (ring, id) = encrypting_ring(&encrypting, configured)?;
            let blocks = crate::commands::vault_string::encrypt_strings(
                &ring,
                id.as_deref(),
                crate::commands::vault_string::StringInputs {
                    names,
                    stdin_name,
                    prompt,
                    show_input,
                    strings,
                },
            )?;
            match output {
                Some(path) if path != Path::new("-") => write_output(&path, blocks.as_bytes())?,
                _ => std::io::stdout().lock().write_all(blocks.as_bytes())?,
            }
            success("Encryption successful");
        }
    }
    Ok(Exit::Success)
}

/// The options as ansible-vault has them: with no source at all, it asks.
fn options(
    passwords: &VaultPasswordArgs,
    new_password: bool,
    configured: Option<&Path>,
) -> VaultOptions {
    let options = VaultOptions {
        vault_ids: passwords.vault_ids.clone(),
        password_files: passwords.vault_password_files.clone(),
        ask_vault_pass: passwords.ask_vault_pass,
        configured_file: None,
        new_password,
    }
    .with_configured_file(configured.and_then(Path::to_str));
    if options.is_empty() {
        VaultOptions {
            ask_vault_pass: true,
            ..options
        }
    } else {
        options
    }
}

/// The keyring of a playbook or ad hoc run, installed for every loader of
/// the process. Unlike ansible-vault, a run does not ask for a password
/// nobody requested (ansible-playbook's rule): with no source given, a
/// vaulted value is an error naming it.
pub fn install_run_keyring(
    passwords: &VaultPasswordArgs,
    configured: Option<&Path>,
) -> Result<(), CliError> {
    for id in &passwords.vault_ids {
        check_id(id)?;
    }
    let options = VaultOptions {
        vault_ids: passwords.vault_ids.clone(),
        password_files: passwords.vault_password_files.clone(),
        ask_vault_pass: passwords.ask_vault_pass,
        configured_file: None,
        new_password: false,
    }
    .with_configured_file(configured.and_then(Path::to_str));
    if !options.is_empty() {
        fleet_vault::install_keyring(options.load(&mut warn).map_err(vault_error)?);
    }
    Ok(())
}

pub fn warn(message: String) {
    eprintln!("[WARNING]: {message}");
}

pub fn vault_error(err: fleet_vault::VaultError) -> CliError {
    CliError::Usage(err.to_string())
}

fn located(file: &Path, err: fleet_vault::VaultError) -> CliError {
    CliError::Usage(format!("{}: {err}", shown(file)))
}

fn shown(file: &Path) -> String {
    if file == Path::new("-") {
        "<stdin>".into()
    } else {
        file.display().to_string()
    }
}

fn check_id(id: &str) -> Result<(), CliError> {
    if id.contains(';') {
        return Err(CliError::Usage(format!(
            "`{id}` is not a valid vault id: `;` is not allowed in vault ids"
        )));
    }
    Ok(())
}

fn reading_ring(
    passwords: &VaultPasswordArgs,
    configured: Option<&Path>,
) -> Result<Keyring, CliError> {
    for id in &passwords.vault_ids {
        check_id(id)?;
    }
    options(passwords, false, configured)
        .load(&mut warn)
        .map_err(vault_error)
}

/// The keyring and the id to encrypt with; several ids need `--encrypt-vault-id`.
fn encrypting_ring(
    args: &EncryptingArgs,
    configured: Option<&Path>,
) -> Result<(Keyring, Option<String>), CliError> {
    for id in &args.passwords.vault_ids {
        check_id(id)?;
    }
    let ring = options(&args.passwords, true, configured)
        .load(&mut warn)
        .map_err(vault_error)?;
    if ring.ids().len() > 1 && args.encrypt_vault_id.is_none() {
        return Err(CliError::Usage(format!(
            "the vault ids {} are available to encrypt; name the one to use with --encrypt-vault-id",
            ring.ids().join(",")
        )));
    }
    ring.encrypt_secret(args.encrypt_vault_id.as_deref())
        .map_err(vault_error)?;
    Ok((ring, args.encrypt_vault_id.clone()))
}

fn check_one_input(output: &Option<PathBuf>, inputs: usize) -> Result<(), CliError> {
    if output.is_some() && inputs > 1 {
        return Err(CliError::Usage(
            "at most one input file may be used with the --output option".into(),
        ));
    }
    Ok(())
}

fn inputs(files: Vec<PathBuf>) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files
    }
}

fn success(message: &str) {
    if std::io::stdout().is_terminal() {
        eprintln!("{message}");
    }
}

pub fn read_input(file: &Path) -> Result<Vec<u8>, CliError> {
    if file == Path::new("-") {
        let mut data = Vec::new();
        std::io::stdin().read_to_end(&mut data)?;
        return Ok(data);
    }
    std::fs::read(file)
        .map_err(|err| CliError::Usage(format!("{}: cannot read the file: {err}", file.display())))
}

pub fn decrypt_input(ring: &Keyring, file: &Path) -> Result<Vec<u8>, CliError> {
    let text = read_input(file)?;
    ring.decrypt(&text)
        .map(|decrypted| decrypted.plaintext)
        .map_err(|err| located(file, err))
}

/// Writes `-` to stdout; a file in place (an existing one keeps its mode,
/// a new one is 0600, as ansible-vault under its 077 umask).
pub fn write_output(file: &Path, data: &[u8]) -> Result<(), CliError> {
    if file == Path::new("-") {
        std::io::stdout().lock().write_all(data)?;
        return Ok(());
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)
        .map_err(|err| {
            CliError::Usage(format!("{}: cannot write the file: {err}", file.display()))
        })?;
    out.write_all(data)?;
    Ok(())
}
