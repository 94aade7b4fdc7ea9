//! `password_hash(hashtype='sha512', salt=None, salt_size=None,
//! rounds=None, ident=None)`: crypt(3) hashes as Ansible makes them with
//! passlib, so that the system's `crypt` (and `/etc/shadow`) accepts them.
//!
//! - `sha512_crypt` (also `sha512`, the default) and `sha256_crypt`
//!   (`sha256`): `$6$rounds=656000$salt$hash`; passlib's default rounds
//!   (656000 and 535000), and no `rounds=` field when `rounds=5000`.
//!   Salts are up to 16 of `./0-9A-Za-z`.
//! - `bcrypt` (`blowfish`): `$2b$12$` and 53 characters; `rounds` is the
//!   cost (4 to 31, default 12), `ident` one of `2a`, `2b`, `2y`; a salt is
//!   22 characters of `./A-Za-z0-9`.

use base64::Engine as _;
use base64::alphabet::BCRYPT;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use minijinja::value::Kwargs;
use minijinja::{Error, Value};

use crate::filters::{defined, failed};

const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The byte triples of SHA-512-crypt's output, in output order (from the
/// algorithm's specification); the last byte goes alone.
const SHA512_ORDER: [[usize; 3]; 21] = [
    [0, 21, 42],
    [22, 43, 1],
    [44, 2, 23],
    [3, 24, 45],
    [25, 46, 4],
    [47, 5, 26],
    [6, 27, 48],
    [28, 49, 7],
    [50, 8, 29],
    [9, 30, 51],
    [31, 52, 10],
    [53, 11, 32],
    [12, 33, 54],
    [34, 55, 13],
    [56, 14, 35],
    [15, 36, 57],
    [37, 58, 16],
    [59, 17, 38],
    [18, 39, 60],
    [40, 61, 19],
    [62, 20, 41],
];

/// The same for SHA-256-crypt; the last two bytes go together.
const SHA256_ORDER: [[usize; 3]; 10] = [
    [0, 10, 20],
    [21, 1, 11],
    [12, 22, 2],
    [3, 13, 23],
    [24, 4, 14],
    [15, 25, 5],
    [6, 16, 26],
    [27, 7, 17],
    [18, 28, 8],
    [9, 19, 29],
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Sha512,
    Sha256,
    Bcrypt,
}

impl Scheme {
    fn from_name(name: &str) -> Result<Scheme, Error> {
        match name {
            "sha512" | "sha512_crypt" => Ok(Scheme::Sha512),
            "sha256" | "sha256_crypt" => Ok(Scheme::Sha256),
            "blowfish" | "bcrypt" => Ok(Scheme::Bcrypt),
            other => Err(failed(format!(
                "password_hash: unsupported hash type `{other}`; use sha512_crypt, sha256_crypt or bcrypt"
            ))),
        }
    }

    fn default_rounds(self) -> u32 {
        match self {
            Scheme::Sha512 => 656_000,
            Scheme::Sha256 => 535_000,
            Scheme::Bcrypt => 12,
        }
    }
}

/// What to hash with: everything but the password.
pub(crate) struct HashSettings<'a> {
    pub(crate) hashtype: &'a str,
    pub(crate) salt: Option<&'a str>,
    pub(crate) salt_size: Option<usize>,
    pub(crate) rounds: Option<u32>,
    pub(crate) ident: Option<&'a str>,
}

pub(crate) fn password_hash(
    value: &Value,
    hashtype: Option<&str>,
    salt: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    defined(value, "password_hash")?;
    let password = match value.as_str() {
        Some(text) => text.to_owned(),
        None => value.to_string(),
    };
    let hashtype = match hashtype {
        Some(hashtype) => Some(hashtype),
        None => kwargs.get::<Option<&str>>("hashtype")?,
    };
    let salt = match salt {
        Some(salt) => Some(salt),
        None => kwargs.get::<Option<Value>>("salt")?,
    };
    let salt = salt
        .as_ref()
        .filter(|salt| !salt.is_none())
        .map(Value::to_string);
    let settings = HashSettings {
        hashtype: hashtype.unwrap_or("sha512"),
        salt: salt.as_deref().filter(|salt| !salt.is_empty()),
        salt_size: kwargs.get::<Option<usize>>("salt_size")?,
        rounds: kwargs.get::<Option<u32>>("rounds")?,
        ident: kwargs.get::<Option<&str>>("ident")?,
    };
    kwargs.assert_all_used()?;
    hash(&password, &settings).map_err(|err| failed(format!("password_hash: {err}")))
}

