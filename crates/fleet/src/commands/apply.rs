//! `fleet apply` and `fleet check`: run a playbook, or only see what it
//! would change.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use fleet_engine::{ApplyOptions, CancellationToken, Counts, play_hosts, run_playbook};
use fleet_inventory::Inventory;
use fleet_playbook::{LoadOptions, Playbook};
use fleet_ssh::Client;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::cli::{PlaybookArgs, Selection, SshArgs};
use crate::commands::run::{OnInterrupt, cancel_on_signal};
use crate::error::CliError;
use crate::exit::Exit;
use crate::report;
use crate::secrets;

/// `check_only` is `fleet check`: check mode with diffs, exit 5 on drift.
/// `lock_wait` (`--lock-wait`): see [`set_lock_wait`].
pub async fn apply(
    args: PlaybookArgs,
    ssh: &SshArgs,
    check_only: bool,
    lock_wait: Option<u32>,
) -> Result<Exit, CliError> {
    let run = PlaybookRun {
        selection: &args.selection,
        playbook: &args.playbook,
        extra_vars: &args.extra_vars,
        ask_become_pass: args.ask_become_pass,
        check: args.check || check_only,
        diff: args.diff || check_only,
        tags: args.tags.clone(),
        verbosity: args.verbose,
    };
    let (counts, interrupted) = run_file(run, ssh, |mut playbook| {
        set_lock_wait(&mut playbook, lock_wait);
        Ok(playbook)
    })
    .await?;
    let exit = Exit::from_counts(&counts, interrupted);
    Ok(
        if check_only && exit == Exit::Success && counts.changed > 0 {
            Exit::Drift
        } else {
            exit
        },
    )
}

/// `--lock-wait S`: every task (and handler) of a module that takes a
/// deploy lock waits up to S seconds for it, whatever the playbook writes
/// (`fleet_modules::with_lock_wait`). This is the only way the flag
/// reaches a module: it sets no variable.
pub fn set_lock_wait(playbook: &mut Playbook, lock_wait: Option<u32>) {
    let Some(seconds) = lock_wait else {
        return;
    };
    let tasks = playbook
        .plays
        .iter_mut()
        .flat_map(|play| play.tasks.iter_mut().chain(play.handlers.iter_mut()));
    for task in tasks {
        if let Some(params) = fleet_modules::with_lock_wait(&task.module, &task.params, seconds) {
            task.params = params;
        }
    }
}

/// What a command that runs a playbook file asks for.
pub struct PlaybookRun<'a> {
    pub selection: &'a Selection,
    pub playbook: &'a Path,
    pub extra_vars: &'a [String],
    pub ask_become_pass: bool,
    pub check: bool,
    /// Keep the diffs in the results.
    pub diff: bool,
    pub tags: Vec<String>,
    /// The count of `-v`.
    pub verbosity: u8,
}

