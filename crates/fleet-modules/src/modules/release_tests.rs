//! Unit tests of `release`: probe parsing, deploy plans and their scripts,
//! from fabricated probe output.

use std::io::Write;

use super::*;
use crate::modules::archive::tests::sample_tar;
use crate::modules::content_file::sha256_hex;
use crate::{Controller, Step};
use serde_json::json;

/// Serves two artifacts and reports a fixed operator.
pub(super) struct Artifacts;

pub(super) fn gzipped(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

impl Controller for Artifacts {
    fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
        match src {
            "build/app-1.0.tar" => Ok(sample_tar()),
            "build/app-1.1.tar.gz" => Ok(gzipped(&sample_tar())),
            "build/notes.txt" => Ok(b"not a tarball".to_vec()),
            _ => Err(ModuleError::ControllerFile {
                path: src.to_string(),
                reason: "not found".into(),
            }),
        }
    }
    fn render_template(&self, src: &str) -> Result<String, ModuleError> {
        Ok(src.to_string())
    }
    fn operator(&self) -> String {
        "alice@ctl".into()
    }
}

pub(super) fn module(params: Value) -> Box<dyn Module> {
    build(params, &Artifacts).unwrap()
}

pub(super) fn deploy(extra: Value) -> Box<dyn Module> {
    let mut params = json!({"path": "/opt/app", "artifact": "build/app-1.1.tar.gz"});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    module(params)
}

pub(super) fn sha_of_v11() -> String {
    sha256_hex(&gzipped(&sample_tar()))
}

/// Probe output: the time, `current` (a link target) and release dirs.
pub(super) fn probe(
    now: &str,
    current: Option<&str>,
    sha: Option<&str>,
    releases: &[&str],
) -> Probe {
    let mut out = format!("now={now}\n");
    if let Some(current) = current {
        out.push_str(&format!("current=releases/{current}\n"));
    }
    if let Some(sha) = sha {
        out.push_str(&format!(
            "current_sha256={sha}\ncurrent_artifact=app-1.0.tar\n"
        ));
    }
    for release in releases {
        out.push_str(&format!("release={release}\n"));
    }
    Probe::ok(&out)
}

pub(super) fn scripts(plan: &Plan) -> Vec<&str> {
    plan.steps
        .iter()
        .filter_map(|step| match step {
            Step::Run { script, .. } => Some(script.as_str()),
            _ => None,
        })
        .collect()
}

/// The phase a script starts, from its marker line.
pub(super) fn phase_started(script: &str) -> Option<&str> {
    script
        .lines()
        .next()?
        .strip_prefix("printf '%s\\n' 'fleet-release: ")?
        .strip_suffix("' >&2")
}

pub(super) fn position(plan: &Plan, needle: &str) -> usize {
    let all: String = scripts(plan).join("\n");
    all.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {all}"))
}

#[test]
fn release_names_order_by_time_then_suffix() {
    assert_eq!(release_key("20260301_120000"), Some(("20260301_120000", 1)));
    assert_eq!(
        release_key("20260301_120000_10"),
        Some(("20260301_120000", 10))
    );
    for bad in [
        "2026031_120000",
        "20260301-120000",
        "20260301_120000_1",
        "20260301_120000_02",
        "20260301_120000_x",
        "current",
        "",
    ] {
        assert_eq!(release_key(bad), None, "{bad}");
    }
}

#[test]
fn probe_reads_time_current_marker_and_release_dirs() {
    let script = deploy(json!({})).probe().unwrap();
    assert!(script.starts_with("p=/opt/app\n"), "{script}");
    assert!(script.contains("date -u +%Y%m%d_%H%M%S"), "{script}");
    assert!(script.contains("readlink -- \"$p/current\""), "{script}");
    assert!(script.contains("marker_file=.fleet-release\n"), "{script}");
    assert!(script.contains("\"$p/current/$marker_file\""), "{script}");
    assert!(script.contains("for d in \"$p\"/releases/*;"), "{script}");
    assert!(!script.contains("releases.log"), "{script}");
    let info = module(json!({"path": "/opt/my app/", "state": "info"}))
        .probe()
        .unwrap();
    assert!(info.starts_with("p='/opt/my app'\n"), "{info}");
    assert!(
        info.contains("log='/opt/my app/releases.log'\nlog_lines=10\n"),
        "{info}"
    );
    assert!(
        info.contains("tail -n \"$log_lines\" -- \"$log\" | base64 -w0"),
        "{info}"
    );
}

