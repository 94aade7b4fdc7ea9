//! Unit tests of `content_file`: probe scripts and plans from fabricated probe output.

use super::*;
use crate::modules::path_facts::tests::TempDir;
use base64::Engine;

const HELLO_SHA256: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

fn existing(content: &str, extra: &str) -> Probe {
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    Probe::ok(&format!(
        "path=/etc/motd\nme=0:0\nparent=1\nkind=file\nmode=644\nuid=1000\ngid=0\n\
         owner=app\ngroup=root\nsize={}\nreal=/etc/motd\nsha256={}\ncontent={encoded}\n{extra}",
        content.len(),
        sha256_hex(content.as_bytes())
    ))
}

fn write<'a>(contents: &'a [u8], attrs: &'a Attrs) -> Write<'a> {
    Write {
        contents,
        attrs,
        backup: false,
        make_parent: false,
        new_dirs: None,
        follow: false,
    }
}

#[test]
fn probe_redirects_into_directories_and_limits_content() {
    let script = probe("/srv/", Some("app.conf"), Some(DIFF_LIMIT));
    assert!(script.starts_with(
        "t=/srv/\nparent=/\nname=app.conf\n\
         if [ -d \"$t\" ]; then parent=$t; t=\"${t%/}\"/\"$name\"; fi\n"
    ));
    assert!(script.contains("\nlimit=1048576\n"), "{script}");
    assert!(script.contains(
        "if [ \"${attrs##*size=}\" -le \"$limit\" ]; then { printf 'content='; base64 -w0 < \"$t\"; echo; }\n\
         else sum=$(sha256sum < \"$t\"); printf 'sha256=%s\\n' \"${sum%% *}\"; fi"
    ));
    // Every process costs the host CPU: one `stat`, `readlink` only for
    // a symlink, `id` only without /proc, no `dirname` or `cut`.
    for absent in ["dirname", "cut ", " | ", "id -u)\""] {
        assert!(!script.contains(absent), "{absent}: {script}");
    }
    assert_eq!(script.matches("stat ").count(), 1, "{script}");
    assert!(script.contains("if [ -L \"$t\" ]; then real=$(readlink -f -- \"$t\")"));
    let script = probe("/a b/c", None, None);
    assert!(
        script.starts_with("t='/a b/c'\nparent='/a b'\nprintf"),
        "{script}"
    );
    assert!(script.contains("\n{ printf 'content='"), "{script}");
    assert!(!script.contains("sha256sum"), "{script}");
}

#[test]
fn sha256_comes_from_the_content_or_the_probe() {
    let small = "path=/f\nme=0:0\nparent=1\nkind=file\nmode=644\nuid=0\ngid=0\n\
                 owner=root\ngroup=root\nsize=6\nreal=/f\ncontent=aGVsbG8K\n";
    let large = small.replace("content=aGVsbG8K", &format!("sha256={HELLO_SHA256}"));
    for (output, content) in [(small, Some(&b"hello\n"[..])), (&large, None)] {
        let State::File(existing) = parse(&Probe::ok(output)).unwrap().state else {
            panic!("not a file: {output}")
        };
        assert_eq!(
            (existing.sha256.as_str(), existing.content.as_deref()),
            (HELLO_SHA256, content)
        );
    }
    let neither = small.replace("content=aGVsbG8K\n", "");
    assert!(parse(&Probe::ok(&neither)).is_err());
}

#[test]
fn new_file_is_uploaded_with_default_mode() {
    let found = parse(&Probe::ok(
        "path=/etc/motd\nme=0:0\nparent=1\nkind=absent\n",
    ))
    .unwrap();
    let attrs = Attrs::default();
    let plan = plan(&found, &write(b"hello\n", &attrs)).unwrap();
    assert!(plan.changed);
    assert_eq!(
        plan.steps,
        [Step::Upload {
            dest: "/etc/motd".into(),
            contents: b"hello\n".to_vec(),
            mode: 0o644,
            owner: None
        }]
    );
    let diff = plan.diff.unwrap();
    assert!(diff.starts_with("state: absent -> file\n"), "{diff}");
    assert!(diff.contains("+hello\n"), "{diff}");
}

