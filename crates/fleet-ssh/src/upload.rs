//! Atomic upload: the bytes go to a temp file next to the destination
//! (`.{name}.fleet-tmp-{token}`, same directory so the rename stays on one
//! filesystem), which gets its mode and owner and is then renamed over the
//! destination. Readers see either the old file or the complete new one.
//! On any failure the temp file is removed and the destination untouched.
//!
//! The bytes travel as the stdin of `cat`, so they are binary-safe, and the
//! whole script runs under sudo when `become` is given.

use fleet_shell::{Arg, Cmd, Script, is_owner_spec};

use crate::SshError;

/// The remote shell script for an upload of stdin to `dest`; any transport
/// runs it with the contents on stdin (`token` names the temp file).
pub fn script(dest: &str, mode: u32, owner: Option<&str>, token: &str) -> Result<String, SshError> {
    let invalid = |why: &str| SshError::Invalid(format!("upload destination {dest:?}: {why}"));
    if dest.is_empty() {
        return Err(invalid("empty path"));
    }
    if dest.ends_with('/') {
        return Err(invalid("is a directory path"));
    }
    if dest.contains('\0') || dest.contains('\n') {
        return Err(invalid("contains a NUL or newline"));
    }
    let (dir, name) = match dest.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((dir, name)) => (dir, name),
        None => (".", dest),
    };
    if name == "." || name == ".." {
        return Err(invalid("names a directory"));
    }
    if let Some(owner) = owner
        && !is_owner_spec(owner)
    {
        return Err(SshError::Invalid(format!(
            "upload to {dest:?}: invalid owner {owner:?} (expected user, user:group or :group)"
        )));
    }
    let tmp = if dir == "/" {
        format!("/.{name}.fleet-tmp-{token}")
    } else {
        format!("{dir}/.{name}.fleet-tmp-{token}")
    };
    // A mode within 0666 comes from the umask as `cat` creates the file, so
    // it needs no `chmod` process; any other mode is set on a file created
    // private (0600) first.
    let mode = mode & 0o7777;
    let (umask, chmod) = if mode & !0o666 == 0 {
        (0o777 & !mode, None)
    } else {
        (0o077, Some(mode))
    };
    let steps = [
        Some(Cmd::without_end_of_options("cat").stdout_to(Arg::var("tmp"))),
        chmod.map(|mode| {
            Cmd::new("chmod")
                .arg(format!("{mode:04o}"))
                .operand(Arg::var("tmp"))
        }),
        owner.map(|owner| Cmd::new("chown").arg(owner).operand(Arg::var("tmp"))),
        Some(
            Cmd::new("mv")
                .flag("-f")
                .operand(Arg::var("tmp"))
                .operand(Arg::var("dest")),
        ),
    ];
    let script = Script::new()
        .set("dest", dest)
        .set("tmp", tmp)
        .snippet(
            "if [ -d \"$dest\" ]; then printf '%s is a directory\\n' \"$dest\" >&2; exit 1; fi",
        )
        .cmd(Cmd::without_end_of_options("umask").arg(format!("{umask:03o}")))
        .all(steps.into_iter().flatten())
        .snippet("rc=$?; if [ \"$rc\" -ne 0 ]; then rm -f -- \"$tmp\"; exit \"$rc\"; fi");
    Ok(script.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_shape() {
        let s = script("/etc/app/my conf's.ini", 0o640, Some("app:app"), "tok").unwrap();
        assert_eq!(
            s,
            "dest='/etc/app/my conf'\"'\"'s.ini'\n\
             tmp='/etc/app/.my conf'\"'\"'s.ini.fleet-tmp-tok'\n\
             if [ -d \"$dest\" ]; then printf '%s is a directory\\n' \"$dest\" >&2; exit 1; fi\n\
             umask 137\n\
             cat >\"$tmp\" && chown app:app -- \"$tmp\" && mv -f -- \"$tmp\" \"$dest\"\n\
             rc=$?; if [ \"$rc\" -ne 0 ]; then rm -f -- \"$tmp\"; exit \"$rc\"; fi\n"
        );
    }

    #[test]
    fn relative_and_root_destinations() {
        let s = script("notes.txt", 0o100644, None, "t").unwrap();
        assert!(
            s.contains("tmp=./.notes.txt.fleet-tmp-t\n")
                && s.contains("umask 133\ncat >\"$tmp\" && mv"),
            "{s}"
        );
        assert!(!s.contains("chmod"), "0644 comes from the umask: {s}");
        assert!(!s.contains("chown"));
        let s = script("run.sh", 0o755, None, "t").unwrap();
        assert!(
            s.contains("umask 077\n") && s.contains("chmod 0755 -- \"$tmp\""),
            "{s}"
        );
        let s = script("/top", 0o600, None, "t").unwrap();
        assert!(s.contains("tmp=/.top.fleet-tmp-t\n"), "{s}");
    }

    #[test]
    fn rejects_bad_input() {
        for dest in ["", "/etc/", "a/..", "x\ny"] {
            assert!(script(dest, 0o644, None, "t").is_err(), "{dest:?}");
        }
        for owner in ["", "a:b:c", "x;rm", "a b", ":", "-R", "app:-R"] {
            assert!(script("/f", 0o644, Some(owner), "t").is_err(), "{owner:?}");
        }
        for owner in ["app", "app:app", ":app", "0:0"] {
            assert!(script("/f", 0o644, Some(owner), "t").is_ok(), "{owner:?}");
        }
    }

    #[test]
    fn script_works_locally() {
        let dir = std::env::temp_dir().join(format!("fleet-ssh-up-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("out.bin");
        let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let run = |data: &[u8], mode: u32| {
            use std::io::Write;
            let s = script(dest.to_str().unwrap(), mode, None, "tk").unwrap();
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg(&s)
                .stdin(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(data).unwrap();
            child.wait().unwrap().code()
        };
        assert_eq!(run(&data, 0o751), Some(0));
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o751);
        // Replacing works too, and leaves no temp file behind.
        assert_eq!(run(b"v2", 0o600), Some(0));
        assert_eq!(std::fs::read(&dest).unwrap(), b"v2");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
