use serde_json::{Value, json};

use crate::Templater;

/// Results shaped as fleet registers them (see the engine's `registered`).
fn vars() -> Value {
    json!({
        "ok": {"changed": false, "failed": false, "skipped": false, "rc": 0, "stdout": "up"},
        "made": {"changed": true, "failed": false, "skipped": false, "rc": 0},
        "broke": {"changed": false, "failed": true, "skipped": false, "rc": 2, "msg": "exit 2"},
        "passed": {"changed": false, "failed": false, "skipped": true, "msg": "skipped: `when` is false"},
        "looped": {"changed": true, "failed": false, "skipped": false, "results": [
            {"changed": false, "item": "a"}, {"changed": true, "item": "b"}]},
        "module_map": {"results": [{"changed": false}, {"changed": true}]},
        "down": {"unreachable": true, "failed": false, "changed": false},
        "host": "web-01.example.org",
        "kernel": "6.1.0-18-amd64",
        "nothing": null,
        "dirs": ["releases", "shared"],
    })
}

fn eval(expr: &str) -> bool {
    Templater::new()
        .eval_bool(expr, &vars())
        .unwrap_or_else(|err| panic!("{expr}: {err}"))
}

fn eval_err(expr: &str) -> String {
    match Templater::new().eval_bool(expr, &vars()) {
        Ok(value) => panic!("{expr} evaluated to {value}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn result_tests_read_registered_results() {
    assert!(eval("made is changed and made is change"));
    assert!(!eval("ok is changed"));
    assert!(eval("broke is failed and broke is failure"));
    assert!(!eval("ok is failed"));
    assert!(eval(
        "ok is succeeded and ok is success and ok is successful"
    ));
    assert!(!eval("broke is succeeded"));
    assert!(eval("passed is skipped and passed is skip"));
    assert!(!eval("ok is skipped"));
    assert!(eval("looped is changed"));
    assert!(eval("module_map is changed"));
    assert!(eval("down is unreachable and ok is reachable"));
    assert!(eval("ok is not failed"));
    assert_eq!(
        Templater::new()
            .render_str(
                "{{ [ok, made, broke] | select('changed') | list | length }}",
                &vars()
            )
            .unwrap(),
        "1"
    );
}

#[test]
fn result_tests_reject_what_is_not_a_result() {
    assert_eq!(
        eval_err("host is failed"),
        "invalid operation: the `failed` test expects a task result (a map), got string in \"host is failed\""
    );
    assert!(
        eval_err("dirs is changed")
            .contains("the `changed` test expects a task result (a map), got sequence")
    );
    assert!(
        eval_err("missing is skipped").contains("the value tested with `skipped` is undefined")
    );
}

#[test]
fn match_anchors_at_the_start_and_search_does_not() {
    assert!(eval("host is match('web-')"));
    assert!(!eval("host is match('example')"));
    assert!(eval("host is search('example')"));
    assert!(eval("host is match('WEB', ignorecase=true)"));
    assert!(!eval("host is match('WEB')"));
    assert!(eval("'a\nweb' is search('^web', multiline=true)"));
    assert!(!eval("'a\nweb' is match('^web', multiline=true)"));
    assert!(eval("host is regex('org$')"));
    assert!(!eval("host is regex('org$', match_type='match')"));
    assert!(eval("host is regex('w.b', match_type='match')"));
    assert!(eval("42 is match('4')"));
    assert_eq!(
        Templater::new()
            .render_str("{{ dirs | select('match', 's') | list }}", &vars())
            .unwrap(),
        "['shared']"
    );
    assert!(eval_err("host is match('(')").contains("match: bad pattern"));
    assert!(
        eval_err("host is regex('w', match_type='full')")
            .contains("match_type must be `search` or `match`")
    );
    assert!(eval_err("host is search('w', ignore=true)").contains("ignore"));
}

#[test]
fn version_compares_with_operators_and_schemes() {
    assert!(eval("kernel is version('6.0', '>=')"));
    assert!(eval("kernel is version('6.2', 'lt')"));
    assert!(eval("'2.9.10' is version('2.9.9', '>')"));
    assert!(eval("'1.0' is version('1.0.0', '==', strict=true)"));
    assert!(!eval("'1.0' is version('1.0.0', '==')"));
    assert!(eval(
        "'1.0.0-rc.1' is version('1.0.0', '<', version_type='semver')"
    ));
    assert!(eval("'12' is version(11, operator='gt')"));
    assert!(eval("12 is version_compare('12.0', 'lt')"));
    assert!(eval("'3.11' is version('3.11')"));
    assert!(eval_err("kernel is version('6.0', '~>')").contains("version: unknown operator `~>`"));
    assert!(eval_err("'1.0' is version('2', strict=true)").contains("`2` is not a strict version"));
    assert!(eval_err("'' is version('2')").contains("the version tested is empty"));
    assert!(eval_err("'1' is version('')").contains("the version to compare with is empty"));
    assert!(
        eval_err("'1' is version('2', strict=true, version_type='loose')").contains("not both")
    );
    assert!(eval_err("'1.2a' is version('1.2.3', '<')").contains("a number meets text"));
}

#[test]
fn path_tests_look_on_the_controller() {
    let dir = std::env::temp_dir().join(format!("fleet-predicates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("app.conf");
    std::fs::write(&file, "x").unwrap();
    let vars = json!({"dir": dir, "file": file, "gone": dir.join("gone")});
    let t = Templater::new();
    let holds = |expr: &str| t.eval_bool(expr, &vars).unwrap();
    assert!(holds(
        "file is file and file is exists and file is not directory"
    ));
    assert!(holds(
        "dir is directory and dir is exists and dir is not file"
    ));
    assert!(holds(
        "gone is not exists and gone is not file and gone is not directory"
    ));
    assert!(holds("dir is abs and 'a/b' is not abs"));
    // Relative paths are taken from the current directory (the crate's,
    // under cargo test).
    assert!(holds("'Cargo.toml' is file and 'src' is directory"));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(eval_err("missing is file").contains("the value tested with `file` is undefined"));
}

#[test]
fn truthy_and_falsy_follow_python_with_optional_bool_words() {
    assert!(eval("'no' is truthy"));
    assert!(!eval("'no' is truthy(convert_bool=true)"));
    assert!(eval("'off' is falsy(convert_bool=true)"));
    assert!(eval("'yes' is truthy(convert_bool=true)"));
    assert!(eval(
        "'' is falsy and 0 is falsy and nothing is falsy and [] is falsy"
    ));
    assert!(eval("dirs is truthy and 1 is truthy"));
    assert!(eval_err("missing is truthy").contains("the value tested with `truthy` is undefined"));
}

#[test]
fn minijinja_tests_behave_like_jinjas() {
    assert!(eval(
        "host is defined and missing is undefined and ok.nope is undefined"
    ));
    assert!(eval("nothing is none and host is not none"));
    assert!(eval("'shared' is in dirs and 'x' is not in dirs"));
    assert!(eval("nothing is sameas none and true is sameas true"));
    assert!(!eval("1 is sameas true"));
    assert!(eval(
        "host is string and 1 is number and dirs is sequence and ok is mapping"
    ));
}
