use super::*;
use crate::modules::command::stub_sh::{run, run_step};
use serde_json::json;

/// A controller with two scripts.
struct Scripts;

impl Controller for Scripts {
    fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
        match src {
            "files/greet.sh" | "greet.sh" => {
                Ok(b"#!/bin/sh\necho \"hello $1|$2\"\necho \"to stderr\" >&2\npwd\n".to_vec())
            }
            "files/fail.sh" => Ok(b"#!/bin/sh\necho before\nexit 3\n".to_vec()),
            "files/self.py" => Ok(b"print('from python')\n".to_vec()),
            _ => Err(ModuleError::ControllerFile {
                path: src.to_string(),
                reason: "not found".into(),
            }),
        }
    }
    fn render_template(&self, src: &str) -> Result<String, ModuleError> {
        Ok(src.to_string())
    }
}

fn script(params: Value) -> Box<dyn Module> {
    build(params, &Scripts).unwrap()
}

#[test]
fn runs_the_uploaded_copy_with_the_arguments_as_shell_text() {
    let module = script(json!({"cmd": "files/greet.sh 'a b' $((1 + 2))", "chdir": "/"}));
    assert_eq!(module.probe(), None);
    assert!(module.skipped_in_check_mode());
    let plan = module.plan(&Probe::default()).unwrap();
    assert!(plan.changed);
    let out = run_step("", &plan.steps[0]);
    assert_eq!(
        (out.rc, out.stdout.as_str(), out.stderr.as_str()),
        (0, "hello a b|3\n/\n", "to stderr\n")
    );
    let text = plan.steps[0].script_text().unwrap();
    assert!(text.contains("/greet.sh 'a b' $((1 + 2))\n"), "{text}");
    assert!(!text.contains("files/greet.sh"), "{text}");
}

#[test]
fn the_temporary_directory_is_removed_and_the_exit_code_kept() {
    let module = script(json!({"cmd": "files/fail.sh"}));
    let plan = module.plan(&Probe::default()).unwrap();
    let text = plan.steps[0].script_text().unwrap().to_string();
    let dir = text
        .lines()
        .find_map(|line| line.strip_prefix("fleet_script_dir="))
        .unwrap()
        .to_string();
    assert!(dir.starts_with("/tmp/fleet-script-"), "{dir}");
    let out = run_step("", &plan.steps[0]);
    assert_eq!((out.rc, out.stdout.as_str()), (3, "before\n"));
    assert!(
        !std::path::Path::new(&dir).exists(),
        "{dir} was left behind"
    );
    let failed = StepOutput {
        rc: 3,
        ..StepOutput::default()
    };
    assert_eq!(
        module.outcome(&[failed]).unwrap_err().to_string(),
        "non-zero return code"
    );
    assert!(module.failed_run_changed());
}

#[test]
fn an_executable_runs_the_script() {
    let module = script(json!({"cmd": "files/greet.sh x y", "executable": "sh -e"}));
    let plan = module.plan(&Probe::default()).unwrap();
    let text = plan.steps[0].script_text().unwrap();
    assert!(text.contains("\nsh -e /tmp/fleet-script-"), "{text}");
    assert_eq!(
        run_step("", &plan.steps[0]).stdout.lines().next(),
        Some("hello x|y")
    );
}

#[test]
fn every_occurrence_of_the_script_word_is_replaced_as_in_ansible() {
    let module = script(json!({"cmd": "greet.sh greet.sh.log"}));
    let plan = module.plan(&Probe::default()).unwrap();
    let out = run_step("", &plan.steps[0]);
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("hello /tmp/fleet-script-") && first.ends_with("/greet.sh.log|"),
        "{first}"
    );
}

#[test]
fn creates_and_removes_skip_the_task() {
    let module = script(json!({
        "cmd": "files/greet.sh",
        "creates": "/opt/done",
        "removes": "/opt/src dir"
    }));
    assert!(!module.skipped_in_check_mode());
    let out = run("", &module.probe().unwrap(), b"");
    assert_eq!(out.stdout, "creates=0\nremoves=0\n");
    let plan = module.plan(&Probe::ok("creates=1\nremoves=1\n")).unwrap();
    assert!(plan.skipped && !plan.changed && plan.steps.is_empty());
    assert_eq!(
        plan.msg.as_deref(),
        Some("/opt/done exists, matching creates option")
    );
    let plan = module.plan(&Probe::ok("creates=0\nremoves=0\n")).unwrap();
    assert_eq!(
        plan.msg.as_deref(),
        Some("/opt/src dir does not exist, matching removes option")
    );
    assert!(
        module
            .plan(&Probe::ok("creates=0\nremoves=1\n"))
            .unwrap()
            .changed
    );
}

#[test]
fn a_relative_chdir_fails_after_creates_and_removes() {
    let module = script(json!({"cmd": "files/greet.sh", "chdir": "tmp", "creates": "/x"}));
    assert!(module.plan(&Probe::ok("creates=1\n")).unwrap().skipped);
    let err = module.plan(&Probe::ok("creates=0\n")).unwrap_err();
    assert!(
        err.to_string().contains("must be an absolute path"),
        "{err}"
    );
}

#[test]
fn rejects_a_missing_script_unknown_params_and_an_empty_line() {
    assert!(build(json!({"cmd": "files/nope.sh"}), &Scripts).is_err());
    assert!(build(json!({"cmd": "files/greet.sh", "stdin": "x"}), &Scripts).is_err());
    assert!(build(json!({"cmd": "  "}), &Scripts).is_err());
    assert!(build(json!({"cmd": "'open"}), &Scripts).is_err());
    assert!(
        build(
            json!({"cmd": "files/self.py", "executable": "python3"}),
            &Scripts
        )
        .is_ok()
    );
}
