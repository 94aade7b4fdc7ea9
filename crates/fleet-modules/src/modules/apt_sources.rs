//! What `apt_repository` and `deb822_repository` share: reading the files
//! of `/etc/apt/sources.list.d`, writing the ones that change, and the
//! cache update after a change, which puts the files back as they were
//! when it fails (as Ansible's modules do).

use base64::Engine;

use crate::text::{decode_base64, unified_diff};
use crate::{Arg, Cmd, ModuleError, Probe, Script, Step, StepOutput};

pub(crate) const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// Prints `file=`, `real=` (symlinks resolved), `mode=` and `content=`
/// (base64) for every regular file among `$files` (a glob, unquoted).
const LIST_FILES: &str = r#"for f in $files; do
[ -f "$f" ] || continue
printf 'file=%s\n' "$f"
printf 'real=%s\n' "$(readlink -f -- "$f")"
stat -L --printf 'mode=%a\n' -- "$f"
printf 'content='; base64 -w0 < "$f"; echo
done
"#;

/// A probe listing the files that `pattern` (a shell glob, e.g.
/// `/etc/apt/sources.list /etc/apt/sources.list.d/*.list`) matches.
pub(crate) fn probe(pattern: &str) -> Script {
    Script::new().set("files", pattern).snippet(LIST_FILES)
}

/// One file the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceFile {
    pub path: String,
    /// Where writes go: the symlink's target, else `path`.
    pub real: String,
    pub mode: u32,
    pub content: String,
}

/// Reads the probe's output, in the order the files were listed.
pub(crate) fn parse(probe: &Probe) -> Result<Vec<SourceFile>, ModuleError> {
    let mut files: Vec<SourceFile> = Vec::new();
    for line in probe.stdout.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key == "file" {
            files.push(SourceFile {
                path: value.to_string(),
                real: value.to_string(),
                mode: 0o644,
                content: String::new(),
            });
            continue;
        }
        let Some(file) = files.last_mut() else {
            continue;
        };
        match key {
            "real" if !value.is_empty() => file.real = value.to_string(),
            "mode" => {
                file.mode = u32::from_str_radix(value, 8)
                    .map_err(|err| ModuleError::Probe(format!("mode {value:?}: {err}")))?;
            }
            "content" => {
                let bytes = decode_base64(value, &file.path)?;
                file.content = String::from_utf8_lossy(&bytes).into_owned();
            }
            _ => {}
        }
    }
    Ok(files)
}

/// A file the plan writes or removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileChange {
    pub path: String,
    /// Where the content goes (a symlink's target).
    pub real: String,
    /// `None`: the file did not exist.
    pub before: Option<String>,
    /// `None`: the file is removed.
    pub after: Option<String>,
    pub mode: u32,
}

impl FileChange {
    /// Upload or removal.
    pub fn step(&self) -> Step {
        match &self.after {
            Some(content) => Step::Upload {
                dest: self.real.clone(),
                contents: content.clone().into_bytes(),
                mode: self.mode,
                owner: None,
            },
            None => Step::run(Script::of(
                Cmd::new("rm").flag("-f").operand(self.path.as_str()),
            )),
        }
    }

    /// A unified diff of the change.
    pub fn diff(&self) -> Option<String> {
        unified_diff(
            &self.path,
            self.before.as_deref().unwrap_or_default(),
            self.after.as_deref().unwrap_or_default(),
        )
    }
}

/// Retries `apt-get update` up to `$retries` times, waiting 1, 2, 4 …
/// seconds (at most `$max_delay`) between tries; success ends the step.
const UPDATE: &str = r#"export DEBIAN_FRONTEND=noninteractive
n=0
while :; do
if out=$(apt-get update -q 2>&1); then exit 0; fi
n=$((n + 1))
[ "$n" -lt "$retries" ] || break
d=$((1 << (n - 1)))
[ "$d" -le "$max_delay" ] || d=$max_delay
sleep "$d"
done
"#;

const UPDATE_FAILED: &str = r#"printf 'Failed to update apt cache after %s retries: %s\n' "$retries" "$out" >&2
exit 1
"#;

