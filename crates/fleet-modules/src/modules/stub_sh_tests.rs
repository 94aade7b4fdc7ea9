//! For tests: runs a module's script in a real `sh`, with programs replaced
//! by shell functions (or, for names such as `apt-get` that cannot be one,
//! by programs on `PATH`) that print the words they were given, so a test
//! sees what a hostile value becomes on a host without one.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{Script, Step, StepOutput};

/// `argv NAME ARGS...` prints `NAME [ARG] [ARG]...` on one line.
const ARGV: &str = "argv() { printf '%s' \"$1\"; shift; \
                    for word in \"$@\"; do printf ' [%s]' \"$word\"; done; echo; }\n";

/// Shell functions named after `programs` that print their argv instead of
/// running.
pub(crate) fn argv_stubs(programs: &[&str]) -> String {
    programs
        .iter()
        .map(|name| format!("{name}() {{ argv {name} \"$@\"; }}\n"))
        .collect()
}

/// Runs `script` with `sh -c` after `stubs` (function definitions), in a
/// temp dir, with `stdin` on its stdin.
pub(crate) fn run(stubs: &str, script: &Script, stdin: &[u8]) -> StepOutput {
    let path = std::env::var("PATH").unwrap_or_default();
    sh(&format!("{ARGV}{stubs}{script}"), &path, stdin)
}

/// [`run`], with `programs` replaced by ones that print their words, first
/// on `PATH`.
pub(crate) fn run_with_programs(
    programs: &[&str],
    stubs: &str,
    script: &Script,
    stdin: &[u8],
) -> StepOutput {
    let bin = std::env::temp_dir().join(format!("fleet-stubs-{}", fleet_shell::token()));
    std::fs::create_dir_all(&bin).expect("temp dir");
    // A child writes the programs, so that no thread of this process forks
    // while one is open for writing (running it would fail: "text file
    // busy").
    let written = Command::new("sh")
        .arg("-c")
        .arg(
            "cd \"$1\" && printf '%s\\n' '#!/bin/sh' \"$2\" 'argv \"${0##*/}\" \"$@\"' > argv && \
             chmod 755 argv && shift 2 && for name in \"$@\"; do ln -s argv \"$name\"; done",
        )
        .arg("sh")
        .arg(&bin)
        .arg(ARGV.trim_end())
        .args(programs)
        .status()
        .expect("sh runs");
    assert!(written.success());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sh(&format!("{ARGV}{stubs}{script}"), &path, stdin);
    let _ = std::fs::remove_dir_all(&bin);
    out
}

fn sh(text: &str, path: &str, stdin: &[u8]) -> StepOutput {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(text)
        .env("PATH", path)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    // A script that does not read its stdin may exit before the write.
    let _ = child.stdin.take().expect("piped").write_all(stdin);
    let out = child.wait_with_output().expect("sh finishes");
    StepOutput {
        rc: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a `Step::Run` as [`run`] does, with its own stdin.
pub(crate) fn run_step(stubs: &str, step: &Step) -> StepOutput {
    match step {
        Step::Run { script, stdin } => run(
            stubs,
            script,
            stdin.as_ref().map_or(&[][..], |stdin| stdin.bytes()),
        ),
        other => panic!("not a script: {other:?}"),
    }
}

/// The scripts of `steps`, in order; `upload DEST` for an upload.
pub(crate) fn scripts(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|step| match step {
            Step::Run { script, .. } => script.to_string(),
            Step::Upload { dest, .. } => format!("upload {dest}"),
            Step::Fetch { src, .. } => format!("fetch {src}"),
            Step::Rsync { dest, .. } => format!("rsync {dest}"),
        })
        .collect()
}
