//! Playbooks: loading, validation before any host is contacted, and
//! templating.
//!
//! A playbook file is one play (a map), a list of plays, or a list of
//! imports (`- import: harden.yaml`), which may be mixed with plays:
//!
//! ```yaml
//! name: base setup
//! hosts: web
//! vars: {app: shop}
//! tasks:
//!   - name: app dirs
//!     command: mkdir -p /opt/{{ app }}/{{ item }}
//!     loop: [releases, shared]
//!     notify: restart api
//! handlers:
//!   - name: restart api
//!     command: systemctl restart {{ app }}-api
//! ```
//!
//! [`load`] reads the file and its imports into a flat [`Playbook`] and
//! checks everything that can be checked without a host: keys and types,
//! modules and their parameters, handler names, template syntax (strings
//! and template files), and variables that are defined nowhere. Every error
//! is a [`PlaybookError`] reading `file:line:col: message` followed by a
//! `  hint: ...` line.
//!
//! [`Templater`] renders strings, values and template files with the
//! Ansible filters people expect; [`host_vars`] builds one host's variables
//! in precedence order. The language is described in `docs/playbooks.md`.

mod action_keys;
mod become_keys;
mod check;
mod error;
mod expand;
mod fields;
mod filters;
mod free_form;
mod include_vars;
mod includes;
mod loader;
mod loop_lookups;
mod loops;
mod magic;
mod module_names;
mod play;
mod play_keys;
mod references;
mod roles;
mod sequence;
mod serial;
mod serial_template;
mod task;
mod task_params;
mod templater;
mod vars;
mod warnings;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

pub use become_keys::{BecomeFlags, BecomeMethod, effective as effective_become};
pub use error::{PlaybookError, TemplateError};

/// The tag of the tasks fleet adds to a play itself (the flushes of
/// handlers between `pre_tasks`, `tasks` and `post_tasks`, the release
/// health gate): they run whatever `--tags` and `--skip-tags` say, and
/// listings leave them out.
pub const FLEET_OWN_TAG: &str = "fleet:own";
pub use fleet_yaml::Location;
pub use free_form::key_value_words;
pub use include_vars::read_included_vars;
pub use loops::{LoopControl, LoopLookup};
pub use magic::{
    ANSIBLE_MANAGED, ANSIBLE_VERSION, HostEntry, MagicVars, add_magic_vars, ansible_version,
    fact_vars, group_names, hostvars, inventory_hostname_short, is_fact_variable, with_ungrouped,
};
pub use play::GATHERING_FACTS;
pub use play_keys::{HostOrder, Strategy, VarPrompt};
pub use references::{needs_facts, reads_facts, reads_hostvars, task_variables};
pub use serial::{BatchSize, PlaySerial, Rollback, Serial, SerialTemplate};
pub use task::{CONTROLLER_NAMES, META_ACTIONS};
pub use templater::{OMIT, Templater, Whitespace};
pub use vars::{BUILTIN_VARS, host_vars, task_host_vars};

/// What the caller knows before loading.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Variable names the inventory defines for the selected hosts (union
    /// over hosts) and the `-e` names. Used only to report undefined
    /// variables.
    pub known_vars: BTreeSet<String>,
    /// `-e` vars; also used to render templated `vars_files` paths.
    pub extra_vars: Map<String, Value>,
    /// Where templates are looked up after the playbook's own folder.
    /// Empty means `<folder of the top-level playbook>/../templates`.
    pub template_dirs: Vec<PathBuf>,
    /// Every host name of the inventory: a `delegate_to` written as a
    /// plain name must be one of them (or the controller). `None` skips
    /// that check.
    pub inventory_hosts: Option<BTreeSet<String>>,
    /// Where roles are looked up after the play's `roles/`. `None` reads
    /// `ANSIBLE_ROLES_PATH` (colon-separated); the command line passes the
    /// list it resolved from that variable and `ansible.cfg`.
    pub roles_path: Option<Vec<PathBuf>>,
}

/// A loaded playbook: the plays of the file and its imports, in run order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playbook {
    /// The top-level file, as given to [`load`].
    pub path: PathBuf,
    /// Every play, imports flattened in place.
    pub plays: Vec<Play>,
    /// What the playbook does that fleet runs but Ansible deprecates, in the
    /// order it was read; printed before the run.
    #[serde(skip)]
    pub warnings: Vec<fleet_yaml::Diagnostic>,
}

