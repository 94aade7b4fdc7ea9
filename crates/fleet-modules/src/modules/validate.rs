//! Ansible's `validate` (for `copy`, `template`, `replace`): the new
//! content is written to a temp file next to the destination, the command
//! runs with `%s` replaced by that file's path, and only when it exits 0 is
//! the file renamed over the destination. Like Ansible, the command is
//! split into words (no shell); `%%` is a literal `%`.

use fleet_shell::split_words;

use crate::{Arg, Cmd, ModuleError, Plan, Script, Step, StepOutput};

/// Printed by the step when the command rejected the file.
const REJECTED: &str = "validate_rc=";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validate {
    words: Vec<Vec<Part>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    TempFile,
}

impl Validate {
    pub fn parse(module: &str, text: &str) -> Result<Validate, ModuleError> {
        let invalid = |message: String| ModuleError::Params {
            module: module.into(),
            message,
        };
        if !text.contains("%s") {
            return Err(invalid(format!("validate must contain %s: {text}")));
        }
        let words = split_words(text).map_err(|err| invalid(format!("validate: {err}")))?;
        if words.is_empty() {
            return Err(invalid("validate is empty".into()));
        }
        let words = words.iter().map(|word| parts(word)).collect();
        Ok(Validate { words })
    }

    fn cmd(&self) -> Cmd {
        let arg = |parts: &[Part]| {
            Arg::Joined(
                parts
                    .iter()
                    .map(|part| match part {
                        Part::Text(text) => Arg::from(text.as_str()),
                        Part::TempFile => Arg::var("tmp"),
                    })
                    .collect(),
            )
        };
        let (program, args) = self.words.split_first().expect("parse keeps one word");
        args.iter()
            .fold(Cmd::at(arg(program)), |cmd, word| cmd.arg(arg(word)))
    }

    /// `plan` with each upload replaced by an upload checked by this command.
    pub fn apply(&self, mut plan: Plan) -> Plan {
        plan.steps = plan
            .steps
            .into_iter()
            .map(|step| match step {
                Step::Upload {
                    dest,
                    contents,
                    mode,
                    owner,
                } => Step::run_with_stdin(self.upload(&dest, mode, owner.as_deref()), contents),
                other => other,
            })
            .collect();
        plan
    }

    fn upload(&self, dest: &str, mode: u32, owner: Option<&str>) -> Script {
        let (dir, name) = match dest.rsplit_once('/') {
            Some(("", name)) => ("/", name),
            Some((dir, name)) => (dir, name),
            None => (".", dest),
        };
        let template = format!(
            "{}/.{name}.fleet-validate.XXXXXX",
            dir.trim_end_matches('/')
        );
        let prepare = [
            Some(Cmd::without_end_of_options("cat").stdout_to(Arg::var("tmp"))),
            Some(
                Cmd::new("chmod")
                    .arg(format!("{:04o}", mode & 0o7777))
                    .operand(Arg::var("tmp")),
            ),
            owner.map(|owner| Cmd::new("chown").arg(owner).operand(Arg::var("tmp"))),
        ];
        Script::new()
            .set("dest", dest)
            .set("template", template)
            .snippet("tmp=$(mktemp -- \"$template\") || exit 1")
            .all(prepare.into_iter().flatten())
            .snippet("rc=$?; if [ \"$rc\" -ne 0 ]; then rm -f -- \"$tmp\"; exit \"$rc\"; fi")
            .cmd(self.cmd())
            .snippet(
                "rc=$?; if [ \"$rc\" -ne 0 ]; then rm -f -- \"$tmp\"; \
                 printf 'validate_rc=%s\\n' \"$rc\"; exit \"$rc\"; fi",
            )
            .cmd(
                Cmd::new("mv")
                    .flag("-f")
                    .operand(Arg::var("tmp"))
                    .operand(Arg::var("dest")),
            )
    }

