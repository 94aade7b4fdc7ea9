//! `pam_limits`: sets one limit in `/etc/security/limits.conf` (or `dest`),
//! line for line as community.general's `pam_limits` edits it.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::de;
use crate::text::{decode_base64, fields, unified_diff};
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "domain",
    "limit_type",
    "limit_item",
    "value",
    "use_max",
    "use_min",
    "backup",
    "dest",
    "comment",
];

const ITEMS: &[&str] = &[
    "core",
    "data",
    "fsize",
    "memlock",
    "nofile",
    "rss",
    "stack",
    "cpu",
    "nproc",
    "as",
    "maxlogins",
    "maxsyslogins",
    "priority",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "chroot",
];

const TYPES: &[&str] = &["soft", "hard", "-"];
const UNLIMITED: &[&str] = &["unlimited", "infinity", "-1"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PamLimitsParams {
    pub domain: String,
    pub limit_type: String,
    pub limit_item: String,
    #[serde(deserialize_with = "text")]
    pub value: String,
    #[serde(default, deserialize_with = "de::boolean")]
    pub use_max: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub use_min: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    #[serde(default = "default_dest")]
    pub dest: String,
    #[serde(default)]
    pub comment: String,
}

fn default_dest() -> String {
    "/etc/security/limits.conf".into()
}

/// `value: 65536` is a YAML number; Ansible's `str` takes it as text.
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string, got {other}"
        ))),
    }
}

#[derive(Debug)]
pub struct PamLimits {
    params: PamLimitsParams,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "pam_limits".into(),
        message: message.into(),
    }
}

/// Ansible's check of a limit's value.
fn check_value(item: &str, value: &str, prefix: &str) -> Result<(), String> {
    if item == "nice" || item == "priority" {
        if value.parse::<i64>().is_ok_and(|n| (-20..=19).contains(&n)) {
            return Ok(());
        }
        return Err(format!(
            "{prefix} Value of '{value}' for item '{item}' is invalid. Value must be a number in the range -20 to 19 inclusive. Refer to the limits.conf(5) manual pages for more details."
        ));
    }
    if UNLIMITED.contains(&value)
        || (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
    {
        return Ok(());
    }
    Err(format!(
        "{prefix} Value of '{value}' for item '{item}' is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details."
    ))
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: PamLimitsParams = parse_params("pam_limits", params)?;
    if !TYPES.contains(&params.limit_type.as_str()) {
        return Err(invalid(format!(
            "limit_type must be one of: soft, hard, -, got {}",
            params.limit_type
        )));
    }
    if !ITEMS.contains(&params.limit_item.as_str()) {
        return Err(invalid(format!(
            "limit_item must be one of: {}, got {}",
            ITEMS.join(", "),
            params.limit_item
        )));
    }
    if params.use_max && params.use_min {
        return Err(invalid("Cannot use use_min and use_max at the same time."));
    }
    check_value(&params.limit_item, &params.value, "").map_err(|m| invalid(m.trim_start()))?;
    if params.dest.is_empty() || params.domain.is_empty() {
        return Err(invalid("dest and domain must not be empty"));
    }
    Ok(Box::new(PamLimits { params }))
}

/// The edited file: its text, whether it changed, and the limit's line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Edited {
    pub text: String,
    pub changed: bool,
    pub line: String,
}

