//! Reads one task (or handler) map: its keywords and its one module.

use fleet_yaml::{Node, YamlNode, did_you_mean, message_quote};
use serde_json::{Map, Value};

use crate::Task;
use crate::error::PlaybookError;
use crate::fields::{Fields, is_identifier, shown_key};
use crate::loops::{LoopControl, loop_keyword, read_loop_control, read_terms};
use crate::module_names::{ModuleName, qualified_names, resolve};
use crate::play::read_vars;
use crate::task_params::read_params;
use crate::templater::is_template;
use crate::vars::BUILTIN_VARS;

/// The keys a task may hold besides its module.
pub(crate) const TASK_KEYWORDS: &[&str] = &[
    "name",
    "args",
    "vars",
    "when",
    "loop",
    "loop_control",
    "register",
    "notify",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "tags",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "retries",
    "delay",
    "until",
    "run_once",
    "once_per",
    "no_log",
    "check_mode",
    "environment",
    "timeout",
    "delegate_to",
    "delegate_facts",
    "local_action",
    "action",
    "listen",
    "diff",
];

/// The names of the `meta` action.
const META_NAMES: &[&str] = &["meta", "ansible.builtin.meta", "ansible.legacy.meta"];

/// `meta:` actions fleet runs, as Ansible does.
pub const META_ACTIONS: &[&str] = &[
    "flush_handlers",
    "noop",
    "end_host",
    "end_play",
    "end_batch",
    "clear_host_errors",
];

/// The keys of a dynamic task file include, as Ansible spells them; fleet
/// calls each `include_tasks`.
pub(crate) const DYNAMIC_INCLUDES: &[&str] = &[
    "include_tasks",
    "ansible.builtin.include_tasks",
    "ansible.legacy.include_tasks",
    "include",
    "ansible.builtin.include",
    "ansible.legacy.include",
];

/// The `delegate_to` names of the controller itself, reached over the
/// local connection whatever the inventory says.
pub const CONTROLLER_NAMES: &[&str] = &["localhost", "127.0.0.1"];

