//! `-v`, `-vv` and `-vvv`.

use fleet_tests::{assert_exit, events, fleet};
use serde_json::Value;

use super::{Case, stderr, stdout};

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
