//! The command line, as documented in `docs/cli.md`. The contract is stable:
//! scripts and CI depend on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use fleet_inventory::UserName;

use crate::ansible_cfg::AnsibleCfg;

#[derive(Debug, Parser)]
#[command(
    name = "fleet",
    version,
    about = "Agentless push orchestrator over SSH"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub ssh: SshArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one shell command on every selected host at once.
    Run(RunArgs),
    /// Run a playbook: every play, every task, on every selected host at once.
    Apply(ApplyArgs),
    /// Drift check: the playbook in check mode with diffs; exit 5 if anything would change.
    Check(PlaybookArgs),
    /// Print the selected hosts with their resolved vars.
    Inventory(InventoryArgs),
    /// List each selected host's current and previous releases (read-only).
    Releases(ReleaseArgs),
    /// Switch each selected host back to the previous release (or --to NAME).
    Rollback(RollbackArgs),
    /// Break each selected host's stale deploy lock (any lock with --force).
    Unlock(UnlockArgs),
    /// Encrypt, decrypt, view and edit Ansible Vault files (ansible-vault's actions).
    Vault(crate::commands::vault_args::VaultArgs),
}

/// Connection options shared by every command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection options")]
pub struct SshArgs {
    /// known_hosts file checked strictly [default: ~/.ssh/known_hosts]
    #[arg(long, global = true, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Trust and record a host key seen for the first time (a changed key is
    /// always refused).
    #[arg(long, global = true)]
    pub accept_new: bool,
    /// Log in to every host as USER, over the inventory's `user` and ssh_config's `User`.
    #[arg(short = 'u', long, global = true, value_name = "USER")]
    pub user: Option<UserName>,
    /// Private key to try after the inventory's `identity_file`.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        visible_aliases = ["private-key", "key-file"]
    )]
    pub identity: Option<PathBuf>,
    /// ssh_config file [default: ~/.ssh/config]
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// Seconds allowed to connect, exchange keys and authenticate [default: 10,
    /// or `timeout` of ansible.cfg]
    #[arg(long, global = true, value_name = "S")]
    pub connect_timeout: Option<f64>,
    /// How many connections may be starting at the same moment.
    #[arg(long, global = true, value_name = "N", default_value_t = 100)]
    pub connect_rate: usize,
    /// `ansible.cfg` and its `ANSIBLE_*` variables, under every flag.
    #[arg(skip)]
    pub config: AnsibleCfg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct Selection {
    /// Inventory: a YAML or INI file, an inventory script, or a folder of
    /// them; repeat to merge several [default: `inventory` of ansible.cfg or ANSIBLE_INVENTORY]
    #[arg(short = 'i', long = "inventory", value_name = "INV")]
    pub inventory: Vec<PathBuf>,
    /// Host pattern: names, groups, globs, `a:b`, `a:&b`, `a:!b`.
    #[arg(
        short = 'l',
        long = "limit",
        value_name = "PATTERN",
        default_value = "all"
    )]
    pub limit: String,
    /// Output: lines for people, or NDJSON events.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub vault: crate::commands::vault_args::VaultPasswordArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// How many hosts run at once; 0 means every selected host [default: 0,
    /// or `forks` of ansible.cfg]
    #[arg(short = 'f', long, value_name = "N")]
    pub forks: Option<usize>,
    /// Run the command as root through sudo.
    #[arg(short = 'b', long = "become")]
    pub r#become: bool,
    /// The user `--become` runs the command as [default: root].
    #[arg(long, value_name = "USER")]
    pub become_user: Option<UserName>,
    /// Prompt for the sudo password (or set FLEET_BECOME_PASSWORD).
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
    /// Seconds the command may run on a host before it is stopped.
    #[arg(long, value_name = "S")]
    pub timeout: Option<f64>,
    /// The command, run by the remote user's shell.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Print the inventory as `ansible-inventory --list` does: one JSON
    /// object of groups and `_meta.hostvars`.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct PlaybookArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// The playbook file.
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// Change nothing: report what would change (`fleet check` implies it).
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show unified diffs of file content and attribute changes.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Run only tasks with one of these tags (comma-separated or repeated).
    #[arg(short = 't', long, value_delimiter = ',', value_name = "TAG")]
    pub tags: Vec<String>,
    /// Leave out tasks with one of these tags (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub skip_tags: Vec<String>,
    /// Start at the first task with this name (or matching this glob), across plays.
    #[arg(long, value_name = "NAME")]
    pub start_at_task: Option<String>,
    /// Extra vars: `key=value`, a JSON object, or `@file.json`; they win over every other var.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Prompt for the sudo password (or set FLEET_BECOME_PASSWORD).
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
    /// Run every play through sudo, as if it said `become: true` (a task's `become: false` wins).
    #[arg(short = 'b', long = "become")]
    pub r#become: bool,
    /// The user to become where neither the play nor the task names one [default: root].
    #[arg(long, value_name = "USER")]
    pub become_user: Option<UserName>,
    /// How many hosts may be connecting at the same moment (sets --connect-rate; 0: all).
    #[arg(short = 'f', long, value_name = "N")]
    pub forks: Option<usize>,
    /// More output: -v each task's stdout and stderr, -vv how each host is reached, -vvv the commands run.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub inspect: Inspect,
}

