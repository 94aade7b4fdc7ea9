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
    assert!(script.contains("\"$p/current/.fleet-release\""), "{script}");
    assert!(script.contains("for d in \"$p\"/releases/*;"), "{script}");
    assert!(!script.contains("releases.log"), "{script}");
    let info = module(json!({"path": "/opt/my app/", "state": "info"}))
        .probe()
        .unwrap();
    assert!(info.starts_with("p='/opt/my app'\n"), "{info}");
    assert!(
        info.contains("tail -n 10 -- '/opt/my app/releases.log' | base64 -w0"),
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
    assert!(
        matches!(&plan.steps[0], Step::Run { script, .. } if script.starts_with("echo 'fleet-release: lock' >&2"))
    );
    assert!(
        matches!(&plan.steps[1], Step::Run { script, .. } if script.starts_with("echo 'fleet-release: prepare' >&2"))
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
        matches!(plan.finally.as_slice(), [Step::Run { script, .. }] if script.starts_with("echo 'fleet-release: unlock' >&2"))
    );
    let phases: Vec<&str> = scripts(&plan)
        .iter()
        .filter_map(|script| script.lines().next())
        .filter_map(|line| line.split(" >&2").next())
        .collect();
    assert_eq!(
        phases,
        [
            "echo 'fleet-release: lock'",
            "echo 'fleet-release: prepare'",
            "echo 'fleet-release: unpack'",
            "echo 'fleet-release: link'",
            "echo 'fleet-release: pip'",
            "echo 'fleet-release: switch'",
            "echo 'fleet-release: restart'",
            "echo 'fleet-release: health'",
        ]
    );
    let all = scripts(&plan).join("\n");
    assert!(all.contains("mkdir -- /opt/app/releases/.20260302_080000.partial"));
    assert!(all.contains(
        "tar -xz --no-same-owner -f /opt/app/releases/.20260302_080000.tar.gz \
         -C /opt/app/releases/.20260302_080000.partial"
    ));
    assert!(all.contains(&format!(
        "printf 'sha256=%s\\nartifact=%s\\nby=%s\\npid=%s\\n' {} app-1.1.tar.gz alice@ctl {} > \
         /opt/app/releases/.20260302_080000.partial/.fleet-release",
        sha_of_v11(),
        std::process::id()
    )));
    assert!(all.contains("chown -R app:app -- /opt/app/releases/.20260302_080000.partial"));
}

#[test]
fn the_partial_dir_is_renamed_then_current_switched_by_rename() {
    let plan = deploy(json!({}))
        .plan(&probe("20260302_080000", None, None, &[]))
        .unwrap();
    let rename = position(
        &plan,
        "mv -T -- /opt/app/releases/.20260302_080000.partial /opt/app/releases/20260302_080000",
    );
    let link = position(
        &plan,
        "ln -s -- releases/20260302_080000 /opt/app/.current.20260302_080000.tmp",
    );
    let switch = position(
        &plan,
        "mv -T -- /opt/app/.current.20260302_080000.tmp /opt/app/current",
    );
    assert!(rename < link && link < switch);
    assert!(position(&plan, "fleet-release: pip") < rename);
    assert_eq!(
        plan.diff.as_deref(),
        Some("current: none -> 20260302_080000 (app-1.1.tar.gz)\n")
    );
    assert_eq!(plan.data["previous"], Value::Null);
}

#[test]
fn stale_partial_dirs_are_cleaned_first_and_failures_remove_the_new_one() {
    let plan = deploy(json!({"migrate": "alembic upgrade head"}))
        .plan(&probe(
            "20260302_080000",
            Some("20260301_120000"),
            None,
            &["20260301_120000"],
        ))
        .unwrap();
    let prepare = scripts(&plan)[1];
    assert!(
        prepare.contains(
            "find /opt/app/releases -mindepth 1 -maxdepth 1 -name '.*' \\( -name '*.partial' -o -name '*.tar' -o -name '*.tar.gz' \\) -exec rm -rf -- {} +"
        ),
        "{prepare}"
    );
    assert!(prepare.contains("-name '.current.*.tmp'"), "{prepare}");
    let cleanup = "|| { rc=$?; rm -rf -- /opt/app/releases/.20260302_080000.partial; \
                   echo 'fleet-release: release 20260302_080000 not deployed; current is still 20260301_120000' >&2; exit $rc; }";
    for phase in ["unpack", "link", "pip", "migrate"] {
        let script = scripts(&plan)
            .into_iter()
            .find(|script| script.starts_with(&format!("echo 'fleet-release: {phase}'")))
            .unwrap();
        assert!(script.ends_with(cleanup), "{phase}: {script}");
    }
}

