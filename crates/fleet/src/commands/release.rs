//! `fleet releases`, `fleet rollback` and `fleet unlock`: the deploy
//! playbook's `release` tasks say where each app lives, how it is restarted
//! and health-checked. The playbook is loaded and validated as `fleet apply`
//! does, then only its `release` tasks are kept, switched to `state: info`,
//! `state: rollback` or `state: unlock`, and run on the selected hosts.

use fleet_playbook::{Playbook, Task};
use serde_json::{Map, Value, json};

use crate::cli::{ReleaseArgs, RollbackArgs, SshArgs, UnlockArgs};
use crate::commands::apply::{PlaybookRun, run_file, with_lock_wait};
use crate::error::CliError;
use crate::exit::Exit;

const RELEASE: &str = "release";

/// What the kept `release` tasks do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action<'a> {
    Info,
    Rollback { to: Option<&'a str> },
    Unlock { force: bool },
}

pub async fn releases(args: ReleaseArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    run(&args, ssh, Action::Info, None).await
}

pub async fn rollback(mut args: RollbackArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    if let Some(to) = &args.to {
        check_release_name(to)?;
    }
    args.release.extra_vars = with_lock_wait(&args.release.extra_vars, args.lock_wait);
    let to = args.to.as_deref();
    run(&args.release, ssh, Action::Rollback { to }, args.lock_wait).await
}

pub async fn unlock(args: UnlockArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    let release = ReleaseArgs {
        selection: args.selection,
        playbook: args.playbook,
        extra_vars: args.extra_vars,
        ask_become_pass: args.ask_become_pass,
    };
    let force = args.force;
    run(&release, ssh, Action::Unlock { force }, None).await
}

async fn run(
    args: &ReleaseArgs,
    ssh: &SshArgs,
    action: Action<'_>,
    lock_wait: Option<u32>,
) -> Result<Exit, CliError> {
    let run = PlaybookRun {
        selection: &args.selection,
        playbook: &args.playbook,
        extra_vars: &args.extra_vars,
        ask_become_pass: args.ask_become_pass,
        check: false,
        // A rollback's diff is the switch: `current: <from> -> <to>`; an
        // unlock's, the lock it removes.
        diff: true,
        tags: Vec::new(),
    };
    let (counts, interrupted) = run_file(run, ssh, |playbook| {
        let mut playbook = release_tasks_only(playbook, action)?;
        set_lock_wait(&mut playbook, lock_wait);
        Ok(playbook)
    })
    .await?;
    Ok(Exit::from_counts(&counts, interrupted))
}

/// `--lock-wait S`: every `release` task waits up to S seconds for the
/// deploy lock, whatever its `lock_wait` says.
pub fn set_lock_wait(playbook: &mut Playbook, lock_wait: Option<u32>) {
    let Some(seconds) = lock_wait else {
        return;
    };
    let tasks = playbook
        .plays
        .iter_mut()
        .flat_map(|play| play.tasks.iter_mut().chain(play.handlers.iter_mut()));
    for task in tasks.filter(|task| task.module == RELEASE) {
        if let Value::Object(params) = &mut task.params {
            params.insert("lock_wait".into(), json!(seconds));
        }
    }
}

/// `--to` is checked by the module's own rules before any host is contacted.
fn check_release_name(to: &str) -> Result<(), CliError> {
    let params = json!({"path": "/srv/app", "state": "rollback", "to": to});
    fleet_modules::validate(RELEASE, &params).map_err(|_| {
        CliError::Usage(format!(
            "--to {to}: not a release name\n  hint: release names look like 20260301_120000 \
             (or 20260301_120000_2 for a second deploy in that second); `fleet releases` lists them"
        ))
    })
}

/// Keeps, in every play, the deploy tasks of the `release` module (its
/// other tasks only when the play has no deploy: a playbook may also report
/// or roll back what it deployed, which must not run twice), and of those
/// the first per app: per `path`, `when` and `loop`. Plays left without
/// tasks are dropped, and so are all handlers.
fn release_tasks_only(mut playbook: Playbook, action: Action<'_>) -> Result<Playbook, CliError> {
    for play in &mut playbook.plays {
        let releases: Vec<&Task> = play
            .tasks
            .iter()
            .filter(|task| task.module == RELEASE)
            .collect();
        let deploys: Vec<&Task> = releases
            .iter()
            .copied()
            .filter(|task| is_deploy(task))
            .collect();
        let candidates = if deploys.is_empty() {
            releases
        } else {
            deploys
        };
        let mut kept: Vec<&Task> = Vec::new();
        for task in candidates {
            let same_app = |other: &&Task| {
                other.params.get("path") == task.params.get("path")
                    && other.when == task.when
                    && other.r#loop == task.r#loop
            };
            if !kept.iter().any(same_app) {
                kept.push(task);
            }
        }
        play.tasks = kept.into_iter().map(|task| rewrite(task, action)).collect();
        play.handlers.clear();
    }
    playbook.plays.retain(|play| !play.tasks.is_empty());
    if playbook.plays.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: no play has a `release` task\n  hint: give the playbook that deploys the app \
             with the `release` module, e.g. playbooks/release.yaml",
            playbook.path.display()
        )));
    }
    Ok(playbook)
}

/// A `release` task whose `state` is not `rollback` or `info` as written.
fn is_deploy(task: &Task) -> bool {
    !matches!(
        task.params.get("state").and_then(Value::as_str),
        Some("rollback" | "info" | "unlock")
    )
}

/// The task with its `state` (and `to`, `force`) replaced. What only a
/// deploy reads (`artifact`) is dropped, and so is what would change how the
/// result is judged or what follows it (`register`, `notify`,
/// `changed_when`, `failed_when`, `ignore_errors`, retries, tags); `when`,
/// `loop`, `become` and the rest of the params are kept.
fn rewrite(task: &Task, action: Action<'_>) -> Task {
    let mut params = match &task.params {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    params.remove("artifact");
    params.remove("to");
    params.remove("force");
    params.remove("only_own_deploy");
    let (verb, target) = match action {
        Action::Info => {
            params.insert("state".into(), json!("info"));
            ("releases", None)
        }
        Action::Rollback { to } => {
            params.insert("state".into(), json!("rollback"));
            if let Some(to) = to {
                params.insert("to".into(), json!(to));
            }
            ("rollback", to.map(|to| format!("to {to}")))
        }
        Action::Unlock { force } => {
            params.insert("state".into(), json!("unlock"));
            if force {
                params.insert("force".into(), json!(true));
            }
            ("unlock", None)
        }
    };
    let path = params.get("path").and_then(Value::as_str).unwrap_or("");
    let name = [verb, path, target.as_deref().unwrap_or("")]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Task {
        params: Value::Object(params),
        ..task.derived(name)
    }
}

#[cfg(test)]
#[path = "release_tests.rs"]
mod tests;
