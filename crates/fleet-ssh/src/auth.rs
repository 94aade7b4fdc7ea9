//! Public-key authentication: ssh-agent first, then identity files.
//!
//! Order: every key the agent (`SSH_AUTH_SOCK`) holds (skipped silently
//! when there is no agent or it fails), then the identity files of the
//! [`Endpoint`]: the target's `identity_file`, `--identity`, ssh_config
//! `IdentityFile`, `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`.
//!
//! Key files are parsed (and decrypted) at most once per
//! [`Client`](crate::Client): the [`KeyCache`] keeps the result, success or
//! failure. Encrypted keys take their passphrase from
//! `FLEET_KEY_PASSPHRASE`, then from the prompt callback.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::client::Handle;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{Algorithm, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use tokio::sync::OnceCell;

use crate::SshError;
use crate::client::{Budget, ClientHandler};
use crate::config::Endpoint;
use crate::known_hosts::fingerprint;
use crate::options::{KEY_PASSPHRASE_ENV, PassphrasePrompt};

type Loaded = Result<Arc<PrivateKey>, String>;

/// Parsed private keys, by path, shared by all connections of a client.
pub(crate) struct KeyCache {
    slots: Mutex<HashMap<PathBuf, Arc<OnceCell<Loaded>>>>,
    prompt: Option<PassphrasePrompt>,
    /// One terminal prompt at a time.
    prompting: Arc<Mutex<()>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").finish_non_exhaustive()
    }
}

impl KeyCache {
    pub(crate) fn new(prompt: Option<PassphrasePrompt>) -> Self {
        KeyCache {
            slots: Mutex::new(HashMap::new()),
            prompt,
            prompting: Arc::new(Mutex::new(())),
        }
    }

    /// The key at `path`, loading it on first use (off the async threads:
    /// decrypting is slow and the prompt blocks).
    pub(crate) async fn load(&self, path: &Path) -> Loaded {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(path.to_path_buf()).or_default().clone()
        };
        slot.get_or_init(|| {
            let path = path.to_path_buf();
            let prompt = self.prompt.clone();
            let prompting = self.prompting.clone();
            async move {
                tokio::task::spawn_blocking(move || load_key(&path, prompt.as_ref(), &prompting))
                    .await
                    .unwrap_or_else(|e| Err(format!("key loading failed: {e}")))
            }
        })
        .await
        .clone()
    }
}

fn load_key(path: &Path, prompt: Option<&PassphrasePrompt>, prompting: &Mutex<()>) -> Loaded {
    if !path.exists() {
        return Err("not found".to_owned());
    }
    match russh::keys::load_secret_key(path, None) {
        Ok(key) => return Ok(Arc::new(key)),
        Err(russh::keys::Error::KeyIsEncrypted) => {}
        Err(e) => return Err(format!("cannot load: {e}")),
    }
    let mut wrong = false;
    if let Some(pass) = std::env::var(KEY_PASSPHRASE_ENV)
        .ok()
        .filter(|p| !p.is_empty())
    {
        match russh::keys::load_secret_key(path, Some(&pass)) {
            Ok(key) => return Ok(Arc::new(key)),
            Err(_) => wrong = true,
        }
    }
    if let Some(prompt) = prompt {
        let _one_at_a_time = prompting.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..3 {
            let Some(pass) = prompt(path) else { break };
            match russh::keys::load_secret_key(path, Some(&pass)) {
                Ok(key) => return Ok(Arc::new(key)),
                Err(_) => wrong = true,
            }
        }
    }
    Err(if wrong {
        "encrypted, and the passphrase is wrong".to_owned()
    } else {
        format!("encrypted; set {KEY_PASSPHRASE_ENV} or run on a terminal to be asked")
    })
}

