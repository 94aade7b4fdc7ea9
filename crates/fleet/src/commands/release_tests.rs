use std::path::PathBuf;

use fleet_playbook::LoadOptions;

use super::*;
use serde_json::json;

const ROLLBACK: Derived<'static> = Derived::Rollback {
    to: None,
    only_own_deploy: false,
};

const DEPLOY: &str = r#"
- name: base
  hosts: all
  tasks:
    - name: packages
      command: "true"
- name: deploy
  hosts: web
  become: true
  vars: {app_root: /opt/shop, artifact: build/shop.tar.gz}
  tasks:
    - name: stop first
      command: "true"
      notify: restart
    - name: deploy {{ artifact }}
      release:
        path: "{{ app_root }}"
        artifact: "{{ artifact }}"
        restart: [shop-api]
        health_urls: []
      register: deployed
      notify: restart
      tags: [deploy]
      ignore_errors: true
      when: app_root is defined
    - name: what is deployed
      release: {path: "{{ app_root }}", state: info}
    - name: the admin app
      release: {path: /opt/admin, artifact: build/admin.tar.gz}
  handlers:
    - name: restart
      command: "true"
"#;

/// Loads `yaml` as a playbook file of its own.
fn load(test: &str, yaml: &str) -> Playbook {
    let dir = std::env::temp_dir().join(format!("fleet-release-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join("playbook.yaml");
    std::fs::write(&path, yaml).unwrap();
    let playbook = fleet_playbook::load(&path, &LoadOptions::default()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    playbook
}

#[test]
fn info_keeps_the_deploy_tasks_once_per_app_and_drops_the_rest() {
    let playbook = release_tasks_only(load("info", DEPLOY), Derived::Info).unwrap();
    assert_eq!(playbook.plays.len(), 1);
    let play = &playbook.plays[0];
    assert_eq!(play.name, "deploy");
    assert!(play.r#become);
    assert!(play.handlers.is_empty());
    let names: Vec<&str> = play.tasks.iter().map(|task| task.name.as_str()).collect();
    assert_eq!(names, ["releases {{ app_root }}", "releases /opt/admin"]);
    let task = &play.tasks[0];
    assert_eq!(
        task.params,
        json!({"path": "{{ app_root }}", "state": "info", "restart": ["shop-api"], "health_urls": []})
    );
    assert_eq!(task.when.as_deref(), Some("app_root is defined"));
    assert!(task.register.is_none() && task.notify.is_empty() && task.tags.is_empty());
    assert!(!task.ignore_errors);
}

#[test]
fn rollback_sets_the_state_and_the_target_only_when_given() {
    let playbook = release_tasks_only(load("rollback", DEPLOY), ROLLBACK).unwrap();
    let task = &playbook.plays[0].tasks[1];
    assert_eq!(task.name, "rollback /opt/admin");
    assert_eq!(
        task.params,
        json!({"path": "/opt/admin", "state": "rollback"})
    );
    let to = Some("20260101_000000");
    let playbook = release_tasks_only(
        load("rollback_to", DEPLOY),
        Derived::Rollback {
            to,
            only_own_deploy: false,
        },
    )
    .unwrap();
    let task = &playbook.plays[0].tasks[1];
    assert_eq!(task.name, "rollback /opt/admin to 20260101_000000");
    assert_eq!(
        task.params,
        json!({"path": "/opt/admin", "state": "rollback", "to": "20260101_000000"})
    );
}

#[test]
fn a_playbook_without_a_release_task_is_refused_with_a_hint() {
    let playbook = load(
        "none",
        "- hosts: all\n  tasks:\n    - command: \"true\"\n  handlers:\n    - name: h\n      release: {path: /opt/x, state: info}\n",
    );
    let err = release_tasks_only(playbook, Derived::Info).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("playbook.yaml: no play has a `release` task"),
        "{text}"
    );
    assert!(text.contains("\n  hint: "), "{text}");
}

#[test]
fn to_must_be_a_release_name() {
    let playbook = load("to", DEPLOY);
    let module = &playbook.plays[1].tasks[1].module;
    let rollback = |to| Derived::Rollback {
        to: Some(to),
        only_own_deploy: false,
    };
    assert!(check_release_name(module, rollback("20260101_000000")).is_ok());
    assert!(check_release_name(module, rollback("20260101_000000_2")).is_ok());
    for bad in ["latest", "20260101", "../x", "20260101_000000_1"] {
        let err = check_release_name(module, rollback(bad))
            .unwrap_err()
            .to_string();
        assert!(err.contains("hint: "), "{bad}: {err}");
        let err = release_tasks_only(load("to_bad", DEPLOY), rollback(bad))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("--to {bad}: not a release name")),
            "{err}"
        );
    }
}

#[test]
fn a_templated_state_is_a_deploy() {
    let yaml = "- hosts: web\n  tasks:\n    - release: {path: /opt/x, state: info}\n    - release: {path: /opt/y, artifact: a.tgz, state: \"{{ release_state | default('present') }}\"}\n";
    let playbook = release_tasks_only(load("templated_state", yaml), Derived::Info).unwrap();
    let tasks = &playbook.plays[0].tasks;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].name, "releases /opt/y");
    assert_eq!(tasks[0].params, json!({"path": "/opt/y", "state": "info"}));
}

