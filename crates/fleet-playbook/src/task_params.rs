//! A task's module params: a map, a `key=value` string (see
//! [`crate::free_form`]), or for `command` and `shell` the command itself;
//! with the task's `args:` merged under them.

use fleet_yaml::{Node, YamlNode, message_quote};
use serde_json::{Map, Value};

use crate::error::PlaybookError;
use crate::fields::Fields;
use crate::free_form::{FreeFormError, Parsed, command_args, module_args};

/// The params of `module` (its short name) written as `value`, under the
/// key `key`, with `args` (the task's `args:`) below them: where both set
/// a parameter, the module's own wins, as in Ansible.
pub(crate) fn read_params(
    f: &Fields,
    module: &str,
    key: &YamlNode,
    value: &YamlNode,
    args: Option<&YamlNode>,
) -> Result<Value, PlaybookError> {
    let mut params = merged_params(f, module, key, value, args)?;
    drop_obsolete(f, module, key, &mut params);
    Ok(params)
}

/// Parameters Ansible once had and real playbooks still carry: each is
/// dropped with a warning instead of being refused, with why it is safe.
const OBSOLETE: &[(&str, &str, &str)] = &[
    (
        "command",
        "warn",
        "ansible-core 2.14 removed it (it only silenced hints about using modules); delete it",
    ),
    (
        "shell",
        "warn",
        "ansible-core 2.14 removed it (it only silenced hints about using modules); delete it",
    ),
];

fn drop_obsolete(f: &Fields, module: &str, key: &YamlNode, params: &mut Value) {
    let Value::Object(map) = params else {
        return;
    };
    for (obsolete_in, param, hint) in OBSOLETE {
        if *obsolete_in == module && map.remove(*param).is_some() {
            crate::warnings::warn(
                f.at(key),
                format!("`{module}`'s `{param}` is obsolete and ignored"),
                *hint,
            );
        }
    }
}

fn merged_params(
    f: &Fields,
    module: &str,
    key: &YamlNode,
    value: &YamlNode,
    args: Option<&YamlNode>,
) -> Result<Value, PlaybookError> {
    let written = match &value.value {
        Node::Str(text) => from_string(f, module, key, value, text)?,
        other => other.to_json(),
    };
    let Some(args) = args else {
        return Ok(written);
    };
    let Value::Object(mut merged) = args.value.to_json() else {
        return Err(f.wrong_type(
            args,
            "args",
            "a map of the module's parameters",
            "args: {chdir: /srv/app, creates: /srv/app/built}",
        ));
    };
    match written {
        Value::Object(own) => merged.extend(own),
        Value::Null => {}
        Value::String(cmd) if fleet_modules::takes_free_form(module) => {
            merged.insert("cmd".into(), Value::String(cmd));
        }
        _ => {
            return Err(PlaybookError::invalid(
                f.at(args),
                format!("`args` cannot be merged into the `{module}` params written here"),
                "write the module's params as a map (or `key=value` words) to combine them with `args`",
            ));
        }
    }
    Ok(Value::Object(merged))
}

/// A string: the command of `command`/`shell` (with its `key=value`
/// options), else `key=value` words, or a template that names the whole
/// map (kept as written, rendered per host).
fn from_string(
    f: &Fields,
    module: &str,
    key: &YamlNode,
    value: &YamlNode,
    text: &str,
) -> Result<Value, PlaybookError> {
    if fleet_modules::takes_free_form(module) {
        let (cmd, options) = command_args(text);
        if options.is_empty() {
            return Ok(Value::String(text.to_owned()));
        }
        let mut params = Map::new();
        params.insert("cmd".into(), Value::String(cmd));
        params.extend(options);
        return Ok(Value::Object(params));
    }
    if module == "include_vars" && !text.contains('=') {
        // `include_vars: vars/app.yml` names the file, as in Ansible.
        let mut params = Map::new();
        params.insert("file".into(), Value::String(text.trim().to_owned()));
        return Ok(Value::Object(params));
    }
    let written = key.value.as_str().unwrap_or(module);
    let example =
        format!("`{written}: name=value other=value`, or a map: `{written}: {{name: value}}`");
    match module_args(text) {
        Ok(Parsed::Params(params)) => Ok(Value::Object(params)),
        Ok(Parsed::Variable) => Ok(Value::String(text.to_owned())),
        Err(FreeFormError::NotKeyValue(word)) => Err(PlaybookError::invalid(
            f.at(value),
            format!(
                "the `{module}` params are `key=value` words, but {} is not one",
                message_quote(&word)
            ),
            format!("only `command` and `shell` take a bare command; write {example}"),
        )),
        Err(FreeFormError::Unbalanced) => Err(PlaybookError::invalid(
            f.at(value),
            format!("the `{module}` params have a quote or a Jinja block that is not closed"),
            format!("close every `'`, `\"`, `{{{{` and `{{%`; write {example}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::{LoadOptions, load};

    #[test]
    fn an_obsolete_warn_is_dropped_with_a_warning() {
        let dir = std::env::temp_dir().join(format!("fleet-obsolete-{}", fleet_shell::token()));
        std::fs::create_dir_all(&dir).unwrap();
        let site = dir.join("site.yml");
        std::fs::write(
            &site,
            "- hosts: all\n  tasks:\n    - command: uptime warn=false\n\
             \x20   - shell: echo hi\n      args: {warn: no, chdir: /tmp}\n\
             \x20   - command: {cmd: uptime, warn: false}\n",
        )
        .unwrap();
        let playbook = load(&site, &LoadOptions::default()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let tasks = &playbook.plays[0].tasks;
        for task in tasks {
            assert!(task.params.get("warn").is_none(), "{:?}", task.params);
        }
        assert_eq!(tasks[1].params["chdir"], "/tmp");
        let warnings: Vec<String> = playbook.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].ends_with(
                "site.yml:3:7: `command`'s `warn` is obsolete and ignored\n  \
                 hint: ansible-core 2.14 removed it (it only silenced hints about using modules); delete it"
            ),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("`shell`'s `warn`"), "{warnings:?}");
    }
}