/// Loads and validates the playbook, lets `transform` reshape it, runs it
/// on the selected hosts and reports every event. Returns the counts and
/// whether the run was interrupted. Every error is raised before a host is
/// contacted.
pub async fn run_file(
    run: PlaybookRun<'_>,
    ssh: &SshArgs,
    transform: impl FnOnce(Playbook) -> Result<Playbook, CliError>,
) -> Result<(Counts, bool), CliError> {
    let inventory = Inventory::load(&run.selection.inventory)?;
    let limit: BTreeSet<String> = inventory
        .select(&run.selection.limit)?
        .into_iter()
        .map(|host| host.name.clone())
        .collect();
    let mut extra_vars = parse_extra_vars(run.extra_vars)?;
    let mut known_vars: BTreeSet<String> = extra_vars.keys().cloned().collect();
    for host in inventory
        .hosts()
        .iter()
        .filter(|host| limit.contains(&host.name))
    {
        known_vars.extend(host.vars.keys().cloned());
    }
    let load_options = LoadOptions {
        known_vars,
        extra_vars: extra_vars.clone(),
        template_dirs: template_dirs(run.playbook),
    };
    let playbook = transform(fleet_playbook::load(run.playbook, &load_options)?)?;
    secrets::prompted_vars(&playbook, &mut extra_vars)?;
    let mut plays = Vec::with_capacity(playbook.plays.len());
    for play in &playbook.plays {
        plays.push((play, play_hosts(&inventory, play, &limit)?));
    }
    let options = ApplyOptions {
        check: run.check,
        diff: run.diff,
        tags: run.tags,
        extra_vars,
        become_password: secrets::become_password(run.ask_become_pass)?,
        groups: inventory
            .groups()
            .iter()
            .map(|group| (group.name.clone(), group.hosts.clone().into()))
            .collect(),
        verbosity: run.verbosity,
        interactive: std::io::stdin().is_terminal(),
    };
    let client = Client::new(secrets::ssh_options(ssh)?)?;

    let cancel = CancellationToken::new();
    cancel_on_signal(cancel.clone(), OnInterrupt::FinishInFlight);
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let mut reporter = report::for_format(run.selection.format, limit.len());
    let runner = async {
        let counts = run_playbook(&client, &plays, &playbook, &options, &sender, &cancel).await;
        drop(sender);
        counts
    };
    let reporting = async {
        while let Some(event) = receiver.recv().await {
            reporter.handle(&without_diff(event, options.diff))?;
        }
        Ok::<(), CliError>(())
    };
    let (counts, reported) = tokio::join!(runner, reporting);
    reported?;
    Ok((counts, cancel.is_cancelled()))
}

/// Diffs are shown only with `--diff` (always with `fleet check`).
fn without_diff(event: fleet_engine::Event, diff: bool) -> fleet_engine::Event {
    match event {
        fleet_engine::Event::TaskResult(mut result) if !diff => {
            result.diff = None;
            fleet_engine::Event::TaskResult(result)
        }
        other => other,
    }
}

/// Templates are looked up next to the playbook first (by the loader), then
/// in `templates/` beside the playbook's folder, then in `./templates`.
fn template_dirs(playbook: &Path) -> Vec<PathBuf> {
    let beside = playbook
        .parent()
        .unwrap_or(Path::new("."))
        .join("../templates");
    let mut dirs = vec![beside];
    let cwd = PathBuf::from("templates");
    if !dirs.contains(&cwd) {
        dirs.push(cwd);
    }
    dirs
}

/// `-e key=value` (a string), `-e '{"key": [1, 2]}'` (JSON) or
/// `-e @vars.json`; later ones win.
fn parse_extra_vars(specs: &[String]) -> Result<Map<String, Value>, CliError> {
    let mut vars = Map::new();
    for spec in specs {
        let parsed = if let Some(path) = spec.strip_prefix('@') {
            let text = std::fs::read_to_string(path)
                .map_err(|err| CliError::Usage(format!("-e @{path}: {err}")))?;
            json_object(&text, spec)?
        } else if spec.trim_start().starts_with('{') {
            json_object(spec, spec)?
        } else {
            let (key, value) = spec.split_once('=').ok_or_else(|| {
                CliError::Usage(format!(
                    "-e {spec}: expected key=value, a JSON object or @file"
                ))
            })?;
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(CliError::Usage(format!(
                    "-e {spec}: `{key}` is not a variable name"
                )));
            }
            Map::from_iter([(key.to_string(), Value::String(value.to_string()))])
        };
        vars.extend(parsed);
    }
    Ok(vars)
}

fn json_object(text: &str, spec: &str) -> Result<Map<String, Value>, CliError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CliError::Usage(format!(
            "-e {spec}: expected a JSON object"
        ))),
        Err(err) => Err(CliError::Usage(format!("-e {spec}: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_vars_take_pairs_and_json_later_wins() {
        let specs = [
            "app=shop".to_string(),
            r#"{"app": "mall", "n": [1]}"#.to_string(),
            "x=a=b".to_string(),
        ];
        let vars = parse_extra_vars(&specs).unwrap();
        assert_eq!(
            Value::Object(vars),
            json!({"app": "mall", "n": [1], "x": "a=b"})
        );
        assert!(parse_extra_vars(&["novalue".to_string()]).is_err());
        assert!(parse_extra_vars(&["bad key=1".to_string()]).is_err());
    }
}
