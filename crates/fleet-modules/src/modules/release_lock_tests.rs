//! Unit tests of `release`'s deploy lock: probe parsing, staleness, the
//! lock steps of a deploy and a rollback, `unlock`, and the messages.

use super::lock::{Lock, iso_time, span};
use super::tests::{Artifacts, deploy, module, phase_started, probe, scripts};
use super::*;
use crate::{Controller, Step};
use serde_json::json;

const OWNER: &str = "operator=alice@ci-runner\npid=4242\nrun=17\nplaybook=playbooks/release.yaml\n\
                     since=1795507200\nsince_iso=2026-11-24T08:00:00Z\n";
/// 2026-11-24T08:10:00Z
const NOW: u64 = 1_795_507_800;

fn encoded(text: &str) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text)
}

/// A deploy probe (current 20260301_120000) with the host's clock and,
/// when given, a held lock.
fn locked_probe(now: u64, owner: Option<&str>) -> Probe {
    let mut out = probe(
        "20261124_081000",
        Some("20260301_120000"),
        None,
        &["20260301_110000", "20260301_120000"],
    );
    out.stdout.push_str(&format!("now_epoch={now}\n"));
    if let Some(owner) = owner {
        out.stdout.push_str(&format!(
            "lock_mtime=1795507201\nlock_owner={}\n",
            encoded(owner)
        ));
    }
    out
}

fn unlock(extra: Value) -> Box<dyn Module> {
    let mut params = json!({"path": "/opt/shop", "state": "unlock"});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    module(params)
}

fn script_of(step: &Step) -> &str {
    match step {
        Step::Run { script, .. } => script.as_str(),
        other => panic!("not a script: {other:?}"),
    }
}

#[test]
fn the_probe_reads_the_lock_and_the_hosts_clock() {
    let script = deploy(json!({})).probe().unwrap();
    assert!(
        script.contains("echo \"now_epoch=$(date -u +%s)\""),
        "{script}"
    );
    assert!(script.contains("l=/opt/app/.fleet-lock\n"), "{script}");
    assert!(
        script.contains("owner_file=/opt/app/.fleet-lock/owner\n"),
        "{script}"
    );
    assert!(
        script.contains("echo \"lock_owner=$(base64 -w0 < \"$owner_file\")\""),
        "{script}"
    );
    assert!(script.ends_with("exit 0\n"), "{script}");

    let facts = Facts::parse(&locked_probe(NOW, Some(OWNER))).unwrap();
    assert_eq!(facts.now_epoch, Some(NOW));
    assert_eq!(
        facts.current_link.as_deref(),
        Some("releases/20260301_120000")
    );
    let lock = facts.lock.unwrap();
    assert_eq!(lock.operator.as_deref(), Some("alice@ci-runner"));
    assert_eq!(lock.pid, Some(4242));
    assert_eq!(lock.playbook.as_deref(), Some("playbooks/release.yaml"));
    assert_eq!(lock.since, Some(1_795_507_200));
    assert_eq!(lock.mtime, Some(1_795_507_201));
    assert_eq!(lock.text, OWNER);
    assert_eq!(
        lock.describe(),
        "alice@ci-runner (pid 4242, since 2026-11-24T08:00:00Z, playbooks/release.yaml)"
    );

    assert_eq!(Facts::parse(&locked_probe(NOW, None)).unwrap().lock, None);
    // A lock dir without an owner file: its mtime tells its age.
    let bare = Facts::parse(&locked_probe(NOW, Some("")))
        .unwrap()
        .lock
        .unwrap();
    assert_eq!(
        bare.describe(),
        "an unknown run (no owner file, since 2026-11-24T08:00:01Z)"
    );
    assert_eq!(bare.age(NOW), Some(599));
}

