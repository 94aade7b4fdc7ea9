//! Connection vars: the typed vars that say how to reach a host over SSH.
//!
//! | var             | type        | default          |
//! |-----------------|-------------|------------------|
//! | `address`       | string      | the host's name  |
//! | `port`          | 1..=65535   | 22               |
//! | `user`          | string      | none             |
//! | `identity_file` | path string | none             |
//! | `jump`          | `[user@]host[:port]` | none    |
//! | `become`        | bool        | false            |
//! | `connection`    | `ssh` or `local` | `ssh`       |
//!
//! They may be set at any level (`all`, group or host vars) and are checked
//! wherever they appear, so an error points at the line that is wrong, not
//! at the host that inherits it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use fleet_yaml::{Location, Node, YamlNode, location, message_quote};
use serde_json::{Map, Value};

use crate::error::{InventoryError, JumpError, UserNameError};

/// The names of the connection vars.
pub const CONNECTION_VARS: [&str; 7] = [
    "address",
    "port",
    "user",
    "identity_file",
    "jump",
    "become",
    "connection",
];

/// The SSH port used when none is set.
pub const DEFAULT_PORT: u16 = 22;

/// How to reach one host: the resolved connection vars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Host name or IP address to connect to; defaults to the host's name.
    pub address: String,
    /// SSH port; defaults to 22.
    pub port: u16,
    /// Remote user; `None` lets the transport decide (ssh_config, then the local user).
    pub user: Option<String>,
    /// Private key file. A relative path in the inventory is resolved against
    /// the inventory file's directory, and a leading `~/` against `$HOME`.
    pub identity_file: Option<PathBuf>,
    /// A bastion to go through (ProxyJump).
    pub jump: Option<Jump>,
    /// Run tasks through sudo. `become` is a Rust keyword, hence the raw
    /// identifier: write `connection.r#become`.
    pub r#become: bool,
    /// How commands reach the host: over SSH, or run on the controller
    /// itself (`connection: local`, Ansible's `ansible_connection=local`).
    pub transport: Transport,
}

/// A user name to log in as, or to become: not empty, no whitespace (what
/// the `user` var accepts).
///
/// ```
/// use fleet_inventory::UserName;
/// let user: UserName = "deploy".parse().unwrap();
/// assert_eq!(user.as_str(), "deploy");
/// assert!("".parse::<UserName>().is_err());
/// assert!("two words".parse::<UserName>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UserName {
    type Err = UserNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if is_word(text) {
            Ok(UserName(text.to_owned()))
        } else {
            Err(UserNameError(text.to_owned()))
        }
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `connection` var: how commands reach a host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Over SSH (the default).
    #[default]
    Ssh,
    /// On the controller, through its own `sh`; the other connection vars
    /// are not used.
    Local,
}

impl Transport {
    /// The value as written in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Ssh => "ssh",
            Transport::Local => "local",
        }
    }

    /// Reads `ssh` or `local`.
    pub fn parse(text: &str) -> Option<Transport> {
        match text {
            "ssh" => Some(Transport::Ssh),
            "local" => Some(Transport::Local),
            _ => None,
        }
    }
}

/// A ProxyJump spec: `[user@]host[:port]`; an IPv6 host goes in brackets,
/// as in `admin@[2001:db8::1]:22`.
///
/// ```
/// use fleet_inventory::Jump;
/// let jump: Jump = "admin@bastion:2222".parse().unwrap();
/// assert_eq!(jump.user.as_deref(), Some("admin"));
/// assert_eq!(jump.host, "bastion");
/// assert_eq!(jump.port, Some(2222));
/// assert_eq!(jump.to_string(), "admin@bastion:2222");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Jump {
    /// User on the bastion, if given.
    pub user: Option<String>,
    /// Host name or address of the bastion (without brackets).
    pub host: String,
    /// Port on the bastion, if given.
    pub port: Option<u16>,
}

impl FromStr for Jump {
    type Err = JumpError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        if spec.is_empty() {
            return Err(JumpError::Empty);
        }
        if spec.chars().any(char::is_whitespace) {
            return Err(JumpError::Whitespace);
        }
        if spec.contains(',') {
            return Err(JumpError::Chain);
        }
        let (user, rest) = match spec.split_once('@') {
            Some(("", _)) => return Err(JumpError::EmptyUser),
            Some((user, rest)) => (Some(user.to_owned()), rest),
            None => (None, spec),
        };
        let (host, port) = split_host_port(rest)?;
        if host.is_empty() {
            return Err(JumpError::EmptyHost);
        }
        if host.contains(['@', '[', ']', '/']) {
            return Err(JumpError::BadHost(host.to_owned()));
        }
        let port = match port {
            None => None,
            Some(text) => {
                Some(parse_port(text).ok_or_else(|| JumpError::BadPort(text.to_owned()))?)
            }
        };
        Ok(Jump {
            user,
            host: host.to_owned(),
            port,
        })
    }
}

