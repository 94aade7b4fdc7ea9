//! known_hosts: parsed once per [`Client`](crate::Client), matched in memory.
//!
//! Supported, as in OpenSSH:
//! - plain host patterns, comma lists, `*`/`?` wildcards and `!negations`
//!   (a matching negation excludes the line);
//! - hashed hosts `|1|base64(salt)|base64(HMAC-SHA1(salt, host))`;
//! - `[host]:port` for ports other than 22 (port 22 uses the bare host);
//! - `@revoked` lines: a matching revoked key refuses the connection;
//! - `@cert-authority` lines are ignored (fleet does not ask for host
//!   certificates), as are unparsable lines and unknown markers.
//!
//! Host names are matched case-insensitively (lowercased, like OpenSSH).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

use crate::SshError;

/// What the file says about a host's presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A line for this host holds exactly this key.
    Trusted,
    /// No line for this host holds a key of this type.
    Unknown,
    /// A line for this host holds a different key of the same type.
    Changed { line: usize },
    /// The key is marked `@revoked` for this host.
    Revoked { line: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

#[derive(Debug, Clone)]
enum Pattern {
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    Plain { negated: bool, pattern: String },
}

#[derive(Debug, Clone)]
struct Entry {
    line: usize,
    marker: Marker,
    patterns: Vec<Pattern>,
    key: KeyData,
}

#[derive(Debug, Default)]
struct Entries {
    all: Vec<Entry>,
    /// Literal host (lowercase) -> indexes of lines made only of literals.
    exact: HashMap<String, Vec<usize>>,
    /// Lines with hashes, wildcards or negations: matched one by one.
    scan: Vec<usize>,
    /// Number of lines in the file; the next append gets `lines + 1`.
    lines: usize,
    /// Whether the file's last byte is not a newline.
    needs_newline: bool,
}

/// The known_hosts file, parsed once.
#[derive(Debug)]
pub(crate) struct KnownHosts {
    path: PathBuf,
    entries: RwLock<Entries>,
    /// Serialises appends (check + write + record) across hosts.
    append: Mutex<()>,
}

impl KnownHosts {
    /// Reads and parses `path`. A missing file is an empty one.
    pub(crate) fn load(path: &Path) -> Result<Self, SshError> {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(SshError::KnownHosts {
                    file: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(Self::parse(path, &text))
    }

    pub(crate) fn parse(path: &Path, text: &str) -> Self {
        let mut entries = Entries {
            needs_newline: !text.is_empty() && !text.ends_with('\n'),
            ..Entries::default()
        };
        for (index, line) in text.lines().enumerate() {
            entries.lines = index + 1;
            if let Some(entry) = parse_line(index + 1, line) {
                entries.push(entry);
            }
        }
        KnownHosts {
            path: path.to_path_buf(),
            entries: RwLock::new(entries),
            append: Mutex::new(()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Checks `key` presented by `host`:`port`.
    pub(crate) fn check(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        let query = host_query(host, port);
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.verdict(&query, key.key_data())
    }

    /// The key types on record for `host`:`port`, in file order, so the
    /// handshake can ask for a type we can verify.
    pub(crate) fn known_algorithms(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let query = host_query(host, port);
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let mut algorithms: Vec<Algorithm> = Vec::new();
        for entry in entries.matching(&query) {
            if entry.marker == Marker::None {
                let algorithm = entry.key.algorithm();
                if !algorithms.contains(&algorithm) {
                    algorithms.push(algorithm);
                }
            }
        }
        algorithms
    }

    /// For `accept_new`: records the key of a host seen for the first time
    /// and returns the verdict that applies after the append (normally
    /// `Trusted`; if another connection recorded a different key for the
    /// host meanwhile, `Changed`).
    pub(crate) fn learn(
        &self,
        host: &str,
        port: u16,
        key: &PublicKey,
    ) -> Result<Verdict, SshError> {
        let _guard = self.append.lock().unwrap_or_else(|e| e.into_inner());
        let query = host_query(host, port);
        {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            let verdict = entries.verdict(&query, key.key_data());
            if verdict != Verdict::Unknown {
                return Ok(verdict);
            }
        }
        let needs_newline = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .needs_newline;
        let line = format_line(&query, key);
        let io_err = |source| SshError::KnownHosts {
            file: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err)?;
        let mut text = String::new();
        if needs_newline {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(io_err)?;
        file.flush().map_err(io_err)?;

        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.needs_newline = false;
        entries.lines += 1;
        let entry = Entry {
            line: entries.lines,
            marker: Marker::None,
            patterns: vec![Pattern::Plain {
                negated: false,
                pattern: query,
            }],
            key: key.key_data().clone(),
        };
        entries.push(entry);
        Ok(Verdict::Trusted)
    }
}

impl Entries {
    fn push(&mut self, entry: Entry) {
        let index = self.all.len();
        let literal = entry.patterns.iter().all(|p| match p {
            Pattern::Plain { negated, pattern } => !negated && !is_wildcard(pattern),
            Pattern::Hashed { .. } => false,
        });
        if literal {
            for p in &entry.patterns {
                if let Pattern::Plain { pattern, .. } = p {
                    let slot = self.exact.entry(pattern.clone()).or_default();
                    if slot.last() != Some(&index) {
                        slot.push(index);
                    }
                }
            }
        } else {
            self.scan.push(index);
        }
        self.all.push(entry);
    }

    /// Lines that apply to `query`, in file order.
    fn matching<'a>(&'a self, query: &str) -> impl Iterator<Item = &'a Entry> {
        let mut indexes: Vec<usize> = self.exact.get(query).cloned().unwrap_or_default();
        indexes.extend(self.scan.iter().copied().filter(|&i| {
            self.all
                .get(i)
                .is_some_and(|e| line_matches(&e.patterns, query))
        }));
        indexes.sort_unstable();
        indexes.dedup();
        indexes.into_iter().filter_map(|i| self.all.get(i))
    }

    fn verdict(&self, query: &str, key: &KeyData) -> Verdict {
        let mut trusted = false;
        let mut changed: Option<usize> = None;
        for entry in self.matching(query) {
            match entry.marker {
                Marker::Revoked if entry.key == *key => {
                    return Verdict::Revoked { line: entry.line };
                }
                Marker::None if entry.key == *key => trusted = true,
                Marker::None if same_type(&entry.key, key) => {
                    changed.get_or_insert(entry.line);
                }
                _ => {}
            }
        }
        match (trusted, changed) {
            (true, _) => Verdict::Trusted,
            (false, Some(line)) => Verdict::Changed { line },
            (false, None) => Verdict::Unknown,
        }
    }
}

/// `host` for port 22, `[host]:port` otherwise; lowercased.
pub(crate) fn host_query(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// `SHA256:…` for error messages.
pub(crate) fn fingerprint(key: &PublicKey) -> String {
    format!(
        "{} {}",
        key.algorithm().as_str(),
        key.fingerprint(HashAlg::Sha256)
    )
}

fn format_line(query: &str, key: &PublicKey) -> String {
    let bare = PublicKey::new(key.key_data().clone(), "");
    let encoded = bare
        .to_openssh()
        .unwrap_or_else(|_| key.algorithm().as_str().to_owned());
    format!("{query} {}", encoded.trim_end())
}

fn same_type(a: &KeyData, b: &KeyData) -> bool {
    // `algorithm()` distinguishes ECDSA curves; RSA keys always report the
    // bare `ssh-rsa` type here, whatever signature hash is negotiated.
    a.algorithm() == b.algorithm()
}

fn parse_line(number: usize, line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut hosts = fields.next()?;
    let mut marker = Marker::None;
    if let Some(name) = hosts.strip_prefix('@') {
        marker = match name {
            "revoked" => Marker::Revoked,
            "cert-authority" => Marker::CertAuthority,
            _ => return None,
        };
        hosts = fields.next()?;
    }
    let _key_type = fields.next()?;
    let blob = fields.next()?;
    let key = russh::keys::parse_public_key_base64(blob).ok()?;
    let patterns = hosts
        .split(',')
        .filter(|p| !p.is_empty())
        .filter_map(parse_pattern)
        .collect::<Vec<_>>();
    if patterns.is_empty() {
        return None;
    }
    Some(Entry {
        line: number,
        marker,
        patterns,
        key: key.key_data().clone(),
    })
}

fn parse_pattern(text: &str) -> Option<Pattern> {
    if let Some(rest) = text.strip_prefix("|1|") {
        let (salt, hash) = rest.split_once('|')?;
        let salt = BASE64.decode(salt.as_bytes()).ok()?;
        let hash = BASE64.decode(hash.as_bytes()).ok()?;
        return Some(Pattern::Hashed { salt, hash });
    }
    let (negated, pattern) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    Some(Pattern::Plain {
        negated,
        pattern: pattern.to_ascii_lowercase(),
    })
}

/// OpenSSH `match_hostname`: any negated match excludes the line; otherwise
/// any positive match includes it.
fn line_matches(patterns: &[Pattern], query: &str) -> bool {
    let mut matched = false;
    for pattern in patterns {
        match pattern {
            Pattern::Hashed { salt, hash } => {
                if hashed_matches(salt, hash, query) {
                    matched = true;
                }
            }
            Pattern::Plain { negated, pattern } => {
                if glob_match(pattern.as_bytes(), query.as_bytes()) {
                    if *negated {
                        return false;
                    }
                    matched = true;
                }
            }
        }
    }
    matched
}

fn hashed_matches(salt: &[u8], hash: &[u8], query: &str) -> bool {
    match Hmac::<Sha1>::new_from_slice(salt) {
        Ok(mac) => mac
            .chain_update(query.as_bytes())
            .verify_slice(hash)
            .is_ok(),
        Err(_) => false,
    }
}

fn is_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// `*` matches any run of bytes, `?` exactly one.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// `|1|salt|hash` for `host` (what `ssh-keygen -H` writes).
#[cfg(test)]
pub(crate) fn hash_host(query: &str, salt: &[u8]) -> String {
    let mac = Hmac::<Sha1>::new_from_slice(salt)
        .expect("HMAC accepts any key length")
        .chain_update(query.as_bytes())
        .finalize()
        .into_bytes();
    format!("|1|{}|{}", BASE64.encode(salt), BASE64.encode(&mac))
}

#[cfg(test)]
#[path = "known_hosts_tests.rs"]
mod tests;
