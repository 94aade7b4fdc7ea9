//! The vault text envelope: the `$ANSIBLE_VAULT;VERSION;CIPHER[;LABEL]`
//! header line, then the hexlified payload in 80-column lines. The payload,
//! once unhexlified, is three lines: hex salt, hex HMAC, hex ciphertext.

use crate::error::VaultError;

pub const HEADER: &str = "$ANSIBLE_VAULT";
pub const CIPHER: &str = "AES256";
const COLUMNS: usize = 80;

/// A parsed envelope, payload still encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub version: String,
    pub cipher: String,
    /// The vault id of a 1.2 header; `None` for 1.1.
    pub label: Option<String>,
    pub salt: Vec<u8>,
    pub hmac: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Whether `data` starts with the vault header, as Ansible's `is_encrypted`.
pub fn is_encrypted(data: &[u8]) -> bool {
    data.is_ascii() && data.starts_with(HEADER.as_bytes())
}

impl Envelope {
    pub fn parse(text: &[u8]) -> Result<Envelope, VaultError> {
        if !is_encrypted(text) {
            return Err(VaultError::NotEncrypted);
        }
        let text = std::str::from_utf8(text).map_err(|_| VaultError::NotEncrypted)?;
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().trim();
        let fields: Vec<&str> = header.split(';').map(str::trim).collect();
        if fields.len() < 3 {
            return Err(VaultError::Format(format!(
                "header `{header}` has no version and cipher"
            )));
        }
        let version = fields[1].to_string();
        if version != "1.1" && version != "1.2" {
            return Err(VaultError::Version(version));
        }
        let cipher = fields[2].to_string();
        if cipher != CIPHER {
            return Err(VaultError::Cipher(cipher));
        }
        let label = fields.get(3).map(|label| label.to_string());
        let body: String = lines.map(str::trim).collect();
        let payload = unhex(body.as_bytes())?;
        let mut parts = payload.splitn(3, |byte| *byte == b'\n');
        let (Some(salt), Some(hmac), Some(ciphertext)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::Format(
                "the payload is not salt, HMAC and ciphertext".into(),
            ));
        };
        Ok(Envelope {
            version,
            cipher,
            label,
            salt: unhex(salt)?,
            hmac: unhex(hmac)?,
            ciphertext: unhex(ciphertext)?,
        })
    }

    /// The envelope as Ansible writes it: 1.2 with the label when there is
    /// one other than `default`, else 1.1; a trailing newline.
    pub fn format(&self) -> String {
        let payload = [hex(&self.salt), hex(&self.hmac), hex(&self.ciphertext)].join("\n");
        let body = hex(payload.as_bytes());
        let mut out = match self.label.as_deref() {
            Some(label) if label != crate::DEFAULT_ID => format!("{HEADER};1.2;{CIPHER};{label}\n"),
            _ => format!("{HEADER};1.1;{CIPHER}\n"),
        };
        for chunk in body.as_bytes().chunks(COLUMNS) {
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
    out
}

fn unhex(text: &[u8]) -> Result<Vec<u8>, VaultError> {
    if !text.len().is_multiple_of(2) {
        return Err(VaultError::Format("odd-length hex data".into()));
    }
    text.chunks(2)
        .map(|pair| {
            let digit = |byte: u8| (byte as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(high), Some(low)) => Ok((high * 16 + low) as u8),
                _ => Err(VaultError::Format(
                    "non-hex digit in the vault payload".into(),
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
        assert_eq!(unhex(b"000f10FF").unwrap(), vec![0, 15, 16, 255]);
        assert!(unhex(b"0g").is_err());
        assert!(unhex(b"abc").is_err());
    }

    #[test]
    fn parses_headers_and_refuses_unknown_ones() {
        assert_eq!(
            Envelope::parse(b"plain: yaml"),
            Err(VaultError::NotEncrypted)
        );
        assert_eq!(
            Envelope::parse(b"$ANSIBLE_VAULT;1.1;AES\n00"),
            Err(VaultError::Cipher("AES".into()))
        );
        assert_eq!(
            Envelope::parse(b"$ANSIBLE_VAULT;2.0;AES256\n00"),
            Err(VaultError::Version("2.0".into()))
        );
        assert!(matches!(
            Envelope::parse(b"$ANSIBLE_VAULT;1.1;AES256\n3030"),
            Err(VaultError::Format(_))
        ));
    }

    #[test]
    fn format_wraps_at_80_columns_and_picks_the_version() {
        let envelope = Envelope {
            version: "1.1".into(),
            cipher: CIPHER.into(),
            label: Some("prod".into()),
            salt: vec![1; 32],
            hmac: vec![2; 32],
            ciphertext: vec![3; 48],
        };
        let text = envelope.format();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
        assert!(text.lines().skip(1).all(|line| line.len() <= 80));
        assert!(text.ends_with('\n'));
        let back = Envelope::parse(text.as_bytes()).unwrap();
        assert_eq!(
            (back.salt, back.hmac, back.ciphertext),
            (
                envelope.salt.clone(),
                envelope.hmac.clone(),
                envelope.ciphertext.clone()
            )
        );
        let default = Envelope {
            label: Some("default".into()),
            ..envelope
        };
        assert!(default.format().starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
    }
}
