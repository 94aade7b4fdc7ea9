//! `fleet vault encrypt_string`: strings from the arguments, stdin or a
//! prompt, each as a `!vault |` block indented ten spaces, named by
//! `--name`/`--stdin-name` as ansible-vault pairs them.

use std::io::{IsTerminal, Read};

use fleet_vault::Keyring;

use crate::error::CliError;

pub struct StringInputs {
    pub names: Vec<String>,
    pub stdin_name: Option<String>,
    pub prompt: bool,
    pub show_input: bool,
    pub strings: Vec<String>,
}

pub fn encrypt_strings(
    ring: &Keyring,
    id: Option<&str>,
    inputs: StringInputs,
) -> Result<String, CliError> {
    let read_stdin = inputs.strings.iter().any(|arg| arg == "-")
        || inputs.strings.is_empty()
        || inputs.stdin_name.is_some();
    if inputs.prompt && read_stdin && !inputs.strings.is_empty() {
        return Err(CliError::Usage(
            "--prompt is not supported when reading input from stdin too".into(),
        ));
    }
    let mut plaintexts: Vec<(Option<String>, Vec<u8>)> = Vec::new();
    if inputs.prompt {
        plaintexts.push(prompted(inputs.show_input)?);
    } else if read_stdin {
        let mut text = Vec::new();
        std::io::stdin().read_to_end(&mut text)?;
        if text.is_empty() {
            return Err(CliError::Usage("stdin was empty, not encrypting".into()));
        }
        plaintexts.push((inputs.stdin_name.clone(), text));
    }
    let args = inputs.strings.iter().filter(|arg| *arg != "-");
    for (index, arg) in args.enumerate() {
        if arg.is_empty() {
            return Err(CliError::Usage(
                "the plaintext given on the command line is empty, not encrypting".into(),
            ));
        }
        plaintexts.push((inputs.names.get(index).cloned(), arg.as_bytes().to_vec()));
    }
    let mut out = Vec::new();
    for (name, plaintext) in &plaintexts {
        let text = ring
            .encrypt(plaintext, id)
            .map_err(crate::commands::vault::vault_error)?;
        out.push(block(name.as_deref(), &text));
    }
    out.push(String::new());
    Ok(out.join("\n"))
}

/// The YAML block ansible-vault prints: `[NAME: ]!vault |`, then the
/// envelope's lines indented ten spaces.
pub fn block(name: Option<&str>, envelope: &str) -> String {
    let mut lines = vec![match name {
        Some(name) => format!("{name}: !vault |"),
        None => "!vault |".to_string(),
    }];
    lines.extend(envelope.lines().map(|line| format!("{:10}{line}", "")));
    lines.join("\n")
}

fn prompted(show: bool) -> Result<(Option<String>, Vec<u8>), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage("--prompt needs a terminal".into()));
    }
    eprint!("Variable name (enter for no name): ");
    let mut name = String::new();
    std::io::stdin().read_line(&mut name)?;
    let name = name.trim_end_matches(['\n', '\r']).to_string();
    let text = if show {
        eprint!("String to encrypt: ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        rpassword::prompt_password("String to encrypt (hidden): ")?
    };
    if text.is_empty() {
        return Err(CliError::Usage(
            "the plaintext given at the prompt is empty, not encrypting".into(),
        ));
    }
    Ok(((!name.is_empty()).then_some(name), text.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_indented_ten_spaces_under_the_name() {
        let envelope = "$ANSIBLE_VAULT;1.1;AES256\n3132\n";
        assert_eq!(
            block(Some("db"), envelope),
            "db: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          3132"
        );
        assert_eq!(
            block(None, envelope),
            "!vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          3132"
        );
    }
}
