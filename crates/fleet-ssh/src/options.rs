//! The public value types: client options, targets, exec options, become.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// Asks the operator for the passphrase of an encrypted key. Returns `None`
/// when the operator declines (or no terminal is available).
pub type PassphrasePrompt = Arc<dyn Fn(&Path) -> Option<String> + Send + Sync>;

/// The environment variable holding the passphrase of encrypted keys.
pub const KEY_PASSPHRASE_ENV: &str = "FLEET_KEY_PASSPHRASE";

/// Default connect timeout (TCP connect + handshake + auth).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default number of connections allowed to be *starting* at once.
pub const DEFAULT_MAX_CONCURRENT_CONNECTS: usize = 100;

/// How the [`Client`](crate::Client) connects. Build it with
/// [`SshOptions::with_defaults`] and adjust the fields.
#[derive(Clone)]
pub struct SshOptions {
    /// The known_hosts file, checked strictly. Default `~/.ssh/known_hosts`.
    pub known_hosts: PathBuf,
    /// Trust (and record) the key of a host seen for the first time. A key
    /// that *changed* is refused regardless.
    pub accept_new: bool,
    /// `--identity`: tried after the target's own `identity_file`.
    pub identity: Option<PathBuf>,
    /// The ssh_config file; `None` means `~/.ssh/config`. A missing file is
    /// fine.
    pub ssh_config: Option<PathBuf>,
    /// Bound on TCP connect + SSH handshake + authentication, per host.
    pub connect_timeout: Duration,
    /// How many connections may be in their connect/handshake/auth phase at
    /// once (established connections do not count). At least 1.
    pub max_concurrent_connects: usize,
    /// Asks for the passphrase of an encrypted key when
    /// `FLEET_KEY_PASSPHRASE` is unset (or wrong). Called at most once per
    /// key file and [`Client`](crate::Client).
    pub passphrase_prompt: Option<PassphrasePrompt>,
}

impl SshOptions {
    /// Defaults: `$HOME/.ssh/known_hosts`, strict host keys, no extra
    /// identity, `~/.ssh/config`, 10 s connect timeout, 100 concurrent
    /// connects, no passphrase prompt.
    pub fn with_defaults() -> Self {
        SshOptions {
            known_hosts: home_dir().join(".ssh").join("known_hosts"),
            accept_new: false,
            identity: None,
            ssh_config: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_concurrent_connects: DEFAULT_MAX_CONCURRENT_CONNECTS,
            passphrase_prompt: None,
        }
    }
}

impl Default for SshOptions {
    fn default() -> Self {
        Self::with_defaults()
    }
}

impl fmt::Debug for SshOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshOptions")
            .field("known_hosts", &self.known_hosts)
            .field("accept_new", &self.accept_new)
            .field("identity", &self.identity)
            .field("ssh_config", &self.ssh_config)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_concurrent_connects", &self.max_concurrent_connects)
            .field(
                "passphrase_prompt",
                &self.passphrase_prompt.as_ref().map(|_| "<fn>"),
            )
            .finish()
    }
}

/// `$HOME`, or the current directory when it is unset.
pub(crate) fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// One host to connect to. `None` fields fall back to ssh_config, then to
/// the defaults (current `$USER`, port 22).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The inventory name; ssh_config `Host` patterns are matched against it
    /// first. Used in every error message.
    pub name: String,
    /// What to dial. When it equals `name`, an ssh_config `HostName` for the
    /// name replaces it; an explicit different address always wins.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// Tried first among the identity files.
    pub identity_file: Option<PathBuf>,
    /// An explicit jump host; wins over ssh_config `ProxyJump`.
    pub jump: Option<JumpTarget>,
}

impl Target {
    /// A target whose address is its name, everything else unset.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Target {
            address: name.clone(),
            name,
            port: None,
            user: None,
            identity_file: None,
            jump: None,
        }
    }
}

/// A bastion to tunnel through (`ProxyJump user@host:port`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JumpTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl JumpTarget {
    /// Parses `[user@]host[:port]`, `[user@][v6addr]:port` or
    /// `ssh://[user@]host[:port]`.
    pub fn parse(spec: &str) -> Result<Self, crate::SshError> {
        crate::config::parse_jump(spec)
    }
}

