use super::*;
use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
use crate::modules::tests::NoFiles;
use base64::Engine;
use serde_json::json;

fn hostname(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn systemd_probe(transient: &str, stat: &str) -> Probe {
    Probe::ok(&format!(
        "systemd=1\nhostnamectl=1\ntransient_rc=0\ntransient={}\nstatic_rc=0\nstatic={}\nfile={}\nfqdn=old.lab\n",
        b64(transient),
        b64(stat),
        b64(&format!("{stat}\n"))
    ))
}

#[test]
fn systemd_sets_the_static_name_then_the_transient_one() {
    let module = hostname(json!({"name": "web01.example.org"}));
    let plan = module.plan(&systemd_probe("old", "old")).unwrap();
    assert!(plan.changed);
    assert_eq!(
        scripts(&plan.steps[..2]),
        [
            "hostnamectl --pretty --static set-hostname -- web01.example.org\n",
            "hostnamectl --transient set-hostname -- web01.example.org\n",
        ]
    );
    assert_eq!(plan.steps[2].script_text(), Some(FQDN));
    let diff = plan.diff.unwrap();
    assert!(
        diff.contains("-hostname = old\n+hostname = web01.example.org\n"),
        "{diff}"
    );
    assert_eq!(plan.data["name"], json!("web01.example.org"));
    assert_eq!(
        plan.data["ansible_facts"]["ansible_hostname"],
        json!("web01")
    );
    let applied = module
        .applied(&[StepOutput {
            rc: 0,
            stdout: "fqdn=web01.example.org\n".into(),
            stderr: String::new(),
        }])
        .unwrap();
    assert!(applied.changed);
    assert_eq!(
        applied.data["ansible_facts"],
        json!({"ansible_hostname": "web01", "ansible_nodename": "web01.example.org",
               "ansible_fqdn": "web01.example.org", "ansible_domain": "example.org"})
    );
}

#[test]
fn only_the_name_that_differs_is_set() {
    let module = hostname(json!({"name": "web01"}));
    let plan = module.plan(&systemd_probe("other", "web01")).unwrap();
    assert_eq!(
        scripts(&plan.steps[..1]),
        ["hostnamectl --transient set-hostname -- web01\n"]
    );
    assert_eq!(plan.steps.len(), 2);
    // The name before is the current one when that one differs.
    assert!(plan.diff.unwrap().contains("-hostname = other\n"));
    let plan = module.plan(&systemd_probe("web01", "web01")).unwrap();
    assert!(!plan.changed);
    assert!(plan.steps.is_empty());
    assert_eq!(plan.data["ansible_facts"]["ansible_fqdn"], json!("old.lab"));
}

#[test]
fn without_systemd_the_file_holds_the_name() {
    let module = hostname(json!({"name": "web01"}));
    let probe = Probe::ok(&format!("file={}\nfqdn=old\n", b64("old\n")));
    let plan = module.plan(&probe).unwrap();
    assert_eq!(
        plan.steps[0],
        Step::Upload {
            dest: HOSTNAME_FILE.into(),
            contents: b"web01\n".to_vec(),
            mode: 0o644,
            owner: None
        }
    );
    let probe = Probe::ok(&format!("file={}\n", b64(" web01 \n")));
    assert!(!module.plan(&probe).unwrap().changed);
    // No file: the name was ''.
    let plan = module.plan(&Probe::ok("fqdn=x\n")).unwrap();
    assert!(plan.diff.unwrap().contains("-hostname = \n"));
}

#[test]
fn use_systemd_needs_hostnamectl_and_a_short_name() {
    let module = hostname(json!({"name": "a", "use": "debian"}));
    let err = module.plan(&Probe::ok("file=\n")).unwrap_err();
    assert!(err.to_string().contains("hostnamectl"), "{err}");
    let long = "x".repeat(65);
    let module = hostname(json!({"name": long, "use": "systemd"}));
    let err = module.plan(&systemd_probe("old", "old")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "name cannot be longer than 64 characters on systemd servers, try a shorter name"
    );
    let probe = Probe::ok(&format!(
        "hostnamectl=1\ntransient_rc=1\ntransient={}\n",
        b64("Failed to connect to bus")
    ));
    let err = module.plan(&probe).unwrap_err();
    assert!(err.to_string().contains("rc=1"), "{err}");
}

#[test]
fn the_name_stays_one_operand() {
    let module = hostname(json!({"name": "-x $(id)"}));
    let plan = module.plan(&systemd_probe("old", "old")).unwrap();
    let out = run_step(&argv_stubs(&["hostnamectl"]), &plan.steps[0]);
    assert_eq!(
        out.stdout,
        "hostnamectl [--pretty] [--static] [set-hostname] [--] [-x $(id)]\n"
    );
    // The probe runs as it is written.
    let out = run(&argv_stubs(&["hostnamectl"]), &module.probe().unwrap(), b"");
    assert!(out.stdout.contains("fqdn="), "{out:?}");
}

#[test]
fn rejects_bad_params() {
    for (params, message) in [
        (json!({"name": "a", "use": "redhat"}), "not supported"),
        (json!({"name": "a", "use": "nope"}), "must be one of"),
        (json!({"name": ""}), "must not be empty"),
        (json!({"name": "a\nb"}), "one line"),
        (json!({"name": "a", "hostname": "b"}), "unknown field"),
        (json!({"use": "systemd"}), "missing field `name`"),
    ] {
        let err = build(params, &NoFiles).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
    assert!(build(json!({"name": 42}), &NoFiles).is_ok());
}
