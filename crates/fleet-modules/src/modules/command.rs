//! `command`: runs a program without a shell, like Ansible's: `|`, `>` and
//! `$VAR` are passed to it as plain words.

use serde::Deserialize;
use serde_json::Value;

use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};
use fleet_shell::split_words;

pub const PARAMS: &[&str] = &[
    "cmd",
    "chdir",
    "creates",
    "removes",
    "stdin",
    "stdin_add_newline",
];

/// Params shared by `command` and `shell`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandParams {
    pub cmd: String,
    pub chdir: Option<String>,
    /// Skip when this path exists.
    pub creates: Option<String>,
    /// Skip when this path does not exist.
    pub removes: Option<String>,
    pub stdin: Option<String>,
    /// Append a newline to a non-empty `stdin`, as Ansible does by default.
    #[serde(default = "yes")]
    pub stdin_add_newline: bool,
}

fn yes() -> bool {
    true
}

/// What runs: the program and its words (`command`), or the operator's
/// shell text (`shell`).
#[derive(Debug)]
pub(crate) enum Body {
    Program(Cmd),
    Text(Script),
}

#[derive(Debug)]
pub struct Command {
    params: CommandParams,
    body: Body,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: CommandParams = parse_params("command", params)?;
    let words = split_words(&params.cmd).map_err(|message| ModuleError::Params {
        module: "command".into(),
        message,
    })?;
    let program = Cmd::argv(&words).ok_or_else(|| ModuleError::Params {
        module: "command".into(),
        message: "cmd is empty".into(),
    })?;
    Ok(Box::new(Command::new(params, Body::Program(program))))
}

impl Command {
    pub(crate) fn new(params: CommandParams, body: Body) -> Command {
        Command { params, body }
    }

    /// The body, after a `cd` into `chdir` when there is one: a failed `cd`
    /// is the task's failure and runs nothing.
    fn script(&self) -> Script {
        // `cd -` would go to `$OLDPWD`, even after `--`.
        let dir = self
            .params
            .chdir
            .as_deref()
            .map(|dir| if dir == "-" { "./-" } else { dir });
        match (&self.body, dir) {
            (Body::Program(program), dir) => {
                let cd = dir.map(|dir| Cmd::new("cd").operand(dir));
                Script::new().all(cd.into_iter().chain([program.clone()]))
            }
            (Body::Text(text), None) => text.clone(),
            (Body::Text(text), Some(dir)) => Script::new()
                .set("chdir", dir)
                .snippet("cd -- \"$chdir\" || exit\n")
                .then(text.clone()),
        }
    }
}

