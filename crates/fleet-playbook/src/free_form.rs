//! Module arguments written as one string, as Ansible reads them:
//! `apt: name=nginx state=present`, `command: make creates=/opt/app chdir=/src`.
//!
//! The string is cut into words at spaces and newlines, except inside
//! quotes (`'…'`, `"…"`) and Jinja blocks (`{{ … }}`, `{% … %}`, `{# … #}`),
//! so `msg="hello {{ name }}"` is one word. A word with an `=` (not the
//! first character, not escaped as `\=`) is `key=value`; the value loses
//! one pair of surrounding quotes, and `\n`, `\t` and similar escapes are
//! decoded. Every value is a string, as in Ansible; modules convert them.
//!
//! For `command` and `shell`, only the words whose key is one of Ansible's
//! command options ([`COMMAND_OPTIONS`]) are parameters, wherever they
//! stand; every other word is the command, kept as written.

use serde_json::{Map, Value};

/// The keys Ansible takes out of a `command` or `shell` string as
/// parameters; any other `key=value` word is part of the command.
pub(crate) const COMMAND_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// What a module's argument string says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Parsed {
    /// `key=value` pairs, in order.
    Params(Map<String, Value>),
    /// The string names its params as one template (`"{{ apt_params }}"`):
    /// rendered per host, it must give a map.
    Variable,
}

/// Why an argument string cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FreeFormError {
    /// A quote or a Jinja block is not closed.
    Unbalanced,
    /// A word that is not `key=value`.
    NotKeyValue(String),
}

/// A `command` or `shell` string: the command, as written less the
/// parameter words, and the parameters. A string whose quotes or blocks do
/// not balance is all command.
pub(crate) fn command_args(text: &str) -> (String, Map<String, Value>) {
    let Ok(words) = split(text) else {
        return (text.to_owned(), Map::new());
    };
    let mut params = Map::new();
    let mut cut: Vec<(usize, usize)> = Vec::new();
    // Whether a word of the command stands before this one on its line.
    let mut after_command = false;
    let mut previous_end = 0;
    for &(start, end) in &words {
        if text[previous_end..start].contains('\n') {
            after_command = false;
        }
        previous_end = end;
        match key_value(&text[start..end]) {
            Some((key, value)) if COMMAND_OPTIONS.contains(&key.as_str()) => {
                params.insert(key, Value::String(value));
                cut.push(with_spaces(text, start, end, after_command));
            }
            _ => after_command = true,
        }
    }
    if cut.is_empty() {
        return (text.to_owned(), params);
    }
    let mut command = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in cut {
        // A cut may take spaces the cut before it already took.
        let start = start.max(from);
        command.push_str(&text[from..start]);
        from = end;
    }
    command.push_str(&text[from..]);
    (command, params)
}

/// Any other module's string: `key=value` words only, or one template
/// naming the whole map.
pub(crate) fn module_args(text: &str) -> Result<Parsed, FreeFormError> {
    let words = split(text).map_err(|()| FreeFormError::Unbalanced)?;
    let mut params = Map::new();
    let mut loose = Vec::new();
    for &(start, end) in &words {
        let word = &text[start..end];
        match key_value(word) {
            Some((key, value)) => {
                params.insert(key, Value::String(value));
            }
            None => loose.push(word),
        }
    }
    match loose.as_slice() {
        [] => Ok(Parsed::Params(params)),
        [only] if params.is_empty() && crate::templater::is_template(only) => Ok(Parsed::Variable),
        [first, ..] => Err(FreeFormError::NotKeyValue((*first).to_owned())),
    }
}

/// `-e 'a=1 msg="two words"'`: `key=value` words, quotes as in free-form
/// arguments; the values stay strings, as in Ansible.
pub fn key_value_words(text: &str) -> Result<Map<String, Value>, String> {
    match module_args(text) {
        Ok(Parsed::Params(params)) => Ok(params),
        Ok(Parsed::Variable) => Err(format!("`{text}` is not key=value")),
        Err(FreeFormError::Unbalanced) => Err("a quote is not closed".into()),
        Err(FreeFormError::NotKeyValue(word)) => Err(format!("`{word}` is not key=value")),
    }
}

