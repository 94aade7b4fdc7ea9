//! Runs one module on one host: probe, plan, and (unless in check mode) the
//! steps. This is where "facts → commands" meets the wire.

use std::path::Path;
use std::time::Duration;

use fleet_modules::{Cmd, Module, ModuleError, Probe, Script, Stdin, Step, StepOutput};
use fleet_ssh::{Become, ExecOptions, SshError};
use serde_json::{Map, Value};

use crate::connection::Connection;
use crate::events::{CommandTrace, Event, Status};

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
    /// The module failed after changing the host: a command that ran and
    /// exited non-zero (see `Module::failed_run_changed`).
    pub failed_after_change: bool,
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
            failed_after_change: false,
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
    /// Where each command is reported before it runs (`-vvv`), if anywhere.
    pub trace: Option<CommandTrace>,
}

/// Probes, plans and applies `module` on the host behind `session` (SSH or
/// the controller's own shell).
pub async fn run_module(
    session: &Connection,
    module: &dyn Module,
    ctx: &RunContext,
) -> ModuleOutcome {
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
    run_probed(session, module, &probe, ctx).await
}

/// Probes several modules in one round trip (see [`exec_marked`]); each
/// probe gets the round trip's whole stderr.
pub async fn probe_many(
    session: &Connection,
    modules: &[&dyn Module],
    ctx: &RunContext,
) -> Result<Vec<Probe>, SshError> {
    let scripts: Vec<Script> = modules
        .iter()
        .map(|module| {
            module
                .probe()
                .unwrap_or_else(|| Script::of(Cmd::new("true")))
        })
        .collect();
    let scripts: Vec<&Script> = scripts.iter().collect();
    let (outputs, stderr) = exec_marked(session, &scripts, ctx).await?;
    Ok(outputs
        .into_iter()
        .map(|(rc, stdout)| Probe {
            rc,
            stdout,
            stderr: stderr.clone(),
        })
        .collect())
}

/// Runs several scripts in one round trip, each in its own subshell, one
/// after another whatever their exit codes. Returns each one's exit code
/// and stdout (found between marker lines, random for each round trip so
/// that no script can print one), and the merged stderr.
async fn exec_marked(
    session: &Connection,
    scripts: &[&Script],
    ctx: &RunContext,
) -> Result<(Vec<(i32, String)>, String), SshError> {
    let marker = format!("__fleet_{}__", fleet_shell::token());
    let out = exec(session, &marked(scripts, &marker), None, ctx).await?;
    Ok((
        split_marked(&out.stdout, &marker, scripts.len()),
        out.stderr,
    ))
}

/// `scripts` between marker lines: `<marker><index>` before each one's
/// output and `<marker>rc=<exit code>` after it.
fn marked(scripts: &[&Script], marker: &str) -> Script {
    let echo = |text: String| Cmd::without_end_of_options("echo").arg(text);
    let mut joined = Script::new().set("fleet_marker", marker);
    for (index, script) in scripts.iter().enumerate() {
        joined = joined
            .cmd(echo(format!("{marker}{index}")))
            .then((*script).clone().subshell())
            .snippet("echo; echo \"${fleet_marker}rc=$?\"");
    }
    joined
}

fn split_marked(stdout: &str, marker: &str, count: usize) -> Vec<(i32, String)> {
    let mut outputs = vec![(-1, String::new()); count];
    let mut current: Option<usize> = None;
    for line in stdout.split_inclusive('\n') {
        let text = line.trim_end_matches('\n');
        if let Some(rest) = text.strip_prefix(marker) {
            if let Some(rc) = rest.strip_prefix("rc=") {
                if let Some((code, out)) = current.and_then(|index| outputs.get_mut(index)) {
                    *code = rc.parse().unwrap_or(-1);
                    // Drop the newline of the `echo` that ends an unterminated last line.
                    out.pop();
                }
                current = None;
            } else {
                current = rest.parse().ok();
            }
        } else if let Some((_, out)) = current.and_then(|index| outputs.get_mut(index)) {
            out.push_str(line);
        }
    }
    outputs
}

