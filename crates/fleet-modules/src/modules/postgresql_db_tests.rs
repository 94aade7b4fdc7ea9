//! Unit tests of `postgresql_db`: plans from the probe's JSON row.

use super::*;
use crate::Step;
use crate::modules::tests::NoFiles;
use serde_json::json;

fn db(params: Value) -> Box<dyn Module> {
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

const EXISTING: &str = r#"{"info": {"owner": "postgres", "encoding": "UTF8", "encoding_matches": true,
  "lc_collate": "C.UTF-8", "lc_ctype": "C.UTF-8", "conn_limit": "-1", "tablespace": "pg_default", "comment": ""}}"#;

#[test]
fn a_missing_database_is_created_with_every_option() {
    let module = db(json!({
        "name": "shop\"x", "owner": "app", "template": "template0", "encoding": "UTF8",
        "lc_collate": "C.UTF-8", "lc_ctype": "C.UTF-8", "conn_limit": 20, "comment": "it's the shop",
    }));
    let probe = module.probe().unwrap();
    assert!(
        probe
            .as_str()
            .contains("'--dbname=postgres' -v 'db=shop\"x' -v 'encoding=UTF8'\n")
    );
    assert!(
        probe
            .as_str()
            .starts_with("sql=$(cat <<'FLEET_SQL'\nselect json_build_object(")
    );
    let plan = module.plan(&Probe::ok(r#"{"info": null}"#)).unwrap();
    assert!(plan.changed);
    assert_eq!(
        sql(&plan),
        "CREATE DATABASE \"shop\"\"x\" OWNER \"app\" TEMPLATE \"template0\" ENCODING 'UTF8' \
         LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' CONNECTION LIMIT 20;\n\
         COMMENT ON DATABASE \"shop\"\"x\" IS 'it''s the shop';\n"
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("database shop\"x: absent -> present\n")
    );
    assert_eq!(plan.data["executed_commands"].as_array().unwrap().len(), 2);
}

#[test]
fn an_existing_database_changes_only_what_differs() {
    let same =
        db(json!({"db": "shop", "owner": "postgres", "encoding": "utf8", "conn_limit": "-1"}));
    assert!(!same.plan(&Probe::ok(EXISTING)).unwrap().changed);
    let owner = db(json!({"db": "shop", "owner": "app", "conn_limit": 5, "comment": "x"}));
    let plan = owner.plan(&Probe::ok(EXISTING)).unwrap();
    assert_eq!(
        sql(&plan),
        "ALTER DATABASE \"shop\" OWNER TO \"app\";\nALTER DATABASE \"shop\" CONNECTION LIMIT 5;\n\
         COMMENT ON DATABASE \"shop\" IS 'x';\n"
    );
    let encoding = db(json!({"db": "shop", "encoding": "LATIN1"}));
    let bad = EXISTING.replace("\"encoding_matches\": true", "\"encoding_matches\": false");
    let err = encoding.plan(&Probe::ok(&bad)).unwrap_err().to_string();
    assert!(
        err.contains("Changing database encoding is not supported. Current encoding: UTF8"),
        "{err}"
    );
    let collate = db(json!({"db": "shop", "lc_collate": "de_DE.UTF-8"}));
    assert!(
        collate
            .plan(&Probe::ok(EXISTING))
            .unwrap_err()
            .to_string()
            .contains("LC_COLLATE")
    );
}

#[test]
fn absent_drops_only_an_existing_database() {
    let module = db(json!({"db": "shop", "state": "absent", "force": true}));
    assert!(
        !module
            .plan(&Probe::ok(r#"{"info": null}"#))
            .unwrap()
            .changed
    );
    let plan = module.plan(&Probe::ok(EXISTING)).unwrap();
    assert_eq!(sql(&plan), "DROP DATABASE \"shop\" WITH (FORCE);\n");
    let failed = Probe {
        rc: 2,
        stdout: String::new(),
        stderr: "psql: error".into(),
    };
    assert!(module.plan(&failed).is_err());
}

#[test]
fn rejects_what_it_cannot_do() {
    let err = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
    assert!(err(json!({"db": "x", "state": "dump", "target": "/tmp/x"})).contains("not supported"));
    assert!(
        err(json!({"db": "x", "login_password": "s"})).contains("unknown field `login_password`")
    );
    assert!(err(json!({"db": "x", "conn_limit": "many"})).contains("not a number"));
    assert!(err(json!({"db": "postgres"})).contains("cannot be the same"));
    assert!(err(json!({"db": "x", "login_user": "a;b"})).contains("login_user"));
}
