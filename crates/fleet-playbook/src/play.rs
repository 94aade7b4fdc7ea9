//! Reads one play map: its keys, vars, vars files, tasks and handlers.

use std::path::{Path, PathBuf};

use fleet_yaml::{Location, Node, YamlNode, did_you_mean, message_quote, parse_document};
use serde_json::{Map, Value};

use crate::error::PlaybookError;
use crate::expand::{Entry, Expander};
use crate::fields::{Fields, is_identifier, shown_key};
use crate::loader::normalize;
use crate::play_keys::{self, HostOrder, Strategy};
use crate::serial::{parse_rollback, parse_serial};
use crate::task::TASK_KEYWORDS;
use crate::templater::{Templater, is_template};
use crate::vars::BUILTIN_VARS;
use crate::{Play, PlayConnection, Rollback, Task};

/// The keys a play may hold.
pub(crate) const PLAY_KEYS: &[&str] = &[
    "name",
    "hosts",
    "become",
    "become_user",
    "connection",
    "vars",
    "vars_files",
    "defaults_files",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "force_handlers",
    "tags",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "serial",
    "max_fail_percentage",
    "rollback",
    "strategy",
    "order",
    "throttle",
    "any_errors_fatal",
    "remote_user",
    "become_method",
    "become_flags",
    "environment",
    "module_defaults",
    "vars_prompt",
];

/// A play with what validation needs to point at its parts.
#[derive(Debug)]
pub(crate) struct ParsedPlay {
    pub(crate) play: Play,
    /// The file the play is in.
    pub(crate) label: String,
    /// The task maps and their files, parallel to `play.tasks`.
    pub(crate) task_nodes: Vec<(String, YamlNode)>,
    /// The handler maps and their files, parallel to `play.handlers`.
    pub(crate) handler_nodes: Vec<(String, YamlNode)>,
    /// The `vars` map and each vars file's map, with their file labels.
    pub(crate) vars_nodes: Vec<(String, YamlNode)>,
    /// The `serial` value, in the play's file.
    pub(crate) serial_node: Option<YamlNode>,
}

/// What a play needs from the loader.
pub(crate) struct PlayContext<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) template_dirs: &'a [PathBuf],
    pub(crate) extra_vars: &'a Map<String, Value>,
    pub(crate) roles_path: &'a [PathBuf],
}

