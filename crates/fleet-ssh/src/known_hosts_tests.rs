use super::*;

const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMpnMSI7hiO5VhRRQj6h3vNaPkl7Lrzmwle8lZvpWyJQ";
const KEY_B: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFC//NYqB4CHTqMI3iLshPDpiEmdp4Fz/mWwlqVJteye";
const KEY_ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJaoAFU1QIQt/w2IRjZHIgI/d1GfaosQ++ZUwBnN0TPEzip//eJf/NkLZq8u5wQ588GlhBHIBGp1tWYYmKHZAoo=";

/// Captured from `ssh-keygen -H -f kh` on a file holding
/// `web1.example.com KEY_A` and `[10.0.0.7]:2222 KEY_A`.
const HASHED_FIXTURE: &str = "\
|1|rcdKPLChoNSq88Oy1UxddR/d4hE=|M0z6s3UXhPAFGUF4R3KZJ/eP7u8= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMpnMSI7hiO5VhRRQj6h3vNaPkl7Lrzmwle8lZvpWyJQ
|1|2M/HSlL5gRX97uBMGKKw+1BEMwQ=|YAXdtk68sDKVHb0BBuw5hFaffy4= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMpnMSI7hiO5VhRRQj6h3vNaPkl7Lrzmwle8lZvpWyJQ
";

fn key(text: &str) -> PublicKey {
    let blob = text.split_whitespace().nth(1).unwrap();
    russh::keys::parse_public_key_base64(blob).unwrap()
}

fn kh(text: &str) -> KnownHosts {
    KnownHosts::parse(Path::new("test_known_hosts"), text)
}

#[test]
fn hashed_entries_from_ssh_keygen() {
    let k = kh(HASHED_FIXTURE);
    assert_eq!(
        k.check("web1.example.com", 22, &key(KEY_A)),
        Verdict::Trusted
    );
    assert_eq!(
        k.check("WEB1.example.com", 22, &key(KEY_A)),
        Verdict::Trusted
    );
    assert_eq!(k.check("10.0.0.7", 2222, &key(KEY_A)), Verdict::Trusted);
    // The port matters: the bare address is a different name.
    assert_eq!(k.check("10.0.0.7", 22, &key(KEY_A)), Verdict::Unknown);
    assert_eq!(
        k.check("web2.example.com", 22, &key(KEY_A)),
        Verdict::Unknown
    );
    assert_eq!(
        k.check("web1.example.com", 22, &key(KEY_B)),
        Verdict::Changed { line: 1 }
    );
    assert_eq!(
        k.check("10.0.0.7", 2222, &key(KEY_B)),
        Verdict::Changed { line: 2 }
    );
}

#[test]
fn our_hash_matches_ssh_keygen() {
    let salt = BASE64.decode(b"rcdKPLChoNSq88Oy1UxddR/d4hE=").unwrap();
    let expected = HASHED_FIXTURE.split_whitespace().next().unwrap();
    assert_eq!(hash_host("web1.example.com", &salt), expected);
    let generated = format!(
        "{} {KEY_A}\n",
        hash_host("[db]:2200", b"0123456789abcdefghij")
    );
    assert_eq!(
        kh(&generated).check("db", 2200, &key(KEY_A)),
        Verdict::Trusted
    );
}

#[test]
fn plain_comma_lists_and_ports() {
    let text = format!(
        "# comment\n\nweb1,10.0.0.5 {KEY_A}\n[web1]:2222,[10.0.0.5]:2222 {KEY_B} some comment\n"
    );
    let k = kh(&text);
    assert_eq!(k.check("web1", 22, &key(KEY_A)), Verdict::Trusted);
    assert_eq!(k.check("10.0.0.5", 22, &key(KEY_A)), Verdict::Trusted);
    assert_eq!(k.check("web1", 2222, &key(KEY_B)), Verdict::Trusted);
    assert_eq!(k.check("10.0.0.5", 2222, &key(KEY_B)), Verdict::Trusted);
    assert_eq!(
        k.check("web1", 2222, &key(KEY_A)),
        Verdict::Changed { line: 4 }
    );
    assert_eq!(
        k.check("web1", 22, &key(KEY_B)),
        Verdict::Changed { line: 3 }
    );
    // A bare entry never matches a non-standard port.
    assert_eq!(k.check("web1", 2200, &key(KEY_A)), Verdict::Unknown);
}