#[test]
fn missing_parent_fails_unless_it_may_be_made() {
    let found = parse(&Probe::ok(
        "path=/new/dir/f\nme=0:0\nparent=0\nkind=absent\n",
    ))
    .unwrap();
    let attrs = Attrs::default();
    let err = plan(&found, &write(b"x", &attrs)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "destination directory /new/dir does not exist"
    );
    let plan = plan(
        &found,
        &Write {
            make_parent: true,
            new_dirs: None,
            ..write(b"x", &attrs)
        },
    )
    .unwrap();
    assert_eq!(plan.steps[0].script_text(), Some("mkdir -p -- /new/dir\n"));
}

#[test]
fn same_content_and_attributes_is_unchanged() {
    let found = parse(&existing("hello\n", "")).unwrap();
    let attrs = Attrs::new("copy", Some(0o644), Some("app".into()), None).unwrap();
    assert_eq!(
        plan(&found, &write(b"hello\n", &attrs)).unwrap(),
        Plan::unchanged()
    );
}

#[test]
fn attribute_changes_run_chmod_and_chown_only() {
    let found = parse(&existing("hello\n", "")).unwrap();
    let attrs = Attrs::new("copy", Some(0o600), Some("root".into()), None).unwrap();
    let plan = plan(&found, &write(b"hello\n", &attrs)).unwrap();
    let scripts: Vec<&str> = plan.steps.iter().filter_map(Step::script_text).collect();
    assert_eq!(
        scripts,
        ["chown root -- /etc/motd && chmod 0600 -- /etc/motd\n"]
    );
    assert_eq!(
        plan.diff.unwrap(),
        "mode: 0644 -> 0600\nowner: app -> root\n"
    );
}

#[test]
fn new_content_keeps_mode_and_owner_and_backs_up() {
    let found = parse(&existing("hello\n", "")).unwrap();
    let attrs = Attrs::default();
    let plan = plan(
        &found,
        &Write {
            backup: true,
            ..write(b"bye\n", &attrs)
        },
    )
    .unwrap();
    assert_eq!(
        plan.steps[0].script_text(),
        Some(
            "p=/etc/motd\nbackup=\"$p\".\"$(date +%Y-%m-%d@%H:%M:%S)\"~ && cp -p -- \"$p\" \"$backup\" \
             && printf 'backup_file=%s\\n' \"$backup\"\n"
        )
    );
    assert_eq!(
        plan.steps[1],
        Step::Upload {
            dest: "/etc/motd".into(),
            contents: b"bye\n".to_vec(),
            mode: 0o644,
            owner: Some("1000".into()),
        }
    );
    let diff = plan.diff.unwrap();
    assert!(diff.contains("-hello\n+bye\n"), "{diff}");
}

#[test]
fn follow_writes_to_the_resolved_path() {
    let found = parse(&existing("a\n", "real=/etc/real\n")).unwrap();
    let attrs = Attrs::default();
    let plan = plan(
        &found,
        &Write {
            follow: true,
            ..write(b"b\n", &attrs)
        },
    )
    .unwrap();
    assert!(matches!(&plan.steps[0], Step::Upload { dest, .. } if dest == "/etc/real"));
}

#[test]
fn large_and_binary_content_get_summaries() {
    assert_eq!(
        content_diff("/f", None, HELLO_SHA256, b"x"),
        Some("content: sha256 5891b5b522d5 -> 2d711642b726 (too large to diff)\n".into())
    );
    assert_eq!(
        content_diff("/f", Some(b"\0\x01"), "", b"\0"),
        Some("content: binary, 2 bytes -> 1 bytes\n".into())
    );
}