/// What a plan leaves to do.
enum Decision {
    /// Nothing to run: unchanged, check mode, or the plan failed.
    Done(ModuleOutcome),
    /// Run these steps, then finish the outcome.
    Apply(ModuleOutcome, Steps),
}

/// The steps of a plan, consecutive scripts merged.
struct Steps {
    steps: Vec<Step>,
    /// Run after `steps`, also when one of them failed.
    finally: Vec<Step>,
}

fn decide(module: &dyn Module, probe: &Probe, ctx: &RunContext) -> Decision {
    let plan = match module.plan(probe) {
        Ok(plan) => plan,
        Err(err) => return Decision::Done(ModuleOutcome::failed(err.to_string())),
    };
    let status = if plan.skipped {
        Status::Skipped
    } else if plan.changed {
        Status::Changed
    } else {
        Status::Ok
    };
    let mut outcome = ModuleOutcome {
        diff: plan.diff,
        msg: plan.msg,
        data: plan.data,
        ..ModuleOutcome::new(status)
    };
    if ctx.check {
        match module.check_mode_steps() {
            Some(Ok(steps)) => {
                let steps = Steps {
                    steps: merge_runs(steps),
                    finally: Vec::new(),
                };
                return Decision::Apply(outcome, steps);
            }
            Some(Err(err)) => return Decision::Done(ModuleOutcome::failed(err.to_string())),
            None => {}
        }
    }
    // Steps of an unchanged plan are upkeep that reports no change (a
    // `daemon_reload`).
    if plan.steps.is_empty() || (ctx.check && !plan.changed) {
        return Decision::Done(outcome);
    }
    if ctx.check && module.skipped_in_check_mode() {
        outcome.status = Status::Skipped;
        outcome.msg = Some(CHECK_MODE_SKIP.into());
        return Decision::Done(outcome);
    }
    if ctx.check {
        outcome.msg.get_or_insert_with(|| would_do(&plan.steps));
        return Decision::Done(outcome);
    }
    let steps = Steps {
        steps: merge_runs(plan.steps),
        finally: merge_runs(plan.finally),
    };
    Decision::Apply(outcome, steps)
}

/// Plans from an existing probe and applies the plan.
pub async fn run_probed(
    session: &Connection,
    module: &dyn Module,
    probe: &Probe,
    ctx: &RunContext,
) -> ModuleOutcome {
    match decide(module, probe, ctx) {
        Decision::Done(outcome) => outcome,
        Decision::Apply(outcome, steps) => apply(session, module, outcome, &steps, ctx).await,
    }
}

/// Loop items whose targets are unrelated: each planned from its batched
/// probe, and, when every change is one script, all applied in a single
/// round trip. Items run in order, and a failed item does not stop the
/// others, as with Ansible loops.
pub async fn run_probed_many(
    session: &Connection,
    modules: &[&dyn Module],
    probes: &[Probe],
    ctx: &RunContext,
) -> Vec<ModuleOutcome> {
    let decisions: Vec<Decision> = modules
        .iter()
        .zip(probes)
        .map(|(module, probe)| decide(*module, probe, ctx))
        .collect();
    let scripts: Option<Vec<Option<&Script>>> = decisions
        .iter()
        .map(|decision| match decision {
            Decision::Done(_) => Some(None),
            Decision::Apply(_, steps) if !steps.finally.is_empty() => None,
            Decision::Apply(_, steps) => match steps.steps.as_slice() {
                [
                    Step::Run {
                        script,
                        stdin: None,
                    },
                ] => Some(Some(script)),
                _ => None,
            },
        })
        .collect();
    let Some(scripts) = scripts else {
        let mut outcomes = Vec::with_capacity(decisions.len());
        for (module, decision) in modules.iter().zip(decisions) {
            outcomes.push(match decision {
                Decision::Done(outcome) => outcome,
                Decision::Apply(outcome, steps) => {
                    apply(session, *module, outcome, &steps, ctx).await
                }
            });
        }
        return outcomes;
    };
    let to_run: Vec<&Script> = scripts.into_iter().flatten().collect();
    let ran = match to_run.as_slice() {
        [] => Ok((Vec::new(), String::new())),
        _ => exec_marked(session, &to_run, ctx).await,
    };
    let (outputs, stderr) = match ran {
        Ok(ran) => ran,
        Err(err) => {
            return decisions
                .into_iter()
                .map(|decision| match decision {
                    Decision::Done(outcome) => outcome,
                    Decision::Apply(..) => ModuleOutcome::transport(&err),
                })
                .collect();
        }
    };
    let mut outputs = outputs.into_iter();
    decisions
        .into_iter()
        .zip(modules)
        .map(|(decision, module)| match decision {
            Decision::Done(outcome) => outcome,
            Decision::Apply(outcome, _) => {
                let (rc, stdout) = outputs.next().unwrap_or((-1, String::new()));
                let stderr = if rc == 0 {
                    String::new()
                } else {
                    stderr.clone()
                };
                finish(*module, outcome, vec![StepOutput { rc, stdout, stderr }])
            }
        })
        .collect()
}

