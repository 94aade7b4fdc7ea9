//! `raw`: runs the operator's command line on the host as it is, like
//! Ansible's `raw`: no probe, always `changed`, skipped in check mode, a
//! non-zero exit fails the task.

use serde::Deserialize;
use serde_json::Value;

use crate::{
    Cmd, Controller, Module, ModuleError, Plan, Probe, Raw, Script, Step, StepOutput, parse_params,
};

pub const PARAMS: &[&str] = &["cmd", "executable"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParams {
    /// The free-form command line.
    pub cmd: String,
    /// A shell to run it with (`EXECUTABLE -c CMD`) instead of `sh`.
    pub executable: Option<String>,
}

#[derive(Debug)]
pub struct RawCommand {
    script: Script,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: RawParams = parse_params("raw", params)?;
    if params.cmd.trim().is_empty() {
        return Err(ModuleError::Params {
            module: "raw".into(),
            message: "a command line is required".into(),
        });
    }
    let script = match params.executable.as_deref().filter(|exe| !exe.is_empty()) {
        Some(executable) => {
            let words = [executable.to_string(), "-c".into(), params.cmd.clone()];
            Script::of(Cmd::argv(&words).expect("three words"))
        }
        None => Script::of_raw(Raw::operator_text(params.cmd)),
    };
    Ok(Box::new(RawCommand { script }))
}

impl Module for RawCommand {
    fn probe(&self) -> Option<Script> {
        None
    }

    fn plan(&self, _probe: &Probe) -> Result<Plan, ModuleError> {
        Ok(Plan::change(vec![Step::run(self.script.clone())]))
    }

    fn failed_run_changed(&self) -> bool {
        true
    }

    fn skipped_in_check_mode(&self) -> bool {
        true
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        match outputs.last() {
            Some(out) if out.rc != 0 => Err(ModuleError::Failed("non-zero return code".into())),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::{run_step, scripts};
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    #[test]
    fn runs_the_line_as_written_and_always_changes() {
        let module = build(json!({"cmd": "echo $((2 + 3)) | tr 5 6"}), &NoFiles).unwrap();
        assert_eq!(module.probe(), None);
        assert!(module.skipped_in_check_mode());
        let plan = module.plan(&Probe::default()).unwrap();
        assert!(plan.changed);
        assert_eq!(run_step("", &plan.steps[0]).stdout, "6\n");
    }

    #[test]
    fn an_executable_gets_the_line_as_one_word() {
        let module = build(
            json!({"cmd": "echo $0 'it''s'", "executable": "/bin/sh"}),
            &NoFiles,
        )
        .unwrap();
        let plan = module.plan(&Probe::default()).unwrap();
        assert!(scripts(&plan.steps)[0].starts_with("/bin/sh -c 'echo $0 "));
        assert_eq!(run_step("", &plan.steps[0]).stdout, "/bin/sh its\n");
    }

    #[test]
    fn a_non_zero_exit_fails() {
        let module = build(json!({"cmd": "false"}), &NoFiles).unwrap();
        let failed = StepOutput {
            rc: 1,
            ..StepOutput::default()
        };
        assert_eq!(
            module.outcome(&[failed]).unwrap_err().to_string(),
            "non-zero return code"
        );
        assert!(build(json!({"cmd": " "}), &NoFiles).is_err());
        assert!(build(json!({"cmd": "x", "chdir": "/"}), &NoFiles).is_err());
    }
}