#[test]
fn a_lock_is_stale_when_older_than_the_ttl() {
    let lock = Lock::parse(OWNER, None);
    let since = 1_795_507_200;
    assert_eq!(lock.age(since + 3600), Some(3600));
    assert!(!lock.is_stale(since + 3600, 3600));
    assert!(lock.is_stale(since + 3601, 3600));
    assert!(lock.is_stale(since + 61, 60));
    // A host clock behind the lock's time: age 0, not stale.
    assert_eq!(lock.age(since - 10), Some(0));
    assert!(!lock.is_stale(since - 10, 1));
    // `since` wins over the mtime; a lock with neither is stale.
    assert_eq!(Lock::parse(OWNER, Some(0)).age(since), Some(0));
    assert_eq!(Lock::parse("", Some(since - 5)).age(since), Some(5));
    assert!(Lock::parse("", None).is_stale(since, 3600));
    assert_eq!(
        Lock::parse(OWNER, None).describe_with_age(Some(since + 7300), 3600),
        "alice@ci-runner (pid 4242, since 2026-11-24T08:00:00Z, playbooks/release.yaml), \
         2h01m old, stale"
    );
}

#[test]
fn a_deploy_takes_the_lock_first_and_always_releases_it() {
    let plan = deploy(json!({"lock_wait": "10"}))
        .plan(&locked_probe(NOW, None))
        .unwrap();
    let lock = scripts(&plan)[0];
    assert!(
        lock.starts_with("printf '%s\\n' 'fleet-release: lock' >&2\np=/opt/app\n"),
        "{lock}"
    );
    assert!(
        lock.contains("while ! mkdir -- \"$l\" 2>/dev/null; do"),
        "{lock}"
    );
    assert!(lock.contains("wait=10\n"), "{lock}");
    assert!(lock.contains("if [ \"$n\" -ge \"$wait\" ]; then"), "{lock}");
    assert!(lock.contains("sleep 1"), "{lock}");
    let pid = std::process::id();
    assert!(
        lock.contains(&format!("owner_lines='operator=alice@ctl\npid={pid}\nrun=")),
        "{lock}"
    );
    assert!(lock.contains("\nplaybook='\n"), "{lock}");
    assert!(
        lock.contains(
            "printf '%s\\nsince=%s\\nsince_iso=%s\\n' \"$owner_lines\" \"$1\" \"$2\" > \"$owner_file\""
        ),
        "{lock}"
    );
    // A deploy goes on after waiting, unless another run made its release.
    assert!(
        lock.ends_with(
            "name=20261124_081000\nchanged='fleet-release: release \
             20261124_081000 was made while this run waited for the deploy lock; nothing was \
             changed: run again'\nif [ -e \"$p/releases/$name\" ]; then\n  printf '%s\\n' \
             \"$changed\" >&2\n  exit 1\nfi\n"
        ),
        "{lock}"
    );
    let [release] = plan.finally.as_slice() else {
        panic!("{:?}", plan.finally)
    };
    let release = script_of(release);
    assert!(release.starts_with(
        "printf '%s\\n' 'fleet-release: unlock' >&2\nowner_file=/opt/app/.fleet-lock/owner\n"
    ));
    // Only this run's lock is removed: operator, pid and run must match.
    for line in ["operator='operator=alice@ctl'", &format!("pid='pid={pid}'")] {
        assert!(release.contains(&format!("{line}\n")), "{release}");
    }
    assert!(release.contains("run='run="), "{release}");
    for var in ["operator", "pid", "run"] {
        assert!(
            release.contains(&format!("grep -qxF -- \"${var}\" \"$owner_file\"")),
            "{release}"
        );
    }
    assert!(
        release.ends_with("then\n  rm -rf -- \"$l\"\nfi\n"),
        "{release}"
    );

    // A lock held when probing does not change the plan: the lock step
    // waits for it, or refuses.
    let held = deploy(json!({}))
        .plan(&locked_probe(NOW, Some(OWNER)))
        .unwrap();
    assert_eq!(held.steps.len(), plan.steps.len());
    assert!(scripts(&held)[0].contains("wait=0\n"));
    assert_eq!(held.finally.len(), 1);
}

