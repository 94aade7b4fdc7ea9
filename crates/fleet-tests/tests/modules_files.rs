//! The file modules (file, copy, template, lineinfile, blockinfile, stat,
//! unarchive) on the lab host `lab7`, asserting the real state of the host:
//! exact contents, modes, owners, link targets; idempotence; check mode
//! leaving the host untouched.

#[path = "modules_files/archives.rs"]
mod archives;
#[path = "modules_files/unarchive.rs"]
mod unarchive;

use std::path::PathBuf;

use fleet_engine::{ModuleOutcome, Status};
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::{Value, json};

const HOST: &str = "lab7";

/// A connection, a controller files dir, and a fresh dir on the host, all
/// private to one test.
struct Setup {
    lab: LabHost,
    files: PathBuf,
    dir: String,
}

fn setup(test: &str) -> Setup {
    let files = fleet_tests::scratch_dir(&format!("modules_files/{test}"));
    let lab = LabHost::root(HOST, &files);
    let dir = format!("/srv/fleet-files-test/{test}");
    sh_ok(&lab, &format!("rm -rf {dir} && mkdir -p {dir}"));
    Setup { lab, files, dir }
}

/// Runs `command` and returns its trimmed stdout, asserting it succeeded.
fn sh_ok(lab: &LabHost, command: &str) -> String {
    let (rc, out) = lab.sh(command);
    assert_eq!(rc, 0, "`{command}` failed: {out}");
    out.trim_end_matches('\n').to_string()
}

/// The exact content of a file.
fn cat(lab: &LabHost, path: &str) -> String {
    let (rc, out) = lab.sh(&format!("cat {path}"));
    assert_eq!(rc, 0, "cat {path}");
    out
}

/// `mode owner group`, as `stat` prints them.
fn attrs(lab: &LabHost, path: &str) -> String {
    sh_ok(lab, &format!("stat -c '%a %U %G' {path}"))
}

/// Everything about a tree: names, kinds, modes, owners, sizes, times,
/// link targets and content hashes. Equal before and after = untouched.
fn fingerprint(lab: &LabHost, path: &str) -> String {
    lab.sh(&format!(
        "find {path} -printf '%p %y %m %u %g %s %T@ %l\\n' 2>&1 | sort; \
         find {path} -type f -exec sha256sum {{}} + 2>&1 | sort"
    ))
    .1
}

/// Runs in check mode, asserts it would change `path`, and that it did not.
fn check_changes_nothing(lab: &LabHost, module: &str, params: Value, path: &str) -> ModuleOutcome {
    let before = fingerprint(lab, path);
    let outcome = lab.run(module, params, true);
    assert_status(&outcome, Status::Changed);
    assert_eq!(fingerprint(lab, path), before, "check mode changed {path}");
    outcome
}

fn failure(outcome: &ModuleOutcome) -> String {
    assert_status(outcome, Status::Failed);
    outcome.msg.clone().unwrap_or_default()
}

#[test]
fn copy_writes_content_with_mode_and_owner_idempotently() {
    let Setup { lab, dir, .. } = setup("copy_content");
    let dest = format!("{dir}/app.conf");
    let params = json!({"dest": dest, "content": "a=1\n", "mode": "0640", "owner": "deploy"});
    let check = check_changes_nothing(&lab, "copy", params.clone(), &dir);
    assert!(check.diff.unwrap_or_default().contains("+a=1\n"));
    assert_eq!(lab.sh(&format!("test -e {dest}")).0, 1);

    let first = lab.converge("copy", params);
    assert!(
        first
            .diff
            .unwrap_or_default()
            .starts_with("state: absent -> file\n")
    );
    assert_eq!(cat(&lab, &dest), "a=1\n");
    assert_eq!(attrs(&lab, &dest), "640 deploy root");
    // Only the temp file's rename touched the dir: nothing left behind.
    assert_eq!(sh_ok(&lab, &format!("ls -A {dir}")), "app.conf");
}

