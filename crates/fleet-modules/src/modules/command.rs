//! `command`: runs a program without a shell, like Ansible's: `|`, `>` and
//! `$VAR` are passed to it as plain words.

use serde::Deserialize;
use serde_json::Value;

use crate::shell::{quote, split_words};
use crate::{Controller, Module, ModuleError, Plan, Probe, Step, parse_params};

pub const PARAMS: &[&str] = &["cmd", "chdir", "creates", "removes", "stdin"];

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
}

#[derive(Debug)]
pub struct Command {
    params: CommandParams,
    /// The script that runs it: the words quoted (`command`) or the text as
    /// written (`shell`).
    script: String,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: CommandParams = parse_params("command", params)?;
    let words = split_words(&params.cmd).map_err(|message| ModuleError::Params {
        module: "command".into(),
        message,
    })?;
    if words.is_empty() {
        return Err(ModuleError::Params {
            module: "command".into(),
            message: "cmd is empty".into(),
        });
    }
    let script = words
        .iter()
        .map(|word| quote(word))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Box::new(Command::new(params, script)))
}

impl Command {
    pub(crate) fn new(params: CommandParams, script: String) -> Command {
        Command { params, script }
    }
}

impl Module for Command {
    fn probe(&self) -> Option<crate::Script> {
        let test = |path: &Option<String>, name: &str| {
            path.as_ref()
                .map(|path| format!("test -e {} && echo {name}=1 || echo {name}=0;", quote(path)))
        };
        let script = [
            test(&self.params.creates, "creates"),
            test(&self.params.removes, "removes"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        (!script.is_empty()).then_some(script.into())
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
        let script = match &self.params.chdir {
            Some(dir) => format!("cd {} && {}", quote(dir), self.script),
            None => self.script.clone(),
        };
        Ok(Plan::change(vec![Step::Run {
            script: script.into(),
            stdin: self
                .params
                .stdin
                .as_ref()
                .map(|text| text.clone().into_bytes())
                .map(Into::into),
        }]))
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
mod tests {
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
            plan.steps,
            vec![Step::run("cd '/tmp dir' && echo 'a|b' '$HOME'")]
        );
    }

    #[test]
    fn creates_and_removes_skip_the_command() {
        let module =
            command(json!({"cmd": "make", "creates": "/opt/built", "removes": "/opt/src"}));
        assert_eq!(
            module.probe().unwrap(),
            "test -e /opt/built && echo creates=1 || echo creates=0; test -e /opt/src && echo removes=1 || echo removes=0;"
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
    }

    #[test]
    fn rejects_unknown_params_and_empty_commands() {
        assert!(build(json!({"cmd": "ls", "chdri": "/"}), &NoFiles).is_err());
        assert!(build(json!({"cmd": "  "}), &NoFiles).is_err());
        assert!(build(json!({"cmd": "echo 'open"}), &NoFiles).is_err());
    }
}
