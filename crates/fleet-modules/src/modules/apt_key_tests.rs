use super::*;
use crate::modules::command::stub_sh::{run_with_programs, scripts};
use crate::modules::tests::NoFiles;
use base64::Engine;

const LISTING: &str = "/etc/apt/trusted.gpg
--------------------
pub   rsa3072/0123456789ABCDEF 2024-01-01 [SC]
      AAAABBBBCCCCDDDDEEEEFFFF0123456789ABCDEF
uid           [ unknown] Fleet Test <fleet@example.invalid>
sub   rsa3072/FEDCBA9876543210 2024-01-01 [E]

pub   rsa2048/1111222233334444 2010-01-01 [SC] [expired: 2012-01-01]
";

const COLONS: &str = "pub:-:3072:1:0123456789ABCDEF:1704067200:::-:\n\
                      fpr:::::::::AAAABBBBCCCCDDDDEEEEFFFF0123456789ABCDEF:\n\
                      uid:::::::::Fleet Test <fleet@example.invalid>:\n\
                      sub:-:3072:1:FEDCBA9876543210:1704067200::::\n";

fn module(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn probe(listing: &str, key: Option<&str>) -> Probe {
    let mut out = format!("list_rc=0\nkeys={}\n", b64(listing));
    if let Some(key) = key {
        out.push_str(&format!("gpg_rc=0\nkey={}\n", b64(key)));
    }
    Probe::ok(&out)
}

#[test]
fn key_ids_are_split_as_ansible_splits_them() {
    assert_eq!(
        parse_key_id("0x0123456789abcdef").unwrap(),
        (
            "89ABCDEF".into(),
            "0123456789ABCDEF".into(),
            "0123456789ABCDEF".into()
        )
    );
    let (short, fp, whole) = parse_key_id("AAAABBBBCCCCDDDDEEEEFFFF0123456789ABCDEF").unwrap();
    assert_eq!(
        (short.as_str(), fp.as_str()),
        ("89ABCDEF", "0123456789ABCDEF")
    );
    assert_eq!(whole.len(), 40);
    assert_eq!(parse_key_id("89abcdef").unwrap().1, "89ABCDEF");
    assert!(parse_key_id("0123456789").is_err());
    assert!(parse_key_id("xyz12345").is_err());
}

#[test]
fn listings_give_the_unexpired_key_ids() {
    assert_eq!(
        parse_keys(LISTING, false),
        ["0123456789ABCDEF", "FEDCBA9876543210"]
    );
    assert_eq!(parse_keys(LISTING, true), ["89ABCDEF", "76543210"]);
    assert_eq!(
        parse_keys(COLONS, false),
        ["0123456789ABCDEF", "FEDCBA9876543210"]
    );
}

#[test]
fn a_listed_key_is_left_alone_and_a_missing_one_added_from_its_file() {
    let key = module(json!({"id": "0123456789ABCDEF", "file": "/tmp/key.asc"}));
    let plan = key.plan(&probe(LISTING, None)).unwrap();
    assert!(!plan.changed);
    assert_eq!(
        plan.data["before"],
        json!(["0123456789ABCDEF", "FEDCBA9876543210"])
    );
    let plan = key.plan(&probe("", None)).unwrap();
    assert!(plan.changed);
    assert_eq!(scripts(&plan.steps[..1]), ["apt-key add /tmp/key.asc\n"]);
    let listing = &scripts(&plan.steps[1..])[0];
    assert!(
        listing.contains("apt-key adv --list-public-keys '--keyid-format=long' 2>/dev/null\n"),
        "{listing}"
    );
}

#[test]
fn without_an_id_the_key_is_read_from_the_data() {
    let key = module(
        json!({"data": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n...", "keyring": "/etc/apt/keyrings/x.gpg"}),
    );
    assert!(key.probe().unwrap().contains("gpg --with-colons -"));
    let plan = key.plan(&probe("", Some(COLONS))).unwrap();
    assert_eq!(plan.data["id"], json!("0123456789ABCDEF"));
    match &plan.steps[0] {
        Step::Run {
            script,
            stdin: Some(stdin),
        } => {
            assert_eq!(
                script.as_str(),
                "apt-key --keyring /etc/apt/keyrings/x.gpg add -\n"
            );
            assert!(stdin.bytes().starts_with(b"-----BEGIN"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!key.plan(&probe(LISTING, Some(COLONS))).unwrap().changed);
    let unreadable = Probe::ok("list_rc=0\nkeys=\ngpg_rc=2\nkey=\n");
    assert_eq!(
        key.plan(&unreadable).unwrap_err().to_string(),
        "Unable to extract key from 'inline data'"
    );
}

#[test]
fn a_url_is_downloaded_on_the_host_and_removal_uses_the_short_id() {
    let key = module(json!({"url": "https://keys.example.invalid/k.asc", "validate_certs": false}));
    let probe_text = key.probe().unwrap();
    assert!(
        probe_text.contains("curl -fsSL --insecure -- https://keys.example.invalid/k.asc >\"$t\""),
        "{probe_text}"
    );
    let plan = key.plan(&probe("", Some(COLONS))).unwrap();
    assert_eq!(
        scripts(&plan.steps[..1]),
        ["curl -fsSL --insecure -- https://keys.example.invalid/k.asc | apt-key add -\n"]
    );
    let failed = Probe::ok("list_rc=0\nkeys=\ndownload_rc=22\n");
    assert!(
        key.plan(&failed)
            .unwrap_err()
            .to_string()
            .starts_with("Failed to download key at")
    );
    let gone = module(json!({"id": "0123456789ABCDEF", "state": "absent"}));
    let plan = gone.plan(&probe(LISTING, None)).unwrap();
    assert_eq!(scripts(&plan.steps[..1]), ["apt-key del 89ABCDEF\n"]);
    assert!(!gone.plan(&probe("", None)).unwrap().changed);
}

#[test]
fn the_listing_after_the_change_decides_success() {
    let key = module(json!({"id": "0123456789ABCDEF", "data": "k"}));
    let report = |listing: &str| StepOutput {
        stdout: format!("after={}\nkey_id=0123456789ABCDEF\n", b64(listing)),
        ..StepOutput::default()
    };
    assert!(
        key.outcome(&[StepOutput::default(), report(LISTING)])
            .is_ok()
    );
    let err = key
        .outcome(&[StepOutput::default(), report("")])
        .unwrap_err();
    assert!(err.to_string().contains("failed to add the key"), "{err}");
    let applied = key.applied(&[report(LISTING)]).unwrap();
    assert_eq!(
        applied.data["after"],
        json!(["0123456789ABCDEF", "FEDCBA9876543210"])
    );
}

#[test]
fn a_keyserver_is_tried_five_times() {
    let key = module(json!({"id": "0123456789ABCDEF", "keyserver": "keyserver.example.invalid"}));
    let plan = key.plan(&probe("", None)).unwrap();
    let out = run_with_programs(
        &["apt-key"],
        "",
        match &plan.steps[0] {
            Step::Run { script, .. } => script,
            other => panic!("{other:?}"),
        },
        b"",
    );
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "stops at the first success: {}",
        out.stdout
    );
    assert_eq!(
        out.stdout,
        "apt-key [adv] [--no-tty] [--keyserver] [keyserver.example.invalid] [--recv] [0123456789ABCDEF]\n"
    );
}

#[test]
fn rejects_what_ansible_rejects() {
    assert!(build(json!({}), &NoFiles).is_err());
    assert!(build(json!({"keyserver": "k"}), &NoFiles).is_err());
    assert!(build(json!({"id": "12345"}), &NoFiles).is_err());
    assert!(build(json!({"id": "89ABCDEF", "url": "u", "data": "d"}), &NoFiles).is_err());
    assert!(build(json!({"id": "89ABCDEF", "signed_by": "x"}), &NoFiles).is_err());
    assert!(build(json!({"id": "89ABCDEF", "state": "absent"}), &NoFiles).is_ok());
}
