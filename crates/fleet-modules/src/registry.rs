//! The table of built-in modules, and validation of a task's params before
//! any host is contacted.

use serde_json::{Map, Value};

use crate::deploy::Deployer;
use crate::error::{ModuleError, ParamError};
use crate::modules;
use crate::{Controller, Module};

type Build = fn(Value, &dyn Controller) -> Result<Box<dyn Module>, ModuleError>;

struct Entry {
    name: &'static str,
    params: &'static [&'static str],
    /// Accepts a bare string, as in `command: uptime`; it becomes `cmd`.
    free_form: bool,
    /// Takes any variable name as a parameter besides `params` (`set_fact`).
    any_params: bool,
    /// Params that are expressions the module evaluates with the host's
    /// vars, not rendered before it is built (`debug`'s `var`).
    expressions: &'static [&'static str],
    build: Build,
    /// For a module that deploys apps: see `crate::deploy`.
    deploy: Option<&'static Deployer>,
}

macro_rules! entry {
    ($module:ident, free_form) => {
        Entry {
            free_form: true,
            ..entry!($module)
        }
    };
    ($module:ident, deploys) => {
        Entry {
            deploy: Some(&modules::$module::DEPLOYER),
            ..entry!($module)
        }
    };
    ($module:ident, any_params) => {
        Entry {
            any_params: true,
            ..entry!($module)
        }
    };
    ($module:ident, expressions) => {
        Entry {
            expressions: modules::$module::EXPRESSIONS,
            ..entry!($module)
        }
    };
    ($module:ident) => {
        Entry {
            name: stringify!($module),
            params: modules::$module::PARAMS,
            free_form: false,
            any_params: false,
            expressions: &[],
            build: modules::$module::build,
            deploy: None,
        }
    };
}

const ENTRIES: &[Entry] = &[
    entry!(command, free_form),
    entry!(shell, free_form),
    entry!(file),
    entry!(copy),
    entry!(template),
    entry!(lineinfile),
    entry!(blockinfile),
    entry!(replace),
    entry!(apt),
    entry!(apt_repository),
    entry!(deb822_repository),
    entry!(user),
    entry!(group),
    entry!(authorized_key),
    entry!(systemd),
    entry!(sysctl),
    entry!(ufw),
    entry!(pip),
    entry!(postgresql_db),
    entry!(postgresql_user),
    entry!(postgresql_privs),
    entry!(postgresql_query),
    entry!(postgresql_pg_hba),
    entry!(unarchive),
    entry!(release, deploys),
    entry!(fetch),
    entry!(debug, expressions),
    entry!(wait_for),
    entry!(uri),
    entry!(get_url),
    entry!(stat),
    entry!(fail),
    entry!(assert, expressions),
    entry!(set_fact, any_params),
    entry!(setup),
    entry!(package_facts),
    entry!(service_facts),
    entry!(pause),
    entry!(include_vars),
    entry!(service),
    entry!(package),
    entry!(cron),
    entry!(raw, free_form),
    entry!(slurp),
    entry!(pam_limits),
    entry!(hostname),
    entry!(timezone),
    entry!(locale_gen),
    entry!(mount),
    entry!(script, free_form),
    entry!(known_hosts),
    entry!(git),
    entry!(apt_key),
    entry!(find),
    // `modules::archive` is the archive reader `unarchive` uses.
    Entry {
        name: "archive",
        params: modules::archive_create::PARAMS,
        free_form: false,
        any_params: false,
        expressions: &[],
        build: modules::archive_create::build,
        deploy: None,
    },
    entry!(synchronize),
];

/// The names of every built-in module.
pub const MODULES: &[&str] = &[
    "command",
    "shell",
    "file",
    "copy",
    "template",
    "lineinfile",
    "blockinfile",
    "replace",
    "apt",
    "apt_repository",
    "deb822_repository",
    "user",
    "group",
    "authorized_key",
    "systemd",
    "sysctl",
    "ufw",
    "pip",
    "postgresql_db",
    "postgresql_user",
    "postgresql_privs",
    "postgresql_query",
    "postgresql_pg_hba",
    "unarchive",
    "release",
    "fetch",
    "debug",
    "wait_for",
    "uri",
    "get_url",
    "stat",
    "fail",
    "assert",
    "set_fact",
    "setup",
    "package_facts",
    "service_facts",
    "pause",
    "include_vars",
    "service",
    "package",
    "cron",
    "raw",
    "slurp",
    "pam_limits",
    "hostname",
    "timezone",
    "locale_gen",
    "mount",
    "script",
    "known_hosts",
    "git",
    "apt_key",
    "find",
    "archive",
    "synchronize",
];

fn entry(name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|entry| entry.name == name)
}

/// How module `name` answers `crate::deploy`, when it deploys apps.
pub(crate) fn deployer(name: &str) -> Option<&'static Deployer> {
    entry(name).and_then(|entry| entry.deploy)
}

/// Every module that deploys apps, with how it answers `crate::deploy`.
pub(crate) fn deployers() -> impl Iterator<Item = (&'static str, &'static Deployer)> {
    ENTRIES
        .iter()
        .filter_map(|entry| Some((entry.name, entry.deploy?)))
}

