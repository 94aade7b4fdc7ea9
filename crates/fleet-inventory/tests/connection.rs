//! Connection vars: defaults, inheritance, validation and path resolution.

use std::path::{Path, PathBuf};

use fleet_inventory::{Connection, Inventory, InventoryError, Jump, Transport, UserName};

fn parse_at(yaml: &str, origin: &str) -> Inventory {
    Inventory::parse(yaml, Path::new(origin)).unwrap_or_else(|err| panic!("{err}"))
}

fn connection(yaml: &str, name: &str) -> Connection {
    parse_at(yaml, "inv.yaml")
        .host(name)
        .unwrap_or_else(|| panic!("no host {name}"))
        .connection
        .clone()
}

fn error(yaml: &str) -> String {
    let err = Inventory::parse(yaml, Path::new("inv.yaml")).expect_err("should be rejected");
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn defaults() {
    let conn = connection("all:\n  hosts:\n    web1:\n", "web1");
    assert_eq!(
        conn,
        Connection {
            address: "web1".into(),
            port: 22,
            user: None,
            identity_file: None,
            jump: None,
            r#become: false,
            transport: Transport::Ssh,
        }
    );
}

#[test]
fn defaults_are_not_written_into_vars() {
    let inventory = parse_at("all:\n  hosts:\n    web1:\n", "inv.yaml");
    let web1 = inventory.host("web1").expect("web1");
    assert!(web1.vars.is_empty(), "{:?}", web1.vars);
}

#[test]
fn set_at_any_level_and_inherited() {
    let yaml = "
all:
  vars: {user: root, become: false}
  children:
    db:
      vars: {become: true, port: 2200}
      hosts:
        db1: {address: 10.77.0.21, user: postgres}
        db2:
";
    let db1 = connection(yaml, "db1");
    assert_eq!(db1.address, "10.77.0.21");
    assert_eq!(db1.user.as_deref(), Some("postgres"));
    assert_eq!(db1.port, 2200);
    assert!(db1.r#become);
    let db2 = connection(yaml, "db2");
    assert_eq!(
        (db2.address.as_str(), db2.user.as_deref()),
        ("db2", Some("root"))
    );
}

#[test]
fn connection_local_is_inherited_and_overridden() {
    let yaml = "
all:
  vars: {connection: local}
  hosts:
    ctl1:
    web1: {connection: ssh, address: 10.77.0.11}
";
    let inventory = parse_at(yaml, "inv.yaml");
    let ctl1 = inventory.host("ctl1").expect("ctl1");
    assert_eq!(ctl1.connection.transport, Transport::Local);
    assert_eq!(ctl1.vars["connection"], "local");
    let web1 = inventory.host("web1").expect("web1");
    assert_eq!(web1.connection.transport, Transport::Ssh);
    assert_eq!(web1.connection.address, "10.77.0.11");
}

#[test]
fn jump_is_parsed_and_normalized() {
    let yaml = "all:\n  vars: {jump: 'ops@[2001:db8::1]:2200'}\n  hosts:\n    web1:\n";
    let inventory = parse_at(yaml, "inv.yaml");
    let web1 = inventory.host("web1").expect("web1");
    assert_eq!(
        web1.connection.jump,
        Some(Jump {
            user: Some("ops".into()),
            host: "2001:db8::1".into(),
            port: Some(2200),
        })
    );
    assert_eq!(web1.vars["jump"], "ops@[2001:db8::1]:2200");
}

#[test]
fn relative_identity_file_resolves_against_the_inventory_directory() {
    let yaml = "
all:
  vars: {identity_file: keys/deploy}
  hosts:
    web1:
    web2: {identity_file: /etc/fleet/key}
";
    let inventory = parse_at(yaml, "inventories/prod/hosts.yaml");
    let web1 = inventory.host("web1").expect("web1");
    assert_eq!(
        web1.connection.identity_file,
        Some(PathBuf::from("inventories/prod/keys/deploy"))
    );
    assert_eq!(web1.vars["identity_file"], "inventories/prod/keys/deploy");
    let web2 = inventory.host("web2").expect("web2");
    assert_eq!(
        web2.connection.identity_file,
        Some(PathBuf::from("/etc/fleet/key"))
    );

    let flat = parse_at(yaml, "hosts.yaml");
    let web1 = flat.host("web1").expect("web1");
    assert_eq!(
        web1.connection.identity_file,
        Some(PathBuf::from("keys/deploy"))
    );
}

#[test]
fn tilde_identity_file_expands_home() {
    let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) else {
        return; // Nothing to expand against.
    };
    let yaml = "all:\n  hosts:\n    web1: {identity_file: ~/.ssh/id_ed25519}\n";
    let conn = connection(yaml, "web1");
    assert_eq!(
        conn.identity_file,
        Some(PathBuf::from(home).join(".ssh/id_ed25519"))
    );
}

#[test]
fn invalid_values_are_reported_where_written() {
    let group_port =
        "all:\n  children:\n    web:\n      vars: {port: 70000}\n      hosts: {w1: }\n";
    assert_eq!(
        error(group_port),
        "inv.yaml:4:20: port must be a number from 1 to 65535, got 70000"
    );
    assert_eq!(
        error("all:\n  vars:\n    port: 22.5\n"),
        "inv.yaml:3:11: port must be a number from 1 to 65535, got 22.5"
    );
    assert_eq!(
        error("all:\n  vars:\n    address: ''\n"),
        "inv.yaml:3:14: address must be a host name or IP address, got \"\""
    );
    assert_eq!(
        error("all:\n  vars:\n    user: [root]\n"),
        "inv.yaml:3:11: user must be a user name, got a list"
    );
    assert_eq!(
        error("all:\n  vars:\n    become: 1\n"),
        "inv.yaml:3:13: become must be true or false, got 1"
    );
    assert_eq!(
        error("all:\n  vars:\n    connection: winrm\n"),
        "inv.yaml:3:17: connection must be `ssh` or `local`, got \"winrm\""
    );
    assert_eq!(
        error("all:\n  vars:\n    jump: a,b\n"),
        "inv.yaml:3:11: invalid jump \"a,b\": jump chains like `a,b` are not supported"
    );
    assert_eq!(
        error("all:\n  vars:\n    identity_file: ~ops/key\n"),
        "inv.yaml:3:20: identity_file \"~ops/key\": only a leading `~/` is expanded"
    );
}

#[test]
fn errors_are_invalid_input_with_a_location() {
    let err =
        Inventory::parse("all:\n  vars: {port: 0}\n", Path::new("x.yaml")).expect_err("port 0");
    assert!(matches!(err, InventoryError::Invalid { .. }));
    let location = err.location().expect("located");
    assert_eq!(
        (location.source.as_str(), location.line, location.column),
        ("x.yaml", 2, Some(16))
    );
    assert!(err.hint().is_some_and(|hint| hint.contains("port: 2222")));
}

#[test]
fn load_reports_unreadable_files() {
    let err = Inventory::load(Path::new("does/not/exist.yaml")).expect_err("missing file");
    assert!(matches!(err, InventoryError::Io { .. }));
    assert!(err.location().is_none());
    assert!(
        err.to_string()
            .starts_with("does/not/exist.yaml: cannot read the inventory: ")
    );
}

#[test]
fn set_user_wins_over_every_user_the_inventory_sets() {
    let yaml = "all:\n  vars: {user: root}\n  children:\n    web:\n      vars: {user: www}\n      hosts:\n        web1: {user: alice, jump: ops@bastion}\n        web2:\n    db:\n      hosts:\n        db1:\n";
    let mut inventory = parse_at(yaml, "inv.yaml");
    let deploy: UserName = "deploy".parse().unwrap();
    inventory.set_user(&deploy);
    for host in inventory.hosts() {
        assert_eq!(
            host.connection.user.as_deref(),
            Some("deploy"),
            "{}",
            host.name
        );
        assert_eq!(host.vars["user"], "deploy", "{}", host.name);
    }
    let web1 = inventory.host("web1").unwrap();
    assert_eq!(
        web1.connection.jump.as_ref().unwrap().user.as_deref(),
        Some("ops")
    );
    // Group vars stay as written.
    assert_eq!(inventory.group("web").unwrap().vars["user"], "www");
}
