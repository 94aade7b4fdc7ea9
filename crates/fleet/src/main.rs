//! `fleet`: the command line. It parses arguments, builds the inputs the
//! engine needs, hands events to a reporter and maps the outcome to an exit
//! code.

mod ansible_cfg;
mod cli;
mod commands;
mod error;
mod exit;
mod report;
mod secrets;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Success,
                _ => Exit::InvalidInput,
            }
            .into();
        }
    };
    // Read before any host is contacted: a malformed file stops here.
    match ansible_cfg::AnsibleCfg::load() {
        Ok(config) => {
            for warning in &config.warnings {
                eprintln!("warning: {warning}");
            }
            cli.ssh.config = config;
        }
        Err(err) => {
            eprintln!("error: {err}");
            return Exit::InvalidInput.into();
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return Exit::Internal.into();
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run::run(args, &cli.ssh).await,
            Command::Apply(args) => {
                commands::apply::apply(args.playbook, &cli.ssh, false, args.lock_wait).await
            }
            Command::Check(args) => commands::apply::apply(args, &cli.ssh, true, None).await,
            Command::Inventory(args) => commands::inventory::show(args, &cli.ssh),
            Command::Releases(args) => commands::release::releases(args, &cli.ssh).await,
            Command::Rollback(args) => commands::release::rollback(args, &cli.ssh).await,
            Command::Unlock(args) => commands::release::unlock(args, &cli.ssh).await,
            Command::Vault(args) => {
                commands::vault::vault(args, cli.ssh.config.vault_password_file())
            }
        }
    });
    // Sessions are closed by now; do not wait for stray blocking reads.
    runtime.shutdown_background();
    match outcome {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {}", fleet_vault::mask(&err.to_string()));
            Exit::from_error(&err).into()
        }
    }
}