#[test]
fn copy_backs_up_keeps_attributes_and_fixes_modes_alone() {
    let Setup { lab, dir, .. } = setup("copy_backup");
    let dest = format!("{dir}/motd");
    sh_ok(
        &lab,
        &format!("printf 'one\\n' > {dest} && chown deploy {dest} && chmod 0604 {dest}"),
    );
    let params = json!({"dest": dest, "content": "two\n", "backup": true});
    let check = check_changes_nothing(&lab, "copy", params.clone(), &dir);
    assert!(check.diff.unwrap_or_default().contains("-one\n+two\n"));

    lab.converge("copy", params);
    assert_eq!(cat(&lab, &dest), "two\n");
    assert_eq!(
        attrs(&lab, &dest),
        "604 deploy root",
        "mode and owner are kept"
    );
    let backups = sh_ok(&lab, &format!("cd {dir} && ls motd.*~"));
    assert_eq!(backups.lines().count(), 1, "{backups}");
    assert!(backups.starts_with("motd.20"), "{backups}");
    assert_eq!(cat(&lab, &format!("{dir}/{backups}")), "one\n");
    assert_eq!(attrs(&lab, &format!("{dir}/{backups}")), "604 deploy root");

    let chmod = lab.converge(
        "copy",
        json!({"dest": dest, "content": "two\n", "mode": "0600"}),
    );
    assert_eq!(chmod.diff.as_deref(), Some("mode: 0604 -> 0600\n"));
    assert_eq!(attrs(&lab, &dest), "600 deploy root");
    assert_eq!(cat(&lab, &dest), "two\n");
    assert_eq!(sh_ok(&lab, &format!("cd {dir} && ls motd.*~ | wc -l")), "1");
}

#[test]
fn copy_src_goes_into_directories_like_ansible() {
    let Setup { lab, dir, files } = setup("copy_src");
    std::fs::write(files.join("motd.txt"), "from the controller\n").expect("write");
    lab.converge("copy", json!({"src": "motd.txt", "dest": dir}));
    assert_eq!(
        cat(&lab, &format!("{dir}/motd.txt")),
        "from the controller\n"
    );
    assert_eq!(attrs(&lab, &format!("{dir}/motd.txt")), "644 root root");

    lab.converge(
        "copy",
        json!({"src": "motd.txt", "dest": format!("{dir}/made/")}),
    );
    assert_eq!(
        cat(&lab, &format!("{dir}/made/motd.txt")),
        "from the controller\n"
    );

    let into_dir = lab.run("copy", json!({"content": "x", "dest": dir}), false);
    assert!(failure(&into_dir).contains("is a directory"));
    let no_parent = lab.run(
        "copy",
        json!({"content": "x", "dest": format!("{dir}/no/f")}),
        false,
    );
    assert!(failure(&no_parent).contains("does not exist"));
}

#[test]
fn template_writes_the_rendered_file() {
    let Setup { lab, dir, files } = setup("template");
    std::fs::write(files.join("app.ini.j2"), "[app]\nport = 8000\n").expect("write");
    let dest = format!("{dir}/app.ini");
    let params = json!({"src": "app.ini.j2", "dest": dest, "mode": "0600"});
    check_changes_nothing(&lab, "template", params.clone(), &dir);
    lab.converge("template", params);
    assert_eq!(cat(&lab, &dest), "[app]\nport = 8000\n");
    assert_eq!(attrs(&lab, &dest), "600 root root");
}

#[test]
fn sudo_writes_root_owned_files_under_etc() {
    let Setup { dir, files, .. } = setup("sudo_etc");
    let lab = LabHost::deploy_with_sudo(HOST, &files);
    let dest = "/etc/fleet-files-test-sudo.conf";
    sh_ok(&lab, &format!("rm -f {dest}"));
    std::fs::write(files.join("sudo.conf.j2"), "managed=1\n").expect("write");
    lab.converge(
        "template",
        json!({"src": "sudo.conf.j2", "dest": dest, "mode": "0640"}),
    );
    assert_eq!(cat(&lab, dest), "managed=1\n");
    assert_eq!(attrs(&lab, dest), "640 root root");
    lab.converge("lineinfile", json!({"path": dest, "line": "extra=2"}));
    assert_eq!(cat(&lab, dest), "managed=1\nextra=2\n");
    assert_eq!(attrs(&lab, dest), "640 root root");
    let connecting_user = sh_ok(&lab, "echo $SUDO_USER");
    assert_eq!(connecting_user, "deploy");
    sh_ok(&lab, &format!("rm -f {dest}; rm -rf {dir}"));
}

