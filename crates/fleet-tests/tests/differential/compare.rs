//! What differs between the twin that ansible-core converged and the one
//! fleet did: host state, per-task outcomes, `debug` messages, exit codes.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::runners::{Outcome, Run};

/// One difference, under a key that a case's `differences` can name.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    pub key: String,
    pub ansible: String,
    pub fleet: String,
}

impl Diff {
    fn new(key: String, ansible: impl Into<String>, fleet: impl Into<String>) -> Diff {
        Diff {
            key,
            ansible: ansible.into(),
            fleet: fleet.into(),
        }
    }
}

const NONE: &str = "(none)";

/// The exit codes and the tasks, in order: `run N: task K` is
/// `name: status` on either side; `run N: task K msg` a `debug` message
/// (a skipped `debug` says nothing in ansible's results).
pub fn runs(run: u32, ansible: &Run, fleet: &Run) -> Vec<Diff> {
    let mut diffs = Vec::new();
    if ansible.code != fleet.code {
        diffs.push(Diff::new(
            format!("run {run}: exit code"),
            ansible.code.to_string(),
            fleet.code.to_string(),
        ));
    }
    let ansible_outcomes = without_unread_gathering(&ansible.outcomes, &fleet.outcomes);
    let count = ansible_outcomes.len().max(fleet.outcomes.len());
    for index in 0..count {
        let key = format!("run {run}: task {}", index + 1);
        let (a, f) = (
            ansible_outcomes.get(index).copied(),
            fleet.outcomes.get(index),
        );
        let (a_text, f_text) = (
            a.map_or(NONE.into(), summary),
            f.map_or(NONE.into(), summary),
        );
        if a_text != f_text {
            diffs.push(Diff::new(key.clone(), a_text, f_text));
        }
        if let (Some(a), Some(f)) = (a, f)
            && a.debug
            && !(a.status == "skipped" && f.status == "skipped")
            && !same_message(a.msg.as_ref(), f.msg.as_ref())
        {
            diffs.push(Diff::new(
                format!("{key} msg"),
                shown(a.msg.as_ref()),
                shown(f.msg.as_ref()),
            ));
        }
    }
    diffs
}

/// The name both tools give the implicit gathering of facts.
const GATHERING_FACTS: &str = "Gathering Facts";

/// ansible-core gathers facts in every play with `gather_facts`; fleet
/// only when some task of the playbook reads facts (docs/playbooks.md,
/// "Differences from Ansible"). A playbook fleet gathered no facts for
/// is compared without ansible-core's gatherings; one fleet gathered
/// facts for is compared gathering for gathering.
fn without_unread_gathering<'a>(ansible: &'a [Outcome], fleet: &[Outcome]) -> Vec<&'a Outcome> {
    let fleet_gathers = fleet.iter().any(|outcome| outcome.task == GATHERING_FACTS);
    ansible
        .iter()
        .filter(|outcome| fleet_gathers || outcome.task != GATHERING_FACTS)
        .collect()
}

fn summary(outcome: &Outcome) -> String {
    format!("{}: {}", outcome.task, outcome.status)
}

/// fleet's `msg` is the text it shows: a string as it is, anything else
/// as JSON.
fn same_message(ansible: Option<&Value>, fleet: Option<&Value>) -> bool {
    match (ansible, fleet) {
        (Some(Value::String(a)), Some(Value::String(f))) => a == f,
        (Some(a), Some(Value::String(f))) => {
            serde_json::from_str::<Value>(f).ok().as_ref() == Some(a)
        }
        (a, f) => a == f,
    }
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None => NONE.into(),
        Some(Value::String(text)) => format!("{text:?}"),
        Some(other) => other.to_string(),
    }
}

/// Host state as `hostside.py state` prints it: for each kind (paths,
/// units, users, groups, packages), each name's fields.
/// `run N: path /srv/x: mode`, `run N: unit a.service: ActiveState`.
pub fn states(run: u32, ansible: &Value, fleet: &Value) -> Vec<Diff> {
    let mut diffs = Vec::new();
    for (kind, singular) in [
        ("paths", "path"),
        ("units", "unit"),
        ("users", "user"),
        ("groups", "group"),
        ("packages", "package"),
    ] {
        let (a, f) = (&ansible[kind], &fleet[kind]);
        for name in keys(a, f) {
            let absent = Value::Null;
            let (a_fields, f_fields) = (
                a.get(&name).unwrap_or(&absent),
                f.get(&name).unwrap_or(&absent),
            );
            for field in keys(a_fields, f_fields) {
                let (a_value, f_value) =
                    (field_text(a_fields, &field), field_text(f_fields, &field));
                if a_value != f_value {
                    diffs.push(Diff::new(
                        format!("run {run}: {singular} {name}: {field}"),
                        a_value,
                        f_value,
                    ));
                }
            }
        }
    }
    diffs
}

