//! `-u`, `-b`, `--become-user` and `-f`.

use fleet_tests::{assert_exit, events, fleet};
use serde_json::Value;

use super::{Case, TAGGED, stderr, task_results};

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
