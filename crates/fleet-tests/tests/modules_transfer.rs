//! The file transfer modules (`copy` with `remote_src` and
//! `directory_mode`, `find`, `archive`, `synchronize`) on the lab host `lab28`
//! (`FLEET_TRANSFER_HOST` to move it), asserting the real state of the host
//! after each run.

use std::path::Path;

use fleet_engine::Status;
use fleet_tests::module_harness::{LabHost, assert_status};
use fleet_tests::module_harness::{apt_install, packages_lock, sh_ok};
use serde_json::json;

fn host() -> LabHost {
    let name = std::env::var("FLEET_TRANSFER_HOST").unwrap_or_else(|_| "lab28".into());
    LabHost::root(&name, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// A fresh directory for one test.
fn fresh(lab: &LabHost, dir: &str) {
    sh_ok(lab, &format!("rm -rf {dir} && mkdir -p {dir}"));
}

#[test]
fn copy_remote_src_file_and_tree() {
    let lab = host();
    let dir = "/srv/fleet-transfer/copy";
    fresh(&lab, dir);
    sh_ok(
        &lab,
        &format!(
            "cd {dir} && printf 'one\\n' > a.conf && chmod 0640 a.conf && mkdir -p tree/sub \
             && printf 't\\n' > tree/top && printf 's\\n' > tree/sub/deep && ln -s top tree/link"
        ),
    );
    let file = lab.converge(
        "copy",
        json!({"src": format!("{dir}/a.conf"), "dest": format!("{dir}/b.conf"), "remote_src": true}),
    );
    assert_eq!(
        file.data["checksum"],
        json!("c7059bb19433cc3cabaa6236c83d56668a843dd2")
    );
    assert_eq!(
        sh_ok(&lab, &format!("cat {dir}/b.conf; stat -c %a {dir}/b.conf")),
        "one\n640"
    );
    // Check mode reports the change and leaves the host alone.
    let check = lab.run(
        "copy",
        json!({"src": format!("{dir}/tree"), "dest": format!("{dir}/out/"), "remote_src": true}),
        true,
    );
    assert_status(&check, Status::Changed);
    assert_eq!(lab.sh(&format!("test -e {dir}/out")).0, 1);
    lab.converge(
        "copy",
        json!({"src": format!("{dir}/tree"), "dest": format!("{dir}/out/"), "remote_src": true,
               "directory_mode": "0750", "owner": "nobody"}),
    );
    assert_eq!(
        sh_ok(
            &lab,
            &format!(
                "stat -c '%a %U' {dir}/out; cat {dir}/out/tree/sub/deep; readlink {dir}/out/tree/link; stat -c %U {dir}/out/tree/top"
            )
        ),
        "750 nobody\ns\ntop\nnobody"
    );
    // A changed source file is copied again; a file only in dest stays.
    sh_ok(
        &lab,
        &format!("printf 'new\\n' > {dir}/tree/top && touch {dir}/out/tree/mine"),
    );
    let again = lab.converge(
        "copy",
        json!({"src": format!("{dir}/tree/"), "dest": format!("{dir}/out/tree"), "remote_src": true}),
    );
    assert_eq!(again.diff.as_deref(), Some("copied: top\n"));
    assert_eq!(
        sh_ok(&lab, &format!("cat {dir}/out/tree/top; ls {dir}/out/tree")),
        "new\nlink\nmine\nsub\ntop"
    );
    let missing = lab.run(
        "copy",
        json!({"src": format!("{dir}/nope"), "dest": dir, "remote_src": true}),
        false,
    );
    assert_status(&missing, Status::Failed);
    assert!(
        missing
            .msg
            .as_deref()
            .unwrap_or_default()
            .contains("not found"),
        "{missing:?}"
    );
}

#[test]
fn copy_directory_mode_for_a_new_dest_directory() {
    let lab = host();
    let dir = "/srv/fleet-transfer/dirmode";
    fresh(&lab, dir);
    lab.converge(
        "copy",
        json!({"src": "Cargo.toml", "dest": format!("{dir}/a/b/"), "directory_mode": "0700"}),
    );
    assert_eq!(
        sh_ok(
            &lab,
            &format!("stat -c %a {dir}/a {dir}/a/b {dir}/a/b/Cargo.toml")
        ),
        "700\n700\n644"
    );
}

#[test]
fn find_matches_as_ansible() {
    let lab = host();
    let dir = "/srv/fleet-transfer/find";
    fresh(&lab, dir);
    sh_ok(
        &lab,
        &format!(
            "cd {dir} && mkdir -p logs/old logs/.cache && printf 'started\\nERROR disk\\n' > logs/app.log \
             && printf 'fine\\n' > logs/app.txt && printf 'x\\n' > logs/.hidden.log \
             && head -c 2048 /dev/zero > logs/old/big.log && printf 'c\\n' > logs/.cache/c.log \
             && touch -d '3 days ago' logs/old/big.log && ln -s app.log logs/current.log"
        ),
    );
    let found = lab.run(
        "find",
        json!({"paths": format!("{dir}/logs"), "patterns": "*.log"}),
        false,
    );
    assert_status(&found, Status::Ok);
    assert_eq!(found.data["matched"], json!(1));
    assert_eq!(found.data["examined"], json!(6));
    assert_eq!(
        found.data["files"][0]["path"],
        json!(format!("{dir}/logs/app.log"))
    );
    assert_eq!(found.data["files"][0]["mode"], json!("0644"));
    assert_eq!(found.data["files"][0]["pw_name"], json!("root"));
    let paths = |outcome: &fleet_engine::ModuleOutcome| {
        let mut list: Vec<String> = outcome.data["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches(dir)
                    .to_string()
            })
            .collect();
        list.sort();
        list
    };
    let old = lab.run(
        "find",
        json!({"paths": dir, "recurse": true, "age": "2d", "size": "1k", "get_checksum": true}),
        true,
    );
    assert_eq!(paths(&old), ["/logs/old/big.log"]);
    assert_eq!(
        old.data["files"][0]["checksum"],
        json!(sh_ok(
            &lab,
            &format!("sha1sum {dir}/logs/old/big.log | cut -d' ' -f1")
        ))
    );
    let errors = lab.run(
        "find",
        json!({"paths": dir, "recurse": true, "contains": "ERROR"}),
        false,
    );
    assert_eq!(paths(&errors), ["/logs/app.log"]);
    let links = lab.run(
        "find",
        json!({"paths": dir, "recurse": true, "file_type": "link"}),
        false,
    );
    assert_eq!(paths(&links), ["/logs/current.log"]);
    let hidden = lab.run(
        "find",
        json!({"paths": [format!("{dir}/logs"), "/nonexistent"], "recurse": true, "hidden": true,
               "use_regex": true, "patterns": ["^c.*\\.log$", "\\.hidden"]}),
        false,
    );
    // `current.log` is a symlink: not a `file`.
    assert_eq!(paths(&hidden), ["/logs/.cache/c.log", "/logs/.hidden.log"]);
    assert_eq!(
        hidden.msg.as_deref(),
        Some("Not all paths examined, check warnings for details")
    );
}

#[test]
fn archive_packs_trees_and_files() {
    let lab = host();
    let dir = "/srv/fleet-transfer/archive";
    fresh(&lab, dir);
    sh_ok(
        &lab,
        &format!(
            "cd {dir} && mkdir -p app/logs && printf 'a\\n' > app/a.conf && printf 'x\\n' > app/logs/x.log \
             && printf 'tmp\\n' > app/logs/y.tmp && printf 'single\\n' > single.txt"
        ),
    );
    let check = lab.run(
        "archive",
        json!({"path": format!("{dir}/app"), "dest": format!("{dir}/app.tgz")}),
        true,
    );
    assert_status(&check, Status::Changed);
    assert_eq!(lab.sh(&format!("test -e {dir}/app.tgz")).0, 1);
    let made = lab.converge(
        "archive",
        json!({"path": format!("{dir}/app"), "dest": format!("{dir}/app.tgz"),
               "exclusion_patterns": ["*.tmp"], "mode": "0640"}),
    );
    assert_eq!(made.data["dest_state"], json!("archive"));
    assert_eq!(made.data["arcroot"], json!(format!("{dir}/")));
    assert_eq!(
        sh_ok(
            &lab,
            &format!("tar -tzf {dir}/app.tgz | sort; stat -c %a {dir}/app.tgz")
        ),
        "app/a.conf\napp/logs/\napp/logs/x.log\n640"
    );
    // A new file below the tree changes the archive.
    sh_ok(&lab, &format!("printf 'n\\n' > {dir}/app/new"));
    let changed = lab.run(
        "archive",
        json!({"path": format!("{dir}/app"), "dest": format!("{dir}/app.tgz"),
               "exclusion_patterns": ["*.tmp"], "mode": "0640"}),
        false,
    );
    assert_status(&changed, Status::Changed);
    let single = lab.converge(
        "archive",
        json!({"path": format!("{dir}/single.txt"), "format": "gz"}),
    );
    assert_eq!(single.data["dest_state"], json!("compress"));
    assert_eq!(
        sh_ok(&lab, &format!("gzip -dc {dir}/single.txt.gz")),
        "single"
    );
    let removed = lab.run(
        "archive",
        json!({"path": [format!("{dir}/app/a.conf"), format!("{dir}/gone")], "dest": format!("{dir}/two.tar"),
               "format": "tar", "remove": true}),
        false,
    );
    assert_status(&removed, Status::Changed);
    assert_eq!(removed.data["dest_state"], json!("incomplete"));
    assert_eq!(removed.data["missing"], json!([format!("{dir}/gone")]));
    assert_eq!(lab.sh(&format!("test -e {dir}/app/a.conf")).0, 1);
    assert_eq!(sh_ok(&lab, &format!("tar -tf {dir}/two.tar")), "app/a.conf");
}

/// Without rsync on the host, synchronize sends a tar stream; with it,
/// the controller's rsync talks with the host's over fleet's connection.
/// Either way the host ends up the same.
#[test]
fn synchronize_pushes_a_tree_over_a_tar_stream_or_rsync() {
    let lab = host();
    {
        let _turn = packages_lock();
        sh_ok(
            &lab,
            "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 purge -y -q rsync >/dev/null",
        );
    }
    synchronize_pushes_a_tree(&lab, "tar");
    apt_install(&lab, "rsync");
    synchronize_pushes_a_tree(&lab, "rsync");
}

fn synchronize_pushes_a_tree(lab: &LabHost, transport: &str) {
    let dir = &format!("/srv/fleet-transfer/sync-{transport}");
    fresh(lab, dir);
    sh_ok(
        lab,
        &format!(
            "mkdir -p {dir}/www/old && printf 'stale\\n' > {dir}/www/stale.html && printf 'mine\\n' > {dir}/www/keep.log"
        ),
    );
    let local = std::env::temp_dir().join(format!(
        "fleet-transfer-sync-{transport}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&local);
    std::fs::create_dir_all(local.join("site/css")).unwrap();
    std::fs::write(local.join("site/index.html"), "<h1>hi</h1>\n").unwrap();
    std::fs::write(local.join("site/css/main.css"), "body {}\n").unwrap();
    std::fs::write(local.join("site/debug.log"), "noise\n").unwrap();
    std::os::unix::fs::symlink("index.html", local.join("site/home.html")).unwrap();
    let src = format!("{}/", local.join("site").display());
    let params = json!({"src": src, "dest": format!("{dir}/www"), "delete": true,
                        "rsync_opts": ["--exclude=*.log"]});
    let check = lab.run("synchronize", params.clone(), true);
    assert_status(&check, Status::Changed);
    assert_eq!(lab.sh(&format!("test -e {dir}/www/index.html")).0, 1);
    let first = lab.converge("synchronize", params.clone());
    assert_eq!(first.data["transport"], transport, "{first:?}");
    assert!(
        first
            .msg
            .unwrap_or_default()
            .contains("*deleting stale.html")
    );
    assert_eq!(
        sh_ok(
            lab,
            &format!("cd {dir}/www && find . | sort && cat css/main.css && readlink home.html")
        ),
        ".\n./css\n./css/main.css\n./home.html\n./index.html\n./keep.log\nbody {}\nindex.html"
    );
    // The times are the controller's, so a second run finds nothing.
    let mtime = std::fs::metadata(local.join("site/index.html")).unwrap();
    let seconds = std::os::unix::fs::MetadataExt::mtime(&mtime);
    assert_eq!(
        sh_ok(lab, &format!("stat -c %Y {dir}/www/index.html")),
        seconds.to_string()
    );
    std::fs::write(local.join("site/css/main.css"), "body { margin: 0 }\n").unwrap();
    let again = lab.converge("synchronize", params);
    assert!(again.msg.unwrap_or_default().contains(">f css/main.css"));
    assert_eq!(
        sh_ok(lab, &format!("cat {dir}/www/css/main.css")),
        "body { margin: 0 }"
    );
    let _ = std::fs::remove_dir_all(&local);
}

#[test]
fn copy_a_controller_directory_with_directory_mode() {
    let lab = host();
    let dir = "/srv/fleet-transfer/tree";
    fresh(&lab, dir);
    sh_ok(
        &lab,
        &format!("mkdir -p {dir}/app/conf/sub && chmod 0755 {dir}/app/conf/sub"),
    );
    let local = std::env::temp_dir().join(format!("fleet-transfer-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&local);
    std::fs::create_dir_all(local.join("conf/sub")).unwrap();
    std::fs::write(local.join("conf/a.conf"), "a\n").unwrap();
    std::fs::write(local.join("conf/sub/b.conf"), "b\n").unwrap();
    let src = local.join("conf").display().to_string();
    lab.converge(
        "copy",
        json!({"src": src, "dest": format!("{dir}/app"), "directory_mode": "0750", "mode": "0640"}),
    );
    assert_eq!(
        sh_ok(
            &lab,
            &format!(
                "cd {dir}/app && stat -c '%n %a' conf conf/sub conf/a.conf conf/sub/b.conf && cat conf/sub/b.conf"
            )
        ),
        // `conf` itself existed and is no subdirectory of the tree: as in
        // Ansible, it keeps its mode; `conf/sub` gets directory_mode.
        "conf 755\nconf/sub 750\nconf/a.conf 640\nconf/sub/b.conf 640\nb"
    );
    let _ = std::fs::remove_dir_all(&local);
}
