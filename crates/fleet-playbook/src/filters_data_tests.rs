use serde_json::{Value, json};

use crate::Templater;

fn vars() -> Value {
    json!({
        "defaults": {"port": 80, "tls": {"enabled": false, "ciphers": ["a", "b"]}, "users": ["root"]},
        "site": {"tls": {"enabled": true, "ciphers": ["b", "c"]}, "users": ["app"]},
        "env": {"Z_LAST": "1", "A_FIRST": "2"},
        "pairs": [{"key": "b", "value": 2}, {"key": "a", "value": 1}],
        "nested": [1, [2, [3, [4]]], null, "None", "x"],
        "hosts": ["web1", "web2", "web3", "web4"],
    })
}

fn value(expr: &str) -> Value {
    Templater::new()
        .render_value(&json!(format!("{{{{ {expr} }}}}")), &vars())
        .unwrap_or_else(|err| panic!("{expr}: {err}"))
}

fn error(expr: &str) -> String {
    match Templater::new().render_str(&format!("{{{{ {expr} }}}}"), &vars()) {
        Ok(out) => panic!("{expr} rendered to {out:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn combine_merges_shallow_or_deep_with_list_strategies() {
    assert_eq!(
        value("defaults | combine(site)"),
        json!({"port": 80, "tls": {"enabled": true, "ciphers": ["b", "c"]}, "users": ["app"]})
    );
    assert_eq!(
        value("defaults | combine(site, recursive=true)"),
        json!({"port": 80, "tls": {"enabled": true, "ciphers": ["b", "c"]}, "users": ["app"]})
    );
    assert_eq!(
        value("defaults | combine(site, recursive=true, list_merge='append')"),
        json!({"port": 80, "tls": {"enabled": true, "ciphers": ["a", "b", "b", "c"]}, "users": ["root", "app"]})
    );
    assert_eq!(
        value("defaults | combine(site, list_merge='prepend')")["users"],
        json!(["app", "root"])
    );
    assert_eq!(
        value("defaults | combine(site, recursive=true, list_merge='append_rp')")["tls"]["ciphers"],
        json!(["a", "b", "c"])
    );
    assert_eq!(
        value("defaults | combine(site, recursive=true, list_merge='prepend_rp')")["tls"]["ciphers"],
        json!(["b", "c", "a"])
    );
    assert_eq!(
        value("defaults | combine(site, list_merge='keep')")["users"],
        json!(["root"])
    );
    assert_eq!(
        value("[{'a': 1}, {'b': 2}] | combine({'a': 3})"),
        json!({"a": 3, "b": 2})
    );
    assert_eq!(value("[] | combine"), json!({}));
    // Keys keep their first place; new ones come after.
    assert_eq!(
        Templater::new()
            .render_str("{{ env | combine({'M': 3, 'Z_LAST': 0}) | list }}", &vars())
            .unwrap(),
        "['Z_LAST', 'A_FIRST', 'M']"
    );
    assert!(error("defaults | combine([1])").contains("combine expects maps, got a number"));
    assert!(
        error("defaults | combine(site, list_merge='merge')")
            .contains("list_merge must be replace, keep")
    );
    assert!(error("defaults | combine(site, deep=true)").contains("deep"));
}

#[test]
fn dict2items_and_items2dict_round_trip_in_order() {
    assert_eq!(
        value("env | dict2items"),
        json!([{"key": "Z_LAST", "value": "1"}, {"key": "A_FIRST", "value": "2"}])
    );
    assert_eq!(
        value("env | dict2items(key_name='name', value_name='v')"),
        json!([{"name": "Z_LAST", "v": "1"}, {"name": "A_FIRST", "v": "2"}])
    );
    assert_eq!(value("pairs | items2dict"), json!({"b": 2, "a": 1}));
    assert_eq!(
        value("[{'n': 'x', 'v': 1}] | items2dict(key_name='n', value_name='v')"),
        json!({"x": 1})
    );
    assert_eq!(value("env | dict2items | items2dict"), vars()["env"]);
    assert!(error("hosts | dict2items").contains("dict2items expects a map, got sequence"));
    assert!(error("env | items2dict").contains("items2dict expects a list, got a map"));
    assert!(error("[{'k': 1}] | items2dict").contains("each map needs the keys `key` and `value`"));
    assert!(error("[1] | items2dict").contains("items2dict expects a list of maps, got a number"));
}

#[test]
fn flatten_splices_lists_and_drops_nulls() {
    assert_eq!(value("nested | flatten"), json!([1, 2, 3, 4, "x"]));
    assert_eq!(
        value("nested | flatten(levels=1)"),
        json!([1, 2, [3, [4]], "x"])
    );
    assert_eq!(value("nested | flatten(2)"), json!([1, 2, 3, [4], "x"]));
    assert_eq!(
        value("nested | flatten(skip_nulls=false)"),
        json!([1, 2, 3, 4, null, "None", "x"])
    );
    assert!(error("'abc' | flatten").contains("flatten expects a list, got a string"));
}

#[test]
fn product_zip_and_set_filters() {
    assert_eq!(
        value("['a', 'b'] | product([1, 2])"),
        json!([["a", 1], ["a", 2], ["b", 1], ["b", 2]])
    );
    assert_eq!(value("[0, 1] | product(repeat=2) | length"), json!(4));
    assert_eq!(
        Templater::new()
            .render_str(
                "{{ ['a', 'b'] | product(['x']) | map('join', '-') | join(',') }}",
                &vars()
            )
            .unwrap(),
        "a-x,b-x"
    );
    assert_eq!(
        value("[1, 2, 3] | zip(['a', 'b'])"),
        json!([[1, "a"], [2, "b"]])
    );
    assert_eq!(
        value("[1, 2, 3] | zip_longest(['a'], fillvalue='-')"),
        json!([[1, "a"], [2, "-"], [3, "-"]])
    );
    assert_eq!(value("[1, 2, 2, 3] | intersect([3, 2, 9])"), json!([2, 3]));
    assert_eq!(value("[1, 2, 2, 3] | difference([2])"), json!([1, 3]));
    assert_eq!(value("[1, 2] | union([2, 3, 3])"), json!([1, 2, 3]));
    assert_eq!(
        value("[1, 2] | symmetric_difference([2, 3])"),
        json!([1, 3])
    );
    assert!(error("[1] | union('x')").contains("union expects a list, got a string"));
}

#[test]
fn builtin_list_filters_behave_like_ansibles() {
    assert_eq!(value("['a', 'A', 'b', 'a'] | unique"), json!(["a", "b"]));
    assert_eq!(
        value("['a', 'A'] | unique(case_sensitive=true)"),
        json!(["a", "A"])
    );
    assert_eq!(value("hosts | first"), json!("web1"));
    assert_eq!(value("hosts | last"), json!("web4"));
    assert_eq!(value("hosts | length"), json!(4));
    assert_eq!(value("env | length"), json!(2));
    assert_eq!(value("'a,b,,c' | split(',')"), json!(["a", "b", "", "c"]));
    assert_eq!(value("' a  b ' | split"), json!(["a", "b"]));
    assert_eq!(value("'a,b,c' | split(',', 1)"), json!(["a", "b,c"]));
    assert_eq!(
        value("pairs | map(attribute='key') | list"),
        json!(["b", "a"])
    );
    assert_eq!(
        value("pairs | selectattr('value', 'gt', 1) | map(attribute='key') | list"),
        json!(["b"])
    );
    assert_eq!(
        value("pairs | rejectattr('key', 'match', 'a') | list | length"),
        json!(1)
    );
    assert_eq!(
        value("pairs | selectattr('missing', 'undefined') | list | length"),
        json!(2)
    );
}

#[test]
fn random_with_a_seed_picks_what_ansible_picks() {
    // The values Python's `random.Random(seed)` gives, as Ansible uses it.
    assert_eq!(value("60 | random(seed='web1')"), json!(52));
    assert_eq!(value("100 | random(seed=0)"), json!(49));
    assert_eq!(value("100 | random(10, 10, seed='step')"), json!(80));
    assert_eq!(
        value("100 | random(start=10, step=10, seed='step')"),
        json!(80)
    );
    assert_eq!(value("['a', 'b', 'c'] | random(seed='x')"), json!("c"));
    assert_eq!(
        value("range(10) | list | shuffle(seed=42)"),
        json!([7, 3, 2, 8, 5, 6, 9, 4, 0, 1])
    );
    let unseeded = value("5 | random");
    assert!((0..5).contains(&unseeded.as_i64().unwrap()), "{unseeded}");
    let mut shuffled: Vec<i64> =
        serde_json::from_value(value("range(6) | list | shuffle")).unwrap();
    shuffled.sort_unstable();
    assert_eq!(shuffled, [0, 1, 2, 3, 4, 5]);
    assert!(error("[] | random").contains("cannot choose from an empty list"));
    assert!(error("0 | random").contains("random: empty range from 0 to 0 by 1"));
    assert!(error("hosts | random(2)").contains("start and step can only be used with a number"));
    assert!(error("5 | random(seed=1.5)").contains("the seed must be a string or a whole number"));
    assert!(error("none | random").contains("random takes a number, a list or a string"));
}

#[test]
fn python_methods_work_on_strings_maps_and_lists() {
    assert_eq!(value("'a.b.c'.split('.')"), json!(["a", "b", "c"]));
    assert_eq!(value("'a.b.c'.split('.', 1)"), json!(["a", "b.c"]));
    assert_eq!(value("' x '.strip() ~ '/'.join(['a', 'b'])"), json!("xa/b"));
    assert_eq!(
        value("hosts[0].startswith('web') and not hosts[0].endswith('2')"),
        json!(true)
    );
    assert_eq!(
        value("'WEB'.lower() ~ 'x'.upper() ~ 'a-b'.replace('-', '_')"),
        json!("webXa_b")
    );
    assert_eq!(
        value("env.get('Z_LAST') ~ env.get('nope', 'd')"),
        json!("1d")
    );
    assert_eq!(value("env.keys() | list"), json!(["Z_LAST", "A_FIRST"]));
    assert_eq!(
        value("env.items() | list"),
        json!([["Z_LAST", "1"], ["A_FIRST", "2"]])
    );
    assert_eq!(value("hosts.count('web1')"), json!(1));
    assert!(error("'x'.frobnicate()").contains("frobnicate"));
}

#[test]
fn pairs_print_as_lists_as_in_ansible() {
    let render = |template: &str| Templater::new().render_str(template, &vars()).unwrap();
    assert_eq!(
        render("{{ ['a', 'b'] | zip([1, 2]) | list }}"),
        "[['a', 1], ['b', 2]]"
    );
    assert_eq!(
        render("{{ env | dictsort }} {{ env | items | list }}"),
        "[['A_FIRST', '2'], ['Z_LAST', '1']] [['Z_LAST', '1'], ['A_FIRST', '2']]"
    );
    assert_eq!(
        render("{% for k, v in env | dictsort %}{{ k }}={{ v }} {% endfor %}"),
        "A_FIRST=2 Z_LAST=1 "
    );
}