/// Splits `host[:port]` or `[v6addr][:port]`.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>), JumpError> {
    if let Some(bracketed) = text.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(JumpError::BadHost(text.to_owned()));
        };
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(JumpError::BadHost(text.to_owned())),
            },
        };
    }
    match text.split_once(':') {
        None => Ok((text, None)),
        Some((host, port)) if !port.contains(':') => Ok((host, Some(port))),
        // More than one colon: an IPv6 address without brackets.
        Some(_) => Err(JumpError::BadHost(text.to_owned())),
    }
}

fn parse_port(text: &str) -> Option<u16> {
    if !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|port| *port != 0)
}

impl fmt::Display for Jump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// Where relative and `~/` paths in the inventory are resolved.
#[derive(Debug, Clone)]
pub(crate) struct PathContext {
    /// The directory of the inventory file.
    pub(crate) base_dir: PathBuf,
    /// `$HOME`, if set.
    pub(crate) home: Option<PathBuf>,
}

impl PathContext {
    /// Resolves an `identity_file` value; the error is the reason it cannot be.
    fn resolve(&self, raw: &str) -> Result<PathBuf, &'static str> {
        if let Some(rest) = raw.strip_prefix("~/") {
            return match &self.home {
                Some(home) => Ok(home.join(rest)),
                None => Err("it starts with `~/` but HOME is not set"),
            };
        }
        if raw.starts_with('~') {
            return Err("only a leading `~/` is expanded");
        }
        let path = Path::new(raw);
        if path.is_absolute() {
            Ok(path.to_path_buf())
        } else {
            Ok(self.base_dir.join(path))
        }
    }
}

/// Whether `name` is one of the typed connection vars.
pub(crate) fn is_connection_var(name: &str) -> bool {
    CONNECTION_VARS.contains(&name)
}

/// Checks the value of connection var `name` where it is written, and returns
/// it in normal form: `identity_file` resolved to a path, `jump` re-written
/// canonically.
pub(crate) fn check_var(
    name: &str,
    node: &YamlNode,
    source: &str,
    paths: &PathContext,
) -> Result<Value, InventoryError> {
    check_value(name, &node.value, location(source, &node.referenced), paths)
}

/// [`check_var`] for a value at `at`, wherever it was read from.
pub(crate) fn check_value(
    name: &str,
    value: &Node,
    at: Location,
    paths: &PathContext,
) -> Result<Value, InventoryError> {
    let got = value.describe();
    let fail = |message: String, hint: &str| InventoryError::invalid(at.clone(), message, hint);
    let word = value.as_str().filter(|text| is_word(text));
    match name {
        "address" => word
            .map(|text| Value::String(text.to_owned()))
            .ok_or_else(|| {
                fail(
                    format!("address must be a host name or IP address, got {got}"),
                    "write e.g. `address: 10.0.0.5` or `address: web1.example.org`",
                )
            }),
        "port" => match value {
            Node::Int(port) if (1..=65535).contains(port) => Ok(Value::from(*port as u64)),
            _ => Err(fail(
                format!("port must be a number from 1 to 65535, got {got}"),
                "write the SSH port as a plain number without quotes, e.g. `port: 2222`",
            )),
        },
        "user" => word
            .map(|text| Value::String(text.to_owned()))
            .ok_or_else(|| {
                fail(
                    format!("user must be a user name, got {got}"),
                    "write e.g. `user: deploy` (no spaces, not empty)",
                )
            }),
        "identity_file" => {
            const HINT: &str = "write a path to a private key, e.g. `identity_file: keys/deploy` \
                 (relative to the inventory file) or `identity_file: ~/.ssh/id_ed25519`";
            let Some(raw) = value.as_str().filter(|text| !text.is_empty()) else {
                return Err(fail(
                    format!("identity_file must be a path, got {got}"),
                    HINT,
                ));
            };
            let path = paths.resolve(raw).map_err(|why| {
                fail(format!("identity_file {}: {why}", message_quote(raw)), HINT)
            })?;
            Ok(Value::String(path.to_string_lossy().into_owned()))
        }
        "jump" => {
            const HINT: &str = "write jump as [user@]host[:port], e.g. `jump: admin@bastion:22`";
            let Some(spec) = value.as_str() else {
                return Err(fail(
                    format!("jump must be a string such as admin@bastion:22, got {got}"),
                    HINT,
                ));
            };
            let jump: Jump = spec.parse().map_err(|err: JumpError| {
                fail(format!("invalid jump {}: {err}", message_quote(spec)), HINT)
            })?;
            Ok(Value::String(jump.to_string()))
        }
        "become" => match value {
            Node::Bool(flag) => Ok(Value::Bool(*flag)),
            _ => Err(fail(
                format!("become must be true or false, got {got}"),
                "write `become: true` to run tasks through sudo, or `become: false`",
            )),
        },
        "connection" => value
            .as_str()
            .and_then(Transport::parse)
            .map(|transport| Value::String(transport.as_str().to_owned()))
            .ok_or_else(|| {
                fail(
                    format!("connection must be `ssh` or `local`, got {got}"),
                    "write `connection: local` to run this host's tasks on the controller, \
                     or `connection: ssh` (the default)",
                )
            }),
        // Not a connection var: free-form.
        _ => Ok(value.to_json()),
    }
}

