//! The fleet inventory: which hosts exist, how they are grouped, their vars,
//! and the host patterns that select them.
//!
//! An inventory is a YAML file shaped like Ansible's:
//!
//! ```yaml
//! all:
//!   vars: {user: root}
//!   children:
//!     web:
//!       vars: {app: shop}
//!       hosts:
//!         web1: {address: 10.77.0.11}
//!         web2: {address: 10.77.0.12, port: 2222}
//!     db:
//!       hosts:
//!         db1: {address: 10.77.0.21}
//! ```
//!
//! - The top level holds exactly one key, `all`.
//! - A group may hold only `vars`, `hosts` and `children`; groups nest
//!   through `children` to any depth.
//! - A host entry is a map of vars, or nothing (`web3:` or `web3: {}`).
//!   A host may be listed in several groups.
//! - The connection vars (`address`, `port`, `user`, `identity_file`, `jump`,
//!   `become`, `connection`) are typed and checked wherever they appear; see [`Connection`].
//! - Vars precedence, lowest first: `all` < parent group < child group < host.
//!   Between groups of the same depth, the alphabetically later name wins.
//!   See the `resolve` module docs, or `docs/inventory.md`.
//! - Host patterns: see [`Inventory::select`].
//!
//! ```
//! use std::path::Path;
//! use fleet_inventory::Inventory;
//!
//! let yaml = "all:\n  children:\n    web:\n      hosts:\n        web1: {port: 2222}\n        web2:\n";
//! let inventory = Inventory::parse(yaml, Path::new("inventories/example.yaml")).unwrap();
//! let hosts = inventory.select("web:!web2").unwrap();
//! assert_eq!(hosts.len(), 1);
//! assert_eq!(hosts[0].connection.port, 2222);
//! assert_eq!(hosts[0].connection.address, "web1");
//! ```
//!
//! Every error is an [`InventoryError`] whose `Display` reads
//! `file:line:col: message` followed by a `  hint: ...` line.

mod ansible_vars;
mod connection;
mod error;
mod ini;
mod loader;
mod pattern;
mod resolve;
mod sources;
mod var_dirs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

pub use ansible_vars::ANSIBLE_CONNECTION_VARS;
pub use connection::{CONNECTION_VARS, Connection, DEFAULT_PORT, Jump, Transport, UserName};
pub use error::{InventoryError, JumpError, UserNameError};
pub use fleet_yaml::Location;
pub use sources::IGNORED_ENDINGS;
pub use var_dirs::read_var_file;

use loader::Declared;

/// A loaded inventory: hosts in file order, and groups.
#[derive(Debug, Clone)]
pub struct Inventory {
    hosts: Vec<Host>,
    groups: Vec<Group>,
    host_index: HashMap<String, usize>,
    group_index: HashMap<String, usize>,
}

/// Whether the inventory file `label` holds INI rather than YAML: a name
/// ending in `.ini` is INI, one ending in `.yaml`, `.yml` or `.json` is YAML,
/// and any other file is INI when its first meaningful line is a
/// `[section]` header or a host line (see `docs/inventory.md`).
fn is_ini(label: &str, source: &str) -> bool {
    let extension = Path::new(label)
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("ini") => true,
        Some("yaml" | "yml" | "json") => false,
        _ => ini::looks_like_ini(source),
    }
}

/// One host with everything resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// The name used in the inventory and in host patterns.
    pub name: String,
    /// Every group the host is in, including ancestors and `all`, in
    /// precedence order: `all` first, then by depth, then by name.
    pub groups: Vec<String>,
    /// The final vars after precedence. Connection vars appear here only
    /// where the inventory sets them (so a caller can tell "port 22 because
    /// the inventory says so" from "no port given, let ssh_config decide"),
    /// in checked form: `identity_file` resolved to a path, `jump` rewritten
    /// canonically. [`Host::connection`] has the defaults applied.
    pub vars: Map<String, Value>,
    /// The typed connection vars.
    #[serde(skip)]
    pub connection: Connection,
}

/// One group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The group's name; the root group is `all`.
    pub name: String,
    /// Names of its direct child groups, in file order.
    pub children: Vec<String>,
    /// Every host in the group or in one of its descendants, in inventory order.
    pub hosts: Vec<String>,
    /// The group's own vars (not merged with its parents').
    pub vars: Map<String, Value>,
    /// Indexes into the inventory's hosts, parallel to `hosts`.
    #[serde(skip)]
    members: Vec<usize>,
}

