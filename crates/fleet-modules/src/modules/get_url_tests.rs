use super::*;
use crate::modules::command::stub_sh::run;
use crate::modules::tests::NoFiles;
use serde_json::json;

fn module(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn error(params: Value) -> String {
    build(params, &NoFiles).unwrap_err().to_string()
}

const URL: &str = "http://10.77.0.1:8080/files/hello.txt";
/// sha256 and sha1 of "hello\n".
const SHA256: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
const SHA1: &str = "f572d396fae9206628714fb2ce00f72e94f2258f";

fn file_probe(path: &str, mode: &str, digest: Option<&str>) -> Probe {
    let digest = digest.map_or(String::new(), |d| format!("digest={d}\n"));
    Probe::ok(&format!(
        "dest_is_dir=0\npath={path}\nparent=1\nkind=file\nmode={mode}\nuid=0\ngid=0\nowner=root\ngroup=root\n\
         sha1={SHA1}\n{digest}curl=1\n"
    ))
}

fn absent_probe(path: &str) -> Probe {
    Probe::ok(&format!(
        "dest_is_dir=0\npath={path}\nparent=1\nkind=absent\ncurl=1\n"
    ))
}

#[test]
fn a_file_with_the_right_checksum_is_not_downloaded_again() {
    let params = json!({"url": URL, "dest": "/srv/h.txt", "checksum": format!("sha256:{SHA256}"), "mode": "0600"});
    let get = module(params.clone());
    assert!(get.probe().unwrap().contains("sumcmd=sha256sum\n"));
    let plan = get
        .plan(&file_probe("/srv/h.txt", "600", Some(SHA256)))
        .unwrap();
    assert!(!plan.changed && plan.steps.is_empty());
    assert_eq!(plan.msg.as_deref(), Some("file already exists"));
    let attrs = get
        .plan(&file_probe("/srv/h.txt", "644", Some(SHA256)))
        .unwrap();
    assert!(attrs.changed);
    assert_eq!(
        attrs.msg.as_deref(),
        Some("file already exists but file attributes changed")
    );
    assert_eq!(
        attrs.steps[0].script_text(),
        Some("chmod 0600 -- /srv/h.txt\n")
    );
    let wrong = get
        .plan(&file_probe("/srv/h.txt", "600", Some("00")))
        .unwrap();
    assert!(
        wrong.changed && wrong.steps.len() == 1,
        "a wrong file is replaced"
    );
    let mut forced = params;
    forced["force"] = json!(true);
    let forced = module(forced)
        .plan(&file_probe("/srv/h.txt", "600", Some(SHA256)))
        .unwrap();
    assert!(forced.changed, "force downloads");
}

#[test]
fn without_a_checksum_an_existing_file_is_asked_for_if_modified_since() {
    let get = module(json!({"url": URL, "dest": "/srv/h.txt", "headers": {"X-A": "b"}}));
    let plan = get.plan(&file_probe("/srv/h.txt", "644", None)).unwrap();
    let script = plan.steps[0].script_text().unwrap();
    assert!(
        script.contains(
            "curl -sS -L --max-time 10 -A ansible-httpget -H 'X-A: b' -o \"$tmp\" -w '%{http_code}' -z \"$t\" -- \"$url\" >\"$code_file\"\n"
        ),
        "{script}"
    );
    let new = get.plan(&absent_probe("/srv/h.txt")).unwrap();
    assert!(!new.steps[0].script_text().unwrap().contains(" -z "));
}

/// A curl that writes "hello\n" to its `-o` file and prints status 200.
const CURL: &str = "curl() { out=; while [ $# -gt 0 ]; do case $1 in -o) out=$2; shift;; esac; shift; done; \
                    printf 'hello\\n' > \"$out\"; printf 200; }\n";

#[test]
fn the_download_replaces_only_a_different_file_and_checks_the_checksum() {
    let dir = std::env::temp_dir().join(format!("fleet-get-url-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dest = dir.join("h.txt").display().to_string();
    let get = module(json!({"url": URL, "dest": dest, "checksum": format!("sha1:{SHA1}")}));
    let plan = get.plan(&absent_probe(&dest)).unwrap();
    let Step::Run { script, .. } = &plan.steps[0] else {
        panic!("a script")
    };
    let out = run(CURL, script, b"");
    assert_eq!(out.rc, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
    let applied = get.applied(std::slice::from_ref(&out)).unwrap();
    assert!(applied.changed);
    assert_eq!(applied.data["checksum_src"], SHA1);
    assert_eq!(applied.data["status_code"], 200);
    assert_eq!(applied.data["mode"], "0644");
    assert_eq!(applied.msg.as_deref(), Some("OK (6 bytes)"));
    let again = run(CURL, script, b"");
    let applied = get.applied(&[again]).unwrap();
    assert!(!applied.changed, "same content is not replaced");
    assert_eq!(applied.data["checksum_dest"], SHA1);

    let bad = module(json!({"url": URL, "dest": dest, "checksum": "md5:0123", "force": true}));
    let plan = bad.plan(&absent_probe(&dest)).unwrap();
    let out = run(
        CURL,
        plan.steps[0]
            .script_text()
            .map(|_| match &plan.steps[0] {
                Step::Run { script, .. } => script,
                _ => unreachable!(),
            })
            .unwrap(),
        b"",
    );
    assert_eq!(out.rc, 1);
    assert!(
        out.stderr
            .contains("did not match 0123; it was b1946ac92492d2347c6235b4d2611184."),
        "{}",
        out.stderr
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp file is left: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_password_goes_on_stdin() {
    let get = module(
        json!({"url": URL, "dest": "/srv/h", "url_username": "fleet", "password": "s3\"cret"}),
    );
    let plan = get.plan(&absent_probe("/srv/h")).unwrap();
    let Step::Run {
        script,
        stdin: Some(stdin),
    } = &plan.steps[0]
    else {
        panic!("stdin")
    };
    assert!(!script.as_str().contains("s3"));
    assert!(script.as_str().contains("--basic -K -"));
    assert_eq!(stdin.bytes(), b"user = \"fleet:s3\\\"cret\"\n");
}

#[test]
fn a_checksum_url_is_read_in_the_probe() {
    let get = module(
        json!({"url": URL, "dest": "/srv/", "checksum": "sha256:http://10.77.0.1:8080/files/SHA256SUMS"}),
    );
    assert!(get.probe().unwrap().contains("curl -sS -L --max-time 10 -A ansible-httpget -f -- http://10.77.0.1:8080/files/SHA256SUMS | base64 -w0"));
    use base64::Engine;
    let sums = base64::engine::general_purpose::STANDARD.encode(format!("{SHA256}  hello.txt\n"));
    let probe = Probe::ok(&format!(
        "dest_is_dir=1\npath=/srv/hello.txt\nparent=1\nkind=absent\ncurl=1\nsums={sums}\n"
    ));
    let plan = get.plan(&probe).unwrap();
    assert!(
        plan.steps[0]
            .script_text()
            .unwrap()
            .contains(&format!("want={SHA256}\n"))
    );
    assert_eq!(plan.data["dest"], "/srv/hello.txt");
    let empty =
        Probe::ok("dest_is_dir=1\npath=/srv/hello.txt\nparent=1\nkind=absent\ncurl=1\nsums=\n");
    assert!(
        get.plan(&empty)
            .unwrap_err()
            .to_string()
            .contains("Unable to find a checksum for file 'hello.txt'")
    );
}

#[test]
fn curl_is_required_and_bad_params_are_refused() {
    let get = module(json!({"url": URL, "dest": "/srv/h"}));
    let err = get
        .plan(&Probe::ok(
            "dest_is_dir=0\npath=/srv/h\nparent=1\nkind=absent\ncurl=0\n",
        ))
        .unwrap_err();
    assert!(err.to_string().contains("needs curl"));
    assert!(
        error(json!({"url": URL, "dest": "/srv/h", "unredirected_headers": []}))
            .contains("unknown field")
    );
    assert!(
        error(json!({"url": "file:///etc/passwd", "dest": "/srv/h"})).contains("url must start")
    );
    assert!(error(json!({"url": URL, "dest": "rel"})).contains("absolute"));
    assert!(error(json!({"url": URL, "dest": "/srv/h", "password": "x"})).contains("url_username"));
    assert!(
        error(json!({"url": URL, "dest": "/srv/h", "headers": {"A\nB": "c"}}))
            .contains("invalid header")
    );
}
