//! Unit tests of `file`: probe scripts and plans from fabricated probe output.

use super::*;
use crate::modules::tests::NoFiles;
use serde_json::json;

fn module(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn error(params: Value) -> String {
    build(params, &NoFiles).unwrap_err().to_string()
}

const DIR: &str = "kind=directory\nempty=0\nmode=755\nuid=0\ngid=0\nowner=root\ngroup=root\n";
const FILE: &str = "kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\n";
const ABSENT: &str = "kind=absent\n";

fn plan(params: Value, probe: &str) -> Plan {
    module(params).plan(&Probe::ok(probe)).unwrap()
}

#[test]
fn directory_is_created_with_attributes_on_new_parents() {
    let plan = plan(
        json!({"path": "/srv/app/logs", "state": "directory", "owner": "app", "mode": "0750"}),
        ABSENT,
    );
    assert_eq!(
        plan.steps,
        [Step::run(
            "set --; d=/srv/app/logs; while [ ! -e \"$d\" ] && [ ! -L \"$d\" ]; do \
             set -- \"$d\" \"$@\"; d=$(dirname -- \"$d\"); done; mkdir -p -- /srv/app/logs \
             && chown app -- \"$@\" && chmod 0750 -- \"$@\""
        )]
    );
    assert_eq!(plan.diff.as_deref(), Some("state: absent -> directory\n"));
}

#[test]
fn existing_directory_gets_only_the_attributes_that_differ() {
    let params = json!({"path": "/srv", "state": "directory", "mode": "0755", "group": "adm"});
    let plan = plan(params.clone(), DIR);
    assert_eq!(plan.steps, [Step::run("chown :adm -- /srv")]);
    assert_eq!(plan.diff.as_deref(), Some("group: root -> adm\n"));
    let same = DIR.replace("group=root", "group=adm");
    assert_eq!(self::plan(params, &same), Plan::unchanged());
    let err = module(json!({"path": "/etc/motd", "state": "directory"}))
        .plan(&Probe::ok(FILE))
        .unwrap_err();
    assert_eq!(err.to_string(), "/etc/motd already exists as a file");
}

#[test]
fn recurse_probes_the_tree_with_find() {
    let params = json!({"path": "/srv/app", "state": "directory", "recurse": true, "owner": "app", "mode": "0750"});
    let probe = module(params.clone()).probe().unwrap();
    assert!(
        probe.contains(
            "find \"$p\" -mindepth 1 ! -type l \\( ! -user app -o ! -perm 0750 \\) -print -quit"
        ),
        "{probe}"
    );
    let top_ok = DIR
        .replace("owner=root", "owner=app")
        .replace("mode=755", "mode=750");
    assert_eq!(plan(params.clone(), &top_ok), Plan::unchanged());
    let plan = plan(params, &format!("{top_ok}tree=differs\n"));
    assert_eq!(
        plan.steps,
        [Step::run(
            "chown -R app -- /srv/app && chmod -R 0750 -- /srv/app"
        )]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("recurse: entries under /srv/app differ\n")
    );
}

#[test]
fn state_file_requires_the_file() {
    let err = module(json!({"path": "/nope", "mode": "0600"}))
        .plan(&Probe::ok(ABSENT))
        .unwrap_err();
    assert_eq!(err.to_string(), "file (/nope) is absent, cannot continue");
    let plan = plan(json!({"path": "/etc/motd", "mode": "0600"}), FILE);
    assert_eq!(plan.steps, [Step::run("chmod 0600 -- /etc/motd")]);
    assert_eq!(plan.diff.as_deref(), Some("mode: 0644 -> 0600\n"));
    // Without a state, an existing directory stays one.
    let dir = self::plan(json!({"path": "/srv", "mode": "0755"}), DIR);
    assert_eq!(dir, Plan::unchanged());
}

#[test]
fn absent_removes_whatever_is_there() {
    let plan = plan(json!({"path": "/srv/old", "state": "absent"}), DIR);
    assert_eq!(plan.steps, [Step::run("rm -rf -- /srv/old")]);
    assert_eq!(plan.diff.as_deref(), Some("state: directory -> absent\n"));
    assert!(!self::plan(json!({"path": "/srv/old", "state": "absent"}), ABSENT).changed);
    let dangling = "link=gone\nlink_mode=777\nlink_uid=0\nlink_gid=0\nlink_owner=root\nlink_group=root\nkind=absent\n";
    assert!(self::plan(json!({"path": "/l", "state": "absent"}), dangling).changed);
}

#[test]
fn touch_is_always_changed() {
    let plan = plan(
        json!({"path": "/tmp/t", "state": "touch", "mode": "0600"}),
        ABSENT,
    );
    assert_eq!(
        plan.steps,
        [Step::run("touch -- /tmp/t && chmod 0600 -- /tmp/t")]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("state: absent -> file\ntimes: updated\n")
    );
    let again = self::plan(
        json!({"path": "/tmp/t", "state": "touch", "mode": "0644"}),
        FILE,
    );
    assert!(again.changed);
    assert_eq!(again.steps, [Step::run("touch -- /tmp/t")]);
}

const LINK: &str = "link=releases/1\nlink_mode=777\nlink_uid=0\nlink_gid=0\nlink_owner=root\n\
    link_group=root\nkind=directory\nempty=0\nmode=755\nuid=0\ngid=0\nowner=root\ngroup=root\nsrc=1\n";

#[test]
fn links_are_switched_atomically() {
    let params = json!({"path": "/opt/app/current", "state": "link", "src": "releases/2"});
    let probe = module(params.clone()).probe().unwrap();
    assert!(
        probe.contains("if [ -e /opt/app/releases/2 ]; then echo src=1"),
        "{probe}"
    );
    assert!(probe.contains("stat --printf 'link_mode=%a"), "{probe}");
    assert!(probe.contains("for entry in \"$p\"/* "), "{probe}");
    assert!(
        !probe.contains("ls ") && !probe.contains("dirname"),
        "{probe}"
    );
    let plan = plan(params.clone(), LINK);
    assert_eq!(
        plan.steps,
        [Step::run(
            "rm -f -- /opt/app/.current.fleet-link && ln -s -- releases/2 /opt/app/.current.fleet-link \
             && mv -Tf -- /opt/app/.current.fleet-link /opt/app/current \
             || { rc=$?; rm -f -- /opt/app/.current.fleet-link; exit $rc; }"
        )]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("target: releases/1 -> releases/2\n")
    );
    let same = LINK.replace("releases/1", "releases/2");
    assert_eq!(self::plan(params, &same), Plan::unchanged());
    let owned = self::plan(
        json!({"path": "/opt/app/current", "state": "link", "src": "releases/2", "owner": "app"}),
        &same,
    );
    assert_eq!(owned.steps, [Step::run("chown -h app -- /opt/app/current")]);
}

#[test]
fn links_refuse_to_replace_files_and_missing_sources() {
    let params = json!({"path": "/etc/motd", "state": "link", "src": "/srv/motd"});
    let file = format!("{FILE}src=1\n");
    let err = module(params).plan(&Probe::ok(&file)).unwrap_err();
    assert!(
        err.to_string().contains("refusing to convert from file"),
        "{err}"
    );
    let forced = plan(
        json!({"path": "/etc/motd", "state": "link", "src": "/srv/motd", "force": true}),
        &file,
    );
    assert_eq!(forced.diff.as_deref(), Some("state: file -> link\n"));
    let missing = module(json!({"path": "/l", "state": "link", "src": "/nope"}))
        .plan(&Probe::ok("kind=absent\nsrc=0\n"))
        .unwrap_err();
    assert!(
        missing.to_string().contains("src file does not exist"),
        "{missing}"
    );
    let full_dir = format!("{DIR}src=1\n");
    let err = module(json!({"path": "/d", "state": "link", "src": "/x", "force": true}))
        .plan(&Probe::ok(&full_dir))
        .unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    let empty_dir = full_dir.replace("empty=0", "empty=1");
    let plan = plan(
        json!({"path": "/d", "state": "link", "src": "/x", "force": true}),
        &empty_dir,
    );
    let Step::Run { script, .. } = &plan.steps[0] else {
        panic!("{plan:?}")
    };
    assert!(script.contains("&& rmdir -- /d && mv -Tf"), "{script}");
}

#[test]
fn params_are_checked() {
    assert!(error(json!({"path": "/l", "state": "link"})).contains("src is required"));
    assert!(error(json!({"path": "/f", "src": "/x"})).contains("src requires state=link"));
    assert!(
        error(json!({"path": "/f", "state": "file", "recurse": true})).contains("recurse requires")
    );
    assert!(
        error(json!({"path": "/l", "state": "link", "src": "/x", "mode": "0644"})).contains("mode")
    );
    assert!(error(json!({"path": "/", "state": "absent"})).contains("refusing"));
    assert!(error(json!({"path": "/f", "state": "hard"})).contains("hard"));
    assert!(error(json!({"path": "/f", "dest": "/g"})).contains("dest"));
    assert!(error(json!({"path": ""})).contains("path is empty"));
    // recurse alone means a directory.
    assert!(
        build(
            json!({"path": "/d", "recurse": true, "owner": "app"}),
            &NoFiles
        )
        .is_ok()
    );
}