impl fmt::Display for JumpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            write!(f, "{}", self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The collected result of [`Session::exec_collect`](crate::Session::exec_collect).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Exit status; a signal `n` gives `128 + n`; `-1` when unknown.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// How to run one command.
///
/// Without `become` or `timeout` the command string goes to the remote
/// user's login shell as is (like `ssh host CMD`). With either, it is run by
/// `sh -c` on the host, so write commands for POSIX sh.
#[derive(Clone, Default)]
pub struct ExecOptions {
    /// Run through sudo as this user.
    pub r#become: Option<Become>,
    /// Bytes fed to the command's stdin (then EOF). `None`: EOF right away.
    pub stdin: Option<Vec<u8>>,
    /// Chunks fed to stdin after `stdin`, as they come, until the sender is
    /// dropped (then EOF): for a program that talks with the command, as
    /// rsync does with its remote end.
    pub stdin_stream: Option<StdinStream>,
    /// Give up on the command after this long: the call returns
    /// `SshError::Timeout`, the channel is closed, and the command is killed
    /// on the host (the remote side runs it under coreutils `timeout` when
    /// available, since sshd does not deliver signals to root sessions).
    pub timeout: Option<Duration>,
}

impl fmt::Debug for ExecOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecOptions")
            .field("become", &self.r#become)
            .field(
                "stdin",
                &self.stdin.as_ref().map(|s| format!("<{} bytes>", s.len())),
            )
            .field("stdin_stream", &self.stdin_stream.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The receiving end of [`ExecOptions::stdin_stream`]; one command takes
/// it (a clone of the options shares it).
#[derive(Clone)]
pub struct StdinStream(Arc<std::sync::Mutex<Option<UnboundedReceiver<Vec<u8>>>>>);

impl StdinStream {
    /// A stream and the sender that feeds it.
    pub fn new() -> (UnboundedSender<Vec<u8>>, StdinStream) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (tx, StdinStream(Arc::new(std::sync::Mutex::new(Some(rx)))))
    }

    /// The receiver, for the one command that reads it.
    pub fn take(&self) -> Option<UnboundedReceiver<Vec<u8>>> {
        self.0.lock().ok()?.take()
    }
}

/// Privilege escalation through sudo or su.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// The user to become; usually `root`.
    pub user: String,
    /// The password sudo (or su) asks for; `None` for NOPASSWD sudoers
    /// (`sudo -n`) or su from root. Written to stdin when prompted, never
    /// on a command line.
    pub password: Option<Secret>,
    pub method: BecomeMethod,
}

/// The program that runs a command as another user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BecomeMethod {
    /// `sudo -H -S -n` (Ansible's default flags).
    #[default]
    Sudo,
    /// `su FLAGS -c CMD -- USER`: the command goes through the user's
    /// shell, as Ansible's `su` runs it. `flags` are su's own options, one
    /// word each (`-l`, `-s`, `/bin/sh`).
    Su { flags: Vec<String> },
}

impl BecomeMethod {
    /// `sudo` or `su`.
    pub fn name(&self) -> &'static str {
        match self {
            BecomeMethod::Sudo => "sudo",
            BecomeMethod::Su { .. } => "su",
        }
    }
}

impl Become {
    /// Become `root` through sudo without a password.
    pub fn root() -> Self {
        Become {
            user: "root".into(),
            password: None,
            method: BecomeMethod::Sudo,
        }
    }
}

impl Default for Become {
    fn default() -> Self {
        Self::root()
    }
}

pub use fleet_shell::Secret;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_never_printed() {
        let b = Become {
            password: Some(Secret::new("hunter2")),
            ..Become::root()
        };
        let opts = ExecOptions {
            r#become: Some(b.clone()),
            stdin: Some(b"data".to_vec()),
            timeout: None,
            stdin_stream: None,
        };
        for text in [
            format!("{b:?}"),
            format!("{opts:?}"),
            format!("{}", Secret::new("hunter2")),
        ] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert!(format!("{b:?}").contains("***"));
        assert_eq!(b.password.as_ref().map(Secret::expose), Some("hunter2"));
    }

    #[test]
    fn jump_display_round_trips() {
        for spec in ["bastion", "admin@bastion:2222", "[::1]:2200", "u@[fe80::1]"] {
            let jump = JumpTarget::parse(spec).unwrap();
            assert_eq!(jump.to_string(), spec);
        }
    }
}