#[test]
fn a_rollback_is_locked_and_no_change_takes_no_lock() {
    let rollback = module(json!({"path": "/opt/app", "state": "rollback"}))
        .plan(&locked_probe(NOW, None))
        .unwrap();
    assert_eq!(phase_started(scripts(&rollback)[0]), Some("lock"));
    // A rollback's target depends on `current`: it must not have moved.
    let lock = scripts(&rollback)[0];
    assert!(lock.contains("link=releases/20260301_120000\n"), "{lock}");
    assert!(
        lock.contains("if [ \"$(readlink -- \"$p/current\" 2>/dev/null)\" != \"$link\" ]"),
        "{lock}"
    );
    assert_eq!(phase_started(scripts(&rollback)[1]), Some("switch"));
    assert_eq!(rollback.finally.len(), 1);

    let same = module(json!({"path": "/opt/app", "state": "rollback", "to": "20260301_120000"}))
        .plan(&locked_probe(NOW, Some(OWNER)))
        .unwrap();
    assert!(!same.changed && same.steps.is_empty() && same.finally.is_empty());
    let info = module(json!({"path": "/opt/app", "state": "info"}))
        .plan(&locked_probe(NOW, Some(OWNER)))
        .unwrap();
    assert!(info.steps.is_empty() && info.finally.is_empty());
    assert!(
        info.msg.as_deref().unwrap().ends_with(
            "; deploy lock held by alice@ci-runner (pid 4242, since 2026-11-24T08:00:00Z, \
             playbooks/release.yaml), 10m00s old"
        ),
        "{:?}",
        info.msg
    );
    assert_eq!(
        info.data["lock"],
        json!({"operator": "alice@ci-runner", "pid": 4242, "playbook": "playbooks/release.yaml",
               "since": "2026-11-24T08:00:00Z", "age": 600, "stale": false})
    );
}

/// What the lock step prints when it gives up.
fn refused(now: u64, waited: u32, owner: &str) -> StepOutput {
    let mut stderr = format!(
        "fleet-release: lock\nfleet-lock: now={now}\nfleet-lock: mtime=1795507201\nfleet-lock: waited={waited}\n"
    );
    for line in owner.lines() {
        stderr.push_str(&format!("fleet-lock: owner: {line}\n"));
    }
    StepOutput {
        rc: 1,
        stdout: String::new(),
        stderr,
    }
}

#[test]
fn a_held_lock_fails_the_task_naming_its_owner() {
    let module = module(json!({"path": "/opt/shop", "state": "rollback"}));
    let err = module
        .outcome(&[refused(NOW, 0, OWNER), StepOutput::default()])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "deploy lock /opt/shop/.fleet-lock is held by alice@ci-runner (pid 4242, since \
         2026-11-24T08:00:00Z, playbooks/release.yaml)\n  hint: another deploy or rollback is \
         running there; wait for it with --lock-wait S"
    );
    let waited = module.outcome(&[refused(NOW, 10, OWNER)]).unwrap_err();
    assert!(
        waited
            .to_string()
            .ends_with("playbooks/release.yaml); still held after waiting 10s"),
        "{waited}"
    );
    // Two hours later the lock is stale: still refused, with the way out.
    let stale = module
        .outcome(&[refused(NOW + 7200, 0, OWNER)])
        .unwrap_err();
    assert_eq!(
        stale.to_string(),
        "deploy lock /opt/shop/.fleet-lock is stale: held by alice@ci-runner (pid 4242, since \
         2026-11-24T08:00:00Z, playbooks/release.yaml) for 2h10m, longer than lock_ttl (3600s); \
         a stale lock is never broken silently\n  hint: if that run is gone, break the lock \
         with `fleet unlock -i INV PLAYBOOK -l HOST`, then run again"
    );
    // Any other failure of the lock step is reported as such.
    let denied = StepOutput {
        rc: 1,
        stdout: String::new(),
        stderr: "fleet-release: lock\nmkdir: Permission denied\n".into(),
    };
    assert_eq!(
        module.outcome(&[denied]).unwrap_err().to_string(),
        "release: lock failed (rc=1):\nmkdir: Permission denied"
    );
}

