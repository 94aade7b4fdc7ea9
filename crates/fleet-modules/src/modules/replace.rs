//! `replace`: replaces every match of a regular expression in a file, like
//! Ansible's. The pattern is Python's `re` with `MULTILINE`, translated by
//! [`super::pyre`] (what needs backtracking is refused when the task is
//! loaded); `after`/`before` limit the replacement to a section, found with
//! `DOTALL` as Ansible does. The probe fetches the file, the new text is
//! computed on the controller and uploaded atomically (checked by
//! `validate` first, when given), keeping the file's mode and owner.

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::modules::content_file::{self, State, Write};
use crate::modules::de;
use crate::modules::file_attrs::Attrs;
use crate::modules::pyre::{self, Template};
use crate::modules::validate::Validate;
use crate::{Controller, Module, ModuleError, Plan, Probe, StepOutput, parse_params};

pub const PARAMS: &[&str] = &[
    "path", "dest", "destfile", "name", "regexp", "replace", "after", "before", "backup",
    "validate", "encoding", "mode", "owner", "group",
];

/// Ansible's words when the file's attributes were fixed.
const ATTRS_CHANGED: &str = "ownership, perms or SE linux context changed";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceParams {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    pub path: String,
    pub regexp: String,
    #[serde(default)]
    pub replace: String,
    pub after: Option<String>,
    pub before: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    pub validate: Option<String>,
    #[serde(default = "utf8")]
    pub encoding: String,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

fn utf8() -> String {
    "utf-8".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    /// Every byte is one character (`latin-1`, `iso-8859-1`).
    Latin1,
}

#[derive(Debug)]
pub struct Replace {
    path: String,
    regexp: Regex,
    template: Template,
    /// `after`/`before` as one pattern with a `subsection` group, and its
    /// text for the message when it does not match.
    section: Option<(Regex, String)>,
    backup: bool,
    validate: Option<Validate>,
    encoding: Encoding,
    attrs: Attrs,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: ReplaceParams = parse_params("replace", params)?;
    let invalid = |message: String| ModuleError::Params {
        module: "replace".into(),
        message,
    };
    if params.path.is_empty() {
        return Err(invalid("path is empty".into()));
    }
    let encoding = match params
        .encoding
        .to_ascii_lowercase()
        .replace('_', "-")
        .as_str()
    {
        "utf-8" | "utf8" | "ascii" | "us-ascii" => Encoding::Utf8,
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Encoding::Latin1,
        other => {
            return Err(invalid(format!(
                "encoding {other} is not supported (utf-8 or latin-1)"
            )));
        }
    };
    let regexp = pyre::compile(&params.regexp, "m")
        .map_err(|err| invalid(format!("regexp {:?}: {err}", params.regexp)))?;
    let template = Template::parse(&params.replace, &regexp)
        .map_err(|err| invalid(format!("replace {:?}: {err}", params.replace)))?;
    let after = params.after.filter(|text| !text.is_empty());
    let before = params.before.filter(|text| !text.is_empty());
    // Joined as text, as Ansible joins them.
    let section = match (after, before) {
        (Some(after), Some(before)) => Some(format!("{after}(?P<subsection>.*?){before}")),
        (Some(after), None) => Some(format!("{after}(?P<subsection>.*)")),
        (None, Some(before)) => Some(format!("(?P<subsection>.*){before}")),
        (None, None) => None,
    };
    let section = section
        .map(|pattern| {
            pyre::compile(&pattern, "s")
                .map(|regex| (regex, pattern))
                .map_err(|err| invalid(format!("after/before: {err}")))
        })
        .transpose()?;
    let validate = params
        .validate
        .map(|text| Validate::parse("replace", &text))
        .transpose()?;
    Ok(Box::new(Replace {
        path: params.path,
        regexp,
        template,
        section,
        backup: params.backup,
        validate,
        encoding,
        attrs: Attrs::new("replace", params.mode, params.owner, params.group)?,
    }))
}

impl Module for Replace {
    fn applied(&self, outputs: &[StepOutput]) -> Option<crate::Applied> {
        content_file::backup_made(outputs)
    }

    fn target(&self) -> Option<&str> {
        Some(&self.path)
    }

    fn probe(&self) -> Option<crate::Script> {
        Some(content_file::probe(&self.path, None, None))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let found = content_file::parse(probe)?;
        let existing = match &found.state {
            State::File(existing) => existing,
            State::Directory => {
                return Err(ModuleError::Failed(format!(
                    "Path {} is a directory !",
                    self.path
                )));
            }
            State::Absent => {
                return Err(ModuleError::Failed(format!(
                    "Path {} does not exist !",
                    self.path
                )));
            }
            State::Other => {
                return Err(ModuleError::Failed(format!(
                    "{} is not a regular file",
                    self.path
                )));
            }
        };
        let content = existing
            .content
            .as_deref()
            .ok_or_else(|| ModuleError::Probe(format!("no content for {}", self.path)))?;
        let text = self.decode(content)?;
        let Some((replaced, count)) = self.replaced(&text) else {
            let pattern = self.section.as_ref().map_or("", |(_, text)| text);
            let mut plan = Plan {
                msg: Some(format!(
                    "Pattern for before/after params did not match the given file: {pattern}"
                )),
                ..Plan::unchanged()
            };
            plan.data.insert("rc".into(), Value::from(0));
            return Ok(plan);
        };
        let changed = count > 0 && replaced != text;
        let contents = if changed {
            self.encode(&replaced)
        } else {
            content.to_vec()
        };
        let mut plan = content_file::plan(
            &found,
            &Write {
                contents: &contents,
                attrs: &self.attrs,
                backup: self.backup,
                make_parent: false,
                new_dirs: None,
                follow: true,
            },
        )?;
        let attrs_changed = !self.attrs.changes(&existing.attrs).is_empty();
        plan.msg = Some(match (changed, attrs_changed) {
            (true, true) => format!("{count} replacements made and {ATTRS_CHANGED}"),
            (true, false) => format!("{count} replacements made"),
            (false, true) => ATTRS_CHANGED.into(),
            (false, false) => String::new(),
        });
        plan.data.insert("rc".into(), Value::from(0));
        Ok(match &self.validate {
            Some(validate) if changed => validate.apply(plan),
            _ => plan,
        })
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        Validate::outcome(outputs)
    }
}

impl Replace {
    /// The whole text with the replacements made, and how many; `None` when
    /// `after`/`before` do not match.
    fn replaced(&self, text: &str) -> Option<(String, usize)> {
        let Some((section, _)) = &self.section else {
            return Some(pyre::subn(&self.regexp, &self.template, text));
        };
        let part = section.captures(text)?.name("subsection")?;
        let (middle, count) = pyre::subn(&self.regexp, &self.template, part.as_str());
        let whole = format!("{}{middle}{}", &text[..part.start()], &text[part.end()..]);
        Some((whole, count))
    }

    fn decode(&self, content: &[u8]) -> Result<String, ModuleError> {
        match self.encoding {
            Encoding::Utf8 => String::from_utf8(content.to_vec()).map_err(|_| {
                ModuleError::Failed(format!(
                    "{} is not UTF-8 text (set encoding: latin-1?)",
                    self.path
                ))
            }),
            Encoding::Latin1 => Ok(content.iter().map(|&byte| char::from(byte)).collect()),
        }
    }

    fn encode(&self, text: &str) -> Vec<u8> {
        match self.encoding {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            // Every char came from one byte, or from the pattern's
            // replacement: those beyond latin-1 become `?`.
            Encoding::Latin1 => text
                .chars()
                .map(|ch| u8::try_from(u32::from(ch)).unwrap_or(b'?'))
                .collect(),
        }
    }
}

#[cfg(test)]
#[path = "replace_tests.rs"]
mod tests;