/// Reads the task `node`; `what` is "task" or "handler" in messages.
pub(crate) fn parse_task(f: &Fields, node: &YamlNode, what: &str) -> Result<Task, PlaybookError> {
    let Node::Map(entries) = &node.value else {
        return Err(PlaybookError::invalid(
            f.at(node),
            format!("each {what} must be a map, got {}", node.value.describe()),
            "write a task like `- name: show uptime\n    command: uptime`",
        ));
    };
    let mut task = Task {
        name: String::new(),
        module: String::new(),
        module_as_written: String::new(),
        params: Value::Null,
        when: None,
        r#loop: None,
        loop_with: None,
        loop_control: LoopControl::default(),
        register: None,
        notify: Vec::new(),
        r#become: None,
        become_user: None,
        become_method: None,
        become_flags: None,
        tags: Vec::new(),
        changed_when: None,
        failed_when: None,
        ignore_errors: false,
        retries: None,
        delay: None,
        until: None,
        run_once: false,
        once_per: None,
        no_log: false,
        check_mode: None,
        environment: Vec::new(),
        timeout: None,
        delegate_to: None,
        delegate_at: None,
        delegate_facts: false,
        listen: Vec::new(),
        aliases: Vec::new(),
        blocks: Vec::new(),
        role_defaults: Map::new(),
        role_dir: None,
        vars: Map::new(),
        diff: None,
        include: None,
        included: Vec::new(),
        origin: f.origin(node),
    };
    let mut args = None;
    let mut loop_key: Option<&YamlNode> = None;
    let mut module: Option<(&YamlNode, &YamlNode, &'static str)> = None;
    for (key, value) in entries {
        let Some(name) = key.value.as_str() else {
            return Err(unknown_key(f, key, what));
        };
        match name {
            "name" => task.name = f.string(value, "name", "name: install nginx")?,
            "args" => args = Some(value),
            "vars" => task.vars = read_vars(f, value, &format!("{what} vars"))?,
            "when" => task.when = Some(f.condition(value, name, true)?),
            "changed_when" => task.changed_when = Some(f.condition(value, name, true)?),
            "failed_when" => task.failed_when = Some(f.condition(value, name, true)?),
            "until" => task.until = Some(f.condition(value, name, true)?),
            "loop" => {
                one_loop(f, &mut loop_key, key, what)?;
                task.r#loop = Some(read_loop(f, value)?);
            }
            "loop_control" => task.loop_control = read_loop_control(f, value)?,
            "register" => task.register = Some(read_register(f, value)?),
            "notify" => task.notify = f.strings(value, name, "notify: restart nginx")?,
            "become" => task.r#become = Some(f.bool(value, name)?),
            "become_user" => {
                task.become_user = Some(f.string(value, name, "become_user: postgres")?);
            }
            "become_method" => {
                task.become_method = Some(crate::become_keys::read_become_method(f, value)?);
            }
            "become_flags" => {
                task.become_flags = Some(crate::become_keys::read_become_flags(f, value)?);
            }
            "tags" => task.tags = f.strings(value, name, "tags: [deploy, nginx]")?,
            "ignore_errors" => task.ignore_errors = f.bool(value, name)?,
            "run_once" => task.run_once = f.bool(value, name)?,
            "once_per" => {
                task.once_per = Some(f.string(
                    value,
                    name,
                    "once_per: \"{{ facts.os_codename }}-{{ facts.arch }}\"",
                )?);
            }
            "no_log" => task.no_log = f.bool(value, name)?,
            "check_mode" => task.check_mode = Some(f.bool(value, name)?),
            "diff" => task.diff = Some(f.bool(value, name)?),
            "retries" => task.retries = Some(f.count(value, name)?),
            "delay" => task.delay = Some(f.number(value, name, 0.0)?),
            "timeout" => task.timeout = Some(read_timeout(f, value)?),
            "environment" => task.environment = read_environment(f, value)?,
            "delegate_to" => {
                task.delegate_to = Some(read_delegate_to(f, value)?);
                task.delegate_at = Some(f.at(value));
            }
            "delegate_facts" => task.delegate_facts = f.bool(value, name)?,
            "listen" if what == "handler" => {
                task.listen = f.strings(value, name, "listen: restart web")?;
            }
            _ if let Some(lookup) = loop_keyword(f, key, name)? => {
                one_loop(f, &mut loop_key, key, what)?;
                task.r#loop = Some(read_terms(f, value, lookup)?);
                task.loop_with = Some(lookup);
            }
            _ => {
                let short = match resolve(name) {
                    _ if META_NAMES.contains(&name) => "meta",
                    _ if DYNAMIC_INCLUDES.contains(&name) => "include_tasks",
                    ModuleName::Fleet(short) => short,
                    ModuleName::Unimplemented => return Err(unimplemented(f, key, what)),
                    ModuleName::Unknown => return Err(unknown_key(f, key, what)),
                };
                if let Some((first, _, _)) = module {
                    return Err(PlaybookError::invalid(
                        f.at(key),
                        format!(
                            "this {what} has two modules, {} and `{name}`",
                            shown_key(first)
                        ),
                        "a task runs exactly one module; split it into two tasks",
                    ));
                }
                module = Some((key, value, short));
            }
        }
    }
    let Some((key, value, short)) = module else {
        return Err(PlaybookError::invalid(
            f.at(node),
            format!("this {what} has no module"),
            format!(
                "add exactly one module, e.g. `command: uptime`; modules: {}",
                fleet_modules::MODULES.join(", ")
            ),
        ));
    };
    if task.until.is_some() && task.retries.is_none() {
        // Ansible's default: `until` alone retries 3 times.
        task.retries = Some(3);
    }
    task.module = short.to_owned();
    task.module_as_written = key.value.as_str().unwrap_or_default().to_owned();
    task.params = match short {
        "meta" | "include_tasks" => value.value.to_json(),
        _ => read_params(f, short, key, value, args)?,
    };
    match short {
        "meta" => check_meta_action(f, value, &task.params)?,
        "set_fact" => check_fact_names(f, value, &task.params)?,
        // Ansible runs a pause once for all hosts (its action bypasses the
        // host loop): its result is every host's.
        "pause" => task.run_once = true,
        _ => {}
    }
    if task.name.is_empty() {
        task.name = match short {
            // Ansible names an unnamed include by its action.
            "include_tasks" => task.module_as_written.clone(),
            _ => summary(&task.module, &task.params),
        };
    }
    Ok(task)
}

fn unknown_key(f: &Fields, key: &YamlNode, what: &str) -> PlaybookError {
    let word = key.value.as_str().unwrap_or_default();
    let candidates = TASK_KEYWORDS.iter().chain(fleet_modules::MODULES).copied();
    let advice = did_you_mean(word, candidates)
        .map(|near| near + " ")
        .unwrap_or_default();
    PlaybookError::invalid(
        f.at(key),
        format!("unknown {what} key or module {}", shown_key(key)),
        format!(
            "{advice}a {what} holds one module ({}) and any of the keys {}",
            fleet_modules::MODULES.join(", "),
            TASK_KEYWORDS.join(", ")
        ),
    )
}

/// Notes the loop keyword `key`; a second one is an error.
fn one_loop<'n>(
    f: &Fields,
    seen: &mut Option<&'n YamlNode>,
    key: &'n YamlNode,
    what: &str,
) -> Result<(), PlaybookError> {
    if let Some(first) = seen {
        return Err(PlaybookError::invalid(
            f.at(key),
            format!(
                "this {what} has two loops, {} and {}",
                shown_key(first),
                shown_key(key)
            ),
            "a task loops over one list: keep one of them; `loop:` can hold what any `with_*` gives",
        ));
    }
    *seen = Some(key);
    Ok(())
}

