//! Where a delegated task runs (`delegate_to`, `local_action`): on the
//! connection of the host it names, with the vars of the host it runs for,
//! as Ansible does.
//!
//! - `localhost` and `127.0.0.1` are the controller's own shell, as is an
//!   inventory host with `connection: local`.
//! - An inventory host is reached the way the inventory says (address,
//!   port, user, key, jump); a play's `remote_user` stands in for a user
//!   the inventory does not name.
//! - A name outside the inventory (from a template) is reached by that
//!   name over SSH, as Ansible reaches an implicit host.
//!
//! Every host has one SSH session for the whole run: a host the play runs
//! on lends its own session to the tasks delegated to it, and a host only
//! delegated to is connected when a first command needs it (a delegated
//! `set_fact` or `debug` never connects), then that session is reused by
//! every later delegation and, if the host comes up in a later play, by
//! that play.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use fleet_inventory::{Host, Transport};
use fleet_ssh::{Client, Session, Target};
use serde_json::{Map, Value};

use crate::connection::{Connection, LazySession};
use crate::target::ssh_target;

/// Who a session logs in as: a host, and the SSH user (`None`: whatever
/// ssh_config and the controller's user say).
type Login = (String, Option<String>);

/// The run's connections to hosts tasks are delegated to.
#[derive(Debug)]
pub struct Delegates {
    client: Client,
    inventory: BTreeMap<String, Host>,
    /// Every session lent or opened, by login.
    sessions: Mutex<BTreeMap<Login, Connection>>,
}

/// Where one run of a delegated task goes.
#[derive(Debug, Clone)]
pub struct Delegation {
    /// The host as `delegate_to` named it.
    pub host: String,
    pub connection: Connection,
    /// The delegated host's inventory `become`: the inventory says how to
    /// reach that host, so its become applies (false for the controller
    /// and for hosts outside the inventory).
    pub inventory_become: bool,
    /// The delegated host's inventory vars, for its become vars.
    pub vars: Map<String, Value>,
}

impl Delegates {
    pub fn new(client: Client, inventory: &[Host]) -> Delegates {
        Delegates {
            client,
            inventory: inventory
                .iter()
                .map(|host| (host.name.clone(), host.clone()))
                .collect(),
            sessions: Mutex::new(BTreeMap::new()),
        }
    }

    /// Lends the session `host` runs its own tasks on (logged in as
    /// `user`) to the tasks delegated to it.
    pub fn lend(&self, host: &str, user: Option<&str>, session: &Session) {
        let login = (host.to_owned(), user.map(str::to_owned));
        self.lock().insert(login, Connection::Ssh(session.clone()));
    }

    /// A session opened for tasks delegated to `host` (logged in as
    /// `user`), for the host's own play to use rather than connect again.
    pub fn opened(&self, host: &str, user: Option<&str>) -> Option<Session> {
        let login = (host.to_owned(), user.map(str::to_owned));
        match self.lock().get(&login)? {
            Connection::Lazy(lazy) => lazy.opened().cloned(),
            Connection::Ssh(session) => Some(session.clone()),
            Connection::Local(_) => None,
        }
    }

    /// Where a task delegated to `name` runs; `remote_user` is the play's.
    pub fn to(&self, name: &str, remote_user: Option<&str>) -> Delegation {
        let known = self.inventory.get(name);
        let inventory_become = known.is_some_and(|host| host.connection.r#become);
        let vars = known.map(|host| host.vars.clone()).unwrap_or_default();
        let local = fleet_playbook::CONTROLLER_NAMES.contains(&name)
            || known.is_some_and(|host| host.connection.transport == Transport::Local);
        let connection = if local {
            Connection::local(name)
        } else {
            let mut target = known.map_or_else(|| Target::new(name), ssh_target);
            if target.user.is_none() {
                target.user = remote_user.map(str::to_owned);
            }
            let login = (name.to_owned(), target.user.clone());
            self.lock()
                .entry(login)
                .or_insert_with(|| {
                    Connection::Lazy(Arc::new(LazySession::new(self.client.clone(), target)))
                })
                .clone()
        };
        Delegation {
            host: name.to_owned(),
            connection,
            inventory_become,
            vars,
        }
    }

    /// Closes the sessions opened for delegation only (the lent ones are
    /// the plays', closed with them).
    pub async fn close(&self) {
        let lazy: Vec<Connection> = self
            .lock()
            .values()
            .filter(|connection| matches!(connection, Connection::Lazy(_)))
            .cloned()
            .collect();
        for connection in lazy {
            connection.close().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Login, Connection>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use fleet_inventory::Inventory;
    use fleet_ssh::SshOptions;

    use super::*;

    fn delegates() -> Delegates {
        let yaml = "all:\n  hosts:\n    web1: {address: 10.0.0.1, user: deploy, become: true}\n    db1: {address: 10.0.0.2}\n    ctl: {connection: local}\n";
        let inventory = Inventory::parse(yaml, Path::new("inv.yaml")).expect("inventory");
        let client = Client::new(SshOptions::default()).expect("client");
        Delegates::new(client, inventory.hosts())
    }

    fn lazy_target(delegation: &Delegation) -> (String, Option<String>) {
        match &delegation.connection {
            Connection::Lazy(lazy) => (lazy.target().address.clone(), lazy.target().user.clone()),
            other => panic!("not a lazy session: {other:?}"),
        }
    }

    #[test]
    fn each_host_is_reached_the_way_its_inventory_says() {
        let delegates = delegates();
        let web = delegates.to("web1", Some("admin"));
        assert_eq!(
            lazy_target(&web),
            ("10.0.0.1".into(), Some("deploy".into()))
        );
        assert!(web.inventory_become);
        let db = delegates.to("db1", Some("admin"));
        assert_eq!(lazy_target(&db), ("10.0.0.2".into(), Some("admin".into())));
        assert!(!db.inventory_become);
        let outside = delegates.to("lb.example.net", None);
        assert_eq!(lazy_target(&outside), ("lb.example.net".into(), None));
        for local in ["localhost", "127.0.0.1", "ctl"] {
            let delegation = delegates.to(local, Some("admin"));
            assert!(
                matches!(delegation.connection, Connection::Local(_)),
                "{local}"
            );
        }
    }

    #[test]
    fn one_login_is_one_session_for_the_whole_run() {
        let delegates = delegates();
        let first = delegates.to("db1", Some("admin"));
        let again = delegates.to("db1", Some("admin"));
        let other_user = delegates.to("db1", Some("root"));
        let same = |a: &Delegation, b: &Delegation| match (&a.connection, &b.connection) {
            (Connection::Lazy(a), Connection::Lazy(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        assert!(same(&first, &again));
        assert!(!same(&first, &other_user));
        assert!(delegates.opened("db1", Some("admin")).is_none());
    }
}