fn collapse_spaces(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl PamLimits {
    /// The module's pass over the file's lines, as Ansible's: comment and
    /// blank lines kept, the first limit line of the same domain, type and
    /// item rewritten when its value changes, else the limit appended.
    pub(crate) fn edit(&self, before: &str, exists: bool, dest: &str) -> Result<Edited, String> {
        let p = &self.params;
        let mut out = String::new();
        let mut changed = !exists;
        let mut found = false;
        let mut comment = p.comment.clone();
        let mut message = String::new();
        let mut new_value = p.value.clone();
        for line in before.split_inclusive('\n') {
            if line.starts_with('#') {
                out.push_str(line);
                continue;
            }
            let collapsed = collapse_spaces(line);
            if collapsed.is_empty() {
                out.push_str(line);
                continue;
            }
            let body = collapsed.split('#').next().unwrap_or_default().trim_end();
            let old_comment = line.split_once('#').map_or("", |(_, rest)| rest);
            if comment.is_empty() {
                comment = old_comment.to_string();
            }
            let fields: Vec<&str> = body.split(' ').collect();
            let [domain, kind, item, actual] = fields[..] else {
                out.push_str(line);
                continue;
            };
            check_value(
                item,
                actual,
                &format!("Invalid configuration found in '{dest}'."),
            )?;
            if domain != p.domain || kind != p.limit_type || item != p.limit_item {
                out.push_str(line);
                continue;
            }
            found = true;
            if p.value == actual {
                message = line.to_string();
                out.push_str(line);
                continue;
            }
            // Ansible compares the type, not the item, with nice/priority.
            let fixed = kind == "nice" || kind == "priority";
            let actual_unlimited = !fixed && UNLIMITED.contains(&actual);
            let value_unlimited = !fixed && UNLIMITED.contains(&p.value.as_str());
            let number = |text: &str| text.parse::<i64>().map_err(|err| format!("{text}: {err}"));
            if p.use_max {
                new_value = if actual_unlimited {
                    actual.to_string()
                } else if value_unlimited {
                    p.value.clone()
                } else {
                    number(&p.value)?.max(number(actual)?).to_string()
                };
            }
            if p.use_min {
                new_value = match (actual_unlimited, value_unlimited) {
                    (true, true) => actual.to_string(),
                    (true, false) => p.value.clone(),
                    (false, true) => actual.to_string(),
                    (false, false) => number(&p.value)?.min(number(actual)?).to_string(),
                };
            }
            if new_value != actual {
                changed = true;
                if !comment.is_empty() {
                    comment = format!("\t#{comment}");
                }
                let limit = self.limit_line(&new_value, &comment);
                message = limit.clone();
                out.push_str(&limit);
            } else {
                message = line.to_string();
                out.push_str(line);
            }
        }
        if !found {
            changed = true;
            if !comment.is_empty() {
                comment = format!("\t#{comment}");
            }
            let limit = self.limit_line(&new_value, &comment);
            message = limit.clone();
            out.push_str(&limit);
        }
        Ok(Edited {
            text: out,
            changed,
            line: message,
        })
    }

    fn limit_line(&self, value: &str, comment: &str) -> String {
        let p = &self.params;
        format!(
            "{}\t{}\t{}\t{value}{comment}\n",
            p.domain, p.limit_type, p.limit_item
        )
    }
}

impl Module for PamLimits {
    fn probe(&self) -> Option<Script> {
        Some(Script::new().set("p", self.params.dest.as_str()).snippet(
            "if [ -f \"$p\" ]; then echo \"mode=$(stat -c %a -- \"$p\")\"; \
             echo \"content=$(base64 -w0 < \"$p\")\"; \
             elif [ -d \"$(dirname -- \"$p\")\" ]; then echo parent=1; fi\n",
        ))
    }

    fn target(&self) -> Option<&str> {
        Some(&self.params.dest)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let facts = fields(&probe.stdout);
        let dest = &self.params.dest;
        let exists = facts.contains_key("mode");
        if !exists && !facts.contains_key("parent") {
            return Err(ModuleError::Failed(format!(
                "directory {} is not writable (check presence, access rights, use sudo)",
                super::content_file::parent(dest)
            )));
        }
        let before = match facts.get("content") {
            Some(encoded) => String::from_utf8_lossy(&decode_base64(encoded, dest)?).into_owned(),
            None => String::new(),
        };
        let edited = self
            .edit(&before, exists, dest)
            .map_err(ModuleError::Failed)?;
        let mut data = Map::new();
        data.insert("msg".into(), Value::String(edited.line.clone()));
        if !edited.changed {
            return Ok(Plan {
                data,
                ..Plan::unchanged()
            });
        }
        let mode = facts
            .get("mode")
            .and_then(|mode| u32::from_str_radix(mode.trim(), 8).ok())
            .unwrap_or(0o644);
        let mut steps = Vec::new();
        if self.params.backup && exists {
            steps.push(Step::run(super::content_file::backup_script(dest)));
        }
        steps.push(Step::Upload {
            dest: dest.clone(),
            contents: edited.text.clone().into_bytes(),
            mode,
            owner: None,
        });
        let mut plan = Plan::change(steps).with_diff(
            unified_diff(dest, &before, &edited.text)
                .or_else(|| Some(format!("{dest}: created empty\n"))),
        );
        plan.data = data;
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "pam_limits_tests.rs"]
mod tests;
