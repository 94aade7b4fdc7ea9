//! `lineinfile`: makes sure one line is in a file (or that no line matching
//! is), like Ansible's. The probe fetches the file; the new text is
//! computed on the controller ([`super::line_edit`]) and uploaded
//! atomically when it differs, keeping the file's mode and owner.

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::modules::content_file::{self, State, Write};
use crate::modules::de;
use crate::modules::file_attrs::Attrs;
use crate::modules::line_edit::{Edited, Insert, LineEdit, Matcher};
use crate::modules::validate::Validate;
use crate::{Controller, Module, ModuleError, Plan, Probe, StepOutput, parse_params};

pub const PARAMS: &[&str] = &[
    "path",
    "dest",
    "destfile",
    "name",
    "regexp",
    "regex",
    "search_string",
    "line",
    "value",
    "state",
    "insertafter",
    "insertbefore",
    "create",
    "backrefs",
    "firstmatch",
    "backup",
    "mode",
    "owner",
    "group",
    "validate",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineState {
    #[default]
    Present,
    Absent,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineinfileParams {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    pub path: String,
    #[serde(alias = "regex")]
    pub regexp: Option<String>,
    pub search_string: Option<String>,
    #[serde(alias = "value")]
    pub line: Option<String>,
    #[serde(default)]
    pub state: LineState,
    /// A regexp, or `EOF` / `BOF`.
    pub insertafter: Option<String>,
    /// A regexp, or `BOF`.
    pub insertbefore: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub create: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backrefs: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub firstmatch: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// A command checking the edited file (`%s`) before it replaces `path`.
    pub validate: Option<String>,
}

#[derive(Debug)]
pub struct Lineinfile {
    path: String,
    state: LineState,
    line: Option<String>,
    edit: LineEdit,
    create: bool,
    backup: bool,
    attrs: Attrs,
    validate: Option<Validate>,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: LineinfileParams = parse_params("lineinfile", params)?;
    let invalid = |message: String| ModuleError::Params {
        module: "lineinfile".into(),
        message,
    };
    if params.path.is_empty() {
        return Err(invalid("path is empty".into()));
    }
    let exclusive = [
        (
            "regexp",
            params.regexp.is_some(),
            "search_string",
            params.search_string.is_some(),
        ),
        (
            "insertafter",
            params.insertafter.is_some(),
            "insertbefore",
            params.insertbefore.is_some(),
        ),
    ];
    for (a, has_a, b, has_b) in exclusive {
        if has_a && has_b {
            return Err(invalid(format!("{a} and {b} are mutually exclusive")));
        }
    }
    if params.backrefs && params.regexp.is_none() {
        return Err(invalid("regexp is required with backrefs=true".into()));
    }
    match params.state {
        LineState::Present if params.line.is_none() => {
            return Err(invalid("line is required with state=present".into()));
        }
        LineState::Absent
            if params.regexp.is_none()
                && params.search_string.is_none()
                && params.line.is_none() =>
        {
            return Err(invalid(
                "one of line, regexp or search_string is required with state=absent".into(),
            ));
        }
        _ => {}
    }
    let compile = |name: &str, pattern: &str| {
        Regex::new(pattern).map_err(|err| invalid(format!("{name}: {err}")))
    };
    let matcher = match (&params.regexp, params.search_string) {
        (Some(regexp), _) => Some(Matcher::Regexp(compile("regexp", regexp)?)),
        (None, Some(text)) => Some(Matcher::SearchString(text)),
        (None, None) => None,
    };
    let insert = match (
        params.insertafter.as_deref(),
        params.insertbefore.as_deref(),
    ) {
        (Some("BOF"), _) | (_, Some("BOF")) => Insert::Bof,
        (Some("EOF"), _) | (None, None) => Insert::Eof,
        (Some(pattern), _) => Insert::After(compile("insertafter", pattern)?),
        (None, Some(pattern)) => Insert::Before(compile("insertbefore", pattern)?),
    };
    let attrs = Attrs::new("lineinfile", params.mode, params.owner, params.group)?;
    let validate = params
        .validate
        .map(|text| Validate::parse("lineinfile", &text))
        .transpose()?;
    Ok(Box::new(Lineinfile {
        path: params.path,
        state: params.state,
        line: params.line,
        edit: LineEdit {
            matcher,
            insert,
            firstmatch: params.firstmatch,
            backrefs: params.backrefs,
        },
        create: params.create,
        backup: params.backup,
        attrs,
        validate,
    }))
}

impl Module for Lineinfile {
    /// Ansible's `lineinfile` names it `backup` (empty when none was made).
    fn applied(&self, outputs: &[StepOutput]) -> Option<crate::Applied> {
        content_file::backup_made_as("backup", outputs)
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        Validate::outcome(outputs)
    }

    fn target(&self) -> Option<&str> {
        Some(&self.path)
    }

    fn probe(&self) -> Option<crate::Script> {
        Some(content_file::probe(&self.path, None, None))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let found = content_file::parse(probe)?;
        let text = match &found.state {
            State::File(existing) => Some(file_text(&self.path, existing.content.as_deref())?),
            State::Absent => None,
            State::Directory | State::Other => {
                return Err(ModuleError::Failed(format!(
                    "{} is not a regular file",
                    self.path
                )));
            }
        };
        let edited = match (self.state, text) {
            (LineState::Present, Some(text)) => self.edit.present(&text, self.line()),
            (LineState::Present, None) if self.create => self.edit.present("", self.line()),
            (LineState::Present, None) => {
                return Err(ModuleError::Failed(format!(
                    "Destination {} does not exist !",
                    self.path
                )));
            }
            (LineState::Absent, Some(text)) => self.edit.absent(&text, self.line.as_deref()),
            (LineState::Absent, None) => {
                return Ok(Plan {
                    msg: Some("file not present".into()),
                    ..Plan::unchanged()
                });
            }
        };
        write_edited(
            &found,
            edited,
            &self.attrs,
            self.backup,
            self.validate.as_ref(),
        )
    }
}

impl Lineinfile {
    fn line(&self) -> &str {
        self.line.as_deref().unwrap_or_default()
    }
}

/// The probed content as text.
pub(crate) fn file_text(path: &str, content: Option<&[u8]>) -> Result<String, ModuleError> {
    let content = content.ok_or_else(|| ModuleError::Probe(format!("no content for {path}")))?;
    String::from_utf8(content.to_vec())
        .map_err(|_| ModuleError::Failed(format!("{path} is not UTF-8 text")))
}

/// Writes an edit (`lineinfile`, `blockinfile`): nothing when the file is
/// absent and the edit added nothing, else the shared whole-file plan,
/// through symlinks, creating parent directories like Ansible's `create`,
/// checked by `validate` when the content changes.
pub(crate) fn write_edited(
    found: &content_file::Found,
    edited: Edited,
    attrs: &Attrs,
    backup: bool,
    validate: Option<&Validate>,
) -> Result<Plan, ModuleError> {
    if found.state == State::Absent && edited.msg.is_none() {
        return Ok(Plan::unchanged());
    }
    let mut plan = content_file::plan(
        found,
        &Write {
            contents: edited.text.as_bytes(),
            attrs,
            backup,
            make_parent: true,
            new_dirs: None,
            follow: true,
        },
    )?;
    let content_changed = edited.msg.is_some();
    if plan.changed {
        plan.msg = edited.msg;
    }
    Ok(match validate {
        Some(validate) if content_changed => validate.apply(plan),
        _ => plan,
    })
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
            "path=/etc/ssh/sshd_config\nme=0:0\nparent=1\nkind=file\nmode=600\nuid=0\ngid=0\n\
             owner=root\ngroup=root\nsize={}\nreal=/etc/ssh/sshd_config\nsha256={}\n\
             content={encoded}\n",
            content.len(),
            sha256_hex(content.as_bytes())
        ))
    }

    const ABSENT: &str = "path=/etc/new.conf\nme=0:0\nparent=0\nkind=absent\n";

    #[test]
    fn replaces_and_uploads_keeping_the_mode() {
        let module = module(json!({
            "path": "/etc/ssh/sshd_config",
            "regexp": "^#?PasswordAuthentication",
            "line": "PasswordAuthentication no",
        }));
        let probe = module.probe().unwrap();
        assert!(probe.contains("\n{ printf 'content='"), "{probe}");
        let plan = module
            .plan(&file("Port 22\n#PasswordAuthentication yes\n"))
            .unwrap();
        assert_eq!(plan.msg.as_deref(), Some("line replaced"));
        assert_eq!(
            plan.steps,
            [Step::Upload {
                dest: "/etc/ssh/sshd_config".into(),
                contents: b"Port 22\nPasswordAuthentication no\n".to_vec(),
                mode: 0o600,
                owner: None,
            }]
        );
        assert!(
            plan.diff
                .unwrap()
                .contains("-#PasswordAuthentication yes\n+PasswordAuthentication no\n")
        );
        let done = module
            .plan(&file("Port 22\nPasswordAuthentication no\n"))
            .unwrap();
        assert_eq!(done, Plan::unchanged());
    }

    #[test]
    fn missing_file_fails_unless_create() {
        let params = json!({"path": "/etc/new.conf", "line": "a=1"});
        let err = module(params).plan(&Probe::ok(ABSENT)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Destination /etc/new.conf does not exist !"
        );
        let plan =
            module(json!({"path": "/etc/new.conf", "line": "a=1", "create": true, "mode": "0640"}))
                .plan(&Probe::ok(ABSENT))
                .unwrap();
        assert_eq!(plan.steps[0].script_text(), Some("mkdir -p -- /etc\n"));
        assert!(matches!(
            &plan.steps[1],
            Step::Upload { contents, mode: 0o640, .. } if contents == b"a=1\n"
        ));
        let absent = module(json!({"path": "/etc/new.conf", "line": "a=1", "state": "absent"}));
        let plan = absent.plan(&Probe::ok(ABSENT)).unwrap();
        assert!(!plan.changed);
        assert_eq!(plan.msg.as_deref(), Some("file not present"));
    }

    #[test]
    fn backrefs_without_match_creates_nothing() {
        let module = module(json!({
            "path": "/etc/new.conf", "regexp": "^(x)", "line": "\\1", "backrefs": true, "create": true
        }));
        assert_eq!(module.plan(&Probe::ok(ABSENT)).unwrap(), Plan::unchanged());
    }

    #[test]
    fn attributes_alone_are_fixed_with_chmod() {
        let module =
            module(json!({"path": "/etc/ssh/sshd_config", "line": "Port 22", "mode": "0644"}));
        let plan = module.plan(&file("Port 22\n")).unwrap();
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(
            plan.steps[0].script_text(),
            Some("chmod 0644 -- /etc/ssh/sshd_config\n")
        );
        assert_eq!(plan.diff.as_deref(), Some("mode: 0600 -> 0644\n"));
    }

    #[test]
    fn absent_removes_lines() {
        let module =
            module(json!({"path": "/etc/ssh/sshd_config", "regexp": "^#", "state": "absent"}));
        let plan = module.plan(&file("#a\nPort 22\n#b\n")).unwrap();
        assert_eq!(plan.msg.as_deref(), Some("2 line(s) removed"));
        assert!(
            matches!(&plan.steps[0], Step::Upload { contents, .. } if contents == b"Port 22\n")
        );
    }

    #[test]
    fn directories_and_binary_files_fail() {
        let module = module(json!({"path": "/etc", "line": "x"}));
        let dir = Probe::ok("path=/etc\nme=0:0\nparent=1\nkind=directory\n");
        assert!(module.plan(&dir).is_err());
        let mut binary = file("");
        binary.stdout = binary.stdout.replace("content=\n", "content=/w==\n");
        let err = module.plan(&binary).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }

    #[test]
    fn params_are_checked() {
        assert!(error(json!({"path": "/f"})).contains("line is required"));
        assert!(error(json!({"path": "/f", "state": "absent"})).contains("one of line"));
        assert!(
            error(json!({"path": "/f", "line": "x", "backrefs": true}))
                .contains("regexp is required")
        );
        assert!(
            error(json!({"path": "/f", "line": "x", "regexp": "a", "search_string": "a"}))
                .contains("mutually exclusive")
        );
        assert!(
            error(json!({"path": "/f", "line": "x", "insertafter": "a", "insertbefore": "b"}))
                .contains("mutually exclusive")
        );
        assert!(error(json!({"path": "/f", "line": "x", "regexp": "("})).contains("regexp:"));
        assert!(error(json!({"path": "/f", "line": "x", "state": "gone"})).contains("gone"));
        assert!(
            error(json!({"path": "/f", "line": "x", "dest": "/g"})).contains("duplicate field")
        );
        assert!(
            error(json!({"path": "/f", "line": "x", "destination": "/g"})).contains("destination")
        );
    }

    #[test]
    fn validate_checks_the_edited_file_only_when_the_content_changes() {
        let module = module(
            json!({"path": "/etc/ssh/sshd_config", "regexp": "^PermitRootLogin", "line": "PermitRootLogin no", "validate": "/usr/sbin/sshd -t -f %s"}),
        );
        crate::modules::validate::assert_checks_changes_only(
            module.as_ref(),
            file,
            "PermitRootLogin yes\n",
        );
    }
}
