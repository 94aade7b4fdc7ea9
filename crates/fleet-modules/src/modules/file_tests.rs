//! Unit tests of `file`: probe scripts and plans from fabricated probe output.

use super::*;
use crate::modules::path_facts::tests::TempDir;
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
    without_registered(module(params).plan(&Probe::ok(probe)).unwrap())
}

/// The plan without the fields every plan registers (`path`, and `dest`
/// and `src` for links), so that plans compare with `Plan::unchanged()`.
fn without_registered(mut plan: Plan) -> Plan {
    for key in ["path", "dest", "src"] {
        plan.data.remove(key);
    }
    plan
}

#[test]
fn the_path_is_registered_and_a_link_also_as_dest_with_its_src() {
    let dir = module(json!({"path": "/srv/d", "state": "directory"}))
        .plan(&Probe::ok(DIR))
        .unwrap();
    assert_eq!(Value::Object(dir.data), json!({"path": "/srv/d"}));
    let link = module(json!({"path": "/opt/app/current", "state": "link", "src": "releases/1"}))
        .plan(&Probe::ok(LINK))
        .unwrap();
    assert_eq!(
        Value::Object(link.data),
        json!({"path": "/opt/app/current", "dest": "/opt/app/current", "src": "releases/1"})
    );
}

/// The scripts of the plan's steps.
fn scripts(plan: &Plan) -> Vec<&str> {
    plan.steps.iter().filter_map(Step::script_text).collect()
}

#[test]
fn directory_is_created_with_attributes_on_new_parents() {
    let plan = plan(
        json!({"path": "/srv/app/logs", "state": "directory", "owner": "app", "mode": "0750"}),
        ABSENT,
    );
    assert_eq!(
        scripts(&plan),
        ["p=/srv/app/logs\n\
          set --; d=$p; while [ ! -e \"$d\" ] && [ ! -L \"$d\" ]; do \
          set -- \"$d\" \"$@\"; d=$(dirname -- \"$d\"); done\n\
          owner=app\nmode=0750\n\
          mkdir -p -- \"$p\" && chown \"$owner\" -- \"$@\" && chmod \"$mode\" -- \"$@\"\n"]
    );
    assert_eq!(plan.diff.as_deref(), Some("state: absent -> directory\n"));
}

#[test]
fn existing_directory_gets_only_the_attributes_that_differ() {
    let params = json!({"path": "/srv", "state": "directory", "mode": "0755", "group": "adm"});
    let plan = plan(params.clone(), DIR);
    assert_eq!(scripts(&plan), ["chown :adm -- /srv\n"]);
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
        probe.contains("\nowner=app\ngroup=''\nperm=0750\n"),
        "{probe}"
    );
    assert!(
        probe.contains("find \"$p\" -mindepth 1 ! -type l \\( \"$@\" \\) -print -quit"),
        "{probe}"
    );
    let top_ok = DIR
        .replace("owner=root", "owner=app")
        .replace("mode=755", "mode=750");
    assert_eq!(plan(params.clone(), &top_ok), Plan::unchanged());
    let plan = plan(params, &format!("{top_ok}tree=differs\n"));
    assert_eq!(
        scripts(&plan),
        ["chown -R app -- /srv/app && chmod -R 0750 -- /srv/app\n"]
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
    assert_eq!(scripts(&plan), ["chmod 0600 -- /etc/motd\n"]);
    assert_eq!(plan.diff.as_deref(), Some("mode: 0644 -> 0600\n"));
    // Without a state, an existing directory stays one.
    let dir = self::plan(json!({"path": "/srv", "mode": "0755"}), DIR);
    assert_eq!(dir, Plan::unchanged());
}

#[test]
fn absent_removes_whatever_is_there() {
    let plan = plan(json!({"path": "/srv/old", "state": "absent"}), DIR);
    assert_eq!(scripts(&plan), ["rm -rf -- /srv/old\n"]);
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
        scripts(&plan),
        ["touch -- /tmp/t && chmod 0600 -- /tmp/t\n"]
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
    assert_eq!(scripts(&again), ["touch -- /tmp/t\n"]);
}

