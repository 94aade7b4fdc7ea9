//! apt's and user's Ansible parameters beyond the basics, and the
//! PostgreSQL modules, on the lab host `lab27` (`FLEET_PG_HOST` moves it),
//! asserting the real state of the host after each run.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use fleet_engine::Status;
use fleet_tests::module_harness::sh_ok;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

fn host() -> LabHost {
    let name = std::env::var("FLEET_PG_HOST").unwrap_or_else(|_| "lab27".into());
    LabHost::root(&name, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// The tests take turns: dpkg has one lock per host, and the PostgreSQL
/// tests share one server.
fn turn() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn package_status(lab: &LabHost, package: &str) -> String {
    lab.sh(&format!(
        "dpkg-query -W -f='${{db:Status-Abbrev}}' {package} 2>/dev/null"
    ))
    .1
    .trim()
    .to_string()
}

#[test]
fn apt_deb_autoremove_and_upgrade_check() {
    let _turn = turn();
    let lab = host();
    let dir = "/srv/fleet-test-apt-extra";
    sh_ok(
        &lab,
        &format!(
            "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 purge -y -q hello pv >/dev/null; \
             rm -rf {dir}; mkdir -p {dir} && apt-get update -q >/dev/null && \
             cd {dir} && apt-get download -q hello >/dev/null 2>&1 && mv hello_*.deb hello.deb"
        ),
    );
    let deb = json!({"deb": format!("{dir}/hello.deb")});
    let check = lab.run("apt", deb.clone(), true);
    assert_status(&check, Status::Changed);
    assert_eq!(
        package_status(&lab, "hello"),
        "",
        "check mode installed nothing"
    );
    lab.converge("apt", deb);
    assert_eq!(package_status(&lab, "hello"), "ii");
    assert_eq!(sh_ok(&lab, "hello"), "Hello, world!");

    lab.converge("apt", json!({"package": "pv", "install_recommends": false}));
    sh_ok(&lab, "apt-mark auto pv >/dev/null");
    let remove = json!({"autoremove": true, "purge": true});
    assert_status(&lab.run("apt", remove.clone(), true), Status::Changed);
    assert_eq!(
        package_status(&lab, "pv"),
        "ii",
        "check mode removed nothing"
    );
    lab.converge("apt", remove);
    assert_eq!(package_status(&lab, "pv"), "", "autoremove purged pv");

    let only_upgrade = lab.run(
        "apt",
        json!({"name": "pv", "state": "latest", "only_upgrade": true}),
        false,
    );
    assert_status(&only_upgrade, Status::Ok);
    assert_eq!(package_status(&lab, "pv"), "");

    let upgrade = lab.run("apt", json!({"upgrade": "dist"}), true);
    assert_ne!(upgrade.status, Status::Failed, "{upgrade:?}");
    sh_ok(
        &lab,
        &format!(
            "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 purge -y -q hello >/dev/null; rm -rf {dir}"
        ),
    );
}

#[test]
fn user_expiry_lock_ageing_and_ssh_key() {
    let _turn = turn();
    let lab = host();
    let name = "fleet-pg-user";
    lab.sh(&format!("userdel -r {name} 2>/dev/null; true"));
    lab.converge(
        "user",
        json!({
            "name": name, "password": "$6$salt$0123456789abcdef", "password_lock": true,
            "expires": 1_893_456_000, "password_expire_max": 90, "password_expire_warn": 14,
            "generate_ssh_key": true, "ssh_key_type": "ed25519", "ssh_key_comment": "fleet test",
            "ssh_key_passphrase": "correct horse",
        }),
    );
    let shadow = sh_ok(&lab, &format!("getent shadow {name}"));
    let fields: Vec<&str> = shadow.split(':').collect();
    assert_eq!(fields[1], "!$6$salt$0123456789abcdef", "locked hash");
    assert_eq!(fields[4], "90");
    assert_eq!(fields[5], "14");
    assert_eq!(fields[7], "21915", "expires 2030-01-01");
    let key = format!("/home/{name}/.ssh/id_ed25519");
    assert_eq!(
        sh_ok(&lab, &format!("stat -c '%U %a' {key} /home/{name}/.ssh")),
        format!("{name} 600\n{name} 700")
    );
    let public = sh_ok(&lab, &format!("ssh-keygen -y -P 'correct horse' -f {key}"));
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    assert!(sh_ok(&lab, &format!("cat {key}.pub")).ends_with(" fleet test"));

    let unlock = json!({"name": name, "password_lock": false, "expires": -1});
    lab.converge("user", unlock);
    let shadow = sh_ok(&lab, &format!("getent shadow {name}"));
    let fields: Vec<&str> = shadow.split(':').collect();
    assert_eq!(fields[1], "$6$salt$0123456789abcdef");
    assert_eq!(fields[7], "", "no expiry");

    sh_ok(&lab, &format!("rm -rf /home/{name}"));
    lab.converge("user", json!({"name": name}));
    assert_eq!(
        sh_ok(&lab, &format!("stat -c %U /home/{name}")),
        name,
        "the missing home is made again"
    );
    lab.converge(
        "user",
        json!({"name": name, "state": "absent", "remove": true, "force": true}),
    );
    assert_eq!(lab.sh(&format!("getent passwd {name}")).0, 2);
}

/// psql as postgres on the host, one value out.
fn sql(lab: &LabHost, query: &str) -> String {
    sh_ok(
        lab,
        &format!("cd / && runuser -u postgres -- psql -XAtq -c \"{query}\""),
    )
}

fn install_postgresql(lab: &LabHost) {
    sh_ok(
        lab,
        "command -v psql >/dev/null || { apt-get update -q >/dev/null && \
         DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q postgresql >/dev/null; }; \
         systemctl start postgresql",
    );
}

#[test]
fn postgresql_db_and_user_converge_a_real_server() {
    let _turn = turn();
    let lab = host();
    install_postgresql(&lab);
    sql(&lab, "drop database if exists fleet_shop");
    sql(&lab, "drop role if exists fleet_app");
    sql(&lab, "drop role if exists \\\"fleet o'dd\\\"");

    let role = json!({
        "name": "fleet_app", "password": "it's s3cret", "role_attr_flags": "CREATEDB,NOSUPERUSER",
        "conn_limit": 5, "expires": "2030-01-01 00:00:00+00", "comment": "the app",
    });
    assert_status(
        &lab.run("postgresql_user", role.clone(), true),
        Status::Changed,
    );
    assert_eq!(
        sql(
            &lab,
            "select count(*) from pg_roles where rolname = 'fleet_app'"
        ),
        "0"
    );
    lab.converge("postgresql_user", role);
    assert_eq!(
        sql(
            &lab,
            "select rolcreatedb, rolsuper, rolcanlogin, rolconnlimit, rolvaliduntil at time zone 'UTC' from pg_roles where rolname = 'fleet_app'"
        ),
        "t|f|t|5|2030-01-01 00:00:00"
    );
    assert_eq!(
        sql(
            &lab,
            "select shobj_description(oid, 'pg_authid') from pg_roles where rolname = 'fleet_app'"
        ),
        "the app"
    );
    let stored = sql(
        &lab,
        "select rolpassword from pg_authid where rolname = 'fleet_app'",
    );
    assert!(stored.starts_with("SCRAM-SHA-256$"), "{stored}");
    let new_password = json!({"name": "fleet_app", "password": "n3w"});
    lab.converge("postgresql_user", new_password);
    assert_ne!(
        sql(
            &lab,
            "select rolpassword from pg_authid where rolname = 'fleet_app'"
        ),
        stored
    );
    let frozen = json!({"name": "fleet_app", "password": "other", "no_password_changes": true});
    assert_status(&lab.run("postgresql_user", frozen, false), Status::Ok);
    lab.converge("postgresql_user", json!({"name": "fleet o'dd"}));
    assert_eq!(
        sql(
            &lab,
            "select count(*) from pg_roles where rolname = 'fleet o''dd'"
        ),
        "1"
    );

    let database = json!({
        "name": "fleet_shop", "owner": "fleet_app", "encoding": "UTF8", "template": "template0",
        "conn_limit": "20", "comment": "shop data",
    });
    assert_status(
        &lab.run("postgresql_db", database.clone(), true),
        Status::Changed,
    );
    lab.converge("postgresql_db", database);
    assert_eq!(
        sql(
            &lab,
            "select r.rolname, pg_encoding_to_char(d.encoding), d.datconnlimit from pg_database d join pg_roles r on r.oid = d.datdba where datname = 'fleet_shop'"
        ),
        "fleet_app|UTF8|20"
    );
    lab.converge(
        "postgresql_db",
        json!({"db": "fleet_shop", "owner": "fleet o'dd"}),
    );
    let latin = lab.run(
        "postgresql_db",
        json!({"db": "fleet_shop", "encoding": "LATIN1"}),
        false,
    );
    assert_status(&latin, Status::Failed);

    let in_use = lab.run(
        "postgresql_user",
        json!({"name": "fleet o'dd", "state": "absent"}),
        false,
    );
    assert_status(&in_use, Status::Failed);
    lab.converge(
        "postgresql_db",
        json!({"db": "fleet_shop", "state": "absent", "force": true}),
    );
    assert_eq!(
        sql(
            &lab,
            "select count(*) from pg_database where datname = 'fleet_shop'"
        ),
        "0"
    );
    for name in ["fleet_app", "fleet o'dd"] {
        lab.converge("postgresql_user", json!({"name": name, "state": "absent"}));
    }
    assert_eq!(
        sql(
            &lab,
            "select count(*) from pg_roles where rolname like 'fleet%'"
        ),
        "0"
    );
}

#[test]
fn postgresql_privs_grants_and_revokes_on_a_real_server() {
    let _turn = turn();
    let lab = host();
    install_postgresql(&lab);
    sql(&lab, "drop database if exists fleet_privs");
    sql(&lab, "drop role if exists fleet_reader");
    sql(&lab, "create role fleet_reader");
    sql(&lab, "create database fleet_privs");
    sh_ok(
        &lab,
        "cd / && runuser -u postgres -- psql -XAtq -d fleet_privs -c 'create schema app' -c 'create table app.orders (id int)' -c 'create table app.items (id int)'",
    );
    let connect = json!({"db": "postgres", "type": "database", "objs": "fleet_privs", "privs": "CONNECT,TEMP", "roles": "fleet_reader"});
    assert_status(
        &lab.run("postgresql_privs", connect.clone(), true),
        Status::Changed,
    );
    lab.converge("postgresql_privs", connect);
    assert_eq!(
        sql(
            &lab,
            "select has_database_privilege('fleet_reader', 'fleet_privs', 'CONNECT')"
        ),
        "t"
    );
    let tables = json!({"db": "fleet_privs", "objs": "ALL_IN_SCHEMA", "schema": "app", "privs": "SELECT", "roles": "fleet_reader", "grant_option": true});
    lab.converge("postgresql_privs", tables);
    let grants = sh_ok(
        &lab,
        "cd / && runuser -u postgres -- psql -XAtq -d fleet_privs -c \"select string_agg(table_name || ':' || is_grantable, ',' order by table_name) from information_schema.role_table_grants where grantee = 'fleet_reader'\"",
    );
    assert_eq!(grants, "items:YES,orders:YES");
    let schema = json!({"db": "fleet_privs", "type": "schema", "objs": "app", "privs": "USAGE", "roles": "fleet_reader"});
    lab.converge("postgresql_privs", schema);
    let revoke = json!({"db": "fleet_privs", "type": "table", "objs": "orders", "schema": "app", "privs": "SELECT", "roles": "fleet_reader", "state": "absent"});
    lab.converge("postgresql_privs", revoke);
    let grants = sh_ok(
        &lab,
        "cd / && runuser -u postgres -- psql -XAtq -d fleet_privs -c \"select string_agg(table_name, ',') from information_schema.role_table_grants where grantee = 'fleet_reader'\"",
    );
    assert_eq!(grants, "items");
    let missing = lab.run("postgresql_privs", json!({"db": "fleet_privs", "type": "schema", "objs": "app", "privs": "USAGE", "roles": "fleet_nobody"}), false);
    assert_status(&missing, Status::Failed);
    sql(&lab, "drop database fleet_privs");
    sql(&lab, "drop role fleet_reader");
}

#[path = "apt_user_postgres/query_hba.rs"]
mod query_hba;