pub fn is_module(name: &str) -> bool {
    entry(name).is_some()
}

/// Whether module `name` takes a bare string as its command (`cmd`), as in
/// `command: uptime`.
pub fn takes_free_form(name: &str) -> bool {
    entry(name).is_some_and(|entry| entry.free_form)
}

/// Whether module `name` takes any variable name as a parameter
/// (`set_fact`).
pub fn takes_any_params(name: &str) -> bool {
    entry(name).is_some_and(|entry| entry.any_params)
}

/// The params of module `name` that are expressions it evaluates itself
/// with the host's vars; the engine passes them unrendered.
pub fn expression_params(name: &str) -> &'static [&'static str] {
    entry(name).map_or(&[], |entry| entry.expressions)
}

/// The parameter names `name` accepts.
pub fn params_of(name: &str) -> Option<&'static [&'static str]> {
    entry(name).map(|entry| entry.params)
}

/// Checks a task's params before any host is contacted: the module exists,
/// every key is a parameter of it, and, when no value is templated, that the
/// values have the right types and combine sensibly.
pub fn validate(name: &str, params: &Value) -> Result<(), ParamError> {
    let Some(entry) = entry(name) else {
        return Err(ParamError::UnknownModule {
            name: name.to_string(),
            suggestion: fleet_yaml::did_you_mean(name, MODULES.iter().copied()),
        });
    };
    let params = normalize(entry, params.clone()).map_err(|message| ParamError::Invalid {
        module: name.to_string(),
        message,
    })?;
    if let Value::Object(map) = &params
        && !entry.any_params
        && let Some(param) = map.keys().find(|key| !entry.params.contains(&key.as_str()))
    {
        return Err(ParamError::UnknownParam {
            module: name.to_string(),
            param: param.clone(),
            valid: entry.params.to_vec(),
        });
    }
    if is_templated(&params) {
        return Ok(());
    }
    match (entry.build)(params, &NoController) {
        Err(ModuleError::Params { message, .. }) => Err(ParamError::Invalid {
            module: name.to_string(),
            message,
        }),
        _ => Ok(()),
    }
}

/// Builds module `name` from params already rendered for one host.
pub fn build(
    name: &str,
    params: Value,
    controller: &dyn Controller,
) -> Result<Box<dyn Module>, ModuleError> {
    let entry =
        entry(name).ok_or_else(|| ModuleError::Failed(format!("unknown module `{name}`")))?;
    let params = normalize(entry, params).map_err(|message| ModuleError::Params {
        module: name.to_string(),
        message,
    })?;
    (entry.build)(params, controller)
}

fn normalize(entry: &Entry, params: Value) -> Result<Value, String> {
    match params {
        Value::String(cmd) if entry.free_form => {
            let mut map = Map::new();
            map.insert("cmd".into(), Value::String(cmd));
            Ok(Value::Object(map))
        }
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(map) => Ok(Value::Object(map)),
        other => Err(format!("parameters must be a map, got {other}")),
    }
}

/// Whether a string under `value` holds template syntax.
pub(crate) fn is_templated(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains("{{") || text.contains("{%"),
        Value::Array(items) => items.iter().any(is_templated),
        Value::Object(map) => map.values().any(is_templated),
        _ => false,
    }
}

/// Validation builds modules without reading controller files or
/// evaluating expressions (host vars are not known yet).
struct NoController;

impl Controller for NoController {
    fn read_file(&self, _src: &str) -> Result<Vec<u8>, ModuleError> {
        Ok(Vec::new())
    }
    fn render_template(&self, _src: &str) -> Result<String, ModuleError> {
        Ok(String::new())
    }
    fn condition(&self, _expression: &str) -> Result<bool, ModuleError> {
        Ok(true)
    }
    fn variable(&self, _expression: &str) -> Result<Option<Value>, ModuleError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_module_is_registered_once() {
        let names: Vec<&str> = ENTRIES.iter().map(|e| e.name).collect();
        assert_eq!(names, MODULES);
    }

    /// The `PARAMS` lists and the params structs agree: every listed name is
    /// accepted by the struct (an unknown field would be reported by serde).
    #[test]
    fn params_lists_match_the_params_structs() {
        for entry in ENTRIES {
            for param in entry.params {
                let params = json!({ *param: "__probe__" });
                if let Err(ModuleError::Params { message, .. }) =
                    (entry.build)(params, &NoController)
                {
                    assert!(
                        !message.contains("unknown field"),
                        "{}.{param}: {message}",
                        entry.name
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_modules_and_params_are_named_with_hints() {
        let err = validate("copyy", &json!({})).unwrap_err();
        assert_eq!(err.hint(), "did you mean `copy`?");
        let err = validate("command", &json!({"cmd": "true", "chdri": "/"})).unwrap_err();
        assert_eq!(err.to_string(), "`command` has no parameter `chdri`");
        assert!(err.hint().contains("chdir"));
    }

    #[test]
    fn free_form_becomes_cmd() {
        assert_eq!(validate("command", &json!("uptime")), Ok(()));
        assert!(validate("file", &json!("/tmp/x")).is_err());
    }
}
