//! Vectors made with ansible-vault (ansible-core 2.19) and committed under
//! tests/fixtures: `fixture-pass` is the default id's password, `other-pass`
//! the `prod` id's.

use crate::{DEFAULT_ID, Envelope, Keyring, Secret, VaultError, decrypt, encrypt_with_salt};

const PLAIN: &str = include_str!("../tests/fixtures/plain.yml");
const V11: &str = include_str!("../tests/fixtures/v11.yml");
const V12_PROD: &str = include_str!("../tests/fixtures/v12_prod.yml");
const V11_EMPTY: &str = include_str!("../tests/fixtures/v11_empty.txt");
const V11_BLOCK16: &str = include_str!("../tests/fixtures/v11_block16.txt");
const INLINE: &str = include_str!("../tests/fixtures/inline.yml");

fn default_ring() -> Keyring {
    Keyring::new(vec![Secret::new(DEFAULT_ID, "fixture-pass")])
}

fn both_rings() -> Keyring {
    Keyring::new(vec![
        Secret::new(DEFAULT_ID, "fixture-pass"),
        Secret::new("prod", "other-pass"),
    ])
}

#[test]
fn decrypts_ansible_vault_1_1() {
    let decrypted = default_ring().decrypt(V11.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(decrypted.plaintext).unwrap(), PLAIN);
    assert_eq!(decrypted.vault_id, "default");
}

#[test]
fn decrypts_1_2_with_the_labelled_secret_first() {
    let envelope = Envelope::parse(V12_PROD.as_bytes()).unwrap();
    assert_eq!(envelope.label.as_deref(), Some("prod"));
    let decrypted = both_rings().decrypt(V12_PROD.as_bytes()).unwrap();
    assert_eq!(decrypted.vault_id, "prod");
    assert_eq!(String::from_utf8(decrypted.plaintext).unwrap(), PLAIN);
}

#[test]
fn a_label_is_a_hint_every_secret_is_tried() {
    // The prod password stored under another id still opens a prod file.
    let ring = Keyring::new(vec![Secret::new("staging", "other-pass")]);
    assert_eq!(
        ring.decrypt(V12_PROD.as_bytes()).unwrap().vault_id,
        "staging"
    );
}

#[test]
fn a_wrong_password_names_the_ids_tried() {
    let ring = Keyring::new(vec![
        Secret::new(DEFAULT_ID, "nope"),
        Secret::new("dev", "nah"),
    ]);
    assert_eq!(
        ring.decrypt(V11.as_bytes()),
        Err(VaultError::NoMatch {
            label: "default".into(),
            tried: "[default, dev]".into()
        })
    );
    assert_eq!(
        Keyring::default().decrypt(V11.as_bytes()),
        Err(VaultError::NoSecrets {
            label: "default".into()
        })
    );
}

#[test]
fn empty_and_block_sized_plaintexts_unpad() {
    assert!(
        default_ring()
            .decrypt(V11_EMPTY.as_bytes())
            .unwrap()
            .plaintext
            .is_empty()
    );
    assert_eq!(
        default_ring()
            .decrypt(V11_BLOCK16.as_bytes())
            .unwrap()
            .plaintext,
        b"x".repeat(16)
    );
}

#[test]
fn decrypts_an_encrypt_string_block_once_unindented() {
    let body: String = INLINE
        .lines()
        .skip(1)
        .map(|line| format!("{}\n", line.trim()))
        .collect();
    let plaintext = default_ring().decrypt(body.as_bytes()).unwrap().plaintext;
    assert_eq!(plaintext, b"s3cret-value");
}

#[test]
fn same_salt_gives_ansibles_bytes() {
    let envelope = Envelope::parse(V11.as_bytes()).unwrap();
    let again = encrypt_with_salt(PLAIN.as_bytes(), b"fixture-pass", &envelope.salt, None);
    assert_eq!(again.format(), V11);
    let envelope = Envelope::parse(V12_PROD.as_bytes()).unwrap();
    let again = encrypt_with_salt(
        PLAIN.as_bytes(),
        b"other-pass",
        &envelope.salt,
        Some("prod"),
    );
    assert_eq!(again.format(), V12_PROD);
}

#[test]
fn a_tampered_ciphertext_fails_the_hmac() {
    let mut envelope = Envelope::parse(V11.as_bytes()).unwrap();
    envelope.ciphertext[0] ^= 1;
    assert_eq!(decrypt(&envelope, b"fixture-pass"), Err(VaultError::Hmac));
}

#[test]
fn encrypts_with_the_chosen_id() {
    let ring = both_rings();
    let text = ring.encrypt(b"hello", Some("prod")).unwrap();
    assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
    assert_eq!(ring.decrypt(text.as_bytes()).unwrap().plaintext, b"hello");
    assert!(
        ring.encrypt(b"hello", None)
            .unwrap()
            .starts_with("$ANSIBLE_VAULT;1.1;AES256\n")
    );
    assert!(matches!(
        ring.encrypt(b"x", Some("qa")),
        Err(VaultError::NoEncryptId(..))
    ));
    assert_eq!(
        ring.encrypt(V11.as_bytes(), None),
        Err(VaultError::AlreadyEncrypted)
    );
}