/// `ansible-playbook`'s ways to look at a playbook without running it:
/// each loads and validates the playbook and the inventory, and contacts
/// no host.
#[derive(Debug, Clone, Copy, Args)]
pub struct Inspect {
    /// Only validate the playbook and inventory and print `playbook: PATH` (no host is contacted).
    #[arg(long)]
    pub syntax_check: bool,
    /// List each play's host pattern and hosts, without running (no host is contacted).
    #[arg(long)]
    pub list_hosts: bool,
    /// List each play's tasks that would run, with their tags (no host is contacted).
    #[arg(long)]
    pub list_tasks: bool,
    /// List the tags of each play's tasks (no host is contacted).
    #[arg(long)]
    pub list_tags: bool,
}

impl Inspect {
    /// Whether the playbook is only looked at, not run.
    pub fn any(self) -> bool {
        self.syntax_check || self.list_hosts || self.list_tasks || self.list_tags
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub playbook: PlaybookArgs,
    /// Seconds a `release` deploy waits for a host's deploy lock held by
    /// another run [default: 0: refuse at once]
    #[arg(long, value_name = "S")]
    pub lock_wait: Option<u32>,
}

/// `fleet releases`: the `release` tasks of the deploy playbook say where
/// the app lives and how it is restarted.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// The deploy playbook (the one with the `release` task).
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// Extra vars: `key=value`, a JSON object, or `@file.json`; they win over every other var.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Prompt for the sudo password (or set FLEET_BECOME_PASSWORD).
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// The release to switch to, e.g. 20260301_120000 [default: the one before current]
    #[arg(long, value_name = "NAME")]
    pub to: Option<String>,
    /// Seconds to wait for a host's deploy lock held by another run
    /// [default: 0: refuse at once]
    #[arg(long, value_name = "S")]
    pub lock_wait: Option<u32>,
}

/// `fleet unlock`: the deploy playbook's `release` tasks say where each
/// app's lock is.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// The deploy playbook (the one with the `release` task).
    #[arg(value_name = "PLAYBOOK", default_value = "playbooks/release.yaml")]
    pub playbook: PathBuf,
    /// Also break a lock that is not stale (its run is known to be gone).
    #[arg(long)]
    pub force: bool,
    /// Extra vars: `key=value`, a JSON object, or `@file.json`; they win over every other var.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Prompt for the sudo password (or set FLEET_BECOME_PASSWORD).
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fleet").chain(args.iter().copied()))
    }

    fn apply(args: &[&str]) -> (ApplyArgs, SshArgs) {
        let base = ["apply", "-i", "inv.yaml", "site.yaml"];
        let cli = parse(&[&base[..], args].concat()).unwrap();
        match cli.command {
            Command::Apply(apply) => (apply, cli.ssh),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn private_key_and_key_file_are_the_identity() {
        for flag in ["--identity", "--private-key", "--key-file"] {
            let (_, ssh) = apply(&[flag, "keys/deploy"]);
            assert_eq!(ssh.identity, Some(PathBuf::from("keys/deploy")), "{flag}");
        }
    }

    #[test]
    fn user_and_become_user_are_user_names() {
        let (apply, ssh) = apply(&["-u", "alice", "-b", "--become-user", "app"]);
        assert_eq!(ssh.user.as_ref().map(UserName::as_str), Some("alice"));
        assert!(apply.playbook.r#become);
        assert_eq!(
            apply.playbook.become_user.as_ref().map(UserName::as_str),
            Some("app")
        );
        let err = parse(&["inventory", "-i", "inv.yaml", "-u", "two words"]).unwrap_err();
        assert!(err.to_string().contains("is not a user name"), "{err}");
        assert!(parse(&["run", "-i", "inv.yaml", "--become-user", "", "--", "id"]).is_err());
    }

    #[test]
    fn ansible_short_flags() {
        let (parsed, _) = apply(&["-C", "-D", "-t", "a,b", "-f", "5", "-l", "web"]);
        let args = &parsed.playbook;
        assert!(args.check && args.diff);
        assert_eq!(args.tags, ["a", "b"]);
        assert_eq!(args.forks, Some(5));
        assert_eq!(args.selection.limit, "web");
        assert_eq!(args.verbose, 0);
        assert_eq!(apply(&["-vvv"]).0.playbook.verbose, 3);
        assert_eq!(apply(&["-v", "--verbose"]).0.playbook.verbose, 2);
        let cli = parse(&["run", "-i", "inv.yaml", "-f", "3", "--", "id"]).unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run");
        };
        assert_eq!(run.forks, Some(3));
    }
}
