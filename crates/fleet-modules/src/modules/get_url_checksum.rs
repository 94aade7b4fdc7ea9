//! `get_url`'s `checksum`: `algorithm:hex`, or `algorithm:URL` of a
//! checksum file, read as Ansible reads them.

use crate::ModuleError;
use crate::modules::get_url::invalid;

/// The digests the host's coreutils compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Algorithm> {
        Some(match name.to_ascii_lowercase().as_str() {
            "md5" => Algorithm::Md5,
            "sha1" => Algorithm::Sha1,
            "sha224" => Algorithm::Sha224,
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            _ => return None,
        })
    }

    /// The coreutils program printing this digest.
    pub fn program(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5sum",
            Algorithm::Sha1 => "sha1sum",
            Algorithm::Sha224 => "sha224sum",
            Algorithm::Sha256 => "sha256sum",
            Algorithm::Sha384 => "sha384sum",
            Algorithm::Sha512 => "sha512sum",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// Lower-case hex digits.
    Hex(String),
    /// A checksum file to read the digest from.
    Url(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checksum {
    pub algorithm: Algorithm,
    pub wanted: Wanted,
}

impl Checksum {
    /// `""` is no checksum.
    pub fn parse(text: &str) -> Result<Option<Checksum>, ModuleError> {
        if text.is_empty() {
            return Ok(None);
        }
        let (name, value) = text.split_once(':').ok_or_else(|| {
            invalid("The checksum parameter has to be in format <algorithm>:<checksum>")
        })?;
        let algorithm = Algorithm::parse(name).ok_or_else(|| {
            invalid(format!(
                "unsupported checksum algorithm {name:?} (md5, sha1, sha224, sha256, sha384, sha512)"
            ))
        })?;
        let is_url = ["http://", "https://", "ftp://", "file://"]
            .iter()
            .any(|scheme| value.starts_with(scheme));
        let wanted = if is_url {
            Wanted::Url(value.to_string())
        } else {
            Wanted::Hex(Checksum::clean(value)?)
        };
        Ok(Some(Checksum { algorithm, wanted }))
    }

    /// Drops every character that is not a letter, digit or `_` (as
    /// Ansible does, for stray spaces and zero-width characters), lower
    /// case; it must then be hex.
    pub fn clean(value: &str) -> Result<String, ModuleError> {
        let hex: String = value
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
            .to_lowercase();
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("The checksum format is invalid"));
        }
        Ok(hex)
    }
}

/// The last part of the URL's path, `index.html` when it is empty.
pub(crate) fn url_filename(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("", |at| &rest[at..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    match path.rsplit('/').next().unwrap_or_default() {
        "" => "index.html".into(),
        name => name.into(),
    }
}

/// The digest for `filename` in a checksum file: a lone digest, or
/// `DIGEST  NAME` lines (`*NAME` for binary, `./NAME` allowed).
pub(crate) fn checksum_from_file(text: &str, filename: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    if let [only] = lines.as_slice()
        && only.split_whitespace().count() == 1
    {
        return Some(only.trim().to_string());
    }
    lines.iter().find_map(|line| {
        let (digest, name) = line.split_once(' ')?;
        let name = name
            .strip_prefix([' ', '*'])
            .unwrap_or(name)
            .trim_start_matches(['.', '/']);
        (name == filename).then(|| digest.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_algorithm_and_hex_or_url() {
        let sha = Checksum::parse("sha256: AB\u{200b}cd ").unwrap().unwrap();
        assert_eq!(sha.algorithm, Algorithm::Sha256);
        assert_eq!(sha.wanted, Wanted::Hex("abcd".into()));
        let url = Checksum::parse("sha1:http://x/SHA1SUMS").unwrap().unwrap();
        assert_eq!(url.wanted, Wanted::Url("http://x/SHA1SUMS".into()));
        assert_eq!(Checksum::parse("").unwrap(), None);
        for (bad, message) in [
            ("abcd", "format <algorithm>:<checksum>"),
            ("crc32:abcd", "unsupported checksum algorithm"),
            ("md5:xyz", "The checksum format is invalid"),
        ] {
            let err = Checksum::parse(bad).unwrap_err().to_string();
            assert!(err.contains(message), "{bad}: {err}");
        }
    }

    #[test]
    fn the_file_name_is_the_urls_last_path_part() {
        assert_eq!(url_filename("http://h:1/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_filename("https://h/a/"), "index.html");
        assert_eq!(url_filename("https://h"), "index.html");
    }

    #[test]
    fn checksum_files_are_read_as_ansible_reads_them() {
        let sums = "aa  other.txt\nbb *hello.txt\ncc  ./hello.txt\n";
        assert_eq!(checksum_from_file(sums, "hello.txt").as_deref(), Some("bb"));
        assert_eq!(
            checksum_from_file("dd  ./x.tgz\n", "x.tgz").as_deref(),
            Some("dd")
        );
        assert_eq!(checksum_from_file("ee\n", "any").as_deref(), Some("ee"));
        assert_eq!(checksum_from_file(sums, "missing"), None);
    }
}
