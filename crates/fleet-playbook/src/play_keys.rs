//! The play keys that shape how a play runs, besides its tasks: `strategy`,
//! `order`, `throttle`, `any_errors_fatal`, `remote_user`, `environment`,
//! `module_defaults` and `vars_prompt` (`become_method` and `become_flags`
//! are in `become_keys`).

use fleet_yaml::{Node, YamlNode, message_quote};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Task;
use crate::error::PlaybookError;
use crate::fields::{Fields, entry, is_identifier};

/// How hosts go through a play's tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each host at its own pace (fleet's default, Ansible's `free`).
    #[default]
    Free,
    /// Every host finishes a task before any starts the next (Ansible's
    /// default).
    Linear,
}

/// The order a play takes its hosts in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostOrder {
    #[default]
    Inventory,
    ReverseInventory,
    Sorted,
    ReverseSorted,
    Shuffle,
}

/// A `vars_prompt` entry: a variable the operator gives when the play
/// starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VarPrompt {
    pub name: String,
    pub prompt: String,
    pub default: Option<String>,
    /// Not echoed when typed.
    pub private: bool,
    /// Where the entry is (`file:line:col`).
    pub origin: String,
}

pub(crate) fn read_strategy(f: &Fields, node: &YamlNode) -> Result<Strategy, PlaybookError> {
    match node.value.as_str() {
        Some("free") => Ok(Strategy::Free),
        Some("linear") => Ok(Strategy::Linear),
        _ => Err(PlaybookError::invalid(
            f.at(node),
            format!(
                "`strategy` must be `linear` or `free`, got {}",
                node.value.describe()
            ),
            "fleet runs the `linear` and `free` strategies (`free` is its default)",
        )),
    }
}

pub(crate) fn read_order(f: &Fields, node: &YamlNode) -> Result<HostOrder, PlaybookError> {
    match node.value.as_str() {
        Some("inventory") => Ok(HostOrder::Inventory),
        Some("reverse_inventory") => Ok(HostOrder::ReverseInventory),
        Some("sorted") => Ok(HostOrder::Sorted),
        Some("reverse_sorted") => Ok(HostOrder::ReverseSorted),
        Some("shuffle") => Ok(HostOrder::Shuffle),
        _ => Err(PlaybookError::invalid(
            f.at(node),
            format!("unknown `order` {}", node.value.describe()),
            "write one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle",
        )),
    }
}

/// `throttle`: at most this many hosts at once.
pub(crate) fn read_throttle(f: &Fields, node: &YamlNode) -> Result<usize, PlaybookError> {
    let count = f.count(node, "throttle")?;
    if count == 0 {
        return Err(PlaybookError::invalid(
            f.at(node),
            "`throttle` must be at least 1",
            "write e.g. `throttle: 2`, or leave it out for no limit",
        ));
    }
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

/// A module's default params, from `module_defaults`.
pub(crate) type ModuleDefaults = Vec<(String, Map<String, Value>)>;

/// `module_defaults`: a map of module name to default params.
pub(crate) fn read_module_defaults(
    f: &Fields,
    node: &YamlNode,
) -> Result<ModuleDefaults, PlaybookError> {
    const EXAMPLE: &str = "module_defaults: {apt: {update_cache: true}}";
    let Node::Map(entries) = &node.value else {
        return Err(f.wrong_type(node, "module_defaults", "a map", EXAMPLE));
    };
    let mut defaults = Vec::new();
    for (key, value) in entries {
        let written = key.value.as_str().unwrap_or_default();
        let module = match crate::module_names::resolve(written) {
            crate::module_names::ModuleName::Fleet(short) => short,
            _ => {
                return Err(PlaybookError::invalid(
                    f.at(key),
                    format!(
                        "`module_defaults` names no fleet module: {}",
                        message_quote(written)
                    ),
                    "name a module fleet runs, e.g. `apt` or `ansible.builtin.apt`; \
                     `group/…` defaults are not supported",
                ));
            }
        };
        let Value::Object(params) = value.value.to_json() else {
            return Err(f.wrong_type(value, written, "a map of params", EXAMPLE));
        };
        defaults.push((module.to_owned(), params));
    }
    Ok(defaults)
}

/// Gives each task the module defaults of its module, under the params
/// it writes.
pub(crate) fn apply_module_defaults(tasks: &mut [Task], defaults: &ModuleDefaults) {
    for task in tasks {
        for (module, params) in defaults {
            if *module != task.module {
                continue;
            }
            let own = match &task.params {
                Value::Object(own) => own.clone(),
                Value::String(cmd) if fleet_modules::takes_free_form(module) => {
                    Map::from_iter([("cmd".to_owned(), Value::String(cmd.clone()))])
                }
                _ => continue,
            };
            let mut merged = params.clone();
            merged.extend(own);
            task.params = Value::Object(merged);
        }
    }
}

/// Gives each task the play's `environment`, under its own.
pub(crate) fn apply_environment(tasks: &mut [Task], environment: &[(String, String)]) {
    for task in tasks {
        let mut merged: Vec<(String, String)> = environment
            .iter()
            .filter(|(name, _)| !task.environment.iter().any(|(own, _)| own == name))
            .cloned()
            .collect();
        merged.append(&mut task.environment);
        task.environment = merged;
    }
}

pub(crate) fn read_vars_prompt(
    f: &Fields,
    node: &YamlNode,
) -> Result<Vec<VarPrompt>, PlaybookError> {
    const EXAMPLE: &str = "vars_prompt: [{name: release, prompt: Which release?}]";
    let Node::Seq(items) = &node.value else {
        return Err(f.wrong_type(node, "vars_prompt", "a list", EXAMPLE));
    };
    let mut prompts = Vec::new();
    for item in items {
        let name = entry(item, "name")
            .map(|(_, name)| f.string(name, "name", EXAMPLE))
            .transpose()?
            .filter(|name| is_identifier(name))
            .ok_or_else(|| f.wrong_type(item, "vars_prompt", "a map with a `name`", EXAMPLE))?;
        let text = |key: &str| {
            entry(item, key).map(|(_, value)| match &value.value {
                Node::Str(text) => text.clone(),
                other => other.to_json().to_string(),
            })
        };
        let private = match entry(item, "private") {
            Some((_, value)) => f.bool(value, "private")?,
            None => true,
        };
        prompts.push(VarPrompt {
            origin: f.origin(item),
            prompt: text("prompt").unwrap_or_else(|| name.clone()),
            default: text("default"),
            private,
            name,
        });
    }
    Ok(prompts)
}

/// `gather_subset`: a list, or a comma-separated string, of Ansible's fact
/// subsets (`all`, `min`, `network`, `!hardware`…), checked here.
pub(crate) fn read_gather_subset(
    f: &Fields,
    node: &YamlNode,
) -> Result<Vec<String>, PlaybookError> {
    let example = "gather_subset: [\"!all\", network]";
    let subset: Vec<String> = f
        .strings(node, "gather_subset", example)?
        .iter()
        .flat_map(|item| item.split(','))
        .map(|item| item.trim().to_string())
        .collect();
    fleet_modules::modules::setup::check_subset(&subset).map_err(|message| {
        PlaybookError::invalid(
            f.at(node),
            format!("`gather_subset` has a {message}"),
            "write Ansible's subset names, e.g. `gather_subset: [\"!all\", network]`; \
             `!` leaves one out",
        )
    })?;
    Ok(subset)
}