impl Inventory {
    /// Reads and parses the inventory file at `path`, with the
    /// `group_vars/` and `host_vars/` folders next to it. Messages name the
    /// file as `path` is written (relative stays relative).
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        Self::load_with_playbook_dir(path, None)
    }

    /// Like [`Inventory::load`], and also reads the `group_vars/` and
    /// `host_vars/` folders of `playbook_dir`, which win over the
    /// inventory's (Ansible's precedence; see `docs/inventory.md`).
    pub fn load_with_playbook_dir(
        path: &Path,
        playbook_dir: Option<&Path>,
    ) -> Result<Inventory, InventoryError> {
        Self::load_sources(&[path.to_path_buf()], playbook_dir)
    }

    /// Loads several inventory sources into one (`-i a -i b`): each a file
    /// (YAML, INI, or an executable script printing JSON) or a folder of
    /// them. Hosts and groups merge by name, a later source winning on a
    /// var both set. Each source's `group_vars/` and `host_vars/` are read
    /// (a folder's own, a file's beside it), then `playbook_dir`'s.
    pub fn load_sources(
        sources: &[PathBuf],
        playbook_dir: Option<&Path>,
    ) -> Result<Inventory, InventoryError> {
        let mut declared: Option<Declared> = None;
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut add_dir = |dir: &Path| {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let same = |other: &PathBuf| match (dir.canonicalize(), other.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => dir == other.as_path(),
            };
            if !dirs.iter().any(same) {
                dirs.push(dir.to_path_buf());
            }
        };
        for source in sources {
            if source.is_dir() {
                add_dir(source);
            } else {
                add_dir(source.parent().unwrap_or(Path::new("")));
            }
            for file in sources::expand(source)? {
                let paths = Self::paths(&file);
                let label = file.display().to_string();
                let next = if sources::is_executable(&file) {
                    sources::run_script(&file)?
                } else {
                    let text =
                        std::fs::read_to_string(&file).map_err(|source| InventoryError::Io {
                            path: file.clone(),
                            source,
                        })?;
                    Self::declare(&text, &label, &paths)?
                };
                match &mut declared {
                    None => declared = Some(next),
                    Some(declared) => declared.merge(next)?,
                }
            }
        }
        if let Some(dir) = playbook_dir {
            add_dir(dir);
        }
        let declared = declared.unwrap_or_else(Declared::empty);
        Self::finish(declared, &dirs)
    }

    /// Parses inventory text. `origin` is the file it came from: it names
    /// the file in error messages, and a relative `identity_file` is
    /// resolved against its directory. `~/` is expanded with `$HOME`.
    /// No `group_vars/` or `host_vars/` folder is read.
    pub fn parse(source: &str, origin: &Path) -> Result<Inventory, InventoryError> {
        let declared = Self::declare(source, &origin.display().to_string(), &Self::paths(origin))?;
        Self::finish(declared, &[])
    }

    fn paths(origin: &Path) -> connection::PathContext {
        connection::PathContext {
            base_dir: origin.parent().map(Path::to_path_buf).unwrap_or_default(),
            home: std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(PathBuf::from),
        }
    }

    fn declare(
        source: &str,
        label: &str,
        paths: &connection::PathContext,
    ) -> Result<Declared, InventoryError> {
        if is_ini(label, source) {
            ini::declare(source, label, paths)
        } else {
            let root = fleet_yaml::parse_document(source, label)?;
            loader::declare(&root, label, paths)
        }
    }

    fn finish(declared: Declared, var_dirs: &[PathBuf]) -> Result<Inventory, InventoryError> {
        let mut layers = resolve::VarLayers::default();
        for dir in var_dirs {
            let paths = Self::paths(&dir.join("group_vars"));
            let groups = declared
                .groups
                .iter()
                .map(|group| var_dirs::vars_for(dir, "group_vars", &group.name, &paths))
                .collect::<Result<_, _>>()?;
            let hosts = declared
                .hosts
                .iter()
                .map(|host| var_dirs::vars_for(dir, "host_vars", &host.name, &paths))
                .collect::<Result<_, _>>()?;
            layers.groups.push(groups);
            layers.hosts.push(hosts);
        }
        let (hosts, groups) = resolve::resolve(declared, &layers)?;
        let host_index = hosts
            .iter()
            .enumerate()
            .map(|(index, host)| (host.name.clone(), index))
            .collect();
        let group_index = groups
            .iter()
            .enumerate()
            .map(|(index, group)| (group.name.clone(), index))
            .collect();
        Ok(Inventory {
            hosts,
            groups,
            host_index,
            group_index,
        })
    }

    /// Makes every host log in as `user` (`fleet -u USER`), over the `user`
    /// the inventory sets anywhere and over ssh_config's `User`: the
    /// host's connection and its resolved `user` var both say `user`. A
    /// bastion's user (`jump`) is left alone, and a `connection: local` host
    /// still runs as the user running fleet.
    pub fn set_user(&mut self, user: &UserName) {
        for host in &mut self.hosts {
            host.connection.user = Some(user.as_str().to_owned());
            host.vars
                .insert("user".to_owned(), Value::String(user.as_str().to_owned()));
        }
    }

    /// `remote_user` of ansible.cfg: the user of every host whose inventory
    /// sets none (the inventory's `user` wins, as `ansible_user` wins over
    /// `remote_user` in Ansible), over ssh_config's `User`.
    pub fn set_default_user(&mut self, user: &UserName) {
        for host in &mut self.hosts {
            if host.connection.user.is_none() && host.connection.transport == Transport::Ssh {
                host.connection.user = Some(user.as_str().to_owned());
                host.vars
                    .insert("user".to_owned(), Value::String(user.as_str().to_owned()));
            }
        }
    }

    /// A ProxyJump of ansible.cfg's `ssh_args`: the jump of every host whose
    /// inventory sets none.
    pub fn set_default_jump(&mut self, jump: &Jump) {
        for host in &mut self.hosts {
            if host.connection.jump.is_none() && host.connection.transport == Transport::Ssh {
                host.connection.jump = Some(jump.clone());
            }
        }
    }

    /// All hosts, in order of first appearance in the file.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.host_index.get(name).map(|&index| &self.hosts[index])
    }

    /// All groups, `all` first, then in order of first appearance.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The group called `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.group_index.get(name).map(|&index| &self.groups[index])
    }

    /// The group names, `all` first, then in order of first appearance.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups
            .iter()
            .map(|group| group.name.as_str())
            .collect()
    }

    /// The hosts matched by a host pattern given with `-l`; errors are
    /// located as `-l:1:COLUMN`.
    ///
    /// Terms are separated by `:` or `,` and applied left to right: a name
    /// or glob adds hosts, `&term` keeps only hosts also in `term`, `!term`
    /// removes them. A pattern that starts with `&` or `!` starts from `all`.
    /// Globs (`*`, `?`, `[...]`) match host and group names. Hosts come back
    /// in inventory order. A malformed pattern, a term that names no host
    /// or group, and an empty result are errors.
    ///
    /// ```
    /// # use std::path::Path;
    /// # use fleet_inventory::Inventory;
    /// let yaml = "all:\n  children:\n    web: {hosts: {web1: , web2: }}\n    canary: {hosts: {web2: }}\n";
    /// let inventory = Inventory::parse(yaml, Path::new("inv.yaml")).unwrap();
    /// let names: Vec<_> = inventory.select("web:!canary").unwrap().iter().map(|h| &h.name).collect();
    /// assert_eq!(names, ["web1"]);
    /// let err = inventory.select("web::db").unwrap_err();
    /// assert!(err.to_string().starts_with("-l:1:5: empty term"));
    /// ```
    pub fn select(&self, pattern: &str) -> Result<Vec<&Host>, InventoryError> {
        self.select_with_origin(pattern, "-l")
    }

    /// Like [`Inventory::select`], with errors located from `origin`: a label
    /// (`"-l"` gives `-l:1:COLUMN`), or the position of the pattern's first
    /// character in a file, such as `"play.yaml:3:8"`, which makes an error
    /// at column 5 of the pattern read `play.yaml:3:12`.
    pub fn select_with_origin(
        &self,
        pattern: &str,
        origin: &str,
    ) -> Result<Vec<&Host>, InventoryError> {
        pattern::select(self, pattern, origin)
    }
}
