//! `script`: uploads a controller-side script to a temporary directory on
//! the host, runs it there and removes it, like Ansible's `script` action.
//!
//! As in Ansible, the free-form line is shell text: its first word names
//! the script (found like `copy: src`), and the host runs the line with
//! that word replaced by the uploaded copy's path, so the arguments keep
//! their quoting. The line, like `shell`'s, is the operator's own text
//! ([`Raw`]); the path that replaces the first word is fleet's, made of a
//! random token and the script's own file name.

use serde::Deserialize;
use serde_json::Value;

use crate::{
    Controller, Module, ModuleError, Plan, Probe, Raw, Script, Step, StepOutput, parse_params,
};
use fleet_shell::split_words;

pub const PARAMS: &[&str] = &["cmd", "creates", "removes", "chdir", "executable"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptParams {
    /// The free form: the script's path on the controller, then its
    /// arguments.
    pub cmd: String,
    /// Skip when this path exists on the host.
    pub creates: Option<String>,
    /// Skip when this path does not exist on the host.
    pub removes: Option<String>,
    /// Run the script in this (absolute) directory.
    pub chdir: Option<String>,
    /// A program to run the script with, e.g. `/usr/bin/python3`.
    pub executable: Option<String>,
}

#[derive(Debug)]
pub struct ScriptModule {
    params: ScriptParams,
    /// The line without surrounding whitespace.
    line: String,
    /// The first word of the line, unquoted: what is replaced.
    source: String,
    /// The script's file name, kept on the host.
    file_name: String,
    contents: Vec<u8>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "script".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: ScriptParams = parse_params("script", params)?;
    let line = params.cmd.trim().to_string();
    let words = split_words(&line).map_err(invalid)?;
    let Some(source) = words.first().cloned() else {
        return Err(invalid(
            "the script's path is required (free form or `cmd`)",
        ));
    };
    let file_name = source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid(format!("{source:?} does not name a file")))?
        .to_string();
    let contents = controller.read_file(&source)?;
    Ok(Box::new(ScriptModule {
        params,
        line,
        source,
        file_name,
        contents,
    }))
}

impl ScriptModule {
    /// The command line the host runs: the line with every occurrence of
    /// the script's word replaced by the uploaded copy (Ansible replaces
    /// them all), after the executable when there is one.
    fn command_line(&self, uploaded: &str) -> String {
        let line = self.line.replace(&self.source, uploaded);
        match self
            .params
            .executable
            .as_deref()
            .filter(|exe| !exe.is_empty())
        {
            Some(executable) => format!("{executable} {line}"),
            None => line,
        }
    }

    /// One script: make a private directory, write stdin (the script)
    /// into it, run the line (after `cd chdir`) in a subshell, remove the
    /// directory whatever happened, and exit with the line's code.
    fn run_script(&self, dir: &str) -> Script {
        let uploaded = format!("{dir}/{}", self.file_name);
        let mut line = Script::new();
        if let Some(chdir) = &self.params.chdir {
            line = line
                .set("fleet_chdir", chdir.as_str())
                .snippet("cd -- \"$fleet_chdir\" || exit\n");
        }
        let line = line
            .raw(Raw::operator_text(self.command_line(&uploaded)))
            .subshell();
        Script::new()
            .set("fleet_script_dir", dir)
            .set("fleet_script", uploaded.as_str())
            .snippet(
                "mkdir -m 0700 -- \"$fleet_script_dir\" || exit\n\
                 if ! { cat > \"$fleet_script\" && chmod 0700 -- \"$fleet_script\"; }; then\n\
                 rm -rf -- \"$fleet_script_dir\"; exit 1\n\
                 fi\n",
            )
            .then(line)
            .snippet(
                "fleet_rc=$?\n\
                 rm -rf -- \"$fleet_script_dir\"\n\
                 exit \"$fleet_rc\"\n",
            )
    }
}

impl Module for ScriptModule {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new();
        if let Some(path) = &self.params.creates {
            script = script
                .set("creates", path.as_str())
                .snippet("test -e \"$creates\" && echo creates=1 || echo creates=0\n");
        }
        if let Some(path) = &self.params.removes {
            script = script
                .set("removes", path.as_str())
                .snippet("test -e \"$removes\" && echo removes=1 || echo removes=0\n");
        }
        (!script.is_empty()).then_some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = crate::text::fields(&probe.stdout);
        let skip = |msg: String| {
            Ok(Plan {
                skipped: true,
                msg: Some(msg),
                ..Plan::unchanged()
            })
        };
        if let (Some(path), Some(&"1")) = (&self.params.creates, facts.get("creates")) {
            return skip(format!("{path} exists, matching creates option"));
        }
        if let (Some(path), Some(&"0")) = (&self.params.removes, facts.get("removes")) {
            return skip(format!("{path} does not exist, matching removes option"));
        }
        if let Some(chdir) = &self.params.chdir
            && !chdir.starts_with('/')
        {
            return Err(ModuleError::Failed(format!(
                "chdir {chdir} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let dir = format!("/tmp/fleet-script-{}", fleet_shell::token());
        Ok(Plan::change(vec![Step::run_with_stdin(
            self.run_script(&dir),
            self.contents.clone(),
        )]))
    }

    fn failed_run_changed(&self) -> bool {
        true
    }

    /// Check mode runs nothing; with `creates` or `removes` (which did not
    /// skip it) it reports `changed`, as Ansible does.
    fn skipped_in_check_mode(&self) -> bool {
        self.params.creates.is_none() && self.params.removes.is_none()
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        match outputs.iter().find(|out| out.rc != 0) {
            Some(_) => Err(ModuleError::Failed("non-zero return code".into())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
