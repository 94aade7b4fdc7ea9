//! `fleet run`: one ad hoc command on every selected host.

use std::time::Duration;

use fleet_engine::{AdhocCommand, CancellationToken, run_adhoc};
use fleet_ssh::{Become, Client};
use tokio::sync::mpsc;

use crate::cli::{RunArgs, SshArgs};
use crate::commands::load_inventory;
use crate::error::CliError;
use crate::exit::Exit;
use crate::report;
use crate::secrets;

pub async fn run(args: RunArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    let inventory = load_inventory(&args.selection, ssh, None)?;
    let hosts = inventory.select(&args.selection.limit)?;
    let timeout = match args.timeout {
        Some(secs) if secs.is_finite() && secs > 0.0 => Some(Duration::from_secs_f64(secs)),
        Some(secs) => {
            return Err(CliError::Usage(format!(
                "--timeout must be a positive number of seconds, got {secs}"
            )));
        }
        None => None,
    };
    let config = &ssh.config;
    let ask = args.ask_become_pass || config.become_ask_pass == Some(true);
    let password = secrets::become_password(ask)?;
    let r#become = args.r#become || args.ask_become_pass || config.r#become == Some(true);
    let command = AdhocCommand {
        command: args.command.join(" "),
        r#become: r#become.then(|| Become {
            user: args
                .become_user
                .as_ref()
                .or(config.become_user.as_ref())
                .map_or_else(|| "root".to_string(), ToString::to_string),
            password: password.clone(),
            method: match config.become_method {
                Some(fleet_playbook::BecomeMethod::Su) => {
                    fleet_ssh::BecomeMethod::Su { flags: Vec::new() }
                }
                _ => fleet_ssh::BecomeMethod::Sudo,
            },
        }),
        forks: args.forks.or(config.forks).unwrap_or(0),
        timeout,
    };
    let client = Client::new(secrets::ssh_options(ssh)?)?;

    let cancel = CancellationToken::new();
    cancel_on_signal(cancel.clone(), OnInterrupt::StopInFlight);
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let mut reporter = report::for_format(args.selection.format, hosts.len(), 0);
    let runner = async {
        let counts = run_adhoc(&client, &hosts, &command, &sender, &cancel).await;
        drop(sender);
        counts
    };
    let reporting = async {
        while let Some(event) = receiver.recv().await {
            reporter.handle(&event)?;
        }
        Ok::<(), CliError>(())
    };
    let (counts, reported) = tokio::join!(runner, reporting);
    reported?;
    Ok(Exit::from_counts(&counts, cancel.is_cancelled()))
}

/// What the first Ctrl-C or SIGTERM does to the work in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// `fleet run`: the commands in flight are stopped.
    StopInFlight,
    /// Playbooks: the tasks in flight finish, so that what they hold (a
    /// deploy lock) is released.
    FinishInFlight,
}

/// Ctrl-C or SIGTERM: the first one cancels (no new host or task starts);
/// a second one exits at once with 130. The handlers are installed before
/// this returns, so no signal is missed or left to kill the process.
pub fn cancel_on_signal(cancel: CancellationToken, on_interrupt: OnInterrupt) {
    use tokio::signal::unix::{SignalKind, signal};
    let signals = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    tokio::spawn(async move {
        let (Ok(mut interrupt), Ok(mut terminate)) = signals else {
            let _ = tokio::signal::ctrl_c().await;
            cancel.cancel();
            return;
        };
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        cancel.cancel();
        let in_flight = match on_interrupt {
            OnInterrupt::StopInFlight => "the commands in flight are stopped",
            OnInterrupt::FinishInFlight => {
                "no new task starts; the tasks in flight finish (a deploy releases its lock)"
            }
        };
        eprintln!("fleet: interrupted: {in_flight}; interrupt again to quit at once");
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        if on_interrupt == OnInterrupt::FinishInFlight {
            eprintln!(
                "fleet: interrupted again: quitting without waiting for the tasks in flight; \
                 a deploy lock they hold stays until `fleet unlock`"
            );
        }
        std::process::exit(130);
    });
}