#[test]
fn file_makes_directories_and_fixes_trees_recursively() {
    let Setup { lab, dir, .. } = setup("file_dirs");
    let deep = format!("{dir}/a/b/c");
    let params = json!({"path": deep, "state": "directory", "owner": "deploy", "mode": "0750"});
    check_changes_nothing(&lab, "file", params.clone(), &dir);
    let first = lab.converge("file", params);
    assert_eq!(first.diff.as_deref(), Some("state: absent -> directory\n"));
    for path in ["a", "a/b", "a/b/c"] {
        assert_eq!(
            attrs(&lab, &format!("{dir}/{path}")),
            "750 deploy root",
            "{path}"
        );
    }

    sh_ok(
        &lab,
        &format!("touch {deep}/f && mkdir {dir}/a/d && chmod 0700 {dir}/a/d"),
    );
    let recurse = json!({"path": format!("{dir}/a"), "state": "directory", "recurse": true,
        "owner": "deploy", "group": "deploy"});
    check_changes_nothing(&lab, "file", recurse.clone(), &dir);
    lab.converge("file", recurse);
    assert_eq!(
        sh_ok(
            &lab,
            &format!("find {dir}/a \\( ! -user deploy -o ! -group deploy \\) | wc -l")
        ),
        "0"
    );
    assert_eq!(
        attrs(&lab, &format!("{dir}/a/d")),
        "700 deploy deploy",
        "modes untouched"
    );

    let err = lab.run(
        "file",
        json!({"path": format!("{deep}/f"), "state": "directory"}),
        false,
    );
    assert!(failure(&err).contains("already exists as a file"));
}

#[test]
fn file_links_switch_atomically_and_refuse_files() {
    let Setup { lab, dir, .. } = setup("file_links");
    sh_ok(
        &lab,
        &format!("mkdir -p {dir}/releases/1 {dir}/releases/2 && touch {dir}/plain"),
    );
    let current = format!("{dir}/current");
    let link = |target: &str| json!({"path": current, "state": "link", "src": target});
    lab.converge("file", link("releases/1"));
    assert_eq!(sh_ok(&lab, &format!("readlink {current}")), "releases/1");

    check_changes_nothing(&lab, "file", link("releases/2"), &dir);
    let switched = lab.converge("file", link("releases/2"));
    assert_eq!(
        switched.diff.as_deref(),
        Some("target: releases/1 -> releases/2\n")
    );
    assert_eq!(sh_ok(&lab, &format!("readlink {current}")), "releases/2");
    assert_eq!(
        sh_ok(&lab, &format!("ls -A {dir} | sort | tr '\\n' ' '")),
        "current plain releases "
    );

    let owned = json!({"path": current, "state": "link", "src": "releases/2", "owner": "deploy"});
    lab.converge("file", owned);
    assert_eq!(sh_ok(&lab, &format!("stat -c %U {current}")), "deploy");

    let plain = format!("{dir}/plain");
    let refused = lab.run(
        "file",
        json!({"path": plain, "state": "link", "src": "releases/1"}),
        false,
    );
    assert!(failure(&refused).contains("refusing to convert from file"));
    lab.converge(
        "file",
        json!({"path": plain, "state": "link", "src": "releases/1", "force": true}),
    );
    assert_eq!(sh_ok(&lab, &format!("readlink {plain}")), "releases/1");

    let dangling = format!("{dir}/dangling");
    let missing = lab.run(
        "file",
        json!({"path": dangling, "state": "link", "src": "/nope"}),
        false,
    );
    assert!(failure(&missing).contains("src file does not exist"));
    lab.converge(
        "file",
        json!({"path": dangling, "state": "link", "src": "/nope", "force": true}),
    );
    assert_eq!(sh_ok(&lab, &format!("readlink {dangling}")), "/nope");
}

#[test]
fn file_touch_modes_and_absent() {
    let Setup { lab, dir, .. } = setup("file_misc");
    let path = format!("{dir}/stamp");
    let touch = json!({"path": path, "state": "touch", "mode": "0600"});
    assert_status(&lab.run("file", touch.clone(), false), Status::Changed);
    assert_eq!(attrs(&lab, &path), "600 root root");
    assert_eq!(cat(&lab, &path), "");
    // Like Ansible: touching always changes (the times).
    sh_ok(&lab, &format!("touch -d 2001-01-01 {path}"));
    assert_status(&lab.run("file", touch, false), Status::Changed);
    assert_ne!(sh_ok(&lab, &format!("date -r {path} +%Y")), "2001");

    let chmod = lab.converge(
        "file",
        json!({"path": path, "mode": "0644", "group": "deploy"}),
    );
    assert_eq!(
        chmod.diff.as_deref(),
        Some("mode: 0600 -> 0644\ngroup: root -> deploy\n")
    );
    assert_eq!(attrs(&lab, &path), "644 root deploy");

    let missing = lab.run(
        "file",
        json!({"path": format!("{dir}/nope"), "mode": "0644"}),
        false,
    );
    assert_eq!(
        failure(&missing),
        format!("file ({dir}/nope) is absent, cannot continue")
    );

    sh_ok(
        &lab,
        &format!("mkdir -p {dir}/tree/x && touch {dir}/tree/x/y"),
    );
    let absent = json!({"path": format!("{dir}/tree"), "state": "absent"});
    check_changes_nothing(&lab, "file", absent.clone(), &dir);
    let removed = lab.converge("file", absent);
    assert_eq!(
        removed.diff.as_deref(),
        Some("state: directory -> absent\n")
    );
    assert_eq!(lab.sh(&format!("test -e {dir}/tree")).0, 1);
}

