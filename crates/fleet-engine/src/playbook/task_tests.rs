//! Where a task runs and as whom.

use std::path::Path;

use fleet_inventory::Inventory;
use fleet_playbook::{Play, Templater};
use fleet_ssh::{BecomeMethod, Client, SshOptions};
use serde_json::{Map, json};

use super::{ApplyOptions, HostState, TaskContext};
use crate::connection::Connection;
use crate::playbook::delegate::Delegates;

fn play(text: &str) -> Play {
    let dir = std::env::temp_dir().join(format!("fleet-task-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join(format!("p{}.yaml", fleet_shell::token()));
    std::fs::write(&path, text).expect("write");
    let options = fleet_playbook::LoadOptions {
        known_vars: ["peer".to_owned()].into(),
        ..Default::default()
    };
    let playbook = fleet_playbook::load(&path, &options).expect("load");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
    playbook.plays[0].clone()
}

fn host(inventory_become: bool) -> HostState {
    HostState {
        name: "web1".into(),
        inventory_vars: Map::from_iter([("peer".to_owned(), json!("db1"))]),
        inventory_become,
        groups: vec!["all".into()],
        connection: Connection::local("web1"),
        registered: Map::new(),
        last_result: serde_json::Value::Null,
        facts: None,
        notified: Vec::new(),
        failed: false,
        ended: false,
        blocks: Default::default(),
        flow: Default::default(),
        included_vars: Default::default(),
        delegated_facts: Vec::new(),
    }
}

/// An inventory where `db1` says to become and `web2` does not.
fn delegates() -> Delegates {
    let yaml = "all:\n  hosts:\n    web1: {become: true}\n    web2: {}\n    db1: {become: true}\n";
    let inventory = Inventory::parse(yaml, Path::new("inv.yaml")).expect("inventory");
    Delegates::new(
        Client::new(SshOptions::default()).expect("client"),
        inventory.hosts(),
    )
}

/// Runs `check` with a context for `play`.
fn with_context(play: &Play, check: impl FnOnce(&TaskContext<'_>)) {
    let (templater, options) = (Templater::new(), ApplyOptions::default());
    let delegates = delegates();
    let ctx = TaskContext {
        play,
        play_hosts: &["web1".to_string()],
        play_hosts_all: &["web1".to_string()],
        shared: &Default::default(),
        hostvars_tasks: &Default::default(),
        templater: &templater,
        options: &options,
        delegates: &delegates,
        cancel: &Default::default(),
        commands: None,
    };
    check(&ctx);
}

#[test]
fn a_delegated_task_runs_on_its_delegates_connection_with_that_hosts_become() {
    let play = play(
        "hosts: all\ntasks:\n  - command: 'true'\n  - command: 'true'\n    delegate_to: localhost\n  - command: 'true'\n    delegate_to: localhost\n    become: true\n    become_user: app\n  - command: 'true'\n    delegate_to: web2\n  - command: 'true'\n    delegate_to: \"{{ peer }}\"\n",
    );
    with_context(&play, |ctx| {
        let host = host(true);
        let vars = ctx.vars(&play.tasks[0], &host);
        let places: Vec<(String, Option<String>, bool)> = play
            .tasks
            .iter()
            .map(|task| {
                let place = ctx.place(task, &host, &vars).expect("place");
                (
                    place.connection.host().to_owned(),
                    place.delegated_to,
                    place.inventory_become,
                )
            })
            .collect();
        assert_eq!(
            places,
            [
                ("web1".into(), None, true),
                ("localhost".into(), Some("localhost".into()), false),
                ("localhost".into(), Some("localhost".into()), false),
                ("web2".into(), Some("web2".into()), false),
                ("db1".into(), Some("db1".into()), true),
            ]
        );
        let user = |task, inventory_become| {
            ctx.r#become(task, inventory_become, &Default::default())
                .map(|how| how.user)
        };
        assert_eq!(user(&play.tasks[0], true).as_deref(), Some("root"));
        assert_eq!(user(&play.tasks[1], false), None);
        assert_eq!(user(&play.tasks[2], false).as_deref(), Some("app"));
    });
}

#[test]
fn become_method_and_flags_come_from_the_task_else_the_play() {
    let play = play(
        "hosts: all\nbecome: true\nbecome_method: su\nbecome_flags: -s /bin/sh\ntasks:\n  - command: 'true'\n  - command: 'true'\n    become_method: sudo\n    become_flags: -H\n  - command: 'true'\n    become_flags: -l\n",
    );
    with_context(&play, |ctx| {
        let methods: Vec<BecomeMethod> = play
            .tasks
            .iter()
            .map(|task| {
                ctx.r#become(task, false, &Default::default())
                    .expect("become")
                    .method
            })
            .collect();
        let su = |flags: &[&str]| BecomeMethod::Su {
            flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
        };
        assert_eq!(
            methods,
            [su(&["-s", "/bin/sh"]), BecomeMethod::Sudo, su(&["-l"])]
        );
    });
}

#[test]
fn ansible_become_vars_win_over_the_keywords_and_a_delegate_reads_its_own() {
    let play = play(
        "hosts: all\nbecome: true\nbecome_user: app\nvars:\n  ansible_become_user: postgres\n  ansible_become_method: su\n  sudo_secret: s3cret\n  ansible_become_password: \"{{ sudo_secret }}\"\ntasks:\n  - command: 'true'\n    become_user: root\n  - command: 'true'\n    become: false\n    vars: {ansible_become: true}\n  - command: 'true'\n    delegate_to: db1\n",
    );
    with_context(&play, |ctx| {
        let host = host(false);
        let how: Vec<Option<(String, BecomeMethod, Option<String>)>> = play
            .tasks
            .iter()
            .map(|task| {
                let vars = ctx.vars(task, &host);
                let place = ctx.place(task, &host, &vars).expect("place");
                ctx.r#become(task, place.inventory_become, &place.become_vars)
                    .map(|how| {
                        let password = how.password.map(|p| p.expose().to_owned());
                        (how.user, how.method, password)
                    })
            })
            .collect();
        let su = BecomeMethod::Su { flags: Vec::new() };
        let postgres = Some(("postgres".to_owned(), su, Some("s3cret".to_owned())));
        assert_eq!(
            how,
            [
                postgres.clone(),
                postgres,
                Some(("app".to_owned(), BecomeMethod::Sudo, None)),
            ]
        );
    });
}

#[test]
fn a_delegate_to_that_renders_to_no_host_fails_the_task() {
    let play = play(
        "hosts: all\ntasks:\n  - command: 'true'\n    delegate_to: \"{{ peer | default('') }}\"\n    vars: {peer: ''}\n",
    );
    with_context(&play, |ctx| {
        let host = host(false);
        let vars = ctx.vars(&play.tasks[0], &host);
        let err = ctx
            .place(&play.tasks[0], &host, &vars)
            .err()
            .expect("no place");
        assert!(err.contains("one host name"), "{err}");
    });
}
