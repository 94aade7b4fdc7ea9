//! `ansible.cfg`: found and read as ansible-core does (see `docs/ansible-cfg.md`).
//! Each honoured key may also come from its `ANSIBLE_*` variable, which wins
//! over the file; a command-line flag wins over both (applied by the
//! commands). Every other key is ignored and listed once with `-v`.

pub mod find;
pub mod ini;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};

use fleet_inventory::{Jump, UserName};
use fleet_playbook::BecomeMethod;

pub use values::SshArgs;

/// The honoured keys as resolved from the environment and the file.
/// `None`: neither sets it (fleet's default applies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnsibleCfg {
    /// The file read, if any.
    pub file: Option<PathBuf>,
    pub inventory: Option<Vec<PathBuf>>,
    pub remote_user: Option<UserName>,
    pub private_key_file: Option<PathBuf>,
    pub roles_path: Option<Vec<PathBuf>>,
    pub host_key_checking: Option<bool>,
    /// Where `host_key_checking` was set: `file:line:col` or the variable.
    pub host_key_checking_origin: Option<String>,
    pub forks: Option<usize>,
    /// Seconds, for the connection.
    pub timeout: Option<u64>,
    pub vault_password_file: Option<PathBuf>,
    pub r#become: Option<bool>,
    pub become_method: Option<BecomeMethod>,
    pub become_user: Option<UserName>,
    pub become_ask_pass: Option<bool>,
    /// `[ssh_connection] ssh_args` (or `ANSIBLE_SSH_ARGS`): its ProxyJump
    /// and the words fleet does not use.
    pub ssh_args: SshArgs,
    /// `section.key` of every key of the file that fleet does not read.
    pub ignored: Vec<String>,
    /// Why a cwd `ansible.cfg` was not read, for a warning.
    pub warnings: Vec<String>,
}

/// A bad value or a malformed file: exit 4, before any host is contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfgError {
    /// `path:line:col`, or the variable's name.
    pub at: String,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for CfgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n  hint: {}", self.at, self.message, self.hint)
    }
}

impl std::error::Error for CfgError {}

/// Where a value was read: the file (relative paths against its folder) or
/// an environment variable (relative paths against the working folder).
pub(crate) struct Origin<'a> {
    pub at: String,
    pub base: &'a Path,
    pub home: Option<&'a Path>,
}

/// One honoured setting: its `[section] key` places (the last one set
/// wins, as in ansible-core) and its variables (the same).
struct Key {
    ini: &'static [(&'static str, &'static str)],
    env: &'static [&'static str],
}

const INVENTORY: Key = Key {
    ini: &[("defaults", "inventory")],
    env: &["ANSIBLE_INVENTORY"],
};
const REMOTE_USER: Key = Key {
    ini: &[("defaults", "remote_user")],
    env: &["ANSIBLE_REMOTE_USER"],
};
const PRIVATE_KEY_FILE: Key = Key {
    ini: &[("defaults", "private_key_file")],
    env: &["ANSIBLE_PRIVATE_KEY_FILE"],
};
const ROLES_PATH: Key = Key {
    ini: &[("defaults", "roles_path")],
    env: &["ANSIBLE_ROLES_PATH"],
};
const HOST_KEY_CHECKING: Key = Key {
    ini: &[
        ("defaults", "host_key_checking"),
        ("ssh_connection", "host_key_checking"),
    ],
    env: &["ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING"],
};
const FORKS: Key = Key {
    ini: &[("defaults", "forks")],
    env: &["ANSIBLE_FORKS"],
};
const TIMEOUT: Key = Key {
    ini: &[("defaults", "timeout"), ("ssh_connection", "timeout")],
    env: &["ANSIBLE_TIMEOUT", "ANSIBLE_SSH_TIMEOUT"],
};
const VAULT_PASSWORD_FILE: Key = Key {
    ini: &[("defaults", "vault_password_file")],
    env: &["ANSIBLE_VAULT_PASSWORD_FILE"],
};
const BECOME: Key = Key {
    ini: &[("privilege_escalation", "become")],
    env: &["ANSIBLE_BECOME"],
};
const BECOME_METHOD: Key = Key {
    ini: &[("privilege_escalation", "become_method")],
    env: &["ANSIBLE_BECOME_METHOD"],
};
const BECOME_USER: Key = Key {
    ini: &[("privilege_escalation", "become_user")],
    env: &["ANSIBLE_BECOME_USER"],
};
const BECOME_ASK_PASS: Key = Key {
    ini: &[("privilege_escalation", "become_ask_pass")],
    env: &["ANSIBLE_BECOME_ASK_PASS"],
};
const SSH_ARGS: Key = Key {
    ini: &[("ssh_connection", "ssh_args")],
    env: &["ANSIBLE_SSH_ARGS"],
};

