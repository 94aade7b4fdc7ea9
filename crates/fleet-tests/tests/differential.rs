//! The differential suite: fleet must converge a host the way ansible-core
//! does. Each case under `tests/differential/cases/NAME/` is one playbook,
//! run from the same starting state by ansible-playbook on one lab host and
//! by fleet on its twin; then the hosts' state and the per-task outcomes are
//! compared. Any difference fails, unless the case lists it with the text of
//! docs that explain it. See `tests/differential/README.md`.
//!
//! `FLEET_DIFF_CASE=name[,name]` runs only those cases.

#[path = "differential/case.rs"]
mod case;
#[path = "differential/compare.rs"]
mod compare;
#[path = "differential/runners.rs"]
mod runners;
#[path = "differential/twins.rs"]
mod twins;

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use case::{Case, Documented, differences_section, fold_whitespace};
use compare::Diff;
use fleet_tests::{Lab, repo_root, scratch_dir};
use twins::{Twins, hostside};

/// What one case came to.
struct Verdict {
    name: String,
    about: String,
    twins: String,
    seconds: f64,
    documented: Vec<Diff>,
    unexpected: Vec<Diff>,
    /// Documented differences that did not happen.
    stale: Vec<Documented>,
    /// The case could not be run (a reset, setup or probe failed), or a
    /// tool did not exit as the case expects.
    errors: Vec<String>,
    logs: String,
}

impl Verdict {
    fn passed(&self) -> bool {
        self.unexpected.is_empty() && self.stale.is_empty() && self.errors.is_empty()
    }

    fn report(&self) -> String {
        let mut text = format!("case {} (on {}): {}\n", self.name, self.twins, self.about);
        for error in &self.errors {
            text += &format!("  {error}\n");
        }
        if !self.unexpected.is_empty() {
            text += &format!(
                "  {} undocumented difference(s):\n{}",
                self.unexpected.len(),
                compare::render(&self.unexpected)
            );
        }
        for stale in &self.stale {
            text += &format!(
                "  documented difference no longer seen, remove it from case.yml: {}\n",
                stale.at
            );
        }
        text += &format!("  logs: {}\n", self.logs);
        text
    }
}

#[test]
fn fleet_converges_hosts_like_ansible_core() {
    let started = Instant::now();
    let only = std::env::var("FLEET_DIFF_CASE").ok();
    let mut cases = case::load_all(
        &repo_root().join("tests/differential/cases"),
        only.as_deref(),
    );
    assert!(!cases.is_empty(), "no cases in tests/differential/cases");
    check_docs(&cases, &repo_root().join("docs"));
    Lab::get();
    for case in cases.iter_mut().filter(|case| case.fixtures) {
        case.serve(fleet_tests::fixtures::Fixtures::get());
    }

    let pairs = Twins::all();
    let queue = Mutex::new(cases.iter());
    let verdicts = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for pair in &pairs {
            let (queue, verdicts) = (&queue, &verdicts);
            scope.spawn(move || {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(case) = next else { break };
                    let verdict = run_case(case, pair);
                    println!(
                        "case {:<24} {:<12} {:>6.1}s  {}",
                        verdict.name,
                        verdict.twins,
                        verdict.seconds,
                        if verdict.passed() { "same" } else { "DIFFERS" }
                    );
                    verdicts.lock().unwrap().push(verdict);
                }
            });
        }
    });
    runners::remove_control_path_dir();
    let mut verdicts = verdicts.into_inner().unwrap();
    verdicts.sort_by(|a, b| a.name.cmp(&b.name));
    let documented: usize = verdicts.iter().map(|v| v.documented.len()).sum();
    println!(
        "differential: {} cases, {documented} documented differences, {:.1}s",
        verdicts.len(),
        started.elapsed().as_secs_f64()
    );
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.passed())
        .map(Verdict::report)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} cases differ between ansible-core and fleet:\n\n{}",
        failed.len(),
        verdicts.len(),
        failed.join("\n")
    );
}

