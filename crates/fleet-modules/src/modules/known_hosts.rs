//! `known_hosts`: adds or removes a host's keys in a `known_hosts` file,
//! like Ansible's `known_hosts`. As there, the host's own `ssh-keygen -F`
//! finds the lines that match the host (hashed ones included); the new
//! file is computed on the controller from the probed one, with Ansible's
//! rules (one key per type and host, appended at the end), and uploaded
//! keeping the file's mode and owner. Removing every key of a host (no
//! `key`) runs `ssh-keygen -R` on the host, as Ansible does.

use base64::Engine;
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};

use super::de;
use super::group::Presence;
use crate::text::{decode_base64, fields, unified_diff};
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &["name", "host", "key", "path", "hash_host", "state"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownHostsParams {
    #[serde(alias = "host")]
    pub name: String,
    /// The known_hosts line(s): `host[,ip] type base64`.
    pub key: Option<String>,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default, deserialize_with = "de::boolean")]
    pub hash_host: bool,
    #[serde(default)]
    pub state: Presence,
}

fn default_path() -> String {
    "~/.ssh/known_hosts".into()
}

#[derive(Debug)]
pub struct KnownHosts {
    params: KnownHostsParams,
    /// `name` lowercased, as `ssh-keygen` looks it up.
    host: String,
    /// `key` with a newline at its end; `None` when empty or not given.
    key: Option<String>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "known_hosts".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: KnownHostsParams = parse_params("known_hosts", params)?;
    let host = params.name.to_lowercase();
    let key = params
        .key
        .clone()
        .filter(|key| !key.is_empty())
        .map(|key| if key.ends_with('\n') { key } else { key + "\n" });
    if key.is_none() && params.state == Presence::Present {
        return Err(invalid("No key specified when adding a host"));
    }
    if key.is_some() && comma_list(&host) {
        return Err(invalid(
            "Comma separated list of names is not supported. \
             Please pass a single name to lookup in the known_hosts file.",
        ));
    }
    if let Some(key) = &key
        && normalize(key).is_none()
    {
        return Err(invalid(format!(
            "not a known_hosts line (`host type key`): {:?}",
            key.trim_end()
        )));
    }
    Ok(Box::new(KnownHosts { params, host, key }))
}

/// Ansible's check for several names (`\S+(\s+)?,(\s+)?`).
fn comma_list(host: &str) -> bool {
    host.char_indices()
        .any(|(at, c)| c == ',' && host[..at].trim_end().chars().any(|c| !c.is_whitespace()))
}

/// The fields of a known_hosts line, as Ansible compares them: the marker
/// (`@cert-authority`, `@revoked`), the host field, the type and the key;
/// a comment is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    marker: Option<String>,
    host: String,
    kind: String,
    key: String,
}

fn normalize(line: &str) -> Option<Entry> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (marker, rest) = match words.first() {
        Some(first) if first.starts_with('@') => (Some(first.to_string()), &words[1..]),
        Some(_) => (None, &words[..]),
        None => return None,
    };
    match rest {
        [host, kind, key, ..] => Some(Entry {
            marker,
            host: host.to_string(),
            kind: kind.to_string(),
            key: key.to_string(),
        }),
        _ => None,
    }
}

/// What `ssh-keygen -F` says of the host in the file: Ansible's
/// `search_for_host_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Search {
    /// The host has a line in the file.
    pub found: bool,
    /// The key must be added, or replace the line `line`.
    pub replace_or_add: bool,
    /// The line (from 1) holding a key of the same type.
    pub line: Option<usize>,
}

