//! Unit tests of `postgresql_user`: plans from the probe's JSON row.

use super::*;
use crate::Step;
use crate::modules::tests::NoFiles;
use serde_json::json;

fn user(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn stdin_text(plan: &Plan) -> String {
    let Step::Run {
        stdin: Some(stdin), ..
    } = &plan.steps[0]
    else {
        panic!("no stdin")
    };
    String::from_utf8(stdin.bytes().to_vec()).unwrap()
}

fn role(extra: &str) -> String {
    format!(
        r#"{{"role": {{"rolsuper": false, "rolcreaterole": false, "rolcreatedb": false, "rolinherit": true,
        "rolcanlogin": true, "rolreplication": false, "rolbypassrls": false, "rolconnlimit": -1,
        "rolpassword": null, "rolvaliduntil": null, "comment": ""{extra}}},
        "expires": null, "password_encryption": "scram-sha-256"}}"#
    )
}

#[test]
fn a_missing_role_is_created_with_its_password_as_a_secret() {
    let module = user(json!({
        "name": "app", "password": "it's secret", "role_attr_flags": "CREATEDB,NOSUPERUSER",
        "conn_limit": 10, "expires": "infinity",
    }));
    let probe = module.probe().unwrap();
    assert!(
        probe
            .as_str()
            .contains("'--dbname=postgres' -v 'name=app' -v 'expires=infinity'\n")
    );
    assert!(!probe.as_str().contains("secret"));
    let plan = module
        .plan(&Probe::ok(r#"{"role": null, "expires": "infinity"}"#))
        .unwrap();
    assert_eq!(
        stdin_text(&plan),
        "CREATE USER \"app\" WITH ENCRYPTED PASSWORD 'it''s secret' VALID UNTIL 'infinity' \
         CONNECTION LIMIT 10 CREATEDB NOSUPERUSER;\n"
    );
    let Step::Run {
        stdin: Some(stdin), ..
    } = &plan.steps[0]
    else {
        panic!()
    };
    assert_eq!(format!("{stdin:?}"), "Secret(***)");
    assert_eq!(plan.diff.as_deref(), Some("role app: absent -> present\n"));
    assert!(!format!("{:?}", plan.data).contains("secret"));
}

#[test]
fn an_existing_role_changes_only_what_differs() {
    let module = user(json!({"name": "app", "role_attr_flags": "createdb", "conn_limit": "-1"}));
    let plan = module.plan(&Probe::ok(&role(""))).unwrap();
    assert_eq!(
        stdin_text(&plan),
        "ALTER USER \"app\" WITH CREATEDB CONNECTION LIMIT -1;\n"
    );
    assert!(!format!("{:?}", plan.steps[0]).contains("Secret"));
    let done = role("").replace("\"rolcreatedb\": false", "\"rolcreatedb\": true");
    assert!(!module.plan(&Probe::ok(&done)).unwrap().changed);
    let stored = "SCRAM-SHA-256$4096:uUBVJcAdIDpJGqF8cGS+Zw==$zhaCdFj1lRW7IGzqPPetnQUtT0Y/q/oN6dVPzOu8ijQ=:+Z/593fv0ki3CnvrVIHANOahcBzSPoPoUHUinHd0amk=";
    let with_pw = role("").replace(
        "\"rolpassword\": null",
        &format!("\"rolpassword\": \"{stored}\""),
    );
    let same = user(json!({"name": "app", "password": "s3cret"}));
    assert!(!same.plan(&Probe::ok(&with_pw)).unwrap().changed);
    let other = user(json!({"name": "app", "password": "n3w"}));
    let plan = other.plan(&Probe::ok(&with_pw)).unwrap();
    assert_eq!(
        stdin_text(&plan),
        "ALTER USER \"app\" WITH ENCRYPTED PASSWORD 'n3w';\n"
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("role app: attributes and password changed\n")
    );
    let frozen = user(json!({"name": "app", "password": "n3w", "no_password_changes": true}));
    assert!(!frozen.plan(&Probe::ok(&with_pw)).unwrap().changed);
}

#[test]
fn expiry_and_comment() {
    let module = user(json!({"name": "app", "expires": "2030-01-01", "comment": "the app"}));
    let probe = role("").replace(
        "\"expires\": null",
        "\"expires\": \"2030-01-01T00:00:00+00:00\"",
    );
    let plan = module.plan(&Probe::ok(&probe)).unwrap();
    assert_eq!(
        stdin_text(&plan),
        "ALTER USER \"app\" VALID UNTIL '2030-01-01';\nCOMMENT ON ROLE \"app\" IS 'the app';\n"
    );
    let done = probe
        .replace(
            "\"rolvaliduntil\": null",
            "\"rolvaliduntil\": \"2030-01-01T00:00:00+00:00\"",
        )
        .replace("\"comment\": \"\"", "\"comment\": \"the app\"");
    assert!(!module.plan(&Probe::ok(&done)).unwrap().changed);
}

#[test]
fn absent_drops_and_may_tolerate_a_failure() {
    let module = user(json!({"name": "app", "state": "absent"}));
    assert!(
        !module
            .plan(&Probe::ok(r#"{"role": null}"#))
            .unwrap()
            .changed
    );
    let plan = module.plan(&Probe::ok(&role(""))).unwrap();
    assert_eq!(stdin_text(&plan), "DROP USER \"app\";\n");
    let failed = [crate::StepOutput {
        rc: 3,
        stdout: String::new(),
        stderr: "owns objects".into(),
    }];
    assert!(
        module
            .outcome(&failed)
            .unwrap_err()
            .to_string()
            .contains("Unable to remove user: owns objects")
    );
    let lenient = user(json!({"name": "app", "state": "absent", "fail_on_role": false}));
    assert!(lenient.outcome(&failed).is_ok());
}

#[test]
fn rejects_unknown_flags_and_params() {
    let err = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
    assert!(
        err(json!({"name": "a", "role_attr_flags": "CREATEUSER"}))
            .contains("Invalid role_attr_flags specified: CREATEUSER")
    );
    assert!(err(json!({"name": "a", "priv": "CONNECT"})).contains("unknown field `priv`"));
    assert!(err(json!({"name": "a", "configuration": {}})).contains("unknown field"));
}
