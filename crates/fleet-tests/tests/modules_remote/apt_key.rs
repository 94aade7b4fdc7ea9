//! `apt_key`: the test repository's throwaway key, served over HTTP by the
//! test file server, added and removed with the host's `apt-key`.

use fleet_engine::Status;
use fleet_tests::fixtures::Fixtures;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

use super::{apt_install, host, sh_ok};

/// The fingerprints in `keyring`, as gpg lists them.
fn fingerprints(lab: &LabHost, keyring: &str) -> String {
    lab.sh(&format!(
        "gpg --no-default-keyring --keyring {keyring} --with-colons --list-keys 2>/dev/null | grep ^fpr"
    ))
    .1
}

#[test]
fn apt_key_adds_and_removes_a_served_key() {
    let lab = host();
    apt_install(&lab, "gnupg");
    if lab.sh("command -v apt-key").0 != 0 {
        eprintln!("skipped: this release's apt has no apt-key");
        return;
    }
    let fixtures = Fixtures::get();
    let url = format!("{}/keys/fleet-test.asc", fixtures.url());
    let fingerprint = fixtures.repo.fingerprint.clone();
    let key_id = fixtures.repo.key_id().to_string();
    let dir = "/srv/fleet-remote-aptkey";
    let keyring = format!("{dir}/test.gpg");
    sh_ok(&lab, &format!("rm -rf {dir} && mkdir -p {dir}"));

    // From a URL, without an id: the key's own ID is read from it.
    let by_url = json!({"url": url, "keyring": keyring});
    let check = lab.run("apt_key", by_url.clone(), true);
    assert_status(&check, Status::Changed);
    assert!(!fingerprints(&lab, &keyring).contains(&fingerprint));
    let added = lab.converge("apt_key", by_url.clone());
    assert_eq!(added.data["id"], json!(key_id));
    assert_eq!(added.data["fp"], json!(key_id));
    assert!(
        added.data["after"]
            .as_array()
            .is_some_and(|keys| keys.contains(&json!(key_id)))
    );
    assert!(fingerprints(&lab, &keyring).contains(&fingerprint));

    // By id, absent; then from a file and from data, by id (short form).
    let short = &key_id[key_id.len() - 8..];
    lab.converge(
        "apt_key",
        json!({"id": key_id, "keyring": keyring, "state": "absent"}),
    );
    assert!(!fingerprints(&lab, &keyring).contains(&fingerprint));
    sh_ok(&lab, &format!("curl -fsS -o {dir}/key.asc {url}"));
    lab.converge(
        "apt_key",
        json!({"id": short, "file": format!("{dir}/key.asc"), "keyring": keyring}),
    );
    assert!(fingerprints(&lab, &keyring).contains(&fingerprint));
    lab.converge(
        "apt_key",
        json!({"id": fingerprint, "keyring": keyring, "state": "absent"}),
    );
    let data = String::from_utf8_lossy(&fixtures.repo.key_asc).into_owned();
    lab.converge("apt_key", json!({"data": data, "keyring": keyring}));
    assert!(fingerprints(&lab, &keyring).contains(&fingerprint));

    // A wrong id for the key fails after apt-key ran.
    let wrong = lab.run(
        "apt_key",
        json!({"id": "0123456789ABCDEF", "file": format!("{dir}/key.asc"), "keyring": format!("{dir}/other.gpg")}),
        false,
    );
    assert_status(&wrong, Status::Failed);
    assert!(
        wrong
            .msg
            .unwrap_or_default()
            .contains("failed to add the key")
    );
    sh_ok(&lab, &format!("rm -rf {dir}"));
}
