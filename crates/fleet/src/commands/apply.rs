//! `fleet apply` and `fleet check`: run a playbook, or only see what it
//! would change.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};

use fleet_engine::{ApplyOptions, CancellationToken, Counts, TagFilter, play_hosts, run_playbook};
use fleet_inventory::{Host, Inventory};
use fleet_playbook::{LoadOptions, Play, Playbook};
use fleet_ssh::Client;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::ansible_cfg::AnsibleCfg;
use crate::cli::{Format, PlaybookArgs, Selection, SshArgs};
use crate::commands::extra_vars::parse_extra_vars;
use crate::commands::run::{OnInterrupt, cancel_on_signal};
use crate::commands::{become_flags, inventory_sources, listing, load_inventory, start_at};
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
        ask_become_pass: args.ask_become_pass || ssh.config.become_ask_pass == Some(true),
        check: args.check || check_only,
        diff: args.diff || check_only,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        forks: args.forks.or(ssh.config.forks),
        verbosity: args.verbose,
    };
    if args.verbose >= 1
        && let Some(line) = ssh.config.ignored_line()
    {
        // On stderr in every format: the NDJSON stream on stdout stays events.
        eprintln!("{line}");
    }
    let mut loaded = load(&run, ssh, |mut playbook| {
        set_lock_wait(&mut playbook, lock_wait);
        let config = &ssh.config;
        if config.r#become == Some(true) {
            become_flags::set_default_become(&mut playbook);
        }
        become_flags::set_become(
            &mut playbook,
            args.r#become,
            args.become_user.as_ref().or(config.become_user.as_ref()),
        );
        become_flags::set_become_method(&mut playbook, config.become_method);
        Ok(playbook)
    })?;
    let filter = TagFilter {
        tags: &args.tags,
        skip_tags: &args.skip_tags,
    };
    let start = match &args.start_at_task {
        Some(name) => Some(start_at::find(&loaded.playbook, name, filter)?),
        None => None,
    };
    if args.inspect.any() {
        return listing::print(&loaded, args.inspect, filter, args.selection.format);
    }
    if let Some(start) = start {
        start_at::cut(&mut loaded.playbook, start);
    }
    let (counts, interrupted) = execute(&loaded, run, ssh).await?;
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
    pub skip_tags: Vec<String>,
    /// `-f`: how many hosts may be connecting at once (see
    /// [`secrets::connect_slots`]).
    pub forks: Option<usize>,
    /// `-v` counted: see `docs/cli.md`.
    pub verbosity: u8,
}

/// A validated playbook with its inventory: everything known before a
/// host is contacted.
pub struct Loaded {
    pub inventory: Inventory,
    /// The hosts `-l` selects.
    pub limit: BTreeSet<String>,
    pub extra_vars: Map<String, Value>,
    pub playbook: Playbook,
    /// Where the inventory was read (`-i`, or ansible.cfg).
    pub inventory_sources: Vec<PathBuf>,
}

impl Loaded {
    /// Each play with the hosts it runs on; a pattern that selects none is
    /// bad input.
    pub fn plays(&self) -> Result<Vec<(&Play, Vec<&Host>)>, CliError> {
        let mut plays = Vec::with_capacity(self.playbook.plays.len());
        for play in &self.playbook.plays {
            plays.push((play, play_hosts(&self.inventory, play, &self.limit)?));
        }
        Ok(plays)
    }
}

/// Loads the inventory and the playbook, validates both and lets
/// `transform` reshape the playbook. Contacts no host.
pub fn load(
    run: &PlaybookRun<'_>,
    ssh: &SshArgs,
    transform: impl FnOnce(Playbook) -> Result<Playbook, CliError>,
) -> Result<Loaded, CliError> {
    let inventory_sources = inventory_sources(run.selection, ssh)?;
    let inventory = load_inventory(run.selection, ssh, Some(run.playbook))?;
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
        inventory_hosts: Some(
            inventory
                .hosts()
                .iter()
                .map(|host| host.name.clone())
                .collect(),
        ),
        roles_path: roles_path(&ssh.config),
    };
    let playbook = fleet_playbook::load(run.playbook, &load_options)?;
    // On stderr in every format: the NDJSON stream on stdout stays events.
    for warning in &playbook.warnings {
        eprintln!("warning: {warning}");
    }
    let mut playbook = transform(playbook)?;
    secrets::prompted_vars(&playbook, &mut extra_vars)?;
    // A templated `serial` is rendered now, with the prompted vars: what
    // it renders to is bad input, before any host is contacted.
    for play in &mut playbook.plays {
        play.render_serial(&extra_vars)?;
    }
    let loaded = Loaded {
        inventory,
        limit,
        extra_vars,
        playbook,
        inventory_sources,
    };
    loaded.plays()?;
    Ok(loaded)
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
    let loaded = load(&run, ssh, transform)?;
    execute(&loaded, run, ssh).await
}

/// Runs a loaded playbook on its hosts and reports every event.
pub async fn execute(
    loaded: &Loaded,
    run: PlaybookRun<'_>,
    ssh: &SshArgs,
) -> Result<(Counts, bool), CliError> {
    let plays = loaded.plays()?;
    let mut groups: Map<String, Value> = loaded
        .inventory
        .groups()
        .iter()
        .map(|group| (group.name.clone(), group.hosts.clone().into()))
        .collect();
    fleet_playbook::with_ungrouped(&mut groups);
    let options = ApplyOptions {
        check: run.check,
        diff: run.diff,
        tags: run.tags,
        skip_tags: run.skip_tags,
        extra_vars: loaded.extra_vars.clone(),
        become_password: secrets::become_password(run.ask_become_pass)?,
        groups,
        verbosity: run.verbosity,
        interactive: std::io::stdin().is_terminal(),
        show_commands: run.verbosity >= 3,
        inventory: loaded.inventory.hosts().to_vec(),
        inventory_file: loaded
            .inventory_sources
            .first()
            .map(|path| path.display().to_string()),
    };
    let mut ssh_options = secrets::ssh_options(ssh)?;
    if let Some(forks) = run.forks {
        ssh_options.max_concurrent_connects = secrets::connect_slots(forks, loaded.limit.len());
    }
    let client = Client::new(ssh_options)?;

    let cancel = CancellationToken::new();
    cancel_on_signal(cancel.clone(), OnInterrupt::FinishInFlight);
    let (sender, mut receiver) = mpsc::unbounded_channel();
    if run.verbosity >= 2 && run.selection.format == Format::Human {
        let mut out = std::io::stdout().lock();
        let identity = ssh
            .identity
            .as_deref()
            .or(ssh.config.private_key_file.as_deref());
        for line in report::connections::lines(&plays, identity) {
            writeln!(out, "{line}")?;
        }
    }
    let mut reporter = report::for_format(run.selection.format, loaded.limit.len(), run.verbosity);
    let playbook = &loaded.playbook;
    let runner = async {
        let counts = run_playbook(&client, &plays, playbook, &options, &sender, &cancel).await;
        drop(sender);
        counts
    };
    let reporting = async {
        while let Some(event) = receiver.recv().await {
            reporter.handle(&event)?;
        }
        Ok::<(), CliError>(())
    };
    let (counts, reported) = tokio::join!(runner, reporting);
    reported?;
    Ok((counts, cancel.is_cancelled()))
}

/// Roles after the play's `roles/`: `ANSIBLE_ROLES_PATH`, else `roles_path`
/// of ansible.cfg; `None` lets the loader read the variable.
fn roles_path(config: &AnsibleCfg) -> Option<Vec<PathBuf>> {
    config.roles_path.clone()
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
