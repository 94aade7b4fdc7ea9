//! A task's passes: once, or once per loop item with the loop's variables
//! (`item` or `loop_control.loop_var`, `index_var`, `ansible_loop`) and the
//! label that names the item in the output.

use fleet_playbook::{LoopControl, Play, Task, Templater};
use serde_json::{Map, Value, json};

/// One loop item, ready to run.
#[derive(Debug, Clone)]
pub(super) struct LoopItem {
    /// `loop_control.label` rendered, or the item itself.
    pub label: String,
    /// What the registered result of this item also holds: the item under
    /// its variable's name, `ansible_loop_var`, and the index and
    /// `ansible_loop` when asked for.
    pub fields: Map<String, Value>,
}

/// One run of the task: its vars, and its loop item when it loops.
pub(super) struct Pass {
    pub item: Option<LoopItem>,
    pub vars: Value,
}

/// The task's passes on a host whose vars are `vars`.
pub(super) fn passes(
    templater: &Templater,
    play: &Play,
    task: &Task,
    vars: &Value,
) -> Result<Vec<Pass>, String> {
    let Some(spec) = &task.r#loop else {
        return Ok(vec![Pass {
            item: None,
            vars: vars.clone(),
        }]);
    };
    let rendered = templater
        .render_value(spec, vars)
        .map_err(|err| err.to_string())?;
    let items = match (task.loop_with, rendered) {
        (Some(lookup), terms) => lookup
            .items_in(terms, &search_dirs(task, play))
            .map_err(|err| format!("`{}`: {err}", lookup.keyword()))?,
        (None, Value::Array(items)) => items,
        (None, other) => return Err(format!("loop must be a list, got {other}")),
    };
    let control = &task.loop_control;
    (0..items.len())
        .map(|index| {
            let fields = loop_fields(control, &items, index);
            let mut vars = vars.clone();
            if let Value::Object(map) = &mut vars {
                map.extend(fields.clone());
            }
            let label = match &control.label {
                Some(label) => templater
                    .render_str(label, &vars)
                    .map_err(|err| format!("cannot render `loop_control.label`: {err}"))?,
                None => shown(&items[index]),
            };
            Ok(Pass {
                item: Some(LoopItem { label, fields }),
                vars,
            })
        })
        .collect()
}

/// The loop's variables for item `index` of `items`, as Ansible sets them.
fn loop_fields(control: &LoopControl, items: &[Value], index: usize) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(control.loop_var.clone(), items[index].clone());
    fields.insert("ansible_loop_var".into(), json!(control.loop_var));
    if let Some(index_var) = &control.index_var {
        fields.insert(index_var.clone(), json!(index));
        fields.insert("ansible_index_var".into(), json!(index_var));
    }
    if control.extended {
        let length = items.len();
        let mut ansible_loop = json!({
            "index": index + 1,
            "index0": index,
            "first": index == 0,
            "last": index + 1 == length,
            "length": length,
            "revindex": length - index,
            "revindex0": length - index - 1,
        });
        if let Value::Object(map) = &mut ansible_loop {
            if control.extended_allitems {
                map.insert("allitems".into(), Value::Array(items.to_vec()));
            }
            if let Some(previous) = index.checked_sub(1).and_then(|i| items.get(i)) {
                map.insert("previtem".into(), previous.clone());
            }
            if let Some(next) = items.get(index + 1) {
                map.insert("nextitem".into(), next.clone());
            }
        }
        fields.insert("ansible_loop".into(), ansible_loop);
    }
    fields
}

/// An item as the output shows it: a string as it is, anything else as
/// compact JSON.
fn shown(item: &Value) -> String {
    match item {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Where `with_fileglob` looks: the task's role first, then the play's
/// folder.
fn search_dirs<'a>(task: &'a Task, play: &'a Play) -> Vec<&'a std::path::Path> {
    task.role_dir
        .iter()
        .map(|dir| dir.as_path())
        .chain([play.dir.as_path()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_loops_know_their_neighbours() {
        let control = LoopControl {
            loop_var: "host".into(),
            index_var: Some("i".into()),
            extended: true,
            ..LoopControl::default()
        };
        let items = [json!("a"), json!("b"), json!("c")];
        let middle = loop_fields(&control, &items, 1);
        assert_eq!(
            Value::Object(middle),
            json!({
                "host": "b", "ansible_loop_var": "host", "i": 1, "ansible_index_var": "i",
                "ansible_loop": {
                    "index": 2, "index0": 1, "first": false, "last": false, "length": 3,
                    "revindex": 2, "revindex0": 1, "allitems": ["a", "b", "c"],
                    "previtem": "a", "nextitem": "c"
                }
            })
        );
        let first = loop_fields(
            &LoopControl {
                extended_allitems: false,
                ..control
            },
            &items,
            0,
        );
        assert_eq!(
            first["ansible_loop"],
            json!({"index": 1, "index0": 0, "first": true, "last": false, "length": 3,
                   "revindex": 3, "revindex0": 2, "nextitem": "b"})
        );
        let plain = loop_fields(&LoopControl::default(), &items, 2);
        assert_eq!(
            Value::Object(plain),
            json!({"item": "c", "ansible_loop_var": "item"})
        );
    }
}