const LINK: &str = "link=releases/1\nlink_mode=777\nlink_uid=0\nlink_gid=0\nlink_owner=root\n\
    link_group=root\nkind=directory\nempty=0\nmode=755\nuid=0\ngid=0\nowner=root\ngroup=root\nsrc=1\n";

#[test]
fn links_are_switched_atomically() {
    let params = json!({"path": "/opt/app/current", "state": "link", "src": "releases/2"});
    let probe = module(params.clone()).probe().unwrap();
    assert!(
        probe.contains("\nsrc=/opt/app/releases/2\nif [ -e \"$src\" ]; then echo src=1"),
        "{probe}"
    );
    assert!(
        probe.contains("\nstat_format='link_mode=%a\\nlink_uid=%u"),
        "{probe}"
    );
    assert!(
        probe.contains("stat --printf \"$stat_format\"'target=%N' -- \"$p\""),
        "{probe}"
    );
    assert!(probe.contains("for entry in \"$p\"/* "), "{probe}");
    assert!(
        !probe.contains("ls ") && !probe.contains("dirname"),
        "{probe}"
    );
    let plan = plan(params.clone(), LINK);
    assert_eq!(
        scripts(&plan),
        ["p=/opt/app/current\nt=/opt/app/.current.fleet-link\n\
          rm -f -- \"$t\" && ln -s -- releases/2 \"$t\" && mv -Tf -- \"$t\" \"$p\"\n\
          rc=$?; if [ \"$rc\" -ne 0 ]; then rm -f -- \"$t\"; fi; exit \"$rc\"\n"]
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
    assert_eq!(scripts(&owned), ["chown -h app -- /opt/app/current\n"]);
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
    let script = scripts(&plan)[0];
    assert!(script.contains(" && rmdir -- \"$p\" && mv -Tf"), "{script}");
}

#[test]
fn params_are_checked() {
    assert!(error(json!({"path": "/l", "state": "link"})).contains("src is required"));
    assert!(error(json!({"path": "/f", "src": "/x"})).contains("src option requires state"));
    assert!(
        error(json!({"path": "/f", "state": "file", "recurse": true})).contains("recurse requires")
    );
    assert!(
        error(json!({"path": "/l", "state": "link", "src": "/x", "mode": "0644"})).contains("mode")
    );
    assert!(error(json!({"path": "/", "state": "absent"})).contains("refusing"));
    assert!(error(json!({"path": "/f", "state": "hard"})).contains("src is required"));
    assert!(error(json!({"path": "/f", "state": "hard", "src": "rel"})).contains("absolute path"));
    assert!(error(json!({"path": "/f", "src": "/x"})).contains("'link' or 'hard'"));
    assert!(error(json!({"path": "/f", "dest": "/g"})).contains("duplicate field"));
    assert!(error(json!({"path": "/f", "destination": "/g"})).contains("destination"));
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

/// Probes `params` in `dir` with `sh`, plans, and runs the plan's scripts.
fn apply(dir: &TempDir, params: &Value) -> Plan {
    let module = module(params.clone());
    let (rc, out) = dir.sh(&module.probe().unwrap());
    assert_eq!(rc, 0, "{out}");
    let plan = without_registered(module.plan(&Probe::ok(&out)).unwrap());
    for step in &plan.steps {
        let Step::Run { script, .. } = step else {
            panic!("{step:?}")
        };
        assert_eq!(dir.sh(script).0, 0, "{script}");
    }
    plan
}

#[test]
fn hostile_links_and_sources_stay_data() {
    let dir = TempDir::new("file-link");
    let path = dir.join("cur $(touch pwned) 'x'");
    dir.file("-rf", "");
    let params = json!({"path": path, "state": "link", "src": "-rf"});
    let plan = apply(&dir, &params);
    assert_eq!(plan.diff.as_deref(), Some("state: absent -> link\n"));
    assert_eq!(
        std::fs::read_link(&path).unwrap().to_str(),
        Some("-rf"),
        "{plan:?}"
    );
    assert_eq!(apply(&dir, &params), Plan::unchanged());
    let params = json!({"path": path, "state": "link", "src": "--help", "force": true});
    assert!(apply(&dir, &params).changed);
    assert_eq!(std::fs::read_link(&path).unwrap().to_str(), Some("--help"));
    assert!(!dir.has("pwned") && !dir.has(".cur $(touch pwned) 'x'.fleet-link"));
}

#[test]
fn hostile_directories_are_made_with_their_new_parents() {
    let dir = TempDir::new("file-dir");
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&dir.path).unwrap());
    let path = dir.join("a'b/-R/$(touch pwned)");
    let params =
        json!({"path": path, "state": "directory", "mode": "0700", "owner": uid.to_string()});
    assert!(apply(&dir, &params).changed);
    for made in ["a'b", "a'b/-R", "a'b/-R/$(touch pwned)"] {
        assert_eq!(dir.mode(made), 0o700, "{made}");
    }
    assert_eq!(apply(&dir, &params), Plan::unchanged());
    dir.file("a'b/-R/$(touch pwned)/f", "");
    let recurse = json!({"path": dir.join("a'b"), "recurse": true, "mode": "0700"});
    let plan = apply(&dir, &recurse);
    assert_eq!(
        plan.diff.as_deref(),
        Some(format!("recurse: entries under {} differ\n", dir.join("a'b")).as_str())
    );
    assert_eq!(dir.mode("a'b/-R/$(touch pwned)/f"), 0o700);
    assert_eq!(apply(&dir, &recurse), Plan::unchanged());
    for (name, params) in [
        ("-only mode", json!({"mode": "0701"})),
        ("-only owner", json!({"owner": uid.to_string()})),
        ("-neither", json!({})),
    ] {
        let mut params = params;
        params["path"] = json!(dir.join(&format!("a'b/{name}/sub")));
        params["state"] = json!("directory");
        assert!(apply(&dir, &params).changed, "{name}");
        assert!(dir.has(&format!("a'b/{name}/sub")), "{name}");
        assert_eq!(apply(&dir, &params), Plan::unchanged(), "{name}");
    }
    assert_eq!(dir.mode("a'b/-only mode"), 0o701);
    let absent = json!({"path": dir.join("a'b/-R"), "state": "absent"});
    assert!(apply(&dir, &absent).changed);
    assert!(dir.has("a'b") && !dir.has("a'b/-R") && !dir.has("pwned"));
}

