use serde_json::{Value, json};

use crate::Templater;

// Expected texts are what Ansible 2.19 renders for the same expressions.

fn vars() -> Value {
    json!({
        "cfg": {"b": "é ☃ 😀", "a": [1, 2.5, null, true], "c": {}},
        "nested": {"a": [1, 2], "b": {"c": "d"}},
        "order": {"b": 1, "a": 2},
        "json_text": "{\"a\": [1, {\"b\": null}]}",
        "yaml_text": "a: 1\nb: [x, w]\nmode: 0644\n",
    })
}

fn render(source: &str) -> String {
    Templater::new()
        .render_str(source, &vars())
        .unwrap_or_else(|err| panic!("{source}: {err}"))
}

fn value(expr: &str) -> Value {
    Templater::new()
        .render_value(&json!(format!("{{{{ {expr} }}}}")), &vars())
        .unwrap_or_else(|err| panic!("{expr}: {err}"))
}

fn error(source: &str) -> String {
    match Templater::new().render_str(source, &vars()) {
        Ok(out) => panic!("{source} rendered to {out:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn to_json_writes_like_pythons_json_dumps() {
    assert_eq!(
        render("{{ cfg | to_json }}"),
        r#"{"b": "\u00e9 \u2603 \ud83d\ude00", "a": [1, 2.5, null, true], "c": {}}"#
    );
    assert_eq!(
        render("{{ {'b': 'é'} | to_json(ensure_ascii=false) }}"),
        r#"{"b": "é"}"#
    );
    assert_eq!(
        render("{{ {'z': 1, 'a': 'x'} | to_json(sort_keys=true, indent=1) }}"),
        "{\n \"a\": \"x\",\n \"z\": 1\n}"
    );
    assert_eq!(render("{{ 'tab\tq\"' | to_json }}"), r#""tab\tq\"""#);
    assert!(error("{{ cfg | to_json(pretty=true) }}").contains("pretty"));
    assert!(error("{{ missing.x | to_json }}").contains("`missing` is undefined"));
}

#[test]
fn to_nice_json_indents_by_four_and_sorts_keys() {
    assert_eq!(
        render("{{ cfg | to_nice_json }}"),
        "{\n    \"a\": [\n        1,\n        2.5,\n        null,\n        true\n    ],\n    \"b\": \"\\u00e9 \\u2603 \\ud83d\\ude00\",\n    \"c\": {}\n}"
    );
    assert_eq!(
        render("{{ {'b': 'é', 'a': [1]} | to_nice_json(indent=2, sort_keys=false) }}"),
        "{\n  \"b\": \"\\u00e9\",\n  \"a\": [\n    1\n  ]\n}"
    );
}

#[test]
fn yaml_filters_sort_keys_and_differ_in_layout() {
    assert_eq!(render("{{ nested | to_yaml }}"), "a: [1, 2]\nb: {c: d}\n");
    assert_eq!(
        render("{{ nested | to_nice_yaml }}"),
        "a:\n- 1\n- 2\nb:\n    c: d\n"
    );
    assert_eq!(
        render("{{ nested | to_nice_yaml(indent=2) }}"),
        "a:\n- 1\n- 2\nb:\n  c: d\n"
    );
    assert_eq!(
        render("{{ order | to_yaml(sort_keys=false) }}"),
        "{b: 1, a: 2}\n"
    );
    assert_eq!(
        render("{{ order | to_nice_yaml(width=1000) }}"),
        "a: 2\nb: 1\n"
    );
    assert_eq!(
        render("{{ nested | to_yaml(default_flow_style=false) }}"),
        "a:\n- 1\n- 2\nb:\n  c: d\n"
    );
    assert_eq!(
        render("{{ 'plain' | to_nice_yaml }}{{ 'a:' | to_yaml }}"),
        "plain\n'a:'\n"
    );
    assert!(
        error("{{ nested | to_yaml(default_flow_style=true) }}")
            .contains("default_flow_style=true")
    );
    assert!(
        error("{{ nested | to_nice_yaml(indent=12) }}")
            .contains("indent must be from 2 to 9, got 12")
    );
}

#[test]
fn from_json_and_from_yaml_read_data() {
    assert_eq!(
        value("json_text | from_json"),
        json!({"a": [1, {"b": null}]})
    );
    assert_eq!(value("(json_text | from_json).a[1]"), json!({"b": null}));
    // As fleet reads vars files: a leading-zero number stays text.
    assert_eq!(
        value("yaml_text | from_yaml"),
        json!({"a": 1, "b": ["x", "w"], "mode": "0644"})
    );
    assert_eq!(value("nested | from_yaml"), vars()["nested"]);
    assert!(error("{{ '{' | from_json }}").contains("from_json: not valid JSON"));
    assert!(error("{{ 'a: [' | from_yaml }}").contains("from_yaml: not valid YAML"));
    assert_eq!(value("nested | to_nice_yaml | from_yaml"), vars()["nested"]);
    assert_eq!(value("cfg | to_json | from_json"), vars()["cfg"]);
}