const SSHD: &str = "# config\nPort 22\n#PasswordAuthentication yes\nUsePAM yes\n";

#[test]
fn lineinfile_edits_exactly_and_keeps_attributes() {
    let Setup { lab, dir, .. } = setup("lineinfile");
    let path = format!("{dir}/sshd_config");
    sh_ok(
        &lab,
        &format!(
            "printf '{}' > {path} && chown deploy {path} && chmod 0600 {path}",
            SSHD.replace('\n', "\\n")
        ),
    );
    let edit = |extra: Value| {
        let mut params = json!({"path": path});
        params
            .as_object_mut()
            .expect("map")
            .extend(extra.as_object().expect("map").clone());
        params
    };

    let replace =
        edit(json!({"regexp": "^#?PasswordAuthentication", "line": "PasswordAuthentication no"}));
    let check = check_changes_nothing(&lab, "lineinfile", replace.clone(), &dir);
    assert!(
        check
            .diff
            .unwrap_or_default()
            .contains("-#PasswordAuthentication yes\n+PasswordAuthentication no\n")
    );
    let first = lab.converge("lineinfile", replace);
    assert_eq!(first.msg.as_deref(), Some("line replaced"));
    assert_eq!(
        cat(&lab, &path),
        "# config\nPort 22\nPasswordAuthentication no\nUsePAM yes\n"
    );
    assert_eq!(attrs(&lab, &path), "600 deploy root");

    lab.converge(
        "lineinfile",
        edit(json!({"line": "UseDNS no", "insertafter": "^Port"})),
    );
    lab.converge(
        "lineinfile",
        edit(json!({"line": "# managed", "insertbefore": "BOF"})),
    );
    lab.converge(
        "lineinfile",
        edit(json!({"regexp": "^(Port) \\d+$", "line": "\\1 2222", "backrefs": true})),
    );
    assert_eq!(
        cat(&lab, &path),
        "# managed\n# config\nPort 2222\nUseDNS no\nPasswordAuthentication no\nUsePAM yes\n"
    );

    let removed = lab.converge(
        "lineinfile",
        edit(json!({"regexp": "^#", "state": "absent"})),
    );
    assert_eq!(removed.msg.as_deref(), Some("2 line(s) removed"));
    assert_eq!(
        cat(&lab, &path),
        "Port 2222\nUseDNS no\nPasswordAuthentication no\nUsePAM yes\n"
    );
    assert_eq!(attrs(&lab, &path), "600 deploy root");

    let created = format!("{dir}/conf.d/new.conf");
    let create = json!({"path": created, "line": "x=1", "create": true, "mode": "0640"});
    check_changes_nothing(&lab, "lineinfile", create.clone(), &dir);
    lab.converge("lineinfile", create);
    assert_eq!(cat(&lab, &created), "x=1\n");
    assert_eq!(attrs(&lab, &created), "640 root root");
    let missing = lab.run(
        "lineinfile",
        json!({"path": format!("{dir}/nope"), "line": "x"}),
        false,
    );
    assert!(failure(&missing).contains("does not exist"));
}

#[test]
fn lineinfile_writes_through_symlinks() {
    let Setup { lab, dir, .. } = setup("lineinfile_link");
    sh_ok(
        &lab,
        &format!("printf 'a\\n' > {dir}/real && ln -s real {dir}/link"),
    );
    lab.converge(
        "lineinfile",
        json!({"path": format!("{dir}/link"), "line": "b"}),
    );
    assert_eq!(sh_ok(&lab, &format!("readlink {dir}/link")), "real");
    assert_eq!(cat(&lab, &format!("{dir}/real")), "a\nb\n");
}

