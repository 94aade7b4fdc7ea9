//! The transport's error type.

use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong between the controller and a host.
///
/// `host` fields hold the inventory name of the host, followed by the
/// address and port actually dialled when they differ from it, e.g.
/// `web1 (10.0.0.5:22)`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SshError {
    /// The TCP connection could not be established (DNS, refused, no route…).
    #[error("{host}: cannot connect: {source}")]
    Connect {
        host: String,
        #[source]
        source: std::io::Error,
    },

    /// TCP connect, SSH handshake and authentication did not finish in time.
    #[error("{host}: connection timed out after {secs}s (TCP connect, handshake and auth)")]
    ConnectTimeout { host: String, secs: f64 },

    /// The SSH handshake failed (protocol error, no common algorithm, the
    /// server hung up during key exchange…).
    #[error("{host}: SSH handshake failed: {source}")]
    Handshake {
        host: String,
        #[source]
        source: russh::Error,
    },

    /// The host is not in the known_hosts file and `accept_new` is off.
    #[error(
        "{host}: host key is not known ({fingerprint}) in {file}; \
         re-run with --accept-new to trust it on first contact, \
         or record it first (check the fingerprint): {keyscan} >> {file}",
        file = file.display()
    )]
    HostKeyUnknown {
        host: String,
        file: PathBuf,
        fingerprint: String,
        /// The `ssh-keyscan` command that fetches the key.
        keyscan: String,
    },

    /// The host presented a different key than the one on record. Always
    /// refused, even with `accept_new`.
    #[error(
        "{host}: HOST KEY CHANGED: the server offered {fingerprint}, which does not match \
         the key recorded at {file}:{line}; refusing to connect (possible man-in-the-middle). \
         If the change is expected, remove that line and reconnect",
        file = file.display()
    )]
    HostKeyChanged {
        host: String,
        file: PathBuf,
        line: usize,
        fingerprint: String,
    },

    /// The host presented a key marked `@revoked`.
    #[error(
        "{host}: the server's host key {fingerprint} is marked @revoked at {file}:{line}; refusing to connect",
        file = file.display()
    )]
    HostKeyRevoked {
        host: String,
        file: PathBuf,
        line: usize,
        fingerprint: String,
    },

    /// The known_hosts file could not be read or appended to.
    #[error("known_hosts file {file}: {source}", file = file.display())]
    KnownHosts {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// No authentication method was accepted.
    #[error(
        "{user}@{host}: authentication failed; tried: {}",
        if tried.is_empty() { "nothing (no ssh-agent keys, no identity files found)".to_string() } else { tried.join(", ") }
    )]
    Auth {
        user: String,
        host: String,
        tried: Vec<String>,
    },

    /// An identity file that was asked for explicitly (inventory
    /// `identity_file` or `--identity`) could not be loaded.
    #[error("identity file {path}: {reason}", path = path.display())]
    Key { path: PathBuf, reason: String },

    /// The ssh_config file could not be parsed, or a value in it is invalid.
    #[error("ssh config {path}: {reason}", path = path.display())]
    Config { path: PathBuf, reason: String },

    /// A ProxyJump specification could not be parsed.
    #[error("invalid ProxyJump {spec:?}: {reason}")]
    JumpSpec { spec: String, reason: String },

    /// Connecting to the target through its ProxyJump host failed. `source`
    /// is what went wrong on the jump host (or with the tunnel through it).
    #[error("{host}: via ProxyJump {jump}: {source}")]
    Jump {
        host: String,
        jump: String,
        #[source]
        source: Arc<SshError>,
    },

    /// The jump host refused to open a tunnel to the target.
    #[error("{host}: jump host {jump} could not open a tunnel to the target: {reason}")]
    Tunnel {
        host: String,
        jump: String,
        reason: String,
    },

    /// The connection dropped (or was closed) while it was in use.
    #[error("{host}: connection lost")]
    Disconnected { host: String },

    /// A channel could not be opened or used.
    #[error("{host}: channel error: {source}")]
    Channel {
        host: String,
        #[source]
        source: russh::Error,
    },

    /// A command ran longer than its `ExecOptions::timeout`. It was sent
    /// SIGKILL and its channel closed.
    #[error("{host}: command timed out after {secs}s")]
    Timeout { host: String, secs: f64 },

    /// sudo or su refused to run the command (wrong password, not in
    /// sudoers, password required but none given…).
    #[error("{host}: become ({}) failed: {reason}", become_how(method, user))]
    BecomeFailed {
        host: String,
        user: String,
        /// `sudo` or `su`.
        method: &'static str,
        reason: String,
    },

    /// The remote side of an upload failed (permissions, missing directory,
    /// unknown owner…). Nothing was renamed over the destination.
    #[error("{host}: upload to {dest} failed (exit {status}): {stderr}")]
    Upload {
        host: String,
        dest: String,
        status: i32,
        stderr: String,
    },

    /// A value handed to the transport is unusable (e.g. an empty upload
    /// destination).
    #[error("{0}")]
    Invalid(String),

    /// The error an earlier attempt met, shared by everything that waited
    /// on the same connection (e.g. tasks delegated to one host).
    #[error("{0}")]
    Earlier(Arc<SshError>),
}