/// One play: a host pattern and the tasks to run there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Play {
    /// As given, or the host pattern.
    pub name: String,
    /// The host pattern.
    pub hosts: String,
    /// Where the pattern's first character is (`file:line:col`), for
    /// `Inventory::select_with_origin`.
    pub hosts_origin: String,
    pub r#become: bool,
    /// The play writes `become` itself (ansible.cfg's `become` then does
    /// not apply to it).
    #[serde(skip)]
    pub become_written: bool,
    pub become_user: Option<String>,
    /// `become_method`; sudo when not written.
    pub become_method: Option<BecomeMethod>,
    pub become_flags: Option<BecomeFlags>,
    /// `connection: local` or `ssh`: how the play reaches hosts whose
    /// inventory does not set `connection` itself. `None` when not written.
    pub connection: Option<PlayConnection>,
    /// Play vars, then each `vars_files` file merged over them in order.
    pub vars: Map<String, Value>,
    /// The `defaults_files` vars: below the inventory's, like Ansible's
    /// role defaults, so an inventory overrides them.
    pub defaults: Map<String, Value>,
    pub tasks: Vec<Task>,
    pub handlers: Vec<Task>,
    /// Run handlers already notified even when a later task failed on the
    /// host. Default `true`.
    pub force_handlers: bool,
    pub tags: Vec<String>,
    /// The folder of the file that defines the play.
    pub dir: PathBuf,
    /// Where templates are looked up after `dir`.
    pub template_dirs: Vec<PathBuf>,
    /// Run the play in batches of hosts, one after the other. `None`: one
    /// batch of every host. A templated one is rendered before the play
    /// starts: see [`Play::serial_sizes`].
    pub serial: Option<PlaySerial>,
    /// Stop the rollout after a batch in which more than this percentage
    /// (0 to 100) of the batch's hosts failed.
    pub max_fail_percentage: Option<f64>,
    /// What a failed rollout rolls back; `batch` unless written.
    pub rollback: Rollback,
    /// `linear` or `free` (the default).
    pub strategy: Strategy,
    /// The order the play takes its hosts in.
    pub order: HostOrder,
    /// At most this many hosts at once.
    pub throttle: Option<usize>,
    /// A failure on any host stops the play (and the rollout) on every
    /// host.
    pub any_errors_fatal: bool,
    /// The SSH user for hosts whose inventory does not name one.
    pub remote_user: Option<String>,
    /// Variables the operator gives when the play starts (`-e`, or typed
    /// at a terminal).
    pub vars_prompt: Vec<VarPrompt>,
    /// Gather the hosts' facts when a batch starts (default `true`; fleet
    /// skips it when no task of the playbook reads facts).
    pub gather_facts: bool,
    /// `gather_subset` for that gathering; empty: Ansible's default, all.
    pub gather_subset: Vec<String>,
    /// Where local facts (`ansible_local`) are read from, if not the
    /// default.
    pub fact_path: Option<String>,
    /// Where the play starts (`file:line:col`).
    pub origin: String,
}

/// The play keyword `connection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayConnection {
    Ssh,
    Local,
}

