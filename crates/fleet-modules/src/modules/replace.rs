//! `replace`: replaces every match of a regexp in a file, like Ansible's
//! (`ansible.builtin.replace`). The probe fetches the file; the new text is
//! computed on the controller with Python's `re.subn` semantics
//! (MULTILINE, `\1` and `\g<name>` in the replacement, `after`/`before`
//! narrowing the section) and uploaded atomically when it differs, through
//! symlinks, keeping the file's mode and owner.

use regex::{Captures, Regex};
use serde::Deserialize;
use serde_json::Value;

use crate::modules::content_file::{self, State};
use crate::modules::de;
use crate::modules::file_attrs::Attrs;
use crate::modules::line_edit::Edited;
use crate::modules::lineinfile::{file_text, write_edited};
use crate::modules::py_regex::{self, Replacement};
use crate::{Controller, Module, ModuleError, Plan, Probe, parse_params};

pub const PARAMS: &[&str] = &[
    "path", "dest", "destfile", "name", "regexp", "replace", "after", "before", "backup",
    "encoding", "mode", "owner", "group",
];

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
    pub encoding: Option<String>,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug)]
pub struct Replace {
    path: String,
    regexp: Regex,
    replacement: Replacement,
    /// The `after`/`before` pattern, with its `subsection` group.
    section: Option<(Regex, String)>,
    backup: bool,
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
    if let Some(encoding) = &params.encoding
        && !matches!(encoding.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
    {
        return Err(invalid(format!(
            "encoding {encoding} is not supported: fleet edits UTF-8 text only"
        )));
    }
    let regexp =
        py_regex::compile(&params.regexp, true).map_err(|err| invalid(format!("regexp: {err}")))?;
    let replacement = Replacement::parse(&params.replace, &regexp)
        .map_err(|err| invalid(format!("replace: {err}")))?;
    let section = section_pattern(params.after.as_deref(), params.before.as_deref())
        .map(|pattern| {
            py_regex::compile_dotall(&pattern)
                .map(|regex| (regex, pattern.clone()))
                .map_err(|err| invalid(format!("after/before: {err}")))
        })
        .transpose()?;
    let attrs = Attrs::new("replace", params.mode, params.owner, params.group)?;
    Ok(Box::new(Replace {
        path: params.path,
        regexp,
        replacement,
        section,
        backup: params.backup,
        attrs,
    }))
}

/// Ansible's section pattern: the text after `after` (up to the first
/// `before` when both are given), or before the last `before`.
fn section_pattern(after: Option<&str>, before: Option<&str>) -> Option<String> {
    match (after, before) {
        (Some(after), Some(before)) => Some(format!("{after}(?P<subsection>.*?){before}")),
        (Some(after), None) => Some(format!("{after}(?P<subsection>.*)")),
        (None, Some(before)) => Some(format!("(?P<subsection>.*){before}")),
        (None, None) => None,
    }
}

impl Module for Replace {
    fn target(&self) -> Option<&str> {
        Some(&self.path)
    }

