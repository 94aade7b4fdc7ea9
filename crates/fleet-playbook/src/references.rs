//! The variables a task's templates read, found the way validation finds
//! undefined ones ([`Templater::template_names`] and
//! [`Templater::expression_names`]): so that the engine gathers facts only
//! for playbooks that read them, and builds `hostvars` only for the tasks
//! that read it.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::templater::{Templater, is_template};
use crate::{Play, Task};

static TEMPLATER: LazyLock<Templater> = LazyLock::new(Templater::new);

/// The top-level variable names `task` reads: in its params, name, `when`,
/// `changed_when`, `failed_when`, `until`, `loop` (or `with_*`) and its
/// label, `once_per`, `environment`, `become_user` and `delegate_to`, in
/// the template file of a `template:` task (when `src` is not itself
/// templated), and, for each task var, play var or default among them, the
/// names its value reads, and so on. Inventory vars are not followed (their
/// values are not known before the run).
pub fn task_variables(play: &Play, task: &Task) -> BTreeSet<String> {
    let templater = &*TEMPLATER;
    let mut names = BTreeSet::new();
    value_names(templater, &task.params, &mut names);
    string_names(templater, &task.name, &mut names);
    if let Some(spec) = &task.r#loop {
        value_names(templater, spec, &mut names);
    }
    let strings = task
        .once_per
        .iter()
        .chain(&task.become_user)
        .chain(&task.delegate_to)
        .chain(&task.loop_control.label)
        .chain(task.environment.iter().map(|(_, value)| value));
    for text in strings {
        string_names(templater, text, &mut names);
    }
    for key in fleet_modules::expression_params(&task.module) {
        let expressions = match task.params.get(*key) {
            Some(Value::String(text)) => vec![text.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for expression in expressions {
            match templater.expression_names(expression) {
                Ok(found) => names.extend(found),
                // `{{ a }} == 1`: a template around the expression.
                Err(_) => string_names(templater, expression, &mut names),
            }
        }
    }
    let conditions = [
        &task.when,
        &task.changed_when,
        &task.failed_when,
        &task.until,
    ];
    for condition in conditions.into_iter().flatten() {
        if let Ok(found) = templater.expression_names(condition) {
            names.extend(found);
        }
    }
    if let Some(source) = template_source(play, task) {
        string_names(templater, &source, &mut names);
    }
    follow_vars(templater, play, &task.vars, names)
}

/// Whether `task` reads fleet's `facts`, directly or through a play var
/// ([`task_variables`]); a path such as `/srv/artifacts` does not count.
pub fn needs_facts(play: &Play, task: &Task) -> bool {
    task_variables(play, task).contains("facts")
}

/// Whether `task` reads any fact (`ansible_facts`, an `ansible_<fact>`,
/// fleet's `facts`) or `hostvars`, which holds every host's facts.
pub fn reads_facts(play: &Play, task: &Task) -> bool {
    task_variables(play, task)
        .iter()
        .any(|name| name == "hostvars" || crate::magic::is_fact_variable(name))
}

/// Whether `task` reads `hostvars`.
pub fn reads_hostvars(play: &Play, task: &Task) -> bool {
    task_variables(play, task).contains("hostvars")
}

/// The text of the file a `template:` task renders, when it can be known
/// before the run.
fn template_source(play: &Play, task: &Task) -> Option<String> {
    if task.module != "template" {
        return None;
    }
    let src = task
        .params
        .get("src")?
        .as_str()
        .filter(|src| !is_template(src))?;
    std::fs::read_to_string(play.template_path_in(task.role_dir.as_deref(), src)?).ok()
}

/// The top-level variable names the strings under `value`, a play-level
/// value such as a templated `serial`, read: directly, or through the play
/// vars and defaults among them ([`task_variables`] without a task).
pub(crate) fn play_value_variables(play: &Play, value: &Value) -> BTreeSet<String> {
    let templater = &*TEMPLATER;
    let mut names = BTreeSet::new();
    value_names(templater, value, &mut names);
    follow_vars(templater, play, &Map::new(), names)
}

/// `names` and what the task vars, play vars and defaults among them read,
/// until no new name turns up.
fn follow_vars(
    templater: &Templater,
    play: &Play,
    task_vars: &Map<String, Value>,
    mut names: BTreeSet<String>,
) -> BTreeSet<String> {
    let mut pending: Vec<String> = names.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        let values = [
            task_vars.get(&name),
            play.vars.get(&name),
            play.defaults.get(&name),
        ];
        let mut found = BTreeSet::new();
        for value in values.into_iter().flatten() {
            value_names(templater, value, &mut found);
        }
        for name in found {
            if names.insert(name.clone()) {
                pending.push(name);
            }
        }
    }
    names
}

/// The names every string under `value` reads.
fn value_names(templater: &Templater, value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => string_names(templater, text, names),
        Value::Array(items) => items
            .iter()
            .for_each(|item| value_names(templater, item, names)),
        Value::Object(map) => map
            .values()
            .for_each(|item| value_names(templater, item, names)),
        _ => {}
    }
}

/// The names a template string reads; none for plain text. A syntax error
/// (reported when the playbook loads) reads none.
fn string_names(templater: &Templater, text: &str, names: &mut BTreeSet<String>) {
    if is_template(text)
        && let Ok(found) = templater.template_names(text)
    {
        names.extend(found);
    }
}

#[cfg(test)]
#[path = "references_tests.rs"]
mod tests;
