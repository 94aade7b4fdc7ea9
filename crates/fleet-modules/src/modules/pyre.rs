//! Python's `re` as Ansible's `replace` uses it, on top of the `regex`
//! crate: a Python pattern is translated to the crate's syntax (or refused
//! when it needs what the crate cannot do: backreferences, lookaround,
//! conditionals, atomic groups), a replacement template is read the way
//! `re.sub` reads it (`\1`, `\g<1>`, `\g<name>`, `\n`…), and substitution
//! follows `re.subn`, empty matches included.

use regex::{Captures, Regex};

/// Compiles Python pattern `pattern` with `flags` (`"m"`, `"s"`) set.
pub(crate) fn compile(pattern: &str, flags: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    let with_flags = if flags.is_empty() {
        translated
    } else {
        format!("(?{flags}){translated}")
    };
    Regex::new(&with_flags).map_err(|err| format!("{err}"))
}

/// `pattern` in the `regex` crate's syntax.
pub(crate) fn translate(pattern: &str) -> Result<String, String> {
    let unsupported = |what: &str| {
        Err(format!(
            "{what} is not supported (fleet's regular expressions have no backtracking); \
             rewrite the pattern without it"
        ))
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err("bad escape (end of pattern)".into());
                };
                i += 2;
                match next {
                    '1'..='9' if !in_class => return unsupported("a backreference"),
                    '0'..='7' if next == '0' || in_class => {
                        let mut value = next.to_digit(8).unwrap_or(0);
                        let mut digits = 1;
                        while digits < 3
                            && let Some(digit) = chars.get(i).and_then(|d| d.to_digit(8))
                        {
                            value = value * 8 + digit;
                            digits += 1;
                            i += 1;
                        }
                        out.push_str(&format!("\\x{{{value:x}}}"));
                    }
                    'Z' if !in_class => out.push_str("\\z"),
                    'b' if in_class => out.push_str("\\x08"),
                    '<' | '>' => out.push(next),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a class is a literal in both.
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '[' | '&' | '~' if in_class => out.push_str(&format!("\\{c}")),
            '-' if in_class && chars.get(i + 1) == Some(&'-') => out.push_str("\\-"),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => {
                let rest: String = chars[i + 2..].iter().take(3).collect();
                if rest.starts_with('=') || rest.starts_with('!') {
                    return unsupported("a lookahead");
                }
                if rest.starts_with("<=") || rest.starts_with("<!") {
                    return unsupported("a lookbehind");
                }
                if rest.starts_with("P=") {
                    return unsupported("a named backreference");
                }
                if rest.starts_with('(') {
                    return unsupported("a conditional group");
                }
                if rest.starts_with('>') {
                    return unsupported("an atomic group");
                }
                if rest.starts_with('#') {
                    // A comment: skipped up to its `)`.
                    let end = chars[i..].iter().position(|&ch| ch == ')');
                    let Some(end) = end else {
                        return Err("missing ), unterminated comment".into());
                    };
                    i += end + 1;
                    continue;
                }
                out.push('(');
            }
            '{' if !in_class => match quantifier(&chars[i..]) {
                Some((text, len)) => {
                    out.push_str(&text);
                    i += len;
                    if chars.get(i) == Some(&'+') {
                        return unsupported("a possessive quantifier");
                    }
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' if !in_class => out.push_str("\\}"),
            '*' | '+' | '?' if !in_class && chars.get(i + 1) == Some(&'+') => {
                return unsupported("a possessive quantifier");
            }
            other => out.push(other),
        }
        i += 1;
    }
    if in_class {
        return Err("unterminated character set".into());
    }
    Ok(out)
}

/// A Python counted repetition at the start of `chars` (`{2}`, `{2,}`,
/// `{,3}`, `{2,3}`), in the crate's syntax, and its length. `None`: Python
/// reads the `{` as a literal.
fn quantifier(chars: &[char]) -> Option<(String, usize)> {
    let end = chars.iter().position(|&c| c == '}')?;
    let inner: String = chars[1..end].iter().collect();
    let (min, max) = match inner.split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (inner.as_str(), None),
    };
    let digits = |text: &str| text.chars().all(|c| c.is_ascii_digit());
    if !digits(min) || !max.is_none_or(digits) || (min.is_empty() && max.is_none_or(str::is_empty))
    {
        return None;
    }
    let min = if min.is_empty() { "0" } else { min };
    let text = match max {
        Some(max) => format!("{{{min},{max}}}"),
        None => format!("{{{min}}}"),
    };
    Some((text, end + 1))
}

