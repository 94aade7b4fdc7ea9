//! Vars precedence, group membership and the shape of resolved hosts.

use std::path::Path;

use fleet_inventory::{Host, Inventory};
use serde_json::{Value, json};

fn parse(yaml: &str) -> Inventory {
    Inventory::parse(yaml, Path::new("inv.yaml")).unwrap_or_else(|err| panic!("{err}"))
}

fn host<'a>(inventory: &'a Inventory, name: &str) -> &'a Host {
    inventory
        .host(name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

fn var<'a>(host: &'a Host, name: &str) -> &'a Value {
    host.vars
        .get(name)
        .unwrap_or_else(|| panic!("{} has no var {name}", host.name))
}

#[test]
fn all_then_parent_then_child_then_host() {
    let inventory = parse(
        "
all:
  vars: {a: all, b: all, c: all, d: all}
  children:
    parent:
      vars: {b: parent, c: parent, d: parent}
      children:
        child:
          vars: {c: child, d: child}
          hosts:
            h1: {d: host}
",
    );
    let h1 = host(&inventory, "h1");
    assert_eq!(var(h1, "a"), "all");
    assert_eq!(var(h1, "b"), "parent");
    assert_eq!(var(h1, "c"), "child");
    assert_eq!(var(h1, "d"), "host");
    assert_eq!(h1.groups, ["all", "parent", "child"]);
}

#[test]
fn siblings_of_equal_depth_resolve_alphabetically() {
    // `beta` comes first in the file, but `beta` > `alpha` alphabetically, so it wins.
    let inventory = parse(
        "
all:
  children:
    beta:
      vars: {role: beta}
      hosts: {h1: }
    alpha:
      vars: {role: alpha}
      hosts: {h1: }
",
    );
    let h1 = host(&inventory, "h1");
    assert_eq!(var(h1, "role"), "beta");
    assert_eq!(h1.groups, ["all", "alpha", "beta"]);
}

#[test]
fn deeper_groups_win_over_shallower_ones() {
    // `inner` (depth 2) beats `zzz` (depth 1) although `zzz` sorts later.
    let inventory = parse(
        "
all:
  children:
    aaa:
      children:
        inner:
          vars: {role: inner}
          hosts: {h1: }
    zzz:
      vars: {role: zzz}
      hosts: {h1: }
",
    );
    let h1 = host(&inventory, "h1");
    assert_eq!(var(h1, "role"), "inner");
    assert_eq!(h1.groups, ["all", "aaa", "zzz", "inner"]);
}

#[test]
fn a_group_with_two_parents_takes_the_deeper_depth() {
    // `web` is a child of `all` and of `prod`, so its depth is 2 and it beats `zone` (depth 1).
    let inventory = parse(
        "
all:
  children:
    web:
      vars: {role: web}
      hosts: {h1: }
    prod:
      children:
        web:
    zone:
      vars: {role: zone}
      hosts: {h1: }
",
    );
    let h1 = host(&inventory, "h1");
    assert_eq!(var(h1, "role"), "web");
    assert_eq!(h1.groups, ["all", "prod", "zone", "web"]);
    assert_eq!(
        inventory
            .select("prod")
            .expect("prod selects web's hosts")
            .len(),
        1
    );
}

#[test]
fn host_vars_beat_groups_and_later_host_entries_win() {
    let inventory = parse(
        "
all:
  children:
    first:
      hosts:
        h1: {color: red, size: 1}
    second:
      vars: {color: group, size: 0}
      hosts:
        h1: {color: blue}
",
    );
    let h1 = host(&inventory, "h1");
    assert_eq!(var(h1, "color"), "blue");
    assert_eq!(var(h1, "size"), 1);
}

#[test]
fn a_group_written_twice_combines_its_vars() {
    let inventory = parse(
        "
all:
  children:
    web:
      vars: {a: 1, b: 1}
      hosts: {h1: }
    prod:
      children:
        web:
          vars: {b: 2, c: 2}
",
    );
    let h1 = host(&inventory, "h1");
    assert_eq!(
        (var(h1, "a"), var(h1, "b"), var(h1, "c")),
        (&json!(1), &json!(2), &json!(2))
    );
}

#[test]
fn maps_are_replaced_not_merged() {
    let inventory = parse(
        "
all:
  vars: {limits: {nofile: 1024, nproc: 10}}
  hosts:
    h1: {limits: {nofile: 65536}}
",
    );
    assert_eq!(
        var(host(&inventory, "h1"), "limits"),
        &json!({"nofile": 65536})
    );
}

#[test]
fn values_keep_their_yaml_types() {
    let inventory = parse(
        "
all:
  hosts:
    h1:
      count: 3
      ratio: 0.5
      enabled: true
      mode: 0644
      list: [a, 1]
      nested: {x: ~}
      text: '3'
",
    );
    let h1 = host(&inventory, "h1");
    assert_eq!(var(h1, "count"), 3);
    assert_eq!(var(h1, "ratio"), 0.5);
    assert_eq!(var(h1, "enabled"), true);
    assert_eq!(var(h1, "mode"), "0644", "leading zeros stay a string");
    assert_eq!(var(h1, "list"), &json!(["a", 1]));
    assert_eq!(var(h1, "nested"), &json!({"x": null}));
    assert_eq!(var(h1, "text"), "3");
}

#[test]
fn hosts_and_groups_keep_file_order() {
    let inventory = parse(
        "
all:
  hosts: {z1: }
  children:
    web:
      hosts: {b2: , a1: }
    db:
      hosts: {c3: , z1: }
",
    );
    let names: Vec<&str> = inventory
        .hosts()
        .iter()
        .map(|host| host.name.as_str())
        .collect();
    assert_eq!(names, ["z1", "b2", "a1", "c3"]);
    assert_eq!(inventory.group_names(), ["all", "web", "db"]);
    let db = inventory.group("db").expect("group db");
    assert_eq!(db.hosts, ["z1", "c3"], "group hosts are in inventory order");
}

#[test]
fn group_hosts_include_descendants() {
    let inventory = parse(
        "
all:
  children:
    prod:
      hosts: {p1: }
      children:
        web:
          hosts: {w1: }
",
    );
    let prod = inventory.group("prod").expect("group prod");
    assert_eq!(prod.hosts, ["p1", "w1"]);
    assert_eq!(prod.children, ["web"]);
    assert_eq!(host(&inventory, "w1").groups, ["all", "prod", "web"]);
}

#[test]
fn empty_host_entries_and_empty_all_are_fine() {
    let inventory = parse("all:\n  hosts:\n    h1:\n    h2: {}\n");
    assert_eq!(inventory.hosts().len(), 2);
    let inventory = parse("all:\n");
    assert!(inventory.hosts().is_empty());
}

#[test]
fn merge_keys_and_anchors_work() {
    let inventory = parse(
        "
all:
  hosts:
    h1: &base {app: shop, port: 2200}
    h2:
      <<: *base
      app: blog
",
    );
    let h2 = host(&inventory, "h2");
    assert_eq!(var(h2, "app"), "blog");
    assert_eq!(h2.connection.port, 2200);
}

#[test]
fn host_serializes_name_groups_and_vars() {
    let inventory = parse("all:\n  vars: {user: root}\n  hosts:\n    h1: {port: 2222}\n");
    let json = serde_json::to_value(host(&inventory, "h1")).expect("serialize");
    assert_eq!(
        json,
        json!({"name": "h1", "groups": ["all"], "vars": {"user": "root", "port": 2222}})
    );
}