#[test]
fn directories_and_unreadable_files_fail() {
    let found = parse(&Probe::ok("path=/etc\nme=0:0\nparent=1\nkind=directory\n")).unwrap();
    let attrs = Attrs::default();
    assert!(plan(&found, &write(b"x", &attrs)).is_err());
    let err = parse(&Probe::ok(
        "path=/f\nme=1:1\nparent=1\nkind=file\nreadable=0\n",
    ))
    .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    assert!(parse(&Probe::default()).is_err());
}

#[test]
fn parents() {
    assert_eq!(parent("/etc/motd"), "/etc");
    assert_eq!(parent("/motd"), "/");
    assert_eq!(parent("motd"), ".");
    assert_eq!(parent("/srv/app/"), "/srv");
}

#[test]
fn hostile_destinations_are_probed_and_backed_up_as_data() {
    let dir = TempDir::new("content");
    for name in ["-rf", "a'b", "$(touch pwned)", "`touch pwned`"] {
        let path = dir.file(name, "hello\n");
        let (rc, out) = dir.sh(&probe(&path, None, Some(DIFF_LIMIT)));
        assert_eq!(rc, 0, "{out}");
        let found = parse(&Probe::ok(&out)).unwrap();
        assert_eq!(
            (found.path.as_str(), found.parent_exists),
            (path.as_str(), true)
        );
        let State::File(existing) = found.state else {
            panic!("{out}")
        };
        assert_eq!(existing.content.as_deref(), Some(&b"hello\n"[..]));
        assert_eq!((existing.size, existing.real.as_str()), (6, path.as_str()));
        let (_, out) = dir.sh(&probe(&path, None, Some(5)));
        let State::File(large) = parse(&Probe::ok(&out)).unwrap().state else {
            panic!("{out}")
        };
        assert_eq!(
            (large.content, large.sha256),
            (None, HELLO_SHA256.to_string())
        );
        let (rc, out) = dir.sh(&backup_script(&path));
        assert_eq!(rc, 0, "{out}");
        let backup = out.strip_prefix("backup_file=").unwrap().trim_end();
        assert!(backup.starts_with(&format!("{path}.")), "{backup}");
        assert_eq!(std::fs::read(backup).unwrap(), b"hello\n");
    }
    let into = dir.join("d");
    std::fs::create_dir(&into).unwrap();
    let (_, out) = dir.sh(&probe(&into, Some("-n $(touch pwned)"), None));
    let found = parse(&Probe::ok(&out)).unwrap();
    assert_eq!(found.path, format!("{into}/-n $(touch pwned)"));
    assert_eq!(found.state, State::Absent);
    let deep = dir.join("new'/$(touch pwned)/f");
    let (_, out) = dir.sh(&probe(&deep, None, None));
    let found = parse(&Probe::ok(&out)).unwrap();
    let attrs = Attrs::default();
    let make = Write {
        make_parent: true,
        new_dirs: None,
        ..write(b"x", &attrs)
    };
    let plan = plan(&found, &make).unwrap();
    let Step::Run { script, .. } = &plan.steps[0] else {
        panic!("{plan:?}")
    };
    assert_eq!(dir.sh(script).0, 0, "{script}");
    assert!(dir.has("new'/$(touch pwned)") && !dir.has("pwned"));
}

#[test]
fn the_file_written_is_registered_as_dest_also_into_a_directory() {
    let into = WriteFile::new(
        "/etc",
        Some("motd"),
        b"hello\n".to_vec(),
        Attrs::default(),
        false,
        true,
    );
    let absent = Probe::ok("path=/etc/motd\nme=0:0\nparent=1\nkind=absent\n");
    let plan = into.plan(&absent).unwrap();
    assert_eq!(plan.data.get("dest"), Some(&Value::from("/etc/motd")));
    let kept = WriteFile::new(
        "/etc/motd",
        None,
        Vec::new(),
        Attrs::default(),
        false,
        false,
    );
    let plan = kept.plan(&existing("hello\n", "")).unwrap();
    assert!(!plan.changed);
    assert_eq!(plan.data.get("dest"), Some(&Value::from("/etc/motd")));
}
