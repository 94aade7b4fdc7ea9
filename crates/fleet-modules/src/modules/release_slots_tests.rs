//! Blue/green `release` in a real `sh` on a temp dir (see
//! `release_run_tests`): `systemctl` keeps each unit's state as a file in
//! `units/`, `nginx` logs its words (and fails when `nginx-fails` exists),
//! `curl` fails while `unhealthy` exists.

use serde_json::{Value, json};

use super::run_tests::{Root, phases, stderr, stdout};

const SLOT_STUBS: &str = r#"
mkdir -p "$stubs_dir/units"
systemctl() {
  argv systemctl "$@" >> "$stubs_log"
  for unit; do :; done
  state="$stubs_dir/units/$unit"
  case $1 in
    restart) : > "$state" ;;
    stop) rm -f -- "$state" ;;
    enable) : > "$state.enabled" ;;
    disable) rm -f -- "$state.enabled"; case " $* " in *' --now '*) rm -f -- "$state" ;; esac ;;
    is-enabled) [ -e "$state.enabled" ] ;;
    is-active)
      if [ -e "$state" ]; then [ "$2" = --quiet ] || echo active
      else [ "$2" = --quiet ] || echo inactive; return 3; fi ;;
  esac
}
nginx() { argv nginx "$@" >> "$stubs_log"; [ ! -e "$stubs_dir/nginx-fails" ]; }
curl() { argv curl "$@" >> "$stubs_log"; if [ -e "$stubs_dir/unhealthy" ]; then printf 503; else printf 200; fi; }
"#;

fn root() -> Root {
    Root::with_stubs(SLOT_STUBS)
}

fn upstream(root: &Root) -> String {
    root.dir
        .join("nginx/app-upstream.conf")
        .display()
        .to_string()
}

fn params(root: &Root, extra: Value) -> Value {
    let mut params = json!({
        "artifact": "build/app-1.1.tar.gz",
        "restart": ["app-worker"],
        "health_retries": 1,
        "venv": root.venv(false),
        "slots": {
            "unit": "app-api",
            "ports": [8001, "8002"],
            "upstream_file": upstream(root),
            "replaces": ["app-api"],
        },
    });
    for (key, value) in extra.as_object().unwrap() {
        params[key] = value.clone();
    }
    params
}

fn is_active(root: &Root, unit: &str) -> bool {
    root.dir.join("units").join(unit).exists()
}

fn touch(root: &Root, name: &str) {
    let path = root.dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "").unwrap();
}

fn live_port(root: &Root) -> String {
    std::fs::read_to_string(upstream(root)).unwrap()
}

/// Two deploys of different artifacts: v1.0 then v1.1.
fn two_releases(root: &Root) -> (String, String) {
    let (first, outputs, outcome) =
        root.apply(params(root, json!({"artifact": "build/app-1.0.tar"})));
    outcome.unwrap_or_else(|err| panic!("{err}: {outputs:#?}"));
    let (second, outputs, outcome) = root.apply(params(root, json!({})));
    outcome.unwrap_or_else(|err| panic!("{err}: {outputs:#?}"));
    let name = |plan: &crate::Plan| plan.data["release"].as_str().unwrap().to_string();
    (name(&first), name(&second))
}

#[test]
fn a_first_deploy_starts_the_first_slot_checks_it_then_points_nginx_and_current_at_it() {
    let root = root();
    touch(&root, "units/app-api");
    let (plan, outputs, outcome) = root.apply(params(&root, json!({})));
    outcome.unwrap_or_else(|err| panic!("{err}: {outputs:#?}"));
    let name = plan.data["release"].as_str().unwrap().to_string();
    assert_eq!(
        phases(&outputs),
        [
            "lock", "prepare", "unpack", "link", "pip", "start", "health", "switch", "stop",
            "restart", "unlock"
        ]
    );
    assert_eq!(root.link("slots/8001"), format!("../releases/{name}"));
    assert_eq!(root.link("current"), format!("releases/{name}"));
    assert!(live_port(&root).contains("\nserver 127.0.0.1:8001;\n"));
    assert!(is_active(&root, "app-api@8001"));
    assert!(
        !is_active(&root, "app-api"),
        "the single api unit it replaces"
    );
    let log = root.stubs_log();
    let order = [
        "systemctl [restart] [--] [app-api@8001]",
        "curl [-sS] [--max-time] [5] [-o]",
        "nginx [-t] [-q]",
        "nginx [-s] [reload]",
        "systemctl [enable] [--quiet] [--] [app-api@8001]",
        "systemctl [disable] [--now] [--quiet] [--] [app-api]",
        "systemctl [is-enabled] [--quiet] [--] [app-worker]",
    ];
    let mut at = 0;
    for expected in order {
        let found = log[at..].find(expected);
        assert!(found.is_some(), "{expected} after byte {at} of\n{log}");
        at += found.unwrap();
    }
    assert!(log.contains("http://127.0.0.1:8001/health/ready"), "{log}");
    assert!(stdout(&outputs).contains("nginx: upstream -> 127.0.0.1:8001"));
}