/// Reads `ssh-keygen -F` output against the wanted key.
pub(crate) fn search(output: &str, key: Option<&str>) -> Result<Search, ModuleError> {
    let Some(key) = key else {
        return Ok(Search {
            found: true,
            replace_or_add: false,
            line: None,
        });
    };
    let wanted = normalize(key).ok_or_else(|| invalid("key has no fields"))?;
    let mut line = None;
    for text in output.split('\n') {
        if text.is_empty() {
            continue;
        }
        if text.starts_with('#') {
            let number = text
                .split_once("found: line ")
                .and_then(|(_, rest)| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                })
                .ok_or_else(|| {
                    ModuleError::Failed(format!(
                        "failed to parse output of ssh-keygen for line number: '{text}'"
                    ))
                })?;
            line = Some(number);
            continue;
        }
        let Some(found) = normalize(text) else {
            continue;
        };
        let marked = found.marker.as_deref().is_some_and(|marker| {
            marker.starts_with("@cert-authority") || marker.starts_with("@revoke")
        });
        let mut wanted = wanted.clone();
        if !marked && wanted.host.starts_with("|1|") && found.host.starts_with("|1|") {
            // An already hashed host is not hashed anew.
            wanted.host = found.host.clone();
        }
        if wanted == found {
            return Ok(Search {
                found: true,
                replace_or_add: false,
                line,
            });
        }
        if !marked && wanted.kind == found.kind {
            return Ok(Search {
                found: true,
                replace_or_add: true,
                line,
            });
        }
    }
    Ok(Search {
        found: true,
        replace_or_add: true,
        line: None,
    })
}

/// The key line with its host field replaced by `|1|salt|hmac`, as
/// `ssh-keygen -H` and Ansible's `hash_host` write it.
fn hash_key(host: &str, key: &str, salt: &[u8; 20]) -> String {
    let mut words: Vec<String> = key.split_whitespace().map(String::from).collect();
    let at = usize::from(words.first().is_some_and(|word| word.starts_with('@')));
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(salt).expect("any key length");
    mac.update(host.as_bytes());
    let engine = base64::engine::general_purpose::STANDARD;
    if let Some(word) = words.get_mut(at) {
        *word = format!(
            "|1|{}|{}",
            engine.encode(salt),
            engine.encode(mac.finalize().into_bytes())
        );
    }
    words.join(" ") + "\n"
}

fn random_salt() -> [u8; 20] {
    let mut salt = [0u8; 20];
    if getrandom::fill(&mut salt).is_err() {
        // No OS randomness: the salt only hides the host name's hash.
        let token = format!("{}{}", fleet_shell::token(), fleet_shell::token());
        for (byte, chunk) in salt.iter_mut().zip(token.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(chunk).unwrap_or("0"), 16).unwrap_or(0);
        }
    }
    salt
}

impl KnownHosts {
    /// The key as written to the file (hashed when `hash_host`).
    fn line(&self, salt: &[u8; 20]) -> Option<String> {
        let key = self.key.as_deref()?;
        Some(if self.params.hash_host {
            hash_key(&self.host, key, salt)
        } else {
            key.to_string()
        })
    }
}

/// The file after the change: the line `drop` left out, `key` appended
/// (after a last line without a newline, as Ansible writes it).
fn rewrite(before: &str, drop: Option<usize>, key: Option<&str>) -> String {
    let mut after: String = before
        .split_inclusive('\n')
        .enumerate()
        .filter(|(index, _)| Some(index + 1) != drop)
        .map(|(_, line)| line)
        .collect();
    if let Some(key) = key {
        after.push_str(key);
    }
    after
}

