//! Task results as Ansible shapes them, on real shell runs over the local
//! connection: `changed_when` and `failed_when` on a failed command, and
//! what `register` keeps of it.

mod common;

use common::run_on;
use fleet_engine::Status;

use Status::{Changed, Failed, Ok};

#[test]
fn a_command_that_ran_stays_changed_when_failed_when_clears_its_failure() {
    let (scratch, run) = run_on(
        "failed-when",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - name: exit 3 is fine
      shell: exit 3
      register: three
      failed_when: three.rc != 3
    - name: and does not count as a change
      shell: exit 3
      register: quiet
      changed_when: false
      failed_when: quiet.rc != 3
    - name: a failure that changed nothing else
      shell: exit 1
      register: failing
      ignore_errors: true
    - name: what register kept
      shell: "echo {{ three.changed }} {{ quiet.changed }} {{ failing.changed }} {{ failing.failed }} > {{ tmp }}/kept"
    - name: changed_when true on a failure is still a failure
      shell: exit 1
      changed_when: true
"#,
    );
    assert_eq!(
        run.of_host("h1"),
        [
            ("exit 3 is fine".to_string(), Changed),
            ("and does not count as a change".to_string(), Ok),
            ("a failure that changed nothing else".to_string(), Failed),
            ("what register kept".to_string(), Changed),
            (
                "changed_when true on a failure is still a failure".to_string(),
                Failed
            ),
        ]
    );
    assert_eq!(
        scratch.read("kept").as_deref(),
        Some("True False True True\n")
    );
}
