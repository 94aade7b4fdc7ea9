//! What travels on stdin, secrets, and unpredictable tokens.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A password, passphrase or other secret. Its `Debug` and `Display`
/// print `***`; it reaches a host only on stdin.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; only for handing it to the remote side.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The stdin of a command: a payload (a body, file contents) or a secret,
/// which prints masked.
#[derive(Clone, PartialEq, Eq)]
pub enum Stdin {
    Data(Vec<u8>),
    Secret(Secret),
}

impl Stdin {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Stdin::Data(data) => data,
            Stdin::Secret(secret) => secret.expose().as_bytes(),
        }
    }
}

impl From<Vec<u8>> for Stdin {
    fn from(data: Vec<u8>) -> Stdin {
        Stdin::Data(data)
    }
}

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stdin::Data(data) => write!(f, "Data({} bytes)", data.len()),
            Stdin::Secret(_) => f.write_str("Secret(***)"),
        }
    }
}

/// A fresh, unpredictable token for prompts, markers and temp names: 16
/// hex digits from the process's random hasher keys, a counter and the
/// clock.
pub fn token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_masked() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        let stdin = Stdin::Secret(secret);
        assert_eq!(format!("{stdin:?}"), "Secret(***)");
        assert_eq!(stdin.bytes(), b"hunter2");
        assert_eq!(format!("{:?}", Stdin::from(vec![1, 2])), "Data(2 bytes)");
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(token(), token());
        assert_eq!(token().len(), 16);
    }
}