/// A collection name of a module fleet does not implement.
fn unimplemented(f: &Fields, key: &YamlNode, what: &str) -> PlaybookError {
    let written = key.value.as_str().unwrap_or_default();
    let known: Vec<String> = qualified_names().collect();
    let near = did_you_mean(written, known.iter().map(String::as_str))
        .map(|near| near + " ")
        .unwrap_or_default();
    PlaybookError::invalid(
        f.at(key),
        format!("this {what} uses the module `{written}`, which fleet does not implement"),
        format!(
            "{near}fleet runs its own modules ({}), also under their Ansible names such as \
             `ansible.builtin.copy` or `ansible.posix.sysctl`; do this step with one of them, \
             or with `command`/`shell`",
            fleet_modules::MODULES.join(", ")
        ),
    )
}

fn read_loop(f: &Fields, node: &YamlNode) -> Result<Value, PlaybookError> {
    match &node.value {
        Node::Seq(_) | Node::Str(_) => Ok(node.value.to_json()),
        other => Err(PlaybookError::invalid(
            f.at(node),
            format!(
                "`loop` must be a list or a template string that renders to a list, got {}",
                other.describe()
            ),
            "write `loop: [a, b]`, or `loop: \"{{ packages }}\"` for a list variable",
        )),
    }
}

