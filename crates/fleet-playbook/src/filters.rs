//! The Ansible filters playbooks expect, on top of minijinja's built-ins
//! (`default`, `join`, `lower`, `replace`, `length`, `map`, `select`...).
//!
//! Added or replaced: `d` (alias of `default`), `ternary`, `b64encode`,
//! `b64decode`, `regex_replace`, `basename`, `dirname`, `bool`, `int`,
//! `quote`, `mandatory`. The others are in the `filters_*`, `serialize`
//! and `password_hash` modules.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

/// Adds the filters to `env`.
pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("d", minijinja::filters::default);
    env.add_filter("ternary", ternary);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("bool", to_bool);
    env.add_filter("int", to_int);
    env.add_filter("quote", shell_quoted);
    env.add_filter("mandatory", mandatory);
}

pub(crate) fn failed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

pub(crate) fn defined(value: &Value, filter: &str) -> Result<(), Error> {
    if value.is_undefined() {
        Err(Error::new(
            ErrorKind::UndefinedError,
            format!("the value given to `{filter}` is undefined"),
        ))
    } else {
        Ok(())
    }
}

/// `cond | ternary(a, b)`: `a` when `cond` is true, else `b`; with a third
/// argument, that one when `cond` is none.
fn ternary(value: &Value, yes: Value, no: Value, none: Option<Value>) -> Result<Value, Error> {
    defined(value, "ternary")?;
    Ok(match none {
        Some(none) if value.is_none() => none,
        _ if value.is_true() => yes,
        _ => no,
    })
}

fn b64encode(value: &str) -> String {
    STANDARD.encode(value.as_bytes())
}

fn b64decode(value: &str) -> Result<String, Error> {
    let bytes = STANDARD
        .decode(value.trim())
        .map_err(|err| failed(format!("b64decode: not valid base64: {err}")))?;
    String::from_utf8(bytes).map_err(|_| failed("b64decode: the decoded bytes are not UTF-8 text"))
}

/// `regex_replace(pattern, replacement='', ignorecase=false,
/// multiline=false, count=0)`. The replacement takes Python's `\1` and
/// `\g<name>` as well as `$1` and `${name}`.
fn regex_replace(
    value: &str,
    pattern: &str,
    replacement: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let regex = regex::RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|err| failed(format!("regex_replace: bad pattern: {err}")))?;
    let replacement = python_replacement(replacement.unwrap_or(""));
    Ok(regex
        .replacen(value, count, replacement.as_str())
        .into_owned())
}

/// Rewrites Python's `\1`, `\g<1>` and `\g<name>` into the regex crate's
/// `${1}` and `${name}`.
pub(crate) fn python_replacement(replacement: &str) -> String {
    let mut out = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some(digit) if digit.is_ascii_digit() => {
                let mut group = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    group.push(d);
                    chars.next();
                }
                out.push_str(&format!("${{{group}}}"));
            }
            Some('g') => {
                chars.next();
                if chars.peek() == Some(&'<') {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                } else {
                    out.push_str("\\g");
                }
            }
            Some('\\') => {
                chars.next();
                out.push('\\');
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// Like Python's `os.path.basename`: `/a/b.conf` gives `b.conf`.
fn basename(path: &str) -> String {
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Like Python's `os.path.dirname`: `/a/b.conf` gives `/a`, `b.conf` gives ``.
fn dirname(path: &str) -> String {
    match path.rfind('/') {
        None => String::new(),
        Some(at) => {
            let head = &path[..=at];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_owned()
            } else {
                trimmed.to_owned()
            }
        }
    }
}

/// Ansible's `bool`: `yes`/`on`/`true`/`1`/`y`/`t` (any case) and non-zero
/// numbers are true; `no`/`off`/`false`/`0`/`n`/`f`/empty and none are false.
/// Other strings are an error (Ansible silently says false).
fn to_bool(value: &Value) -> Result<bool, Error> {
    defined(value, "bool")?;
    match value.kind() {
        ValueKind::Bool | ValueKind::Number => Ok(value.is_true()),
        ValueKind::None => Ok(false),
        ValueKind::String => {
            let text = value
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            match text.as_str() {
                "yes" | "on" | "true" | "1" | "y" | "t" => Ok(true),
                "no" | "off" | "false" | "0" | "n" | "f" | "" => Ok(false),
                _ => Err(failed(format!(
                    "bool: cannot read `{text}` as true or false"
                ))),
            }
        }
        _ => Err(failed(format!(
            "bool: cannot read {} as true or false",
            value.kind()
        ))),
    }
}

/// Ansible's `int(default=0, base=10)`: numbers are truncated, strings
/// parsed (surrounding blanks ignored; `0x`, `0o`, `0b` with the matching
/// base), and anything unreadable gives `default`.
fn to_int(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    defined(value, "int")?;
    let default = match default {
        Some(default) => default,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0)),
    };
    let base = kwargs.get::<Option<u32>>("base")?.unwrap_or(10);
    kwargs.assert_all_used()?;
    if !(2..=36).contains(&base) {
        return Err(failed(format!(
            "int: base must be from 2 to 36, got {base}"
        )));
    }
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number => match value.as_i64() {
            Some(number) => Value::from(number),
            None => f64::try_from(value.clone())
                .ok()
                .filter(|float| float.is_finite())
                .map_or(default, |float| Value::from(float.trunc() as i128)),
        },
        ValueKind::String => {
            parse_int(value.as_str().unwrap_or_default(), base).map_or(default, Value::from)
        }
        _ => default,
    })
}

fn parse_int(text: &str, base: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let prefixed = |prefix: &str| {
        digits
            .strip_prefix(prefix)
            .or_else(|| digits.strip_prefix(&prefix.to_ascii_uppercase()))
    };
    let digits = match base {
        16 => prefixed("0x").unwrap_or(digits),
        8 => prefixed("0o").unwrap_or(digits),
        2 => prefixed("0b").unwrap_or(digits),
        _ => digits,
    };
    let number = i64::from_str_radix(&digits.replace('_', ""), base)
        .ok()
        .or_else(|| {
            (base == 10)
                .then(|| digits.parse::<f64>().ok())
                .flatten()
                .map(|f| f.trunc() as i64)
        })?;
    Some(if negative { -number } else { number })
}

/// Quotes a value for a POSIX shell, like Python's `shlex.quote` (with
/// fleet's one quoter, which also quotes `=`).
fn shell_quoted(value: &Value) -> Result<String, Error> {
    defined(value, "quote")?;
    let text = match value.as_str() {
        Some(text) => text.to_owned(),
        None if value.is_none() => String::new(),
        None => value.to_string(),
    };
    Ok(fleet_shell::quote(&text))
}

/// Fails when the value is undefined; `msg` replaces the message.
fn mandatory(value: &Value, msg: Option<&str>) -> Result<Value, Error> {
    if value.is_undefined() {
        Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or("a mandatory variable is not defined")
                .to_owned(),
        ))
    } else {
        Ok(value.clone())
    }
}