/// An entry that one side lacks (a path only one tool created) shows as
/// `type: absent` there.
fn field_text(fields: &Value, field: &str) -> String {
    match fields.get(field) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None if fields.is_null() && field == "type" => "absent".into(),
        None => NONE.into(),
    }
}

fn keys(a: &Value, f: &Value) -> BTreeSet<String> {
    [a, f]
        .into_iter()
        .filter_map(Value::as_object)
        .flat_map(|map| map.keys().cloned())
        .collect()
}

/// The report of one case's differences: each one's key, then both sides,
/// or a unified diff from ansible-core's text to fleet's when one of them
/// has several lines (a file's content).
pub fn render(diffs: &[Diff]) -> String {
    diffs
        .iter()
        .map(|diff| {
            if diff.ansible.contains('\n') || diff.fleet.contains('\n') {
                let unified = similar::TextDiff::from_lines(&diff.ansible, &diff.fleet)
                    .unified_diff()
                    .header("ansible-core", "fleet")
                    .to_string();
                let indented: String = unified
                    .lines()
                    .map(|line| format!("    {line}\n"))
                    .collect();
                format!("  {}\n{indented}", diff.key)
            } else {
                format!(
                    "  {}\n    ansible-core: {}\n    fleet:        {}\n",
                    diff.key, diff.ansible, diff.fleet
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(code: i32, tasks: &[(&str, &str)]) -> Run {
        Run {
            code,
            outcomes: tasks
                .iter()
                .map(|(task, status)| Outcome {
                    task: task.to_string(),
                    status: status.to_string(),
                    msg: None,
                    debug: false,
                })
                .collect(),
            log: String::new(),
        }
    }

    #[test]
    fn tasks_are_compared_in_order_and_a_missing_one_shows_as_none() {
        let ansible = run(2, &[("a", "changed"), ("b", "failed")]);
        let fleet = run(2, &[("a", "changed"), ("b", "failed"), ("h", "changed")]);
        assert_eq!(
            runs(1, &ansible, &fleet),
            vec![Diff::new("run 1: task 3".into(), "(none)", "h: changed")]
        );
    }

    #[test]
    fn a_debug_message_is_compared_as_fleet_shows_it() {
        let mut ansible = run(0, &[("show", "ok")]);
        let mut fleet = run(0, &[("show", "ok")]);
        ansible.outcomes[0].debug = true;
        ansible.outcomes[0].msg = Some(json!({"a": [1]}));
        fleet.outcomes[0].msg = Some(json!("{\"a\":[1]}"));
        assert!(runs(1, &ansible, &fleet).is_empty());
        fleet.outcomes[0].msg = Some(json!("{\"a\":[2]}"));
        assert_eq!(runs(1, &ansible, &fleet)[0].key, "run 1: task 1 msg");
    }

    #[test]
    fn gathering_facts_is_compared_only_when_fleet_gathered() {
        let ansible = run(0, &[("Gathering Facts", "ok"), ("a", "changed")]);
        let fleet = run(0, &[("a", "changed")]);
        assert!(runs(1, &ansible, &fleet).is_empty());
        let fleet = run(0, &[("Gathering Facts", "ok"), ("a", "changed")]);
        assert!(runs(1, &ansible, &fleet).is_empty());
        let ansible = run(
            0,
            &[
                ("Gathering Facts", "ok"),
                ("a", "changed"),
                ("Gathering Facts", "ok"),
            ],
        );
        assert_eq!(
            runs(1, &ansible, &fleet),
            vec![Diff::new(
                "run 1: task 3".into(),
                "Gathering Facts: ok",
                "(none)"
            )]
        );
    }

    #[test]
    fn file_contents_are_shown_as_a_unified_diff() {
        let diff = Diff::new("run 1: path /x: content".into(), "a\nb\n", "a\nc\n");
        assert_eq!(
            render(&[diff]),
            "  run 1: path /x: content\n    --- ansible-core\n    +++ fleet\n    @@ -1,2 +1,2 @@\n     a\n    -b\n    +c\n"
        );
    }

    #[test]
    fn a_path_only_one_side_has_is_absent_on_the_other() {
        let ansible = json!({"paths": {"/srv/x": {"type": "file", "mode": "0644"}}});
        let fleet = json!({"paths": {}});
        assert_eq!(
            states(2, &ansible, &fleet),
            vec![
                Diff::new("run 2: path /srv/x: mode".into(), "0644", "(none)"),
                Diff::new("run 2: path /srv/x: type".into(), "file", "absent"),
            ]
        );
    }
}
