//! Whether a role's password must be set again: the wanted password
//! against the verifier PostgreSQL stores, as community.postgresql
//! decides it (a SCRAM-SHA-256 verifier is checked by recomputing its
//! server key from the password; an md5 one by hashing password and name).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// `SCRAM-SHA-256$<iterations>:<salt>$<stored key>:<server key>`.
fn scram_parts(verifier: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
    let (params, keys) = rest.split_once('$')?;
    let (iterations, salt) = params.split_once(':')?;
    let (_stored, server) = keys.split_once(':')?;
    Some((
        iterations.parse().ok()?,
        STANDARD.decode(salt).ok()?,
        STANDARD.decode(server).ok()?,
    ))
}

fn is_scram(text: &str) -> bool {
    scram_parts(text).is_some()
}

fn is_md5(text: &str) -> bool {
    text.len() == 35 && text.starts_with("md5")
}

/// Whether `password` (clear text) yields the server key of `verifier`.
fn scram_matches(password: &str, verifier: &str) -> bool {
    let Some((iterations, salt, server_key)) = scram_parts(verifier) else {
        return false;
    };
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
    let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&salted) else {
        return false;
    };
    mac.update(b"Server Key");
    mac.verify_slice(&server_key).is_ok()
}

/// `md5` + hex(md5(password + user)): PostgreSQL's md5 verifier.
pub(crate) fn md5_verifier(password: &str, user: &str) -> String {
    format!("md5{:x}", md5::compute(format!("{password}{user}")))
}

/// Whether the password must be set. `current` is the stored verifier
/// (none when the role has no password), `encryption` the server's
/// `password_encryption`.
pub(super) fn changes(
    password: &str,
    current: Option<&str>,
    user: &str,
    encrypted: bool,
    encryption: &str,
) -> bool {
    if password.is_empty() {
        return current.is_some();
    }
    if is_scram(password) {
        return Some(password) != current;
    }
    if let Some(current) = current.filter(|c| is_scram(c)) {
        return !scram_matches(password, current);
    }
    if is_md5(password) || !encrypted {
        return Some(password) != current;
    }
    match encryption {
        "md5" => Some(md5_verifier(password, user).as_str()) != current,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verifier PostgreSQL 15 stored for `ALTER USER x PASSWORD 's3cret'`.
    const STORED: &str = "SCRAM-SHA-256$4096:uUBVJcAdIDpJGqF8cGS+Zw==$\
        zhaCdFj1lRW7IGzqPPetnQUtT0Y/q/oN6dVPzOu8ijQ=:\
        +Z/593fv0ki3CnvrVIHANOahcBzSPoPoUHUinHd0amk=";

    #[test]
    fn a_scram_verifier_is_checked_against_the_password() {
        assert!(!changes("s3cret", Some(STORED), "x", true, "scram-sha-256"));
        assert!(changes("other", Some(STORED), "x", true, "scram-sha-256"));
        assert!(!changes(STORED, Some(STORED), "x", true, "scram-sha-256"));
    }

    #[test]
    fn md5_clear_and_empty_passwords() {
        let md5 = md5_verifier("s3cret", "app");
        assert_eq!(md5.len(), 35);
        assert!(!changes("s3cret", Some(&md5), "app", true, "md5"));
        assert!(changes("s3cret", Some(&md5), "ops", true, "md5"));
        assert!(!changes(&md5, Some(&md5), "app", true, "scram-sha-256"));
        assert!(changes("s3cret", None, "app", true, "scram-sha-256"));
        assert!(changes("", Some(&md5), "app", true, "md5"));
        assert!(!changes("", None, "app", true, "md5"));
    }
}