impl Module for Command {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new();
        if let Some(path) = &self.params.creates {
            script = script
                .set("creates", path)
                .snippet("test -e \"$creates\" && echo creates=1 || echo creates=0\n");
        }
        if let Some(path) = &self.params.removes {
            script = script
                .set("removes", path)
                .snippet("test -e \"$removes\" && echo removes=1 || echo removes=0\n");
        }
        (!script.is_empty()).then_some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = crate::text::fields(&probe.stdout);
        if let (Some(path), Some(&"1")) = (&self.params.creates, facts.get("creates")) {
            return Ok(Plan {
                msg: Some(format!("skipped: {path} exists")),
                ..Plan::unchanged()
            });
        }
        if let (Some(path), Some(&"0")) = (&self.params.removes, facts.get("removes")) {
            return Ok(Plan {
                msg: Some(format!("skipped: {path} does not exist")),
                ..Plan::unchanged()
            });
        }
        let step = match &self.params.stdin {
            Some(text) => {
                let mut bytes = text.clone().into_bytes();
                if self.params.stdin_add_newline && !bytes.is_empty() {
                    bytes.push(b'\n');
                }
                Step::run_with_stdin(self.script(), bytes)
            }
            None => Step::run(self.script()),
        };
        Ok(Plan::change(vec![step]))
    }

    fn failed_run_changed(&self) -> bool {
        true
    }

    fn skipped_in_check_mode(&self) -> bool {
        self.params.creates.is_none() && self.params.removes.is_none()
    }

    /// The command's own exit code is the task's: the engine reports it.
    fn outcome(&self, outputs: &[crate::StepOutput]) -> Result<(), ModuleError> {
        match outputs.last() {
            Some(out) if out.rc != 0 => Err(ModuleError::Failed(format!(
                "non-zero return code {}",
                out.rc
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "stub_sh_tests.rs"]
pub(crate) mod stub_sh;

#[cfg(test)]
mod tests {
    use super::stub_sh::{run, run_step, scripts};
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn command(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    #[test]
    fn runs_words_without_a_shell() {
        let module = command(json!({"cmd": "echo a|b '$HOME'", "chdir": "/tmp dir"}));
        assert_eq!(module.probe(), None);
        let plan = module.plan(&Probe::default()).unwrap();
        assert!(plan.changed);
        assert_eq!(
            scripts(&plan.steps),
            ["cd -- '/tmp dir' && echo 'a|b' '$HOME'\n"]
        );
        let module =
            command(json!({"cmd": "printf '%s|' $HOME 'a b' \"$(id)\" '*'", "chdir": "/"}));
        let out = run_step("", &module.plan(&Probe::default()).unwrap().steps[0]);
        assert_eq!((out.rc, out.stdout.as_str()), (0, "$HOME|a b|$(id)|*|"));
    }

    #[test]
    fn a_word_with_an_equals_sign_is_a_program_not_an_assignment() {
        let module = command(json!({"cmd": "FOO=bar printf x"}));
        let plan = module.plan(&Probe::default()).unwrap();
        assert_eq!(scripts(&plan.steps), ["'FOO=bar' printf x\n"]);
        let out = run_step("", &plan.steps[0]);
        assert_eq!(out.rc, 127, "{out:?}");
        assert_eq!(out.stdout, "");
    }

    #[test]
    fn a_failed_chdir_runs_nothing() {
        let module = command(json!({"cmd": "echo ran", "chdir": "/nonexistent"}));
        let out = run_step("", &module.plan(&Probe::default()).unwrap().steps[0]);
        assert_ne!(out.rc, 0);
        assert_eq!(out.stdout, "");
        let dash = command(json!({"cmd": "pwd", "chdir": "-"}));
        let plan = dash.plan(&Probe::default()).unwrap();
        assert_eq!(scripts(&plan.steps), ["cd -- ./- && pwd\n"]);
    }

    #[test]
    fn stdin_reaches_the_program_with_a_newline_added_as_in_ansible() {
        let module = command(json!({"cmd": "cat", "stdin": "$(id) 'x'\n"}));
        let plan = module.plan(&Probe::default()).unwrap();
        assert_eq!(run_step("", &plan.steps[0]).stdout, "$(id) 'x'\n\n");
        let module = command(json!({"cmd": "cat", "stdin": "as is", "stdin_add_newline": false}));
        let plan = module.plan(&Probe::default()).unwrap();
        assert_eq!(run_step("", &plan.steps[0]).stdout, "as is");
    }

    #[test]
    fn creates_and_removes_skip_the_command() {
        let module =
            command(json!({"cmd": "make", "creates": "/opt/built", "removes": "/opt/src"}));
        assert_eq!(
            module.probe().unwrap(),
            "creates=/opt/built\ntest -e \"$creates\" && echo creates=1 || echo creates=0\n\
             removes=/opt/src\ntest -e \"$removes\" && echo removes=1 || echo removes=0\n"
        );
        assert!(
            !module
                .plan(&Probe::ok("creates=1\nremoves=1\n"))
                .unwrap()
                .changed
        );
        assert!(
            !module
                .plan(&Probe::ok("creates=0\nremoves=0\n"))
                .unwrap()
                .changed
        );
        assert!(
            module
                .plan(&Probe::ok("creates=0\nremoves=1\n"))
                .unwrap()
                .changed
        );
        let hostile = command(json!({"cmd": "ls", "creates": "/ $(echo x)", "removes": "/"}));
        let out = run("", &hostile.probe().unwrap(), b"");
        assert_eq!(out.stdout, "creates=0\nremoves=1\n");
    }

    #[test]
    fn rejects_unknown_params_and_empty_commands() {
        assert!(build(json!({"cmd": "ls", "chdri": "/"}), &NoFiles).is_err());
        assert!(build(json!({"cmd": "  "}), &NoFiles).is_err());
        assert!(build(json!({"cmd": "echo 'open"}), &NoFiles).is_err());
    }
}
