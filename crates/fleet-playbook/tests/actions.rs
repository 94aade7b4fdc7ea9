//! The controller-side modules as loaded: `debug`, `fail`, `assert`,
//! `set_fact`, `pause`.

mod common;

use common::{error, tasks};
use serde_json::json;

#[test]
fn set_fact_names_are_known_to_the_tasks_after_it() {
    let loaded = tasks(
        "  - ansible.builtin.set_fact: version=1.2 stable=yes\n\
         \x20 - command: echo {{ version }} {{ stable }}\n",
    );
    assert_eq!(loaded[0].module, "set_fact");
    assert_eq!(loaded[0].params, json!({"version": "1.2", "stable": "yes"}));
    let (first, hint) = error("  - command: echo {{ version }}\n  - set_fact: {version: '1.2'}\n");
    assert_eq!(
        first,
        "3:14: undefined variable `version` in the `command` params"
    );
    assert!(hint.contains("has not run yet"), "{hint}");
}

#[test]
fn set_fact_needs_variable_names() {
    let (first, _) = error("  - set_fact: {1x: 1}\n");
    assert_eq!(first, "3:16: `set_fact` needs variable names, got \"1x\"");
    let (first, hint) = error("  - set_fact: {facts: 1}\n");
    assert_eq!(
        first,
        "3:16: `set_fact` cannot set the built-in variable `facts`"
    );
    assert!(hint.contains("inventory_hostname"), "{hint}");
    let (first, _) = error("  - set_fact: {}\n");
    assert_eq!(first, "3:5: `set_fact`: give at least one `name: value`");
}

#[test]
fn assert_conditions_are_checked_like_when() {
    let loaded = tasks(
        "  - assert: {that: [\"inventory_hostname != 'x'\", \"{{ play_hosts | length }} > 0\"]}\n",
    );
    assert_eq!(loaded[0].module, "assert");
    let (first, _) = error("  - assert: {that: [nowhere > 1]}\n");
    assert_eq!(first, "3:21: undefined variable `nowhere` in `that`");
    let (first, _) = error("  - assert: {that: \"a ==\"}\n");
    assert!(
        first.starts_with("3:20: `that` is not a valid expression"),
        "{first}"
    );
    let (first, hint) = error("  - assert: {tht: x}\n");
    assert_eq!(first, "3:14: `assert` has no parameter `tht`");
    assert!(hint.contains("that"), "{hint}");
}

#[test]
fn debug_var_may_name_what_is_undefined_but_must_compile() {
    let loaded = tasks("  - debug: var=maybe_set\n  - debug: {msg: hi, verbosity: 2}\n");
    assert_eq!(loaded[0].params, json!({"var": "maybe_set"}));
    let (first, _) = error("  - debug: {var: \"a b\"}\n");
    assert!(
        first.starts_with("3:18: `var` is not a valid expression"),
        "{first}"
    );
    let (first, _) = error("  - debug: {msg: a, var: b}\n");
    assert_eq!(
        first,
        "3:5: `debug`: `msg` and `var` cannot be used together"
    );
}

#[test]
fn pause_runs_once_and_fail_takes_a_message() {
    let loaded = tasks("  - pause: minutes=1\n  - fail: msg=\"stop here\"\n");
    assert!(loaded[0].run_once);
    assert_eq!(loaded[0].params, json!({"minutes": "1"}));
    assert_eq!(loaded[1].params, json!({"msg": "stop here"}));
    let (first, _) = error("  - pause: {seconds: 1, minutes: 1}\n");
    assert_eq!(
        first,
        "3:5: `pause`: `seconds` and `minutes` cannot be used together"
    );
}