/// Authenticates `ep.user`, trying the agent then the identity files.
/// Key loading (which may wait for a prompt) does not count against the
/// connect timeout.
pub(crate) async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    ep: &Endpoint,
    label: &str,
    keys: &KeyCache,
    budget: &mut Budget,
) -> Result<(), SshError> {
    let mut tried: Vec<String> = Vec::new();
    let mut offered: Vec<KeyData> = Vec::new();
    let mut rsa_hash: Option<Option<HashAlg>> = None;
    let fail = |tried: Vec<String>| SshError::Auth {
        user: ep.user.clone(),
        host: label.to_owned(),
        tried,
    };
    // A transport error mid-auth: the server hung up, often after too many
    // attempts (MaxAuthTries); report what was tried.
    let transport = |e: russh::Error, tried: &mut Vec<String>| -> SshError {
        if tried.is_empty() {
            SshError::Handshake {
                host: label.to_owned(),
                source: e,
            }
        } else {
            tried.push(format!(
                "then the server closed the connection ({e}; too many keys for MaxAuthTries?)"
            ));
            fail(std::mem::take(tried))
        }
    };

    if let Some(mut agent) = connect_agent(handle, budget).await {
        let identities = budget
            .run(agent.request_identities())
            .await?
            .unwrap_or_default();
        for identity in identities {
            let AgentIdentity::PublicKey { key, comment } = identity else {
                continue;
            };
            let hash = rsa_hash_for(handle, &key, &mut rsa_hash, budget).await?;
            let name = agent_key_name(&key, &comment);
            let attempt = budget
                .run(handle.authenticate_publickey_with(
                    ep.user.clone(),
                    key.clone(),
                    hash,
                    &mut agent,
                ))
                .await?;
            match attempt {
                Ok(result) if result.success() => return Ok(()),
                Ok(_) => tried.push(name),
                Err(russh::AgentAuthError::Send(_)) => {
                    return Err(transport(russh::Error::SendError, &mut tried));
                }
                Err(russh::AgentAuthError::Key(e)) => {
                    tried.push(format!("{name} (agent could not sign: {e})"))
                }
            }
            offered.push(key.key_data().clone());
        }
    }

    for identity in &ep.identities {
        let path = &identity.path;
        if !identity.explicit && !path.exists() {
            continue;
        }
        if public_half_offered(path, &offered) {
            continue;
        }
        let loaded = budget.paused(keys.load(path)).await;
        let key = match loaded {
            Ok(key) => key,
            Err(reason) if identity.explicit => {
                return Err(SshError::Key {
                    path: path.clone(),
                    reason,
                });
            }
            Err(reason) => {
                tried.push(format!("{} ({reason})", path.display()));
                continue;
            }
        };
        if offered.contains(key.public_key().key_data()) {
            continue;
        }
        let hash = rsa_hash_for(handle, key.public_key(), &mut rsa_hash, budget).await?;
        let attempt = budget
            .run(handle.authenticate_publickey(
                ep.user.clone(),
                PrivateKeyWithHashAlg::new(key.clone(), hash),
            ))
            .await?;
        match attempt {
            Ok(result) if result.success() => return Ok(()),
            Ok(_) => tried.push(path.display().to_string()),
            Err(e) => return Err(transport(e, &mut tried)),
        }
        offered.push(key.public_key().key_data().clone());
    }
    Err(fail(tried))
}

/// The agent, if `SSH_AUTH_SOCK` points at one that answers.
async fn connect_agent(
    handle: &Handle<ClientHandler>,
    budget: &Budget,
) -> Option<AgentClient<tokio::net::UnixStream>> {
    std::env::var_os("SSH_AUTH_SOCK").filter(|s| !s.is_empty())?;
    let mut agent = budget.run(AgentClient::connect_env()).await.ok()?.ok()?;
    if let Some(binding) = handle.agent_session_binding() {
        // Needed for destination-constrained keys; harmless otherwise.
        let _ = budget.run(agent.bind_session(binding, false)).await;
    }
    Some(agent)
}

/// For RSA keys, the best signature hash the server accepts (asked once).
async fn rsa_hash_for(
    handle: &Handle<ClientHandler>,
    key: &PublicKey,
    cache: &mut Option<Option<HashAlg>>,
    budget: &Budget,
) -> Result<Option<HashAlg>, SshError> {
    if !matches!(key.algorithm(), Algorithm::Rsa { .. }) {
        return Ok(None);
    }
    if let Some(hash) = cache {
        return Ok(*hash);
    }
    let hash = budget
        .run(handle.best_supported_rsa_hash())
        .await?
        .ok()
        .flatten()
        .flatten();
    *cache = Some(hash);
    Ok(hash)
}

/// Whether `path.pub` holds a key the agent already offered (so an
/// encrypted copy need not be decrypted again).
fn public_half_offered(path: &Path, offered: &[KeyData]) -> bool {
    if offered.is_empty() {
        return false;
    }
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    russh::keys::load_public_key(PathBuf::from(pub_path))
        .is_ok_and(|key| offered.contains(key.key_data()))
}

fn agent_key_name(key: &PublicKey, comment: &str) -> String {
    if comment.is_empty() {
        format!("agent key {}", fingerprint(key))
    } else {
        format!("agent key {} ({comment})", fingerprint(key))
    }
}
