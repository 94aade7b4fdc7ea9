use std::path::Path;

use serde_json::json;

use crate::{Inventory, Transport};

fn parse(text: &str) -> Inventory {
    Inventory::parse(text, Path::new("inventories/hosts.ini")).unwrap_or_else(|err| panic!("{err}"))
}

fn error(text: &str) -> String {
    Inventory::parse(text, Path::new("hosts.ini"))
        .unwrap_err()
        .to_string()
}

const SAMPLE: &str = "\
# a comment
; another
loose ansible_host=10.0.0.9

[web]
web[01:03].example.com ansible_user=deploy
db1:2222 quoted=\"'5'\" bare=\"5\" flag=True text=true spaced='a b'

[db]
db1

[prod:children]
web
db

[prod:vars]
app_env=production
count=\"5\"
number=5
";

#[test]
fn sections_hosts_ranges_and_children() {
    let inventory = parse(SAMPLE);
    let names: Vec<&str> = inventory
        .hosts()
        .iter()
        .map(|host| host.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "loose",
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "db1"
        ]
    );
    assert_eq!(inventory.group("ungrouped").unwrap().hosts, ["loose"]);
    assert_eq!(inventory.group("prod").unwrap().children, ["web", "db"]);
    assert_eq!(
        inventory.group("all").unwrap().children,
        ["ungrouped", "prod"]
    );
    let db1 = inventory.host("db1").unwrap();
    assert_eq!(db1.groups, ["all", "prod", "db", "web"]);
    assert_eq!(db1.connection.port, 2222);
    assert_eq!(db1.vars["ansible_port"], json!(2222));
    let web1 = inventory.host("web01.example.com").unwrap();
    assert_eq!(web1.connection.user.as_deref(), Some("deploy"));
    assert_eq!(web1.vars["app_env"], json!("production"));
    let loose = inventory.host("loose").unwrap();
    assert_eq!(loose.connection.address, "10.0.0.9");
    assert_eq!(loose.groups, ["all", "ungrouped"]);
}

#[test]
fn host_line_and_vars_section_values_are_typed_as_ansible_does() {
    let inventory = parse(SAMPLE);
    let db1 = &inventory.host("db1").unwrap().vars;
    assert_eq!(db1["quoted"], json!("5"));
    assert_eq!(db1["bare"], json!(5));
    assert_eq!(db1["flag"], json!(true));
    assert_eq!(db1["text"], json!("true"));
    assert_eq!(db1["spaced"], json!("a b"));
    assert_eq!(db1["count"], json!("5"));
    assert_eq!(db1["number"], json!(5));
}

#[test]
fn forward_references_resolve_and_vars_need_a_declared_group() {
    let inventory = parse("[all:vars]\nx=1\n[top:children]\nlater\n[later]\nh1\n");
    assert_eq!(
        inventory.host("h1").unwrap().groups,
        ["all", "top", "later"]
    );
    assert_eq!(inventory.host("h1").unwrap().vars["x"], json!(1));
    let err = error("[ghost:vars]\nx=1\n");
    assert!(
        err.starts_with("hosts.ini:1:1: section [ghost:vars]"),
        "{err}"
    );
    let err = error("[top:children]\nnowhere\n");
    assert!(
        err.starts_with("hosts.ini:2:1: section [top:children] names group `nowhere`"),
        "{err}"
    );
}

#[test]
fn ansible_connection_vars_set_fleet_ones() {
    let text = "[web]\nw1 ansible_host=10.1.1.1 ansible_port=2200 ansible_user=ops ansible_ssh_private_key_file=keys/id ansible_become=yes\nw2 ansible_connection=local user=me ansible_user=other\n[web:vars]\nansible_ssh_common_args='-o ProxyJump=admin@bastion:22'\n";
    let inventory = parse(text);
    let w1 = &inventory.host("w1").unwrap().connection;
    assert_eq!(w1.address, "10.1.1.1");
    assert_eq!(w1.port, 2200);
    assert_eq!(w1.user.as_deref(), Some("ops"));
    assert_eq!(
        w1.identity_file.as_deref(),
        Some(Path::new("inventories/keys/id"))
    );
    assert!(w1.r#become);
    assert_eq!(w1.jump.as_ref().unwrap().to_string(), "admin@bastion:22");
    let w2 = &inventory.host("w2").unwrap().connection;
    assert_eq!(w2.transport, Transport::Local);
    assert_eq!(w2.user.as_deref(), Some("me"));
}

#[test]
fn host_vars_win_over_group_ansible_names() {
    let inventory = parse("[web]\nw1 user=hostuser\n[web:vars]\nansible_user=groupuser\n");
    assert_eq!(
        inventory.host("w1").unwrap().connection.user.as_deref(),
        Some("hostuser")
    );
}

#[test]
fn errors_are_located() {
    for (text, start) in [
        ("[web\nh1\n", "hosts.ini:1:1: a `[` opens a range"),
        (
            "[web server]\nh1\n",
            "hosts.ini:1:1: invalid section header",
        ),
        (
            "[web:servers]\nh1\n",
            "hosts.ini:1:6: section [web:servers] has unknown type",
        ),
        (
            "[web]\nh1 novalue\n",
            "hosts.ini:2:4: expected a key=value host variable",
        ),
        (
            "[web]\nh1 motd='open\n",
            "hosts.ini:2:9: this quote is never closed",
        ),
        ("[web]\nh[01:100]\n", "hosts.ini:2:1: host range"),
        (
            "[web]\nh1:\n",
            "hosts.ini:2:1: host pattern \"h1:\" ends in `:`",
        ),
        (
            "[web:vars]\nnovalue\n[web]\n",
            "hosts.ini:2:1: expected key=value",
        ),
        (
            "[web]\nh1 ansible_port=99999\n",
            "hosts.ini:2:4: ansible_port: port must be",
        ),
        (
            "[web]\nh1 ansible_connection=winrm\n",
            "hosts.ini:2:4: ansible_connection \"winrm\" is not supported",
        ),
        (
            "[web]\nh1 ansible_ssh_common_args='-C'\n",
            "hosts.ini:2:4: ansible_ssh_common_args",
        ),
        (
            "[a:children]\nb\n[b:children]\na\n",
            "hosts.ini:4:1: group `a` would contain itself",
        ),
        ("[web]\nweb\n", "hosts.ini:2:1: `web` is used both"),
        ("[web]\n---\n", "hosts.ini:2:1: `---` in an INI inventory"),
    ] {
        let err = error(text);
        assert!(err.starts_with(start), "{text:?}\n{err}");
        assert!(err.contains("\n  hint: "), "{err}");
    }
}

#[test]
fn detection_by_name_and_first_line() {
    use super::looks_like_ini;
    assert!(looks_like_ini("# c\n[web]\nh1\n"));
    assert!(looks_like_ini("h1 ansible_host=x\n"));
    assert!(looks_like_ini("h1:2222\n"));
    assert!(!looks_like_ini("all:\n  hosts:\n"));
    assert!(!looks_like_ini("---\nall: {}\n"));
    assert!(!looks_like_ini("{\"all\": {}}"));
    let yaml_named = Inventory::parse("all:\n  hosts: {h1: }\n", Path::new("hosts"));
    assert!(yaml_named.is_ok());
}
