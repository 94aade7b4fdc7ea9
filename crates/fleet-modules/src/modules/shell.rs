//! `shell`: runs a script through `sh`, so pipes, redirects and `$VAR` work.

use serde_json::Value;

use super::command::{Body, Command, CommandParams};
use crate::{Controller, Module, ModuleError, Raw, Script, parse_params};

pub const PARAMS: &[&str] = super::command::PARAMS;

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: CommandParams = parse_params("shell", params)?;
    if params.cmd.trim().is_empty() {
        return Err(ModuleError::Params {
            module: "shell".into(),
            message: "cmd is empty".into(),
        });
    }
    let text = Script::of_raw(Raw::operator_text(params.cmd.clone()));
    Ok(Box::new(Command::new(params, Body::Text(text))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Probe;
    use crate::modules::command::stub_sh::{run_step, scripts};
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    #[test]
    fn runs_the_text_as_written() {
        let module = build(json!({"cmd": "echo $HOME | wc -c > /tmp/n"}), &NoFiles).unwrap();
        let plan = module.plan(&Probe::default()).unwrap();
        assert_eq!(scripts(&plan.steps), ["echo $HOME | wc -c > /tmp/n\n"]);
    }

    #[test]
    fn chdir_comes_first_and_a_failed_one_runs_nothing() {
        let module = build(
            json!({"cmd": "pwd\necho $((1 + 1))", "chdir": "/"}),
            &NoFiles,
        )
        .unwrap();
        let plan = module.plan(&Probe::default()).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            ["chdir=/\ncd -- \"$chdir\" || exit\npwd\necho $((1 + 1))\n"]
        );
        assert_eq!(run_step("", &plan.steps[0]).stdout, "/\n2\n");
        let missing = build(
            json!({"cmd": "echo one\necho two", "chdir": "/nonexistent dir"}),
            &NoFiles,
        )
        .unwrap();
        let out = run_step("", &missing.plan(&Probe::default()).unwrap().steps[0]);
        assert_ne!(out.rc, 0);
        assert_eq!(out.stdout, "");
    }
}
