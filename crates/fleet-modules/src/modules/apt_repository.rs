//! `apt_repository`: adds or removes a one-line APT source, like Ansible's.
//! The probe reads `/etc/apt/sources.list` and every
//! `/etc/apt/sources.list.d/*.list`; the plan parses them as Ansible does
//! (a `#` disables a line, text after another `#` is its comment, a
//! source's whitespace is folded), adds the line (re-enabling any disabled
//! copy of it instead) or removes every enabled copy, and rewrites the
//! files whose text that changes. A new line goes to
//! `sources.list.d/<filename>.list`, named after the source's URL unless
//! `filename` is given. After a change `apt-get update` runs
//! (`update_cache`), and when it fails the files are put back.

use serde::Deserialize;
use serde_json::{Value, json};

use super::apt_sources::{self, FileChange, SOURCES_DIR, SourceFile};
use super::de;
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, StepOutput, parse_params};

pub const PARAMS: &[&str] = &[
    "repo",
    "state",
    "mode",
    "update_cache",
    "update-cache",
    "update_cache_retries",
    "update_cache_retry_max_delay",
    "validate_certs",
    "filename",
    "codename",
    "install_python_apt",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AptRepositoryParams {
    pub repo: String,
    #[serde(default)]
    pub state: RepoState,
    /// For a file this task creates or adds to; others keep theirs.
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    #[serde(
        default = "de::yes",
        alias = "update-cache",
        deserialize_with = "de::boolean"
    )]
    pub update_cache: bool,
    #[serde(default = "five", deserialize_with = "de::whole_number")]
    pub update_cache_retries: u32,
    #[serde(default = "twelve", deserialize_with = "de::whole_number")]
    pub update_cache_retry_max_delay: u32,
    /// Only PPAs download anything; accepted.
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub validate_certs: bool,
    pub filename: Option<String>,
    /// Only PPAs use it; accepted.
    pub codename: Option<String>,
    /// fleet needs no python3-apt on the host; accepted.
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub install_python_apt: bool,
}

fn five() -> u32 {
    5
}

fn twelve() -> u32 {
    12
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoState {
    #[default]
    Present,
    Absent,
}

const SOURCES_LIST: &str = "/etc/apt/sources.list";

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "apt_repository".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: AptRepositoryParams = parse_params("apt_repository", params)?;
    if params.repo.trim().is_empty() {
        return Err(invalid("Please set argument 'repo' to a non-empty value"));
    }
    if params.repo.trim().starts_with("ppa:") {
        return Err(invalid(
            "ppa: repositories are not supported (they are Ubuntu's Launchpad archives); \
             write the deb line and its key instead",
        ));
    }
    let line = parse_line(&params.repo);
    if !line.valid || !line.enabled {
        return Err(invalid(format!(
            "Invalid repository string: {}",
            params.repo.trim()
        )));
    }
    if let Some(name) = &params.filename
        && (name.is_empty() || name.contains(['/', '\n']))
    {
        return Err(invalid(format!(
            "filename must be a file name in {SOURCES_DIR}, without `/`: got {name:?}"
        )));
    }
    let file = format!("{SOURCES_DIR}/{}", suggest_filename(&line.source, &params));
    Ok(Box::new(AptRepository {
        source: line.source,
        file,
        params,
    }))
}

#[derive(Debug)]
pub struct AptRepository {
    params: AptRepositoryParams,
    /// The repo line, parsed and folded.
    source: String,
    /// Where a new line goes.
    file: String,
}

/// One line of a sources file, as Ansible reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// Starts with `deb` or `deb-src`.
    valid: bool,
    enabled: bool,
    source: String,
    comment: String,
}

fn parse_line(text: &str) -> Line {
    let mut line = text.trim();
    let mut enabled = true;
    if let Some(rest) = line.strip_prefix('#') {
        enabled = false;
        line = rest;
    }
    let mut comment = "";
    if let Some(at) = line.find('#')
        && at > 0
    {
        comment = line[at + 1..].trim();
        line = &line[..at];
    }
    let mut source = line.trim().to_string();
    let words: Vec<&str> = source.split_whitespace().collect();
    let valid = matches!(words.first(), Some(&"deb" | &"deb-src"));
    if valid {
        source = words.join(" ");
    }
    Line {
        valid,
        enabled,
        source,
        comment: comment.to_string(),
    }
}

fn dump(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|line| {
            let mut text = String::new();
            if !line.enabled {
                text.push_str("# ");
            }
            text.push_str(&line.source);
            if !line.comment.is_empty() {
                text.push_str(" # ");
                text.push_str(&line.comment);
            }
            text.push('\n');
            text
        })
        .collect()
}

