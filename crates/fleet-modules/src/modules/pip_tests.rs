//! Unit tests of `pip`: probe scripts, plans, and what pip gets in a real `sh`.

use super::*;
use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
use crate::modules::tests::NoFiles;
use serde_json::json;

fn pip(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

const INSTALL: &str =
    "export PIP_DISABLE_PIP_VERSION_CHECK=1\n/opt/app/venv/bin/pip install --no-input";

#[test]
fn names_are_normalized_and_versions_compared() {
    assert_eq!(normalize("Foo__Bar.baz"), "foo-bar-baz");
    let spec = Requirement::parse("uvicorn[standard]==0.30.1").unwrap();
    assert_eq!(spec.name, "uvicorn");
    assert!(spec.satisfied_by("0.30.1") && !spec.satisfied_by("0.30.2"));
    let range = Requirement::parse("tenacity>=8.2,<9").unwrap();
    assert!(
        range.satisfied_by("8.10.0") && !range.satisfied_by("8.1") && !range.satisfied_by("9.0")
    );
    let compatible = Requirement::parse("foo~=1.4.5").unwrap();
    assert!(compatible.satisfied_by("1.4.9") && !compatible.satisfied_by("1.5.0"));
    let wildcard = Requirement::parse("foo==1.4.*").unwrap();
    assert!(wildcard.satisfied_by("1.4.2") && !wildcard.satisfied_by("1.40"));
    assert!(compare_versions("1.0rc1", "1.0").is_lt());
    assert!(compare_versions("1.0.post1", "1.0").is_gt());
    assert!(compare_versions("1.0", "1.0.0").is_eq());
    assert_eq!(
        Requirement::parse("pkg @ https://x/pkg.whl")
            .unwrap()
            .clauses,
        None
    );
    assert!(Requirement::parse("foo=>1").is_err());
}

#[test]
fn creates_a_missing_virtualenv_and_installs() {
    let module = pip(json!({"name": ["uvicorn[standard]==0.30.1"], "virtualenv": "/opt/app/venv"}));
    assert_eq!(
        module.probe().unwrap(),
        "python=/opt/app/venv/bin/python\n\
         [ -x \"$python\" ] || { echo venv=0; exit 0; }\n\
         /opt/app/venv/bin/pip list --format freeze --disable-pip-version-check 2>/dev/null | sed 's/^/installed: /'\n"
    );
    let plan = module.plan(&Probe::ok("venv=0\n")).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [
            "python3 -m venv /opt/app/venv\n".to_string(),
            format!("{INSTALL} -- 'uvicorn[standard]==0.30.1'\n"),
        ]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("virtualenv: absent -> /opt/app/venv\ninstall: uvicorn[standard]==0.30.1\n")
    );
}

#[test]
fn present_installs_missing_and_mismatched_versions_only() {
    let module = pip(json!({
        "name": ["uvicorn==0.30.1", "Tenacity", "py_spy>=0.3"],
        "virtualenv": "/opt/app/venv",
        "extra_args": "--no-index --find-links /srv/wheels",
    }));
    let probe = Probe::ok(
        "installed: uvicorn==0.29.0\ninstalled: tenacity==8.2.3\ninstalled: py-spy==0.3.14\n",
    );
    let plan = module.plan(&probe).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [format!(
            "{INSTALL} --no-index --find-links /srv/wheels -- 'uvicorn==0.30.1'\n"
        )]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("version: uvicorn 0.29.0 -> uvicorn==0.30.1\n")
    );
    let same = Probe::ok(
        "installed: uvicorn==0.30.1\ninstalled: tenacity==8.2.3\ninstalled: py-spy==0.3.14\n",
    );
    assert_eq!(module.plan(&same).unwrap(), Plan::unchanged());
}

#[test]
fn absent_uninstalls_what_is_installed() {
    let module =
        pip(json!({"name": "tenacity,uvloop", "state": "absent", "executable": "/usr/bin/pip3"}));
    let plan = module
        .plan(&Probe::ok("installed: tenacity==8.2.3\n"))
        .unwrap();
    assert_eq!(
        scripts(&plan.steps),
        ["export PIP_DISABLE_PIP_VERSION_CHECK=1\n/usr/bin/pip3 uninstall -y -- tenacity\n"]
    );
    assert!(
        !module
            .plan(&Probe::ok("installed: pip==23.0.1\n"))
            .unwrap()
            .changed
    );
}

