//! `fleet vault`'s arguments, named as ansible-vault names them.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// The password options every vault action takes (ansible-vault's
/// `--vault-id`, `--vault-password-file`, `--ask-vault-pass`).
#[derive(Debug, Clone, Default, Args)]
pub struct VaultPasswordArgs {
    /// A vault id and where its password comes from: `LABEL@FILE`, `LABEL@SCRIPT`,
    /// `LABEL@prompt`, or a bare source for the `default` id (repeatable).
    #[arg(long = "vault-id", value_name = "ID", help_heading = "Vault options")]
    pub vault_ids: Vec<String>,
    /// A file holding the `default` vault id's password, or an executable printing it (repeatable).
    #[arg(
        help_heading = "Vault options",
        long = "vault-password-file",
        visible_alias = "vault-pass-file",
        value_name = "FILE"
    )]
    pub vault_password_files: Vec<String>,
    /// Ask for the `default` vault id's password on the terminal.
    #[arg(
        short = 'J',
        long,
        visible_alias = "ask-vault-password",
        help_heading = "Vault options"
    )]
    pub ask_vault_pass: bool,
}

#[derive(Debug, Args)]
pub struct VaultArgs {
    #[command(subcommand)]
    pub action: VaultAction,
}

#[derive(Debug, Args)]
pub struct EncryptingArgs {
    #[command(flatten)]
    pub passwords: VaultPasswordArgs,
    /// The vault id to encrypt with, when several are given.
    #[arg(long, value_name = "ID")]
    pub encrypt_vault_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum VaultAction {
    /// Create a new encrypted file in $EDITOR.
    Create {
        #[command(flatten)]
        encrypting: EncryptingArgs,
        /// Open the editor even when stdout is not a terminal.
        #[arg(long)]
        skip_tty_check: bool,
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Encrypt files in place (or `-`/no file: stdin to stdout).
    Encrypt {
        #[command(flatten)]
        encrypting: EncryptingArgs,
        /// Write to this file instead (`-`: stdout); only with one input.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Decrypt files in place (or `-`/no file: stdin to stdout).
    Decrypt {
        #[command(flatten)]
        passwords: VaultPasswordArgs,
        /// Write to this file instead (`-`: stdout); only with one input.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the decrypted content of files.
    View {
        #[command(flatten)]
        passwords: VaultPasswordArgs,
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Decrypt a file into $EDITOR and encrypt it again when the editor exits.
    Edit {
        #[command(flatten)]
        encrypting: EncryptingArgs,
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Encrypt files again under a new password.
    Rekey {
        #[command(flatten)]
        encrypting: EncryptingArgs,
        /// The new password's file (or script).
        #[arg(long, value_name = "FILE", conflicts_with = "new_vault_id")]
        new_vault_password_file: Option<String>,
        /// The new vault id and its source, `LABEL@SOURCE`.
        #[arg(long, value_name = "ID")]
        new_vault_id: Option<String>,
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Encrypt strings into `!vault |` YAML blocks (stdin when none is given, or `-`).
    #[command(name = "encrypt_string", visible_alias = "encrypt-string")]
    EncryptString {
        #[command(flatten)]
        encrypting: EncryptingArgs,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The variable name of each string, in order.
        #[arg(short = 'n', long = "name", value_name = "NAME")]
        names: Vec<String>,
        /// The variable name of the string read from stdin.
        #[arg(long, value_name = "NAME")]
        stdin_name: Option<String>,
        /// Ask for the string on the terminal.
        #[arg(short = 'p', long)]
        prompt: bool,
        /// Show the string typed at `--prompt`.
        #[arg(long)]
        show_input: bool,
        #[arg(value_name = "STRING")]
        strings: Vec<String>,
    },
}