/// Ansible's file name for a new source: the URL's letters and digits
/// joined by `_` (options, scheme and credentials dropped), `.list`.
fn suggest_filename(source: &str, params: &AptRepositoryParams) -> String {
    if let Some(name) = &params.filename {
        return format!("{name}.list");
    }
    let options = regex::Regex::new(r"\[[^\]]+\]").expect("regex");
    let scheme = regex::Regex::new(r"\w+://").expect("regex");
    let line = options.replace_all(source, "");
    let line = scheme.replace_all(&line, "");
    let url = line
        .split_whitespace()
        .find(|part| *part != "deb" && *part != "deb-src")
        .unwrap_or_default();
    let url = url.split_once('@').map_or(url, |(_, host)| host);
    let name: Vec<&str> = url
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect();
    format!("{}.list", name.join("_"))
}

/// The files in the order the probe listed them, each with its lines.
struct Sources {
    files: Vec<(SourceFile, Vec<Line>)>,
}

impl Sources {
    fn dump(&self) -> Vec<(String, Option<String>)> {
        self.files
            .iter()
            .map(|(file, lines)| {
                let text = (!lines.is_empty()).then(|| dump(lines));
                (file.path.clone(), text)
            })
            .collect()
    }
}

impl Module for AptRepository {
    fn probe(&self) -> Option<Script> {
        Some(apt_sources::probe(&format!(
            "{SOURCES_LIST} {SOURCES_DIR}/*.list"
        )))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let found = apt_sources::parse(probe)?;
        let mut sources = Sources {
            files: found
                .into_iter()
                .map(|file| {
                    let lines = file.content.lines().map(parse_line).collect();
                    (file, lines)
                })
                .collect(),
        };
        let before = sources.dump();
        let mut added_to = None;
        match self.params.state {
            RepoState::Present => {
                let mut found = false;
                for (_, lines) in &mut sources.files {
                    for line in lines.iter_mut() {
                        if line.valid && line.source == self.source {
                            line.enabled = true;
                            found = true;
                        }
                    }
                }
                if !found {
                    let new_line = Line {
                        valid: true,
                        enabled: true,
                        source: self.source.clone(),
                        comment: String::new(),
                    };
                    match sources
                        .files
                        .iter_mut()
                        .find(|(file, _)| file.path == self.file)
                    {
                        Some((_, lines)) => lines.push(new_line),
                        None => sources.files.push((
                            SourceFile {
                                path: self.file.clone(),
                                real: self.file.clone(),
                                mode: 0o644,
                                content: String::new(),
                            },
                            vec![new_line],
                        )),
                    }
                    added_to = Some(self.file.clone());
                }
            }
            RepoState::Absent => {
                for (_, lines) in &mut sources.files {
                    lines
                        .retain(|line| !(line.valid && line.enabled && line.source == self.source));
                }
            }
        }
        let after = sources.dump();
        let changed = before != after;
        let listed = |dump: &[(String, Option<String>)], path: &str| {
            dump.iter().any(|(p, text)| p == path && text.is_some())
        };
        let mut plan = Plan::unchanged();
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        if changed {
            // Like Ansible, a save rewrites every file in its own format
            // and removes the empty ones.
            let mut changes = Vec::new();
            for (file, lines) in &sources.files {
                let text = (!lines.is_empty()).then(|| dump(lines));
                let existed = before.iter().any(|(path, _)| *path == file.path);
                let old = existed.then(|| file.content.clone());
                if text == old && existed {
                    continue;
                }
                if !existed && text.is_none() {
                    continue;
                }
                let mode = match (&added_to, self.params.mode) {
                    (Some(path), Some(mode)) if *path == file.path => mode,
                    _ => file.mode,
                };
                changes.push(FileChange {
                    path: file.path.clone(),
                    real: file.real.clone(),
                    before: old,
                    after: text,
                    mode,
                });
            }
            for (path, _) in &after {
                if listed(&after, path) && !listed(&before, path) {
                    added.push(path.clone());
                }
            }
            for (path, _) in &before {
                if listed(&before, path) && !listed(&after, path) {
                    removed.push(path.clone());
                }
            }
            let diff: String = changes.iter().filter_map(FileChange::diff).collect();
            let mut steps: Vec<_> = changes.iter().map(FileChange::step).collect();
            if self.params.update_cache {
                steps.push(apt_sources::update_cache(
                    &changes,
                    self.params.update_cache_retries,
                    self.params.update_cache_retry_max_delay,
                ));
            }
            plan = Plan::change(steps).with_diff((!diff.is_empty()).then_some(diff));
        }
        plan.data.insert("repo".into(), json!(self.params.repo));
        plan.data.insert(
            "state".into(),
            json!(match self.params.state {
                RepoState::Present => "present",
                RepoState::Absent => "absent",
            }),
        );
        plan.data.insert("sources_added".into(), json!(added));
        plan.data.insert("sources_removed".into(), json!(removed));
        Ok(plan)
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        apt_sources::outcome(outputs)
    }
}

#[cfg(test)]
#[path = "apt_repository_tests.rs"]
mod tests;
