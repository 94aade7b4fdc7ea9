//! Unit tests of `path_facts`, and a temp directory to run module scripts
//! in a real `sh`.

use super::*;
use fleet_shell::Script;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A fresh directory under the system's temp directory, removed on drop;
/// scripts run in it with `sh`.
pub(crate) struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("fleet-{tag}-{}", fleet_shell::token()));
        std::fs::create_dir(&path).unwrap();
        TempDir { path }
    }

    /// The absolute path of `name` in the directory, as text.
    pub fn join(&self, name: &str) -> String {
        self.path.join(name).to_str().unwrap().to_string()
    }

    /// Writes `content` to `name`; its absolute path.
    pub fn file(&self, name: &str, content: &str) -> String {
        let path = self.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn has(&self, name: &str) -> bool {
        std::fs::symlink_metadata(self.path.join(name)).is_ok()
    }

    pub fn mode(&self, name: &str) -> u32 {
        std::fs::metadata(self.path.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// Runs `script` with `sh -c` in the directory: its exit code and
    /// stdout (stderr goes to the test's output).
    pub fn sh(&self, script: &Script) -> (i32, String) {
        self.sh_with_stdin(script, b"")
    }

    /// [`sh`](Self::sh) with `stdin` on the script's stdin.
    pub fn sh_with_stdin(&self, script: &Script, stdin: &[u8]) -> (i32, String) {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.as_str())
            .current_dir(&self.path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
        )
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[test]
fn parses_attributes_once_with_their_types() {
    let facts = PathFacts::parse(
        "path=/f\nme=1000:33\nkind=file\nmode=1777\nuid=0\ngid=4\nowner=root\ngroup=UNKNOWN\n\
         size=6\nreal=/r\ncontent=aGVsbG8K\nempty=1\ntree=differs\n",
    )
    .unwrap();
    assert_eq!(facts.kind, Some(Kind::File));
    assert_eq!(facts.me, Some(Me { uid: 1000, gid: 33 }));
    let attrs = facts.attrs.unwrap();
    assert_eq!((attrs.mode, attrs.uid, attrs.gid), (0o1777, 0, 4));
    assert_eq!(
        (attrs.owner_name(), attrs.group_name()),
        ("root".into(), "4".into())
    );
    assert!(attrs.is_owner("0") && attrs.is_owner("root") && attrs.is_group("4"));
    assert_eq!(facts.size, Some(6));
    assert_eq!(facts.content.as_deref(), Some(&b"hello\n"[..]));
    assert_eq!(facts.real.as_deref(), Some("/r"));
    assert_eq!((facts.empty_dir, facts.tree_differs), (Some(true), true));
    assert_eq!(
        (facts.link, facts.link_attrs, facts.exists),
        (None, None, None)
    );
    assert!(PathFacts::parse("mode=644\n").is_err());
    assert!(PathFacts::parse("mode=9\nuid=0\ngid=0\nowner=a\ngroup=a\n").is_err());
    assert!(PathFacts::parse("me=root\n").is_err());
    assert!(PathFacts::parse("kind=weird\n").is_err());
    assert_eq!(PathFacts::parse("noise\n").unwrap(), PathFacts::default());
}

#[test]
fn raw_modes_carry_the_type_and_link_attributes_their_prefix() {
    let facts = PathFacts::parse(
        "raw=a1ff\nuid=0\ngid=0\nowner=root\ngroup=root\nlink=../x\nlink_mode=777\n\
         link_uid=5\nlink_gid=6\nlink_owner=app\nlink_group=app\nmtime=1.5\n",
    )
    .unwrap();
    assert_eq!(facts.raw_mode, Some(0o120_777));
    assert_eq!(facts.attrs.unwrap().mode, 0o777);
    assert_eq!(facts.link.as_deref(), Some("../x"));
    assert_eq!(facts.link_attrs.unwrap().uid, 5);
    assert_eq!(facts.mtime, Some(1.5));
}

#[test]
fn find_listings_are_records_of_ten_fields() {
    let listing = "f\x00644\x000\x000\x00root\x00root\x003\x009.5\x00\x00./a b\x00\
                   l\x00777\x001\x001\x00x\x00x\x001\x001.0\x00../t\x00./l\x00";
    let found = parse_listing(listing).unwrap();
    assert_eq!(found["a b"].kind, Kind::File);
    assert_eq!((found["a b"].size, found["a b"].mtime), (3, 9));
    assert_eq!(found["l"].target, "../t");
    assert_eq!(found["l"].kind, Kind::Symlink);
    assert!(parse_listing("f\x00x\x000\x000\x00r\x00r\x000\x000\x00\x00./y\x00").is_err());
}

#[test]
fn snippets_print_facts_about_hostile_paths_without_running_them() {
    let dir = TempDir::new("facts");
    for name in ["-rf", "a'b", "$(touch pwned)", "x -> y", "`touch pwned`"] {
        let target = dir.file(name, "hello\n");
        let link = dir.join(&format!("{name}.link"));
        std::os::unix::fs::symlink(name, &link).unwrap();
        let script = Script::new()
            .set("p", link.as_str())
            .set("stat_format", STAT_FORMAT)
            .snippet(stat_with_target!())
            .snippet("printf 'link=%s\\n' \"$target\"")
            .snippet(PRINT_ME)
            .snippet(EMPTY_DIR);
        let (rc, out) = dir.sh(&script);
        assert_eq!(rc, 0, "{out}");
        let facts = PathFacts::parse(&out).unwrap();
        assert_eq!(facts.link.as_deref(), Some(name), "{out}");
        assert_eq!(facts.attrs.unwrap().mode, 0o777, "{out}");
        assert!(facts.me.is_some(), "{out}");
        assert_eq!(facts.empty_dir, None);
        assert!(std::fs::metadata(&target).is_ok());
    }
    assert!(!dir.has("pwned"));
    let empty = dir.join("-empty dir");
    std::fs::create_dir(&empty).unwrap();
    let script = Script::new().set("p", empty.as_str()).snippet(EMPTY_DIR);
    assert_eq!(dir.sh(&script), (0, "empty=1\n".into()));
    std::fs::write(format!("{empty}/.hidden"), "").unwrap();
    assert_eq!(dir.sh(&script), (0, "empty=0\n".into()));
}
