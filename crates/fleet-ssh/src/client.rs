//! The [`Client`]: shared state for all connections, and connection set-up
//! (TCP or tunnel, handshake with host key check, authentication).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use russh::client::{Config, Handle, Handler};
use russh::keys::{Algorithm, PublicKeyOrCertificate};
use russh::{Preferred, cipher, kex};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::SshError;
use crate::auth::{KeyCache, authenticate};
use crate::config::{Endpoint, Resolver};
use crate::known_hosts::{KnownHosts, Verdict, fingerprint};
use crate::options::{SshOptions, Target, home_dir};
use crate::session::Session;

/// Keepalive: a probe after this much silence…
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// …and the connection is dropped after this many unanswered probes.
const KEEPALIVE_MAX: usize = 3;

/// Shared by every connection: options, parsed ssh_config and known_hosts,
/// the key cache, the connect throttle and the jump-host connections.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<ClientInner>,
}

#[derive(Debug)]
pub(crate) struct ClientInner {
    opts: SshOptions,
    resolver: Resolver,
    known_hosts: KnownHosts,
    keys: KeyCache,
    connects: Semaphore,
    config: Arc<Config>,
    jumps: Mutex<HashMap<JumpKey, Arc<tokio::sync::Mutex<JumpSlot>>>>,
}

/// A jump chain: (user, host, port) of every hop up to this one.
type JumpKey = Vec<(String, String, u16)>;

/// A connection to a jump host, shared by every target tunnelled through it
/// and closed when the last of them is gone.
pub(crate) struct JumpConn {
    pub(crate) handle: Handle<ClientHandler>,
    pub(crate) name: String,
    /// The previous hop, kept alive for multi-hop chains.
    _via: Option<Arc<JumpConn>>,
}

#[derive(Default)]
enum JumpSlot {
    #[default]
    Empty,
    Alive(Weak<JumpConn>),
    Failed {
        error: Arc<SshError>,
        at: Instant,
    },
}

impl std::fmt::Debug for JumpSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JumpSlot::Empty => "Empty",
            JumpSlot::Alive(_) => "Alive",
            JumpSlot::Failed { .. } => "Failed",
        })
    }
}