/// Every documented difference quotes its page's "Differences from
/// Ansible" section; checked before any host is touched.
fn check_docs(cases: &[Case], docs: &Path) {
    let mut missing = Vec::new();
    for case in cases {
        for documented in &case.differences {
            let section = differences_section(docs, &documented.page);
            if !section.contains(&fold_whitespace(&documented.doc)) {
                missing.push(format!(
                    "case {}: `{}` cites text that docs/{} does not have under \
                     \"Differences from Ansible\": {:?}",
                    case.name, documented.at, documented.page, documented.doc
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

fn run_case(case: &Case, pair: &Twins) -> Verdict {
    let started = Instant::now();
    let scratch = scratch_dir(&format!("differential/{}", case.name));
    let mut verdict = Verdict {
        name: case.name.clone(),
        about: case.about.clone(),
        twins: pair.label(),
        seconds: 0.0,
        documented: Vec::new(),
        unexpected: Vec::new(),
        stale: Vec::new(),
        errors: Vec::new(),
        logs: format!("{}/run*-{{ansible,fleet}}.log", scratch.display()),
    };
    match converge_both(case, pair, &scratch) {
        Ok((diffs, errors)) => {
            verdict.errors = errors;
            let (documented, unexpected) = diffs
                .into_iter()
                .partition(|diff| case.differences.iter().any(|doc| doc.covers(&diff.key)));
            verdict.documented = documented;
            verdict.unexpected = unexpected;
            verdict.stale = case
                .differences
                .iter()
                .filter(|doc| !verdict.documented.iter().any(|diff| doc.covers(&diff.key)))
                .cloned()
                .collect();
        }
        Err(error) => verdict.errors.push(format!("could not run: {error}")),
    }
    verdict.seconds = started.elapsed().as_secs_f64();
    verdict
}

/// Resets both twins, sets them up, then runs the playbook `runs` times
/// with each tool at once, comparing after every run. Returns the
/// differences, and each run of a tool that did not exit as the case
/// expects.
fn converge_both(
    case: &Case,
    pair: &Twins,
    scratch: &Path,
) -> Result<(Vec<Diff>, Vec<String>), String> {
    let lab = Lab::get();
    let prepare = |host: &str| -> Result<(), String> {
        hostside(host, "reset", &case.touches)?;
        match &case.setup {
            Some(script) => twins::setup(host, script),
            None => Ok(()),
        }
    };
    std::thread::scope(|scope| {
        let ansible = scope.spawn(|| prepare(&pair.ansible));
        let fleet = prepare(&pair.fleet);
        ansible
            .join()
            .expect("preparing the ansible twin")
            .and(fleet)
    })?;
    let (a_address, f_address) = (lab.address(&pair.ansible), lab.address(&pair.fleet));
    let (mut diffs, mut errors) = (Vec::new(), Vec::new());
    for run in 1..=case.runs {
        let (ansible, fleet) = std::thread::scope(|scope| {
            let ansible = scope.spawn(|| runners::ansible(case, &a_address, scratch));
            let fleet = runners::fleet(case, &f_address, scratch);
            (ansible.join().expect("ansible-playbook thread"), fleet)
        });
        for (tool, ran) in [("ansible", &ansible), ("fleet", &fleet)] {
            let log = scratch.join(format!("run{run}-{tool}.log"));
            std::fs::write(&log, &ran.log).expect("write log");
            if ran.code != case.exit {
                let failures = ran.failures();
                let failed = match failures.as_str() {
                    "" => String::new(),
                    _ => format!("; failed: {failures}"),
                };
                errors.push(format!(
                    "run {run}: {tool} exited {}, the case expects {} (case.yml `exit`){failed}",
                    ran.code, case.exit
                ));
            }
        }
        diffs.extend(compare::runs(run, &ansible, &fleet));
        let (a_state, f_state) = std::thread::scope(|scope| {
            let ansible = scope.spawn(|| hostside(&pair.ansible, "state", &case.touches));
            let fleet = hostside(&pair.fleet, "state", &case.touches);
            (ansible.join().expect("reading the ansible twin"), fleet)
        });
        diffs.extend(compare::states(run, &a_state?, &f_state?));
    }
    // What a case left pointing at the test server (an apt source) would
    // break the next case's apt runs once the server is gone: reset now.
    if case.fixtures {
        std::thread::scope(|scope| {
            let ansible = scope.spawn(|| hostside(&pair.ansible, "reset", &case.touches));
            let fleet = hostside(&pair.fleet, "reset", &case.touches);
            ansible
                .join()
                .expect("resetting the ansible twin")
                .and(fleet)
        })?;
    }
    Ok((diffs, errors))
}
