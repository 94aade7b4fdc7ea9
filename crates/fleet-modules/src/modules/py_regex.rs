//! Python's `re`, as far as Rust's `regex` crate can follow it: patterns
//! are compiled with Python's meaning where the two agree, refused with a
//! clear message where they do not (backreferences, look-around), and
//! replacement templates (`\1`, `\g<name>`, `\n`) are read as `re.sub`
//! reads them.

use regex::{Captures, Regex, RegexBuilder};

/// Compiles a Python pattern; `multiline` is `re.MULTILINE`.
pub(crate) fn compile(pattern: &str, multiline: bool) -> Result<Regex, String> {
    build(pattern, multiline, false)
}

/// Compiles a Python pattern with `re.DOTALL`.
pub(crate) fn compile_dotall(pattern: &str) -> Result<Regex, String> {
    build(pattern, false, true)
}

fn build(pattern: &str, multiline: bool, dotall: bool) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    RegexBuilder::new(&translated)
        .multi_line(multiline)
        .dot_matches_new_line(dotall)
        .build()
        .map_err(|err| err.to_string())
}

/// Rewrites what Python writes differently (`\Z`), and refuses what Rust
/// cannot match.
fn translate(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    return Err("the pattern ends with a lone backslash".into());
                };
                match next {
                    '1'..='9' if !in_class => {
                        return Err(format!(
                            "backreference \\{next} is not supported (fleet matches with Rust's regex engine, which has none)"
                        ));
                    }
                    'Z' if !in_class => out.push_str("\\z"),
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // `[]` and `[^]` start with a literal `]`.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '(' if !in_class && chars.peek() == Some(&'?') => {
                let rest: String = chars.clone().take(4).collect();
                if rest.starts_with("?=")
                    || rest.starts_with("?!")
                    || rest.starts_with("?<=")
                    || rest.starts_with("?<!")
                {
                    return Err(
                        "look-around ((?=...), (?!...), (?<=...), (?<!...)) is not supported by Rust's regex engine".into(),
                    );
                }
                if rest.starts_with("?P=") {
                    return Err("backreference (?P=name) is not supported".into());
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// One piece of a replacement template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

/// A parsed `re.sub` replacement template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replacement(Vec<Piece>);

impl Replacement {
    /// Reads `template` as Python does, checking its groups against `regex`.
    pub(crate) fn parse(template: &str, regex: &Regex) -> Result<Replacement, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            let Some(next) = chars.next() else {
                return Err("the template ends with a lone backslash".into());
            };
            let group = match next {
                'g' => {
                    if chars.next() != Some('<') {
                        return Err("missing < after \\g".into());
                    }
                    let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                    match name.parse::<usize>() {
                        Ok(index) => Some(Piece::Group(index)),
                        Err(_) if regex.capture_names().flatten().any(|n| n == name) => {
                            Some(Piece::Named(name))
                        }
                        Err(_) => return Err(format!("unknown group name `{name}`")),
                    }
                }
                '1'..='9' => {
                    let mut digits = next.to_string();
                    if let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        chars.next();
                    }
                    Some(Piece::Group(digits.parse().unwrap_or(0)))
                }
                'n' => {
                    text.push('\n');
                    None
                }
                't' => {
                    text.push('\t');
                    None
                }
                'r' => {
                    text.push('\r');
                    None
                }
                'f' => {
                    text.push('\x0c');
                    None
                }
                'v' => {
                    text.push('\x0b');
                    None
                }
                'a' => {
                    text.push('\x07');
                    None
                }
                'b' => {
                    text.push('\x08');
                    None
                }
                '0' => {
                    text.push('\0');
                    None
                }
                '\\' => {
                    text.push('\\');
                    None
                }
                letter if letter.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{letter}"));
                }
                other => {
                    text.push('\\');
                    text.push(other);
                    None
                }
            };
            if let Some(group) = group {
                if let Piece::Group(index) = group
                    && index >= regex.captures_len()
                {
                    return Err(format!("group {index} does not exist in regexp"));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(group);
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Replacement(pieces))
    }

    /// The replacement for one match; a group that did not take part is
    /// empty, as in Python 3.5 and later.
    pub(crate) fn expand(&self, caps: &Captures) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Group(index) => out.push_str(caps.get(*index).map_or("", |m| m.as_str())),
                Piece::Named(name) => out.push_str(caps.name(name).map_or("", |m| m.as_str())),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(pattern: &str, template: &str, text: &str) -> String {
        let regex = compile(pattern, true).unwrap();
        let replacement = Replacement::parse(template, &regex).unwrap();
        regex
            .replace_all(text, |caps: &Captures| replacement.expand(caps))
            .into_owned()
    }

    #[test]
    fn templates_read_as_python_reads_them() {
        assert_eq!(sub("(a)(b)?", "[\\1|\\2]", "ab a"), "[a|b] [a|]");
        assert_eq!(sub("(?P<k>\\w+)=", "\\g<k>: \\g<0>", "x="), "x: x=");
        assert_eq!(sub("a", "\\n\\t\\\\\\.", "a"), "\n\t\\\\.");
        assert_eq!(sub("^x$", "y", "x\nx\n"), "y\ny\n");
        assert_eq!(sub("x\\Z", "y", "x\nx"), "x\ny");
        assert_eq!(sub("[]a]", "-", "]a"), "--");
    }

    #[test]
    fn what_rust_cannot_match_is_refused() {
        assert!(
            compile("(a)\\1", true)
                .unwrap_err()
                .contains("backreference")
        );
        assert!(
            compile("(?P<x>a)(?P=x)", true)
                .unwrap_err()
                .contains("backreference")
        );
        assert!(compile("a(?!b)", true).unwrap_err().contains("look-around"));
        let regex = compile("(a)", true).unwrap();
        assert!(
            Replacement::parse("\\q", &regex)
                .unwrap_err()
                .contains("bad escape")
        );
        assert!(Replacement::parse("\\g<nope>", &regex).is_err());
    }
}