#[test]
fn blockinfile_inserts_replaces_and_removes_blocks() {
    let Setup { lab, dir, .. } = setup("blockinfile");
    let path = format!("{dir}/hosts");
    sh_ok(
        &lab,
        &format!("printf '127.0.0.1 localhost\\n::1 localhost\\n' > {path} && chmod 0644 {path}"),
    );
    let block = |text: &str| json!({"path": path, "block": text, "insertafter": "^127"});
    let check = check_changes_nothing(&lab, "blockinfile", block("10.0.0.1 db\n"), &dir);
    assert!(check.diff.unwrap_or_default().contains("+10.0.0.1 db\n"));

    lab.converge("blockinfile", block("10.0.0.1 db\n"));
    assert_eq!(
        cat(&lab, &path),
        "127.0.0.1 localhost\n# BEGIN FLEET MANAGED BLOCK\n10.0.0.1 db\n# END FLEET MANAGED BLOCK\n::1 localhost\n"
    );
    let replaced = lab.converge("blockinfile", block("10.0.0.1 db\n10.0.0.2 cache"));
    assert_eq!(replaced.msg.as_deref(), Some("Block replaced"));
    assert_eq!(
        cat(&lab, &path),
        "127.0.0.1 localhost\n# BEGIN FLEET MANAGED BLOCK\n10.0.0.1 db\n10.0.0.2 cache\n\
         # END FLEET MANAGED BLOCK\n::1 localhost\n"
    );
    let custom =
        json!({"path": path, "block": "top", "marker": "## {mark} extra", "insertbefore": "BOF"});
    lab.converge("blockinfile", custom);
    assert!(
        cat(&lab, &path).starts_with("## BEGIN extra\ntop\n## END extra\n127.0.0.1 localhost\n")
    );

    lab.converge("blockinfile", json!({"path": path, "state": "absent"}));
    lab.converge(
        "blockinfile",
        json!({"path": path, "state": "absent", "marker": "## {mark} extra"}),
    );
    assert_eq!(cat(&lab, &path), "127.0.0.1 localhost\n::1 localhost\n");
    assert_eq!(attrs(&lab, &path), "644 root root");

    let created = format!("{dir}/new.conf");
    lab.converge(
        "blockinfile",
        json!({"path": created, "block": "k=v", "create": true, "mode": "0600"}),
    );
    assert_eq!(
        cat(&lab, &created),
        "# BEGIN FLEET MANAGED BLOCK\nk=v\n# END FLEET MANAGED BLOCK\n"
    );
    assert_eq!(attrs(&lab, &created), "600 root root");
}

#[test]
fn stat_reports_what_the_host_has() {
    let Setup { lab, dir, .. } = setup("stat");
    let path = format!("{dir}/data");
    sh_ok(
        &lab,
        &format!(
            "printf 'hello\\n' > {path} && chown deploy {path} && chmod 0640 {path} && ln -s data {dir}/link"
        ),
    );
    let outcome = lab.run("stat", json!({"path": path}), false);
    assert_status(&outcome, Status::Ok);
    let stat = &outcome.data["stat"];
    assert_eq!(stat["exists"], true);
    assert_eq!(stat["isreg"], true);
    assert_eq!(stat["isdir"], false);
    assert_eq!(stat["mode"], "0640");
    assert_eq!(stat["size"], 6);
    assert_eq!(stat["pw_name"], "deploy");
    assert_eq!(stat["gr_name"], "root");
    assert_eq!(stat["uid"].to_string(), sh_ok(&lab, "id -u deploy"));
    let sha1 = sh_ok(&lab, &format!("sha1sum {path} | cut -d' ' -f1"));
    assert_eq!(stat["checksum"], Value::from(sha1));
    let mtime = sh_ok(&lab, &format!("stat -c %Y {path}"));
    assert_eq!(
        stat["mtime"].as_f64().map(|t| t.floor().to_string()),
        Some(mtime)
    );

    let link = lab
        .run("stat", json!({"path": format!("{dir}/link")}), false)
        .data;
    assert_eq!(link["stat"]["islnk"], true);
    assert_eq!(link["stat"]["lnk_target"], "data");
    assert!(link["stat"].get("checksum").is_none());
    let followed = lab
        .run(
            "stat",
            json!({"path": format!("{dir}/link"), "follow": true}),
            false,
        )
        .data;
    assert_eq!(followed["stat"]["isreg"], true);
    let dir_stat = lab.run("stat", json!({"path": dir}), false).data;
    assert_eq!(dir_stat["stat"]["isdir"], true);
    let missing = lab.run("stat", json!({"path": format!("{dir}/nope")}), true);
    assert_status(&missing, Status::Ok);
    assert_eq!(missing.data["stat"], json!({"exists": false}));
}