/// One task or handler. Strings are not rendered yet: that happens per host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// As given, or `module: short summary`.
    pub name: String,
    /// The fleet module, by its short name (`command`), whatever name the
    /// task gave it.
    pub module: String,
    /// The module key as written: `ansible.builtin.command`, `command`.
    pub module_as_written: String,
    /// The module's params as written: a map, or a string for free-form
    /// modules (`command: uptime`), or null.
    pub params: Value,
    /// An expression (no braces); a list in the playbook becomes
    /// `(a) and (b)`; a YAML bool becomes `true`/`false`.
    pub when: Option<String>,
    /// A list, or a template string that renders to a list; for a `with_*`
    /// loop, that keyword's value, which `loop_with` turns into the items.
    pub r#loop: Option<Value>,
    /// The `with_*` keyword the task loops with; `None` for `loop:`.
    pub loop_with: Option<LoopLookup>,
    pub loop_control: LoopControl,
    pub register: Option<String>,
    /// Handler names.
    pub notify: Vec<String>,
    pub r#become: Option<bool>,
    pub become_user: Option<String>,
    /// Its own or its blocks' `become_method`; the play's when `None`.
    pub become_method: Option<BecomeMethod>,
    /// Its own or its blocks' `become_flags`; the play's when `None`.
    pub become_flags: Option<BecomeFlags>,
    pub tags: Vec<String>,
    pub changed_when: Option<String>,
    pub failed_when: Option<String>,
    pub ignore_errors: bool,
    pub retries: Option<u32>,
    /// Seconds between retries.
    pub delay: Option<f64>,
    pub until: Option<String>,
    pub run_once: bool,
    /// A template: the task runs on the first host of each distinct
    /// rendered value, and those hosts' registered results go to the
    /// other hosts with the same value.
    pub once_per: Option<String>,
    pub no_log: bool,
    /// `Some(false)` runs the task for real even in check mode, for
    /// commands that only read; `Some(true)` only checks, even in a real
    /// run (Ansible's `check_mode:`). `None` follows the run.
    pub check_mode: Option<bool>,
    /// Variables exported to the module's commands; values are templates.
    pub environment: Vec<(String, String)>,
    /// Seconds.
    pub timeout: Option<f64>,
    /// `delegate_to`, a template: the task runs on that host's connection
    /// (an inventory host, or the controller for `localhost` and
    /// `127.0.0.1`), with the host's vars, and reports under the host.
    /// `local_action` sets it to `localhost`.
    pub delegate_to: Option<String>,
    /// Where `delegate_to` (or `local_action`) is written.
    #[serde(skip)]
    pub delegate_at: Option<Location>,
    /// `delegate_facts`: the facts a delegated task sets (`set_fact`) go
    /// to the host it is delegated to, not to the host it runs for.
    pub delegate_facts: bool,
    /// A handler's `listen` topics: a `notify` of one runs it too.
    pub listen: Vec<String>,
    /// Other names a `notify` may call this handler by: a role's handler is
    /// named `role : name`, as Ansible shows it, and also answers to its
    /// own `name`. As in Ansible, a name (unlike a topic) runs only the last
    /// handler of the play that has it.
    pub aliases: Vec<String>,
    /// The blocks the task is in, outermost first, and which part of each
    /// (`block`, `rescue` or `always`) holds it.
    pub blocks: Vec<BlockPart>,
    /// Its role's defaults, above the play's (and every role's) defaults
    /// and below the inventory.
    pub role_defaults: Map<String, Value>,
    /// The folder of the role the task comes from: its `templates/` and
    /// `files/` are looked in first.
    pub role_dir: Option<PathBuf>,
    /// The task's `vars`, after those of its blocks, includes and role
    /// (its role's vars and params): over the play's vars and vars files,
    /// under registered results and `-e` (Ansible's task vars).
    pub vars: Map<String, Value>,
    /// `diff:`: `Some(true)` shows the task's diff without `--diff`,
    /// `Some(false)` hides it with `--diff`.
    pub diff: Option<bool>,
    /// For an `include_tasks` (or the legacy `include`): the task files it
    /// may include; it runs per host and picks one of them per pass.
    pub include: Option<Include>,
    /// The dynamic includes the task comes from, outermost first, and which
    /// of each one's files holds it.
    pub included: Vec<IncludePart>,
    /// Where the task starts (`file:line:col`).
    pub origin: String,
}

/// A dynamic include: the file name as written, and every file it can
/// name, all loaded and validated with the playbook. Each file's tasks
/// follow the include in the play's task list, marked with an
/// [`IncludePart`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Include {
    /// Numbers the includes of a play, from 0.
    pub id: usize,
    /// The file name as written: a template, rendered per host and pass.
    pub file: String,
    /// The folders a relative name is looked up in, in order: the
    /// including file's, then the play's.
    pub bases: Vec<PathBuf>,
    /// The files the name can render to.
    pub files: Vec<PathBuf>,
    /// Files of `files` left out when the playbook loaded, by index, with
    /// why: one of several candidates whose tasks use variables undefined
    /// where this include is (it is meant for another include). Their
    /// tasks are not in the play; naming one fails the include.
    pub left_out: Vec<(usize, String)>,
}

impl Include {
    /// Why the file at `index` of `files` was left out, if it was.
    pub fn left_out(&self, index: usize) -> Option<&str> {
        self.left_out
            .iter()
            .find(|(left, _)| *left == index)
            .map(|(_, why)| why.as_str())
    }

