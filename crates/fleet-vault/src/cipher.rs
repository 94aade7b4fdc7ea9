//! VaultAES256: PBKDF2-HMAC-SHA256 (10000 rounds) derives 80 bytes from the
//! password and a 32-byte salt: the AES-256 key, the HMAC-SHA256 key and the
//! 16-byte initial counter. The plaintext is PKCS7-padded to the AES block,
//! encrypted in CTR mode (128-bit big-endian counter), and the HMAC covers the
//! ciphertext. Every primitive is a RustCrypto crate's.

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::envelope::{CIPHER, Envelope};
use crate::error::VaultError;

const ROUNDS: u32 = 10_000;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;
const BLOCK: usize = 16;
pub const SALT_LEN: usize = 32;

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

struct Keys {
    cipher: [u8; KEY_LEN],
    mac: [u8; KEY_LEN],
    iv: [u8; IV_LEN],
}

fn derive(password: &[u8], salt: &[u8]) -> Keys {
    let mut derived = [0u8; 2 * KEY_LEN + IV_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut derived);
    let mut keys = Keys {
        cipher: [0; KEY_LEN],
        mac: [0; KEY_LEN],
        iv: [0; IV_LEN],
    };
    keys.cipher.copy_from_slice(&derived[..KEY_LEN]);
    keys.mac.copy_from_slice(&derived[KEY_LEN..2 * KEY_LEN]);
    keys.iv.copy_from_slice(&derived[2 * KEY_LEN..]);
    keys
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length")
}

/// Encrypts with a fresh random salt.
pub fn encrypt(
    plaintext: &[u8],
    password: &[u8],
    label: Option<&str>,
) -> Result<Envelope, VaultError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt)
        .map_err(|err| VaultError::Source(format!("no randomness available: {err}")))?;
    Ok(encrypt_with_salt(plaintext, password, &salt, label))
}

/// Encrypts with the given salt (Ansible's `VAULT_ENCRYPT_SALT`, and tests).
pub fn encrypt_with_salt(
    plaintext: &[u8],
    password: &[u8],
    salt: &[u8],
    label: Option<&str>,
) -> Envelope {
    let keys = derive(password, salt);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = plaintext.to_vec();
    data.extend(std::iter::repeat_n(pad as u8, pad));
    Aes256Ctr::new(&keys.cipher.into(), &keys.iv.into()).apply_keystream(&mut data);
    let mut hmac = mac(&keys.mac);
    hmac.update(&data);
    Envelope {
        version: if label.is_some_and(|label| label != crate::DEFAULT_ID) {
            "1.2"
        } else {
            "1.1"
        }
        .into(),
        cipher: CIPHER.into(),
        label: label.map(str::to_string),
        salt: salt.to_vec(),
        hmac: hmac.finalize().into_bytes().to_vec(),
        ciphertext: data,
    }
}

/// Decrypts after checking the HMAC in constant time (`verify_slice`).
pub fn decrypt(envelope: &Envelope, password: &[u8]) -> Result<Vec<u8>, VaultError> {
    let keys = derive(password, &envelope.salt);
    let mut hmac = mac(&keys.mac);
    hmac.update(&envelope.ciphertext);
    hmac.verify_slice(&envelope.hmac)
        .map_err(|_| VaultError::Hmac)?;
    let mut data = envelope.ciphertext.clone();
    Aes256Ctr::new(&keys.cipher.into(), &keys.iv.into()).apply_keystream(&mut data);
    let pad = usize::from(
        *data
            .last()
            .ok_or_else(|| VaultError::Format("empty ciphertext".into()))?,
    );
    let padded_right = (1..=BLOCK).contains(&pad)
        && pad <= data.len()
        && data[data.len() - pad..]
            .iter()
            .all(|byte| usize::from(*byte) == pad);
    if !padded_right {
        return Err(VaultError::Format("invalid PKCS7 padding".into()));
    }
    data.truncate(data.len() - pad);
    Ok(data)
}
