//! The health gate of a rolling release: a play with a deploy task (one
//! for which `fleet_modules::is_deploy` holds) records each host's release
//! before its batch, puts a failed batch (or every batch, per `rollback:`)
//! back on the release it ran before, and finally reports which release
//! each host runs.
//!
//! Each of these is the play's own deploy task with the params its module
//! derives for it (`fleet_modules::derived_params`), so it reaches the app
//! the same way the deploy does (path, units, health checks, become).

use fleet_modules::Derived;
use fleet_playbook::{Play, Task};
use serde_json::{Map, Value};

/// The registered name of a host's release before its batch ran.
pub const BEFORE: &str = "fleet_release_before";
/// The registered name of a host's release at the end of the play.
pub const NOW: &str = "fleet_release_now";

/// The play's deploy: its first task that deploys.
pub fn deploy_task(play: &Play) -> Option<&Task> {
    play.tasks
        .iter()
        .find(|task| fleet_modules::is_deploy(&task.module, &task.params))
}

/// `deploy` as a read-only info task registering `register`.
pub fn info_task(deploy: &Task, name: &str, register: &str) -> Task {
    let mut task = derived(deploy, name, Derived::Info);
    task.register = Some(register.to_string());
    task.check_mode = Some(false);
    task
}

/// `deploy` switched back to the release recorded in [`BEFORE`], on the
/// hosts that had one, when this run deployed the current release: a host
/// whose deploy was refused (its deploy lock held by another run) keeps
/// what that run deployed.
pub fn rollback_task(deploy: &Task) -> Task {
    let to = format!("{{{{ {BEFORE}.current }}}}");
    let rollback = Derived::Rollback {
        to: Some(&to),
        only_own_deploy: true,
    };
    let mut task = derived(
        deploy,
        "roll back to the release before this rollout",
        rollback,
    );
    task.when = Some(format!("{BEFORE}.current is defined and {BEFORE}.current"));
    task
}

/// A play that runs only `tasks` on the same hosts with the same vars.
pub fn play_of(play: &Play, tasks: Vec<Task>) -> Play {
    Play {
        tasks,
        handlers: Vec::new(),
        serial: None,
        max_fail_percentage: None,
        gather_facts: false,
        ..play.clone()
    }
}

/// The release a host runs, from its registered `info` result.
pub fn current_release(registered: Option<&Map<String, Value>>, name: &str) -> Option<String> {
    registered?
        .get(name)?
        .get("current")?
        .as_str()
        .map(str::to_string)
}

/// The deploy task without what belongs to the deploy alone, with the
/// params of `kind`; it runs whatever `--tags` and `--skip-tags` selected. A task whose
/// module derives nothing (not one [`deploy_task`] picks) never runs.
fn derived(deploy: &Task, name: &str, kind: Derived<'_>) -> Task {
    let params = fleet_modules::derived_params(&deploy.module, &deploy.params, kind);
    let when = match params {
        Some(_) => deploy.when.clone(),
        None => Some("false".to_string()),
    };
    Task {
        params: params.unwrap_or(Value::Null),
        when,
        tags: vec!["always".to_string(), super::tags::FLEET_OWN.to_string()],
        r#loop: None,
        ..deploy.derived(name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(params: Value) -> Task {
        let yaml = format!(
            "- hosts: all\n  tasks:\n    - name: deploy\n      release: {params}\n      register: r\n      notify: [x]\n  handlers:\n    - name: x\n      command: 'true'\n"
        );
        load("task", &yaml).plays[0].tasks[0].clone()
    }

    fn load(test: &str, yaml: &str) -> fleet_playbook::Playbook {
        let dir = std::env::temp_dir().join(format!("fleet-gate-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.yaml");
        std::fs::write(&path, yaml).unwrap();
        let playbook = fleet_playbook::load(&path, &Default::default()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        playbook
    }

    #[test]
    fn info_and_rollback_keep_the_deploys_settings() {
        let deploy = task(json!({"path": "/opt/a", "artifact": "a.tgz", "restart": ["a-api"]}));
        let info = info_task(&deploy, "record", BEFORE);
        assert_eq!(
            info.params,
            json!({"path": "/opt/a", "restart": ["a-api"], "state": "info"})
        );
        assert_eq!(info.register.as_deref(), Some(BEFORE));
        assert!(info.notify.is_empty());
        let back = rollback_task(&deploy);
        assert_eq!(back.params["state"], "rollback");
        assert_eq!(back.params["to"], "{{ fleet_release_before.current }}");
        assert_eq!(back.params["only_own_deploy"], true);
        assert!(back.params.get("artifact").is_none());
        assert!(back.register.is_none());
    }

    #[test]
    fn the_deploy_is_the_first_task_that_may_deploy() {
        let yaml = "- hosts: all\n  tasks:\n    - release: {path: /opt/a, state: info}\n    - release: {path: /opt/a, state: \"{{ release_state | default('present') }}\"}\n    - release: {path: /opt/a, artifact: a.tgz}\n";
        let playbook = load("templated", yaml);
        let deploy = deploy_task(&playbook.plays[0]).unwrap();
        assert_eq!(
            deploy.params["state"],
            "{{ release_state | default('present') }}"
        );
        let yaml = "- hosts: all\n  tasks:\n    - release: {path: /opt/a, state: info}\n    - release: {path: /opt/a, state: rollback}\n    - command: 'true'\n";
        assert!(deploy_task(&load("none", yaml).plays[0]).is_none());
        let info = info_task(deploy, "record", BEFORE);
        assert_eq!(info.params, json!({"path": "/opt/a", "state": "info"}));
    }

    #[test]
    fn a_task_whose_module_derives_nothing_never_runs() {
        let yaml = "- hosts: all\n  tasks:\n    - command: 'true'\n";
        let playbook = load("command", yaml);
        let info = info_task(&playbook.plays[0].tasks[0], "record", BEFORE);
        assert_eq!(info.when.as_deref(), Some("false"));
    }

    #[test]
    fn reads_the_current_release() {
        let mut registered = Map::new();
        registered.insert(NOW.into(), json!({"current": "20260101_000000"}));
        assert_eq!(
            current_release(Some(&registered), NOW).as_deref(),
            Some("20260101_000000")
        );
        assert_eq!(current_release(Some(&registered), BEFORE), None);
        assert_eq!(current_release(None, NOW), None);
    }
}
