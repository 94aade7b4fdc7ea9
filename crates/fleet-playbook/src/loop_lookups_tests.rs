use serde_json::json;

use super::*;

fn items(lookup: LoopLookup, terms: Value) -> Value {
    match lookup.items(terms.clone(), Path::new(".")) {
        Ok(items) => Value::Array(items),
        Err(err) => panic!("{terms}: {err}"),
    }
}

fn error(lookup: LoopLookup, terms: Value) -> String {
    lookup
        .items(terms, Path::new("."))
        .expect_err("should be refused")
}

#[test]
fn items_flattens_one_level_and_list_none() {
    let terms = json!([1, [2, [3]], "a"]);
    assert_eq!(
        items(LoopLookup::Items, terms.clone()),
        json!([1, 2, [3], "a"])
    );
    assert_eq!(items(LoopLookup::List, terms), json!([1, [2, [3]], "a"]));
    assert_eq!(items(LoopLookup::Items, json!("one")), json!(["one"]));
    assert!(error(LoopLookup::List, json!("one")).contains("needs a list"));
}

#[test]
fn dict_gives_key_value_items_in_order() {
    assert_eq!(
        items(LoopLookup::Dict, json!({"b": 1, "a": {"x": 2}})),
        json!([{"key": "b", "value": 1}, {"key": "a", "value": {"x": 2}}])
    );
    assert_eq!(
        items(LoopLookup::Dict, json!([{"a": 1}, {"b": 2}])),
        json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
    );
    assert!(error(LoopLookup::Dict, json!([1])).contains("needs a map"));
}

#[test]
fn together_zips_and_fills_with_null() {
    assert_eq!(
        items(LoopLookup::Together, json!([["a", "b", "c"], [1, 2]])),
        json!([["a", 1], ["b", 2], ["c", null]])
    );
    assert_eq!(
        items(LoopLookup::Together, json!([["a"], "x"])),
        json!([["a", "x"]])
    );
}

#[test]
fn nested_gives_every_combination_in_order() {
    assert_eq!(
        items(
            LoopLookup::Nested,
            json!([["alice", "bob"], ["db1", "db2"], [1]])
        ),
        json!([
            ["alice", "db1", 1],
            ["alice", "db2", 1],
            ["bob", "db1", 1],
            ["bob", "db2", 1]
        ])
    );
    assert_eq!(items(LoopLookup::Nested, json!([["a"], []])), json!([]));
}

#[test]
fn subelements_pairs_each_map_with_its_list() {
    let users = json!([
        {"name": "alice", "keys": ["k1", "k2"], "groups": {"all": ["x"]}},
        {"name": "bob", "keys": ["k3"]},
        {"name": "skipped", "skipped": true, "keys": ["k4"]},
    ]);
    assert_eq!(
        items(LoopLookup::Subelements, json!([users.clone(), "keys"])),
        json!([
            [{"name": "alice", "groups": {"all": ["x"]}}, "k1"],
            [{"name": "alice", "groups": {"all": ["x"]}}, "k2"],
            [{"name": "bob"}, "k3"],
        ])
    );
    let err = error(
        LoopLookup::Subelements,
        json!([users.clone(), "groups.all"]),
    );
    assert!(err.contains("could not find the key `groups`"), "{err}");
    assert_eq!(
        items(
            LoopLookup::Subelements,
            json!([users.clone(), "groups.all", {"skip_missing": true}])
        ),
        json!([[{"name": "alice", "keys": ["k1", "k2"], "groups": {}}, "x"]])
    );
    let err = error(LoopLookup::Subelements, json!([users.clone(), "name"]));
    assert!(err.contains("should hold a list"), "{err}");
    let err = error(
        LoopLookup::Subelements,
        json!([users, "keys", {"skip": true}]),
    );
    assert!(err.contains("`skip` is not a flag"), "{err}");
    assert_eq!(
        items(
            LoopLookup::Subelements,
            json!([{"a": {"n": 1, "l": [1]}, "b": {"n": 2, "l": [2]}}, "l"])
        ),
        json!([[{"n": 1}, 1], [{"n": 2}, 2]])
    );
}

#[test]
fn fileglob_looks_in_files_then_next_to_the_playbook() {
    let dir = std::env::temp_dir().join(format!("fleet-fileglob-{}", std::process::id()));
    for file in [
        "files/conf.d/a.conf",
        "files/conf.d/b.conf",
        "files/conf.d/c.txt",
        "top.conf",
        "extra/x.conf",
    ] {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }
    std::fs::create_dir_all(dir.join("files/conf.d/dir.conf")).unwrap();
    let found = |pattern: &str| -> Vec<String> {
        fileglob(pattern, &[&dir])
            .unwrap()
            .iter()
            .map(|path| {
                path.strip_prefix(&dir.display().to_string())
                    .unwrap_or(path)
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        found("conf.d/*.conf"),
        ["/files/conf.d/a.conf", "/files/conf.d/b.conf"]
    );
    assert_eq!(found("*.conf"), ["/top.conf"]);
    assert_eq!(found("extra/*.conf"), ["/extra/x.conf"]);
    assert_eq!(found("none/*.conf"), Vec::<String>::new());
    let absolute = format!("{}/extra/*.conf", dir.display());
    assert_eq!(found(&absolute), ["/extra/x.conf"]);
    let items = LoopLookup::Fileglob
        .items(json!(["conf.d/a.*", "*.conf"]), &dir)
        .unwrap();
    assert_eq!(items.len(), 2);
    // A role's folder comes first; the play's serves what the role lacks.
    let role = dir.join("extra");
    let in_role = LoopLookup::Fileglob
        .items_in(json!(["*.conf", "conf.d/a.*"]), &[&role, &dir])
        .unwrap();
    let tails: Vec<&str> = in_role
        .iter()
        .map(|path| path.as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(tails, ["x.conf", "a.conf"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