#[test]
fn shared_paths_and_env_are_linked() {
    let plan = deploy(json!({"shared": ["logs", "public/uploads"], "owner": "app"}))
        .plan(&probe("20260302_080000", None, None, &[]))
        .unwrap();
    let link = scripts(&plan)
        .into_iter()
        .find(|script| script.starts_with("echo 'fleet-release: link'"))
        .unwrap();
    let partial = "/opt/app/releases/.20260302_080000.partial";
    for expected in [
        "if [ ! -d /opt/app/shared/logs ]; then mkdir -p -- /opt/app/shared/logs && chown app -- /opt/app/shared/logs; fi".to_string(),
        format!("rm -rf -- {partial}/logs && ln -s -- /opt/app/shared/logs {partial}/logs"),
        format!("rm -rf -- {partial}/public/uploads && mkdir -p -- {partial}/public && ln -s -- /opt/app/shared/public/uploads {partial}/public/uploads"),
        format!("rm -rf -- {partial}/.env && ln -s -- /opt/app/.env {partial}/.env"),
    ] {
        assert!(link.contains(&expected), "{expected}\nnot in\n{link}");
    }
}

#[test]
fn hooks_install_requirements_then_migrate_as_the_owner() {
    let plan = deploy(json!({
        "owner": "app",
        "venv": "/srv/venv",
        "pip_args": ["--no-index", "--find-links", "/opt/app/wheels"],
        "migrate": "alembic upgrade head",
    }))
    .plan(&probe("20260302_080000", None, None, &[]))
    .unwrap();
    let partial = "/opt/app/releases/.20260302_080000.partial";
    let pip = position(
        &plan,
        &format!(
            "if [ -f {partial}/requirements.txt ]; then if [ -x /srv/venv/bin/pip ]; then cd {partial} && \
             /srv/venv/bin/pip install -r requirements.txt --no-index --find-links /opt/app/wheels;"
        ),
    );
    let migrate = position(
        &plan,
        &format!(
            "cd {partial} && ( if [ -f ./.env ]; then set -a && . ./.env && set +a; fi && \
             PATH=/srv/venv/bin:\"$PATH\" && export PATH && runuser -u app -- sh -c \
             'PATH=/srv/venv/bin:\"$PATH\"; export PATH; alembic upgrade head' )"
        ),
    );
    assert!(pip < migrate);
    let without_owner = deploy(json!({"migrate": "make migrate"}))
        .plan(&probe("20260302_080000", None, None, &[]))
        .unwrap();
    let all = scripts(&without_owner).join("\n");
    assert!(!all.contains("runuser"), "{all}");
    assert!(all.contains("export PATH && sh -c"), "{all}");
}

