//! Where a task runs and as whom.

use fleet_playbook::{Play, Templater};
use serde_json::Map;

use super::{ApplyOptions, HostState, TaskContext};
use crate::connection::Connection;

fn play(tasks: &str) -> Play {
    let dir = std::env::temp_dir().join(format!("fleet-task-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join(format!("p{}.yaml", fleet_shell::token()));
    std::fs::write(&path, format!("hosts: all\ntasks:\n{tasks}")).expect("write");
    let playbook = fleet_playbook::load(&path, &Default::default()).expect("load");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
    playbook.plays[0].clone()
}

fn host(inventory_become: bool) -> HostState {
    HostState {
        name: "web1".into(),
        inventory_vars: Map::new(),
        inventory_become,
        groups: vec!["all".into()],
        connection: Connection::local("web1"),
        registered: Map::new(),
        facts: None,
        notified: Vec::new(),
        failed: false,
        ended: false,
        blocks: Default::default(),
    }
}

#[test]
fn a_delegated_task_runs_on_the_controller_without_the_inventorys_become() {
    let play = play(
        "  - command: 'true'\n  - command: 'true'\n    delegate_to: localhost\n  - command: 'true'\n    delegate_to: localhost\n    become: true\n    become_user: app\n",
    );
    let controller = Connection::local("localhost");
    let (templater, options) = (Templater::new(), ApplyOptions::default());
    let ctx = TaskContext {
        play: &play,
        play_hosts: &["web1".to_string()],
        play_hosts_all: &["web1".to_string()],
        shared: &Default::default(),
        hostvars_tasks: &Default::default(),
        templater: &templater,
        options: &options,
        controller: &controller,
        cancel: &Default::default(),
        commands: None,
    };
    let host = host(true);
    let [own, delegated, delegated_become] = &play.tasks[..] else {
        panic!("three tasks");
    };
    assert_eq!(ctx.connection(own, &host).host(), "web1");
    assert_eq!(ctx.connection(delegated, &host).host(), "localhost");
    let user = |task| ctx.r#become(task, &host).map(|how| how.user);
    assert_eq!(user(own).as_deref(), Some("root"));
    assert_eq!(user(delegated), None);
    assert_eq!(user(delegated_become).as_deref(), Some("app"));
}