pub(crate) fn parse_play(
    f: &Fields,
    node: &YamlNode,
    context: &PlayContext,
) -> Result<ParsedPlay, PlaybookError> {
    let Node::Map(entries) = &node.value else {
        return Err(f.wrong_type(node, "play", "a map", "hosts: web"));
    };
    let mut play = Play {
        name: String::new(),
        hosts: String::new(),
        hosts_origin: String::new(),
        r#become: false,
        become_written: false,
        become_user: None,
        become_method: None,
        become_flags: None,
        connection: None,
        vars: Map::new(),
        tasks: Vec::new(),
        handlers: Vec::new(),
        force_handlers: true,
        tags: Vec::new(),
        dir: context.dir.to_path_buf(),
        template_dirs: context.template_dirs.to_vec(),
        defaults: Map::new(),
        serial: None,
        max_fail_percentage: None,
        rollback: Rollback::default(),
        strategy: Strategy::default(),
        order: HostOrder::default(),
        throttle: None,
        any_errors_fatal: false,
        remote_user: None,
        vars_prompt: Vec::new(),
        gather_facts: true,
        gather_subset: Vec::new(),
        fact_path: None,
        origin: f.origin(node),
    };
    let mut environment = Vec::new();
    let mut module_defaults = Vec::new();
    let (mut pre_task_nodes, mut task_nodes, mut post_task_nodes) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut role_nodes = Vec::new();
    let mut handler_nodes = Vec::new();
    let mut vars_nodes = Vec::new();
    let mut vars_files = None;
    let mut defaults_files = None;
    let mut hosts_node = None;
    let mut serial_node = None;
    for (key, value) in entries {
        let Some(name) = key.value.as_str() else {
            return Err(unknown_key(f, key));
        };
        match name {
            "name" => play.name = f.string(value, name, "name: base setup")?,
            "hosts" => {
                play.hosts = f.string(value, name, "hosts: web")?.trim().to_owned();
                play.hosts_origin = f.value_origin(value);
                hosts_node = Some(value);
            }
            "become" => {
                play.r#become = f.bool(value, name)?;
                play.become_written = true;
            }
            "become_user" => play.become_user = Some(f.string(value, name, "become_user: root")?),
            "connection" => play.connection = Some(read_connection(f, value)?),
            "vars" => {
                play.vars.extend(read_vars(f, value, "play vars")?);
                vars_nodes.push((f.label.to_owned(), value.clone()));
            }
            "vars_files" => vars_files = Some(value),
            "defaults_files" => defaults_files = Some(value),
            "pre_tasks" => pre_task_nodes = task_list(f, value, name)?,
            "roles" => role_nodes = task_list(f, value, name)?,
            "tasks" => task_nodes = task_list(f, value, name)?,
            "post_tasks" => post_task_nodes = task_list(f, value, name)?,
            "handlers" => handler_nodes = task_list(f, value, name)?,
            "force_handlers" => play.force_handlers = f.bool(value, name)?,
            "tags" => play.tags = f.strings(value, name, "tags: [setup]")?,
            "gather_facts" => play.gather_facts = f.bool(value, name)?,
            "gather_subset" => play.gather_subset = play_keys::read_gather_subset(f, value)?,
            "gather_timeout" => {
                f.number(value, name, 1.0)?;
            }
            "fact_path" => {
                play.fact_path = Some(f.string(value, name, "fact_path: /etc/ansible/facts.d")?)
            }
            "serial" => {
                play.serial = Some(parse_serial(f, value)?);
                serial_node = Some(value.clone());
            }
            "max_fail_percentage" => {
                let percent = f.number(value, name, 0.0)?;
                if percent > 100.0 {
                    return Err(PlaybookError::invalid(
                        f.at(value),
                        format!("`max_fail_percentage` must be from 0 to 100, got {percent}"),
                        "write it like `max_fail_percentage: 25`",
                    ));
                }
                play.max_fail_percentage = Some(percent);
            }
            "rollback" => play.rollback = parse_rollback(f, value)?,
            "strategy" => play.strategy = play_keys::read_strategy(f, value)?,
            "order" => play.order = play_keys::read_order(f, value)?,
            "throttle" => play.throttle = Some(play_keys::read_throttle(f, value)?),
            "any_errors_fatal" => play.any_errors_fatal = f.bool(value, name)?,
            "remote_user" => {
                play.remote_user = Some(f.string(value, name, "remote_user: deploy")?)
            }
            "become_method" => {
                play.become_method = Some(crate::become_keys::read_become_method(f, value)?);
            }
            "become_flags" => {
                play.become_flags = Some(crate::become_keys::read_become_flags(f, value)?);
            }
            "environment" => environment = crate::task::read_environment(f, value)?,
            "module_defaults" => module_defaults = play_keys::read_module_defaults(f, value)?,
            "vars_prompt" => play.vars_prompt = play_keys::read_vars_prompt(f, value)?,
            _ => return Err(unknown_key(f, key)),
        }
    }
    if play.hosts.is_empty() {
        return Err(PlaybookError::invalid(
            f.at(node),
            "this play has no `hosts`",
            "every play says where it runs, e.g. `hosts: web` or `hosts: all`",
        ));
    }
    if let Some(files) = defaults_files {
        let defaults =
            read_vars_files(f, files, "defaults_files", context, &play, &mut vars_nodes)?;
        play.defaults = defaults;
    }
    if let Some(files) = vars_files {
        let vars = read_vars_files(f, files, "vars_files", context, &play, &mut vars_nodes)?;
        play.vars.extend(vars);
    }
    if let Some(node) = hosts_node.filter(|_| is_template(&play.hosts)) {
        play.hosts = render_hosts(f, node, &play, context)?;
    }
    let mut expander = Expander::new(context.dir, context.roles_path.to_vec());
    let pre_tasks = expander.expand(f, &pre_task_nodes, "task")?;
    let mut main = expander.roles(f, &role_nodes)?;
    main.extend(expander.expand(f, &task_nodes, "task")?);
    let post_tasks = expander.expand(f, &post_task_nodes, "task")?;
    let mut handlers = std::mem::take(&mut expander.role_handlers);
    handlers.extend(expander.expand(f, &handler_nodes, "handler")?);
    let mut tasks = Vec::new();
    for (index, section) in [pre_tasks, main, post_tasks].into_iter().enumerate() {
        tasks.extend(section);
        // Like Ansible, handlers notified by `pre_tasks` run before the
        // roles and `tasks`, those notified by them before `post_tasks`, and
        // the rest at the end of the play: three flushes, also when a
        // section is empty, so that a handler notified by a handler listed
        // after it gets the same flushes as in Ansible.
        if index < 2 && !tasks.is_empty() && !handlers.is_empty() {
            tasks.push(flush_handlers(f.label)?);
        }
    }
    let mut defaults = std::mem::take(&mut expander.role_defaults);
    defaults.extend(std::mem::take(&mut play.defaults));
    play.defaults = defaults;
    play.vars.extend(std::mem::take(&mut expander.role_vars));
    let mut task_nodes = Vec::with_capacity(tasks.len());
    for Entry { task, node, label } in tasks {
        play.tasks.push(task);
        task_nodes.push((label, node));
    }
    let mut handler_nodes = Vec::with_capacity(handlers.len());
    for Entry {
        task: handler,
        node,
        label,
    } in handlers
    {
        if crate::fields::entry(&node, "name").is_none() {
            return Err(PlaybookError::invalid(
                fleet_yaml::location(&label, &node.referenced),
                "this handler has no `name`",
                "`notify:` refers to handlers by name; add e.g. `name: restart nginx`",
            ));
        }
        let from_role = handler.role_dir.is_some();
        if let Some(first) = play
            .handlers
            .iter()
            .find(|h| h.name == handler.name && !from_role && h.role_dir.is_none())
        {
            return Err(PlaybookError::invalid(
                fleet_yaml::location(&label, &node.referenced),
                format!("two handlers are named {}", message_quote(&handler.name)),
                format!(
                    "the first one is at {}; handler names must be unique within a play",
                    first.origin
                ),
            ));
        }
        play.handlers.push(handler);
        handler_nodes.push((label, node));
    }
    play_keys::apply_environment(&mut play.tasks, &environment);
    play_keys::apply_module_defaults(&mut play.tasks, &module_defaults);
    play_keys::apply_environment(&mut play.handlers, &environment);
    play_keys::apply_module_defaults(&mut play.handlers, &module_defaults);
    if play.name.is_empty() {
        play.name.clone_from(&play.hosts);
    }
    crate::become_keys::check_tasks(&play)?;
    Ok(ParsedPlay {
        play,
        label: f.label.to_owned(),
        task_nodes,
        handler_nodes,
        vars_nodes,
        serial_node,
    })
}