#[test]
fn other_key_types_are_unknown_not_changed() {
    let k = kh(&format!("web1 {KEY_ECDSA}\n"));
    assert_eq!(k.check("web1", 22, &key(KEY_A)), Verdict::Unknown);
    assert_eq!(k.check("web1", 22, &key(KEY_ECDSA)), Verdict::Trusted);
    assert_eq!(
        k.known_algorithms("web1", 22),
        vec![key(KEY_ECDSA).algorithm()]
    );
    assert!(k.known_algorithms("web2", 22).is_empty());
}

#[test]
fn several_keys_of_one_type_any_may_match() {
    let k = kh(&format!("web1 {KEY_B}\nweb1 {KEY_A}\n"));
    assert_eq!(k.check("web1", 22, &key(KEY_A)), Verdict::Trusted);
}

#[test]
fn wildcards_and_negations() {
    let text = format!("*.prod.example,!bad.prod.example {KEY_A}\nweb? {KEY_B}\n");
    let k = kh(&text);
    assert_eq!(k.check("a.prod.example", 22, &key(KEY_A)), Verdict::Trusted);
    assert_eq!(
        k.check("bad.prod.example", 22, &key(KEY_A)),
        Verdict::Unknown
    );
    assert_eq!(k.check("web1", 22, &key(KEY_B)), Verdict::Trusted);
    assert_eq!(k.check("web10", 22, &key(KEY_B)), Verdict::Unknown);
    // A lone negation matches nothing.
    let k = kh(&format!("!web1 {KEY_A}\n"));
    assert_eq!(k.check("web1", 22, &key(KEY_A)), Verdict::Unknown);
    assert_eq!(k.check("web2", 22, &key(KEY_A)), Verdict::Unknown);
}

#[test]
fn markers() {
    let text = format!(
        "@revoked * {KEY_B}\n@cert-authority *.example {KEY_A}\n@bogus web1 {KEY_A}\nweb1 {KEY_B}\n"
    );
    let k = kh(&text);
    // Revoked wins even over a plain line trusting the same key.
    assert_eq!(
        k.check("web1", 22, &key(KEY_B)),
        Verdict::Revoked { line: 1 }
    );
    // cert-authority and unknown markers are not host keys.
    assert_eq!(k.check("a.example", 22, &key(KEY_A)), Verdict::Unknown);
    assert_eq!(
        k.check("web1", 22, &key(KEY_A)),
        Verdict::Changed { line: 4 }
    );
}

#[test]
fn garbage_lines_are_skipped_but_counted() {
    let text = format!("not a key line\nweb1 ssh-ed25519 !!!notbase64\n\nweb1 {KEY_A}\n");
    let k = kh(&text);
    assert_eq!(
        k.check("web1", 22, &key(KEY_B)),
        Verdict::Changed { line: 4 }
    );
}

#[test]
fn glob() {
    assert!(glob_match(b"*", b"anything"));
    assert!(glob_match(b"a*c", b"abbbc"));
    assert!(glob_match(b"a?c", b"abc"));
    assert!(!glob_match(b"a?c", b"ac"));
    assert!(glob_match(b"*.x.*", b"a.x.b"));
    assert!(!glob_match(b"abc", b"abcd"));
    assert!(glob_match(b"[h]:2*", b"[h]:22"));
}

#[test]
fn learn_appends_and_is_seen_by_later_checks() {
    let dir = std::env::temp_dir().join(format!("fleet-ssh-kh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("sub").join("known_hosts");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // A file without a trailing newline must not get glued lines.
    std::fs::write(&path, format!("other {KEY_B}")).unwrap();
    let k = KnownHosts::load(&path).unwrap();
    assert_eq!(k.check("web1", 2222, &key(KEY_A)), Verdict::Unknown);
    assert_eq!(
        k.learn("web1", 2222, &key(KEY_A)).unwrap(),
        Verdict::Trusted
    );
    assert_eq!(k.check("web1", 2222, &key(KEY_A)), Verdict::Trusted);
    // Learning again is a no-op; a different key is refused.
    assert_eq!(
        k.learn("web1", 2222, &key(KEY_A)).unwrap(),
        Verdict::Trusted
    );
    assert_eq!(
        k.learn("web1", 2222, &key(KEY_B)).unwrap(),
        Verdict::Changed { line: 2 }
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(text.lines().nth(1).unwrap(), format!("[web1]:2222 {KEY_A}"));
    // And a fresh parse of the file agrees.
    let again = KnownHosts::load(&path).unwrap();
    assert_eq!(again.check("web1", 2222, &key(KEY_A)), Verdict::Trusted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_file_is_empty() {
    let k = KnownHosts::load(Path::new("/nonexistent/fleet/known_hosts")).unwrap();
    assert_eq!(k.check("web1", 22, &key(KEY_A)), Verdict::Unknown);
}
