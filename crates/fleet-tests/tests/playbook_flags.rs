//! The `ansible-playbook` flags operators type from habit, through the real
//! binary. No lab: the hosts are `connection: local` (the controller
//! itself), or none is contacted at all.

#[path = "playbook_flags/connection.rs"]
mod connection;
#[path = "playbook_flags/inspect.rs"]
mod inspect;
#[path = "playbook_flags/verbose.rs"]
mod verbose;

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

#[test]
fn check_diff_limit_and_extra_vars_take_ansible_s_short_flags() {
    let case = Case::new(
        "short_flags",
        "- hosts: web\n  tasks:\n    - name: greeting file\n      copy: {content: \"{{ greeting }}\\n\", dest: \"{{ dir }}/{{ inventory_hostname }}.txt\"}\n",
    );
    let dir = case.dir.display().to_string();
    let dir_var = format!("dir={dir}");
    let output = case.fleet(
        "apply",
        &[
            "-C",
            "-D",
            "-l",
            "web2",
            "-e",
            "greeting=hello",
            "-e",
            &dir_var,
            "--format",
            "json",
        ],
    );
    assert_exit(&output, 0);
    let results = task_results(&output);
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["host"], "web2");
    assert_eq!(results[0]["status"], "changed");
    assert!(
        results[0]["diff"].as_str().unwrap().contains("+hello"),
        "{results:?}"
    );
    assert!(!case.dir.join("web2.txt").exists(), "-C changed the file");

    let output = case.fleet(
        "apply",
        &["-l", "web2", "-e", "greeting=hello", "-e", &dir_var],
    );
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read_to_string(case.dir.join("web2.txt")).unwrap(),
        "hello\n"
    );
    assert!(!case.dir.join("web1.txt").exists());
}

/// A templated `serial` renders from the play's vars, `-e` wins, and its
/// percentages are of the hosts `-l` leaves.
#[test]
fn a_templated_serial_takes_extra_vars_and_batches_the_limited_hosts() {
    let case = Case::new(
        "templated_serial",
        "- hosts: all\n  vars:\n    release_serial: [1, \"100%\"]\n  serial: \"{{ release_serial }}\"\n  tasks:\n    - command: \"true\"\n",
    );
    let batches = |args: &[&str]| -> Vec<Vec<String>> {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let output = case.fleet("apply", &args);
        assert_exit(&output, 0);
        events(&output.stdout)
            .into_iter()
            .filter(|event| event["event"] == "batch_start")
            .map(|event| {
                let hosts = event["hosts"].as_array().unwrap();
                hosts.iter().map(|h| h.as_str().unwrap().into()).collect()
            })
            .collect()
    };
    assert_eq!(batches(&[]), [vec!["web1"], vec!["web2", "db1"]]);
    assert_eq!(
        batches(&["-e", "release_serial=2"]),
        [vec!["web1", "web2"], vec!["db1"]]
    );
    assert_eq!(
        batches(&["-e", "release_serial=50%", "-l", "web"]),
        [vec!["web1"], vec!["web2"]]
    );
}
