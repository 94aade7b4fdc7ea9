use serde_json::json;

use super::*;

const RELEASE: &str = "release";

fn deploy() -> Value {
    json!({
        "path": "/opt/shop",
        "artifact": "{{ release_artifact }}",
        "restart": ["shop-api"],
        "health_urls": [],
        "lock_wait": "{{ lock_wait }}",
        "lock_ttl": 60,
    })
}

#[test]
fn a_release_task_deploys_unless_its_state_is_written_as_another() {
    let role = |params: Value| deploy_role(RELEASE, &params);
    assert_eq!(role(json!({"path": "/opt/a"})), Some(DeployRole::Deploy));
    assert_eq!(
        role(json!({"path": "/opt/a", "state": "present"})),
        Some(DeployRole::Deploy)
    );
    for state in ["rollback", "info", "unlock"] {
        assert_eq!(
            role(json!({"path": "/opt/a", "state": state})),
            Some(DeployRole::Manage),
            "{state}"
        );
    }
    // A templated state is known per host only at run time: it may deploy.
    for state in ["{{ release_state }}", "{% if x %}info{% endif %}"] {
        assert_eq!(
            role(json!({"path": "/opt/a", "state": state})),
            Some(DeployRole::Deploy),
            "{state}"
        );
        assert!(is_deploy(RELEASE, &json!({"state": state})));
    }
    assert!(!is_deploy(
        RELEASE,
        &json!({"path": "/opt/a", "state": "info"})
    ));
}

#[test]
fn other_modules_deploy_nothing_and_derive_nothing() {
    let params = json!({"path": "/opt/a", "state": "directory"});
    assert_eq!(deploy_role("file", &params), None);
    assert!(!is_deploy("file", &params));
    assert!(!is_deploy("no_such_module", &params));
    assert_eq!(derived_params("file", &params, Derived::Info), None);
    assert_eq!(deployed_app("file", &params), None);
    assert_eq!(with_lock_wait("file", &params, 30), None);
    let rollback = Derived::Rollback {
        to: Some("latest"),
        only_own_deploy: false,
    };
    assert_eq!(check_derived("file", rollback), Ok(()));
}

#[test]
fn info_drops_the_artifact_and_keeps_the_rest() {
    let params = derived_params(RELEASE, &deploy(), Derived::Info).unwrap();
    assert_eq!(
        params,
        json!({
            "path": "/opt/shop", "restart": ["shop-api"], "health_urls": [],
            "lock_wait": "{{ lock_wait }}", "lock_ttl": 60, "state": "info",
        })
    );
}

#[test]
fn rollback_sets_its_target_and_own_deploy_only_when_given() {
    let mut written = deploy();
    written["to"] = json!("20260101_000000");
    written["only_own_deploy"] = json!(true);
    let plain = Derived::Rollback {
        to: None,
        only_own_deploy: false,
    };
    let params = derived_params(RELEASE, &written, plain).unwrap();
    assert_eq!(params["state"], "rollback");
    for dropped in ["artifact", "to", "only_own_deploy", "force"] {
        assert!(params.get(dropped).is_none(), "{dropped}: {params}");
    }
    assert_eq!(params["lock_ttl"], 60);
    let gate = Derived::Rollback {
        to: Some("{{ before.current }}"),
        only_own_deploy: true,
    };
    let params = derived_params(RELEASE, &deploy(), gate).unwrap();
    assert_eq!(params["to"], "{{ before.current }}");
    assert_eq!(params["only_own_deploy"], true);
    assert!(params.get("artifact").is_none());
}

#[test]
fn unlock_forces_only_when_asked() {
    let params = derived_params(RELEASE, &deploy(), Derived::Unlock { force: false }).unwrap();
    assert_eq!(
        params,
        json!({
            "path": "/opt/shop", "restart": ["shop-api"], "health_urls": [],
            "lock_wait": "{{ lock_wait }}", "lock_ttl": 60, "state": "unlock",
        })
    );
    let params = derived_params(RELEASE, &deploy(), Derived::Unlock { force: true }).unwrap();
    assert_eq!(params["force"], true);
    assert_eq!(params["state"], "unlock");
}

/// Every derived task of a valid deploy is itself valid.
#[test]
fn derived_params_pass_the_modules_validation() {
    let written = json!({"path": "/opt/a", "artifact": "a.tgz", "lock_ttl": 60});
    let to = Some("20260101_000000");
    for derived in [
        Derived::Info,
        Derived::Rollback {
            to,
            only_own_deploy: true,
        },
        Derived::Unlock { force: true },
    ] {
        let params = derived_params(RELEASE, &written, derived).unwrap();
        assert_eq!(crate::validate(RELEASE, &params), Ok(()), "{params}");
    }
}

#[test]
fn the_app_is_the_path() {
    assert_eq!(deployed_app(RELEASE, &deploy()), Some(&json!("/opt/shop")));
    assert_eq!(deployed_app(RELEASE, &json!({"state": "info"})), None);
}

#[test]
fn a_rollback_target_must_be_a_release_name_unless_templated() {
    let rollback = |to| Derived::Rollback {
        to: Some(to),
        only_own_deploy: false,
    };
    for good in [
        "20260101_000000",
        "20260101_000000_2",
        "{{ before.current }}",
    ] {
        assert_eq!(check_derived(RELEASE, rollback(good)), Ok(()), "{good}");
    }
    for bad in ["latest", "20260101", "../x", "20260101_000000_1"] {
        let err = check_derived(RELEASE, rollback(bad)).unwrap_err();
        assert!(err.to_string().contains("must be a release name"), "{err}");
    }
    let none = Derived::Rollback {
        to: None,
        only_own_deploy: false,
    };
    assert_eq!(check_derived(RELEASE, none), Ok(()));
    assert_eq!(check_derived(RELEASE, Derived::Info), Ok(()));
}

#[test]
fn lock_wait_overrides_what_the_task_says() {
    let params = with_lock_wait(RELEASE, &deploy(), 30).unwrap();
    assert_eq!(params["lock_wait"], 30);
    let mut expected = deploy();
    expected["lock_wait"] = json!(30);
    assert_eq!(params, expected);
    let params = with_lock_wait(RELEASE, &json!({"path": "/opt/a"}), 0).unwrap();
    assert_eq!(params, json!({"path": "/opt/a", "lock_wait": 0}));
}

#[test]
fn a_rollback_target_is_checked_before_any_playbook_is_read() {
    let rollback = |to| Derived::Rollback {
        to: Some(to),
        only_own_deploy: false,
    };
    assert!(crate::check_derived_by_any(rollback("20260301_120000")).is_ok());
    assert!(crate::check_derived_by_any(rollback("latest")).is_err());
    assert!(crate::check_derived_by_any(Derived::Info).is_ok());
}
