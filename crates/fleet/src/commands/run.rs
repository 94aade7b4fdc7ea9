//! `fleet run`: one ad hoc command on every selected host.

use std::time::Duration;

use fleet_engine::{AdhocCommand, CancellationToken, run_adhoc};
use fleet_inventory::Inventory;
use fleet_ssh::{Become, Client};
use tokio::sync::mpsc;

use crate::cli::{RunArgs, SshArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::report;
use crate::secrets;

pub async fn run(args: RunArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    let inventory = Inventory::load(&args.selection.inventory)?;
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
    let password = secrets::become_password(args.ask_become_pass)?;
    let command = AdhocCommand {
        command: args.command.join(" "),
        r#become: (args.r#become || args.ask_become_pass).then(|| Become {
            user: "root".into(),
            password: password.clone(),
        }),
        forks: args.forks,
        timeout,
    };
    let client = Client::new(secrets::ssh_options(ssh)?)?;

    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let mut reporter = report::for_format(args.selection.format, hosts.len());
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

/// Ctrl-C or SIGTERM: stop starting hosts and close the open connections.
pub async fn cancel_on_signal(cancel: CancellationToken) {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                cancel.cancel();
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    cancel.cancel();
}