async fn apply(
    session: &Connection,
    module: &dyn Module,
    mut outcome: ModuleOutcome,
    steps: &Steps,
    ctx: &RunContext,
) -> ModuleOutcome {
    let (mut outputs, transport) = run_steps(session, &steps.steps, ctx).await;
    // Whatever happened, the `finally` steps run; a lost connection is the
    // one exception, since nothing more can run on that host.
    let lost = transport.as_ref().is_some_and(SshError::is_unreachable);
    if !lost && !steps.finally.is_empty() {
        let (finally, _) = run_steps(session, &steps.finally, ctx).await;
        outputs.extend(finally);
    }
    if let Some(err) = transport {
        let transport = ModuleOutcome::transport(&err);
        outcome.status = transport.status;
        outcome.msg = transport.msg;
        return outcome;
    }
    finish(module, outcome, outputs)
}

/// Runs `steps` in order until one fails. Returns what each printed, and
/// the transport error that stopped them, if one did.
async fn run_steps(
    session: &Connection,
    steps: &[Step],
    ctx: &RunContext,
) -> (Vec<StepOutput>, Option<SshError>) {
    let mut outputs = Vec::with_capacity(steps.len());
    for step in steps {
        let output = match step {
            Step::Run { script, stdin } => exec(session, script, stdin.as_ref(), ctx).await,
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
            Step::Fetch { src, dest } => fetch(session, src, dest, ctx).await,
            Step::Rsync { args, dest } => crate::rsync::rsync(session, args, dest, ctx).await,
        };
        match output {
            Ok(out) => {
                let failed = out.rc != 0;
                outputs.push(out);
                if failed {
                    break;
                }
            }
            Err(err) => return (outputs, Some(err)),
        }
    }
    (outputs, None)
}

/// Folds the steps' outputs into the outcome and lets the module judge them.
fn finish(
    module: &dyn Module,
    mut outcome: ModuleOutcome,
    outputs: Vec<StepOutput>,
) -> ModuleOutcome {
    for out in &outputs {
        outcome.rc = Some(out.rc);
        outcome.stdout.push_str(&out.stdout);
        outcome.stderr.push_str(&out.stderr);
    }
    // Steps stop at the first failure, but `finally` steps run after it:
    // the failure's exit code is the task's.
    if let Some(failed) = outputs.iter().find(|out| out.rc != 0) {
        outcome.rc = Some(failed.rc);
    }
    if let Err(err) = module.outcome(&outputs) {
        outcome.failed_after_change = module.failed_run_changed();
        outcome.status = Status::Failed;
        outcome.msg = Some(match err {
            ModuleError::StepFailed { rc, .. } => format!("a command failed (rc={rc})"),
            other => other.to_string(),
        });
    } else if let Some(applied) = module.applied(&outputs) {
        outcome.status = if applied.changed {
            Status::Changed
        } else {
            Status::Ok
        };
        outcome.data.extend(applied.data);
        if applied.msg.is_some() {
            outcome.msg = applied.msg;
        }
    }
    outcome
}

