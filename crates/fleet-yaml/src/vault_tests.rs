//! The keyring is process-wide: every test here installs the same one.

use serde_json::json;

use crate::{YamlErrorKind, parse_document};

const INLINE: &str = include_str!("../../fleet-vault/tests/fixtures/inline.yml");
const WHOLE: &str = include_str!("../../fleet-vault/tests/fixtures/v11.yml");

fn install() {
    fleet_vault::install_keyring(fleet_vault::Keyring::new(vec![fleet_vault::Secret::new(
        "default",
        "fixture-pass",
    )]));
}

#[test]
fn a_vault_tagged_scalar_is_decrypted_and_becomes_a_secret() {
    install();
    let text = format!("{INLINE}plain: \"$ANSIBLE_VAULT;1.1;AES256\"\n");
    let root = parse_document(&text, "vars.yml").unwrap();
    assert_eq!(
        root.value.to_json(),
        json!({"db_password": "s3cret-value", "plain": "$ANSIBLE_VAULT;1.1;AES256"})
    );
    assert_eq!(fleet_vault::mask("pw s3cret-value"), "pw ********");
}

#[test]
fn a_whole_vault_file_is_read_as_its_plaintext() {
    install();
    let root = parse_document(WHOLE, "secrets.yml").unwrap();
    assert_eq!(
        root.value.to_json(),
        json!({"db_password": "s3cret-value", "api_token": "tok:42"})
    );
    assert_eq!(fleet_vault::mask("tok:42"), "********");
}

#[test]
fn a_value_that_does_not_decrypt_is_located() {
    install();
    let broken = INLINE.replace("31353866", "31353865");
    let text = format!("first: 1\n{broken}");
    let err = parse_document(&text, "vars.yml").unwrap_err();
    assert_eq!(err.kind, YamlErrorKind::Vault);
    assert_eq!(
        (err.diagnostic.location.line, err.diagnostic.location.column),
        (3, Some(11)),
        "{err}"
    );
    assert!(err.to_string().contains("vault id `default`"), "{err}");
}
