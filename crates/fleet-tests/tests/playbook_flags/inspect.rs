//! `--syntax-check`, the listings and `--start-at-task`.

use fleet_tests::{assert_exit, events};

use super::{Case, LOCAL_INVENTORY, TAGGED, UNREACHABLE_INVENTORY, stderr, stdout, task_results};
use serde_json::Value;

/// `TAGGED` with a role, for the listings: no host is contacted.
fn listing_case(test: &str) -> Case {
    let playbook = TAGGED.replace(
        "  tasks:\n    - name: untagged check",
        "  roles:\n    - {role: app, tags: [app]}\n  tasks:\n    - name: untagged check",
    );
    let case = Case::with_inventory(test, UNREACHABLE_INVENTORY, &playbook);
    case.write(
        "roles/app/tasks/main.yaml",
        "- name: app folder\n  command: \"true\"\n",
    );
    case
}

/// `fleet apply ARGS` and `fleet check ARGS` print the same and exit 0.
fn inspect(case: &Case, args: &[&str]) -> String {
    let output = case.fleet("apply", args);
    assert_exit(&output, 0);
    let check = case.fleet("check", args);
    assert_exit(&check, 0);
    assert_eq!(stdout(&check), stdout(&output), "fleet check {args:?}");
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    stdout(&output)
}

#[test]
fn syntax_check_validates_and_prints_the_playbook() {
    let case = listing_case("syntax_check");
    assert_eq!(
        inspect(&case, &["--syntax-check", "-K"]),
        "\nplaybook: playbook.yaml\n"
    );
    let json = inspect(&case, &["--syntax-check", "--format", "json"]);
    assert_eq!(
        events(json.as_bytes()),
        [serde_json::json!({"event": "playbook", "path": "playbook.yaml"})]
    );
    case.write(
        "playbook.yaml",
        "- hosts: web\n  tasks:\n    - name: typo\n      comand: \"true\"\n",
    );
    let output = case.fleet("apply", &["--syntax-check"]);
    assert_exit(&output, 4);
    assert!(output.stdout.is_empty());
    let text = stderr(&output);
    assert!(text.starts_with("error: playbook.yaml:4:7: "), "{text}");
    assert!(text.contains("hint: "), "{text}");
    // The inventory is validated too, and so is each play's pattern.
    case.write("playbook.yaml", "- hosts: nosuchgroup\n  tasks: []\n");
    let output = case.fleet("apply", &["--syntax-check"]);
    assert_exit(&output, 4);
    assert!(stderr(&output).starts_with("error: playbook.yaml:1:10: "));
    case.write("inventory.yaml", "all:\n  hostz: {}\n");
    assert_exit(&case.fleet("check", &["--syntax-check"]), 4);
}

/// What Ansible deprecates but fleet runs is a warning on stderr, with its
/// location and a hint, in both formats; the run goes on.
#[test]
fn deprecated_forms_warn_on_stderr_and_still_load() {
    let case = Case::with_inventory(
        "deprecated_forms",
        UNREACHABLE_INVENTORY,
        "- hosts: web\n  tasks:\n    - include: more.yaml\n    - command: \"true\"\n      when: \"{{ 1 == 1 }}\"\n",
    );
    case.write("more.yaml", "- name: more\n  command: \"true\"\n");
    for format in ["human", "json"] {
        let output = case.fleet("apply", &["--syntax-check", "--format", format]);
        assert_exit(&output, 0);
        assert_eq!(
            stderr(&output),
            "warning: playbook.yaml:3:7: `include` was removed from Ansible; fleet reads it as `include_tasks`\n  \
             hint: write `include_tasks` (or `import_tasks`; `import_playbook` for plays)\n\
             warning: playbook.yaml:5:13: `when` is already an expression: `{{ }}` and `{% %}` in it are deprecated\n  \
             hint: write it bare, like `when: result.rc == 0`\n"
        );
        assert!(!stdout(&output).contains("warning"), "{format}");
    }
}

#[test]
fn list_hosts_prints_each_play_s_pattern_and_hosts() {
    let case = listing_case("list_hosts");
    insta::assert_snapshot!("list_hosts", inspect(&case, &["--list-hosts"]));
    let limited = inspect(&case, &["--list-hosts", "-l", "web2,db1"]);
    assert!(
        limited.contains("    pattern: web\n    hosts (1):\n      web2\n"),
        "{limited}"
    );
}