#[test]
fn probe_output_is_parsed_and_sorted() {
    let out = "now=20260301_120005\ncurrent=/opt/app/releases/20260301_120000_2/\n\
               current_sha256=abc\ncurrent_artifact=app.tar.gz\n\
               release=20260301_120000_10\nrelease=20260301_120000_2\nrelease=20260301_120000\n\
               release=notes\nrelease=20260228_090000\n";
    let facts = Facts::parse(&Probe::ok(out)).unwrap();
    assert_eq!(facts.now, "20260301_120005");
    assert_eq!(facts.current.as_deref(), Some("20260301_120000_2"));
    assert_eq!(facts.current_sha256.as_deref(), Some("abc"));
    assert_eq!(facts.current_artifact.as_deref(), Some("app.tar.gz"));
    assert_eq!(
        facts.releases,
        [
            "20260228_090000",
            "20260301_120000",
            "20260301_120000_2",
            "20260301_120000_10"
        ]
    );
    assert_eq!(
        facts.older_than("20260301_120000_2"),
        Some("20260301_120000")
    );
    assert_eq!(facts.older_than("20260228_090000"), None);

    let err = Facts::parse(&Probe::ok("release=20260301_120000\n")).unwrap_err();
    assert!(err.to_string().contains("no host time"), "{err}");
    let failed = Probe {
        rc: 2,
        stdout: String::new(),
        stderr: "Permission denied\n".into(),
    };
    assert_eq!(
        Facts::parse(&failed).unwrap_err().to_string(),
        "unexpected probe output: Permission denied"
    );
}

#[test]
fn a_second_deploy_in_the_same_second_gets_a_suffix() {
    let name = |releases: &[&str]| {
        Facts::parse(&probe("20260301_120000", None, None, releases))
            .unwrap()
            .new_name()
    };
    assert_eq!(name(&[]), "20260301_120000");
    assert_eq!(name(&["20260301_120000"]), "20260301_120000_2");
    assert_eq!(
        name(&["20260301_120000", "20260301_120000_2"]),
        "20260301_120000_3"
    );
    // A host clock behind the newest release still names a newer one.
    assert_eq!(name(&["20260301_130000"]), "20260301_130000_2");
    assert_eq!(
        name(&["20260301_120000_3", "20260301_130000_2"]),
        "20260301_130000_3"
    );
    assert_eq!(name(&["20260301_110000"]), "20260301_120000");
    let plan = deploy(json!({}))
        .plan(&probe("20260301_120000", None, None, &["20260301_120000"]))
        .unwrap();
    assert_eq!(plan.data["release"], json!("20260301_120000_2"));
}

#[test]
fn the_same_artifact_as_current_is_unchanged() {
    let sha = sha_of_v11();
    let releases = ["20260301_110000", "20260301_120000"];
    let plan = deploy(json!({}))
        .plan(&probe(
            "20260302_080000",
            Some("20260301_120000"),
            Some(&sha),
            &releases,
        ))
        .unwrap();
    assert!(!plan.changed);
    assert!(plan.steps.is_empty());
    assert_eq!(
        Value::Object(plan.data),
        json!({
            "release": "20260301_120000",
            "previous": "20260301_110000",
            "releases": releases,
            "artifact_sha256": sha,
        })
    );
}