/// The span of a removed word with the spaces that separate it from the
/// rest of its line: those before it when a word of the command precedes
/// it, else those after it.
fn with_spaces(text: &str, start: usize, end: usize, after_command: bool) -> (usize, usize) {
    if after_command {
        let before = &text[..start];
        (before.trim_end_matches(' ').len(), end)
    } else {
        let after = &text[end..];
        (
            start,
            end + after.len() - after.trim_start_matches(' ').len(),
        )
    }
}

/// `key=value`, split at the first `=` that is not the first character and
/// not escaped.
fn key_value(word: &str) -> Option<(String, String)> {
    let bytes = word.as_bytes();
    let at = (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\')?;
    let key = word[..at].trim().to_owned();
    let value = unquote(decode_escapes(&word[at + 1..]).trim()).to_owned();
    Some((key, value))
}

/// Without one pair of matching surrounding quotes.
fn unquote(text: &str) -> &str {
    let quoted = text.len() > 1
        && (text.starts_with('"') && text.ends_with('"')
            || text.starts_with('\'') && text.ends_with('\''))
        && !text[..text.len() - 1].ends_with('\\');
    if quoted {
        &text[1..text.len() - 1]
    } else {
        text
    }
}

/// `\n`, `\t`, `\\`, `\'`, `\"` and the other one-letter escapes, and
/// `\xHH`, `\uHHHH`, `\UHHHHHHHH`; anything else stays as written.
fn decode_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at + 1..];
        let (decoded, used) = match escape.chars().next() {
            Some('n') => (Some('\n'), 1),
            Some('t') => (Some('\t'), 1),
            Some('r') => (Some('\r'), 1),
            Some('a') => (Some('\u{7}'), 1),
            Some('b') => (Some('\u{8}'), 1),
            Some('f') => (Some('\u{c}'), 1),
            Some('v') => (Some('\u{b}'), 1),
            Some(c @ ('\\' | '\'' | '"')) => (Some(c), 1),
            Some('x') => (hex(escape, 2), 3),
            Some('u') => (hex(escape, 4), 5),
            Some('U') => (hex(escape, 8), 9),
            _ => (None, 0),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &escape[used..];
            }
            None => {
                out.push('\\');
                rest = escape;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of the `digits` hex digits after the escape letter.
fn hex(escape: &str, digits: usize) -> Option<char> {
    let code = escape.get(1..=digits)?;
    if !code.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    char::from_u32(u32::from_str_radix(code, 16).ok()?)
}

/// The words of `text` as byte spans; `Err` when a quote or a Jinja block
/// is still open at the end.
fn split(text: &str) -> Result<Vec<(usize, usize)>, ()> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut quote: Option<u8> = None;
    let mut depths = [0usize; 3];
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escaped = i > 0 && bytes[i - 1] == b'\\';
        let open = quote.is_some() || depths.iter().any(|depth| *depth > 0);
        if !open && (byte == b' ' || byte == b'\n') {
            if let Some(from) = start.take() {
                push_word(&mut words, text, from, i);
            }
            i += 1;
            continue;
        }
        start.get_or_insert(i);
        match quote {
            Some(q) if byte == q && !escaped => quote = None,
            None if (byte == b'"' || byte == b'\'') && !escaped => quote = Some(byte),
            _ => {}
        }
        let pair = bytes.get(i..i + 2).unwrap_or_default();
        let marker = [b"{{", b"{%", b"{#"]
            .iter()
            .position(|open| pair == *open)
            .map(|kind| (kind, true))
            .or_else(|| {
                [b"}}", b"%}", b"#}"]
                    .iter()
                    .position(|close| pair == *close)
                    .map(|kind| (kind, false))
            });
        match marker {
            Some((kind, true)) => {
                depths[kind] += 1;
                i += 2;
            }
            Some((kind, false)) => {
                depths[kind] = depths[kind].saturating_sub(1);
                i += 2;
            }
            None => i += 1,
        }
    }
    if quote.is_some() || depths.iter().any(|depth| *depth > 0) {
        return Err(());
    }
    if let Some(from) = start {
        push_word(&mut words, text, from, bytes.len());
    }
    Ok(words)
}

/// Adds a word, except a lone `\` (a line continuation).
fn push_word(words: &mut Vec<(usize, usize)>, text: &str, start: usize, end: usize) {
    if &text[start..end] != "\\" {
        words.push((start, end));
    }
}

#[cfg(test)]
#[path = "free_form_tests.rs"]
mod tests;
