//! The `ansible-playbook` flags operators type from habit, through the real
//! binary. No lab: the hosts are `connection: local` (the controller
//! itself), or none is contacted at all.

use std::path::PathBuf;
use std::process::Output;

use fleet_tests::{assert_exit, events, fleet, scratch_dir};
use serde_json::Value;

/// A scratch dir holding `inventory.yaml` (two local hosts, `web1` and
/// `web2` in `web`, and `db1` in `db`) and `playbook.yaml`.
struct Case {
    dir: PathBuf,
}

const LOCAL_INVENTORY: &str = "all:
  vars: {connection: local}
  children:
    web:
      hosts:
        web1:
        web2:
    db:
      hosts:
        db1:
";

/// The same hosts over SSH at addresses where nothing answers (TEST-NET-1):
/// a command that contacted one would fail or time out, not exit 0.
const UNREACHABLE_INVENTORY: &str = "all:
  children:
    web:
      hosts:
        web1: {address: 192.0.2.11}
        web2: {address: 192.0.2.12}
    db:
      hosts:
        db1: {address: 192.0.2.21}
";

impl Case {
    fn new(test: &str, playbook: &str) -> Case {
        Case::with_inventory(test, LOCAL_INVENTORY, playbook)
    }

    fn with_inventory(test: &str, inventory: &str, playbook: &str) -> Case {
        let dir = scratch_dir(&format!("playbook_flags_{test}"));
        std::fs::write(dir.join("inventory.yaml"), inventory).unwrap();
        std::fs::write(dir.join("playbook.yaml"), playbook).unwrap();
        Case { dir }
    }