#[test]
fn a_failure_after_the_lock_names_its_phase_not_the_unlock() {
    let module = deploy(json!({"migrate": "false"}));
    let failed = StepOutput {
        rc: 1,
        stdout: String::new(),
        stderr: "fleet-release: lock\nfleet-release: prepare\nfleet-release: migrate\n".into(),
    };
    let released = StepOutput {
        rc: 0,
        stdout: String::new(),
        stderr: "fleet-release: unlock\n".into(),
    };
    assert_eq!(
        module.outcome(&[failed, released]).unwrap_err().to_string(),
        "release: migrate failed (rc=1)"
    );
    let unlock_failed = StepOutput {
        rc: 1,
        stdout: String::new(),
        stderr: "fleet-release: unlock\nrm: cannot remove 'x'\n".into(),
    };
    assert_eq!(
        module
            .outcome(&[StepOutput::default(), unlock_failed])
            .unwrap_err()
            .to_string(),
        "release: unlock failed (rc=1):\nrm: cannot remove 'x'"
    );
}

#[test]
fn unlock_breaks_only_a_stale_lock_unless_forced() {
    let none = unlock(json!({})).plan(&locked_probe(NOW, None)).unwrap();
    assert!(!none.changed && none.steps.is_empty());
    assert_eq!(none.msg.as_deref(), Some("no deploy lock in /opt/shop"));

    let live = unlock(json!({}))
        .plan(&locked_probe(NOW, Some(OWNER)))
        .unwrap_err();
    assert_eq!(
        live.to_string(),
        "deploy lock /opt/shop/.fleet-lock is held by alice@ci-runner (pid 4242, since \
         2026-11-24T08:00:00Z, playbooks/release.yaml) for 10m00s, less than lock_ttl (3600s): \
         not stale, not broken\n  hint: if that run is gone (killed, or its connection lost), \
         break the lock anyway with `fleet unlock --force`"
    );

    let stale = unlock(json!({"lock_ttl": 300}))
        .plan(&locked_probe(NOW, Some(OWNER)))
        .unwrap();
    assert!(stale.changed);
    assert_eq!(
        stale.msg.as_deref(),
        Some(
            "stale deploy lock of alice@ci-runner (pid 4242, since 2026-11-24T08:00:00Z, \
             playbooks/release.yaml), 10m00s old"
        )
    );
    assert_eq!(
        stale.diff.as_deref(),
        Some("remove: /opt/shop/.fleet-lock\n")
    );
    assert_eq!(stale.data["lock"]["stale"], json!(true));
    assert!(stale.finally.is_empty());
    let [step] = stale.steps.as_slice() else {
        panic!("{:?}", stale.steps)
    };
    let script = script_of(step);
    // Only the lock that was read is removed, not one taken since.
    assert!(
        script.contains(&format!("read='{}'\n", OWNER.trim_end())),
        "{script}"
    );
    assert!(
        script.contains("if [ \"$(cat -- \"$owner_file\" 2>/dev/null)\" != \"$read\" ]; then"),
        "{script}"
    );
    assert!(script.ends_with("rm -rf -- \"$l\"\n"), "{script}");

    let forced = unlock(json!({"force": true}))
        .plan(&locked_probe(NOW, Some(OWNER)))
        .unwrap();
    assert!(forced.changed);
    assert!(
        forced
            .msg
            .as_deref()
            .unwrap()
            .starts_with("live deploy lock (forced) of alice@ci-runner")
    );
}