/// The `meta: flush_handlers` that ends `pre_tasks` and `tasks`.
fn flush_handlers(label: &str) -> Result<Entry, PlaybookError> {
    const TEXT: &str = "name: flush handlers\nmeta: flush_handlers\n";
    let node = parse_document(TEXT, label)?;
    let file = Fields { label, text: TEXT };
    let mut task = crate::task::parse_task(&file, &node, "task")?;
    task.tags.push(crate::FLEET_OWN_TAG.into());
    Ok(Entry {
        task,
        node,
        label: label.to_owned(),
    })
}

/// The name Ansible gives the implicit gathering of facts.
pub const GATHERING_FACTS: &str = "Gathering Facts";

/// Ansible's implicit "Gathering Facts" task of `play`: `setup` with the
/// play's `gather_subset` and `fact_path`, tagged `always`.
pub(crate) fn gathering_facts(play: &Play) -> Task {
    let mut params = Map::new();
    if !play.gather_subset.is_empty() {
        params.insert(
            "gather_subset".into(),
            Value::from(play.gather_subset.clone()),
        );
    }
    if let Some(path) = &play.fact_path {
        params.insert("fact_path".into(), Value::String(path.clone()));
    }
    // JSON is YAML: the params cannot break the task's text.
    let text = format!(
        "name: {GATHERING_FACTS}\nsetup: {}\ntags: [always]\n",
        Value::Object(params)
    );
    let file = Fields {
        label: &play.origin,
        text: &text,
    };
    let parsed = parse_document(&text, &play.origin)
        .map_err(PlaybookError::from)
        .and_then(|node| crate::task::parse_task(&file, &node, "task"));
    let mut task = parsed.expect("the gathering task is well formed");
    task.origin.clone_from(&play.origin);
    task
}

