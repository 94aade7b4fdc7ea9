//! The local transport on real `sh` runs.

use std::time::{Duration, Instant};

use fleet_ssh::{Become, ExecOptions, SshError, Stream};

use super::{LocalShell, runs_as};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-local-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The controller's own user: `become` to it needs no sudo.
fn me() -> Become {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .expect("current user");
    Become {
        user,
        ..Become::root()
    }
}

#[test]
fn each_command_has_its_own_output_and_exit_code() {
    let shell = LocalShell::new("ctl");
    let rt = runtime();
    let out = rt
        .block_on(shell.exec_collect("echo out; echo err >&2; exit 3", &ExecOptions::default()))
        .expect("exec");
    assert_eq!(
        (out.status, out.stdout.as_slice(), out.stderr.as_slice()),
        (3, &b"out\n"[..], &b"err\n"[..])
    );
    let killed = rt
        .block_on(shell.exec_collect("kill -TERM $$", &ExecOptions::default()))
        .expect("exec");
    assert_eq!(killed.status, 128 + 15);
}

#[test]
fn output_streams_as_it_comes() {
    let shell = LocalShell::new("ctl");
    let mut chunks = Vec::new();
    let status = runtime()
        .block_on(shell.exec(
            "printf a; printf b >&2; printf c",
            &ExecOptions::default(),
            &mut |stream, data| chunks.push((stream, data.to_vec())),
        ))
        .expect("exec");
    assert_eq!(status, 0);
    let stdout: Vec<u8> = chunks
        .iter()
        .filter(|(stream, _)| *stream == Stream::Stdout)
        .flat_map(|(_, data)| data.clone())
        .collect();
    assert_eq!(stdout, b"ac");
}

#[test]
fn stdin_reaches_the_command() {
    let shell = LocalShell::new("ctl");
    let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let opts = ExecOptions {
        stdin: Some(data.clone()),
        ..ExecOptions::default()
    };
    let out = runtime()
        .block_on(shell.exec_collect("cat", &opts))
        .expect("exec");
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout, data);
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = scratch("timeout");
    let late = dir.join("late");
    let shell = LocalShell::new("ctl");
    let opts = ExecOptions {
        timeout: Some(Duration::from_millis(300)),
        ..ExecOptions::default()
    };
    let script = format!("(sleep 1; touch {}) & sleep 5", late.display());
    let started = Instant::now();
    let err = runtime()
        .block_on(shell.exec_collect(&script, &opts))
        .expect_err("times out");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(err, SshError::Timeout { ref host, .. } if host == "ctl"),
        "{err}"
    );
    assert_eq!(err.to_string(), "ctl: command timed out after 0.3s");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!late.exists(), "the background child was killed too");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn become_the_controllers_own_user_runs_directly() {
    assert!(runs_as(&me()));
    let shell = LocalShell::new("ctl");
    let opts = ExecOptions {
        r#become: Some(me()),
        stdin: Some(b"data".to_vec()),
        ..ExecOptions::default()
    };
    let out = runtime()
        .block_on(shell.exec_collect("cat; id -un", &opts))
        .expect("exec");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("data{}\n", me().user)
    );
    assert!(out.stderr.is_empty(), "no sudo marker");
}

#[test]
fn become_another_user_goes_through_sudo() {
    let other = Become {
        user: "fleet-nobody-such-user".into(),
        ..Become::root()
    };
    assert!(!runs_as(&other));
    let shell = LocalShell::new("ctl");
    let opts = ExecOptions {
        r#become: Some(other),
        ..ExecOptions::default()
    };
    let err = runtime()
        .block_on(shell.exec_collect("echo never", &opts))
        .expect_err("sudo refuses or is missing");
    assert!(
        matches!(err, SshError::BecomeFailed { ref user, .. } if user == "fleet-nobody-such-user"),
        "{err}"
    );
}

#[test]
fn become_with_su_runs_through_the_users_shell_and_names_su_when_refused() {
    let su = |user: &str, flags: &[&str]| ExecOptions {
        r#become: Some(Become {
            user: user.into(),
            method: fleet_ssh::BecomeMethod::Su {
                flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
            },
            ..Become::root()
        }),
        stdin: Some(b"fed".to_vec()),
        ..ExecOptions::default()
    };
    let shell = LocalShell::new("ctl");
    let rt = runtime();
    let err = rt
        .block_on(shell.exec_collect("echo never", &su("fleet-nobody-such-user", &[])))
        .expect_err("no such user");
    assert!(
        matches!(err, SshError::BecomeFailed { method: "su", .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("become (su fleet-nobody-such-user)"),
        "{err}"
    );
    if me().user != "root" {
        // Only root switches users without a password.
        return;
    }
    let out = rt
        .block_on(shell.exec_collect("id -un; cat", &su("nobody", &["-s", "/bin/sh"])))
        .expect("su runs");
    assert_eq!(out.status, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "nobody\nfed");
    assert!(out.stderr.is_empty(), "no marker: {:?}", out.stderr);
}

#[test]
fn uploads_are_atomic_files_with_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("upload");
    let dest = dir.join("app.conf");
    let shell = LocalShell::new("ctl");
    let rt = runtime();
    let dest_text = dest.to_str().expect("utf-8 path");
    rt.block_on(shell.upload(b"v1\n", dest_text, 0o640, None, None))
        .expect("upload");
    assert_eq!(std::fs::read(&dest).expect("read"), b"v1\n");
    let mode = std::fs::metadata(&dest).expect("stat").permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);
    let missing = dir.join("no/such/dir/f");
    let err = rt
        .block_on(shell.upload(b"x", missing.to_str().expect("utf-8"), 0o644, None, None))
        .expect_err("no directory");
    assert!(matches!(err, SshError::Upload { .. }), "{err}");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temp file left: {names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dropping_the_exec_kills_the_command() {
    let dir = scratch("drop");
    let late = dir.join("late");
    let shell = LocalShell::new("ctl");
    let script = format!("sleep 1; touch {}", late.display());
    let rt = runtime();
    rt.block_on(async {
        let opts = ExecOptions::default();
        let run = shell.exec_collect(&script, &opts);
        let _ = tokio::time::timeout(Duration::from_millis(200), run).await;
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!late.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
