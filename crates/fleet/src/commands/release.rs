//! `fleet releases`, `fleet rollback` and `fleet unlock`: the deploy
//! playbook's deploy tasks say where each app lives, how it is restarted
//! and health-checked. The playbook is loaded and validated as `fleet apply`
//! does, then only the tasks of a module that deploys apps are kept, with
//! the params their module derives for a read, a rollback or an unlock
//! (`fleet_modules::derived_params`), and run on the selected hosts.

use fleet_modules::{DeployRole, Derived};
use fleet_playbook::{Playbook, Task};
use serde_json::Value;

use crate::cli::{ReleaseArgs, RollbackArgs, SshArgs, UnlockArgs};
use crate::commands::apply::{PlaybookRun, run_file, set_lock_wait};
use crate::error::CliError;
use crate::exit::Exit;

pub async fn releases(args: ReleaseArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    run(&args, ssh, Derived::Info, None).await
}

pub async fn rollback(args: RollbackArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    let rollback = Derived::Rollback {
        to: args.to.as_deref(),
        only_own_deploy: false,
    };
    // Bad input is refused before the inventory or playbook is read.
    if let Some(to) = &args.to {
        fleet_modules::check_derived_by_any(rollback).map_err(|_| not_a_release_name(to))?;
    }
    run(&args.release, ssh, rollback, args.lock_wait).await
}

pub async fn unlock(args: UnlockArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    let release = ReleaseArgs {
        selection: args.selection,
        playbook: args.playbook,
        extra_vars: args.extra_vars,
        ask_become_pass: args.ask_become_pass,
    };
    let force = args.force;
    run(&release, ssh, Derived::Unlock { force }, None).await
}

async fn run(
    args: &ReleaseArgs,
    ssh: &SshArgs,
    derived: Derived<'_>,
    lock_wait: Option<u32>,
) -> Result<Exit, CliError> {
    let run = PlaybookRun {
        selection: &args.selection,
        playbook: &args.playbook,
        extra_vars: &args.extra_vars,
        ask_become_pass: args.ask_become_pass || ssh.config.become_ask_pass == Some(true),
        check: false,
        // A rollback's diff is the switch: `current: <from> -> <to>`; an
        // unlock's, the lock it removes.
        diff: true,
        tags: Vec::new(),
        skip_tags: Vec::new(),
        forks: None,
        verbosity: 0,
    };
    let (counts, interrupted) = run_file(run, ssh, |playbook| {
        let mut playbook = release_tasks_only(playbook, derived)?;
        set_lock_wait(&mut playbook, lock_wait);
        Ok(playbook)
    })
    .await?;
    Ok(Exit::from_counts(&counts, interrupted))
}

/// `--to` is checked by the module's own rules before any host is contacted.
fn check_release_name(module: &str, derived: Derived<'_>) -> Result<(), CliError> {
    let Derived::Rollback { to: Some(to), .. } = derived else {
        return Ok(());
    };
    fleet_modules::check_derived(module, derived).map_err(|_| not_a_release_name(to))
}

fn not_a_release_name(to: &str) -> CliError {
    CliError::Usage(format!(
        "--to {to}: not a release name\n  hint: release names look like 20260301_120000 \
         (or 20260301_120000_2 for a second deploy in that second); `fleet releases` lists them"
    ))
}

/// Keeps, in every play, the deploy tasks (its other tasks of a module
/// that deploys apps only when the play has no deploy: a playbook may also
/// report or roll back what it deployed, which must not run twice), and of
/// those the first per app: per module, app (`fleet_modules::deployed_app`),
/// `when` and `loop`. Plays left without tasks are dropped, and so are all
/// handlers.
fn release_tasks_only(mut playbook: Playbook, derived: Derived<'_>) -> Result<Playbook, CliError> {
    for play in &mut playbook.plays {
        let managed: Vec<(&Task, DeployRole)> = play
            .tasks
            .iter()
            .filter_map(|task| {
                Some((
                    task,
                    fleet_modules::deploy_role(&task.module, &task.params)?,
                ))
            })
            .collect();
        let deploys: Vec<&Task> = managed
            .iter()
            .filter(|(_, role)| *role == DeployRole::Deploy)
            .map(|(task, _)| *task)
            .collect();
        let candidates = if deploys.is_empty() {
            managed.iter().map(|(task, _)| *task).collect()
        } else {
            deploys
        };
        let mut kept: Vec<&Task> = Vec::new();
        for task in candidates {
            let same_app = |other: &&Task| {
                other.module == task.module
                    && fleet_modules::deployed_app(&other.module, &other.params)
                        == fleet_modules::deployed_app(&task.module, &task.params)
                    && other.when == task.when
                    && other.r#loop == task.r#loop
            };
            if !kept.iter().any(same_app) {
                kept.push(task);
            }
        }
        let mut tasks = Vec::with_capacity(kept.len());
        for task in kept {
            check_release_name(&task.module, derived)?;
            tasks.extend(rewrite(task, derived));
        }
        play.tasks = tasks;
        play.handlers.clear();
        // A read or an unlock reaches every host at once; a rollback rolls
        // in the play's batches, as its deploy does.
        if !matches!(derived, Derived::Rollback { .. }) {
            play.serial = None;
            play.max_fail_percentage = None;
        }
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

/// The task with the params its module derives (`None` for a module that
/// derives none). What would change how the result is judged or what
/// follows it (`register`, `notify`, `changed_when`, `failed_when`,
/// `ignore_errors`, retries, tags) is dropped; `when`, `loop` and `become`
/// are kept.
fn rewrite(task: &Task, derived: Derived<'_>) -> Option<Task> {
    let params = fleet_modules::derived_params(&task.module, &task.params, derived)?;
    let (verb, target) = match derived {
        Derived::Info => ("releases", None),
        Derived::Rollback { to, .. } => ("rollback", to.map(|to| format!("to {to}"))),
        Derived::Unlock { .. } => ("unlock", None),
    };
    let app = fleet_modules::deployed_app(&task.module, &task.params)
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = [verb, app, target.as_deref().unwrap_or("")]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Some(Task {
        params,
        ..task.derived(name)
    })
}

#[cfg(test)]
#[path = "release_tests.rs"]
mod tests;