    /// The index in `files` of the file that the rendered name `name`
    /// names: looked up under each of `bases` in turn.
    pub fn pick(&self, name: &str) -> Option<usize> {
        let path = Path::new(name);
        let wanted: Vec<PathBuf> = if path.is_absolute() {
            vec![loader::normalize(path)]
        } else {
            self.bases
                .iter()
                .map(|base| loader::normalize(&base.join(path)))
                .collect()
        };
        wanted
            .iter()
            .find_map(|want| self.files.iter().position(|file| file == want))
    }
}

/// A task's place in one dynamic include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IncludePart {
    /// The [`Include::id`].
    pub include: usize,
    /// The index of the task's file in [`Include::files`].
    pub file: usize,
}

/// A task's place in one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BlockPart {
    /// Numbers the blocks of a play, from 0.
    pub block: usize,
    pub section: Section,
}

/// The three parts of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// `block:` runs first.
    Body,
    /// `rescue:` runs when a task of the body failed.
    Rescue,
    /// `always:` runs in every case.
    Always,
}

impl Task {
    /// This task named `name`, without what belongs to one run of it alone:
    /// `register`, `notify`, `tags`, `changed_when`, `failed_when`,
    /// `ignore_errors` and retries. For tasks fleet derives from a playbook's
    /// own (`fleet rollback`, the release health gate).
    pub fn derived(&self, name: String) -> Task {
        Task {
            name,
            register: None,
            notify: Vec::new(),
            tags: Vec::new(),
            changed_when: None,
            failed_when: None,
            ignore_errors: false,
            retries: None,
            delay: None,
            until: None,
            blocks: Vec::new(),
            include: None,
            included: Vec::new(),
            ..self.clone()
        }
    }
}

impl Play {
    /// Ansible's implicit "Gathering Facts" task of this play: `setup`
    /// with its `gather_subset` and `fact_path`, tagged `always`.
    pub fn gathering_facts(&self) -> Task {
        play::gathering_facts(self)
    }

    /// The template file `src` names: `src` itself when absolute, else the
    /// first that exists of `dir/src`, `dir/templates/src`, then each of
    /// `template_dirs`.
    pub fn template_path(&self, src: &str) -> Option<PathBuf> {
        self.template_path_in(None, src)
    }

    /// [`Play::template_path`] for a task of the role in `role_dir`: its
    /// `templates/src` and `src` come first.
    pub fn template_path_in(&self, role_dir: Option<&Path>, src: &str) -> Option<PathBuf> {
        template_candidates(role_dir, &self.dir, &self.template_dirs, src)
            .into_iter()
            .find(|path| path.is_file())
    }
}

/// The places `src` is looked for, in order.
pub(crate) fn template_candidates(
    role_dir: Option<&Path>,
    dir: &Path,
    template_dirs: &[PathBuf],
    src: &str,
) -> Vec<PathBuf> {
    let path = Path::new(src);
    if path.is_absolute() {
        return vec![path.to_path_buf()];
    }
    let in_role = role_dir.into_iter().flat_map(|role| {
        [
            loader::normalize(&role.join("templates").join(path)),
            loader::normalize(&role.join(path)),
        ]
    });
    let mut candidates: Vec<PathBuf> = in_role.collect();
    candidates.extend([
        loader::normalize(&dir.join(path)),
        loader::normalize(&dir.join("templates").join(path)),
    ]);
    for folder in template_dirs {
        let candidate = loader::normalize(&folder.join(path));
        if !candidates.contains(&candidate) {
            candidates.push(candidate);
        }
    }
    candidates
}

/// Loads the playbook at `path` with its imports and vars files, and
/// validates it. Messages name files relative to where `path` is given.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Playbook, PlaybookError> {
    let template_dirs = if options.template_dirs.is_empty() {
        let dir = path.parent().unwrap_or(Path::new(""));
        vec![loader::normalize(&dir.join("..").join("templates"))]
    } else {
        options.template_dirs.clone()
    };
    warnings::start();
    let mut plays = loader::load_plays(path, options, &template_dirs)?;
    check::check(&mut plays, options)?;
    Ok(Playbook {
        path: path.to_path_buf(),
        plays: plays.into_iter().map(|parsed| parsed.play).collect(),
        warnings: warnings::take(),
    })
}
