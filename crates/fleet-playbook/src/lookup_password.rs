//! The `password` lookup: `lookup('password', 'credentials/db length=24
//! chars=ascii_letters,digits')`. The first run generates a password and
//! stores it at that path on the controller (folders `0700`, the file
//! `0600`); later runs read it back. `/dev/null` stores nothing, so each
//! call gives a new one. With `encrypt=sha512_crypt` (or `sha256_crypt`,
//! `bcrypt`) the lookup gives the password's hash, and the file keeps the
//! salt (`secret salt=...`) so that the hash stays the same.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use minijinja::value::Kwargs;
use minijinja::{State, Value};

use super::lookups::{LookupError, base_dir, expand_home, options};
use super::password_hash::{HashSettings, hash};
use super::pyrandom::{PyRandom, Seed};

/// Hosts render at once: one generates a missing password while the
/// others wait, then read it.
static STORE: Mutex<()> = Mutex::new(());

const ASCII_LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const ASCII_UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const WHITESPACE: &str = " \t\n\r\u{b}\u{c}";

/// What one term asks for.
struct Request {
    path: String,
    length: usize,
    chars: Vec<String>,
    encrypt: Option<String>,
    ident: Option<String>,
    seed: Option<String>,
}

fn parse(term: &str, kwargs: &Kwargs) -> Result<Request, LookupError> {
    let mut words = term.split_whitespace();
    let path = words
        .next()
        .ok_or_else(|| options("the `password` lookup needs a path"))?
        .to_owned();
    let text = |name: &str| -> Result<Option<String>, LookupError> {
        Ok(kwargs
            .get::<Option<Value>>(name)?
            .filter(|v| !v.is_none())
            .map(|v| match v.as_str() {
                Some(text) => text.to_owned(),
                None => v.to_string(),
            }))
    };
    let mut request = Request {
        path,
        length: kwargs.get::<Option<usize>>("length")?.unwrap_or(20),
        chars: match kwargs.get::<Option<Value>>("chars")? {
            Some(chars) if chars.as_str().is_none() => chars
                .try_iter()?
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| item.to_string())
                })
                .collect(),
            Some(chars) => split_chars(chars.as_str().unwrap_or_default()),
            None => vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
        },
        encrypt: text("encrypt")?,
        ident: text("ident")?,
        seed: text("seed")?,
    };
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(options(format!(
                "password: `{word}` is not key=value; options are length, chars, encrypt, ident and seed"
            )));
        };
        match key {
            "length" => {
                request.length = value.parse().map_err(|_| {
                    options(format!(
                        "password: length must be a whole number, got `{value}`"
                    ))
                })?;
            }
            "chars" => request.chars = split_chars(value),
            "encrypt" => request.encrypt = Some(value.to_owned()),
            "ident" => request.ident = Some(value.to_owned()),
            "seed" => request.seed = Some(value.to_owned()),
            other => {
                return Err(options(format!(
                    "password: unknown option `{other}`; options are length, chars, encrypt, ident and seed"
                )));
            }
        }
    }
    Ok(request)
}

/// `a,b,,` is `a`, `b` and a comma.
fn split_chars(spec: &str) -> Vec<String> {
    let mut names = Vec::new();
    if spec.contains(",,") {
        names.push(",".to_owned());
    }
    names.extend(
        spec.replace(",,", ",")
            .split(',')
            .filter(|name| !name.is_empty())
            .map(str::to_owned),
    );
    names
}

/// The characters named (Python's `string` constants) or given; quotes
/// are never used.
fn candidates(specs: &[String]) -> Vec<char> {
    let letters = format!("{ASCII_LOWERCASE}{ASCII_UPPERCASE}");
    let mut chars = String::new();
    for spec in specs {
        chars.push_str(match spec.as_str() {
            "ascii_letters" => &letters,
            "ascii_lowercase" => ASCII_LOWERCASE,
            "ascii_uppercase" => ASCII_UPPERCASE,
            "digits" => DIGITS,
            "hexdigits" => "0123456789abcdefABCDEF",
            "octdigits" => "01234567",
            "punctuation" => PUNCTUATION,
            "whitespace" => WHITESPACE,
            "printable" => "",
            literal => literal,
        });
        if spec == "printable" {
            chars.push_str(&format!("{DIGITS}{letters}{PUNCTUATION}{WHITESPACE}"));
        }
    }
    chars.chars().filter(|c| !matches!(c, '"' | '\'')).collect()
}

