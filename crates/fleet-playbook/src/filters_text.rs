//! Ansible's filters on text: `regex_search`, `regex_findall`,
//! `regex_escape`, `comment`, `hash`, `md5`, `sha1`, `checksum`,
//! `password_hash`, `urlsplit` and `path_join`.

use std::collections::BTreeMap;

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, Value};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::password_hash::password_hash;
use super::predicates::text_of;
use crate::filters::failed;

pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
    env.add_filter("comment", comment);
    env.add_filter("hash", hash);
    env.add_filter("md5", |value: &Value| digest(value, "md5"));
    env.add_filter("sha1", |value: &Value| digest(value, "sha1"));
    env.add_filter("checksum", |value: &Value| digest(value, "sha1"));
    env.add_filter("password_hash", password_hash);
    env.add_filter("urlsplit", urlsplit);
    env.add_filter("path_join", path_join);
}

fn build_regex(filter: &str, pattern: &str, kwargs: &Kwargs) -> Result<regex::Regex, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    regex::RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|err| failed(format!("{filter}: bad pattern: {err}")))
}

/// A group named as `regex_search` takes it: `\1` or `\g<name>`.
enum Group {
    Index(usize),
    Name(String),
}

fn group_of(arg: &str) -> Result<Group, Error> {
    let bad = || {
        failed(format!(
            "regex_search: a group is written `\\1` or `\\g<name>`, got `{arg}`"
        ))
    };
    if let Some(name) = arg
        .strip_prefix("\\g<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        return match name.parse() {
            Ok(index) => Ok(Group::Index(index)),
            Err(_) if !name.is_empty() => Ok(Group::Name(name.to_owned())),
            Err(_) => Err(bad()),
        };
    }
    arg.strip_prefix('\\')
        .and_then(|digits| digits.parse().ok())
        .map(Group::Index)
        .ok_or_else(bad)
}

/// The first match (none without one); with groups (`'\\1'`,
/// `'\\g<name>'`), the list of those groups of the first match.
fn regex_search(
    value: &Value,
    pattern: &str,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let text = text_of(value, "regex_search")?;
    let groups = groups
        .iter()
        .map(|arg| group_of(arg))
        .collect::<Result<Vec<_>, _>>()?;
    let regex = build_regex("regex_search", pattern, &kwargs)?;
    let Some(captures) = regex.captures(&text) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(captures.get(0).map_or("", |m| m.as_str())));
    }
    let mut picked = Vec::new();
    for group in &groups {
        let found = match group {
            Group::Index(index) if *index < captures.len() => captures.get(*index),
            Group::Name(name) if regex.capture_names().flatten().any(|n| n == name) => {
                captures.name(name)
            }
            Group::Index(index) => {
                return Err(failed(format!(
                    "regex_search: the pattern has no group {index}"
                )));
            }
            Group::Name(name) => {
                return Err(failed(format!(
                    "regex_search: the pattern has no group named `{name}`"
                )));
            }
        };
        picked.push(found.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(picked))
}

/// Every match, as Python's `re.findall`: the matched text, or with one
/// group that group, or with several a list of them.
fn regex_findall(value: &Value, pattern: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let text = text_of(value, "regex_findall")?;
    let regex = build_regex("regex_findall", pattern, &kwargs)?;
    let groups = regex.captures_len() - 1;
    let found = regex
        .captures_iter(&text)
        .map(|captures| {
            let group = |index: usize| Value::from(captures.get(index).map_or("", |m| m.as_str()));
            match groups {
                0 => group(0),
                1 => group(1),
                _ => Value::from((1..=groups).map(group).collect::<Vec<_>>()),
            }
        })
        .collect::<Vec<_>>();
    Ok(Value::from(found))
}