impl Module for KnownHosts {
    fn probe(&self) -> Option<Script> {
        let script = Script::new()
            .set("p", self.params.path.as_str())
            .set("host", self.host.as_str())
            .snippet(
                "case $p in \"~\"|\"~/\"*) p=\"$HOME${p#\\~}\" ;; esac\n\
                 echo \"path=$p\"\n\
                 echo \"umask=$(umask)\"\n\
                 if [ -e \"$p\" ]; then\n\
                 echo exists=1\n\
                 echo \"stat=$(stat -c '%a %U:%G' -- \"$p\")\"\n\
                 echo \"content=$(base64 -w0 < \"$p\")\"\n\
                 found=$(ssh-keygen -F \"$host\" -f \"$p\" 2>/dev/null); echo \"rc=$?\"\n\
                 echo \"found=$(printf '%s' \"$found\" | base64 -w0)\"\n\
                 echo \"error=$(ssh-keygen -F \"$host\" -f \"$p\" 2>&1 >/dev/null | base64 -w0)\"\n\
                 fi\n",
            );
        // Ansible checks that `ssh-keygen -F` finds the host in the key
        // itself; a key it hashed matches by construction.
        let script = match (&self.key, self.params.hash_host) {
            (Some(key), false) => script.set("key", key.as_str()).snippet(
                "t=$(mktemp) && printf '%s' \"$key\" > \"$t\" && \
                 echo \"matches=$(ssh-keygen -F \"$host\" -f \"$t\" 2>/dev/null | wc -c)\"; \
                 rm -f \"$t\"\n",
            ),
            _ => script,
        };
        Some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let path = facts
            .get("path")
            .ok_or_else(|| ModuleError::Probe(probe.stdout.clone()))?
            .to_string();
        if facts
            .get("matches")
            .is_some_and(|count| count.trim() == "0")
        {
            return Err(ModuleError::Failed(
                "Host parameter does not match hashed host field in supplied key".into(),
            ));
        }
        let exists = facts.get("exists") == Some(&"1");
        let before = match facts.get("content") {
            Some(encoded) if exists => {
                String::from_utf8_lossy(&decode_base64(encoded, "content")?).into_owned()
            }
            _ => String::new(),
        };
        let salt = random_salt();
        let key = self.line(&salt);
        let search = if exists {
            let rc: i32 = facts.get("rc").and_then(|rc| rc.parse().ok()).unwrap_or(-1);
            let found = String::from_utf8_lossy(&decode_base64(
                facts.get("found").unwrap_or(&""),
                "found",
            )?)
            .into_owned();
            let error = String::from_utf8_lossy(&decode_base64(
                facts.get("error").unwrap_or(&""),
                "error",
            )?)
            .into_owned();
            if found.is_empty() && error.is_empty() && (rc == 0 || rc == 1) {
                None
            } else if rc != 0 {
                return Err(ModuleError::Failed(format!(
                    "ssh-keygen failed (rc={rc}, stdout='{found}',stderr='{error}')"
                )));
            } else {
                Some(search(&found, key.as_deref())?)
            }
        } else {
            None
        };
        let Search {
            found,
            replace_or_add,
            line,
        } = search.unwrap_or(Search {
            found: false,
            replace_or_add: false,
            line: None,
        });
        let present = self.params.state == Presence::Present;
        let mut plan = Plan::unchanged();
        plan.data.insert("name".into(), json!(self.params.name));
        plan.data.insert("key".into(), json!(self.params.key));
        plan.data.insert("path".into(), json!(path));
        plan.data
            .insert("hash_host".into(), json!(self.params.hash_host));
        plan.data.insert(
            "state".into(),
            json!(if present { "present" } else { "absent" }),
        );
        // Absent with a key that no line of its type holds: nothing to do.
        if !present && line.is_none() && key.is_some() {
            return Ok(plan);
        }
        if !(replace_or_add || present != found) {
            return Ok(plan);
        }
        plan.changed = true;
        if found && key.is_none() && !present {
            // Every line of the host goes, as `ssh-keygen -R` decides
            // (it also keeps the old file as `PATH.old`).
            plan.steps.push(Step::run(Script::of(
                Cmd::new("ssh-keygen")
                    .flag("-R")
                    .arg(self.host.as_str())
                    .opt("-f", path.as_str())
                    .stdout_to("/dev/null"),
            )));
            return Ok(plan);
        }
        let drop = line.filter(|_| replace_or_add || !present);
        let add = key.as_deref().filter(|_| present);
        let after = rewrite(&before, drop, add);
        let umask = facts
            .get("umask")
            .and_then(|umask| u32::from_str_radix(umask.trim(), 8).ok())
            .unwrap_or(0o022);
        let (mode, owner) = match facts.get("stat").and_then(|stat| stat.split_once(' ')) {
            Some((mode, owner)) if exists => (
                u32::from_str_radix(mode, 8).unwrap_or(0o644),
                Some(owner.to_string()),
            ),
            _ => (0o666 & !umask, None),
        };
        plan.steps.push(Step::Upload {
            dest: path.clone(),
            contents: after.clone().into_bytes(),
            mode,
            owner,
        });
        let header = if exists { path.as_str() } else { "/dev/null" };
        plan.diff = unified_diff(header, &before, &after);
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "known_hosts_tests.rs"]
mod tests;
