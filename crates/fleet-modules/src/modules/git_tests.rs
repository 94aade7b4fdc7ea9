use super::*;
use crate::modules::command::stub_sh::{run, run_step};
use crate::modules::git_facts::head_splitter;
use crate::modules::tests::NoFiles;
use std::path::{Path, PathBuf};
use std::process::Command;

fn module(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

#[test]
fn params_follow_ansible() {
    assert!(
        build(json!({"repo": "r"}), &NoFiles).is_err(),
        "dest needed"
    );
    assert!(build(json!({"repo": "r", "clone": false}), &NoFiles).is_ok());
    assert!(
        build(
            json!({"repo": "r", "dest": "/d", "accept_hostkey": true, "accept_newhostkey": true}),
            &NoFiles
        )
        .is_err()
    );
    assert!(
        build(
            json!({"repo": "r", "dest": "/d", "version": "-x"}),
            &NoFiles
        )
        .is_err()
    );
    assert!(build(json!({"repo": "r", "dest": "/d", "refspec": "x"}), &NoFiles).is_err());
    assert!(
        build(
            json!({"name": "r", "dest": "/d", "version": 1.5, "depth": "1"}),
            &NoFiles
        )
        .is_ok()
    );
}

#[test]
fn the_ssh_command_is_built_as_ansible_builds_it() {
    let params = |extra: Value| -> GitParams {
        let mut map = json!({"repo": "r", "dest": "/d"});
        map.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(map).unwrap()
    };
    assert_eq!(ssh_command(&params(json!({}))), "ssh  -o BatchMode=yes");
    assert_eq!(
        ssh_command(&params(json!({"accept_hostkey": true, "key_file": "/k"}))),
        "ssh  -o StrictHostKeyChecking=no -o BatchMode=yes  -i /k -o IdentitiesOnly=yes"
    );
    assert_eq!(
        ssh_command(&params(
            json!({"accept_newhostkey": true, "ssh_opts": "-p 2222"})
        )),
        "ssh  -p 2222 -o StrictHostKeyChecking=accept-new -o BatchMode=yes"
    );
}

#[test]
fn head_files_name_their_branch() {
    assert_eq!(
        head_splitter("ref: refs/heads/main", "origin").as_deref(),
        Some("main")
    );
    assert_eq!(
        head_splitter("ref: refs/heads/feature/x", "origin").as_deref(),
        Some("feature/x")
    );
    assert_eq!(
        head_splitter("ref: refs/remotes/origin/main", "origin").as_deref(),
        Some("main")
    );
    assert_eq!(head_splitter("", "origin"), None);
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

const REFS: &str = "1111111111111111111111111111111111111111\tHEAD\n\
                    1111111111111111111111111111111111111111\trefs/heads/main\n\
                    2222222222222222222222222222222222222222\trefs/heads/dev\n\
                    3333333333333333333333333333333333333333\trefs/tags/v1\n\
                    4444444444444444444444444444444444444444\trefs/tags/v2\n\
                    2222222222222222222222222222222222222222\trefs/tags/v2^{}\n";

fn checkout(extra: &str) -> Probe {
    Probe::ok(&format!(
        "dest=/srv/app\nconfig=1\nbefore=1111111111111111111111111111111111111111\nstatus={}\nremote_url=file:///srv/src\nhead=ref: refs/heads/main\n{extra}ls_rc=0\nrefs={}\nls_error=\n",
        b64(""),
        b64(REFS)
    ))
}

#[test]
fn check_mode_verdicts_come_from_ls_remote() {
    let at_head = module(json!({"repo": "/srv/src", "dest": "/srv/app"}));
    let plan = at_head.plan(&checkout("")).unwrap();
    assert!(!plan.changed, "{plan:?}");
    assert_eq!(plan.data["remote_url_changed"], json!(false));
    let tag = module(json!({"repo": "/srv/src", "dest": "/srv/app", "version": "v2"}));
    let plan = tag.plan(&checkout("")).unwrap();
    assert!(plan.changed);
    assert_eq!(
        plan.data["after"],
        json!("2222222222222222222222222222222222222222")
    );
    let moved = module(json!({"repo": "file:///srv/other", "dest": "/srv/app"}));
    let plan = moved.plan(&checkout("")).unwrap();
    assert!(plan.changed);
    assert_eq!(plan.data["remote_url_changed"], json!(true));
    let fresh = module(json!({"repo": "/srv/src", "dest": "/srv/new"}));
    let plan = fresh
        .plan(&Probe::ok(&format!(
            "dest=/srv/new\nls_rc=0\nrefs={}\n",
            b64(REFS)
        )))
        .unwrap();
    assert!(plan.changed);
    assert_eq!(plan.data["before"], Value::Null);
    assert_eq!(
        plan.data["after"],
        json!("1111111111111111111111111111111111111111")
    );
}

#[test]
fn local_changes_fail_without_force_and_are_reset_with_it() {
    let dirty = Probe::ok(&checkout("").stdout.replace(
        &format!("status={}", b64("")),
        &format!("status={}", b64("?? new\n M tracked\n")),
    ));
    let keep = module(json!({"repo": "/srv/src", "dest": "/srv/app"}));
    let err = keep.plan(&dirty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Local modifications exist in the destination: /srv/app (force=no)."
    );
    let force = module(json!({"repo": "/srv/src", "dest": "/srv/app", "force": true}));
    let plan = force.plan(&dirty).unwrap();
    let text = plan.steps[0].script_text().unwrap();
    assert!(
        text.ends_with("\"$git\" -C \"$dest\" reset --hard HEAD >/dev/null\n"),
        "{text}"
    );
    let untracked = Probe::ok(&checkout("").stdout.replace(
        &format!("status={}", b64("")),
        &format!("status={}", b64("?? new\n")),
    ));
    assert!(keep.plan(&untracked).is_ok());
}

#[test]
fn fetch_takes_the_refs_ansible_takes() {
    let facts = Facts::parse(&checkout("").stdout).unwrap();
    let git = |extra: Value| {
        let mut params = json!({"repo": "/srv/src", "dest": "/srv/app"});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        downcast(params)
    };
    let render = |g: Box<Git>| g.fetch(&facts).render();
    assert_eq!(
        render(git(json!({}))),
        "\"$git\" -C \"$dest\" fetch --tags origin"
    );
    assert_eq!(
        render(git(json!({"depth": 1, "version": "dev", "force": true}))),
        "\"$git\" -C \"$dest\" fetch --depth 1 --force origin -- +refs/heads/dev:refs/heads/dev +refs/heads/dev:refs/remotes/origin/dev"
    );
    assert_eq!(
        render(git(json!({"depth": 1}))),
        "\"$git\" -C \"$dest\" fetch --depth 1 origin -- main"
    );
    assert_eq!(
        render(git(json!({"bare": true}))),
        "\"$git\" -C \"$dest\" fetch origin -- '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'"
    );
}

fn downcast(params: Value) -> Box<Git> {
    let params: GitParams = serde_json::from_value(params).unwrap();
    let repo = if params.repo.starts_with('/') {
        format!("file://{}", params.repo)
    } else {
        params.repo.clone()
    };
    let ssh_command = ssh_command(&params);
    Box::new(Git {
        params,
        repo,
        ssh_command,
    })
}

/// A scratch directory with a source repository: `main` (two commits),
/// `dev`, tag `v1` (first commit) and annotated `v2`.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Option<Scratch> {
        Command::new("git").arg("--version").output().ok()?;
        let dir = std::env::temp_dir().join(format!("fleet-git-{}", fleet_shell::token()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = "set -e; git init -q -b main src; cd src; \
             c() { git -c user.email=t@e -c user.name=t \"$@\"; }; \
             echo one > file; git add file; c commit -q -m one; git tag v1; \
             echo two > file; c commit -q -am two; c tag -a v2 -m v2; \
             git branch dev; git checkout -q dev; echo dev > file; c commit -q -am dev; git checkout -q main";
        let ok = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        Some(Scratch(dir))
    }

    fn src(&self) -> String {
        self.0.join("src").display().to_string()
    }

    fn sh(&self, text: &str) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(text)
            .current_dir(&self.0)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Probes, plans and runs the steps with the real `git`, as the engine
/// would: the verdict and the registered data.
fn apply(module: &dyn Module) -> Result<Applied, String> {
    let probe = run("", &module.probe().unwrap(), b"");
    let plan = module
        .plan(&Probe::ok(&probe.stdout))
        .map_err(|err| err.to_string())?;
    let mut outputs = Vec::new();
    for step in &plan.steps {
        let out = run_step("", step);
        let failed = out.rc != 0;
        outputs.push(out);
        if failed {
            return Err(format!("{outputs:?}"));
        }
    }
    Ok(module.applied(&outputs).unwrap_or(Applied {
        changed: plan.changed,
        data: plan.data,
        msg: None,
    }))
}

fn head(path: &Path) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn clones_updates_and_switches_versions_with_the_real_git() {
    let Some(scratch) = Scratch::new() else {
        return;
    };
    let dest = scratch.0.join("work/app");
    let src = scratch.src();
    let git = |extra: Value| {
        let mut params = json!({"repo": src, "dest": dest.display().to_string()});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        module(params)
    };
    let cloned = apply(git(json!({})).as_ref()).unwrap();
    assert!(cloned.changed);
    let main = head(&scratch.0.join("src"));
    assert_eq!(cloned.data["after"], json!(main));
    assert_eq!(cloned.data["before"], Value::Null);
    assert_eq!(std::fs::read_to_string(dest.join("file")).unwrap(), "two\n");
    let again = apply(git(json!({})).as_ref()).unwrap();
    assert!(!again.changed, "{again:?}");
    assert_eq!(again.data["remote_url_changed"], json!(false));

    let tagged = apply(git(json!({"version": "v1"})).as_ref()).unwrap();
    assert!(tagged.changed);
    assert_eq!(std::fs::read_to_string(dest.join("file")).unwrap(), "one\n");
    assert!(
        !apply(git(json!({"version": "v1"})).as_ref())
            .unwrap()
            .changed
    );

    let dev = apply(git(json!({"version": "dev"})).as_ref()).unwrap();
    assert!(dev.changed);
    assert_eq!(std::fs::read_to_string(dest.join("file")).unwrap(), "dev\n");
    assert_eq!(
        scratch.sh(&format!(
            "git -C {} rev-parse --abbrev-ref HEAD",
            dest.display()
        )),
        "dev"
    );

    // A new commit upstream is fetched; a local change needs force.
    scratch.sh("cd src && git checkout -q dev && echo dev2 > file && git -c user.email=t@e -c user.name=t commit -q -am dev2 && git checkout -q main");
    std::fs::write(dest.join("file"), "local\n").unwrap();
    let err = apply(git(json!({"version": "dev"})).as_ref()).unwrap_err();
    assert!(err.contains("Local modifications exist"), "{err}");
    let forced = apply(git(json!({"version": "dev", "force": true})).as_ref()).unwrap();
    assert!(forced.changed);
    assert_eq!(
        std::fs::read_to_string(dest.join("file")).unwrap(),
        "dev2\n"
    );

    // update: no leaves the checkout where it is.
    let stay = apply(git(json!({"version": "main", "update": false})).as_ref()).unwrap();
    assert!(!stay.changed);
    assert_eq!(
        std::fs::read_to_string(dest.join("file")).unwrap(),
        "dev2\n"
    );

    // A shallow single-branch clone of a tag, and a bare clone.
    let shallow = scratch.0.join("shallow");
    let shallow_git = module(
        json!({"repo": src, "dest": shallow.display().to_string(), "version": "v2", "depth": 1, "single_branch": true}),
    );
    assert!(apply(shallow_git.as_ref()).unwrap().changed);
    assert_eq!(scratch.sh("git -C shallow rev-list --count HEAD"), "1");
    let shallow_dev = module(
        json!({"repo": src, "dest": shallow.display().to_string(), "version": "dev", "depth": 1}),
    );
    assert!(apply(shallow_dev.as_ref()).unwrap().changed);
    assert_eq!(
        std::fs::read_to_string(shallow.join("file")).unwrap(),
        "dev2\n"
    );
    assert!(!apply(shallow_dev.as_ref()).unwrap().changed);
    let bare = module(
        json!({"repo": src, "dest": scratch.0.join("bare.git").display().to_string(), "bare": true}),
    );
    assert!(apply(bare.as_ref()).unwrap().changed);
    assert_eq!(
        scratch.sh("git -C bare.git rev-parse --is-bare-repository"),
        "true"
    );
    assert!(!apply(bare.as_ref()).unwrap().changed);
}
