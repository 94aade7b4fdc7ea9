//! `blockinfile`: a block of lines between two marker lines, like Ansible's
//! (the default marker says FLEET instead of ANSIBLE). The new text is
//! computed on the controller from the probed file and uploaded atomically
//! when it differs.

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::modules::content_file::{self, State};
use crate::modules::de;
use crate::modules::file_attrs::Attrs;
use crate::modules::line_edit::{Edited, split_lines, trimmed};
use crate::modules::lineinfile::{file_text, write_edited};
use crate::modules::validate::Validate;
use crate::{Controller, Module, ModuleError, Plan, Probe, StepOutput, parse_params};

pub const PARAMS: &[&str] = &[
    "path",
    "dest",
    "destfile",
    "name",
    "block",
    "content",
    "marker",
    "marker_begin",
    "marker_end",
    "state",
    "insertafter",
    "insertbefore",
    "create",
    "backup",
    "mode",
    "owner",
    "group",
    "validate",
];

pub const DEFAULT_MARKER: &str = "# {mark} FLEET MANAGED BLOCK";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockState {
    #[default]
    Present,
    Absent,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockinfileParams {
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    pub path: String,
    #[serde(default, alias = "content")]
    pub block: String,
    #[serde(default = "default_marker")]
    pub marker: String,
    #[serde(default = "begin")]
    pub marker_begin: String,
    #[serde(default = "end")]
    pub marker_end: String,
    #[serde(default)]
    pub state: BlockState,
    /// A regexp, or `EOF` (the default).
    pub insertafter: Option<String>,
    /// A regexp, or `BOF`.
    pub insertbefore: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub create: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// A command checking the edited file (`%s`) before it replaces `path`.
    pub validate: Option<String>,
}

fn default_marker() -> String {
    DEFAULT_MARKER.into()
}

fn begin() -> String {
    "BEGIN".into()
}

fn end() -> String {
    "END".into()
}

/// Where the block goes when its markers are not in the file yet.
#[derive(Debug, Clone)]
pub(crate) enum Place {
    /// After the last line matching.
    After(Regex),
    /// Before the last line matching.
    Before(Regex),
    Bof,
    Eof,
}

/// The pure edit: markers and block in, text out.
#[derive(Debug, Clone)]
pub(crate) struct BlockEdit {
    pub begin: String,
    pub end: String,
    pub place: Place,
}

impl BlockEdit {
    /// Puts `block` (or, when `None` or empty, no block at all) between the
    /// markers: in place of the marked block when both markers are there
    /// (their last occurrences), else at `place`.
    pub fn apply(&self, text: &str, block: Option<&str>) -> Edited {
        let mut lines = split_lines(text);
        let block_lines: Vec<String> = match block {
            Some(block) if !block.is_empty() => std::iter::once(format!("{}\n", self.begin))
                .chain(split_lines(block).into_iter().map(|line| {
                    if line.ends_with('\n') {
                        line
                    } else {
                        line + "\n"
                    }
                }))
                .chain(std::iter::once(format!("{}\n", self.end)))
                .collect(),
            _ => Vec::new(),
        };
        let last = |marker: &str| lines.iter().rposition(|line| trimmed(line) == marker);
        let at = match (last(&self.begin), last(&self.end)) {
            (Some(begin), Some(end)) => {
                let (first, last) = (begin.min(end), begin.max(end));
                lines.drain(first..=last);
                first
            }
            _ => self.insertion_point(&lines),
        };
        if !block_lines.is_empty()
            && let Some(previous) = at.checked_sub(1).and_then(|i| lines.get_mut(i))
            && !previous.ends_with('\n')
        {
            previous.push('\n');
        }
        let had_block = lines.len() != split_lines(text).len();
        lines.splice(at..at, block_lines.iter().cloned());
        let new_text = lines.concat();
        let msg = if new_text == text {
            None
        } else if block_lines.is_empty() {
            Some("Block removed")
        } else if had_block {
            Some("Block replaced")
        } else {
            Some("Block inserted")
        };
        Edited {
            text: new_text,
            msg: msg.map(str::to_string),
        }
    }

    fn insertion_point(&self, lines: &[String]) -> usize {
        let last_match = |regex: &Regex| {
            lines
                .iter()
                .rposition(|line| regex.is_match(line.strip_suffix('\n').unwrap_or(line)))
        };
        match &self.place {
            Place::Bof => 0,
            Place::Eof => lines.len(),
            Place::After(regex) => last_match(regex).map_or(lines.len(), |index| index + 1),
            Place::Before(regex) => last_match(regex).unwrap_or(lines.len()),
        }
    }
}

#[derive(Debug)]
pub struct Blockinfile {
    path: String,
    state: BlockState,
    block: String,
    edit: BlockEdit,
    create: bool,
    backup: bool,
    attrs: Attrs,
    validate: Option<Validate>,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: BlockinfileParams = parse_params("blockinfile", params)?;
    let invalid = |message: String| ModuleError::Params {
        module: "blockinfile".into(),
        message,
    };
    if params.path.is_empty() {
        return Err(invalid("path is empty".into()));
    }
    if !params.marker.contains("{mark}") || params.marker_begin == params.marker_end {
        return Err(invalid(
            "marker must contain {mark}, and marker_begin and marker_end must differ".into(),
        ));
    }
    let compile = |name: &str, pattern: &str| {
        Regex::new(pattern).map_err(|err| invalid(format!("{name}: {err}")))
    };
    let place = match (
        params.insertafter.as_deref(),
        params.insertbefore.as_deref(),
    ) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "insertafter and insertbefore are mutually exclusive".into(),
            ));
        }
        (Some("EOF"), None) | (None, None) => Place::Eof,
        (None, Some("BOF")) => Place::Bof,
        (Some(pattern), None) => Place::After(compile("insertafter", pattern)?),
        (None, Some(pattern)) => Place::Before(compile("insertbefore", pattern)?),
    };
    let attrs = Attrs::new("blockinfile", params.mode, params.owner, params.group)?;
    let validate = params
        .validate
        .map(|text| Validate::parse("blockinfile", &text))
        .transpose()?;
    Ok(Box::new(Blockinfile {
        edit: BlockEdit {
            begin: params.marker.replace("{mark}", &params.marker_begin),
            end: params.marker.replace("{mark}", &params.marker_end),
            place,
        },
        path: params.path,
        state: params.state,
        block: params.block,
        create: params.create,
        backup: params.backup,
        attrs,
        validate,
    }))
}