#[test]
fn list_tasks_prints_the_tasks_that_would_run_with_their_tags() {
    let case = listing_case("list_tasks");
    insta::assert_snapshot!("list_tasks", inspect(&case, &["--list-tasks"]));
    let selected = inspect(&case, &["--list-tasks", "-t", "release,app"]);
    insta::assert_snapshot!("list_tasks_selected", selected);
    let skipped = inspect(&case, &["--list-tasks", "--skip-tags", "always,db"]);
    assert!(!skipped.contains("warm cache") && !skipped.contains("migrate"));
    assert!(skipped.contains("      packages\tTAGS: [packages, web]\n"));
    // As in Ansible, --start-at-task does not shorten the list; it is
    // still checked.
    assert_eq!(
        inspect(&case, &["--list-tasks", "--start-at-task", "migrate"]),
        inspect(&case, &["--list-tasks"])
    );
    assert_exit(
        &case.fleet("apply", &["--list-tasks", "--start-at-task", "nothing"]),
        4,
    );
}

#[test]
fn list_tags_prints_every_tag_never_ones_included() {
    let case = listing_case("list_tags");
    insta::assert_snapshot!("list_tags", inspect(&case, &["--list-tags"]));
    let everything = inspect(&case, &["--list-hosts", "--list-tasks", "--list-tags"]);
    insta::assert_snapshot!("list_everything", everything);
}

#[test]
fn listings_are_ndjson_with_format_json() {
    let case = listing_case("list_json");
    let text = inspect(
        &case,
        &[
            "--list-hosts",
            "--list-tasks",
            "--list-tags",
            "--format",
            "json",
        ],
    );
    let events = events(text.as_bytes());
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["event"], "playbook");
    assert_eq!(
        events[1],
        serde_json::json!({
            "event": "play", "number": 1, "name": "web servers", "pattern": "web",
            "tags": ["web"], "hosts": ["web1", "web2"],
            "tasks": [
                {"name": "packages", "tags": ["packages", "web"]},
                {"name": "migrate", "tags": ["db", "release", "web"]},
                {"name": "warm cache", "tags": ["always", "web"]},
                {"name": "back up now", "tags": ["backup", "never", "web"]},
            ],
            "task_tags": ["always", "backup", "db", "never", "packages", "release", "web"],
        })
    );
    assert_eq!(events[2]["tasks"][0]["name"], "app : app folder");
}

#[test]
fn start_at_task_skips_the_tasks_before_it_across_plays() {
    let case = Case::new("start_at_task", TAGGED);
    assert_eq!(
        case.ran_on("web1", &["--start-at-task", "migrate"]),
        ["migrate", "warm cache"]
    );
    assert_eq!(
        case.ran_on("db1", &["--start-at-task", "migrate"]),
        ["untagged check"]
    );
    // A glob; the first play does not start at all.
    let output = case.fleet(
        "apply",
        &["--start-at-task", "untagged*", "--format", "json"],
    );
    assert_exit(&output, 0);
    let plays: Vec<Value> = events(&output.stdout)
        .into_iter()
        .filter(|event| event["event"] == "play_start")
        .map(|event| event["name"].clone())
        .collect();
    assert_eq!(plays, ["database"]);
    assert_eq!(task_results(&output).len(), 1);
    // Among the tasks --tags selects.
    assert_eq!(
        case.ran_on("web1", &["-t", "packages", "--start-at-task", "*a*"]),
        ["packages", "warm cache"]
    );
}

#[test]
fn start_at_task_matches_a_role_task_by_its_own_name() {
    let case = listing_case("start_at_role");
    case.write("inventory.yaml", LOCAL_INVENTORY);
    assert_eq!(
        case.ran_on("db1", &["--start-at-task", "app folder"]),
        ["app : app folder", "untagged check"]
    );
    assert_eq!(
        case.ran_on("db1", &["--start-at-task", "app : app folder"]),
        ["app : app folder", "untagged check"]
    );
}

#[test]
fn start_at_task_that_matches_nothing_is_refused_before_any_host_is_contacted() {
    let case = listing_case("start_at_nothing");
    for (name, hint) in [
        ("migrat", "hint: did you mean `migrate`? "),
        (
            "back up now",
            "hint: the tasks it names are left out by --tags or --skip-tags",
        ),
    ] {
        let output = case.fleet("apply", &["--start-at-task", name]);
        assert_exit(&output, 4);
        assert!(output.stdout.is_empty(), "{}", stdout(&output));
        let text = stderr(&output);
        assert!(
            text.starts_with(&format!(
                "error: --start-at-task {name:?}: no task of playbook.yaml"
            )),
            "{text}"
        );
        assert!(text.contains(hint), "{text}");
        assert_exit(&case.fleet("check", &["--start-at-task", name]), 4);
    }
}