/// A replacement template, as `re.sub` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

impl Template {
    /// Reads `template` for `regex`: every group it names must exist.
    pub fn parse(template: &str, regex: &Regex) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = template.chars().peekable();
        let groups = regex.captures_len();
        let check = |index: usize| {
            if index < groups {
                Ok(Piece::Group(index))
            } else {
                Err(format!("invalid group reference {index}"))
            }
        };
        while let Some(c) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            let Some(next) = chars.next() else {
                return Err("bad escape (end of pattern)".into());
            };
            let piece = match next {
                'n' => Err('\n'),
                't' => Err('\t'),
                'r' => Err('\r'),
                'f' => Err('\x0c'),
                'v' => Err('\x0b'),
                'a' => Err('\x07'),
                'b' => Err('\x08'),
                '\\' => Err('\\'),
                '0' => {
                    let mut value = 0;
                    for _ in 0..2 {
                        match chars.peek().and_then(|d| d.to_digit(8)) {
                            Some(digit) => {
                                value = value * 8 + digit;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    Err(char::from_u32(value).unwrap_or('\0'))
                }
                '1'..='9' => {
                    let mut index = next.to_digit(10).unwrap_or(0) as usize;
                    if let Some(digit) = chars.peek().and_then(|d| d.to_digit(10)) {
                        index = index * 10 + digit as usize;
                        chars.next();
                    }
                    Ok(check(index)?)
                }
                'g' => {
                    if chars.next() != Some('<') {
                        return Err("missing < after \\g".into());
                    }
                    let name: String = chars.by_ref().take_while(|&ch| ch != '>').collect();
                    if name.is_empty() {
                        return Err("missing group name after \\g<".into());
                    }
                    match name.parse::<usize>() {
                        Ok(index) => Ok(check(index)?),
                        Err(_) if regex.capture_names().flatten().any(|n| n == name) => {
                            Ok(Piece::Named(name))
                        }
                        Err(_) => return Err(format!("unknown group name '{name}'")),
                    }
                }
                letter if letter.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{letter}"));
                }
                other => {
                    text.push('\\');
                    Err(other)
                }
            };
            match piece {
                Err(ch) => text.push(ch),
                Ok(group) => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(group);
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template(pieces))
    }

    fn expand(&self, caps: &Captures, out: &mut String) {
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Group(index) => out.push_str(caps.get(*index).map_or("", |m| m.as_str())),
                Piece::Named(name) => out.push_str(caps.name(name).map_or("", |m| m.as_str())),
            }
        }
    }
}