#[test]
fn lock_params_are_checked() {
    let err = |params: Value| build(params, &Artifacts).unwrap_err().to_string();
    assert!(
        err(json!({"path": "/opt/a", "state": "unlock", "lock_ttl": 0}))
            .contains("lock_ttl must be at least 1")
    );
    assert!(
        err(json!({"path": "/opt/a", "state": "rollback", "force": true}))
            .contains("force is only for state unlock")
    );
    assert!(
        err(json!({"path": "/opt/a", "state": "unlock", "force": "maybe"}))
            .contains("expected true or false")
    );
    assert!(
        err(json!({"path": "/opt/a", "lock_wait": -1, "artifact": "build/app-1.0.tar"}))
            .contains("whole number")
    );
    build(
        json!({"path": "/opt/a", "state": "unlock", "force": "true", "lock_ttl": "60"}),
        &Artifacts,
    )
    .unwrap();
}

/// A controller that names the playbook.
struct FromPlaybook;

impl Controller for FromPlaybook {
    fn read_file(&self, _: &str) -> Result<Vec<u8>, ModuleError> {
        Ok(Vec::new())
    }
    fn render_template(&self, src: &str) -> Result<String, ModuleError> {
        Ok(src.to_string())
    }
    fn operator(&self) -> String {
        "bob@laptop".into()
    }
    fn playbook(&self) -> String {
        "playbooks/site.yaml".into()
    }
}

#[test]
fn the_owner_file_names_the_playbook() {
    let module = build(
        json!({"path": "/opt/a", "state": "rollback"}),
        &FromPlaybook,
    )
    .unwrap();
    let plan = module.plan(&locked_probe(NOW, None)).unwrap();
    let lock = scripts(&plan)[0];
    assert!(
        lock.contains("owner_lines='operator=bob@laptop\npid="),
        "{lock}"
    );
    assert!(lock.contains("\nplaybook=playbooks/site.yaml'\n"), "{lock}");
}

#[test]
fn times_and_spans_read_well() {
    assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso_time(1_795_507_200), "2026-11-24T08:00:00Z");
    assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(iso_time(1_709_251_199), "2024-02-29T23:59:59Z");
    assert_eq!(iso_time(4_107_542_400), "2100-03-01T00:00:00Z");
    assert_eq!(span(42), "42s");
    assert_eq!(span(725), "12m05s");
    assert_eq!(span(7500), "2h05m");
    assert_eq!(span(3 * 86_400 + 4 * 3600 + 5), "3d04h");
}

#[test]
fn the_gates_rollback_leaves_a_release_another_run_deployed() {
    let pid = std::process::id();
    let marker = |by: &str, pid: u32| {
        let mut probe = locked_probe(NOW, None);
        probe
            .stdout
            .push_str(&format!("current_by={by}\ncurrent_pid={pid}\n"));
        probe
    };
    let back = module(json!({
        "path": "/opt/app", "state": "rollback", "to": "20260301_110000", "only_own_deploy": true
    }));
    let ours = back.plan(&marker("alice@ctl", pid)).unwrap();
    assert!(ours.changed);
    assert_eq!(ours.data["release"], json!("20260301_110000"));
    for (by, other_pid) in [("alice@ctl", pid + 1), ("bob@ci", pid)] {
        let theirs = back.plan(&marker(by, other_pid)).unwrap();
        assert!(!theirs.changed && theirs.steps.is_empty());
        assert_eq!(
            theirs.msg.as_deref(),
            Some("20260301_120000 was not deployed by this run: not rolled back")
        );
    }
    // An older release without the record is not this run's either.
    assert!(!back.plan(&locked_probe(NOW, None)).unwrap().changed);
    // Without the param, any current release is rolled back.
    let any = module(json!({"path": "/opt/app", "state": "rollback", "to": "20260301_110000"}));
    assert!(any.plan(&marker("bob@ci", 1)).unwrap().changed);
    let err = build(
        json!({"path": "/opt/a", "state": "info", "only_own_deploy": true}),
        &Artifacts,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("only_own_deploy is only for state rollback")
    );
}