/// `sudo -u app` or `su app`.
fn become_how(method: &str, user: &str) -> String {
    match method {
        "sudo" => format!("sudo -u {user}"),
        _ => format!("{method} {user}"),
    }
}

impl SshError {
    /// True for transport trouble: the host could not be reached or the
    /// connection dropped (connect errors, connect timeouts, handshake
    /// failures, disconnects). These map to the `unreachable` status.
    ///
    /// False for problems the operator must fix and that retrying will not
    /// cure: host keys, authentication, keys, configuration, sudo, failed
    /// uploads, and command timeouts (the host answered; the command hung).
    pub fn is_unreachable(&self) -> bool {
        match self {
            SshError::Connect { .. }
            | SshError::ConnectTimeout { .. }
            | SshError::Handshake { .. }
            | SshError::Tunnel { .. }
            | SshError::Disconnected { .. } => true,
            SshError::Jump { source, .. } | SshError::Earlier(source) => source.is_unreachable(),
            SshError::HostKeyUnknown { .. }
            | SshError::HostKeyChanged { .. }
            | SshError::HostKeyRevoked { .. }
            | SshError::KnownHosts { .. }
            | SshError::Auth { .. }
            | SshError::Key { .. }
            | SshError::Config { .. }
            | SshError::JumpSpec { .. }
            | SshError::Channel { .. }
            | SshError::Timeout { .. }
            | SshError::BecomeFailed { .. }
            | SshError::Upload { .. }
            | SshError::Invalid(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn error_is_send_sync() {
        assert_send_sync::<SshError>();
    }

    #[test]
    fn unreachable_classification() {
        let connect = SshError::Connect {
            host: "h".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert!(connect.is_unreachable());
        assert!(
            SshError::ConnectTimeout {
                host: "h".into(),
                secs: 10.0
            }
            .is_unreachable()
        );
        assert!(SshError::Disconnected { host: "h".into() }.is_unreachable());
        let auth = SshError::Auth {
            user: "root".into(),
            host: "h".into(),
            tried: vec!["agent".into()],
        };
        assert!(!auth.is_unreachable());
        assert!(auth.to_string().contains("root@h"));
        let changed = SshError::HostKeyChanged {
            host: "h".into(),
            file: "kh".into(),
            line: 7,
            fingerprint: "SHA256:x".into(),
        };
        assert!(!changed.is_unreachable());
        assert!(changed.to_string().contains("kh:7"));
        let jump = SshError::Jump {
            host: "h".into(),
            jump: "bastion".into(),
            source: Arc::new(connect),
        };
        assert!(jump.is_unreachable());
        let jump_auth = SshError::Jump {
            host: "h".into(),
            jump: "bastion".into(),
            source: Arc::new(auth),
        };
        assert!(!jump_auth.is_unreachable());
    }
}
