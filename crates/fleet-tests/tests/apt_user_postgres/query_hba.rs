//! postgresql_query and postgresql_pg_hba on the same host and server as
//! the other PostgreSQL tests.

use fleet_engine::Status;
use fleet_tests::module_harness::assert_status;
use serde_json::{Value, json};

use super::{host, install_postgresql, sh_ok, sql, turn};

fn data(outcome: &fleet_engine::ModuleOutcome) -> Value {
    Value::Object(outcome.data.clone())
}

fn in_db(lab: &fleet_tests::module_harness::LabHost, query: &str) -> String {
    sh_ok(
        lab,
        &format!("cd / && runuser -u postgres -- psql -XAtq -d fleet_query -c \"{query}\""),
    )
}

#[test]
fn postgresql_query_runs_binds_and_reports_like_ansible() {
    let _turn = turn();
    let lab = host();
    install_postgresql(&lab);
    sql(&lab, "drop database if exists fleet_query");
    sql(&lab, "drop role if exists fleet_query_owner");
    sql(&lab, "create role fleet_query_owner");
    sql(&lab, "create database fleet_query owner fleet_query_owner");

    let create = json!({"login_db": "fleet_query", "session_role": "fleet_query_owner", "query": [
        "create schema app",
        "create table app.items (id int primary key, name text, price numeric(6,2), tags text[], doc jsonb, seen timestamptz)",
    ]});
    let created = lab.run("postgresql_query", create, false);
    assert_status(&created, Status::Changed);
    assert_eq!(data(&created)["statusmessage"], "CREATE TABLE");
    assert_eq!(data(&created)["query_all_results"], json!([{}, {}]));
    assert_eq!(
        in_db(
            &lab,
            "select tableowner from pg_tables where tablename = 'items'"
        ),
        "fleet_query_owner"
    );

    let insert = json!({"db": "fleet_query", "search_path": ["app"],
        "query": "insert into items values (%s, %s, %s, %s, %s, '2024-01-02 03:04:05.5+00')",
        "positional_args": [1, "it's; drop table items; --", 3.5, ["a", "b c"], "{\"k\": [1, null]}"]});
    // Check mode runs it, reports it, and rolls it back.
    let rehearsed = lab.run("postgresql_query", insert.clone(), true);
    assert_status(&rehearsed, Status::Changed);
    assert_eq!(data(&rehearsed)["rowcount"], 1);
    assert_eq!(in_db(&lab, "select count(*) from app.items"), "0");
    let inserted = lab.run("postgresql_query", insert, false);
    assert_status(&inserted, Status::Changed);
    assert_eq!(data(&inserted)["statusmessage"], "INSERT 0 1");
    assert_eq!(
        in_db(
            &lab,
            "select name || '|' || array_to_string(tags, ',') from app.items"
        ),
        "it's; drop table items; --|'a','b c'"
    );

    let select = json!({"db": "fleet_query",
        "query": "select id, name, price, doc, seen, id > %(min)s as big, null::text as nothing from app.items where name like %(pattern)s",
        "named_args": {"min": 0, "pattern": "it%"}});
    let selected = lab.run("postgresql_query", select, false);
    assert_status(&selected, Status::Ok);
    let result = data(&selected);
    assert_eq!(result["statusmessage"], "SELECT 1");
    assert_eq!(result["rowcount"], 1);
    assert_eq!(
        result["query_result"],
        json!([{"id": 1, "name": "it's; drop table items; --", "price": 3.5,
                "doc": {"k": [1, null]}, "seen": "2024-01-02T03:04:05.500000+00:00",
                "big": true, "nothing": null}])
    );
    assert_eq!(
        result["query"],
        "select id, name, price, doc, seen, id > 0 as big, null::text as nothing from app.items where name like 'it%'"
    );

    // An update of no rows changes nothing; one that matches does.
    let none =
        json!({"db": "fleet_query", "query": "update app.items set name = 'x' where id = 99"});
    assert_status(&lab.run("postgresql_query", none, false), Status::Ok);
    let returning = json!({"db": "fleet_query", "query": "update app.items set price = price * 2 returning id, price"});
    let updated = lab.run("postgresql_query", returning, false);
    assert_status(&updated, Status::Changed);
    assert_eq!(data(&updated)["statusmessage"], "UPDATE 1");
    assert_eq!(
        data(&updated)["query_result"],
        json!([{"id": 1, "price": 7.0}])
    );

    // A failing query fails the task and commits nothing of it.
    let failing = json!({"db": "fleet_query", "query": ["delete from app.items", "select 1/0"]});
    let failed = lab.run("postgresql_query", failing, false);
    assert_status(&failed, Status::Failed);
    assert!(
        failed
            .msg
            .as_deref()
            .unwrap_or_default()
            .contains("division by zero"),
        "{failed:?}"
    );
    assert_eq!(in_db(&lab, "select count(*) from app.items"), "1");

    // VACUUM needs autocommit, which check mode refuses.
    let vacuum = json!({"db": "fleet_query", "query": "vacuum app.items", "autocommit": true});
    assert_status(
        &lab.run("postgresql_query", vacuum.clone(), false),
        Status::Changed,
    );
    assert_status(&lab.run("postgresql_query", vacuum, true), Status::Failed);
    let in_transaction = json!({"db": "fleet_query", "query": "vacuum app.items"});
    assert_status(
        &lab.run("postgresql_query", in_transaction, false),
        Status::Failed,
    );

    let show = json!({"query": "show server_encoding", "encoding": "UTF8"});
    let shown = lab.run("postgresql_query", show, false);
    assert_status(&shown, Status::Ok);
    assert_eq!(data(&shown)["statusmessage"], "SHOW");
    assert_eq!(
        data(&shown)["query_result"],
        json!([{"server_encoding": "UTF8"}])
    );

    sql(&lab, "drop database fleet_query");
    sql(&lab, "drop role fleet_query_owner");
}