/// `length` characters picked from `chars`; with a seed, the ones Ansible
/// picks for it.
fn generate(length: usize, chars: &[char], seed: Option<&str>) -> Result<String, LookupError> {
    if chars.is_empty() {
        return Err(options("password: chars leaves no characters to pick from"));
    }
    let mut random = match seed {
        Some(seed) => PyRandom::new(&Seed::Text(seed)),
        None => PyRandom::from_entropy().map_err(LookupError::Failed)?,
    };
    Ok((0..length)
        .map(|_| chars[random.below(chars.len() as u64) as usize])
        .collect())
}

/// `password salt=... ident=...`, as Ansible stores it.
fn parse_stored(content: &str) -> (String, Option<String>, Option<String>) {
    let Some((password, rest)) = content.rsplit_once(" salt=") else {
        return (content.to_owned(), None, None);
    };
    match rest.rsplit_once(" ident=") {
        Some((salt, ident)) => (
            password.to_owned(),
            Some(salt.to_owned()),
            Some(ident.to_owned()),
        ),
        None => (password.to_owned(), Some(rest.to_owned()), None),
    }
}

fn write_new(path: &Path, content: &str) -> Result<(), String> {
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)
            .map_err(|err| format!("cannot create {}: {err}", folder.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    file.write_all(format!("{content}\n").as_bytes())
        .map_err(|err| format!("cannot write {}: {err}", path.display()))
}

fn salt_size(scheme: &str) -> usize {
    match scheme {
        "bcrypt" | "blowfish" => 22,
        "sha512_crypt" | "sha256_crypt" | "sha512" | "sha256" => 16,
        _ => 8,
    }
}

fn one(state: &State, request: &Request) -> Result<Value, LookupError> {
    let stored_at: PathBuf = match expand_home(&request.path) {
        path if path.is_absolute() => path,
        relative => base_dir(state).join(relative),
    };
    let discard = stored_at == Path::new("/dev/null");
    let _held = STORE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stored = if discard {
        None
    } else {
        match std::fs::read_to_string(&stored_at) {
            Ok(content) => Some(content.trim_end().to_owned()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                return Err(LookupError::Failed(format!(
                    "cannot read {}: {err}",
                    stored_at.display()
                )));
            }
        }
    };
    let mut changed = stored.is_none();
    let (password, mut salt, mut ident) = match &stored {
        Some(content) => parse_stored(content),
        None => (
            generate(
                request.length,
                &candidates(&request.chars),
                request.seed.as_deref(),
            )?,
            None,
            None,
        ),
    };
    if let Some(scheme) = &request.encrypt {
        if salt.is_none() {
            let salt_chars: Vec<char> = format!("{ASCII_LOWERCASE}{ASCII_UPPERCASE}{DIGITS}./")
                .chars()
                .collect();
            salt = Some(generate(salt_size(scheme), &salt_chars, None)?);
            changed = true;
        }
        match (&ident, &request.ident) {
            (Some(stored), Some(wanted)) if stored != wanted => {
                return Err(options(format!(
                    "password: ident `{wanted}` differs from the stored `{stored}` in {}",
                    stored_at.display()
                )));
            }
            (None, Some(wanted)) => ident = Some(wanted.clone()),
            (None, None) if matches!(scheme.as_str(), "bcrypt" | "blowfish") => {
                ident = Some("2b".into());
                changed = true;
            }
            _ => {}
        }
    }
    if changed && !discard {
        let content = match (&salt, &ident) {
            (Some(salt), Some(ident)) => format!("{password} salt={salt} ident={ident}"),
            (Some(salt), None) => format!("{password} salt={salt}"),
            _ => password.clone(),
        };
        write_new(&stored_at, &content).map_err(LookupError::Failed)?;
    }
    match &request.encrypt {
        None => Ok(Value::from(password)),
        Some(scheme) => {
            let settings = HashSettings {
                hashtype: scheme,
                salt: salt.as_deref(),
                salt_size: None,
                rounds: None,
                ident: ident.as_deref(),
            };
            hash(&password, &settings)
                .map(Value::from)
                .map_err(|err| options(format!("password: {err}")))
        }
    }
}

pub(crate) fn password(
    state: &State,
    terms: &[String],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, LookupError> {
    let requests = terms
        .iter()
        .map(|term| parse(term, kwargs))
        .collect::<Result<Vec<_>, _>>()?;
    requests.iter().map(|request| one(state, request)).collect()
}
