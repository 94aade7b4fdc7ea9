//! One run of a task's module (a loop item, or the task itself): its
//! outcome, what `register` stores of it, and how the items fold into the
//! task's one result.

use serde_json::{Map, Value, json};

use super::loop_items::LoopItem;
use crate::events::{Status, TaskResult};
use crate::module_run::ModuleOutcome;

const HIDDEN: &str = "output hidden by no_log";
pub(super) const WHEN_FALSE: &str = "skipped: `when` is false";

/// One loop item's outcome.
pub(super) struct ItemResult {
    pub item: Option<LoopItem>,
    pub outcome: ModuleOutcome,
    pub skipped: bool,
    /// Ansible's `changed`, which a failed result has too (a command that
    /// ran and exited non-zero); `changed_when` sets it.
    pub changed: bool,
    /// The host the item ran on when the task is delegated.
    pub delegated_to: Option<String>,
}

impl ItemResult {
    pub fn skipped(item: Option<LoopItem>, reason: &str) -> ItemResult {
        ItemResult {
            item,
            outcome: ModuleOutcome {
                status: Status::Skipped,
                rc: None,
                stdout: String::new(),
                stderr: String::new(),
                diff: None,
                msg: Some(reason.into()),
                data: Map::new(),
                failed_after_change: false,
            },
            skipped: true,
            changed: false,
            delegated_to: None,
        }
    }

    pub fn from_outcome(outcome: ModuleOutcome, item: Option<LoopItem>) -> ItemResult {
        let changed = outcome.status == Status::Changed
            || (outcome.status == Status::Failed && outcome.failed_after_change);
        ItemResult {
            item,
            skipped: outcome.status == Status::Skipped,
            outcome,
            changed,
            delegated_to: None,
        }
    }

    /// What the output says of this item: its message, after the item's
    /// label when the task loops (`(item=nginx) ...`); a failed item says
    /// so even without a message.
    fn message(&self) -> Option<String> {
        let Some(item) = &self.item else {
            return self.outcome.msg.clone();
        };
        match &self.outcome.msg {
            Some(msg) => Some(format!("(item={}) {msg}", item.label)),
            None if self.outcome.status == Status::Failed => {
                Some(format!("(item={}) failed", item.label))
            }
            None => None,
        }
    }

    /// The variables the item sets on its host (`set_fact`'s
    /// `ansible_facts`); none when it failed or was skipped.
    pub fn facts(&self) -> Map<String, Value> {
        let set = matches!(self.outcome.status, Status::Ok | Status::Changed);
        match self
            .outcome
            .data
            .get(fleet_modules::modules::set_fact::FACTS_KEY)
        {
            Some(Value::Object(facts)) if set => facts.clone(),
            _ => Map::new(),
        }
    }

    /// The value `register` stores, shaped like Ansible's.
    pub fn registered(&self) -> Value {
        let out = &self.outcome;
        let mut map = out.data.clone();
        map.insert("changed".into(), json!(self.changed));
        map.insert("failed".into(), json!(out.status == Status::Failed));
        map.insert("skipped".into(), json!(self.skipped));
        map.insert("rc".into(), json!(out.rc));
        map.insert("stdout".into(), json!(out.stdout.trim_end_matches('\n')));
        map.insert("stderr".into(), json!(out.stderr.trim_end_matches('\n')));
        map.insert(
            "stdout_lines".into(),
            json!(out.stdout.lines().collect::<Vec<_>>()),
        );
        if out.msg.is_some() || !map.contains_key("msg") {
            map.insert("msg".into(), json!(out.msg));
        }
        if let Some(item) = &self.item {
            map.extend(item.fields.clone());
        }
        Value::Object(map)
    }
}

/// Folds loop items into one result: failed if any failed, else changed if
/// any changed, else ok (skipped when every item was skipped).
pub(super) fn summarize(items: Vec<ItemResult>, result: &mut TaskResult) -> (Value, Status) {
    let statuses: Vec<Status> = items.iter().map(|i| i.outcome.status).collect();
    let status = [
        Status::Unreachable,
        Status::Failed,
        Status::Changed,
        Status::Ok,
    ]
    .into_iter()
    .find(|wanted| statuses.contains(wanted))
    .unwrap_or(Status::Skipped);
    let mut diffs = Vec::new();
    let mut msgs = Vec::new();
    for item in &items {
        result.stdout.push_str(&item.outcome.stdout);
        result.stderr.push_str(&item.outcome.stderr);
        result.rc = item.outcome.rc.or(result.rc);
        diffs.extend(item.outcome.diff.clone());
        msgs.extend(item.message());
    }
    result.diff = (!diffs.is_empty()).then(|| diffs.join(""));
    msgs.dedup();
    result.msg = (!msgs.is_empty()).then(|| msgs.join("; "));
    let registered = match items.as_slice() {
        [single] if single.item.is_none() => single.registered(),
        _ => json!({
            "changed": status == Status::Changed,
            "failed": status == Status::Failed,
            "skipped": status == Status::Skipped,
            "results": items.iter().map(ItemResult::registered).collect::<Vec<_>>(),
        }),
    };
    (registered, status)
}

pub(super) fn hide_output(result: &mut TaskResult) {
    for text in [&mut result.stdout, &mut result.stderr] {
        if !text.is_empty() {
            *text = HIDDEN.into();
        }
    }
    if result.diff.is_some() {
        result.diff = Some(HIDDEN.into());
    }
    if result.msg.is_some() {
        result.msg = Some(HIDDEN.into());
    }
}