    fn probe(&self) -> Option<crate::Script> {
        Some(content_file::probe(&self.path, None, None))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let found = content_file::parse(probe)?;
        let text = match &found.state {
            State::File(existing) => file_text(&self.path, existing.content.as_deref())?,
            State::Absent => {
                return Err(ModuleError::Failed(format!(
                    "Path {} does not exist !",
                    self.path
                )));
            }
            State::Directory => {
                return Err(ModuleError::Failed(format!(
                    "Path {} is a directory !",
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
        let edited = match self.replaced(&text) {
            Ok(edited) => edited,
            Err(msg) => {
                return Ok(Plan {
                    msg: Some(msg),
                    ..Plan::unchanged()
                });
            }
        };
        let attrs_change = match &found.state {
            State::File(existing) => !self.attrs.changes(&existing.attrs).is_empty(),
            _ => false,
        };
        let replaced = edited.msg.clone();
        let mut plan = write_edited(&found, edited, &self.attrs, self.backup)?;
        plan.msg = Some(message(replaced, attrs_change));
        Ok(plan)
    }
}

/// Ansible's `msg`: the replacements made, then whether attributes
/// changed, or nothing at all.
fn message(replaced: Option<String>, attrs_change: bool) -> String {
    const ATTRS: &str = "ownership, perms or SE linux context changed";
    match (replaced, attrs_change) {
        (Some(replaced), true) => format!("{replaced} and {ATTRS}"),
        (Some(replaced), false) => replaced,
        (None, true) => ATTRS.to_owned(),
        (None, false) => String::new(),
    }
}

impl Replace {
    /// The file's new text and the message (`N replacements made`), or the
    /// message for a section pattern that does not match.
    fn replaced(&self, text: &str) -> Result<Edited, String> {
        let (start, end) = match &self.section {
            None => (0, text.len()),
            Some((regex, pattern)) => match regex
                .captures(text)
                .and_then(|caps| caps.name("subsection"))
            {
                Some(found) => (found.start(), found.end()),
                None => {
                    return Err(format!(
                        "Pattern for before/after params did not match the given file: {pattern}"
                    ));
                }
            },
        };
        let section = &text[start..end];
        let mut count = 0;
        let new = self.regexp.replace_all(section, |caps: &Captures| {
            count += 1;
            self.replacement.expand(caps)
        });
        if count == 0 || new == section {
            return Ok(Edited {
                text: text.to_owned(),
                msg: None,
            });
        }
        Ok(Edited {
            text: format!("{}{new}{}", &text[..start], &text[end..]),
            msg: Some(format!("{count} replacements made")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Step;
    use crate::modules::content_file::sha256_hex;
    use crate::modules::tests::NoFiles;
    use base64::Engine;
    use serde_json::json;

    fn module(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    fn error(params: Value) -> String {
        build(params, &NoFiles).unwrap_err().to_string()
    }

    fn file(content: &str) -> Probe {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        Probe::ok(&format!(
            "path=/etc/hosts\nme=0:0\nparent=1\nkind=file\nmode=644\nuid=0\ngid=0\n\
             owner=root\ngroup=root\nsize={}\nreal=/etc/hosts\nsha256={}\n\
             content={encoded}\n",
            content.len(),
            sha256_hex(content.as_bytes())
        ))
    }

    fn uploaded(plan: &Plan) -> String {
        plan.steps
            .iter()
            .find_map(|step| match step {
                Step::Upload { contents, .. } => Some(String::from_utf8(contents.clone()).unwrap()),
                _ => None,
            })
            .expect("an upload")
    }

    #[test]
    fn every_match_is_replaced_with_python_group_references() {
        let module = module(json!({
            "path": "/etc/hosts",
            "regexp": "^(\\d+)\\.(\\d+)\\.(?P<rest>\\S+)(\\s+)old\\.example$",
            "replace": "\\1.\\2.\\g<rest>\\4new.example",
        }));
        let plan = module
            .plan(&file(
                "10.0.0.1 old.example\n10.0.0.2 keep\n10.0.0.3 old.example\n",
            ))
            .unwrap();
        assert!(plan.changed);
        assert_eq!(plan.msg.as_deref(), Some("2 replacements made"));
        assert_eq!(
            uploaded(&plan),
            "10.0.0.1 new.example\n10.0.0.2 keep\n10.0.0.3 new.example\n"
        );
        let again = module
            .plan(&file("10.0.0.1 new.example\n10.0.0.2 keep\n"))
            .unwrap();
        assert!(!again.changed);
        assert_eq!(again.msg.as_deref(), Some(""));
    }

    #[test]
    fn after_and_before_narrow_the_section() {
        let text = "x=1\n# start\nx=1\n# end\nx=1\n";
        let both = module(json!({
            "path": "/etc/hosts", "regexp": "^x=1$", "replace": "x=2",
            "after": "# start", "before": "# end",
        }));
        assert_eq!(
            uploaded(&both.plan(&file(text)).unwrap()),
            "x=1\n# start\nx=2\n# end\nx=1\n"
        );
        let after = module(
            json!({"path": "/etc/hosts", "regexp": "x=1", "replace": "y", "after": "# start"}),
        );
        assert_eq!(
            uploaded(&after.plan(&file(text)).unwrap()),
            "x=1\n# start\ny\n# end\ny\n"
        );
        let missing = module(json!({"path": "/etc/hosts", "regexp": "x", "after": "nowhere"}));
        let plan = missing.plan(&file(text)).unwrap();
        assert!(!plan.changed);
        assert!(
            plan.msg
                .unwrap()
                .starts_with("Pattern for before/after params did not match")
        );
    }

    #[test]
    fn a_replacement_giving_the_same_text_changes_nothing() {
        let module = module(json!({"path": "/etc/hosts", "regexp": "(a)", "replace": "\\1"}));
        assert!(!module.plan(&file("abc\n")).unwrap().changed);
        let mode = build(
            json!({"path": "/etc/hosts", "regexp": "z", "mode": "0600"}),
            &NoFiles,
        )
        .unwrap();
        let plan = mode.plan(&file("abc\n")).unwrap();
        assert!(plan.changed);
        assert_eq!(
            plan.msg.as_deref(),
            Some("ownership, perms or SE linux context changed")
        );
    }

    #[test]
    fn a_missing_file_or_a_directory_fails_as_in_ansible() {
        let module = module(json!({"dest": "/etc/none", "regexp": "a"}));
        let absent = Probe::ok("path=/etc/none\nme=0:0\nparent=1\nkind=absent\n");
        assert_eq!(
            module.plan(&absent).unwrap_err().to_string(),
            "Path /etc/none does not exist !"
        );
        let dir = Probe::ok("path=/etc/none\nme=0:0\nparent=1\nkind=directory\n");
        assert_eq!(
            module.plan(&dir).unwrap_err().to_string(),
            "Path /etc/none is a directory !"
        );
    }

    #[test]
    fn what_rust_regex_cannot_do_is_refused_at_load() {
        assert!(error(json!({"path": "/f", "regexp": "(a)\\1"})).contains("backreference"));
        assert!(error(json!({"path": "/f", "regexp": "a(?=b)"})).contains("look-around"));
        assert!(error(json!({"path": "/f", "regexp": "a", "replace": "\\2"})).contains("group 2"));
        assert!(
            error(json!({"path": "/f", "regexp": "a", "encoding": "latin-1"})).contains("UTF-8")
        );
        assert!(
            error(json!({"path": "/f", "regexp": "a", "validate": "x %s"})).contains("validate")
        );
    }
}
