//! Unit tests of `release`: rollback, info, failure messages and params.

use super::tests::{Artifacts, deploy, module, phase_started, position, probe, scripts};
use super::*;
use serde_json::json;

#[test]
fn rollback_targets_the_previous_release_or_to() {
    let releases = ["20260301_100000", "20260301_110000", "20260301_120000"];
    let current = probe("20260302_080000", Some("20260301_120000"), None, &releases);
    let plan = module(json!({"path": "/opt/app", "state": "rollback", "restart": "app-api"}))
        .plan(&current)
        .unwrap();
    assert!(plan.changed);
    assert_eq!(
        plan.diff.as_deref(),
        Some("current: 20260301_120000 -> 20260301_110000\n")
    );
    assert_eq!(
        Value::Object(plan.data.clone()),
        json!({"previous": "20260301_120000", "release": "20260301_110000"})
    );
    // What the switch does: release_run_tests.rs runs a rollback.
    let phases: Vec<&str> = scripts(&plan)
        .into_iter()
        .filter_map(phase_started)
        .collect();
    assert_eq!(phases, ["lock", "switch", "restart", "health"]);
    let all = scripts(&plan)[1..].join("\n");
    assert!(all.contains("name=20260301_110000\n"), "{all}");
    assert!(
        all.contains(r#"if [ ! -d "$p/releases/$name" ]; then"#),
        "{all}"
    );
    assert_eq!(plan.finally.len(), 1);
    assert!(all.contains("unit=app-api\n") && all.contains(r#"journalctl -u "$unit""#));
    assert!(!all.contains("rm -rf"), "{all}");

    let to = module(json!({"path": "/opt/app", "state": "rollback", "to": "20260301_100000"}))
        .plan(&current)
        .unwrap();
    assert_eq!(to.data["release"], json!("20260301_100000"));

    let same = module(json!({"path": "/opt/app", "state": "rollback", "to": "20260301_120000"}))
        .plan(&current)
        .unwrap();
    assert!(!same.changed && same.steps.is_empty());
    assert_eq!(same.data["previous"], json!("20260301_110000"));
}

#[test]
fn rollback_without_a_target_fails_clearly() {
    let releases = ["20260301_110000", "20260301_120000"];
    let missing = module(json!({"path": "/opt/app", "state": "rollback", "to": "20250101_000000"}))
        .plan(&probe(
            "20260302_080000",
            Some("20260301_120000"),
            None,
            &releases,
        ))
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        "release 20250101_000000 does not exist in /opt/app/releases \
         (releases: 20260301_110000, 20260301_120000)"
    );
    let oldest = module(json!({"path": "/opt/app", "state": "rollback"}))
        .plan(&probe(
            "20260302_080000",
            Some("20260301_110000"),
            None,
            &releases,
        ))
        .unwrap_err();
    assert_eq!(
        oldest.to_string(),
        "no release older than 20260301_110000 to roll back to \
         (releases: 20260301_110000, 20260301_120000)"
    );
    let nothing = module(json!({"path": "/opt/app", "state": "rollback"}))
        .plan(&probe("20260302_080000", None, None, &[]))
        .unwrap_err();
    assert_eq!(
        nothing.to_string(),
        "no current release in /opt/app to roll back from"
    );
}

#[test]
fn info_reports_releases_and_the_log() {
    let log = "time=2026-03-01T11:00:00Z\tby=alice@ctl\taction=deploy\trelease=20260301_110000\tartifact=app-1.0.tar\tsha256=aa\tprevious=\n\
               time=2026-03-01T12:00:00Z\tby=bob@ctl\taction=deploy\trelease=20260301_120000\tartifact=app-1.1.tar.gz\tsha256=bb\tprevious=20260301_110000\n";
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, log);
    let mut out = probe(
        "20260302_080000",
        Some("20260301_120000"),
        Some("bb"),
        &["20260301_110000", "20260301_120000", "20260301_100000"],
    );
    out.stdout.push_str(&format!("log={encoded}\n"));
    let plan = module(json!({"path": "/opt/app", "state": "info"}))
        .plan(&out)
        .unwrap();
    assert!(!plan.changed && plan.steps.is_empty());
    assert_eq!(
        plan.msg.as_deref(),
        Some("current 20260301_120000 (app-1.0.tar), previous 20260301_110000; 3 releases")
    );
    assert_eq!(plan.data["current"], json!("20260301_120000"));
    assert_eq!(plan.data["previous"], json!("20260301_110000"));
    assert_eq!(
        plan.data["releases"],
        json!(["20260301_100000", "20260301_110000", "20260301_120000"])
    );
    assert_eq!(plan.data["log"][0]["previous"], Value::Null);
    assert_eq!(
        plan.data["log"][1],
        json!({
            "time": "2026-03-01T12:00:00Z", "by": "bob@ctl", "action": "deploy",
            "release": "20260301_120000", "artifact": "app-1.1.tar.gz", "sha256": "bb",
            "previous": "20260301_110000",
        })
    );
    let empty = module(json!({"path": "/opt/app", "state": "info"}))
        .plan(&probe("20260302_080000", None, None, &[]))
        .unwrap();
    assert_eq!(empty.msg.as_deref(), Some("no current release; 0 releases"));
    assert_eq!(empty.data["log"], json!([]));
}

#[test]
fn outcome_names_the_failed_phase() {
    let module = deploy(json!({}));
    let ok = StepOutput {
        rc: 0,
        stdout: String::new(),
        stderr: "fleet-release: prepare\n".into(),
    };
    assert_eq!(module.outcome(std::slice::from_ref(&ok)), Ok(()));
    let failed = StepOutput {
        rc: 1,
        stdout: "Collecting x\n".into(),
        stderr: "fleet-release: unpack\nfleet-release: link\nfleet-release: pip\n\
                 ERROR: No matching distribution found for nope\n\
                 fleet-release: release 20260302_080000 not deployed; current is still none\n"
            .into(),
    };
    let err = module
        .outcome(&[ok, StepOutput::default(), failed])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "release: pip failed (rc=1):\nERROR: No matching distribution found for nope\n\
         fleet-release: release 20260302_080000 not deployed; current is still none"
    );
}

