use serde_json::{Value, json};

use crate::Templater;

fn vars() -> Value {
    json!({
        "out": "version: 1.24.3 (build 7)\nversion: 2.0.1 (build 9)",
        "url": "http://user:secret@WWW.Example.com:9000/dir/index.html?query=term#frag",
    })
}

fn value(expr: &str) -> Value {
    Templater::new()
        .render_value(&json!(format!("{{{{ {expr} }}}}")), &vars())
        .unwrap_or_else(|err| panic!("{expr}: {err}"))
}

fn render(source: &str) -> String {
    Templater::new()
        .render_str(source, &vars())
        .unwrap_or_else(|err| panic!("{source}: {err}"))
}

fn error(expr: &str) -> String {
    match Templater::new().render_str(&format!("{{{{ {expr} }}}}"), &vars()) {
        Ok(out) => panic!("{expr} rendered to {out:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn regex_search_gives_the_match_or_its_groups() {
    assert_eq!(
        value(r"out | regex_search('\d+\.\d+\.\d+')"),
        json!("1.24.3")
    );
    assert_eq!(
        value(r"out | regex_search('(\d+)\.(\d+)', '\2', '\1')"),
        json!(["24", "1"])
    );
    assert_eq!(
        value(r"out | regex_search('build (?P<n>\d+)', '\g<n>')"),
        json!(["7"])
    );
    assert_eq!(
        value("out | regex_search('^VERSION', ignorecase=true)"),
        json!("version")
    );
    assert_eq!(
        value("out | regex_search('^version: 2', multiline=true)"),
        json!("version: 2")
    );
    assert_eq!(value("out | regex_search('nope')"), json!(null));
    assert_eq!(
        value("(out | regex_search('(x)?version', '\\1'))"),
        json!([null])
    );
    assert!(
        error("out | regex_search('(a)', 'g1')")
            .contains("a group is written `\\1` or `\\g<name>`, got `g1`")
    );
    assert!(error(r"out | regex_search('(v)', '\2')").contains("the pattern has no group 2"));
    assert!(error(r"out | regex_search('(v)', '\g<x>')").contains("no group named `x`"));
    assert!(error("out | regex_search('(')").contains("regex_search: bad pattern"));
}

#[test]
fn regex_findall_is_pythons_findall() {
    assert_eq!(
        value(r"out | regex_findall('\d+\.\d+\.\d+')"),
        json!(["1.24.3", "2.0.1"])
    );
    assert_eq!(
        value(r"out | regex_findall('build (\d+)')"),
        json!(["7", "9"])
    );
    assert_eq!(
        value(r"out | regex_findall('(\d+)\.(\d+)\.(\d+)')"),
        json!([["1", "24", "3"], ["2", "0", "1"]])
    );
    assert_eq!(
        value("out | regex_findall('^V', ignorecase=true, multiline=true)"),
        json!(["v", "v"])
    );
    assert_eq!(value("'abc' | regex_findall('x')"), json!([]));
}

#[test]
fn regex_escape_escapes_what_is_special() {
    assert_eq!(
        render("{{ '1.2.3+x (y)' | regex_escape }}"),
        r"1\.2\.3\+x\ \(y\)"
    );
    assert_eq!(render("{{ 'a/b:c@d' | regex_escape }}"), "a/b:c@d");
    assert_eq!(
        render("{{ '[a].b*' | regex_escape('posix_basic') }}"),
        r"\[a\]\.b\*"
    );
    // What it escapes works in a pattern.
    assert_eq!(
        render("{{ 'v1.2 (rc)' | regex_replace('1.2 (rc)' | regex_escape, 'X') }}"),
        "vX"
    );
    assert!(
        error("'a' | regex_escape('posix_extended')")
            .contains("re_type must be python or posix_basic")
    );
}

#[test]
fn comment_decorates_like_ansible() {
    assert_eq!(
        render("{{ 'managed by fleet' | comment }}"),
        "#\n# managed by fleet\n#"
    );
    assert_eq!(
        render("{{ 'a\n\nb' | comment('c') }}"),
        "//\n// a\n//\n// b\n//"
    );
    assert_eq!(
        render("{{ 'x' | comment('cblock') }}"),
        "/*\n *\n * x\n *\n */"
    );
    assert_eq!(
        render("{{ 'x' | comment('xml') }}"),
        "<!--\n -\n - x\n -\n-->"
    );
    assert_eq!(
        render("{{ 'x' | comment('erlang', prefix_count=2, postfix_count=0) }}"),
        "%\n%\n% x"
    );
    assert_eq!(
        render("{{ 'x' | comment(decoration='; ', prefix='', postfix='') }}"),
        "; x\n"
    );
    assert!(
        error("'x' | comment('lisp')").contains("style must be plain, erlang, c, cblock or xml")
    );
    assert!(error("'x' | comment(color='red')").contains("color"));
}

#[test]
fn hashes_are_hex_digests_of_the_text() {
    assert_eq!(
        render("{{ 'fleet' | hash }}"),
        "f35f940f055fcd1badde7e5fecb2531e079eaa52"
    );
    assert_eq!(
        render("{{ 'fleet' | sha1 }}"),
        "f35f940f055fcd1badde7e5fecb2531e079eaa52"
    );
    assert_eq!(
        render("{{ 'fleet' | checksum }}"),
        "f35f940f055fcd1badde7e5fecb2531e079eaa52"
    );
    assert_eq!(
        render("{{ 'fleet' | hash('md5') }}"),
        "ddfbb7829b95e229ab60e0fb38c5df06"
    );
    assert_eq!(
        render("{{ 'fleet' | md5 }}"),
        "ddfbb7829b95e229ab60e0fb38c5df06"
    );
    assert_eq!(
        render("{{ 'fleet' | hash('sha256') }}"),
        "5eb2ce291c7d227dd684ec83f9ddc05776e2fe9a0c4e62927b4592383e66fb28"
    );
    assert_eq!(render("{{ 'fleet' | hash('sha512') | length }}"), "128");
    assert_eq!(render("{{ 'fleet' | hash('sha224') | length }}"), "56");
    assert_eq!(render("{{ 'fleet' | hash('sha384') | length }}"), "96");
    assert!(error("'x' | hash('whirlpool')").contains("unsupported hash type `whirlpool`"));
}

#[test]
fn password_hash_gives_crypt_strings() {
    assert_eq!(
        render("{{ '123' | password_hash('sha512', '12345678', rounds=5000) }}"),
        "$6$12345678$LcV9LQiaPekQxZ.OfkMADjFdSO2k9zfbDQrHPVcYjSLqSdjLYpsgqviYvTEP/R41yPmhH3CCeEDqVhW1VHr3L."
    );
    assert_eq!(
        render(
            "{{ '123' | password_hash('bcrypt', salt='1234567890123456789012', rounds=4) | length }}"
        ),
        "60"
    );
    assert!(render("{{ 'pw' | password_hash(rounds=1000) }}").starts_with("$6$rounds=1000$"));
    assert!(
        error("'pw' | password_hash('md5_crypt')")
            .contains("password_hash: unsupported hash type `md5_crypt`")
    );
    assert!(error("'pw' | password_hash('sha512', pepper='x')").contains("pepper"));
}

#[test]
fn urlsplit_gives_pythons_parts() {
    assert_eq!(
        value("url | urlsplit"),
        json!({
            "fragment": "frag", "hostname": "www.example.com",
            "netloc": "user:secret@WWW.Example.com:9000", "password": "secret",
            "path": "/dir/index.html", "port": 9000, "query": "query=term",
            "scheme": "http", "username": "user",
        })
    );
    assert_eq!(
        value("url | urlsplit('hostname')"),
        json!("www.example.com")
    );
    assert_eq!(value("url | urlsplit('port')"), json!(9000));
    assert_eq!(
        value("'https://[::1]:8443/x' | urlsplit('hostname')"),
        json!("::1")
    );
    let bare = value("'/just/a/path?x=1' | urlsplit");
    assert_eq!(
        (
            &bare["scheme"],
            &bare["netloc"],
            &bare["path"],
            &bare["query"],
            &bare["hostname"],
            &bare["port"]
        ),
        (
            &json!(""),
            &json!(""),
            &json!("/just/a/path"),
            &json!("x=1"),
            &json!(null),
            &json!(null)
        )
    );
    assert!(error("url | urlsplit('host')").contains("unknown URL component `host`"));
    assert!(
        error("'http://h:99999/' | urlsplit")
            .contains("`99999` in `http://h:99999/` is not a port number")
    );
}

#[test]
fn path_join_starts_over_at_an_absolute_part() {
    assert_eq!(
        render("{{ ['/etc', 'nginx', 'nginx.conf'] | path_join }}"),
        "/etc/nginx/nginx.conf"
    );
    assert_eq!(render("{{ ['a/', 'b'] | path_join }}"), "a/b");
    assert_eq!(render("{{ ['/srv', '/etc', 'x'] | path_join }}"), "/etc/x");
    assert!(error("5 | path_join").contains("path_join expects a string or a list"));
}

#[test]
fn a_salt_from_a_host_name_is_valid_and_stable() {
    let vars = json!({"inventory_hostname": "web1"});
    let source =
        "{{ 'pw' | password_hash('sha512', (inventory_hostname | hash)[:16], rounds=5000) }}";
    let t = Templater::new();
    // What glibc's crypt gives for the same password and setting.
    assert_eq!(
        t.render_str(source, &vars).unwrap(),
        "$6$977588a87e105820$JLoQ8iSNSY9SX0jfD2fypMSym22jWlsNy4sHrrHA.MlTCp.heRFPigFDpHy3YmKJnI309HOZlYCJgXe5Nd4oT0"
    );
}