#[test]
fn the_next_deploy_goes_to_the_other_slot_and_stops_the_old_instance() {
    let root = root();
    let (first, second) = two_releases(&root);
    assert_eq!(root.link("slots/8001"), format!("../releases/{first}"));
    assert_eq!(root.link("slots/8002"), format!("../releases/{second}"));
    assert!(live_port(&root).contains("server 127.0.0.1:8002;"));
    assert!(is_active(&root, "app-api@8002"));
    assert!(
        !is_active(&root, "app-api@8001"),
        "the old instance is stopped"
    );
    assert!(
        root.stubs_log()
            .contains("systemctl [disable] [--quiet] [--] [app-api@8001]")
    );

    let (info, _, _) = root.apply(params(&root, json!({"state": "info", "artifact": null})));
    let msg = info.msg.unwrap();
    assert!(
        msg.contains(&format!(
            "idle slot 8001 ({first}, stopped), live slot 8002 ({second}, running)"
        )),
        "{msg}"
    );
    assert_eq!(info.data["slots"][1]["live"], true);
    assert_eq!(info.data["slots"][1]["unit"], "app-api@8002");
    assert_eq!(info.data["slots"][0]["state"], "inactive");

    // The same artifact again changes nothing.
    let (again, outputs, _) = root.apply(params(&root, json!({})));
    assert!(!again.changed && outputs.is_empty(), "{outputs:#?}");
}

#[test]
fn a_release_that_fails_its_check_is_stopped_and_nothing_else_changes() {
    let root = root();
    let (first, second) = two_releases(&root);
    let upstream_before = live_port(&root);
    touch(&root, "unhealthy");
    let (plan, outputs, outcome) =
        root.apply(params(&root, json!({"artifact": "build/app-1.0.tar"})));
    let message = outcome.unwrap_err().to_string();
    assert!(message.contains("release: health failed"), "{message}");
    let failed = plan.data["release"].as_str().unwrap().to_string();
    assert!(
        stderr(&outputs).contains(&format!(
            "release {failed} not deployed; current is still {second}"
        )),
        "{outputs:#?}"
    );
    assert_eq!(live_port(&root), upstream_before);
    assert_eq!(root.link("current"), format!("releases/{second}"));
    assert_eq!(
        root.link("slots/8001"),
        format!("../releases/{first}"),
        "put back"
    );
    assert!(
        !is_active(&root, "app-api@8001"),
        "the new instance is stopped"
    );
    assert!(is_active(&root, "app-api@8002"), "the live one still runs");
    assert_eq!(root.releases(), [first.as_str(), second.as_str()]);
    assert!(
        !root
            .stubs_log()
            .contains("nginx [-s] [reload]\nnginx [-s] [reload]\nnginx [-s] [reload]")
    );
    assert!(!root.at(".fleet-lock").exists());
}

#[test]
fn a_config_nginx_refuses_leaves_the_old_upstream_and_stops_the_new_instance() {
    let root = root();
    let (first, second) = two_releases(&root);
    let upstream_before = live_port(&root);
    touch(&root, "nginx-fails");
    let (_, _, outcome) = root.apply(params(&root, json!({"artifact": "build/app-1.0.tar"})));
    let message = outcome.unwrap_err().to_string();
    assert!(message.contains("release: switch failed"), "{message}");
    assert_eq!(live_port(&root), upstream_before);
    assert_eq!(root.link("current"), format!("releases/{second}"));
    assert!(!is_active(&root, "app-api@8001"));
    assert!(is_active(&root, "app-api@8002"));
    assert_eq!(
        root.link("slots/8001"),
        format!("../releases/{first}"),
        "put back"
    );
}