/// The crypt(3) string for `password`.
pub(crate) fn hash(password: &str, settings: &HashSettings<'_>) -> Result<String, String> {
    let scheme = Scheme::from_name(settings.hashtype).map_err(|err| {
        err.detail()
            .unwrap_or_default()
            .trim_start_matches("password_hash: ")
            .to_owned()
    })?;
    let rounds = settings
        .rounds
        .filter(|&r| r != 0)
        .unwrap_or(scheme.default_rounds());
    match scheme {
        Scheme::Bcrypt => bcrypt(password, settings, rounds),
        Scheme::Sha512 | Scheme::Sha256 => sha_crypt(password, settings, scheme, rounds),
    }
}

fn random_bytes(count: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes).map_err(|err| format!("no randomness available: {err}"))?;
    Ok(bytes)
}

fn sha_crypt(
    password: &str,
    settings: &HashSettings<'_>,
    scheme: Scheme,
    rounds: u32,
) -> Result<String, String> {
    let salt = match settings.salt {
        Some(salt) => salt.to_owned(),
        None => {
            let size = settings.salt_size.unwrap_or(16);
            if !(1..=16).contains(&size) {
                return Err(format!("salt_size must be from 1 to 16, got {size}"));
            }
            random_bytes(size)?
                .into_iter()
                .map(|b| char::from(CRYPT_ALPHABET[usize::from(b & 63)]))
                .collect()
        }
    };
    if salt.len() > 16 {
        return Err(format!("the salt `{salt}` is longer than 16 characters"));
    }
    if let Some(bad) = salt
        .chars()
        .find(|c| !CRYPT_ALPHABET.contains(&(*c as u8)) || !c.is_ascii())
    {
        return Err(format!("the salt may hold only ./0-9A-Za-z, not `{bad}`"));
    }
    let params = sha_crypt::Params::new(rounds)
        .map_err(|_| format!("rounds must be from 1000 to 999999999, got {rounds}"))?;
    let (id, encoded) = match scheme {
        Scheme::Sha256 => {
            let digest = sha_crypt::sha256_crypt(password.as_bytes(), salt.as_bytes(), params);
            let mut out = encode_triples(&digest, &SHA256_ORDER);
            push_crypt64(
                &mut out,
                (u32::from(digest[31]) << 8) | u32::from(digest[30]),
                3,
            );
            ("5", out)
        }
        _ => {
            let digest = sha_crypt::sha512_crypt(password.as_bytes(), salt.as_bytes(), params);
            let mut out = encode_triples(&digest, &SHA512_ORDER);
            push_crypt64(&mut out, u32::from(digest[63]), 2);
            ("6", out)
        }
    };
    // passlib, like crypt, writes no rounds field for the implicit 5000.
    let rounds_field = if rounds == 5000 {
        String::new()
    } else {
        format!("rounds={rounds}$")
    };
    Ok(format!("${id}${rounds_field}{salt}${encoded}"))
}

fn encode_triples(digest: &[u8], order: &[[usize; 3]]) -> String {
    let mut out = String::new();
    for [high, middle, low] in order {
        let word = (u32::from(digest[*high]) << 16)
            | (u32::from(digest[*middle]) << 8)
            | u32::from(digest[*low]);
        push_crypt64(&mut out, word, 4);
    }
    out
}

/// `count` characters of `word`, lowest six bits first.
fn push_crypt64(out: &mut String, mut word: u32, count: usize) {
    for _ in 0..count {
        out.push(char::from(CRYPT_ALPHABET[(word & 63) as usize]));
        word >>= 6;
    }
}

fn bcrypt_engine() -> GeneralPurpose {
    GeneralPurpose::new(
        &BCRYPT,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    )
}