    /// Ansible's message when the command rejected the file, else the
    /// usual failure of a step.
    pub fn outcome(outputs: &[StepOutput]) -> Result<(), ModuleError> {
        let Some(failed) = outputs.iter().find(|out| out.rc != 0) else {
            return Ok(());
        };
        if failed.stdout.lines().any(|line| line.starts_with(REJECTED)) {
            return Err(ModuleError::Failed(format!(
                "failed to validate: rc:{} error:{}",
                failed.rc,
                failed.stderr.trim_end()
            )));
        }
        Err(ModuleError::StepFailed {
            rc: failed.rc,
            stderr: failed.stderr.trim_end().to_string(),
        })
    }
}

/// A word of the command, `%s` being the temp file and `%%` a `%`.
fn parts(word: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('%', Some('s')) => {
                chars.next();
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::TempFile);
            }
            ('%', Some('%')) => {
                chars.next();
                text.push('%');
            }
            _ => text.push(c),
        }
    }
    if !text.is_empty() || parts.is_empty() {
        parts.push(Part::Text(text));
    }
    parts
}

/// Asserts that `module`, on a file holding `before` (`file` makes the
/// probe), checks its edit with `/usr/sbin/sshd -t -f %s`, and that on the
/// file it wrote it changes, and so checks, nothing.
#[cfg(test)]
pub(crate) fn assert_checks_changes_only(
    module: &dyn crate::Module,
    file: fn(&str) -> crate::Probe,
    before: &str,
) {
    let plan = module.plan(&file(before)).unwrap();
    let written = match &plan.steps[..] {
        [
            Step::Run {
                script,
                stdin: Some(stdin),
            },
        ] if script.to_string().contains("/usr/sbin/sshd -t -f \"$tmp\"") => {
            String::from_utf8(stdin.bytes().to_vec()).unwrap()
        }
        other => panic!("{other:?}"),
    };
    let done = module.plan(&file(&written)).unwrap();
    assert!(!done.changed && done.steps.is_empty(), "{done:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_checks_the_temp_file_before_the_rename() {
        let validate = Validate::parse("copy", "/usr/sbin/visudo -csf %s").unwrap();
        let plan = validate.apply(Plan::change(vec![Step::Upload {
            dest: "/etc/sudoers.d/app".into(),
            contents: b"x\n".to_vec(),
            mode: 0o440,
            owner: None,
        }]));
        let Step::Run { script, stdin } = &plan.steps[0] else {
            panic!("{:?}", plan.steps);
        };
        assert_eq!(stdin.as_ref().unwrap().bytes(), b"x\n");
        let text = script.as_str();
        assert!(
            text.contains("template=/etc/sudoers.d/.app.fleet-validate.XXXXXX\n"),
            "{text}"
        );
        assert!(
            text.contains("cat >\"$tmp\" && chmod 0440 -- \"$tmp\"\n"),
            "{text}"
        );
        let check = text.find("/usr/sbin/visudo -csf \"$tmp\"\n").unwrap();
        assert!(check < text.find("mv -f -- \"$tmp\" \"$dest\"").unwrap());
    }

    #[test]
    fn percent_signs_are_read_like_python() {
        let validate = Validate::parse("copy", "check --x=%s 100%%").unwrap();
        assert_eq!(validate.cmd().render(), "check '--x='\"$tmp\" 100%");
        let err = Validate::parse("copy", "nginx -t").unwrap_err();
        assert_eq!(err.to_string(), "copy: validate must contain %s: nginx -t");
    }

    #[test]
    fn a_rejection_is_reported_as_ansible_does() {
        let rejected = StepOutput {
            rc: 1,
            stdout: "validate_rc=1\n".into(),
            stderr: "syntax error\n".into(),
        };
        let err = Validate::outcome(&[rejected]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to validate: rc:1 error:syntax error"
        );
        assert!(Validate::outcome(&[StepOutput::default()]).is_ok());
    }
}