impl Client {
    /// Reads ssh_config and known_hosts (once, for all connections).
    pub fn new(opts: SshOptions) -> Result<Client, SshError> {
        let home = home_dir();
        let config_path = opts
            .ssh_config
            .clone()
            .unwrap_or_else(|| home.join(".ssh").join("config"));
        let resolver = Resolver::new(&config_path, &home, opts.identity.as_deref())?;
        let known_hosts = KnownHosts::load(&opts.known_hosts)?;
        let keys = KeyCache::new(opts.passphrase_prompt.clone());
        let connects = Semaphore::new(opts.max_concurrent_connects.max(1));
        Ok(Client {
            inner: Arc::new(ClientInner {
                opts,
                resolver,
                known_hosts,
                keys,
                connects,
                config: Arc::new(russh_config(None)),
                jumps: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Opens the connection to `target` (through its jump hosts, if any),
    /// verifies its host key and authenticates. Use the returned
    /// [`Session`] for every command to that host.
    pub async fn connect(&self, target: &Target) -> Result<Session, SshError> {
        let route = self.inner.resolver.route(target)?;
        let label = route.target.label();
        let via = match route.jumps.is_empty() {
            true => None,
            false => Some(
                self.jump(&route.jumps)
                    .await
                    .map_err(|source| SshError::Jump {
                        host: label.clone(),
                        jump: names(&route.jumps),
                        source,
                    })?,
            ),
        };
        let handle = self
            .establish(&route.target, &label, via.as_deref())
            .await?;
        Ok(Session::new(handle, label, route.target.user.clone(), via))
    }

    /// The (shared) connection to the last hop of `hops`, set up on demand.
    /// A recent failure is returned again without retrying, so that hundreds
    /// of hosts behind a dead bastion fail fast.
    async fn jump(&self, hops: &[Endpoint]) -> Result<Arc<JumpConn>, Arc<SshError>> {
        let Some((last, before)) = hops.split_last() else {
            return Err(Arc::new(SshError::Invalid("empty ProxyJump chain".into())));
        };
        let key: JumpKey = hops
            .iter()
            .map(|h| (h.user.clone(), h.host.to_ascii_lowercase(), h.port))
            .collect();
        let slot = {
            let mut jumps = self.inner.jumps.lock().unwrap_or_else(|e| e.into_inner());
            jumps.entry(key).or_default().clone()
        };
        let mut slot = slot.lock().await;
        match &*slot {
            JumpSlot::Alive(weak) => {
                if let Some(conn) = weak.upgrade().filter(|c| !c.handle.is_closed()) {
                    return Ok(conn);
                }
            }
            JumpSlot::Failed { error, at } if at.elapsed() < self.failure_ttl() => {
                return Err(error.clone());
            }
            _ => {}
        }
        let via = match before.is_empty() {
            true => None,
            false => Some(Box::pin(self.jump(before)).await?),
        };
        let label = last.label();
        match self.establish(last, &label, via.as_deref()).await {
            Ok(handle) => {
                let conn = Arc::new(JumpConn {
                    handle,
                    name: last.name.clone(),
                    _via: via,
                });
                *slot = JumpSlot::Alive(Arc::downgrade(&conn));
                Ok(conn)
            }
            Err(error) => {
                let error = Arc::new(error);
                *slot = JumpSlot::Failed {
                    error: error.clone(),
                    at: Instant::now(),
                };
                Err(error)
            }
        }
    }

    fn failure_ttl(&self) -> Duration {
        self.inner.opts.connect_timeout.max(Duration::from_secs(5))
    }

    /// Connect + handshake + auth to one endpoint, directly or through
    /// `via`, under the connect throttle and the connect timeout.
    async fn establish(
        &self,
        ep: &Endpoint,
        label: &str,
        via: Option<&JumpConn>,
    ) -> Result<Handle<ClientHandler>, SshError> {
        let inner = &self.inner;
        let _permit = inner
            .connects
            .acquire()
            .await
            .map_err(|_| SshError::Invalid("client is shutting down".into()))?;
        let mut budget = Budget::new(inner.opts.connect_timeout, label);
        let handler = ClientHandler {
            client: self.inner.clone(),
            host: ep.host.clone(),
            port: ep.port,
            label: label.to_owned(),
        };
        let config = self.config_for(ep);
        let handshake_err = |e: HandlerError| match e {
            HandlerError::HostKey(e) => e,
            HandlerError::Russh(source) => SshError::Handshake {
                host: label.to_owned(),
                source,
            },
        };
        let mut handle = match via {
            None => {
                let stream = budget
                    .run(tokio::net::TcpStream::connect((ep.host.as_str(), ep.port)))
                    .await?
                    .map_err(|source| SshError::Connect {
                        host: label.to_owned(),
                        source,
                    })?;
                let _ = stream.set_nodelay(true);
                budget
                    .run(russh::client::connect_stream(config, stream, handler))
                    .await?
                    .map_err(handshake_err)?
            }
            Some(jump) => {
                let channel = budget
                    .run(jump.handle.channel_open_direct_tcpip(
                        ep.host.clone(),
                        u32::from(ep.port),
                        "127.0.0.1",
                        0,
                    ))
                    .await?
                    .map_err(|e| SshError::Tunnel {
                        host: label.to_owned(),
                        jump: jump.name.clone(),
                        reason: e.to_string(),
                    })?;
                budget
                    .run(russh::client::connect_stream(
                        config,
                        channel.into_stream(),
                        handler,
                    ))
                    .await?
                    .map_err(handshake_err)?
            }
        };
        authenticate(&mut handle, ep, label, &inner.keys, &mut budget).await?;
        Ok(handle)
    }

    /// The shared russh config, unless known_hosts only holds key types other
    /// than our first choice for this host: then ask for those first (as
    /// OpenSSH does), so the key can be verified.
    fn config_for(&self, ep: &Endpoint) -> Arc<Config> {
        let known = self.inner.known_hosts.known_algorithms(&ep.host, ep.port);
        match known.first() {
            None | Some(Algorithm::Ed25519) => self.inner.config.clone(),
            Some(_) => Arc::new(russh_config(Some(&known))),
        }
    }
}

fn names(hops: &[Endpoint]) -> String {
    hops.iter()
        .map(|h| h.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A lean client config: curve25519 kex, ed25519 host keys first, AES-GCM
/// or ChaCha20 ciphers, no compression, keepalives, TCP_NODELAY.
fn russh_config(known_first: Option<&[Algorithm]>) -> Config {
    let mut keys: Vec<Algorithm> = known_first.map(<[Algorithm]>::to_vec).unwrap_or_default();
    for algorithm in Preferred::DEFAULT.key.iter() {
        if !keys.contains(algorithm) {
            keys.push(algorithm.clone());
        }
    }
    Config {
        preferred: Preferred {
            kex: std::borrow::Cow::Borrowed(&[
                kex::CURVE25519,
                kex::CURVE25519_PRE_RFC_8731,
                kex::MLKEM768X25519_SHA256,
                kex::DH_G16_SHA512,
                kex::DH_G14_SHA256,
                kex::EXTENSION_SUPPORT_AS_CLIENT,
                kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
            ]),
            key: keys.into(),
            cipher: std::borrow::Cow::Borrowed(&[
                cipher::AES_128_GCM,
                cipher::AES_256_GCM,
                cipher::CHACHA20_POLY1305,
                cipher::AES_256_CTR,
                cipher::AES_128_CTR,
            ]),
            compression: std::borrow::Cow::Borrowed(&[russh::compression::NONE]),
            ..Preferred::DEFAULT
        },
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: KEEPALIVE_MAX,
        inactivity_timeout: None,
        nodelay: true,
        ..Config::default()
    }
}

/// The connect timeout as a deadline that can be pushed back by the time
/// spent waiting for something local (a passphrase prompt).
pub(crate) struct Budget {
    deadline: Instant,
    total: Duration,
    label: String,
}

impl Budget {
    fn new(total: Duration, label: &str) -> Self {
        Budget {
            deadline: Instant::now() + total,
            total,
            label: label.to_owned(),
        }
    }

    /// Runs `fut`, failing with `ConnectTimeout` at the deadline.
    pub(crate) async fn run<F: Future>(&self, fut: F) -> Result<F::Output, SshError> {
        tokio::time::timeout_at(self.deadline, fut)
            .await
            .map_err(|_| SshError::ConnectTimeout {
                host: self.label.clone(),
                secs: self.total.as_secs_f64(),
            })
    }

    /// Runs `fut` without a deadline and moves the deadline back by the time
    /// it took.
    pub(crate) async fn paused<F: Future>(&mut self, fut: F) -> F::Output {
        let start = Instant::now();
        let out = fut.await;
        self.deadline += start.elapsed();
        out
    }
}

/// The russh event handler of one connection: checks the host key.
pub(crate) struct ClientHandler {
    client: Arc<ClientInner>,
    host: String,
    port: u16,
    label: String,
}

#[derive(Debug)]
pub(crate) enum HandlerError {
    Russh(russh::Error),
    HostKey(SshError),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Russh(e)
    }
}

impl Handler for ClientHandler {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            return Err(HandlerError::Russh(russh::Error::UnknownKey));
        };
        let known_hosts = &self.client.known_hosts;
        let file = known_hosts.path().to_path_buf();
        let mut verdict = known_hosts.check(&self.host, self.port, key);
        if verdict == Verdict::Unknown && self.client.opts.accept_new {
            verdict = known_hosts
                .learn(&self.host, self.port, key)
                .map_err(HandlerError::HostKey)?;
        }
        let host = self.label.clone();
        let fingerprint = fingerprint(key);
        Err(HandlerError::HostKey(match verdict {
            Verdict::Trusted => return Ok(true),
            Verdict::Unknown => SshError::HostKeyUnknown {
                host,
                file,
                fingerprint,
                keyscan: match self.port {
                    22 => format!("ssh-keyscan {}", self.host),
                    port => format!("ssh-keyscan -p {port} {}", self.host),
                },
            },
            Verdict::Changed { line } => SshError::HostKeyChanged {
                host,
                file,
                line,
                fingerprint,
            },
            Verdict::Revoked { line } => SshError::HostKeyRevoked {
                host,
                file,
                line,
                fingerprint,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::EcdsaCurve;

    #[test]
    fn known_key_types_are_asked_for_first() {
        let ecdsa = Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        };
        let config = russh_config(Some(std::slice::from_ref(&ecdsa)));
        assert_eq!(config.preferred.key.first(), Some(&ecdsa));
        assert_eq!(
            config.preferred.key.iter().filter(|a| **a == ecdsa).count(),
            1
        );
        let default = russh_config(None);
        assert_eq!(default.preferred.key.first(), Some(&Algorithm::Ed25519));
        assert_eq!(default.preferred.kex.first(), Some(&kex::CURVE25519));
        assert!(default.nodelay);
        assert_eq!(default.keepalive_interval, Some(KEEPALIVE_INTERVAL));
    }
}
