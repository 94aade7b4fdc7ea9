//! The names a task may give a module: fleet's own (`apt`), Ansible's fully
//! qualified collection names for the modules fleet implements
//! (`ansible.builtin.apt`, `ansible.posix.sysctl`, `community.general.ufw`),
//! `ansible.legacy.X` for any of them, and Ansible's other names for them
//! (`systemd_service`).

/// The Ansible collection of each fleet module Ansible also has.
/// `release` is fleet's own and has none.
const COLLECTIONS: &[(&str, &str)] = &[
    ("command", "ansible.builtin"),
    ("shell", "ansible.builtin"),
    ("file", "ansible.builtin"),
    ("copy", "ansible.builtin"),
    ("template", "ansible.builtin"),
    ("lineinfile", "ansible.builtin"),
    ("blockinfile", "ansible.builtin"),
    ("replace", "ansible.builtin"),
    ("apt", "ansible.builtin"),
    ("apt_repository", "ansible.builtin"),
    ("deb822_repository", "ansible.builtin"),
    ("user", "ansible.builtin"),
    ("group", "ansible.builtin"),
    ("authorized_key", "ansible.posix"),
    ("systemd", "ansible.builtin"),
    ("sysctl", "ansible.posix"),
    ("ufw", "community.general"),
    ("pip", "ansible.builtin"),
    ("postgresql_db", "community.postgresql"),
    ("postgresql_user", "community.postgresql"),
    ("postgresql_privs", "community.postgresql"),
    ("postgresql_query", "community.postgresql"),
    ("postgresql_pg_hba", "community.postgresql"),
    ("unarchive", "ansible.builtin"),
    ("fetch", "ansible.builtin"),
    ("debug", "ansible.builtin"),
    ("wait_for", "ansible.builtin"),
    ("uri", "ansible.builtin"),
    ("get_url", "ansible.builtin"),
    ("stat", "ansible.builtin"),
    ("fail", "ansible.builtin"),
    ("assert", "ansible.builtin"),
    ("set_fact", "ansible.builtin"),
    ("setup", "ansible.builtin"),
    ("package_facts", "ansible.builtin"),
    ("service_facts", "ansible.builtin"),
    ("pause", "ansible.builtin"),
    ("include_vars", "ansible.builtin"),
    ("service", "ansible.builtin"),
    ("package", "ansible.builtin"),
    ("cron", "ansible.builtin"),
    ("raw", "ansible.builtin"),
    ("slurp", "ansible.builtin"),
    ("pam_limits", "community.general"),
    ("hostname", "ansible.builtin"),
    ("timezone", "community.general"),
    ("locale_gen", "community.general"),
    ("mount", "ansible.posix"),
    ("script", "ansible.builtin"),
    ("known_hosts", "ansible.builtin"),
    ("git", "ansible.builtin"),
    ("apt_key", "ansible.builtin"),
    ("find", "ansible.builtin"),
    ("archive", "community.general"),
    ("synchronize", "ansible.posix"),
];

/// Fleet's modules that exist only in fleet.
const FLEET_ONLY: &[&str] = &["release"];

/// Other short names Ansible gives a fleet module: `systemd` is an alias of
/// Ansible's `systemd_service`.
const ALIASES: &[(&str, &str)] = &[("systemd_service", "systemd")];

/// The collections that reach every built-in module: `ansible.builtin`,
/// whose routing also forwards `authorized_key`, `sysctl` and `ufw` to the
/// collections that now hold them, and `ansible.legacy`.
const BUILTIN_COLLECTIONS: &[&str] = &["ansible.builtin", "ansible.legacy"];

/// What a module key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModuleName {
    /// A fleet module, by its short name.
    Fleet(&'static str),
    /// A collection name (it has a dot) of a module fleet does not
    /// implement.
    Unimplemented,
    /// Not a module name at all: maybe a misspelt keyword.
    Unknown,
}

/// Resolves what a task wrote as its module key.
pub(crate) fn resolve(written: &str) -> ModuleName {
    if let Some(short) = short_name(written) {
        return ModuleName::Fleet(short);
    }
    let Some((collection, short)) = written.rsplit_once('.') else {
        return ModuleName::Unknown;
    };
    let Some(module) = short_name(short).filter(|module| !FLEET_ONLY.contains(module)) else {
        return ModuleName::Unimplemented;
    };
    let own = COLLECTIONS
        .iter()
        .any(|(name, home)| *name == module && *home == collection);
    if own || BUILTIN_COLLECTIONS.contains(&collection) {
        ModuleName::Fleet(module)
    } else {
        ModuleName::Unimplemented
    }
}

/// Whether `written` names a fleet module, under any of its names.
pub(crate) fn is_module_name(written: &str) -> bool {
    matches!(resolve(written), ModuleName::Fleet(_))
}

/// A fleet module's own name, or the module an alias stands for.
fn short_name(name: &str) -> Option<&'static str> {
    fleet_modules::MODULES
        .iter()
        .copied()
        .find(|module| *module == name)
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| *alias == name)
                .map(|(_, module)| *module)
        })
}

/// The fully qualified name of each fleet module Ansible has, e.g.
/// `ansible.posix.sysctl`: for hints.
pub(crate) fn qualified_names() -> impl Iterator<Item = String> {
    COLLECTIONS
        .iter()
        .map(|(module, collection)| format!("{collection}.{module}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ModuleName::{Fleet, Unimplemented, Unknown};

    #[test]
    fn every_fleet_module_has_a_collection_or_is_fleets_own() {
        for module in fleet_modules::MODULES {
            let homes = COLLECTIONS
                .iter()
                .filter(|(name, _)| name == module)
                .count();
            let own = FLEET_ONLY.contains(module);
            assert!(homes == 1 && !own || homes == 0 && own, "{module}");
        }
        assert_eq!(
            COLLECTIONS.len() + FLEET_ONLY.len(),
            fleet_modules::MODULES.len()
        );
    }

    #[test]
    fn collection_names_resolve_to_the_short_name() {
        assert_eq!(resolve("apt"), Fleet("apt"));
        assert_eq!(resolve("ansible.builtin.command"), Fleet("command"));
        assert_eq!(resolve("ansible.legacy.shell"), Fleet("shell"));
        assert_eq!(
            resolve("ansible.posix.authorized_key"),
            Fleet("authorized_key")
        );
        assert_eq!(resolve("ansible.posix.sysctl"), Fleet("sysctl"));
        assert_eq!(resolve("community.general.ufw"), Fleet("ufw"));
        assert_eq!(resolve("systemd_service"), Fleet("systemd"));
        assert_eq!(resolve("ansible.builtin.systemd_service"), Fleet("systemd"));
        // Ansible's built-in routing forwards the modules that moved out.
        assert_eq!(resolve("ansible.builtin.ufw"), Fleet("ufw"));
        assert_eq!(resolve("ansible.builtin.sysctl"), Fleet("sysctl"));
        for qualified in qualified_names() {
            assert!(matches!(resolve(&qualified), Fleet(_)), "{qualified}");
        }
    }

    #[test]
    fn other_collection_names_are_unimplemented() {
        assert_eq!(resolve("ansible.builtin.dnf"), Unimplemented);
        assert_eq!(resolve("community.docker.docker_container"), Unimplemented);
        assert_eq!(resolve("community.general.sysctl"), Unimplemented);
        assert_eq!(resolve("ansible.posix.apt"), Unimplemented);
        assert_eq!(resolve("ansible.builtin.release"), Unimplemented);
        assert_eq!(resolve("whenn"), Unknown);
    }
}