/// A non-empty string without whitespace.
fn is_word(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(char::is_whitespace)
}

impl Connection {
    /// Builds the connection of host `name` from its merged vars, which
    /// [`check_var`] has already checked; `at` is the host, for the unlikely
    /// error.
    pub(crate) fn from_vars(
        name: &str,
        vars: &Map<String, Value>,
        at: &Location,
    ) -> Result<Self, InventoryError> {
        let bad = |var: &str| {
            InventoryError::invalid(
                at.clone(),
                format!(
                    "host {}: connection var `{var}` has an unexpected value",
                    message_quote(name)
                ),
                "see docs/inventory.md for the connection vars and their types",
            )
        };
        let text = |var: &str| -> Result<Option<String>, InventoryError> {
            match vars.get(var) {
                None => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => Err(bad(var)),
            }
        };
        let port = match vars.get("port") {
            None => DEFAULT_PORT,
            Some(value) => value
                .as_u64()
                .and_then(|port| u16::try_from(port).ok())
                .filter(|port| *port != 0)
                .ok_or_else(|| bad("port"))?,
        };
        let jump = match text("jump")? {
            None => None,
            Some(spec) => Some(spec.parse().map_err(|_| bad("jump"))?),
        };
        let r#become = match vars.get("become") {
            None => false,
            Some(value) => value.as_bool().ok_or_else(|| bad("become"))?,
        };
        let transport = match text("connection")? {
            None => Transport::Ssh,
            Some(text) => Transport::parse(&text).ok_or_else(|| bad("connection"))?,
        };
        Ok(Connection {
            address: text("address")?.unwrap_or_else(|| name.to_owned()),
            port,
            user: text("user")?,
            identity_file: text("identity_file")?.map(PathBuf::from),
            jump,
            r#become,
            transport,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_forms() {
        let jump: Jump = "bastion".parse().unwrap();
        assert_eq!(
            jump,
            Jump {
                user: None,
                host: "bastion".into(),
                port: None
            }
        );
        let jump: Jump = "ops@10.0.0.1:2200".parse().unwrap();
        assert_eq!(jump.user.as_deref(), Some("ops"));
        assert_eq!(jump.host, "10.0.0.1");
        assert_eq!(jump.port, Some(2200));
        let jump: Jump = "[2001:db8::1]:22".parse().unwrap();
        assert_eq!(jump.host, "2001:db8::1");
        assert_eq!(jump.to_string(), "[2001:db8::1]:22");
    }

    #[test]
    fn jump_errors() {
        assert_eq!("".parse::<Jump>(), Err(JumpError::Empty));
        assert_eq!("@h".parse::<Jump>(), Err(JumpError::EmptyUser));
        assert_eq!("u@".parse::<Jump>(), Err(JumpError::EmptyHost));
        assert_eq!("u@:22".parse::<Jump>(), Err(JumpError::EmptyHost));
        assert_eq!("h:0".parse::<Jump>(), Err(JumpError::BadPort("0".into())));
        assert_eq!(
            "h:70000".parse::<Jump>(),
            Err(JumpError::BadPort("70000".into()))
        );
        assert_eq!(
            "h:+22".parse::<Jump>(),
            Err(JumpError::BadPort("+22".into()))
        );
        assert_eq!("a,b".parse::<Jump>(), Err(JumpError::Chain));
        assert_eq!("a b".parse::<Jump>(), Err(JumpError::Whitespace));
        assert_eq!(
            "u@a@b".parse::<Jump>(),
            Err(JumpError::BadHost("a@b".into()))
        );
        assert_eq!(
            "2001:db8::1".parse::<Jump>(),
            Err(JumpError::BadHost("2001:db8::1".into()))
        );
    }

    #[test]
    fn paths_resolve() {
        let paths = PathContext {
            base_dir: PathBuf::from("inventories/prod"),
            home: Some(PathBuf::from("/home/ops")),
        };
        assert_eq!(
            paths.resolve("keys/id"),
            Ok(PathBuf::from("inventories/prod/keys/id"))
        );
        assert_eq!(paths.resolve("/etc/key"), Ok(PathBuf::from("/etc/key")));
        assert_eq!(
            paths.resolve("~/.ssh/id"),
            Ok(PathBuf::from("/home/ops/.ssh/id"))
        );
        assert!(paths.resolve("~ops/id").is_err());
        let homeless = PathContext {
            home: None,
            ..paths
        };
        assert!(homeless.resolve("~/.ssh/id").is_err());
    }
}
