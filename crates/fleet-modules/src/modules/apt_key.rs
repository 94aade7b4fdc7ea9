//! `apt_key`: adds or removes an APT signing key with `apt-key`, like
//! Ansible's (deprecated) `apt_key`. The probe lists the keyring's keys
//! and, without an `id`, reads the key's ID with `gpg --with-colons` from
//! the `file`, the `data` or the download of `url` (made on the host, as
//! Ansible's module does). A key is added or removed only when the list
//! says so; the step then lists the keys again and the task fails if the
//! change did not happen, as in Ansible.

use serde::Deserialize;
use serde_json::{Value, json};

use super::de;
use super::group::Presence;
use crate::text::{decode_base64, fields};
use crate::{
    Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput, parse_params,
};

pub const PARAMS: &[&str] = &[
    "id",
    "url",
    "data",
    "file",
    "keyring",
    "keyserver",
    "validate_certs",
    "state",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AptKeyParams {
    pub id: Option<String>,
    pub url: Option<String>,
    pub data: Option<String>,
    pub file: Option<String>,
    pub keyring: Option<String>,
    pub keyserver: Option<String>,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub validate_certs: bool,
    #[serde(default)]
    pub state: Presence,
}

#[derive(Debug)]
pub struct AptKey {
    params: AptKeyParams,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "apt_key".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: AptKeyParams = parse_params("apt_key", params)?;
    let sources = [
        ("data", params.data.is_some()),
        ("file", params.file.is_some()),
        ("keyserver", params.keyserver.is_some()),
        ("url", params.url.is_some()),
    ];
    let given: Vec<&str> = sources
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect();
    if given.len() > 1 {
        return Err(invalid(format!(
            "parameters are mutually exclusive: {}",
            given.join("|")
        )));
    }
    if params.id.is_none() && params.keyserver.is_some() {
        return Err(invalid("Missing key_id, required with keyserver."));
    }
    if let Some(id) = &params.id {
        parse_key_id(id).map_err(|_| invalid(format!("Invalid key_id: {id:?}")))?;
    }
    if params.id.is_none() && given.is_empty() {
        return Err(invalid(
            "Invalid key_id: give `id`, or a key as `data`, `file` or `url`",
        ));
    }
    Ok(Box::new(AptKey { params }))
}

/// Ansible's `parse_key_id`: (the short ID for `apt-key del`, the ID
/// compared with the listing, the whole ID).
pub(crate) fn parse_key_id(id: &str) -> Result<(String, String, String), ()> {
    let upper = id.to_uppercase();
    let digits = upper.strip_prefix("0X").unwrap_or(&upper);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(());
    }
    let len = digits.len();
    if len != 8 && len != 16 && len <= 16 {
        return Err(());
    }
    let fingerprint = if len > 16 {
        &digits[len - 16..]
    } else {
        digits
    };
    Ok((
        digits[len - 8..].to_string(),
        fingerprint.to_string(),
        digits.to_string(),
    ))
}

/// The key IDs of `pub` and `sub` lines that are not expired, from
/// `--list-public-keys --keyid-format=long` or `--with-colons` output.
pub(crate) fn parse_keys(output: &str, short: bool) -> Vec<String> {
    output
        .split('\n')
        .filter(|line| {
            (line.starts_with("pub") || line.starts_with("sub")) && !line.contains("expired")
        })
        .filter_map(|line| {
            let from_words = line
                .split_whitespace()
                .nth(1)
                .and_then(|code| code.split_once('/'))
                .filter(|(_, rest)| !rest.contains('/'))
                .map(|(_, code)| code.to_string());
            from_words.or_else(|| line.split(':').nth(4).map(String::from))
        })
        .map(|code| {
            if short {
                code[code.len().saturating_sub(8)..].to_string()
            } else {
                code
            }
        })
        .collect()
}

impl AptKey {
    /// `apt-key [--keyring K]`.
    fn apt_key(&self) -> Cmd {
        let cmd = Cmd::new("apt-key");
        match &self.params.keyring {
            Some(keyring) => cmd.opt("--keyring", keyring.as_str()),
            None => cmd,
        }
    }

    fn list(&self) -> Cmd {
        self.apt_key()
            .arg("adv")
            .flag("--list-public-keys")
            .flag("--keyid-format=long")
    }