#[test]
fn hostile_files_are_touched_by_name() {
    let dir = TempDir::new("file-touch");
    let path = dir.join("-n $(touch pwned) `touch pwned`");
    let params = json!({"path": path, "state": "touch", "mode": "0640"});
    assert!(apply(&dir, &params).changed);
    assert_eq!(dir.mode("-n $(touch pwned) `touch pwned`"), 0o640);
    let params = json!({"path": path, "mode": "0600"});
    assert_eq!(
        apply(&dir, &params).diff.as_deref(),
        Some("mode: 0640 -> 0600\n")
    );
    assert!(!dir.has("pwned"));
}

#[test]
fn hard_links_share_the_inode_and_refuse_other_files_unless_forced() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new("file-hard");
    let src = dir.file("data", "x\n");
    let path = dir.join("hard link");
    let params = json!({"path": path, "state": "hard", "src": src});
    let plan = apply(&dir, &params);
    assert_eq!(plan.diff.as_deref(), Some("state: absent -> hard\n"));
    let inode = |p: &str| std::fs::metadata(p).unwrap().ino();
    assert_eq!(inode(&path), inode(&src));
    assert_eq!(apply(&dir, &params), Plan::unchanged());

    let other = dir.file("other", "y\n");
    let onto_file = json!({"path": other, "state": "hard", "src": src});
    let refused = module(onto_file.clone());
    let (_, out) = dir.sh(&refused.probe().unwrap());
    let err = refused.plan(&Probe::ok(&out)).unwrap_err();
    assert_eq!(err.to_string(), "Cannot link, file exists at destination");
    let mut forced = onto_file;
    forced["force"] = json!(true);
    apply(&dir, &forced);
    assert_eq!(inode(&other), inode(&src));
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "x\n");

    let missing = module(json!({"path": dir.join("m"), "state": "hard", "src": dir.join("none")}));
    let (_, out) = dir.sh(&missing.probe().unwrap());
    assert_eq!(
        missing.plan(&Probe::ok(&out)).unwrap_err().to_string(),
        "src does not exist"
    );
}
