//! `git`: clones and updates from a repository on the host itself (a path
//! and SSH to the host's own sshd), as the lab has no internet.

use fleet_engine::Status;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::{Value, json};

use super::{apt_install, host, sh_ok};

const DIR: &str = "/srv/fleet-remote-git";

/// Commits in the source repository on the host.
fn commit(lab: &LabHost, branch: &str, content: &str) {
    sh_ok(
        lab,
        &format!(
            "cd {DIR}/src && git checkout -q {branch} && echo {content} > file && \
             git -c user.email=t@e -c user.name=t commit -q -am {content} && git checkout -q main"
        ),
    );
}

fn head(lab: &LabHost, path: &str) -> String {
    sh_ok(lab, &format!("git -C {path} rev-parse HEAD"))
}

fn file(lab: &LabHost, path: &str) -> String {
    sh_ok(lab, &format!("cat {path}/file"))
}

fn params(extra: Value) -> Value {
    let mut params = json!({"repo": format!("{DIR}/src"), "dest": format!("{DIR}/app")});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    params
}

#[test]
fn git_clones_updates_and_switches_versions() {
    let lab = host();
    apt_install(&lab, "git");
    sh_ok(
        &lab,
        &format!(
            "rm -rf {DIR} && mkdir -p {DIR} && cd {DIR} && git init -q -b main src && cd src && \
             c() {{ git -c user.email=t@e -c user.name=t \"$@\"; }} && \
             echo one > file && git add file && c commit -q -m one && git tag v1 && \
             echo two > file && c commit -q -am two && c tag -a v2 -m v2 && git branch dev"
        ),
    );
    let app = format!("{DIR}/app");

    // Check mode clones nothing, and says what it would check out.
    let check = lab.run("git", params(json!({})), true);
    assert_status(&check, Status::Changed);
    assert_eq!(
        check.data["after"],
        json!(head(&lab, &format!("{DIR}/src")))
    );
    assert_eq!(lab.sh(&format!("test -e {app}")).0, 1);

    let cloned = lab.converge("git", params(json!({})));
    assert_eq!(cloned.data["before"], Value::Null);
    assert_eq!(
        cloned.data["after"],
        json!(head(&lab, &format!("{DIR}/src")))
    );
    assert_eq!(file(&lab, &app), "two");
    assert_eq!(
        sh_ok(&lab, &format!("git -C {app} remote get-url origin")),
        format!("file://{DIR}/src")
    );

    // A tag, then a branch.
    lab.converge("git", params(json!({"version": "v1"})));
    assert_eq!(file(&lab, &app), "one");
    lab.converge("git", params(json!({"version": "dev"})));
    assert_eq!(
        sh_ok(&lab, &format!("git -C {app} rev-parse --abbrev-ref HEAD")),
        "dev"
    );

    // An upstream commit: check mode sees it without fetching it.
    commit(&lab, "dev", "three");
    let before = head(&lab, &app);
    let check = lab.run("git", params(json!({"version": "dev"})), true);
    assert_status(&check, Status::Changed);
    assert_eq!(head(&lab, &app), before);
    let updated = lab.converge("git", params(json!({"version": "dev"})));
    assert_eq!(updated.data["before"], json!(before));
    assert_eq!(updated.data["remote_url_changed"], json!(false));
    assert_eq!(file(&lab, &app), "three");

    // Local changes fail without force, and are reset with it.
    commit(&lab, "dev", "four");
    sh_ok(&lab, &format!("echo local > {app}/file"));
    let refused = lab.run("git", params(json!({"version": "dev"})), false);
    assert_status(&refused, Status::Failed);
    assert!(
        refused
            .msg
            .unwrap_or_default()
            .contains("Local modifications exist")
    );
    assert_eq!(file(&lab, &app), "local");
    lab.converge("git", params(json!({"version": "dev", "force": true})));
    assert_eq!(file(&lab, &app), "four");

    // update: no keeps what is there; a new URL is set on the remote.
    let kept = lab.run(
        "git",
        params(json!({"version": "v1", "update": false})),
        false,
    );
    assert_status(&kept, Status::Ok);
    assert_eq!(file(&lab, &app), "four");
    sh_ok(
        &lab,
        &format!("git clone -q --bare {DIR}/src {DIR}/mirror.git"),
    );
    let moved = lab.converge(
        "git",
        params(json!({"repo": format!("{DIR}/mirror.git"), "version": "dev"})),
    );
    assert_eq!(moved.data["remote_url_changed"], json!(true));

    // Shallow and bare clones.
    let shallow = format!("{DIR}/shallow");
    lab.converge(
        "git",
        json!({"repo": format!("{DIR}/src"), "dest": shallow, "depth": 1, "version": "v2"}),
    );
    assert_eq!(
        sh_ok(&lab, &format!("git -C {shallow} rev-list --count HEAD")),
        "1"
    );
    let bare = format!("{DIR}/bare.git");
    lab.converge(
        "git",
        json!({"repo": format!("{DIR}/src"), "dest": bare, "bare": true, "single_branch": true}),
    );
    assert_eq!(
        sh_ok(
            &lab,
            &format!("git -C {bare} rev-parse --is-bare-repository")
        ),
        "true"
    );
}

#[test]
fn git_clones_over_ssh_from_the_host_itself() {
    let lab = host();
    apt_install(&lab, "git");
    let dir = "/srv/fleet-remote-git-ssh";
    let key = format!("{dir}/id");
    sh_ok(
        &lab,
        &format!(
            "rm -rf {dir} && mkdir -p {dir} && \
             (id fleet-git >/dev/null 2>&1 || useradd -m -s /bin/sh fleet-git) && usermod -p '*' fleet-git && \
             ssh-keygen -q -t ed25519 -N '' -C '' -f {key} && \
             install -d -m 700 -o fleet-git -g fleet-git ~fleet-git/.ssh && \
             install -m 600 -o fleet-git -g fleet-git {key}.pub ~fleet-git/.ssh/authorized_keys && \
             rm -rf ~fleet-git/src.git && \
             git init -q -b main {dir}/seed && cd {dir}/seed && echo ssh > file && git add file && \
             git -c user.email=t@e -c user.name=t commit -q -m ssh && \
             git clone -q --bare {dir}/seed ~fleet-git/src.git && chown -R fleet-git: ~fleet-git/src.git"
        ),
    );
    let repo = "fleet-git@127.0.0.1:src.git";
    let over_ssh = |extra: Value| {
        let mut params = json!({"repo": repo, "dest": format!("{dir}/app"), "key_file": key, "ssh_opts": "-o UserKnownHostsFile=/dev/null"});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        params
    };
    // The host key is unknown: without accept_hostkey, BatchMode refuses.
    let refused = lab.run("git", over_ssh(json!({})), false);
    assert_status(&refused, Status::Failed);
    let cloned = lab.converge("git", over_ssh(json!({"accept_hostkey": true})));
    assert!(
        cloned.data["after"]
            .as_str()
            .is_some_and(|sha| sha.len() == 40)
    );
    assert_eq!(sh_ok(&lab, &format!("cat {dir}/app/file")), "ssh");
    sh_ok(
        &lab,
        &format!("rm -rf {dir} && userdel -r fleet-git 2>/dev/null; true"),
    );
}
