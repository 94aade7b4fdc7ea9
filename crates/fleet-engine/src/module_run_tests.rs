//! The module runner's decisions and batching.

use super::*;

fn run(program: &'static str) -> Step {
    Step::run(Script::of(Cmd::without_end_of_options(program)))
}

fn texts(steps: &[Step]) -> Vec<Option<&str>> {
    steps.iter().map(Step::script_text).collect()
}

#[test]
fn consecutive_scripts_share_one_round_trip() {
    let upload = Step::Upload {
        dest: "/f".into(),
        contents: Vec::new(),
        mode: 0o644,
        owner: None,
    };
    let steps = vec![
        Step::run(Script::of(Cmd::new("mkdir").operand("/a"))),
        Step::run(Script::of(Cmd::new("chmod").arg("0700").operand("/a"))),
        upload.clone(),
        Step::run(Script::of(Cmd::without_end_of_options("echo").arg("done"))),
    ];
    let merged = merge_runs(steps);
    assert_eq!(
        texts(&merged),
        [
            Some("( mkdir -- /a\n) && ( chmod 0700 -- /a\n)\n"),
            None,
            Some("echo done\n")
        ]
    );
    assert_eq!(merged[1], upload);
}

/// A module whose plan takes a lock, works, and releases the lock.
#[derive(Debug)]
struct Locked;

impl Module for Locked {
    fn probe(&self) -> Option<Script> {
        None
    }
    fn plan(&self, _: &Probe) -> Result<fleet_modules::Plan, ModuleError> {
        Ok(fleet_modules::Plan::change(vec![run("lock"), run("work")])
            .with_finally(vec![run("unlock"), run("log")]))
    }
}

#[test]
fn finally_steps_are_kept_apart_and_skipped_in_check_mode() {
    let ctx = RunContext::default();
    let Decision::Apply(_, steps) = decide(&Locked, &Probe::default(), &ctx) else {
        panic!("expected steps to apply");
    };
    assert_eq!(texts(&steps.steps), [Some("( lock\n) && ( work\n)\n")]);
    assert_eq!(texts(&steps.finally), [Some("( unlock\n) && ( log\n)\n")]);
    let check = RunContext {
        check: true,
        ..RunContext::default()
    };
    assert!(matches!(
        decide(&Locked, &Probe::default(), &check),
        Decision::Done(outcome) if outcome.status == Status::Changed
    ));
}

/// A module that, like `postgresql_query`, runs in check mode too:
/// its work undone.
#[derive(Debug)]
struct Rehearsed(bool);

impl Module for Rehearsed {
    fn probe(&self) -> Option<Script> {
        None
    }
    fn plan(&self, _: &Probe) -> Result<fleet_modules::Plan, ModuleError> {
        Ok(fleet_modules::Plan::upkeep(vec![run("commit")]))
    }
    fn check_mode_steps(&self) -> Option<Result<Vec<Step>, ModuleError>> {
        Some(if self.0 {
            Ok(vec![run("rollback")])
        } else {
            Err(ModuleError::Failed("not in check mode".into()))
        })
    }
}

#[test]
fn check_mode_runs_the_steps_a_module_gives_for_it() {
    let check = RunContext {
        check: true,
        ..RunContext::default()
    };
    let Decision::Apply(_, steps) = decide(&Rehearsed(true), &Probe::default(), &check) else {
        panic!("expected the check-mode steps");
    };
    assert_eq!(texts(&steps.steps), [Some("rollback\n")]);
    assert!(matches!(
        decide(&Rehearsed(false), &Probe::default(), &check),
        Decision::Done(outcome) if outcome.status == Status::Failed
    ));
    let Decision::Apply(_, steps) =
        decide(&Rehearsed(false), &Probe::default(), &RunContext::default())
    else {
        panic!("expected the plan's steps");
    };
    assert_eq!(texts(&steps.steps), [Some("commit\n")]);
}

/// A module whose plan skips the task (`script` with `creates`).
#[derive(Debug)]
struct Skips;

impl Module for Skips {
    fn probe(&self) -> Option<Script> {
        None
    }
    fn plan(&self, _: &Probe) -> Result<fleet_modules::Plan, ModuleError> {
        Ok(fleet_modules::Plan {
            skipped: true,
            msg: Some("/x exists".into()),
            ..fleet_modules::Plan::unchanged()
        })
    }
}

#[test]
fn a_skipping_plan_skips_the_task_also_in_check_mode() {
    for check in [false, true] {
        let ctx = RunContext {
            check,
            ..RunContext::default()
        };
        let Decision::Done(outcome) = decide(&Skips, &Probe::default(), &ctx) else {
            panic!("nothing to apply");
        };
        assert_eq!(outcome.status, Status::Skipped);
        assert_eq!(outcome.msg.as_deref(), Some("/x exists"));
    }
}

#[test]
fn split_marked_returns_each_output_and_exit_code() {
    let m = "__m__";
    let stdout = format!("{m}0\na=1\nb=2\n\n{m}rc=0\n{m}1\npartial\n{m}rc=3\n{m}2\n\n{m}rc=0\n");
    let outputs = split_marked(&stdout, m, 3);
    assert_eq!(outputs[0], (0, "a=1\nb=2\n".to_string()));
    assert_eq!(outputs[1], (3, "partial".to_string()));
    assert_eq!(outputs[2], (0, String::new()));
}