/// `re.subn(regex, template, text)`: the new text and how many matches were
/// replaced. As in Python 3.7+, an empty match right after a non-empty one
/// is replaced too, and never two empty matches at the same place.
pub(crate) fn subn(regex: &Regex, template: &Template, text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut count = 0;
    let mut at = 0;
    let mut last_empty_at = None;
    while at <= text.len() {
        let Some(caps) = regex.captures_at(text, at) else {
            break;
        };
        let found = caps.get(0).expect("group 0 is the match");
        if found.is_empty() && last_empty_at == Some(found.start()) {
            match text[found.start()..].chars().next() {
                Some(ch) => at = found.start() + ch.len_utf8(),
                None => break,
            }
            continue;
        }
        out.push_str(&text[copied..found.start()]);
        template.expand(&caps, &mut out);
        copied = found.end();
        count += 1;
        at = found.end();
        last_empty_at = found.is_empty().then_some(found.end());
    }
    out.push_str(&text[copied..]);
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(pattern: &str, template: &str, text: &str) -> (String, usize) {
        let regex = compile(pattern, "m").unwrap();
        let template = Template::parse(template, &regex).unwrap();
        subn(&regex, &template, text)
    }

    #[test]
    fn multiline_anchors_match_python() {
        let text = "Port 22\n#PermitRootLogin yes\nX\n";
        assert_eq!(
            sub("^#?PermitRootLogin.*$", "PermitRootLogin no", text),
            ("Port 22\nPermitRootLogin no\nX\n".into(), 1)
        );
        // re.subn('(?m)^', '> ', 'a\nb\n') == ('> a\n> b\n> ', 3)
        assert_eq!(sub("^", "> ", "a\nb\n"), ("> a\n> b\n> ".into(), 3));
        // re.subn('(?m)$', ';', 'a\nb') == ('a;\nb;', 2)
        assert_eq!(sub("$", ";", "a\nb"), ("a;\nb;".into(), 2));
    }

    #[test]
    fn empty_matches_follow_python_3_7() {
        // re.subn('x*', '-', 'abxd') == ('-a-b--d-', 5)
        assert_eq!(sub("x*", "-", "abxd"), ("-a-b--d-".into(), 5));
        assert_eq!(sub("x*", "-", ""), ("-".into(), 1));
    }

    #[test]
    fn templates_read_groups_and_escapes() {
        let text = "listen 80;\n";
        assert_eq!(
            sub(r"listen (\d+);", r"listen \1 ssl;\n# was \g<1>", text),
            ("listen 80 ssl;\n# was 80\n".into(), 1)
        );
        assert_eq!(
            sub(r"(?P<key>\w+)=(?P<v>\w+)", r"\g<v>=\g<key>", "a=b"),
            ("b=a".into(), 1)
        );
        // An unmatched group is empty; a non-letter escape keeps its `\`.
        assert_eq!(sub(r"a(x)?", r"[\1]\.", "a"), ("[]\\.".into(), 1));
        let regex = compile("(a)", "m").unwrap();
        assert!(
            Template::parse(r"\2", &regex)
                .unwrap_err()
                .contains("invalid group")
        );
        assert!(
            Template::parse(r"\g<nope>", &regex)
                .unwrap_err()
                .contains("unknown group")
        );
        assert!(
            Template::parse(r"\q", &regex)
                .unwrap_err()
                .contains("bad escape")
        );
    }

    #[test]
    fn python_syntax_is_translated() {
        assert_eq!(translate(r"a{,3}b{2}c{x}").unwrap(), r"a{0,3}b{2}c\{x\}");
        assert_eq!(translate(r"end\Z").unwrap(), r"end\z");
        assert_eq!(translate(r"[[&&]").unwrap(), r"[\[\&\&]");
        assert!(compile(r"^[[&&]+$", "").unwrap().is_match("[&"));
        assert_eq!(translate(r"[]a]").unwrap(), r"[\]a]");
        assert_eq!(translate(r"a(?#note)b").unwrap(), "ab");
        assert_eq!(translate(r"\<x\>").unwrap(), "<x>");
        assert_eq!(translate(r"\0").unwrap(), r"\x{0}");
        assert!(compile(r"[\b]", "").unwrap().is_match("\x08"));
        assert!(compile(r"a{,2}$", "").unwrap().is_match("aa"));
    }

    #[test]
    fn what_needs_backtracking_is_refused() {
        for (pattern, what) in [
            (r"(a)\1", "backreference"),
            (r"a(?=b)", "lookahead"),
            (r"a(?!b)", "lookahead"),
            (r"(?<=a)b", "lookbehind"),
            (r"(?<!a)b", "lookbehind"),
            (r"(?P<x>a)(?P=x)", "named backreference"),
            (r"(a)?(?(1)b|c)", "conditional"),
            (r"(?>a)", "atomic"),
            (r"a++", "possessive"),
        ] {
            let err = compile(pattern, "m").unwrap_err();
            assert!(err.contains(what), "{pattern}: {err}");
        }
        assert!(compile("[a", "").unwrap_err().contains("unterminated"));
    }
}