#[test]
fn a_new_artifact_is_deployed_in_phases() {
    let plan =
        deploy(json!({"owner": "app", "group": "app", "restart": ["app-api", "app-worker"]}))
            .plan(&probe(
                "20260302_080000",
                Some("20260301_120000"),
                Some("0000"),
                &["20260301_120000"],
            ))
            .unwrap();
    assert!(plan.changed);
    assert_eq!(
        plan.diff.as_deref(),
        Some("current: 20260301_120000 -> 20260302_080000 (app-1.1.tar.gz)\n")
    );
    assert_eq!(
        Value::Object(plan.data.clone()),
        json!({
            "release": "20260302_080000",
            "previous": "20260301_120000",
            "releases": ["20260301_120000", "20260302_080000"],
            "artifact_sha256": sha_of_v11(),
        })
    );
    // lock, prepare, upload, then scripts only; the lock is released after.
    // (What the scripts do: release_run_tests.rs runs them.)
    assert_eq!(
        plan.steps[0].script_text().and_then(phase_started),
        Some("lock")
    );
    assert_eq!(
        plan.steps[1].script_text().and_then(phase_started),
        Some("prepare")
    );
    assert_eq!(
        plan.steps[2],
        Step::Upload {
            dest: "/opt/app/releases/.20260302_080000.tar.gz".into(),
            contents: gzipped(&sample_tar()),
            mode: 0o600,
            owner: None,
        }
    );
    assert!(
        plan.steps[3..]
            .iter()
            .all(|step| matches!(step, Step::Run { stdin: None, .. }))
    );
    assert!(
        matches!(plan.finally.as_slice(), [step] if step.script_text().and_then(phase_started) == Some("unlock"))
    );
    let phases: Vec<&str> = scripts(&plan)
        .into_iter()
        .filter_map(phase_started)
        .collect();
    assert_eq!(
        phases,
        [
            "lock", "prepare", "unpack", "link", "pip", "switch", "restart", "health"
        ]
    );
    let all = scripts(&plan).join("\n");
    assert!(all.contains("partial=/opt/app/releases/.20260302_080000.partial\n"));
    assert!(all.contains(
        "tar -xz --no-same-owner -f /opt/app/releases/.20260302_080000.tar.gz \
         -C /opt/app/releases/.20260302_080000.partial"
    ));
    assert!(all.contains("chown -R app:app -- /opt/app/releases/.20260302_080000.partial"));
}

#[test]
fn the_partial_dir_is_renamed_then_current_switched_by_rename() {
    let plan = deploy(json!({}))
        .plan(&probe("20260302_080000", None, None, &[]))
        .unwrap();
    let rename = position(&plan, r#"mv -T -- "$partial" "$p/releases/$name""#);
    let link = position(&plan, r#"ln -s -- "releases/$name" "$tmp""#);
    let switch = position(&plan, r#"mv -T -- "$tmp" "$p/current""#);
    assert!(rename < link && link < switch);
    assert!(position(&plan, "fleet-release: pip") < rename);
    assert_eq!(
        plan.diff.as_deref(),
        Some("current: none -> 20260302_080000 (app-1.1.tar.gz)\n")
    );
    assert_eq!(plan.data["previous"], Value::Null);
}

#[test]
fn prune_keeps_the_newest_and_never_current_or_previous() {
    let releases: Vec<String> = ["a1", "a2", "a3", "a4", "a5"].map(String::from).to_vec();
    assert_eq!(
        prune(&releases, 2, &[Some("a5"), Some("a4")]),
        ["a1", "a2", "a3"]
    );
    assert_eq!(prune(&releases, 2, &[Some("a5"), Some("a1")]), ["a2", "a3"]);
    assert_eq!(
        prune(&releases, 1, &[Some("a5"), Some("a2")]),
        ["a1", "a3", "a4"]
    );
    assert!(prune(&releases, 5, &[None]).is_empty());
    assert!(prune(&releases, 9, &[None]).is_empty());

    // After a rollback, current is old: it survives the prune of a deploy.
    let existing = [
        "20260101_000000",
        "20260102_000000",
        "20260103_000000",
        "20260104_000000",
    ];
    let plan = deploy(json!({"keep_releases": 2}))
        .plan(&probe(
            "20260105_000000",
            Some("20260101_000000"),
            None,
            &existing,
        ))
        .unwrap();
    assert_eq!(
        plan.data["releases"],
        json!(["20260101_000000", "20260104_000000", "20260105_000000"])
    );
    let prune_step = scripts(&plan).last().unwrap().to_string();
    assert_eq!(
        prune_step,
        "printf '%s\\n' 'fleet-release: prune' >&2\n\
         rm -rf -- /opt/app/releases/20260102_000000 /opt/app/releases/20260103_000000 && \
         printf '%s\\n' 'removed: 20260102_000000 20260103_000000'\n"
    );
    assert!(
        plan.diff
            .as_deref()
            .unwrap()
            .ends_with("remove: releases/20260102_000000\nremove: releases/20260103_000000\n")
    );
    assert!(position(&plan, "fleet-release: health") < position(&plan, "fleet-release: prune"));
}

#[test]
fn every_step_is_bounded_by_a_default_timeout() {
    use std::time::Duration;
    // 900 s of work, plus 30 tries of (1 s delay + 2 URLs × 5 s).
    assert_eq!(
        deploy(json!({})).default_timeout(),
        Some(Duration::from_secs(900 + 30 * 11))
    );
    let waiting = deploy(json!({"lock_wait": 60, "health_urls": []}));
    assert_eq!(waiting.default_timeout(), Some(Duration::from_secs(960)));
}