#[test]
fn without_a_deploy_the_other_release_tasks_count_once_per_app() {
    let yaml = "- hosts: web\n  tasks:\n    - release: {path: /opt/x, state: info}\n    - release: {path: /opt/x, state: rollback}\n    - release: {path: /opt/y, state: info}\n";
    let playbook = release_tasks_only(load("no_deploy", yaml), ROLLBACK).unwrap();
    let names: Vec<&str> = playbook.plays[0]
        .tasks
        .iter()
        .map(|task| task.name.as_str())
        .collect();
    assert_eq!(names, ["rollback /opt/x", "rollback /opt/y"]);
}

#[test]
fn unlock_keeps_the_lock_params_and_forces_only_when_asked() {
    let yaml = "- hosts: web\n  vars: {lock_wait: 0}\n  tasks:\n    - release: {path: /opt/x, artifact: a.tgz, lock_wait: \"{{ lock_wait }}\", lock_ttl: 60}\n";
    let playbook =
        release_tasks_only(load("unlock", yaml), Derived::Unlock { force: false }).unwrap();
    let task = &playbook.plays[0].tasks[0];
    assert_eq!(task.name, "unlock /opt/x");
    assert_eq!(
        task.params,
        json!({"path": "/opt/x", "state": "unlock", "lock_wait": "{{ lock_wait }}", "lock_ttl": 60})
    );
    let playbook =
        release_tasks_only(load("unlock_force", yaml), Derived::Unlock { force: true }).unwrap();
    assert_eq!(playbook.plays[0].tasks[0].params["force"], json!(true));
    // A rollback keeps them too; `--lock-wait` then sets the param.
    let mut playbook = release_tasks_only(load("rollback_lock", yaml), ROLLBACK).unwrap();
    assert_eq!(
        playbook.plays[0].tasks[0].params,
        json!({"path": "/opt/x", "state": "rollback", "lock_wait": "{{ lock_wait }}", "lock_ttl": 60})
    );
    set_lock_wait(&mut playbook, Some(30));
    assert_eq!(
        playbook.plays[0].tasks[0].params,
        json!({"path": "/opt/x", "state": "rollback", "lock_wait": 30, "lock_ttl": 60})
    );
}

#[test]
fn an_unlock_task_is_not_a_deploy() {
    let yaml = "- hosts: web\n  tasks:\n    - release: {path: /opt/x, state: unlock}\n    - release: {path: /opt/x, artifact: a.tgz}\n";
    let playbook =
        release_tasks_only(load("unlock_task", yaml), Derived::Unlock { force: false }).unwrap();
    let tasks = &playbook.plays[0].tasks;
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].params,
        json!({"path": "/opt/x", "state": "unlock"})
    );
}

#[test]
fn lock_wait_reaches_every_release_task() {
    let mut playbook = load("lock_wait", DEPLOY);
    set_lock_wait(&mut playbook, None);
    assert!(playbook.plays[1].tasks[1].params.get("lock_wait").is_none());
    set_lock_wait(&mut playbook, Some(30));
    let waits: Vec<Option<&Value>> = playbook
        .plays
        .iter()
        .flat_map(|play| &play.tasks)
        .map(|task| task.params.get("lock_wait"))
        .collect();
    assert_eq!(
        waits,
        [
            None,
            None,
            Some(&json!(30)),
            Some(&json!(30)),
            Some(&json!(30)),
            // The flush of handlers after `tasks`.
            None
        ]
    );
}