#[test]
fn only_enabled_units_restart_and_health_failures_show_the_journal() {
    let plan = deploy(json!({"restart": ["app-api", "app-worker"], "health_retries": 3, "health_delay": 2, "health_timeout": 4}))
        .plan(&probe("20260302_080000", Some("20260301_120000"), None, &["20260301_120000"]))
        .unwrap();
    let restart = position(
        &plan,
        "if systemctl is-enabled --quiet app-api; then systemctl restart app-api",
    );
    assert!(restart < position(&plan, "systemctl is-enabled --quiet app-worker"));
    let health = scripts(&plan)
        .into_iter()
        .find(|script| script.starts_with("echo 'fleet-release: health'"))
        .unwrap();
    for expected in [
        "for url in http://127.0.0.1:8000/health http://127.0.0.1:8000/health/ready; do",
        "curl -sS --max-time 4 -o \"$body\" -w '%{http_code}' \"$url\"",
        "if [ \"$n\" -ge 3 ]; then failed=$url; break; fi",
        "sleep 2",
        "echo 'fleet-release: current is now 20260302_080000 (previous: 20260301_120000); not switched back' >&2",
        "journalctl -u app-api -n 30 --no-pager >&2",
    ] {
        assert!(health.contains(expected), "{expected}\nnot in\n{health}");
    }
    assert!(
        position(&plan, "systemctl restart app-worker") < position(&plan, "fleet-release: health")
    );
    let quiet = deploy(json!({"health_urls": []}))
        .plan(&probe("20260302_080000", None, None, &[]))
        .unwrap();
    let all = scripts(&quiet).join("\n");
    assert!(!all.contains("curl") && !all.contains("systemctl"), "{all}");
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
        "echo 'fleet-release: prune' >&2 && rm -rf -- /opt/app/releases/20260102_000000 \
         /opt/app/releases/20260103_000000 && echo 'removed: 20260102_000000 20260103_000000'"
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
fn every_switch_is_logged() {
    let plan = deploy(json!({"log": "/var/log/app/releases.log"}))
        .plan(&probe(
            "20260302_080000",
            Some("20260301_120000"),
            None,
            &["20260301_120000"],
        ))
        .unwrap();
    let expected = format!(
        "mkdir -p -- /var/log/app && printf 'time=%s\\t%s\\tprevious=%s\\n' \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" \
         'by=alice@ctl\taction=deploy\trelease=20260302_080000\tartifact=app-1.1.tar.gz\tsha256={}' \
         \"${{prev##*/}}\" >> /var/log/app/releases.log",
        sha_of_v11()
    );
    assert!(position(&plan, "mv -T -- /opt/app/.current") < position(&plan, &expected));
    // `previous` is what `current` pointed to just before the switch.
    assert!(
        position(
            &plan,
            "prev=$(readlink -- /opt/app/current 2>/dev/null || true) && mv -T"
        ) < position(&plan, "mv -T -- /opt/app/.current")
    );
    let rollback = module(json!({"path": "/opt/app", "state": "rollback"}))
        .plan(&probe(
            "20260302_080000",
            Some("20260301_120000"),
            None,
            &["20260301_110000", "20260301_120000"],
        ))
        .unwrap();
    position(
        &rollback,
        "'by=alice@ctl\taction=rollback\trelease=20260301_110000' \"${prev##*/}\" >> /opt/app/releases.log",
    );
}

#[test]
fn paths_with_spaces_are_quoted() {
    let plan = module(json!({
        "path": "/opt/my app",
        "artifact": "build/app-1.0.tar",
        "env_file": "/etc/my app/env",
        "shared": ["log files"],
        "restart": ["app-api"],
        "health_urls": ["http://127.0.0.1:8000/health?a=1&b=2"],
    }))
    .plan(&probe("20260302_080000", None, None, &[]))
    .unwrap();
    assert!(
        matches!(&plan.steps[2], Step::Upload { dest, .. } if dest == "/opt/my app/releases/.20260302_080000.tar")
    );
    let all = scripts(&plan).join("\n");
    for expected in [
        "p='/opt/my app'\nl=\"$p/.fleet-lock\"",
        "mkdir -p -- '/opt/my app/releases' '/opt/my app/shared'",
        "tar -x --no-same-owner -f '/opt/my app/releases/.20260302_080000.tar' -C '/opt/my app/releases/.20260302_080000.partial'",
        "ln -s -- '/opt/my app/shared/log files' '/opt/my app/releases/.20260302_080000.partial'/'log files'",
        "ln -s -- '/etc/my app/env' '/opt/my app/releases/.20260302_080000.partial'/.env",
        "mv -T -- '/opt/my app/.current.20260302_080000.tmp' '/opt/my app/current'",
        ">> '/opt/my app/releases.log'",
        "for url in 'http://127.0.0.1:8000/health?a=1&b=2'; do",
    ] {
        assert!(all.contains(expected), "{expected}\nnot in\n{all}");
    }
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