fn bcrypt(password: &str, settings: &HashSettings<'_>, cost: u32) -> Result<String, String> {
    let version = match settings.ident.unwrap_or("2b") {
        "2a" => bcrypt::Version::TwoA,
        "2b" => bcrypt::Version::TwoB,
        "2y" => bcrypt::Version::TwoY,
        other => return Err(format!("bcrypt ident must be 2a, 2b or 2y, got `{other}`")),
    };
    let salt: [u8; 16] = match settings.salt {
        Some(salt) => {
            let bad = || format!("a bcrypt salt is 22 characters of ./A-Za-z0-9, got `{salt}`");
            if salt.len() != 22 {
                return Err(bad());
            }
            bcrypt_engine()
                .decode(salt)
                .map_err(|_| bad())?
                .try_into()
                .map_err(|_| bad())?
        }
        None => random_bytes(16)?
            .try_into()
            .map_err(|_| "no randomness available".to_owned())?,
    };
    if !(4..=31).contains(&cost) {
        return Err(format!(
            "bcrypt rounds (the cost) must be from 4 to 31, got {cost}"
        ));
    }
    bcrypt::hash_with_salt(password.as_bytes(), cost, salt)
        .map(|parts| parts.format_for_version(version))
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings<'a>(
        hashtype: &'a str,
        salt: Option<&'a str>,
        rounds: Option<u32>,
    ) -> HashSettings<'a> {
        HashSettings {
            hashtype,
            salt,
            salt_size: None,
            rounds,
            ident: None,
        }
    }

    // Expected hashes are what glibc's crypt(3) gives for the same
    // password and setting (and what Ansible's tests expect).

    #[test]
    fn sha512_crypt_matches_the_system_crypt() {
        assert_eq!(
            hash(
                "123",
                &settings("sha512_crypt", Some("12345678"), Some(5000))
            )
            .unwrap(),
            "$6$12345678$LcV9LQiaPekQxZ.OfkMADjFdSO2k9zfbDQrHPVcYjSLqSdjLYpsgqviYvTEP/R41yPmhH3CCeEDqVhW1VHr3L."
        );
        assert_eq!(
            hash("123", &settings("sha512", Some("12345678"), Some(6000))).unwrap(),
            "$6$rounds=6000$12345678$l/fC67BdJwZrJ7qneKGP1b6PcatfBr0dI7W6JLBrsv8P1wnv/0pu4WJsWq5p6WiXgZ2gt9Aoir3MeORJxg4.Z/"
        );
    }

    #[test]
    fn sha512_crypt_uses_passlibs_default_rounds() {
        assert_eq!(
            hash("123", &settings("sha512", Some("12345678"), None)).unwrap(),
            "$6$rounds=656000$12345678$InMy49UwxyCh2pGJU1NpOhVSElDDzKeyuC6n6E9O34BCUGVNYADnI.rcA3m.Vro9BiZpYmjEoNhpREqQcbvQ80"
        );
    }

    #[test]
    fn sha256_crypt_matches_the_system_crypt() {
        assert_eq!(
            hash(
                "123",
                &settings("sha256_crypt", Some("12345678"), Some(5000))
            )
            .unwrap(),
            "$5$12345678$uAZsE3BenI2G.nA8DpTl.9Dc8JiqacI53pEqRr5ppT7"
        );
        assert_eq!(
            hash("123", &settings("sha256", Some("12345678"), Some(10000))).unwrap(),
            "$5$rounds=10000$12345678$JBinliYMFEcBeAXKZnLjenhgEhTmJBvZn3aR8l70Oy/"
        );
    }

    #[test]
    fn bcrypt_matches_the_system_crypt() {
        assert_eq!(
            hash(
                "123",
                &settings("bcrypt", Some("1234567890123456789012"), None)
            )
            .unwrap(),
            "$2b$12$123456789012345678901ugbM1PeTfRQ0t6dCJu5lQA8hwrZOYgDu"
        );
        let with_ident = HashSettings {
            ident: Some("2a"),
            ..settings("blowfish", Some("123456789012345678901u"), Some(12))
        };
        assert_eq!(
            hash("123", &with_ident).unwrap(),
            "$2a$12$123456789012345678901ugbM1PeTfRQ0t6dCJu5lQA8hwrZOYgDu"
        );
    }

    #[test]
    fn random_salts_have_the_expected_shape() {
        let sha = hash("pw", &settings("sha512", None, Some(5000))).unwrap();
        let fields: Vec<&str> = sha.split('$').collect();
        assert_eq!((fields[1], fields[2].len(), fields[3].len()), ("6", 16, 86));
        let short = HashSettings {
            salt_size: Some(8),
            ..settings("sha512", None, Some(5000))
        };
        assert_eq!(
            hash("pw", &short).unwrap().split('$').nth(2).map(str::len),
            Some(8)
        );
        let bcrypt = hash("pw", &settings("bcrypt", None, Some(4))).unwrap();
        assert!(
            bcrypt.starts_with("$2b$04$") && bcrypt.len() == 60,
            "{bcrypt}"
        );
        assert_ne!(
            hash("pw", &settings("sha512", None, Some(5000))).unwrap(),
            sha
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let err = |s: HashSettings<'_>| hash("pw", &s).unwrap_err();
        assert_eq!(
            err(settings("md4", None, None)),
            "unsupported hash type `md4`; use sha512_crypt, sha256_crypt or bcrypt"
        );
        assert_eq!(
            err(settings("sha512", Some("12345678901234567"), None)),
            "the salt `12345678901234567` is longer than 16 characters"
        );
        assert_eq!(
            err(settings("sha512", Some("ab$c"), None)),
            "the salt may hold only ./0-9A-Za-z, not `$`"
        );
        assert_eq!(
            err(settings("sha512", Some("abc"), Some(10))),
            "rounds must be from 1000 to 999999999, got 10"
        );
        assert!(
            err(settings("bcrypt", Some("short"), None))
                .starts_with("a bcrypt salt is 22 characters")
        );
        assert_eq!(
            err(settings("bcrypt", None, Some(3))),
            "bcrypt rounds (the cost) must be from 4 to 31, got 3"
        );
        let ident = HashSettings {
            ident: Some("2x"),
            ..settings("bcrypt", None, Some(4))
        };
        assert_eq!(err(ident), "bcrypt ident must be 2a, 2b or 2y, got `2x`");
    }
}
