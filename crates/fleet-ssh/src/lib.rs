//! fleet-ssh: the SSH transport of fleet, on top of russh.
//!
//! # Connection lifecycle
//!
//! 1. **[`Client::new`]** reads the options once for the whole run: it
//!    parses `~/.ssh/config` (or `SshOptions::ssh_config`; a missing file is
//!    fine) and the known_hosts file, and sets up a key cache, the connect
//!    throttle (`max_concurrent_connects`) and one shared russh config
//!    (curve25519 kex, ed25519 host keys first, keepalive every 15 s, dropped
//!    after 3 unanswered probes, TCP_NODELAY). The `Client` is cheap to clone.
//! 2. **[`Client::connect`]** resolves the [`Target`] (explicit inventory
//!    vars beat ssh_config, which beats the defaults `$USER` and port 22).
//!    ssh_config `Host` patterns are matched against the inventory host
//!    *name*, Ansible-style (as `ssh alias` would), and also against the
//!    inventory address when one is set that differs from the name; matching
//!    blocks apply in file order, first value wins (OpenSSH's rule).
//!    `HostName`, `User`, `Port`, `IdentityFile` and `ProxyJump` are used. Jump hosts (`Target::jump` or ssh_config
//!    `ProxyJump`, one or more hops) are connected first and shared by all
//!    targets behind them; the target is then reached through a
//!    `direct-tcpip` channel. For each hop and the target, a throttle permit
//!    is held for TCP connect + handshake + auth only, all bounded by
//!    `connect_timeout` (time spent in a passphrase prompt excepted).
//!    - The host key is checked against the known_hosts file (plain,
//!      hashed, `[host]:port`, `@revoked`): unknown hosts are refused unless
//!      `accept_new` (then the key is appended to the file); a changed or
//!      revoked key is always refused, naming the file and line.
//!    - Authentication tries every ssh-agent key, then the identity files
//!      (target `identity_file`, `--identity`, ssh_config `IdentityFile`,
//!      `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`); keys are parsed and decrypted
//!      once per `Client` (passphrase from `FLEET_KEY_PASSPHRASE` or the
//!      prompt callback).
//! 3. The returned **[`Session`]** is the one connection to that host. Every
//!    command runs on its own channel of it ([`Session::exec`],
//!    [`Session::exec_collect`], [`Session::upload`]); up to
//!    [`MAX_CHANNELS_PER_SESSION`] (10, OpenSSH's `MaxSessions`) are open at
//!    once and further commands wait. Output is streamed as it arrives and
//!    every channel is drained to its end. [`Become`] wraps commands in sudo
//!    or su;
//!    uploads are written to a temp file and renamed into place.
//! 4. **[`Session::close`]** disconnects. Dropping the last clone of a
//!    `Session` also closes the connection; a jump host connection closes
//!    when the last session using it is gone.
//!
//! Errors are [`SshError`]s; [`SshError::is_unreachable`] separates
//! transport trouble from problems the operator has to fix.

mod auth;
mod client;
mod config;
mod error;
mod known_hosts;
mod options;
mod session;
mod su;
pub mod sudo;
mod upload;

pub use client::Client;
pub use error::SshError;
pub use options::{
    Become, BecomeMethod, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONCURRENT_CONNECTS, ExecOptions,
    JumpTarget, KEY_PASSPHRASE_ENV, Output, PassphrasePrompt, Secret, SshOptions, StdinStream,
    Stream, Target,
};
pub use session::{MAX_CHANNELS_PER_SESSION, Session, within_timeout};
pub use upload::script as upload_script;
