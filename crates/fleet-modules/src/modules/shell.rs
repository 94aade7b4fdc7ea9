//! `shell`: runs a script through `sh`, so pipes, redirects and `$VAR` work.

use serde_json::Value;

use super::command::{Command, CommandParams};
use crate::{Controller, Module, ModuleError, parse_params};

pub const PARAMS: &[&str] = super::command::PARAMS;

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: CommandParams = parse_params("shell", params)?;
    if params.cmd.trim().is_empty() {
        return Err(ModuleError::Params {
            module: "shell".into(),
            message: "cmd is empty".into(),
        });
    }
    let script = params.cmd.clone();
    Ok(Box::new(Command::new(params, script)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use crate::{Probe, Step};
    use serde_json::json;

    #[test]
    fn runs_the_text_as_written() {
        let module = build(json!({"cmd": "echo $HOME | wc -c > /tmp/n"}), &NoFiles).unwrap();
        let plan = module.plan(&Probe::default()).unwrap();
        assert_eq!(plan.steps, vec![Step::run("echo $HOME | wc -c > /tmp/n")]);
    }
}
