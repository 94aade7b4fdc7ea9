//! What a host's magic variables need to know about the other hosts while
//! they run at their own pace: which hosts of the play have failed (they
//! leave `ansible_play_hosts` and `ansible_play_batch`, as in Ansible),
//! and, when the playbook reads `hostvars`, every host's facts and results
//! as each host last left them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use fleet_inventory::Host;
use serde_json::{Map, Value};

use super::task::{ApplyOptions, HostState};

#[derive(Debug, Default)]
pub(super) struct Shared {
    /// The hosts of the current play that failed or were unreachable.
    failed: Mutex<BTreeSet<String>>,
    /// Each host's facts and registered results; `None` unless some task
    /// reads `hostvars`.
    published: Option<Mutex<BTreeMap<String, Published>>>,
}

#[derive(Debug, Clone, Default)]
struct Published {
    facts: Option<Map<String, Value>>,
    registered: Map<String, Value>,
}

impl Shared {
    pub(super) fn new(hostvars: bool) -> Shared {
        Shared {
            failed: Mutex::default(),
            published: hostvars.then(Mutex::default),
        }
    }

    /// Whether every host's facts and results are kept, for `hostvars`.
    pub(super) fn keeps_hostvars(&self) -> bool {
        self.published.is_some()
    }

    /// A new play: every host is in it again.
    pub(super) fn start_play(&self) {
        lock(&self.failed).clear();
    }

    pub(super) fn mark_failed(&self, host: &str) {
        lock(&self.failed).insert(host.to_string());
    }

    /// Takes note of how `state` stands now: failed or not, and (for
    /// `hostvars`) its facts and results.
    pub(super) fn note(&self, state: &HostState) {
        if state.failed {
            self.mark_failed(&state.name);
        }
        if let Some(published) = &self.published {
            lock(published).insert(
                state.name.clone(),
                Published {
                    facts: state.facts.clone(),
                    registered: state.registered.clone(),
                },
            );
        }
    }

    /// `hosts` without those that failed in this play.
    pub(super) fn remaining(&self, hosts: &[String]) -> Vec<String> {
        let failed = lock(&self.failed);
        hosts
            .iter()
            .filter(|host| !failed.contains(*host))
            .cloned()
            .collect()
    }

    /// `hostvars`, for every inventory host.
    pub(super) fn hostvars(&self, options: &ApplyOptions, playbook_dir: &str) -> Value {
        let published = self
            .published
            .as_ref()
            .map(|published| lock(published).clone())
            .unwrap_or_default();
        let empty = Published::default();
        let entries: Vec<fleet_playbook::HostEntry> = options
            .inventory
            .iter()
            .map(|host: &Host| {
                let known = published.get(&host.name).unwrap_or(&empty);
                fleet_playbook::HostEntry {
                    name: &host.name,
                    inventory_vars: &host.vars,
                    groups: &host.groups,
                    facts: known.facts.as_ref(),
                    registered: &known.registered,
                }
            })
            .collect();
        fleet_playbook::hostvars(
            &entries,
            &options.extra_vars,
            &options.groups,
            (
                options.check,
                options.diff,
                options.inventory_file.as_deref(),
            ),
            playbook_dir,
        )
    }
}

/// A lock that a panicking holder did not leave unusable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