#[test]
fn latest_and_requirements_ask_pip_with_a_dry_run() {
    let module =
        pip(json!({"requirements": "/opt/app/requirements.txt", "virtualenv": "/opt/app/venv"}));
    assert_eq!(
        module.probe().unwrap(),
        "python=/opt/app/venv/bin/python\n\
         [ -x \"$python\" ] || { echo venv=0; exit 0; }\n\
         export PIP_DISABLE_PIP_VERSION_CHECK=1\n\
         pip=/opt/app/venv/bin/pip\n\
         set -- install --no-input --dry-run -r /opt/app/requirements.txt\n\
         if out=$(\"$pip\" \"$@\" 2>&1); then \
         printf '%s\\n' \"$out\" | sed -n 's/^Would install /would=/p'; \
         else echo \"pip_error=$({ printf '%s\\n' \"$out\" | grep ERROR || printf '%s\\n' \"$out\" | tail -n 3; } | tr '\\n' ' ')\"; fi\n"
    );
    let plan = module
        .plan(&Probe::ok("would=tenacity-8.2.3 uvloop-0.19.0\n"))
        .unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [format!("{INSTALL} -r /opt/app/requirements.txt\n")]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("install: tenacity-8.2.3 uvloop-0.19.0\n")
    );
    assert!(!module.plan(&Probe::ok("")).unwrap().changed);
    let err = module
        .plan(&Probe::ok("pip_error=ERROR: No matching distribution\n"))
        .unwrap_err();
    assert_eq!(err.to_string(), "pip: ERROR: No matching distribution");
    let latest = pip(json!({"name": "tenacity", "state": "latest"}));
    assert!(
        latest
            .probe()
            .unwrap()
            .contains("pip=pip3\nset -- install --no-input --dry-run -U -- tenacity\n")
    );
}

#[test]
fn the_dry_run_gets_every_word_as_it_is() {
    // pip3 says what it got, as a pip that would install it.
    let stubs = "pip3() { echo \"Would install $*\"; }\n";
    let module = pip(json!({
        "name": ["-e", "pkg @ https://x/$(id).whl"],
        "state": "latest",
        "extra_args": "--index-url 'https://a b/'",
    }));
    let out = run(stubs, &module.probe().unwrap(), b"");
    assert_eq!(
        out.stdout,
        "would=install --no-input --dry-run -U --index-url https://a b/ -- -e pkg @ https://x/$(id).whl\n"
    );
    let plan = module.plan(&Probe::ok("would=x\n")).unwrap();
    assert_eq!(
        run_step(&argv_stubs(&["pip3"]), &plan.steps[0]).stdout,
        "pip3 [install] [--no-input] [-U] [--index-url] [https://a b/] [--] [-e] [pkg @ https://x/$(id).whl]\n"
    );
}

#[test]
fn rejects_bad_params() {
    let err = build(
        json!({"name": "x", "virtualenv_cmd": "virtualenv"}),
        &NoFiles,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown field `virtualenv_cmd`"),
        "{err}"
    );
    assert!(build(json!({}), &NoFiles).is_err());
    assert!(build(json!({"name": "x", "requirements": "r.txt"}), &NoFiles).is_err());
    assert!(
        build(
            json!({"requirements": "r.txt", "state": "absent"}),
            &NoFiles
        )
        .is_err()
    );
    assert!(
        build(
            json!({"name": "x", "virtualenv": "/v", "executable": "pip3"}),
            &NoFiles
        )
        .is_err()
    );
    assert!(build(json!({"name": "x", "extra_args": "'open"}), &NoFiles).is_err());
    assert!(build(json!({"name": "[x]"}), &NoFiles).is_err());
    assert!(build(json!({"name": "x", "virtualenv": "-p"}), &NoFiles).is_err());
}
