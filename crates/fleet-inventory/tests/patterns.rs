//! Host patterns: operators, globs, ordering and located errors.

use std::path::Path;

use fleet_inventory::{Inventory, InventoryError};

const INVENTORY: &str = "
all:
  children:
    web:
      hosts: {web1: , web2: , web3: }
    db:
      hosts: {db1: , db2: }
    prod:
      hosts: {web1: , web2: , db1: }
    canary:
      hosts: {web2: }
    webcache:
      hosts: {cache1: }
    empty:
";

fn inventory() -> Inventory {
    Inventory::parse(INVENTORY, Path::new("inv.yaml")).expect("test inventory parses")
}

/// The names selected by `pattern`.
fn select(pattern: &str) -> Vec<String> {
    let inventory = inventory();
    let hosts = inventory
        .select(pattern)
        .unwrap_or_else(|err| panic!("{pattern}: {err}"));
    hosts.iter().map(|host| host.name.clone()).collect()
}

/// The first line of the error for `pattern`.
fn error(pattern: &str) -> String {
    let err = inventory().select(pattern).expect_err(pattern);
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn names_groups_and_all() {
    assert_eq!(select("web2"), ["web2"]);
    assert_eq!(select("web"), ["web1", "web2", "web3"]);
    assert_eq!(
        select("all"),
        ["web1", "web2", "web3", "db1", "db2", "cache1"]
    );
}

#[test]
fn union_with_colon_or_comma_keeps_inventory_order() {
    assert_eq!(select("db:web"), ["web1", "web2", "web3", "db1", "db2"]);
    assert_eq!(select("db2,web1"), ["web1", "db2"]);
    assert_eq!(select("web1:web1:web"), ["web1", "web2", "web3"]);
    assert_eq!(select(" web1 , db1 "), ["web1", "db1"]);
}

#[test]
fn intersection() {
    assert_eq!(select("web:&prod"), ["web1", "web2"]);
    assert_eq!(select("web:db:&prod"), ["web1", "web2", "db1"]);
}

#[test]
fn exclusion() {
    assert_eq!(select("web:!canary"), ["web1", "web3"]);
    assert_eq!(select("web:db:&prod:!canary"), ["web1", "db1"]);
}

#[test]
fn terms_apply_left_to_right() {
    // Re-adding after an exclusion brings the host back...
    assert_eq!(select("web:!canary:canary"), ["web1", "web2", "web3"]);
    // ...while excluding last removes it.
    assert_eq!(select("web:canary:!canary"), ["web1", "web3"]);
    // An intersection applies to everything gathered so far.
    assert_eq!(
        select("db:web:&prod:cache1"),
        ["web1", "web2", "db1", "cache1"]
    );
}

#[test]
fn leading_operator_starts_from_all() {
    assert_eq!(select("!canary"), ["web1", "web3", "db1", "db2", "cache1"]);
    assert_eq!(select("&prod"), ["web1", "web2", "db1"]);
    assert_eq!(select("!web:!db"), ["cache1"]);
}

#[test]
fn globs_match_host_and_group_names() {
    // Hosts web1..3 by name, cache1 through the group `webcache`.
    assert_eq!(select("web*"), ["web1", "web2", "web3", "cache1"]);
    assert_eq!(select("db?"), ["db1", "db2"]);
    assert_eq!(select("[wd]*1"), ["web1", "db1"]);
    assert_eq!(
        select("*"),
        ["web1", "web2", "web3", "db1", "db2", "cache1"]
    );
    assert_eq!(select("web*:!canary:!webcache"), ["web1", "web3"]);
}

#[test]
fn malformed_patterns_are_located() {
    assert_eq!(error(""), "-l:1:1: the host pattern is empty");
    assert_eq!(error("web::db"), "-l:1:5: empty term in host pattern");
    assert_eq!(error("web:"), "-l:1:5: empty term in host pattern");
    assert_eq!(
        error("web:&"),
        "-l:1:5: `&` must be followed by a host or group name"
    );
    assert_eq!(
        error("!"),
        "-l:1:1: `!` must be followed by a host or group name"
    );
    assert_eq!(
        error("db:web["),
        "-l:1:7: invalid glob \"web[\": invalid range pattern"
    );
    let err = inventory().select("web::db").expect_err("malformed");
    assert!(matches!(err, InventoryError::Pattern { .. }), "{err:?}");
    assert!(err.to_string().contains("\n  hint: "));
}

#[test]
fn patterns_that_match_nothing_are_errors() {
    assert_eq!(error("nosuch"), "-l:1:1: no host or group named \"nosuch\"");
    assert_eq!(
        error("web:nosuch"),
        "-l:1:5: no host or group named \"nosuch\""
    );
    assert_eq!(
        error("web:&nosuch"),
        "-l:1:6: no host or group named \"nosuch\""
    );
    assert_eq!(
        error("zz*"),
        "-l:1:1: glob \"zz*\" matches no host or group name"
    );
    assert_eq!(
        error("web:&db"),
        "-l:1:1: host pattern \"web:&db\" matches no hosts"
    );
    assert_eq!(
        error("empty"),
        "-l:1:1: host pattern \"empty\" matches no hosts"
    );
    let err = inventory().select("webb").expect_err("unknown");
    assert!(matches!(err, InventoryError::NoMatch { .. }), "{err:?}");
    assert_eq!(err.hint(), Some("did you mean `web`?"));
}

#[test]
fn origin_labels_errors() {
    let inventory = inventory();
    let err = inventory
        .select_with_origin("web:&nosuch", "play.yaml:3:8")
        .expect_err("unknown");
    let location = err.location().expect("pattern errors have a location");
    assert_eq!(location.to_string(), "play.yaml:3:13");
    assert!(
        err.to_string()
            .starts_with("play.yaml:3:13: no host or group named")
    );

    let err = inventory
        .select_with_origin("web::db", "--limit")
        .expect_err("malformed");
    assert!(err.to_string().starts_with("--limit:1:5: "), "{err}");
}

/// The examples table in docs/inventory.md, run against inventories/example.yaml.
#[test]
fn documented_examples_hold() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../inventories/example.yaml");
    let inventory = Inventory::load(&path).unwrap_or_else(|err| panic!("{err}"));
    let cases: [(&str, &[&str]); 9] = [
        ("web", &["web1", "web2", "web3"]),
        ("db:web", &["web1", "web2", "web3", "db1"]),
        ("db,web", &["web1", "web2", "web3", "db1"]),
        ("web:&prod", &["web1", "web2"]),
        ("web:!canary", &["web2", "web3"]),
        ("web:&prod:!canary", &["web2"]),
        ("!web", &["db1"]),
        ("db*,web1", &["web1", "db1"]),
        ("web:!canary:canary", &["web1", "web2", "web3"]),
    ];
    for (pattern, expected) in cases {
        let hosts = inventory
            .select(pattern)
            .unwrap_or_else(|err| panic!("{err}"));
        let names: Vec<&str> = hosts.iter().map(|host| host.name.as_str()).collect();
        assert_eq!(names, expected, "pattern {pattern}");
    }
    let web1 = inventory.host("web1").expect("web1");
    assert_eq!(web1.groups, ["all", "canary", "prod", "web"]);
}
