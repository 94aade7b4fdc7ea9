//! CLI behaviour pinned with snapshots: help text and inventory output.

use fleet_tests::{assert_exit, fleet, repo_root};

fn stdout(args: &[&str]) -> String {
    let output = fleet()
        .current_dir(repo_root())
        .args(args)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn help() {
    insta::assert_snapshot!("help", stdout(&["--help"]));
    insta::assert_snapshot!("run_help", stdout(&["run", "--help"]));
    insta::assert_snapshot!("apply_help", stdout(&["apply", "--help"]));
    insta::assert_snapshot!("releases_help", stdout(&["releases", "--help"]));
    insta::assert_snapshot!("rollback_help", stdout(&["rollback", "--help"]));
    insta::assert_snapshot!("unlock_help", stdout(&["unlock", "--help"]));
    insta::assert_snapshot!("vault_help", stdout(&["vault", "--help"]));
    insta::assert_snapshot!(
        "vault_encrypt_help",
        stdout(&["vault", "encrypt", "--help"])
    );
    insta::assert_snapshot!(
        "vault_encrypt_string_help",
        stdout(&["vault", "encrypt_string", "--help"])
    );
    insta::assert_snapshot!("vault_rekey_help", stdout(&["vault", "rekey", "--help"]));
}

#[test]
fn inventory_human() {
    insta::assert_snapshot!(stdout(&[
        "inventory",
        "-i",
        "inventories/example.yaml",
        "-l",
        "web:!canary"
    ]));
}

#[test]
fn inventory_list_has_ansible_inventorys_shape() {
    let text = stdout(&["inventory", "-i", "inventories/example.ini", "--list"]);
    let listing: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(listing["_meta"]["hostvars"].is_object());
    insta::assert_snapshot!(text);
}

#[test]
fn inventory_ini_human() {
    insta::assert_snapshot!(stdout(&["inventory", "-i", "inventories/example.ini"]));
}

#[test]
fn inventory_json_is_ndjson() {
    let text = stdout(&[
        "inventory",
        "-i",
        "inventories/example.yaml",
        "--format",
        "json",
    ]);
    let events = fleet_tests::events(text.as_bytes());
    assert!(events.iter().all(|e| e["event"] == "host"));
    insta::assert_snapshot!(text);
}
