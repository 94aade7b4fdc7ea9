//! Facts. A batch starts with Ansible's "Gathering Facts" (the `setup`
//! module, one round trip per host) when its play has `gather_facts` (the
//! default) and some task of the playbook reads facts or `hostvars`; a
//! playbook that reads none gathers none. Facts then stay with the host
//! for the rest of the run, across plays, and a `setup` task adds to them.
//!
//! fleet's own `facts` map is gathered, quietly, before the first task
//! that reads it, when nothing gathered them yet (a play with
//! `gather_facts: false`).

use fleet_modules::modules::setup::namespaced;
use fleet_playbook::{Play, Task};
use serde_json::{Map, Value};

use super::task::{HostState, TaskContext};

/// Whether any task or handler of the plays reads facts (`ansible_*`,
/// `ansible_facts`, `facts`) or `hostvars`.
pub(super) fn read_by<'p>(plays: impl IntoIterator<Item = &'p Play>) -> bool {
    plays.into_iter().any(|play| {
        play.tasks
            .iter()
            .chain(&play.handlers)
            .any(|task| fleet_playbook::reads_facts(play, task))
    })
}

/// Whether any task or handler of the plays reads `hostvars`.
pub(super) fn hostvars_read_by<'p>(plays: impl IntoIterator<Item = &'p Play>) -> bool {
    plays.into_iter().any(|play| {
        play.tasks
            .iter()
            .chain(&play.handlers)
            .any(|task| fleet_playbook::reads_hostvars(play, task))
    })
}

/// Adds what a `setup` result gathered (its `ansible_facts`) to the
/// host's facts, keys without their `ansible_` prefix, as `ansible_facts`
/// holds them.
pub(super) fn merge(facts: &mut Option<Map<String, Value>>, gathered: &Map<String, Value>) {
    facts
        .get_or_insert_with(Map::new)
        .extend(namespaced(gathered));
}

/// Gathers the facts of one host without reporting it, for fleet's `facts`.
pub(super) async fn gather_quietly(ctx: &TaskContext<'_>, state: &mut HostState) {
    let task: Task = ctx.play.gathering_facts();
    let _ = ctx.run(&task, state).await;
}