    fn curl(&self, url: &str) -> Cmd {
        Cmd::new("curl")
            .flag("-fsSL")
            .flag_if(!self.params.validate_certs, "--insecure")
            .operand(url)
    }
}

impl Module for AptKey {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new()
            .export("LC_ALL", "C")
            .expect("a name")
            .snippet(
                "command -v apt-key >/dev/null || { echo missing=apt-key; exit 0; }\n\
                 command -v gpg >/dev/null || { echo missing=gpg; exit 0; }\n",
            )
            .set("list", "")
            .snippet("list=$(")
            .cmd(self.list().quiet())
            .snippet(
                ")\necho \"list_rc=$?\"\necho \"keys=$(printf '%s' \"$list\" | base64 -w0)\"\n",
            );
        if self.params.id.is_some() {
            return Some(script);
        }
        // Where the key's own ID comes from.
        script = match (&self.params.file, &self.params.data, &self.params.url) {
            (Some(file), _, _) => script.set("keyfile", file.as_str()).snippet(
                "out=$(gpg --with-colons \"$keyfile\" 2>/dev/null); echo \"gpg_rc=$?\"\n",
            ),
            (None, Some(data), _) => script.set("data", data.as_str()).snippet(
                "out=$(printf '%s' \"$data\" | gpg --with-colons - 2>/dev/null); echo \"gpg_rc=$?\"\n",
            ),
            (None, None, Some(url)) => script
                .set("t", "")
                .snippet("t=$(mktemp) || exit\n")
                .cmd(self.curl(url).stdout_to(Arg::var("t")))
                .snippet(
                    "echo \"download_rc=$?\"\n\
                     out=$(gpg --with-colons - < \"$t\" 2>/dev/null); echo \"gpg_rc=$?\"\n\
                     rm -f -- \"$t\"\n",
                ),
            (None, None, None) => return Some(script),
        };
        Some(script.snippet("echo \"key=$(printf '%s' \"$out\" | base64 -w0)\"\n"))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        if let Some(program) = facts.get("missing") {
            return Err(ModuleError::Failed(format!(
                "Failed to find required executable \"{program}\" in paths"
            )));
        }
        if facts.get("download_rc").is_some_and(|rc| *rc != "0") {
            return Err(ModuleError::Failed(format!(
                "Failed to download key at {}",
                self.params.url.as_deref().unwrap_or("")
            )));
        }
        let text = |key: &str| -> Result<String, ModuleError> {
            let encoded = facts.get(key).copied().unwrap_or("");
            Ok(String::from_utf8_lossy(&decode_base64(encoded, key)?).into_owned())
        };
        let id = match &self.params.id {
            Some(id) => Some(id.clone()),
            None => {
                if facts.get("gpg_rc").is_some_and(|rc| *rc != "0") {
                    let from = match &self.params.file {
                        Some(file) => file.clone(),
                        None => "inline data".into(),
                    };
                    return Err(ModuleError::Failed(format!(
                        "Unable to extract key from '{from}'"
                    )));
                }
                parse_keys(&text("key")?, false).into_iter().next()
            }
        };
        let mut plan = Plan::unchanged();
        plan.data.insert("id".into(), json!(id));
        let (short, fingerprint, key_id) = id
            .as_deref()
            .and_then(|id| parse_key_id(id).ok())
            .ok_or_else(|| ModuleError::Failed("Invalid key_id".into()))?;
        plan.data.insert("short_id".into(), json!(short));
        plan.data.insert("fp".into(), json!(fingerprint));
        plan.data.insert("key_id".into(), json!(key_id));
        if facts.get("list_rc").is_some_and(|rc| *rc != "0") {
            return Err(ModuleError::Failed("Unable to list public keys".into()));
        }
        let short_format = key_id.len() == 8;
        let keys = parse_keys(&text("keys")?, short_format);
        plan.data.insert("before".into(), json!(keys));
        let wanted = if short_format { &short } else { &fingerprint };
        let present = keys.contains(wanted);
        let add = match self.params.state {
            Presence::Present if !present => true,
            Presence::Absent if keys.contains(&fingerprint) => false,
            _ => return Ok(plan),
        };
        plan.changed = true;
        let change = if add {
            match (
                &self.params.file,
                &self.params.data,
                &self.params.url,
                &self.params.keyserver,
            ) {
                (Some(file), ..) => {
                    Step::run(Script::of(self.apt_key().arg("add").arg(file.as_str())))
                }
                (None, Some(data), ..) => Step::run_with_stdin(
                    Script::of(self.apt_key().arg("add").arg("-")),
                    data.clone().into_bytes(),
                ),
                (None, None, Some(url), _) => Step::run(
                    Script::new().pipeline([self.curl(url), self.apt_key().arg("add").arg("-")]),
                ),
                (None, None, None, Some(keyserver)) => Step::run(
                    Script::new()
                        .export("LC_ALL", "C")
                        .expect("a name")
                        .snippet("i=0\nwhile [ \"$i\" -lt 5 ]; do\n")
                        .cmd(
                            self.apt_key()
                                .arg("adv")
                                .flag("--no-tty")
                                .opt("--keyserver", keyserver.as_str())
                                .opt("--recv", key_id.as_str()),
                        )
                        .snippet(
                            "rc=$?; [ \"$rc\" = 0 ] && break; i=$((i + 1))\ndone\nexit \"$rc\"\n",
                        ),
                ),
                (None, None, None, None) => {
                    return Err(ModuleError::Failed(
                        "No key to add ... how did i get here?!?!".into(),
                    ));
                }
            }
        } else {
            Step::run(Script::of(self.apt_key().arg("del").arg(short.as_str())))
        };
        plan.steps.push(change);
        // The listing after the change, for `outcome` and `after`.
        plan.steps.push(Step::run(
            Script::new()
                .set("list", "")
                .snippet("list=$(")
                .cmd(self.list().quiet())
                .snippet(") || exit\necho \"after=$(printf '%s' \"$list\" | base64 -w0)\"\n")
                .set("key_id", key_id.as_str())
                .snippet("echo \"key_id=$key_id\"\n"),
        ));
        Ok(plan)
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        if let Some(out) = outputs.iter().find(|out| out.rc != 0) {
            return Err(ModuleError::StepFailed {
                rc: out.rc,
                stderr: out.stderr.trim_end().to_string(),
            });
        }
        let after = self.after(outputs).unwrap_or_default();
        let Some((short, fingerprint, key_id)) = self.resolved_id(outputs) else {
            return Ok(());
        };
        let wanted = if key_id.len() == 8 {
            short
        } else {
            fingerprint.clone()
        };
        match self.params.state {
            Presence::Present if !after.contains(&wanted) => Err(ModuleError::Failed(
                "apt-key did not return an error, but failed to add the key (check that the id is correct and *not* a subkey)".into(),
            )),
            Presence::Absent if after.contains(&fingerprint) => Err(ModuleError::Failed(
                "apt-key did not return an error, but the key was not removed (check that the id is correct and *not* a subkey)".into(),
            )),
            _ => Ok(()),
        }
    }

    fn applied(&self, outputs: &[StepOutput]) -> Option<crate::Applied> {
        let after = self.after(outputs)?;
        let mut data = serde_json::Map::new();
        data.insert("after".into(), json!(after));
        Some(crate::Applied {
            changed: true,
            data,
            msg: None,
        })
    }
}

impl AptKey {
    /// The keys listed after the change.
    fn after(&self, outputs: &[StepOutput]) -> Option<Vec<String>> {
        let stdout: String = outputs.iter().map(|out| out.stdout.as_str()).collect();
        let values = fields(&stdout);
        let listing = decode_base64(values.get("after")?, "after").ok()?;
        let short = self.resolved_id(outputs)?.2.len() == 8;
        Some(parse_keys(&String::from_utf8_lossy(&listing), short))
    }

    /// The key's ID, as the last step reports it.
    fn resolved_id(&self, outputs: &[StepOutput]) -> Option<(String, String, String)> {
        let stdout: String = outputs.iter().map(|out| out.stdout.as_str()).collect();
        let values = fields(&stdout);
        parse_key_id(values.get("key_id")?).ok()
    }
}

#[cfg(test)]
#[path = "apt_key_tests.rs"]
mod tests;
