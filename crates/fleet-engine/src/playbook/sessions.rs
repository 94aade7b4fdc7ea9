//! The play's SSH sessions: one per host, opened when its batch starts.

use std::time::Instant;

use fleet_inventory::Host;
use fleet_ssh::Target;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::Run;
use crate::{Event, Status, TaskResult};

impl Run<'_> {
    /// Opens the connections this play still needs, all at once (the
    /// client throttles how many start together).
    pub(super) async fn connect(&mut self, hosts: &[&Host], remote_user: Option<&str>) {
        let target = |host: &Host| {
            let mut target = crate::target::ssh_target(host);
            if target.user.is_none() {
                target.user = remote_user.map(str::to_owned);
            }
            target
        };
        // A play with another `remote_user` needs its own connection.
        let missing: Vec<(&Host, Target)> = hosts
            .iter()
            .copied()
            .map(|host| (host, target(host)))
            .filter(|(host, target)| {
                self.session_users.get(&host.name) != Some(&target.user)
                    || !self.sessions.contains_key(&host.name)
            })
            .collect();
        for (host, target) in &missing {
            if let Some(Some(session)) = self.sessions.remove(&host.name) {
                session.close().await;
            }
            self.session_users
                .insert(host.name.clone(), target.user.clone());
        }
        // A host that tasks were delegated to already has its session.
        let (reused, missing): (Vec<_>, Vec<_>) =
            missing.into_iter().partition(|(host, target)| {
                self.delegates
                    .opened(&host.name, target.user.as_deref())
                    .is_some()
            });
        for (host, target) in reused {
            let session = self.delegates.opened(&host.name, target.user.as_deref());
            self.sessions.insert(host.name.clone(), session);
        }
        let client = self.client;
        let mut connecting: FuturesUnordered<_> = missing
            .iter()
            .map(|(host, target)| async move {
                let started = Instant::now();
                let connected = client.connect(target).await;
                (*host, connected, started.elapsed())
            })
            .collect();
        let mut results = Vec::new();
        while let Some(done) = connecting.next().await {
            results.push(done);
        }
        drop(connecting);
        for (host, connected, elapsed) in results {
            match connected {
                Ok(session) => {
                    self.sessions.insert(host.name.clone(), Some(session));
                }
                Err(err) => {
                    let status = if err.is_unreachable() {
                        Status::Unreachable
                    } else {
                        Status::Failed
                    };
                    self.counts.add(status);
                    self.sessions.insert(host.name.clone(), None);
                    let _ = self.events.send(Event::TaskResult(TaskResult {
                        status,
                        duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                        msg: Some(err.to_string()),
                        ..TaskResult::new(&host.name, "connect")
                    }));
                }
            }
        }
    }
}
