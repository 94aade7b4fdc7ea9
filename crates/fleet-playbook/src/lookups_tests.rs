use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::Templater;

/// A play folder with `files/` and `templates/`, removed on drop.
struct PlayDir(PathBuf);

impl PlayDir {
    fn new(name: &str) -> PlayDir {
        let dir = std::env::temp_dir().join(format!("fleet-lookups-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in [
            ("files/motd", "  welcome\n\n"),
            ("files/a.conf", "a"),
            ("files/b.conf", "b"),
            ("files/conf.d/x.conf", "x"),
            ("beside.txt", "next to the playbook\n"),
            (
                "templates/unit.j2",
                "User={{ app }}\n{% for p in ports %}Port={{ p }}\n{% endfor %}",
            ),
            ("templates/extra.j2", "{{ app }}-{{ suffix }}"),
            ("templates/broken.j2", "a\n{{ nope }}"),
            ("vars/debian.yml", "x: 1\n"),
        ] {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        PlayDir(dir)
    }

    fn vars(&self) -> Value {
        json!({
            "playbook_dir": self.0,
            "app": "shop",
            "ports": [80, 443],
            "os": "debian",
            "cfg": {"a": 1},
        })
    }

    fn value(&self, expr: &str) -> Value {
        Templater::new()
            .render_value(&json!(format!("{{{{ {expr} }}}}")), &self.vars())
            .unwrap_or_else(|err| panic!("{expr}: {err}"))
    }

    fn error(&self, expr: &str) -> String {
        match Templater::new().render_str(&format!("{{{{ {expr} }}}}"), &self.vars()) {
            Ok(out) => panic!("{expr} rendered to {out:?}"),
            Err(err) => err.to_string(),
        }
    }

    fn path(&self, relative: &str) -> String {
        self.0.join(relative).display().to_string()
    }
}

impl Drop for PlayDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn env_reads_the_controllers_environment() {
    let play = PlayDir::new("env");
    let home = std::env::var("HOME").unwrap();
    assert_eq!(play.value("lookup('env', 'HOME')"), json!(home));
    assert_eq!(
        play.value("lookup('env', 'HOME', 'FLEET_SURELY_UNSET')"),
        json!(format!("{home},"))
    );
    assert_eq!(play.value("query('env', 'HOME')"), json!([home]));
    assert_eq!(
        play.value("q('env', 'FLEET_SURELY_UNSET', default='d')"),
        json!(["d"])
    );
    assert_eq!(
        play.value("lookup('env', 'FLEET_SURELY_UNSET', wantlist=true)"),
        json!([""])
    );
}

#[test]
fn file_reads_from_files_then_beside_the_playbook() {
    let play = PlayDir::new("file");
    assert_eq!(play.value("lookup('file', 'motd')"), json!("  welcome"));
    assert_eq!(
        play.value("lookup('file', 'motd', lstrip=true, rstrip=false)"),
        json!("welcome\n\n")
    );
    assert_eq!(
        play.value("lookup('file', 'beside.txt')"),
        json!("next to the playbook")
    );
    assert_eq!(
        play.value("lookup('file', 'files/a.conf', 'b.conf')"),
        json!("a,b")
    );
    assert_eq!(
        play.value(&format!("lookup('file', '{}')", play.path("files/b.conf"))),
        json!("b")
    );
    assert_eq!(
        play.value("query('file', ['a.conf', 'b.conf'])"),
        json!(["a", "b"])
    );
    let err = play.error("lookup('file', 'none.txt')");
    assert!(
        err.contains("lookup('file'): `none.txt` not found (looked at "),
        "{err}"
    );
    assert!(err.contains(&play.path("files/none.txt")), "{err}");
    assert_eq!(
        play.value("lookup('file', 'none.txt', errors='ignore')"),
        json!(null)
    );
    assert_eq!(
        play.value("query('file', 'none.txt', errors='warn')"),
        json!([])
    );
    assert!(
        play.error("lookup('file', 'motd', strip=true)")
            .contains("strip")
    );
    assert!(
        play.error("lookup('file', 'motd', errors='loud')")
            .contains("errors must be strict, warn or ignore")
    );
    assert!(
        play.error("lookup('file', 5)")
            .contains("the `file` lookup takes strings, got number")
    );
}

#[test]
fn template_renders_with_the_current_variables() {
    let play = PlayDir::new("template");
    assert_eq!(
        play.value("lookup('template', 'unit.j2')"),
        json!("User=shop\nPort=80\nPort=443\n")
    );
    assert_eq!(
        play.value("lookup('template', 'extra.j2', template_vars={'suffix': 'x'})"),
        json!("shop-x")
    );
    let err = play.error("lookup('template', 'broken.j2')");
    assert!(err.contains("broken.j2:2: `nope` is undefined"), "{err}");
    assert!(matches!(
        Templater::new().render_str(
            "{{ lookup('template', 'broken.j2', errors='ignore') }}",
            &play.vars()
        ),
        Err(crate::TemplateError::Undefined { .. })
    ));
    assert!(
        play.error("lookup('template', 'gone.j2')")
            .contains("`gone.j2` not found")
    );
}

#[test]
fn first_found_returns_the_first_existing_path() {
    let play = PlayDir::new("first");
    let a = play.path("files/a.conf");
    assert_eq!(
        play.value("lookup('first_found', ['nope.conf', 'a.conf', 'b.conf'])"),
        json!(a)
    );
    assert_eq!(
        play.value("lookup('first_found', 'nope.conf,b.conf')"),
        json!(play.path("files/b.conf"))
    );
    assert_eq!(
        play.value(
            "lookup('first_found', {'files': [os ~ '.yml', 'default.yml'], 'paths': ['vars']})"
        ),
        json!(play.path("vars/debian.yml"))
    );
    assert_eq!(
        play.value("query('first_found', files=['x.yml', 'debian.yml'], paths=['vars'])"),
        json!([play.path("vars/debian.yml")])
    );
    assert_eq!(
        play.value("query('first_found', ['x', 'y'], skip=true)"),
        json!([])
    );
    assert_eq!(
        play.value("lookup('first_found', ['x'], skip=true)"),
        json!([])
    );
    assert!(
        play.error("lookup('first_found', ['x', 'y'])")
            .contains("first_found: none of x, y was found")
    );
    assert!(
        play.error("lookup('first_found', {'file': 'x'})")
            .contains("unknown option `file`")
    );
}

#[test]
fn fileglob_lists_matching_files() {
    let play = PlayDir::new("glob");
    assert_eq!(
        play.value("query('fileglob', '*.conf') | sort"),
        json!([play.path("files/a.conf"), play.path("files/b.conf")])
    );
    assert_eq!(
        play.value("lookup('fileglob', '*.conf')"),
        json!(format!(
            "{},{}",
            play.path("files/a.conf"),
            play.path("files/b.conf")
        ))
    );
    assert_eq!(
        play.value("query('fileglob', 'conf.d/*.conf')"),
        json!([play.path("files/conf.d/x.conf")])
    );
    assert_eq!(
        play.value("query('fileglob', '*.txt')"),
        json!([play.path("beside.txt")])
    );
    assert_eq!(play.value("query('fileglob', '*.none')"), json!([]));
    assert_eq!(play.value("lookup('fileglob', '*.none')"), json!([]));
}

#[test]
fn pipe_runs_in_the_play_folder() {
    let play = PlayDir::new("pipe");
    assert_eq!(
        play.value("lookup('pipe', 'echo hi; echo there')"),
        json!("hi\nthere")
    );
    assert_eq!(
        play.value("lookup('pipe', 'cat beside.txt')"),
        json!("next to the playbook")
    );
    assert_eq!(
        play.value("query('pipe', 'echo a', 'echo b')"),
        json!(["a", "b"])
    );
    assert!(
        play.error("lookup('pipe', 'exit 3')")
            .contains("lookup('pipe'): `exit 3` exited with 3")
    );
    assert_eq!(
        play.value("lookup('pipe', 'exit 3', errors='ignore')"),
        json!(null)
    );
}

#[test]
fn vars_reads_variables_by_name() {
    let play = PlayDir::new("vars");
    assert_eq!(play.value("lookup('vars', 'cfg')"), json!({"a": 1}));
    assert_eq!(
        play.value("lookup('vars', 'app', 'os')"),
        json!("shop,debian")
    );
    assert_eq!(play.value("lookup('vars', 'a' ~ 'pp')"), json!("shop"));
    assert_eq!(play.value("lookup('vars', 'nope', default=7)"), json!(7));
    assert_eq!(
        play.value("query('vars', 'app', 'cfg')"),
        json!(["shop", {"a": 1}])
    );
    let err = play.error("lookup('vars', 'nope')");
    assert!(
        err.contains("lookup('vars'): no variable named `nope`"),
        "{err}"
    );
    assert!(
        play.error("lookup('vars', 'nope', errors='ignore')")
            .contains("no variable named `nope`")
    );
}

#[test]
fn unknown_lookups_are_named() {
    let play = PlayDir::new("unknown");
    assert!(
        play.error("lookup('dig', 'example.org')")
            .contains("unknown lookup `dig`; fleet has env, file, template")
    );
}

#[test]
fn password_is_generated_once_and_then_read_back() {
    let play = PlayDir::new("password");
    let first = play.value("lookup('password', 'credentials/db')");
    let text = first.as_str().unwrap().to_owned();
    assert_eq!(text.len(), 20);
    assert!(
        text.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".,:-_".contains(c)),
        "{text}"
    );
    let stored = Path::new(&play.path("credentials/db")).to_path_buf();
    assert_eq!(
        std::fs::read_to_string(&stored).unwrap(),
        format!("{text}\n")
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(stored.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert_eq!(
        play.value("lookup('password', 'credentials/db length=5')"),
        first
    );
}

#[test]
fn password_options_shape_the_generated_one() {
    let play = PlayDir::new("password-options");
    let digits = play.value("lookup('password', '/dev/null length=12 chars=digits')");
    assert!(
        digits.as_str().unwrap().len() == 12
            && digits.as_str().unwrap().bytes().all(|b| b.is_ascii_digit()),
        "{digits}"
    );
    let kwargs = play.value("lookup('password', '/dev/null', length=8, chars=['ascii_lowercase'])");
    assert!(
        kwargs.as_str().unwrap().len() == 8
            && kwargs
                .as_str()
                .unwrap()
                .bytes()
                .all(|b| b.is_ascii_lowercase()),
        "{kwargs}"
    );
    let commas = play.value("lookup('password', '/dev/null length=30 chars=x,,')");
    assert!(
        commas
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c == 'x' || c == ','),
        "{commas}"
    );
    // The seeded generator picks what Ansible picks for the seed.
    assert_eq!(
        play.value("lookup('password', '/dev/null seed=web1')"),
        json!("PHReYru8meWgwuf2LQh8")
    );
    assert!(!Path::new("/dev/null").is_file());
    assert!(
        play.error("lookup('password', 'x size=3')")
            .contains("unknown option `size`")
    );
    assert!(
        play.error("lookup('password', 'x length=many')")
            .contains("length must be a whole number")
    );
    assert!(
        play.error("lookup('password', 'x chars=\"')")
            .contains("no characters to pick from")
    );
}

#[test]
fn password_with_encrypt_keeps_the_salt_for_a_stable_hash() {
    let play = PlayDir::new("password-encrypt");
    std::fs::create_dir_all(play.path("credentials")).unwrap();
    std::fs::write(play.path("credentials/app"), "123 salt=12345678\n").unwrap();
    assert_eq!(
        play.value("lookup('password', 'credentials/app encrypt=sha512_crypt')"),
        json!(
            "$6$rounds=656000$12345678$InMy49UwxyCh2pGJU1NpOhVSElDDzKeyuC6n6E9O34BCUGVNYADnI.rcA3m.Vro9BiZpYmjEoNhpREqQcbvQ80"
        )
    );
    let hashed = play.value("lookup('password', 'credentials/new encrypt=bcrypt')");
    let stored = std::fs::read_to_string(play.path("credentials/new")).unwrap();
    let fields: Vec<&str> = stored.trim_end().split(' ').collect();
    assert_eq!(fields.len(), 3, "{stored}");
    assert!(
        fields[1].starts_with("salt=") && fields[1].len() == 27 && fields[2] == "ident=2b",
        "{stored}"
    );
    assert!(hashed.as_str().unwrap().starts_with("$2b$12$"), "{hashed}");
    assert_eq!(
        play.value("lookup('password', 'credentials/new encrypt=bcrypt')"),
        hashed
    );
    assert!(
        play.error("lookup('password', 'credentials/new encrypt=bcrypt ident=2a')")
            .contains("ident `2a` differs from the stored `2b`")
    );
}

#[test]
fn a_role_task_looks_in_its_role_first() {
    let play = PlayDir::new("role");
    let role = play.0.join("roles/web");
    for (path, text) in [
        ("files/motd", "from the role"),
        ("files/only.pem", "pem"),
        ("templates/unit.j2", "role unit {{ app }}"),
    ] {
        let path = role.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let mut vars = play.vars();
    vars["role_path"] = json!(role);
    let value = |expr: &str| {
        Templater::new()
            .render_value(&json!(format!("{{{{ {expr} }}}}")), &vars)
            .unwrap_or_else(|err| panic!("{expr}: {err}"))
    };
    assert_eq!(value("lookup('file', 'motd')"), json!("from the role"));
    // What the role lacks comes from the play.
    assert_eq!(
        value("lookup('file', 'beside.txt')"),
        json!("next to the playbook")
    );
    assert_eq!(
        value("lookup('template', 'unit.j2')"),
        json!("role unit shop")
    );
    assert_eq!(
        value("query('fileglob', '*.pem') | map('basename') | list"),
        json!(["only.pem"])
    );
    assert_eq!(
        value("lookup('first_found', ['only.pem']) | basename"),
        json!("only.pem")
    );
}
