//! How the engine reaches a host: over SSH, or on the controller itself.

use std::sync::Arc;

use fleet_inventory::{Host, Transport};
use fleet_playbook::PlayConnection;
use fleet_ssh::{Become, Client, ExecOptions, Output, Session, SshError, Stream, Target};
use tokio::sync::OnceCell;

use crate::local::LocalShell;
use crate::target::ssh_target;

/// One host's connection for a run. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Connection {
    /// An authenticated SSH connection.
    Ssh(Session),
    /// The controller's own shell (`connection: local`, `delegate_to`).
    Local(LocalShell),
    /// An SSH connection opened when a first command needs it, then
    /// shared: the connection of a host tasks are delegated to.
    Lazy(Arc<LazySession>),
}

/// An SSH session to open on first use; every clone waits for the same
/// connect, and sees the same error when it fails.
#[derive(Debug)]
pub struct LazySession {
    client: Client,
    target: Target,
    session: OnceCell<Result<Session, Arc<SshError>>>,
}

impl LazySession {
    pub fn new(client: Client, target: Target) -> LazySession {
        LazySession {
            client,
            target,
            session: OnceCell::new(),
        }
    }

    /// The session, connecting first if nothing did yet.
    pub async fn session(&self) -> Result<&Session, SshError> {
        let connected = self
            .session
            .get_or_init(|| async { self.client.connect(&self.target).await.map_err(Arc::new) })
            .await;
        connected
            .as_ref()
            .map_err(|err| SshError::Earlier(err.clone()))
    }

    /// What it connects to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The session if it is open.
    pub fn opened(&self) -> Option<&Session> {
        self.session
            .get()
            .and_then(|connected| connected.as_ref().ok())
    }
}

impl Connection {
    /// Connects to `host` the way its inventory says: a local host needs no
    /// connection at all, and never touches `client`.
    pub async fn open(client: &Client, host: &Host) -> Result<Connection, SshError> {
        match host.connection.transport {
            Transport::Local => Ok(Connection::local(&host.name)),
            Transport::Ssh => Ok(Connection::Ssh(client.connect(&ssh_target(host)).await?)),
        }
    }

    /// The controller's shell, named `label` in messages.
    pub fn local(label: &str) -> Connection {
        Connection::Local(LocalShell::new(label))
    }

    /// The host as named in messages.
    pub fn host(&self) -> &str {
        match self {
            Connection::Ssh(session) => session.host(),
            Connection::Local(shell) => shell.host(),
            Connection::Lazy(lazy) => &lazy.target.name,
        }
    }

    /// Runs `command`, streaming its output to `on_output`; returns its
    /// exit status.
    pub async fn exec(
        &self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<i32, SshError> {
        match self {
            Connection::Ssh(session) => session.exec(command, opts, on_output).await,
            Connection::Local(shell) => shell.exec(command, opts, on_output).await,
            Connection::Lazy(lazy) => lazy.session().await?.exec(command, opts, on_output).await,
        }
    }

    /// Runs `command` and collects its output.
    pub async fn exec_collect(
        &self,
        command: &str,
        opts: &ExecOptions,
    ) -> Result<Output, SshError> {
        match self {
            Connection::Ssh(session) => session.exec_collect(command, opts).await,
            Connection::Local(shell) => shell.exec_collect(command, opts).await,
            Connection::Lazy(lazy) => lazy.session().await?.exec_collect(command, opts).await,
        }
    }

    /// Writes `contents` to `dest` atomically, with `mode` and `owner`.
    pub async fn upload(
        &self,
        contents: &[u8],
        dest: &str,
        mode: u32,
        owner: Option<&str>,
        r#become: Option<&Become>,
    ) -> Result<(), SshError> {
        match self {
            Connection::Ssh(session) => session.upload(contents, dest, mode, owner, r#become).await,
            Connection::Local(shell) => shell.upload(contents, dest, mode, owner, r#become).await,
            Connection::Lazy(lazy) => {
                let session = lazy.session().await?;
                session.upload(contents, dest, mode, owner, r#become).await
            }
        }
    }

    /// Disconnects; nothing to do for the local shell, or for a lazy
    /// session never opened.
    pub async fn close(&self) {
        match self {
            Connection::Ssh(session) => session.close().await,
            Connection::Lazy(lazy) => {
                if let Some(session) = lazy.opened() {
                    session.close().await;
                }
            }
            Connection::Local(_) => {}
        }
    }
}

impl From<Session> for Connection {
    fn from(session: Session) -> Connection {
        Connection::Ssh(session)
    }
}

/// Whether `host` runs a play on the controller: the inventory's
/// `connection` when it sets one, else the play's `connection` (as in
/// Ansible, where a host's `ansible_connection` beats the play keyword).
pub fn runs_locally(host: &Host, play: Option<PlayConnection>) -> bool {
    if host.vars.contains_key("connection") {
        return host.connection.transport == Transport::Local;
    }
    play == Some(PlayConnection::Local)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use fleet_inventory::Inventory;
    use fleet_playbook::PlayConnection;

    use super::runs_locally;

    #[test]
    fn the_inventory_connection_beats_the_plays() {
        let yaml = "all:\n  hosts:\n    plain:\n    local: {connection: local}\n    ssh: {connection: ssh}\n";
        let inventory = Inventory::parse(yaml, Path::new("inv.yaml")).expect("inventory");
        let host = |name: &str| inventory.host(name).expect("host");
        for (play, plain, local, ssh) in [
            (None, false, true, false),
            (Some(PlayConnection::Local), true, true, false),
            (Some(PlayConnection::Ssh), false, true, false),
        ] {
            assert_eq!(runs_locally(host("plain"), play), plain, "{play:?}");
            assert_eq!(runs_locally(host("local"), play), local, "{play:?}");
            assert_eq!(runs_locally(host("ssh"), play), ssh, "{play:?}");
        }
    }
}