/// The names a `set_fact` sets are variable names, and none is built in.
fn check_fact_names(f: &Fields, node: &YamlNode, params: &Value) -> Result<(), PlaybookError> {
    let Value::Object(params) = params else {
        return Ok(());
    };
    for name in params.keys().filter(|name| *name != "cacheable") {
        let at = crate::fields::entry(node, name).map_or(node, |(key, _)| key);
        if !is_identifier(name) {
            return Err(PlaybookError::invalid(
                f.at(at),
                format!(
                    "`set_fact` needs variable names, got {}",
                    message_quote(name)
                ),
                "use letters, digits and `_`, not starting with a digit, e.g. `app_version`",
            ));
        }
        if BUILTIN_VARS.contains(&name.as_str()) {
            return Err(PlaybookError::invalid(
                f.at(at),
                format!("`set_fact` cannot set the built-in variable `{name}`"),
                format!(
                    "pick another name; built-in variables: {}",
                    BUILTIN_VARS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn read_register(f: &Fields, node: &YamlNode) -> Result<String, PlaybookError> {
    let name = f.string(node, "register", "register: result")?;
    if !is_identifier(&name) {
        return Err(PlaybookError::invalid(
            f.at(node),
            format!(
                "`register` needs a variable name, got {}",
                message_quote(&name)
            ),
            "use letters, digits and `_`, not starting with a digit, e.g. `register: app_status`",
        ));
    }
    if name == "item" || BUILTIN_VARS.contains(&name.as_str()) {
        return Err(PlaybookError::invalid(
            f.at(node),
            format!("`register: {name}` would hide the built-in variable `{name}`"),
            format!(
                "pick another name; built-in variables: item, {}",
                BUILTIN_VARS.join(", ")
            ),
        ));
    }
    Ok(name)
}

/// A host name, or a template that renders to one per host (and item).
pub(crate) fn read_delegate_to(f: &Fields, node: &YamlNode) -> Result<String, PlaybookError> {
    let target = f.string(node, "delegate_to", "delegate_to: localhost")?;
    let target = target.trim();
    if target.is_empty() || target.chars().any(char::is_whitespace) && !is_template(target) {
        return Err(PlaybookError::invalid(
            f.at(node),
            format!(
                "`delegate_to` must name one host, got {}",
                message_quote(target)
            ),
            "write an inventory host, `localhost` for the controller, or a template such as \
             `delegate_to: \"{{ groups['db'][0] }}\"`",
        ));
    }
    Ok(target.to_owned())
}

fn read_timeout(f: &Fields, node: &YamlNode) -> Result<f64, PlaybookError> {
    let seconds = f.number(node, "timeout", 0.0)?;
    if seconds > 0.0 {
        Ok(seconds)
    } else {
        Err(PlaybookError::invalid(
            f.at(node),
            "`timeout` must be more than 0 seconds",
            "write it like `timeout: 300`, or leave it out for no limit",
        ))
    }
}

pub(crate) fn read_environment(
    f: &Fields,
    node: &YamlNode,
) -> Result<Vec<(String, String)>, PlaybookError> {
    const EXAMPLE: &str = "environment: {LANG: C.UTF-8, APP_ENV: \"{{ app_env }}\"}";
    let entries = match &node.value {
        Node::Null => return Ok(Vec::new()),
        Node::Map(entries) => entries,
        _ => return Err(f.wrong_type(node, "environment", "a map of names to values", EXAMPLE)),
    };
    let mut environment = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let name = key.value.as_str().unwrap_or_default();
        if !is_identifier(name) {
            return Err(PlaybookError::invalid(
                f.at(key),
                format!(
                    "environment variable name {} is not a valid name",
                    key.value.describe()
                ),
                "use letters, digits and `_`, not starting with a digit, e.g. `APP_ENV`",
            ));
        }
        let text = match &value.value {
            Node::Str(text) => text.clone(),
            Node::Int(number) => number.to_string(),
            Node::Float(number) => number.to_string(),
            Node::Bool(flag) => flag.to_string(),
            other => {
                return Err(PlaybookError::invalid(
                    f.at(value),
                    format!(
                        "environment variable `{name}` must be a string, number or bool, got {}",
                        other.describe()
                    ),
                    format!("write it like `{EXAMPLE}`"),
                ));
            }
        };
        environment.push((name.to_owned(), text));
    }
    Ok(environment)
}

/// A `meta` action fleet runs.
fn check_meta_action(f: &Fields, value: &YamlNode, params: &Value) -> Result<(), PlaybookError> {
    if META_ACTIONS.contains(&params.as_str().unwrap_or_default()) {
        return Ok(());
    }
    Err(PlaybookError::invalid(
        f.at(value),
        format!(
            "unknown or unsupported `meta` action {}",
            value.value.describe()
        ),
        format!("fleet runs the meta actions {}", META_ACTIONS.join(", ")),
    ))
}

/// The name of an unnamed task: `module: main param`, shortened.
fn summary(module: &str, params: &Value) -> String {
    const MAIN: [&str; 10] = [
        "name", "path", "dest", "cmd", "src", "pkg", "key", "url", "port", "rule",
    ];
    let detail = match params {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) => MAIN.iter().find_map(|key| match map.get(*key)? {
            Value::String(text) => Some(text.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map_or_else(|| item.to_string(), str::to_owned)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            other => Some(other.to_string()),
        }),
        _ => None,
    };
    match detail {
        Some(detail) if !detail.trim().is_empty() => {
            let line = detail.lines().next().unwrap_or_default().trim();
            let short: String = line.chars().take(60).collect();
            let more = if short.len() < detail.trim().len() {
                "..."
            } else {
                ""
            };
            format!("{module}: {short}{more}")
        }
        _ => module.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unnamed_tasks_are_named_after_their_module() {
        assert_eq!(summary("command", &json!("uptime")), "command: uptime");
        assert_eq!(
            summary("file", &json!({"state": "directory", "path": "/opt/x"})),
            "file: /opt/x"
        );
        assert_eq!(summary("apt", &json!({"pkg": ["a", "b"]})), "apt: a, b");
        assert_eq!(
            summary("shell", &json!("echo a\necho b")),
            "shell: echo a..."
        );
        assert_eq!(summary("ufw", &json!({"state": "enabled"})), "ufw");
    }
}