#[test]
fn params_are_checked() {
    let err = build(
        json!({"path": "/opt/app", "state": "info", "keep_release": 3}),
        &Artifacts,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown field `keep_release`"),
        "{err}"
    );
    let err = build(json!({"path": "/opt/app"}), &Artifacts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "release: artifact is required with state present"
    );
    let err = build(
        json!({"path": "/opt/app", "artifact": "build/nope.tar.gz"}),
        &Artifacts,
    )
    .unwrap_err();
    assert!(matches!(err, ModuleError::ControllerFile { .. }), "{err}");
    let err = build(
        json!({"path": "/opt/app", "artifact": "build/notes.txt"}),
        &Artifacts,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("build/notes.txt: "), "{err}");
    for bad in [
        json!({"path": "opt/app", "state": "info"}),
        json!({"path": "/", "state": "info"}),
        json!({"path": "/opt/app", "state": "info", "shared": ["../etc"]}),
        json!({"path": "/opt/app", "state": "info", "shared": ["/etc"]}),
        json!({"path": "/opt/app", "state": "info", "requirements": "/r.txt"}),
        json!({"path": "/opt/app", "state": "info", "venv": "venv"}),
        json!({"path": "/opt/app", "state": "info", "owner": "a:b"}),
        json!({"path": "/opt/app", "state": "info", "owner": "x;rm"}),
        json!({"path": "/opt/app", "state": "info", "group": "a b"}),
        json!({"path": "/opt/app", "state": "info", "restart": ["-x"]}),
        json!({"path": "/opt/app", "state": "info", "keep_releases": 0}),
        json!({"path": "/opt/app", "state": "info", "health_retries": 0}),
        json!({"path": "/opt/app", "state": "rollback", "to": "../x"}),
        json!({"path": "/opt/app", "state": "redeploy"}),
    ] {
        assert!(build(bad.clone(), &Artifacts).is_err(), "{bad}");
    }
    // Validation reads no controller files.
    assert_eq!(
        crate::validate(
            "release",
            &json!({"path": "/opt/app", "artifact": "x.tar.gz"})
        ),
        Ok(())
    );
    let err =
        crate::validate("release", &json!({"path": "/opt/app", "artifcat": "x"})).unwrap_err();
    assert_eq!(err.to_string(), "`release` has no parameter `artifcat`");
}

#[test]
fn restart_and_shared_accept_a_string() {
    let plan = deploy(json!({"restart": "app-api, app-worker", "shared": "logs"}))
        .plan(&probe("20260302_080000", None, None, &[]))
        .unwrap();
    let all = scripts(&plan).join("\n");
    assert!(all.contains("unit=app-worker\n"), "{all}");
    assert!(!all.contains("uploads"), "{all}");
}

#[test]
fn counts_may_be_strings() {
    let plan = deploy(json!({"health_retries": "7", "keep_releases": "1"}))
        .plan(&probe(
            "20260302_080000",
            None,
            None,
            &["20260301_100000", "20260301_110000"],
        ))
        .unwrap();
    assert!(position(&plan, "retries=7\n") > 0);
    assert_eq!(plan.data["releases"], json!(["20260302_080000"]));
    let err = build(
        json!({"path": "/opt/app", "state": "info", "health_delay": "soon"}),
        &Artifacts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("expected a whole number"), "{err}");
}