/// The variables known before any host: the play's (so far) and `-e`,
/// rendered among themselves.
fn load_time_vars(play: &Play, context: &PlayContext) -> Value {
    crate::host_vars(&Map::new(), play, &Map::new(), context.extra_vars, "", None)
}

/// A templated `hosts:` is rendered with the play's vars and `-e` vars;
/// its origin then stays at the start of the template.
fn render_hosts(
    f: &Fields,
    node: &YamlNode,
    play: &Play,
    context: &PlayContext,
) -> Result<String, PlaybookError> {
    let hosts = Templater::new()
        .render_str(&play.hosts, &load_time_vars(play, context))
        .map_err(|err| {
            PlaybookError::template(
                f.at(node),
                format!("cannot render `hosts`: {err}"),
                "a templated `hosts` may use only play vars, vars files and -e vars, \
                 e.g. `hosts: \"{{ target | default('all') }}\"`",
            )
        })?;
    let hosts = hosts.trim().to_owned();
    if hosts.is_empty() {
        return Err(PlaybookError::invalid(
            f.at(node),
            "`hosts` renders to an empty pattern",
            "give the variable a value, e.g. `-e target=web`",
        ));
    }
    Ok(hosts)
}

fn read_connection(f: &Fields, node: &YamlNode) -> Result<PlayConnection, PlaybookError> {
    match node.value.as_str() {
        Some("local") => Ok(PlayConnection::Local),
        Some("ssh") => Ok(PlayConnection::Ssh),
        _ => Err(PlaybookError::invalid(
            f.at(node),
            format!(
                "`connection` must be `local` or `ssh`, got {}",
                node.value.describe()
            ),
            "write `connection: local` to run the play's tasks on the controller",
        )),
    }
}

fn unknown_key(f: &Fields, key: &YamlNode) -> PlaybookError {
    let word = key.value.as_str().unwrap_or_default();
    let task_like = TASK_KEYWORDS.contains(&word) || crate::module_names::is_module_name(word);
    let advice = if task_like && !PLAY_KEYS.contains(&word) {
        format!("`{word}` belongs to a task: put it under `tasks:`; ")
    } else {
        did_you_mean(word, PLAY_KEYS.iter().copied())
            .map(|near| near + " ")
            .unwrap_or_default()
    };
    PlaybookError::invalid(
        f.at(key),
        format!("unknown play key {}", shown_key(key)),
        format!("{advice}a play may hold the keys {}", PLAY_KEYS.join(", ")),
    )
}

fn task_list(f: &Fields, node: &YamlNode, key: &str) -> Result<Vec<YamlNode>, PlaybookError> {
    match &node.value {
        Node::Null => Ok(Vec::new()),
        Node::Seq(items) => Ok(items.clone()),
        _ => Err(f.wrong_type(
            node,
            key,
            "a list of tasks",
            &format!("{key}: [{{command: uptime}}]"),
        )),
    }
}

