//! `deb822_repository`: writes `/etc/apt/sources.list.d/SLUG.sources` in
//! the deb822 format exactly as Ansible's module formats it (fields sorted
//! by parameter name, `yes`/`no` booleans, lists joined by spaces, a
//! multi-line value indented), and a `signed_by` key given as a URL into
//! `/etc/apt/keyrings/SLUG.asc` (or `.gpg`). Like Ansible's, it does not
//! refresh the package lists.

use serde::Deserialize;
use serde_json::{Value, json};

use super::deb822_fields::{Deb822Params, render, slug};
use crate::text::{decode_base64, fields};
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub use super::deb822_fields::PARAMS;

pub(crate) const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

pub type Deb822RepositoryParams = Deb822Params;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
}

#[derive(Debug)]
pub struct Deb822Repository {
    params: Deb822RepositoryParams,
    slug: String,
    sources: String,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "deb822_repository".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: Deb822RepositoryParams = parse_params("deb822_repository", params)?;
    params.check().map_err(invalid)?;
    let slug = slug(&params.name);
    if slug.is_empty() {
        return Err(invalid(format!(
            "name {:?} leaves no file name",
            params.name
        )));
    }
    let sources = format!("/etc/apt/sources.list.d/{slug}.sources");
    Ok(Box::new(Deb822Repository {
        params,
        slug,
        sources,
    }))
}