/// Joins consecutive scripts without stdin into one, so that they cost one
/// round trip: `( a ) && ( b )` stops at the first failure, with its exit
/// code, and each step keeps its own subshell (an `exit` ends only it).
fn merge_runs(steps: Vec<Step>) -> Vec<Step> {
    let mut merged: Vec<Step> = Vec::with_capacity(steps.len());
    let mut scripts: Vec<Script> = Vec::new();
    let flush = |scripts: &mut Vec<Script>, merged: &mut Vec<Step>| match scripts.len() {
        0 => {}
        1 => merged.push(Step::run(scripts.remove(0))),
        _ => merged.push(Step::run(Script::all_of(scripts.drain(..)))),
    };
    for step in steps {
        match step {
            Step::Run {
                script,
                stdin: None,
            } => scripts.push(script),
            other => {
                flush(&mut scripts, &mut merged);
                merged.push(other);
            }
        }
    }
    flush(&mut scripts, &mut merged);
    merged
}

/// Ansible's words for a command that check mode does not run.
const CHECK_MODE_SKIP: &str = "Command would have run if not in check mode";

fn would_do(steps: &[Step]) -> String {
    let runs = steps.iter().any(|step| matches!(step, Step::Run { .. }));
    if runs {
        "would run".into()
    } else {
        "would change".into()
    }
}

async fn exec(
    session: &Connection,
    script: &Script,
    stdin: Option<&Stdin>,
    ctx: &RunContext,
) -> Result<StepOutput, SshError> {
    let script = with_environment(script, &ctx.environment)?;
    if let Some(trace) = &ctx.trace {
        let _ = trace.events.send(Event::Command {
            host: trace.host.clone(),
            command: script.as_str().to_owned(),
        });
    }
    let options = ExecOptions {
        r#become: ctx.r#become.clone(),
        stdin: stdin.map(|stdin| stdin.bytes().to_vec()),
        timeout: ctx.timeout,
        stdin_stream: None,
    };
    let out = session.exec_collect(script.as_str(), &options).await?;
    Ok(StepOutput {
        rc: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Reads the host's `src` and writes it to the controller's `dest`
/// atomically. A local write error fails the step like a command would.
async fn fetch(
    session: &Connection,
    src: &str,
    dest: &str,
    ctx: &RunContext,
) -> Result<StepOutput, SshError> {
    let options = ExecOptions {
        r#become: ctx.r#become.clone(),
        stdin: None,
        timeout: ctx.timeout,
        stdin_stream: None,
    };
    let cat = Script::of(Cmd::new("cat").operand(src));
    let out = session.exec_collect(cat.as_str(), &options).await?;
    if out.status != 0 {
        return Ok(StepOutput {
            rc: out.status,
            stdout: String::new(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(match write_atomically(Path::new(dest), &out.stdout) {
        Ok(()) => StepOutput::default(),
        Err(err) => StepOutput {
            rc: 1,
            stdout: String::new(),
            stderr: format!("cannot write {dest} on the controller: {err}"),
        },
    })
}

fn write_atomically(dest: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let temp = dest.with_file_name(format!(".{name}.fleet-{}", std::process::id()));
    std::fs::write(&temp, contents)?;
    std::fs::rename(&temp, dest).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// `environment:` exported, then `script`.
fn with_environment(script: &Script, environment: &[(String, String)]) -> Result<Script, SshError> {
    let mut exports = Script::new();
    for (key, value) in environment {
        exports = exports.export(key, value).map_err(SshError::Invalid)?;
    }
    Ok(exports.then(script.clone()))
}

#[cfg(test)]
#[path = "module_run_tests.rs"]
mod tests;
