//! ~/.ssh/config support (through ssh2-config) and resolution of a
//! [`Target`] into what to dial.
//!
//! Matching: `Host` patterns are matched against the inventory host *name*
//! (like Ansible, where patterns match the inventory alias, the way `ssh
//! alias` does), and also against the target's address when the inventory
//! sets one that differs from the name. Matching blocks apply in file order
//! and, as in OpenSSH, the first value obtained for an option wins
//! (`IdentityFile` accumulates).
//!
//! Precedence, per option: explicit inventory vars, then ssh_config, then
//! defaults (user: `$USER`; port: 22). An inventory `address` that differs
//! from the host name is explicit and beats `HostName`.
//!
//! Honoured options: `HostName`, `User`, `Port`, `IdentityFile`,
//! `ProxyJump` (comma-separated hops; `none` disables it). Jump hosts get
//! their own `HostName`/`User`/`Port`/`IdentityFile` from the file but not
//! their own `ProxyJump`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ssh2_config::{DefaultAlgorithms, Host, HostParams, ParseRule, SshConfig};

use crate::{JumpTarget, SshError, Target};

/// One endpoint, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Name used in messages (inventory name or jump spec).
    pub name: String,
    /// Host or address to dial (and to look up in known_hosts).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Identity files in the order to try them, each flagged explicit
    /// (inventory/`--identity`: a load failure is an error) or not.
    pub identities: Vec<Identity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub path: PathBuf,
    pub explicit: bool,
}

impl Endpoint {
    /// `name` or `name (host:port)` when they differ.
    pub(crate) fn label(&self) -> String {
        let dialled = if self.port == 22 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        if dialled == self.name {
            self.name.clone()
        } else {
            format!("{} ({dialled})", self.name)
        }
    }
}

/// A target with its chain of jump hosts (outermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub target: Endpoint,
    pub jumps: Vec<Endpoint>,
}

/// The parsed ssh_config (absent file: no rules) plus the defaults needed to
/// resolve targets.
#[derive(Debug)]
pub(crate) struct Resolver {
    config: Option<SshConfig>,
    home: PathBuf,
    default_user: String,
    /// `--identity`.
    identity: Option<PathBuf>,
    /// `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`: those that exist.
    default_identities: Vec<PathBuf>,
}