/// Prints the sources file and both key files (`NAME=1` when present,
/// `NAME_mode=` and `NAME_content=`), the keyrings folder, whether
/// `signed_by` names a file on the host, and a key fetched from its URL.
const PROBE: &str = r#"for f in sources:"$sources" asc:"$asc" gpg:"$gpg"; do
k=${f%%:*}; p=${f#*:}
if [ -f "$p" ]; then
printf '%s=1\n' "$k"
stat -L --printf "${k}_mode=%a\n" -- "$p"
printf '%s_content=' "$k"; base64 -w0 < "$p"; echo
fi
done
if [ -d "$keyrings" ]; then stat --printf 'keyrings=%a %U %G\n' -- "$keyrings"; fi
if [ -n "$signed_by" ] && [ -f "$signed_by" ]; then echo signed_by_file=1; fi
"#;

impl Deb822Repository {
    fn key_path(&self, ext: &str) -> String {
        format!("{KEYRINGS_DIR}/{}.{ext}", self.slug)
    }

    fn signed_by_url(&self) -> Option<&str> {
        let value = self.params.signed_by.as_deref()?;
        let (scheme, _) = value.split_once(':')?;
        let is_scheme = !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        is_scheme.then_some(value)
    }
}

impl Module for Deb822Repository {
    fn target(&self) -> Option<&str> {
        Some(&self.sources)
    }

    fn probe(&self) -> Option<Script> {
        let mut script = Script::new()
            .set("sources", self.sources.as_str())
            .set("asc", self.key_path("asc"))
            .set("gpg", self.key_path("gpg"))
            .set("keyrings", KEYRINGS_DIR)
            .set(
                "signed_by",
                self.params.signed_by.clone().unwrap_or_default(),
            )
            .snippet(PROBE);
        if self.params.state == State::Present
            && let Some(url) = self.signed_by_url()
        {
            script = script
                .snippet(r#"if [ -z "$signed_by_file" ]; then"#)
                .cmd(Cmd::without_end_of_options("printf").arg("key="))
                .pipeline([
                    Cmd::new("curl")
                        .flag("-fsSL")
                        .opt("--max-time", "30")
                        .opt("-A", "ansible-httpget")
                        .operand(url),
                    Cmd::new("base64").flag("-w0"),
                ])
                .cmd(Cmd::without_end_of_options("echo"))
                .snippet("fi");
        }
        Some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let present = |key: &str| facts.get(key) == Some(&"1");
        let content = |key: &str| -> Result<Option<Vec<u8>>, ModuleError> {
            if !present(key) {
                return Ok(None);
            }
            let encoded = facts.get(format!("{key}_content").as_str()).copied();
            decode_base64(encoded.unwrap_or_default(), key).map(Some)
        };
        let mode_of = |key: &str| {
            facts
                .get(format!("{key}_mode").as_str())
                .and_then(|mode| u32::from_str_radix(mode, 8).ok())
        };
        let mut plan = Plan::unchanged();
        let mut steps = Vec::new();
        let mut diff = Vec::new();
        if self.params.state == State::Absent {
            for (key, path) in [
                ("sources", self.sources.clone()),
                ("asc", self.key_path("asc")),
                ("gpg", self.key_path("gpg")),
            ] {
                if present(key) {
                    diff.push(format!("remove {path}"));
                    steps.push(Step::run(Script::of(
                        Cmd::new("rm").flag("-f").operand(path),
                    )));
                }
            }
            plan.data.insert("repo".into(), Value::Null);
            plan.data.insert("dest".into(), json!(self.sources));
            plan.data
                .insert("key_filename".into(), json!(self.key_path("gpg")));
            return Ok(finish(plan, steps, diff));
        }
        let mut key_filename = None;
        let signed_by = match &self.params.signed_by {
            None => None,
            Some(value) if present("signed_by_file") => {
                key_filename = Some(value.clone());
                Some(value.clone())
            }
            Some(value) => match self.signed_by_url() {
                None => Some(value.clone()),
                Some(url) => {
                    let key = decode_base64(facts.get("key").copied().unwrap_or_default(), url)?;
                    if key.is_empty() {
                        return Err(ModuleError::Failed(format!(
                            "Could not fetch signed_by key: {url}: {}",
                            probe.stderr.trim()
                        )));
                    }
                    let armored = String::from_utf8_lossy(&key)
                        .contains("-----BEGIN PGP PUBLIC KEY BLOCK-----");
                    let ext = if armored { "asc" } else { "gpg" };
                    let path = self.key_path(ext);
                    if content(ext)?.as_deref() != Some(key.as_slice()) {
                        steps.extend(self.keyrings_steps(facts.get("keyrings").copied()));
                        diff.push(format!("key: {path}"));
                        steps.push(Step::Upload {
                            dest: path.clone(),
                            contents: key,
                            mode: 0o644,
                            owner: None,
                        });
                    } else if mode_of(ext) != Some(0o644) {
                        diff.push(format!("mode of {path}: -> 0644"));
                        steps.push(Step::run(Script::of(
                            Cmd::new("chmod").arg("0644").operand(path.as_str()),
                        )));
                    }
                    key_filename = Some(path.clone());
                    Some(path)
                }
            },
        };
        let repo = render(&self.params, signed_by.as_deref());
        let mode = self.params.mode.unwrap_or(0o644);
        let current = content("sources")?;
        if current.as_deref() != Some(repo.as_bytes()) {
            let before = current
                .as_deref()
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
            if let Some(text) =
                crate::text::unified_diff(&self.sources, before.as_deref().unwrap_or(""), &repo)
            {
                diff.push(text.trim_end().to_string());
            }
            steps.push(Step::Upload {
                dest: self.sources.clone(),
                contents: repo.clone().into_bytes(),
                mode,
                owner: None,
            });
        } else if mode_of("sources") != Some(mode) {
            diff.push(format!("mode: -> {mode:04o}"));
            steps.push(Step::run(Script::of(
                Cmd::new("chmod")
                    .arg(format!("{mode:04o}"))
                    .operand(self.sources.as_str()),
            )));
        }
        plan.data.insert("repo".into(), json!(repo));
        plan.data.insert("dest".into(), json!(self.sources));
        plan.data.insert("key_filename".into(), json!(key_filename));
        Ok(finish(plan, steps, diff))
    }
}

impl Deb822Repository {
    /// `/etc/apt/keyrings` as Ansible's module leaves it before writing a
    /// key: a directory, root's, mode 0755.
    fn keyrings_steps(&self, found: Option<&str>) -> Vec<Step> {
        if found == Some("755 root root") {
            return Vec::new();
        }
        let script = Script::new().all([
            Cmd::new("mkdir").flag("-p").operand(KEYRINGS_DIR),
            Cmd::new("chown").arg("root:root").operand(KEYRINGS_DIR),
            Cmd::new("chmod").arg("0755").operand(KEYRINGS_DIR),
        ]);
        vec![Step::run(script)]
    }
}

fn finish(mut plan: Plan, steps: Vec<Step>, diff: Vec<String>) -> Plan {
    if !steps.is_empty() {
        plan.changed = true;
        plan.steps = steps;
        plan.diff = Some(diff.join("\n") + "\n");
    }
    plan
}

#[cfg(test)]
#[path = "deb822_repository_tests.rs"]
mod tests;