/// Python's `re.escape`: the characters that mean something in a
/// pattern get a backslash; or, with `posix_basic`, those of a POSIX
/// basic regular expression.
fn regex_escape(value: &Value, re_type: Option<&str>) -> Result<String, Error> {
    let text = text_of(value, "regex_escape")?;
    let special: &str = match re_type.unwrap_or("python") {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}",
        "posix_basic" => "[].^$*\\",
        other => {
            return Err(failed(format!(
                "regex_escape: re_type must be python or posix_basic, got `{other}`"
            )));
        }
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// `comment(style='plain', decoration=..., prefix=..., prefix_count=1,
/// postfix=..., postfix_count=1, beginning=..., end=..., newline='\n')`.
fn comment(value: &Value, style: Option<&str>, kwargs: Kwargs) -> Result<String, Error> {
    let text = text_of(value, "comment")?;
    let style = style.unwrap_or("plain");
    let (beginning, decoration, end) = match style {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(failed(format!(
                "comment: style must be plain, erlang, c, cblock or xml, got `{other}`"
            )));
        }
    };
    let given = |name: &str| kwargs.get::<Option<String>>(name);
    let decoration = given("decoration")?.unwrap_or_else(|| decoration.to_owned());
    let newline = given("newline")?.unwrap_or_else(|| "\n".to_owned());
    let beginning = given("beginning")?.unwrap_or_else(|| beginning.to_owned());
    let end = given("end")?.unwrap_or_else(|| end.to_owned());
    let prefix = given("prefix")?.unwrap_or_else(|| decoration.trim_end().to_owned());
    let postfix = given("postfix")?.unwrap_or_else(|| decoration.trim_end().to_owned());
    let prefix_count = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let postfix_count = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    kwargs.assert_all_used()?;

    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let line = if prefix == newline {
            newline.clone()
        } else {
            format!("{prefix}{newline}")
        };
        out.push_str(&line.repeat(prefix_count));
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    // A line holding only the decoration loses its trailing blanks.
    out.push_str(&body.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}

fn digest(value: &Value, hashtype: &str) -> Result<String, Error> {
    let bytes = text_of(value, hashtype)?.into_bytes();
    let hex = |digest: &[u8]| {
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    Ok(match hashtype {
        "md5" => format!("{:x}", md5::compute(&bytes)),
        "sha1" => hex(&Sha1::digest(&bytes)),
        "sha224" => hex(&Sha224::digest(&bytes)),
        "sha256" => hex(&Sha256::digest(&bytes)),
        "sha384" => hex(&Sha384::digest(&bytes)),
        "sha512" => hex(&Sha512::digest(&bytes)),
        other => {
            return Err(failed(format!(
                "hash: unsupported hash type `{other}`; use md5, sha1, sha224, sha256, sha384 or sha512"
            )));
        }
    })
}

/// `hash(hashtype='sha1')`: the hex digest of the text.
fn hash(value: &Value, hashtype: Option<&str>) -> Result<String, Error> {
    digest(value, hashtype.unwrap_or("sha1"))
}

/// The parts of a URL, as Python's `urlsplit` gives them:
/// `scheme`, `netloc`, `path`, `query`, `fragment`, `username`,
/// `password`, `hostname` (lowercase) and `port` (a number), or with
/// `query`, that one part.
fn urlsplit(value: &Value, part: Option<&str>) -> Result<Value, Error> {
    let url = text_of(value, "urlsplit")?;
    let mut rest = url.as_str();
    let mut scheme = String::new();
    if let Some(colon) = rest.find(':')
        && colon > 0
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest[..colon]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        scheme = rest[..colon].to_ascii_lowercase();
        rest = &rest[colon + 1..];
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, hostinfo) = match netloc.rsplit_once('@') {
        Some((userinfo, hostinfo)) => (Some(userinfo), hostinfo),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((user, password)) => (Value::from(user), Value::from(password)),
            None => (Value::from(userinfo), Value::from(())),
        },
        None => (Value::from(()), Value::from(())),
    };
    let (host, port) = match hostinfo.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':').unwrap_or("")),
            None => return Err(failed(format!("urlsplit: `{url}` has an unclosed `[`"))),
        },
        None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
    };
    let port = match port {
        "" => Value::from(()),
        digits => match digits.parse::<u16>() {
            Ok(number) if digits.bytes().all(|b| b.is_ascii_digit()) => Value::from(number),
            _ => {
                return Err(failed(format!(
                    "urlsplit: `{digits}` in `{url}` is not a port number"
                )));
            }
        },
    };
    let hostname = if host.is_empty() {
        Value::from(())
    } else {
        Value::from(host.to_lowercase())
    };
    let parts: BTreeMap<String, Value> = BTreeMap::from([
        ("fragment".to_owned(), Value::from(fragment)),
        ("hostname".to_owned(), hostname),
        ("netloc".to_owned(), Value::from(netloc)),
        ("password".to_owned(), password),
        ("path".to_owned(), Value::from(path)),
        ("port".to_owned(), port),
        ("query".to_owned(), Value::from(query)),
        ("scheme".to_owned(), Value::from(scheme)),
        ("username".to_owned(), username),
    ]);
    match part.filter(|part| !part.is_empty()) {
        None => Ok(Value::from(parts)),
        Some(name) => parts.get(name).cloned().ok_or_else(|| {
            failed(format!(
                "urlsplit: unknown URL component `{name}`; use one of fragment, hostname, netloc, password, path, port, query, scheme, username"
            ))
        }),
    }
}

/// Python's `os.path.join` of a list (or one string): an absolute part
/// starts over.
fn path_join(value: &Value) -> Result<String, Error> {
    let parts: Vec<String> = match value.kind() {
        ValueKind::String => vec![value.as_str().unwrap_or_default().to_owned()],
        ValueKind::Seq => value
            .try_iter()?
            .map(|part| text_of(&part, "path_join"))
            .collect::<Result<_, _>>()?,
        other => {
            return Err(failed(format!(
                "path_join expects a string or a list, got {other}"
            )));
        }
    };
    let mut joined = String::new();
    for part in parts {
        if part.starts_with('/') || joined.is_empty() {
            joined = part;
        } else {
            if !joined.ends_with('/') {
                joined.push('/');
            }
            joined.push_str(&part);
        }
    }
    Ok(joined)
}

#[cfg(test)]
#[path = "filters_text_tests.rs"]
mod tests;
