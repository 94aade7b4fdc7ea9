//! Ansible's `with_*` loops and `loop_control`, as loaded.

mod common;

use common::{error, tasks};
use fleet_playbook::LoopLookup;
use serde_json::json;

#[test]
fn with_keywords_keep_their_value_and_lookup() {
    let loaded = tasks(
        "  - command: echo {{ item }}\n    with_items: [a, [b, c]]\n\
         \x20 - command: echo {{ item }}\n    with_sequence: start=1 end=5 format=web%02d\n\
         \x20 - command: echo {{ item.key }}\n    with_dict: \"{{ groups }}\"\n\
         \x20 - command: echo {{ item.0 }}\n    with_subelements: [\"{{ groups['all'] }}\", keys, {skip_missing: true}]\n\
         \x20 - command: echo {{ item }}\n    with_fileglob: [\"conf.d/*.conf\"]\n\
         \x20 - command: echo {{ item }}\n    with_together: [[a], [1]]\n\
         \x20 - command: echo {{ item }}\n    with_nested: [[a], \"{{ play_hosts }}\"]\n\
         \x20 - command: echo {{ item }}\n    with_list: [[a, b]]\n",
    );
    let lookups: Vec<Option<LoopLookup>> = loaded.iter().map(|task| task.loop_with).collect();
    use LoopLookup::*;
    assert_eq!(
        lookups,
        [
            Some(Items),
            Some(Sequence),
            Some(Dict),
            Some(Subelements),
            Some(Fileglob),
            Some(Together),
            Some(Nested),
            Some(List)
        ]
    );
    assert_eq!(loaded[0].r#loop, Some(json!(["a", ["b", "c"]])));
    assert_eq!(
        loaded[1].r#loop,
        Some(json!("start=1 end=5 format=web%02d"))
    );
    let plain = tasks("  - command: echo {{ item }}\n    loop: [a]\n");
    assert_eq!(plain[0].loop_with, None);
    assert_eq!(plain[0].loop_control.loop_var, "item");
}

#[test]
fn two_loops_on_one_task_are_refused() {
    let (first, hint) = error("  - command: echo {{ item }}\n    loop: [a]\n    with_items: [b]\n");
    assert_eq!(
        first,
        "5:5: this task has two loops, `loop` and `with_items`"
    );
    assert!(hint.contains("keep one"), "{hint}");
    let (first, _) =
        error("  - command: echo {{ item }}\n    with_dict: {a: 1}\n    with_list: [b]\n");
    assert_eq!(
        first,
        "5:5: this task has two loops, `with_dict` and `with_list`"
    );
}

#[test]
fn unknown_with_keywords_and_wrong_shapes_are_refused() {
    let (first, hint) = error("  - command: echo {{ item }}\n    with_itemz: [a]\n");
    assert_eq!(first, "4:5: `with_itemz` is not a loop fleet runs");
    assert!(hint.starts_with("did you mean `with_items`?"), "{hint}");
    let (first, hint) = error("  - command: echo {{ item }}\n    with_first_found: [a]\n");
    assert_eq!(first, "4:5: `with_first_found` is not a loop fleet runs");
    assert!(hint.contains("with_fileglob"), "{hint}");
    let (first, _) = error("  - command: echo {{ item }}\n    with_dict: plain\n");
    assert_eq!(
        first,
        "4:16: `with_dict` must be a map or a template string, got \"plain\""
    );
    let (first, _) =
        error("  - command: echo {{ item }}\n    with_subelements: [\"{{ play_hosts }}\"]\n");
    assert!(
        first.starts_with("4:23: `with_subelements` must be a list of a list"),
        "{first}"
    );
    let (first, _) = error("  - command: echo {{ item }}\n    with_items: {a: 1}\n");
    assert!(
        first.starts_with("4:17: `with_items` must be a list or a template string"),
        "{first}"
    );
    let (first, _) = error("  - command: echo {{ item }}\n    with_items: \"{{ nowhere }}\"\n");
    assert_eq!(first, "4:17: undefined variable `nowhere` in `with_items`");
}

#[test]
fn loop_control_names_the_loop_variables() {
    let loaded = tasks(
        "  - command: echo {{ pkg }} {{ i }} {{ ansible_loop.index }} {{ ansible_loop_var }}\n\
         \x20   loop: [a, b]\n\
         \x20   loop_control: {loop_var: pkg, index_var: i, label: \"{{ pkg | upper }}\", pause: 0.5, extended: yes}\n",
    );
    let control = &loaded[0].loop_control;
    assert_eq!(control.loop_var, "pkg");
    assert_eq!(control.index_var.as_deref(), Some("i"));
    assert_eq!(control.label.as_deref(), Some("{{ pkg | upper }}"));
    assert_eq!(control.pause, Some(0.5));
    assert!(control.extended && control.extended_allitems);
    let (first, _) =
        error("  - command: echo {{ item }}\n    loop: [a]\n    loop_control: {loop_var: pkg}\n");
    assert_eq!(
        first,
        "3:14: undefined variable `item` in the `command` params"
    );
    let (first, _) = error("  - command: echo {{ ansible_loop.index }}\n    loop: [a]\n");
    assert_eq!(
        first,
        "3:14: undefined variable `ansible_loop` in the `command` params"
    );
    let (first, hint) =
        error("  - command: echo {{ item }}\n    loop: [a]\n    loop_control: {labels: x}\n");
    assert_eq!(first, "5:20: unknown `loop_control` key `labels`");
    assert!(hint.starts_with("did you mean `label`?"), "{hint}");
    let (first, _) =
        error("  - command: echo {{ item }}\n    loop: [a]\n    loop_control: {loop_var: facts}\n");
    assert_eq!(
        first,
        "5:30: `loop_var: facts` would hide the built-in variable `facts`"
    );
    let (first, _) = error(
        "  - command: echo {{ item }}\n    loop: [a]\n    loop_control: {label: \"{{ nowhere }}\"}\n",
    );
    assert_eq!(
        first,
        "5:27: undefined variable `nowhere` in `loop_control`"
    );
}