impl Resolver {
    pub(crate) fn new(path: &Path, home: &Path, identity: Option<&Path>) -> Result<Self, SshError> {
        let config = match File::open(path) {
            Ok(file) => Some(parse_config(path, &mut BufReader::new(file), home)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(SshError::Config {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        };
        let default_identities = ["id_ed25519", "id_rsa"]
            .iter()
            .map(|name| home.join(".ssh").join(name))
            .filter(|p| p.is_file())
            .collect();
        Ok(Resolver {
            config,
            home: home.to_path_buf(),
            default_user: default_user(),
            identity: identity.map(|p| expand_tilde(p, home)),
            default_identities,
        })
    }

    /// A resolver over config text, for tests.
    #[cfg(test)]
    pub(crate) fn from_text(
        text: &str,
        home: &Path,
        identity: Option<&Path>,
        default_user: &str,
    ) -> Result<Self, SshError> {
        let config = parse_config(Path::new("test_config"), &mut text.as_bytes(), home)?;
        Ok(Resolver {
            config: Some(config),
            home: home.to_path_buf(),
            default_user: default_user.to_owned(),
            identity: identity.map(Path::to_path_buf),
            default_identities: vec![home.join(".ssh/id_ed25519")],
        })
    }

    /// Resolves the target and its jump chain.
    pub(crate) fn route(&self, target: &Target) -> Result<Route, SshError> {
        let address = match target.address.as_str() {
            "" => target.name.as_str(),
            address => address,
        };
        let explicit_address = address != target.name;
        let mut names = vec![target.name.as_str()];
        if explicit_address {
            names.push(address);
        }
        let params = self.query(&names);
        let host = if explicit_address {
            address.to_owned()
        } else {
            params
                .as_ref()
                .and_then(|p| p.host_name.clone())
                .unwrap_or_else(|| address.to_owned())
        };
        let port = target
            .port
            .or_else(|| params.as_ref().and_then(|p| p.port))
            .unwrap_or(22);
        let user = target
            .user
            .clone()
            .or_else(|| params.as_ref().and_then(|p| p.user.clone()))
            .unwrap_or_else(|| self.default_user.clone());
        let identities = self.identities(target.identity_file.as_deref(), params.as_ref());
        let target_endpoint = Endpoint {
            name: target.name.clone(),
            host,
            port,
            user,
            identities,
        };

        let hops: Vec<JumpTarget> = match &target.jump {
            Some(jump) => vec![jump.clone()],
            None => match params.as_ref().and_then(|p| p.proxy_jump.as_ref()) {
                Some(list) if list.len() == 1 && list[0].eq_ignore_ascii_case("none") => vec![],
                Some(list) => list
                    .iter()
                    .map(|spec| parse_jump(spec))
                    .collect::<Result<_, _>>()?,
                None => vec![],
            },
        };
        let jumps = hops
            .iter()
            .map(|hop| self.jump_endpoint(hop, &target_endpoint.identities))
            .collect();
        Ok(Route {
            target: target_endpoint,
            jumps,
        })
    }

    /// A jump host is tried with its own keys first, then with the keys of
    /// the host behind it: operators usually reach both with the same key.
    fn jump_endpoint(&self, hop: &JumpTarget, behind: &[Identity]) -> Endpoint {
        let params = self.query(&[hop.host.as_str()]);
        let mut identities = self.identities(None, params.as_ref());
        for identity in behind {
            if !identities.iter().any(|own| own.path == identity.path) {
                identities.push(Identity {
                    path: identity.path.clone(),
                    explicit: false,
                });
            }
        }
        Endpoint {
            name: hop.host.clone(),
            host: params
                .as_ref()
                .and_then(|p| p.host_name.clone())
                .unwrap_or_else(|| hop.host.clone()),
            port: hop
                .port
                .or_else(|| params.as_ref().and_then(|p| p.port))
                .unwrap_or(22),
            user: hop
                .user
                .clone()
                .or_else(|| params.as_ref().and_then(|p| p.user.clone()))
                .unwrap_or_else(|| self.default_user.clone()),
            identities,
        }
    }

    /// Target identity, `--identity`, ssh_config `IdentityFile`s, defaults.
    fn identities(&self, own: Option<&Path>, params: Option<&HostParams>) -> Vec<Identity> {
        let mut out: Vec<Identity> = Vec::new();
        let mut add = |path: PathBuf, explicit: bool| {
            if !out.iter().any(|i| i.path == path) {
                out.push(Identity { path, explicit });
            }
        };
        if let Some(path) = own {
            add(expand_tilde(path, &self.home), true);
        }
        if let Some(path) = &self.identity {
            add(path.clone(), true);
        }
        for path in params
            .and_then(|p| p.identity_file.as_ref())
            .into_iter()
            .flatten()
        {
            add(expand_tilde(path, &self.home), false);
        }
        for path in &self.default_identities {
            add(path.clone(), false);
        }
        out
    }

    /// Options of every `Host` block matching any of `names`, merged in
    /// file order (first value wins; `IdentityFile` accumulates). `None`
    /// when there is no config file.
    fn query(&self, names: &[&str]) -> Option<HostParams> {
        let config = self.config.as_ref()?;
        let matching: Vec<&Host> = names
            .iter()
            .flat_map(|name| config.intersecting_hosts(name))
            .collect();
        let mut params = HostParams::new(&DefaultAlgorithms::empty());
        for host in config.get_hosts() {
            if matching.iter().any(|m| std::ptr::eq(*m, host)) {
                params.overwrite_if_none(&host.params);
            }
        }
        Some(params)
    }
}

fn parse_config(
    path: &Path,
    reader: &mut impl std::io::BufRead,
    home: &Path,
) -> Result<SshConfig, SshError> {
    SshConfig::default()
        .home_dir(home)
        .parse(
            reader,
            ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
        )
        .map_err(|e| SshError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// `$USER`, then `$LOGNAME`, then `root`.
fn default_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "root".to_owned())
}

pub(crate) fn expand_tilde(path: &Path, home: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) => path.to_path_buf(),
    }
}

/// Parses a ProxyJump hop: `[user@]host[:port]`, `[user@][v6addr][:port]`,
/// `ssh://[user@]host[:port]`.
pub(crate) fn parse_jump(spec: &str) -> Result<JumpTarget, SshError> {
    let err = |reason: &str| SshError::JumpSpec {
        spec: spec.to_owned(),
        reason: reason.to_owned(),
    };
    let text = spec.trim();
    let text = text.strip_prefix("ssh://").unwrap_or(text);
    let text = text.strip_suffix('/').unwrap_or(text);
    let (user, hostport) = match text.rsplit_once('@') {
        Some(("", _)) => return Err(err("empty user name")),
        Some((user, rest)) => (Some(user.to_owned()), rest),
        None => (None, text),
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| err("missing ']' after IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| err("expected ':port' after ']'"))?,
            ),
        };
        (host, port)
    } else {
        match hostport.split_once(':') {
            Some((host, port)) if !port.contains(':') => (host, Some(port)),
            // A bare IPv6 address: no port.
            Some(_) => (hostport, None),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(err("empty host name"));
    }
    if host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
        return Err(err("invalid character in host name"));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(err("port must be a number from 1 to 65535")),
            Ok(n) => Some(n),
        },
    };
    Ok(JumpTarget {
        user,
        host: host.to_owned(),
        port,
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
