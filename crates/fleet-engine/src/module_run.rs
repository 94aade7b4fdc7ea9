//! Runs one module on one host: probe, plan, and (unless in check mode) the
//! steps. This is where "facts → commands" meets the wire.

use std::time::Duration;

use fleet_modules::{Module, ModuleError, Probe, Step, StepOutput};
use fleet_ssh::{Become, ExecOptions, Session, SshError};
use serde_json::{Map, Value};

use crate::events::Status;

/// How one module run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleOutcome {
    pub status: Status,
    pub rc: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub diff: Option<String>,
    pub msg: Option<String>,
    /// Extra values for `register` (e.g. `stat`).
    pub data: Map<String, Value>,
}

impl ModuleOutcome {
    fn new(status: Status) -> ModuleOutcome {
        ModuleOutcome {
            status,
            rc: None,
            stdout: String::new(),
            stderr: String::new(),
            diff: None,
            msg: None,
            data: Map::new(),
        }
    }

    fn failed(msg: impl Into<String>) -> ModuleOutcome {
        ModuleOutcome {
            msg: Some(msg.into()),
            ..ModuleOutcome::new(Status::Failed)
        }
    }

    fn transport(err: &SshError) -> ModuleOutcome {
        let status = if err.is_unreachable() {
            Status::Unreachable
        } else {
            Status::Failed
        };
        ModuleOutcome {
            msg: Some(err.to_string()),
            ..ModuleOutcome::new(status)
        }
    }
}

/// Where and how to run.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    pub r#become: Option<Become>,
    pub check: bool,
    pub timeout: Option<Duration>,
    /// `environment:` exported before every script.
    pub environment: Vec<(String, String)>,
}

/// Probes, plans and applies `module` on the host behind `session`.
pub async fn run_module(session: &Session, module: &dyn Module, ctx: &RunContext) -> ModuleOutcome {
    let probe = match module.probe() {
        Some(script) => match exec(session, &script, None, ctx).await {
            Ok(out) => Probe {
                rc: out.rc,
                stdout: out.stdout,
                stderr: out.stderr,
            },
            Err(err) => return ModuleOutcome::transport(&err),
        },
        None => Probe::default(),
    };
    let plan = match module.plan(&probe) {
        Ok(plan) => plan,
        Err(err) => return ModuleOutcome::failed(err.to_string()),
    };
    let mut outcome = ModuleOutcome {
        diff: plan.diff,
        msg: plan.msg,
        data: plan.data,
        ..ModuleOutcome::new(if plan.changed {
            Status::Changed
        } else {
            Status::Ok
        })
    };
    if !plan.changed {
        return outcome;
    }
    if ctx.check {
        outcome.msg.get_or_insert_with(|| would_do(&plan.steps));
        return outcome;
    }
    let mut outputs = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let output = match step {
            Step::Run { script, stdin } => exec(session, script, stdin.clone(), ctx).await,
            Step::Upload {
                dest,
                contents,
                mode,
                owner,
            } => session
                .upload(
                    contents,
                    dest,
                    *mode,
                    owner.as_deref(),
                    ctx.r#become.as_ref(),
                )
                .await
                .map(|()| StepOutput::default()),
        };
        match output {
            Ok(out) => {
                let failed = out.rc != 0;
                outcome.rc = Some(out.rc);
                outcome.stdout.push_str(&out.stdout);
                outcome.stderr.push_str(&out.stderr);
                outputs.push(out);
                if failed {
                    break;
                }
            }
            Err(err) => {
                let transport = ModuleOutcome::transport(&err);
                outcome.status = transport.status;
                outcome.msg = transport.msg;
                return outcome;
            }
        }
    }
    if let Err(err) = module.outcome(&outputs) {
        outcome.status = Status::Failed;
        outcome.msg = Some(match err {
            ModuleError::StepFailed { rc, .. } => format!("a command failed (rc={rc})"),
            other => other.to_string(),
        });
    }
    outcome
}

fn would_do(steps: &[Step]) -> String {
    let runs = steps.iter().any(|step| matches!(step, Step::Run { .. }));
    if runs {
        "would run".into()
    } else {
        "would change".into()
    }
}

async fn exec(
    session: &Session,
    script: &str,
    stdin: Option<Vec<u8>>,
    ctx: &RunContext,
) -> Result<StepOutput, SshError> {
    let script = with_environment(script, &ctx.environment);
    let options = ExecOptions {
        r#become: ctx.r#become.clone(),
        stdin,
        timeout: ctx.timeout,
    };
    let out = session.exec_collect(&script, &options).await?;
    Ok(StepOutput {
        rc: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn with_environment(script: &str, environment: &[(String, String)]) -> String {
    if environment.is_empty() {
        return script.to_string();
    }
    let exports: Vec<String> = environment
        .iter()
        .map(|(key, value)| format!("export {key}={};", fleet_modules::shell::quote(value)))
        .collect();
    format!("{} {script}", exports.join(" "))
}