/// The cache update after `changes`; when every try fails, it puts each
/// file back as it was and fails.
pub(crate) fn update_cache(changes: &[FileChange], retries: u32, max_delay: u32) -> Step {
    let mut script = Script::new()
        .set("retries", retries.max(1).to_string())
        .set("max_delay", max_delay.to_string())
        .snippet(UPDATE);
    for change in changes {
        script = match &change.before {
            None => script.cmd(Cmd::new("rm").flag("-f").operand(change.path.as_str())),
            Some(content) => script
                .set(
                    "b",
                    base64::engine::general_purpose::STANDARD.encode(content.as_bytes()),
                )
                .pipeline([
                    Cmd::without_end_of_options("printf")
                        .arg("%s")
                        .arg(Arg::var("b")),
                    Cmd::new("base64")
                        .flag("-d")
                        .stdout_to(change.real.as_str()),
                ]),
        };
    }
    Step::run(script.snippet(UPDATE_FAILED))
}

/// A failed step's message: what it printed on stderr.
pub(crate) fn outcome(outputs: &[StepOutput]) -> Result<(), ModuleError> {
    match outputs.iter().find(|out| out.rc != 0) {
        Some(out) if !out.stderr.trim().is_empty() => {
            Err(ModuleError::Failed(out.stderr.trim_end().to_string()))
        }
        Some(out) => Err(ModuleError::StepFailed {
            rc: out.rc,
            stderr: String::new(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::run;

    #[test]
    fn the_probe_lists_regular_files_with_their_content() {
        let dir = std::env::temp_dir().join(format!("fleet-apt-sources-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.list"), "deb http://x y z\n").unwrap();
        std::fs::create_dir_all(dir.join("d.list")).unwrap();
        let pattern = format!("{}/*.list {}/missing", dir.display(), dir.display());
        let out = run("", &probe(&pattern), b"");
        let files = parse(&Probe::ok(&out.stdout)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(files.len(), 1, "{}", out.stdout);
        assert!(files[0].path.ends_with("/a.list"));
        assert_eq!(files[0].content, "deb http://x y z\n");
        assert_eq!(files[0].real, files[0].path);
    }

    /// A directory on `PATH` with an `apt-get` that exits with `rc`, and a
    /// `sleep` that does not wait: the stubs to run a script with.
    fn fake_apt(dir: &std::path::Path, rc: i32) -> String {
        let written = std::process::Command::new("sh")
            .arg("-c")
            .arg("mkdir -p \"$1\" && printf '#!/bin/sh\\necho \"E: not signed\"\\nexit %s\\n' \"$2\" > \"$1/apt-get\" && chmod 755 \"$1/apt-get\"")
            .arg("sh")
            .arg(dir)
            .arg(rc.to_string())
            .status()
            .unwrap();
        assert!(written.success());
        format!(
            "PATH={}:$PATH\nsleep() {{ argv sleep \"$@\"; }}\n",
            dir.display()
        )
    }

    #[test]
    fn a_failed_update_retries_then_restores_the_files() {
        let dir = std::env::temp_dir().join(format!("fleet-apt-restore-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (old, new) = (dir.join("old.list"), dir.join("new.list"));
        std::fs::write(&old, "changed\n").unwrap();
        std::fs::write(&new, "added\n").unwrap();
        let text = |path: &std::path::Path| path.display().to_string();
        let changes = [
            FileChange {
                path: text(&old),
                real: text(&old),
                before: Some("deb http://x y z\n".into()),
                after: Some("changed\n".into()),
                mode: 0o644,
            },
            FileChange {
                path: text(&new),
                real: text(&new),
                before: None,
                after: Some("added\n".into()),
                mode: 0o644,
            },
        ];
        let Step::Run { script, .. } = update_cache(&changes, 3, 12) else {
            panic!("a script")
        };
        let bin = dir.join("bin");
        let out = run(&fake_apt(&bin, 100), &script, b"");
        assert_eq!(out.rc, 1);
        assert_eq!(out.stdout, "sleep [1]\nsleep [2]\n");
        assert_eq!(
            out.stderr,
            "Failed to update apt cache after 3 retries: E: not signed\n"
        );
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "deb http://x y z\n");
        assert!(!new.exists());
        let ok = run(&fake_apt(&bin, 0), &script, b"");
        assert_eq!((ok.rc, ok.stderr.as_str()), (0, ""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