    /// Writes `text` to `name` in the scratch dir.
    fn write(&self, name: &str, text: &str) {
        let path = self.dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `fleet COMMAND -i inventory.yaml playbook.yaml ARGS`, run in the
    /// scratch dir.
    fn fleet(&self, command: &str, args: &[&str]) -> Output {
        fleet()
            .current_dir(&self.dir)
            .args([command, "-i", "inventory.yaml", "playbook.yaml"])
            .args(["--known-hosts", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    }

    /// `fleet apply … --format json`: the names of the tasks that ran on
    /// `host`, in order.
    fn ran_on(&self, host: &str, args: &[&str]) -> Vec<String> {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let output = self.fleet("apply", &args);
        assert_exit(&output, 0);
        task_results(&output)
            .iter()
            .filter(|result| result["host"] == host)
            .map(|result| result["task"].as_str().unwrap().to_string())
            .collect()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn task_results(output: &Output) -> Vec<Value> {
    events(&output.stdout)
        .into_iter()
        .filter(|event| event["event"] == "task_result")
        .collect()
}

const TAGGED: &str = "- name: web servers
  hosts: web
  tags: [web]
  tasks:
    - name: packages
      command: \"true\"
      tags: [packages]
    - name: migrate
      command: \"true\"
      tags: [db, release]
    - name: warm cache
      command: \"true\"
      tags: always
    - name: back up now
      command: \"true\"
      tags: [backup, never]
- name: database
  hosts: db
  tasks:
    - name: untagged check
      command: \"true\"
";

#[test]
fn skip_tags_leave_out_tasks_with_ansible_semantics() {
    let case = Case::new("skip_tags", TAGGED);
    assert_eq!(
        case.ran_on("web1", &[]),
        ["packages", "migrate", "warm cache"]
    );
    assert_eq!(
        case.ran_on("web1", &["--skip-tags", "db"]),
        ["packages", "warm cache"]
    );
    assert_eq!(
        case.ran_on("web1", &["--skip-tags", "packages,always"]),
        ["migrate"]
    );
    assert_eq!(
        case.ran_on("web1", &["-t", "release", "--skip-tags", "db"]),
        ["warm cache"]
    );
    // A play's tags count for each of its tasks.
    assert!(case.ran_on("web1", &["--skip-tags", "web"]).is_empty());
    assert_eq!(
        case.ran_on("db1", &["--skip-tags", "web"]),
        ["untagged check"]
    );
    assert!(case.ran_on("db1", &["--skip-tags", "untagged"]).is_empty());
}

#[test]
fn tags_take_ansible_special_names() {
    let case = Case::new("special_tags", TAGGED);
    assert_eq!(
        case.ran_on("web1", &["--tags", "never"]),
        ["warm cache", "back up now"]
    );
    assert_eq!(
        case.ran_on("web1", &["-t", "backup"]),
        ["warm cache", "back up now"]
    );
    assert_eq!(
        case.ran_on("web1", &["--tags", "all"]),
        ["packages", "migrate", "warm cache"]
    );
    assert!(case.ran_on("db1", &["--tags", "tagged"]).is_empty());
    assert_eq!(
        case.ran_on("db1", &["--tags", "untagged"]),
        ["untagged check"]
    );
}

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

#[test]
fn user_is_who_every_host_logs_in_as() {
    let case = Case::with_inventory(
        "user",
        "all:\n  vars: {user: root}\n  hosts:\n    web1: {address: 192.0.2.11, user: alice}\n    web2: {address: 192.0.2.12}\n",
        "[]\n",
    );
    let inventory = |args: &[&str]| {
        let output = fleet()
            .current_dir(&case.dir)
            .args(["inventory", "-i", "inventory.yaml", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_exit(&output, 0);
        events(&output.stdout)
            .iter()
            .map(|host| host["vars"]["user"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(inventory(&[]), ["alice", "root"]);
    assert_eq!(inventory(&["-u", "deploy"]), ["deploy", "deploy"]);
    assert_eq!(inventory(&["--user", "deploy"]), ["deploy", "deploy"]);
    let output = fleet()
        .current_dir(&case.dir)
        .args(["inventory", "-i", "inventory.yaml", "-u", "two words"])
        .output()
        .unwrap();
    assert_exit(&output, 4);
    assert!(stderr(&output).contains("is not a user name"));
}

/// A user no controller has: becoming it fails whether sudo is missing,
/// refuses, or wants a password, and the error names it.
const NO_SUCH_USER: &str = "fleet-no-such-user";

fn become_failure(result: &Value) -> bool {
    result["status"] == "failed"
        && result["msg"]
            .as_str()
            .is_some_and(|msg| msg.contains(&format!("become (sudo -u {NO_SUCH_USER}) failed")))
}

#[test]
fn become_and_become_user_set_every_play_s_defaults() {
    let case = Case::new(
        "become",
        "- hosts: web1\n  tasks:\n    - name: who\n      command: id -un\n    - name: not become\n      command: id -un\n      become: false\n",
    );
    let results = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        task_results(&case.fleet("apply", &args))
    };
    let plain = results(&["--become-user", NO_SUCH_USER]);
    assert!(
        plain.len() == 2 && plain.iter().all(|result| result["status"] == "changed"),
        "--become-user alone turns nothing on: {plain:?}"
    );
    let becoming = results(&["-b", "--become-user", NO_SUCH_USER]);
    assert!(become_failure(&becoming[0]), "{becoming:?}");
    // The host failed there, before its next task.
    assert_eq!(becoming.len(), 1, "{becoming:?}");

    case.write(
        "playbook.yaml",
        &format!("- hosts: web1\n  become_user: {NO_SUCH_USER}\n  tasks:\n    - name: who\n      command: id -un\n    - name: not become\n      command: id -un\n      become: false\n"),
    );
    assert_eq!(results(&[])[0]["status"], "changed");
    assert!(become_failure(&results(&["--become"])[0]));
    let output = case.fleet("apply", &["-b", "--format", "json"]);
    assert_exit(&output, 2);
    // A task's own `become: false` wins over -b.
    let output = case.fleet("apply", &["-b", "--start-at-task", "not become"]);
    assert_exit(&output, 0);
}

#[test]
fn run_takes_become_user_and_f() {
    let case = Case::new("run_become", "[]\n");
    let run = |args: &[&str]| {
        fleet()
            .current_dir(&case.dir)
            .args([
                "run",
                "-i",
                "inventory.yaml",
                "-l",
                "web",
                "--format",
                "json",
            ])
            .args(args)
            .args(["--", "id", "-un"])
            .output()
            .unwrap()
    };
    let output = run(&["-f", "1"]);
    assert_exit(&output, 0);
    assert_eq!(task_results(&output).len(), 2);
    let output = run(&["-b", "--become-user", NO_SUCH_USER]);
    assert_exit(&output, 2);
    assert!(task_results(&output).iter().all(become_failure));
}

#[test]
fn forks_throttle_connections_and_every_host_still_runs() {
    let case = Case::new("forks", TAGGED);
    for forks in ["1", "0"] {
        let output = case.fleet("apply", &["-f", forks, "--format", "json"]);
        assert_exit(&output, 0);
        let hosts: std::collections::BTreeSet<String> = task_results(&output)
            .iter()
            .map(|result| result["host"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(hosts.len(), 3, "-f {forks}");
    }
}

const CHATTY: &str = "- hosts: web1
  tasks:
    - name: hello
      shell: echo to-stdout; echo to-stderr >&2
      environment: {GREETING: hi}
    - name: keep quiet
      shell: echo the-secret-line
      no_log: true
";

#[test]
fn verbose_levels_add_output_step_by_step() {
    let case = Case::new("verbose", CHATTY);
    let human = |args: &[&str]| {
        let output = fleet()
            .current_dir(&case.dir)
            .args(["apply", "-i", "inventory.yaml", "playbook.yaml"])
            .args(args)
            .env("FLEET_BECOME_PASSWORD", "hunter2-never-shown")
            .output()
            .unwrap();
        assert_exit(&output, 0);
        let text = format!("{}{}", stdout(&output), stderr(&output));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("the-secret-line"), "{text}");
        text
    };
    let quiet = human(&[]);
    assert!(
        !quiet.contains("to-stdout") && !quiet.contains("CONNECT"),
        "{quiet}"
    );

    let v = human(&["-v"]);
    let hello = "  web1  changed      hello\n      rc=0\n      | to-stdout\n      ! to-stderr\n";
    assert!(v.contains(hello), "{v}");
    assert!(v.contains("      | output hidden by no_log\n"), "{v}");
    assert!(!v.contains("CONNECT") && !v.contains(" $ "), "{v}");

    let vv = human(&["-vv"]);
    assert!(
        vv.starts_with("CONNECT web1 local (on the controller, as the user running fleet)\n"),
        "{vv}"
    );
    assert!(vv.contains(hello) && !vv.contains(" $ "), "{vv}");

    let vvv = human(&["-vvv"]);
    assert!(
        vvv.contains(
            "  web1  $ export GREETING=hi\n  web1  > echo to-stdout; echo to-stderr >&2\n"
        ),
        "{vvv}"
    );
    assert!(vvv.contains(hello), "{vvv}");
}

#[test]
fn verbose_commands_are_events_in_ndjson() {
    let case = Case::new("verbose_json", CHATTY);
    let events_with = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let output = case.fleet("apply", &args);
        assert_exit(&output, 0);
        events(&output.stdout)
    };
    let kinds = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|event| event["event"].as_str().unwrap().to_string())
            .collect()
    };
    let plain = events_with(&[]);
    assert_eq!(kinds(&events_with(&["-vv"])), kinds(&plain));
    let traced = events_with(&["-vvv"]);
    let commands: Vec<&Value> = traced
        .iter()
        .filter(|event| event["event"] == "command")
        .collect();
    assert_eq!(
        commands,
        [&serde_json::json!({
            "event": "command",
            "host": "web1",
            "command": "export GREETING=hi\necho to-stdout; echo to-stderr >&2\n",
        })]
    );
}