const HONOURED: &[&Key] = &[
    &INVENTORY,
    &REMOTE_USER,
    &PRIVATE_KEY_FILE,
    &ROLES_PATH,
    &HOST_KEY_CHECKING,
    &FORKS,
    &TIMEOUT,
    &VAULT_PASSWORD_FILE,
    &BECOME,
    &BECOME_METHOD,
    &BECOME_USER,
    &BECOME_ASK_PASS,
    &SSH_ARGS,
];

/// What resolving reads: the file (path and text), the environment, the
/// working folder and `$HOME`.
pub struct Sources<'a> {
    pub file: Option<(&'a Path, &'a str)>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: &'a Path,
    pub home: Option<&'a Path>,
}

impl AnsibleCfg {
    /// Finds and reads the file ansible-core would read, with the
    /// process's environment.
    pub fn load() -> Result<AnsibleCfg, CfgError> {
        let cwd = std::env::current_dir().ok();
        let home = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from);
        let ansible_config = std::env::var("ANSIBLE_CONFIG").ok();
        let found = find::find(&find::Places {
            ansible_config: ansible_config.as_deref(),
            cwd: cwd.as_deref(),
            home: home.as_deref(),
            system: Path::new(find::SYSTEM_CONFIG),
        });
        let on_disk = |path: &Path| match &cwd {
            Some(cwd) => cwd.join(path),
            None => path.to_path_buf(),
        };
        let text = match &found.path {
            Some(path) => Some(
                std::fs::read_to_string(on_disk(path)).map_err(|err| CfgError {
                    at: path.display().to_string(),
                    message: format!("cannot read the config file: {err}"),
                    hint: "fix the file, or point ANSIBLE_CONFIG at another one".to_owned(),
                })?,
            ),
            None => None,
        };
        let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let mut cfg = AnsibleCfg::resolve(&Sources {
            file: found.path.as_deref().zip(text.as_deref()),
            env: &env,
            cwd: cwd.as_deref().unwrap_or(Path::new(".")),
            home: home.as_deref(),
        })?;
        if let Some(skipped) = found.skipped_world_writable {
            cfg.warnings.push(format!(
                "{} is not read: its folder is world-writable (ansible-core passes it over too)",
                skipped.display()
            ));
        }
        Ok(cfg)
    }

    /// Resolves every honoured key: its variable over the file.
    pub fn resolve(sources: &Sources<'_>) -> Result<AnsibleCfg, CfgError> {
        let parsed = match sources.file {
            Some((path, text)) => {
                check_extension(path)?;
                let ini = ini::parse(text).map_err(|err| CfgError {
                    at: format!("{}:{}:{}", path.display(), err.line, err.col),
                    message: err.message.clone(),
                    hint: err.hint.to_owned(),
                })?;
                Some((path, ini))
            }
            None => None,
        };
        let base = parsed
            .as_ref()
            .and_then(|(path, _)| path.parent())
            .map(|dir| sources.cwd.join(dir))
            .unwrap_or_else(|| sources.cwd.to_path_buf());
        let raw = |key: &Key| -> Option<(String, Origin<'_>)> {
            let from_env = key
                .env
                .iter()
                .rev()
                .find_map(|name| (sources.env)(name).map(|value| (*name, value)));
            if let Some((name, value)) = from_env {
                return Some((
                    value,
                    Origin {
                        at: name.to_owned(),
                        base: sources.cwd,
                        home: sources.home,
                    },
                ));
            }
            let (path, ini) = parsed.as_ref()?;
            let entry = key
                .ini
                .iter()
                .rev()
                .find_map(|(section, name)| ini.get(section, name))?;
            Some((
                values::unquote(&entry.value).to_owned(),
                Origin {
                    at: format!("{}:{}:1", path.display(), entry.line),
                    base: &base,
                    home: sources.home,
                },
            ))
        };
        let mut cfg = AnsibleCfg {
            file: parsed.as_ref().map(|(path, _)| path.to_path_buf()),
            ..AnsibleCfg::default()
        };
        cfg.inventory = raw(&INVENTORY).map(|(v, o)| values::path_list(&v, &o, ','));
        cfg.remote_user = raw(&REMOTE_USER)
            .map(|(v, o)| values::user(&v, &o, "remote_user"))
            .transpose()?;
        cfg.private_key_file = raw(&PRIVATE_KEY_FILE).map(|(v, o)| values::path(&v, &o));
        cfg.roles_path = raw(&ROLES_PATH).map(|(v, o)| values::path_list(&v, &o, ':'));
        if let Some((v, o)) = raw(&HOST_KEY_CHECKING) {
            cfg.host_key_checking = Some(values::boolean(&v, &o, "host_key_checking")?);
            cfg.host_key_checking_origin = Some(o.at);
        }
        cfg.forks = raw(&FORKS)
            .map(|(v, o)| values::count(&v, &o, "forks"))
            .transpose()?
            .map(|forks| forks as usize);
        cfg.timeout = raw(&TIMEOUT)
            .map(|(v, o)| values::count(&v, &o, "timeout"))
            .transpose()?;
        cfg.vault_password_file = raw(&VAULT_PASSWORD_FILE).map(|(v, o)| values::path(&v, &o));
        cfg.r#become = raw(&BECOME)
            .map(|(v, o)| values::boolean(&v, &o, "become"))
            .transpose()?;
        cfg.become_method = raw(&BECOME_METHOD)
            .map(|(v, o)| values::become_method(&v, &o))
            .transpose()?;
        cfg.become_user = raw(&BECOME_USER)
            .map(|(v, o)| values::user(&v, &o, "become_user"))
            .transpose()?;
        cfg.become_ask_pass = raw(&BECOME_ASK_PASS)
            .map(|(v, o)| values::boolean(&v, &o, "become_ask_pass"))
            .transpose()?;
        if let Some((v, o)) = raw(&SSH_ARGS) {
            cfg.ssh_args = values::ssh_args(&v, &o)?;
        }
        if let Some((_, ini)) = &parsed {
            cfg.ignored = ignored_keys(ini);
        }
        Ok(cfg)
    }

    /// `vault_password_file` (or `ANSIBLE_VAULT_PASSWORD_FILE`): where the
    /// vault reads its password when no `--vault-password-file` is given.
    /// The vault's password sources call it; until the vault lands, only
    /// the tests do.
    #[allow(dead_code)]
    pub fn vault_password_file(&self) -> Option<&Path> {
        self.vault_password_file.as_deref()
    }

    /// The ProxyJump of `ssh_args`.
    pub fn jump(&self) -> Option<&Jump> {
        self.ssh_args.jump.as_ref()
    }

    /// Host key checking is off (`host_key_checking = False`).
    pub fn host_key_checking_off(&self) -> bool {
        self.host_key_checking == Some(false)
    }

    /// The `-v` line naming every key fleet does not read, if there is one.
    pub fn ignored_line(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        let mut parts = Vec::new();
        if !self.ignored.is_empty() {
            parts.push(format!("ignored keys: {}", self.ignored.join(", ")));
        }
        if !self.ssh_args.ignored.is_empty() {
            parts.push(format!(
                "ssh_args words not used: {}",
                self.ssh_args.ignored.join(" ")
            ));
        }
        (!parts.is_empty()).then(|| format!("{}: {}", file.display(), parts.join("; ")))
    }
}

/// ansible-core reads `.cfg` and `.ini` files only.
fn check_extension(path: &Path) -> Result<(), CfgError> {
    match path.extension().and_then(|ext| ext.to_str()) {
        Some("cfg" | "ini") => Ok(()),
        _ => Err(CfgError {
            at: path.display().to_string(),
            message: "a config file's name must end in .cfg or .ini".to_owned(),
            hint: "rename it, as ansible-core refuses it too (ANSIBLE_CONFIG names it)".to_owned(),
        }),
    }
}

fn ignored_keys(ini: &ini::Ini) -> Vec<String> {
    let honoured = |section: &str, key: &str| {
        HONOURED.iter().any(|h| {
            h.ini
                .iter()
                .any(|(s, k)| *k == key && (*s == section || section == "DEFAULT"))
        })
    };
    ini.sections
        .iter()
        .flat_map(|section| {
            section
                .entries
                .iter()
                .filter(|entry| !honoured(&section.name, &entry.key))
                .map(|entry| format!("{}.{}", section.name, entry.key))
        })
        .collect()
}

#[cfg(test)]
mod tests;