/// A map of variable names to values; `what` names it in messages.
pub(crate) fn read_vars(
    f: &Fields,
    node: &YamlNode,
    what: &str,
) -> Result<Map<String, Value>, PlaybookError> {
    let entries = match &node.value {
        Node::Null => return Ok(Map::new()),
        Node::Map(entries) => entries,
        other => {
            return Err(PlaybookError::invalid(
                f.at(node),
                format!(
                    "{what} must be a map of variable names to values, got {}",
                    other.describe()
                ),
                "write vars as a map, e.g. `vars: {app: shop, port: 8000}`",
            ));
        }
    };
    let mut vars = Map::new();
    for (key, value) in entries {
        let name = key.value.as_str().unwrap_or_default();
        if !is_identifier(name) {
            return Err(PlaybookError::invalid(
                f.at(key),
                format!("variable name {} is not a valid name", key.value.describe()),
                "use letters, digits and `_`, not starting with a digit, e.g. `app_port`",
            ));
        }
        if name == "item" || BUILTIN_VARS.contains(&name) {
            return Err(PlaybookError::invalid(
                f.at(key),
                format!("`{name}` is a built-in variable and cannot be set"),
                format!(
                    "pick another name; built-in variables: item, {}",
                    BUILTIN_VARS.join(", ")
                ),
            ));
        }
        vars.insert(name.to_owned(), value.value.to_json());
    }
    Ok(vars)
}

/// Reads each vars file of `keyword` in order, each merged over the ones
/// before it.
fn read_vars_files(
    f: &Fields,
    node: &YamlNode,
    keyword: &str,
    context: &PlayContext,
    play: &Play,
    vars_nodes: &mut Vec<(String, YamlNode)>,
) -> Result<Map<String, Value>, PlaybookError> {
    let example = format!("{keyword}: [vars/common.yaml]");
    let items: Vec<&YamlNode> = match &node.value {
        Node::Null => Vec::new(),
        Node::Str(_) => vec![node],
        Node::Seq(items) => items.iter().collect(),
        _ => return Err(f.wrong_type(node, keyword, "a list of paths", &example)),
    };
    let mut merged = Map::new();
    for item in items {
        let mut name = f.string(item, keyword, &example)?;
        if is_template(&name) {
            name = Templater::new()
                .render_str(&name, &load_time_vars(play, context))
                .map_err(|err| {
                    PlaybookError::template(
                        f.at(item),
                        format!("cannot render the vars file path: {err}"),
                        "a templated vars file path may use only play vars and -e vars",
                    )
                })?;
        }
        let path = normalize(&context.dir.join(&name));
        let text = std::fs::read_to_string(&path).map_err(|err| {
            PlaybookError::invalid(
                f.at(item),
                format!(
                    "cannot read vars file {}: {}",
                    message_quote(&name),
                    reason(&err)
                ),
                format!(
                    "looked for {}; vars file paths are relative to the playbook's folder",
                    path.display()
                ),
            )
        })?;
        let label = path.display().to_string();
        let file = Fields {
            label: &label,
            text: &text,
        };
        let root = parse_document(&text, &label)?;
        if !matches!(root.value, Node::Map(_)) {
            return Err(PlaybookError::invalid(
                if matches!(root.value, Node::Null) {
                    Location::new(&label, 1, 1)
                } else {
                    file.at(&root)
                },
                format!(
                    "a vars file must be a map of variable names to values, got {}",
                    root.value.describe()
                ),
                "write one `name: value` per line, e.g. `app: shop`",
            ));
        }
        merged.extend(read_vars(&file, &root, "a vars file")?);
        vars_nodes.push((label, root));
    }
    Ok(merged)
}

fn reason(err: &std::io::Error) -> String {
    if err.kind() == std::io::ErrorKind::NotFound {
        "not found".to_owned()
    } else {
        err.to_string()
    }
}