const HBA: &str = "# managed by hand\nlocal   all   postgres   peer\n\nhost    all   all   127.0.0.1/32   scram-sha-256\n";

#[test]
fn postgresql_pg_hba_rewrites_the_file_as_ansible_does() {
    let _turn = turn();
    let lab = host();
    let dir = "/srv/fleet-test-pg-hba";
    let dest = format!("{dir}/pg_hba.conf");
    sh_ok(
        &lab,
        &format!(
            "rm -rf {dir} && mkdir -p {dir} && printf '%s' '{HBA}' > {dest} && chmod 0640 {dest}"
        ),
    );
    let add = json!({"dest": dest, "contype": "host", "databases": "shop", "users": "app,admin",
        "source": "10.1.0.0/16", "method": "scram-sha-256", "comment": "the app", "backup": true});
    let check = lab.run("postgresql_pg_hba", add.clone(), true);
    assert_status(&check, Status::Changed);
    assert_eq!(sh_ok(&lab, &format!("cat {dest}")), HBA.trim_end());
    let first = lab.converge("postgresql_pg_hba", add);
    let expected = "# managed by hand\nlocal   all   postgres   peer\n\
        host    all   all   127.0.0.1/32   scram-sha-256\n\
        host\tshop\tadmin\t10.1.0.0/16\tscram-sha-256\t#the app\n\
        host\tshop\tapp\t10.1.0.0/16\tscram-sha-256\t#the app";
    assert_eq!(
        sh_ok(&lab, &format!("cat {dest}; echo '|'")),
        format!("{expected}|")
    );
    assert_eq!(sh_ok(&lab, &format!("stat -c %a {dest}")), "600");
    let backup = data(&first)["backup_file"].as_str().unwrap().to_string();
    assert!(backup.starts_with(&format!("{dest}.")), "{backup}");
    assert_eq!(sh_ok(&lab, &format!("cat '{backup}'")), HBA.trim_end());
    assert_eq!(
        data(&first)["msgs"],
        json!([
            "Adding rule host\tshop\tapp\t10.1.0.0/16\tscram-sha-256\t#the app",
            "Adding rule host\tshop\tadmin\t10.1.0.0/16\tscram-sha-256\t#the app",
            "Changed",
            "Creating Backup",
            "Writing"
        ])
    );

    let remove = json!({"dest": dest, "contype": "host", "databases": "shop", "users": "admin",
        "source": "10.1.0.0/16", "state": "absent", "mode": "0644"});
    lab.converge("postgresql_pg_hba", remove);
    assert!(!sh_ok(&lab, &format!("cat {dest}")).contains("admin"));
    assert_eq!(sh_ok(&lab, &format!("stat -c %a {dest}")), "644");

    let read = lab.run("postgresql_pg_hba", json!({"dest": dest}), false);
    assert_status(&read, Status::Ok);
    assert_eq!(data(&read)["pg_hba"].as_array().unwrap().len(), 3);

    let missing = json!({"dest": format!("{dir}/new.conf"), "contype": "local", "method": "peer"});
    assert_status(
        &lab.run("postgresql_pg_hba", missing.clone(), true),
        Status::Changed,
    );
    assert_status(
        &lab.run("postgresql_pg_hba", missing, false),
        Status::Failed,
    );
    let created = json!({"dest": format!("{dir}/new.conf"), "contype": "local", "method": "peer", "create": true});
    lab.converge("postgresql_pg_hba", created);
    assert_eq!(
        sh_ok(&lab, &format!("cat {dir}/new.conf")),
        "local\tall\tall\tpeer"
    );
    sh_ok(&lab, &format!("rm -rf {dir}"));
}