#[test]
fn without_health_urls_a_slot_goes_live_once_started() {
    let root = root();
    let (_, outputs, outcome) = root.apply(params(&root, json!({"health_urls": []})));
    outcome.unwrap_or_else(|err| panic!("{err}: {outputs:#?}"));
    assert!(live_port(&root).contains("server 127.0.0.1:8001;"));
    assert!(!root.stubs_log().contains("curl"));
}

#[test]
fn a_rollback_starts_the_target_on_the_idle_slot_then_switches() {
    let root = root();
    let (first, second) = two_releases(&root);
    let (plan, outputs, outcome) = root.apply(params(
        &root,
        json!({"state": "rollback", "artifact": null}),
    ));
    outcome.unwrap_or_else(|err| panic!("{err}: {outputs:#?}"));
    assert_eq!(plan.data["release"], first.as_str());
    assert_eq!(root.link("slots/8001"), format!("../releases/{first}"));
    assert!(live_port(&root).contains("server 127.0.0.1:8001;"));
    assert_eq!(root.link("current"), format!("releases/{first}"));
    assert!(is_active(&root, "app-api@8001"));
    assert!(!is_active(&root, "app-api@8002"));
    let log = std::fs::read_to_string(root.at("releases.log")).unwrap();
    let last = log.lines().last().unwrap();
    assert!(last.contains("action=rollback") && last.contains(&format!("previous={second}")));

    // Back on the release it rolled back to, a rollback to it is a no-op.
    let to = json!({"state": "rollback", "artifact": null, "to": first});
    let (again, outputs, _) = root.apply(params(&root, to));
    assert!(!again.changed && outputs.is_empty());
}

#[test]
fn an_artifact_that_is_current_but_runs_on_no_slot_goes_live_on_one() {
    let root = root();
    let (plan, _, outcome) = root.apply(json!({"artifact": "build/app-1.1.tar.gz"}));
    outcome.unwrap();
    let name = plan.data["release"].as_str().unwrap().to_string();
    touch(&root, "units/app-api");
    let (again, outputs, outcome) = root.apply(params(&root, json!({})));
    outcome.unwrap_or_else(|err| panic!("{err}: {outputs:#?}"));
    assert!(again.changed);
    assert_eq!(root.link("slots/8001"), format!("../releases/{name}"));
    assert!(live_port(&root).contains("server 127.0.0.1:8001;"));
    assert!(!is_active(&root, "app-api"));
    assert_eq!(root.releases(), [name.as_str()]);
}

#[test]
fn slots_are_checked_when_the_task_is_built() {
    let root = root();
    let refused = |slots: Value, health: Option<Value>| {
        let mut params = params(&root, json!({"slots": slots}));
        if let Some(health) = health {
            params["health_urls"] = health;
        }
        params["path"] = json!("/opt/app");
        super::build(params, &super::run_tests::Sources)
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default()
    };
    let slots = |ports: Value| json!({"unit": "a-api", "ports": ports, "upstream_file": "/etc/nginx/a.conf"});
    assert!(refused(slots(json!([8001])), None).contains("two ports"));
    assert!(refused(slots(json!([8001, 8001])), None).contains("must differ"));
    assert!(refused(slots(json!([8001, 70000])), None).contains("bad port"));
    let no_port = json!(["http://127.0.0.1:8000/health"]);
    assert!(refused(slots(json!([8001, 8002])), Some(no_port)).contains("{port}"));
    let relative = json!({"unit": "a-api", "ports": [1, 2], "upstream_file": "a.conf"});
    assert!(refused(relative, None).contains("absolute"));
    let bad_unit = json!({"unit": "-a", "ports": [1, 2], "upstream_file": "/a.conf"});
    assert!(refused(bad_unit, None).contains("invalid unit"));
}