impl Module for Blockinfile {
    fn applied(&self, outputs: &[StepOutput]) -> Option<crate::Applied> {
        content_file::backup_made(outputs)
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
        let block = (self.state == BlockState::Present).then_some(self.block.as_str());
        let text = match &found.state {
            State::File(existing) => file_text(&self.path, existing.content.as_deref())?,
            State::Absent if self.create && self.state == BlockState::Present => String::new(),
            State::Absent if self.state == BlockState::Absent => {
                return Ok(Plan {
                    msg: Some("file not present".into()),
                    ..Plan::unchanged()
                });
            }
            State::Absent => {
                return Err(ModuleError::Failed(format!(
                    "Path {} does not exist !",
                    self.path
                )));
            }
            State::Directory | State::Other => {
                return Err(ModuleError::Failed(format!(
                    "{} is not a regular file",
                    self.path
                )));
            }
        };
        let mut edited = self.edit.apply(&text, block);
        if found.state == State::Absent && edited.msg.is_some() {
            edited.msg = Some("File created".into());
        }
        write_edited(
            &found,
            edited,
            &self.attrs,
            self.backup,
            self.validate.as_ref(),
        )
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

    const BEGIN: &str = "# BEGIN FLEET MANAGED BLOCK";
    const END: &str = "# END FLEET MANAGED BLOCK";

    fn edit(place: Place) -> BlockEdit {
        BlockEdit {
            begin: BEGIN.into(),
            end: END.into(),
            place,
        }
    }

    fn marked(block: &str) -> String {
        format!("{BEGIN}\n{block}{END}\n")
    }

    /// Applies, checks, and checks a second application changes nothing.
    fn apply(edit: &BlockEdit, text: &str, block: Option<&str>, expected: &str) {
        let first = edit.apply(text, block);
        assert_eq!(first.text, expected, "on {text:?}");
        let second = edit.apply(&first.text, block);
        assert_eq!(second.text, expected, "second run");
        assert_eq!(second.msg, None);
    }

    #[test]
    fn inserts_at_the_end_by_default_and_replaces_in_place() {
        let eof = edit(Place::Eof);
        apply(
            &eof,
            "a\nb",
            Some("x\ny"),
            &format!("a\nb\n{}", marked("x\ny\n")),
        );
        let text = format!("a\n{}b\n", marked("old\n"));
        apply(
            &eof,
            &text,
            Some("new\n"),
            &format!("a\n{}b\n", marked("new\n")),
        );
        assert_eq!(
            eof.apply(&text, Some("new")).msg.as_deref(),
            Some("Block replaced")
        );
        assert_eq!(
            eof.apply("", Some("x")).msg.as_deref(),
            Some("Block inserted")
        );
    }

    #[test]
    fn removes_the_block_when_absent_or_empty() {
        let text = format!("a\n{}b\n", marked("x\n"));
        let eof = edit(Place::Eof);
        apply(&eof, &text, None, "a\nb\n");
        apply(&eof, &text, Some(""), "a\nb\n");
        assert_eq!(eof.apply(&text, None).msg.as_deref(), Some("Block removed"));
        // Nothing to remove, and a missing final newline is left alone.
        apply(&eof, "a\nb", None, "a\nb");
    }

    #[test]
    fn insertafter_and_insertbefore_use_the_last_match() {
        let text = "[a]\nk=1\n[a]\nk=2\n";
        apply(
            &edit(Place::After(Regex::new(r"^\[a\]$").unwrap())),
            text,
            Some("x"),
            &format!("[a]\nk=1\n[a]\n{}k=2\n", marked("x\n")),
        );
        apply(
            &edit(Place::Before(Regex::new(r"^\[a\]$").unwrap())),
            text,
            Some("x"),
            &format!("[a]\nk=1\n{}[a]\nk=2\n", marked("x\n")),
        );
        apply(
            &edit(Place::After(Regex::new("^nomatch").unwrap())),
            "a\n",
            Some("x"),
            &format!("a\n{}", marked("x\n")),
        );
        apply(
            &edit(Place::Bof),
            "a\n",
            Some("x"),
            &format!("{}a\n", marked("x\n")),
        );
    }

    #[test]
    fn swapped_markers_and_markers_without_newline_are_found() {
        let eof = edit(Place::Eof);
        let swapped = format!("a\n{END}\nold\n{BEGIN}\nb\n");
        apply(
            &eof,
            &swapped,
            Some("new"),
            &format!("a\n{}b\n", marked("new\n")),
        );
        let unterminated = format!("a\n{BEGIN}\nold\n{END}");
        apply(
            &eof,
            &unterminated,
            Some("new"),
            &format!("a\n{}", marked("new\n")),
        );
    }

    #[test]
    fn only_one_marker_inserts_a_new_block() {
        let text = format!("{BEGIN}\nstray\n");
        apply(
            &edit(Place::Eof),
            &text,
            Some("x"),
            &format!("{BEGIN}\nstray\n{}", marked("x\n")),
        );
    }

    fn module(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    fn file(content: &str) -> Probe {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        Probe::ok(&format!(
            "path=/etc/hosts\nme=0:0\nparent=1\nkind=file\nmode=644\nuid=0\ngid=0\nowner=root\n\
             group=root\nsize={}\nreal=/etc/hosts\nsha256={}\ncontent={encoded}\n",
            content.len(),
            sha256_hex(content.as_bytes())
        ))
    }

    #[test]
    fn custom_markers_and_upload() {
        let module = module(json!({
            "path": "/etc/hosts", "block": "10.0.0.1 db\n", "marker": "<!-- {mark} hosts -->",
            "marker_begin": "start", "marker_end": "stop",
        }));
        let plan = module.plan(&file("127.0.0.1 localhost\n")).unwrap();
        assert_eq!(plan.msg.as_deref(), Some("Block inserted"));
        assert_eq!(
            plan.steps,
            [Step::Upload {
                dest: "/etc/hosts".into(),
                contents:
                    b"127.0.0.1 localhost\n<!-- start hosts -->\n10.0.0.1 db\n<!-- stop hosts -->\n"
                        .to_vec(),
                mode: 0o644,
                owner: None,
            }]
        );
        assert!(plan.diff.unwrap().contains("+10.0.0.1 db\n"));
    }

    #[test]
    fn missing_files() {
        let absent = Probe::ok("path=/etc/x\nme=0:0\nparent=1\nkind=absent\n");
        let err = module(json!({"path": "/etc/x", "block": "a"}))
            .plan(&absent)
            .unwrap_err();
        assert_eq!(err.to_string(), "Path /etc/x does not exist !");
        let created = module(json!({"path": "/etc/x", "block": "a", "create": "yes"}))
            .plan(&absent)
            .unwrap();
        assert_eq!(created.msg.as_deref(), Some("File created"));
        let removed = module(json!({"path": "/etc/x", "state": "absent"}))
            .plan(&absent)
            .unwrap();
        assert!(!removed.changed);
        let empty = module(json!({"path": "/etc/x", "create": true}))
            .plan(&absent)
            .unwrap();
        assert!(!empty.changed);
    }

    #[test]
    fn params_are_checked() {
        let error = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
        assert!(error(json!({"path": "/f", "marker": "# fixed"})).contains("{mark}"));
        assert!(
            error(json!({"path": "/f", "marker_begin": "X", "marker_end": "X"})).contains("differ")
        );
        assert!(
            error(json!({"path": "/f", "insertafter": "a", "insertbefore": "b"}))
                .contains("exclusive")
        );
        assert!(error(json!({"path": "/f", "insertbefore": "("})).contains("insertbefore:"));
        assert!(error(json!({"path": "/f", "contents": "x"})).contains("contents"));
        assert!(error(json!({"path": "/f", "block": "x", "content": "y"})).contains("duplicate"));
    }

    #[test]
    fn validate_checks_the_edited_file_only_when_the_content_changes() {
        let module = module(
            json!({"path": "/etc/ssh/sshd_config", "block": "PermitRootLogin no", "validate": "/usr/sbin/sshd -t -f %s"}),
        );
        crate::modules::validate::assert_checks_changes_only(
            module.as_ref(),
            file,
            "PermitRootLogin yes\n",
        );
    }
}
