//! Unit tests of `postgresql_privs`: plans from the ACLs the probe read.

use super::*;
use crate::Step;
use crate::modules::tests::NoFiles;
use serde_json::json;

fn privs(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn sql(plan: &Plan) -> String {
    let Step::Run {
        stdin: Some(stdin), ..
    } = &plan.steps[0]
    else {
        panic!("no stdin")
    };
    String::from_utf8(stdin.bytes().to_vec()).unwrap()
}

#[test]
fn database_privileges_are_granted_when_missing() {
    let module = privs(
        json!({"db": "postgres", "type": "database", "objs": "shop", "privs": "ALL", "roles": "app"}),
    );
    let probe = module.probe().unwrap();
    assert!(probe.as_str().contains("-v 'kind=database' -v 'objs=[\"shop\"]' -v 'schema=public' -v 'all=no' -v 'roles=[\"app\"]'\n"), "{probe:?}");
    let none = r#"{"objects": {"shop": []}, "roles": ["app"]}"#;
    let plan = module.plan(&Probe::ok(none)).unwrap();
    assert_eq!(sql(&plan), "GRANT ALL ON DATABASE \"shop\" TO \"app\";\n");
    let all = r#"{"objects": {"shop": [
        {"role": "app", "priv": "CREATE", "grantable": false},
        {"role": "app", "priv": "TEMPORARY", "grantable": false},
        {"role": "app", "priv": "CONNECT", "grantable": false}]}, "roles": ["app"]}"#;
    assert!(!module.plan(&Probe::ok(all)).unwrap().changed);
    let option = privs(
        json!({"db": "postgres", "type": "database", "objs": "shop", "privs": "CONNECT", "roles": "app", "grant_option": true}),
    );
    assert_eq!(
        sql(&option.plan(&Probe::ok(all)).unwrap()),
        "GRANT CONNECT ON DATABASE \"shop\" TO \"app\" WITH GRANT OPTION;\n"
    );
}

#[test]
fn tables_in_a_schema_and_revokes() {
    let module = privs(
        json!({"database": "shop", "objs": "ALL_IN_SCHEMA", "schema": "app", "privs": "SELECT,INSERT", "roles": "reader,PUBLIC"}),
    );
    let probe = r#"{"objects": {"orders": [{"role": "reader", "priv": "SELECT", "grantable": false}], "items": []}, "roles": ["reader"]}"#;
    let plan = module.plan(&Probe::ok(probe)).unwrap();
    assert_eq!(
        sql(&plan),
        "GRANT SELECT,INSERT ON ALL TABLES IN SCHEMA \"app\" TO \"reader\",PUBLIC;\n"
    );
    let empty = r#"{"objects": {}, "roles": ["reader"]}"#;
    assert!(!module.plan(&Probe::ok(empty)).unwrap().changed);
    let revoke = privs(
        json!({"db": "shop", "type": "table", "objs": "orders", "privs": "select", "roles": "reader", "state": "absent"}),
    );
    assert_eq!(
        sql(&revoke.plan(&Probe::ok(probe)).unwrap()),
        "REVOKE SELECT ON TABLE \"public\".\"orders\" FROM \"reader\";\n"
    );
    let gone = r#"{"objects": {"orders": []}, "roles": ["reader"]}"#;
    assert!(!revoke.plan(&Probe::ok(gone)).unwrap().changed);
}

#[test]
fn missing_roles_and_bad_params() {
    let module = privs(
        json!({"db": "shop", "type": "schema", "objs": "app", "privs": "USAGE", "roles": "nobody"}),
    );
    let err = module
        .plan(&Probe::ok(r#"{"objects": {"app": []}, "roles": []}"#))
        .unwrap_err();
    assert!(err.to_string().contains("Role 'nobody' does not exist"));
    let lenient = privs(
        json!({"db": "shop", "type": "schema", "objs": "app", "privs": "USAGE", "roles": "nobody", "fail_on_role": false}),
    );
    assert!(
        !lenient
            .plan(&Probe::ok(r#"{"objects": {"app": []}, "roles": []}"#))
            .unwrap()
            .changed
    );
    let err = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
    assert!(err(json!({"db": "s", "type": "default_privs", "objs": "TABLES", "privs": "SELECT", "roles": "a"})).contains("not supported"));
    assert!(
        err(json!({"db": "s", "type": "database", "objs": "s", "privs": "SELECT", "roles": "a"}))
            .contains("does not apply")
    );
    assert!(
        err(json!({"db": "s", "objs": "t", "privs": "FLY", "roles": "a"}))
            .contains("Invalid privileges specified: FLY")
    );
    assert!(err(json!({"db": "s", "privs": "SELECT", "roles": "a"})).contains("objs is required"));
}
