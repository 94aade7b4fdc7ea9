//! The value typing of Ansible's INI inventory: a value is read as a Python
//! literal (what `ast.literal_eval` accepts), and kept as the text it was
//! when it is not one.
//!
//! | written            | value                 |
//! |--------------------|-----------------------|
//! | `22`, `-1`, `0x1f`, `1_000` | integer      |
//! | `1.5`, `1e3`, `.5` | float                 |
//! | `True`, `False`    | boolean               |
//! | `None`             | null                  |
//! | `'text'`, `"text"` | the text, unquoted    |
//! | `[1, 2]`, `(1, 2)`, `1, 2`, `{1, 2}` | list |
//! | `{'a': 1}`         | map                   |
//! | `true`, `yes`, `010`, `a b`, `1+2j` | the text as written |
//!
//! A trailing Python comment (`5  # five`) is ignored, as `literal_eval`
//! ignores it.

use serde_json::{Map, Number, Value};

/// The value of `text` as Ansible's INI plugin types it.
pub(crate) fn typed_value(text: &str) -> Value {
    literal(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

/// `text` as a Python literal, or `None` when it is not one.
fn literal(text: &str) -> Option<Value> {
    let mut parser = Parser {
        chars: text.trim_start_matches([' ', '\t']).chars().collect(),
        at: 0,
    };
    let value = parser.expression()?;
    parser.skip_space();
    (parser.at == parser.chars.len()).then_some(value)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// Skips blanks, line breaks inside brackets, and a `#` comment.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c == '#' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.at += 1;
                }
            } else if c.is_whitespace() {
                self.at += 1;
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        self.skip_space();
        if self.peek() == Some(expected) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// A top-level expression: one value, or a bare tuple `1, 2`.
    fn expression(&mut self) -> Option<Value> {
        let first = self.value()?;
        self.skip_space();
        if self.peek() != Some(',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.eat(',') {
            self.skip_space();
            if self.peek().is_none() {
                break;
            }
            items.push(self.value()?);
        }
        Some(Value::Array(items))
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_space();
        match self.peek()? {
            '[' => {
                self.at += 1;
                Some(Value::Array(self.items(']')?))
            }
            '(' => {
                self.at += 1;
                self.parenthesised()
            }
            '{' => {
                self.at += 1;
                self.braces()
            }
            '\'' | '"' => self.strings(),
            '+' | '-' => {
                let negative = self.peek() == Some('-');
                self.at += 1;
                self.skip_space();
                let number = self.number()?;
                if negative {
                    negate(number)
                } else {
                    Some(number)
                }
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            c if c.is_alphabetic() || c == '_' => self.word(),
            _ => None,
        }
    }

    /// Items up to `close`, with an optional trailing comma.
    fn items(&mut self, close: char) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.value()?);
            if !self.eat(',') {
                return self.eat(close).then_some(items);
            }
        }
    }

    /// `()` (empty tuple), `(x)` (just x), `(x,)` or `(x, y)` (tuples).
    fn parenthesised(&mut self) -> Option<Value> {
        if self.eat(')') {
            return Some(Value::Array(Vec::new()));
        }
        let first = self.value()?;
        if self.eat(')') {
            return Some(first);
        }
        if !self.eat(',') {
            return None;
        }
        let mut rest = self.items(')')?;
        rest.insert(0, first);
        Some(Value::Array(rest))
    }

    /// A dict `{k: v, ...}`, or a set `{a, b}` (which becomes a list).
    fn braces(&mut self) -> Option<Value> {
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.value()?;
        if !self.eat(':') {
            let mut rest = if self.eat(',') {
                self.items('}')?
            } else if self.eat('}') {
                Vec::new()
            } else {
                return None;
            };
            rest.insert(0, first);
            return Some(Value::Array(rest));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let value = self.value()?;
            map.insert(key_text(&key)?, value);
            if !self.eat(',') {
                return self.eat('}').then_some(Value::Object(map));
            }
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            key = self.value()?;
            if !self.eat(':') {
                return None;
            }
        }
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self) -> Option<Value> {
        let mut text = self.string()?;
        loop {
            let save = self.at;
            self.skip_space();
            match self.peek() {
                Some('\'' | '"') => text.push_str(&self.string()?),
                _ => {
                    self.at = save;
                    return Some(Value::String(text));
                }
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.string_with(false)
    }

    fn string_with(&mut self, raw: bool) -> Option<String> {
        let quote = self.peek()?;
        let triple = self.chars.get(self.at..self.at + 3) == Some(&[quote; 3][..]);
        self.at += if triple { 3 } else { 1 };
        let mut text = String::new();
        loop {
            let c = self.peek()?;
            if c == quote {
                if !triple {
                    self.at += 1;
                    return Some(text);
                }
                if self.chars.get(self.at..self.at + 3) == Some(&[quote; 3][..]) {
                    self.at += 3;
                    return Some(text);
                }
            }
            if c == '\n' && !triple {
                return None;
            }
            self.at += 1;
            if c == '\\' && !raw {
                text.push_str(&self.escape()?);
            } else if c == '\\' {
                text.push(c);
                if let Some(next) = self.peek() {
                    text.push(next);
                    self.at += 1;
                }
            } else {
                text.push(c);
            }
        }
    }

    fn escape(&mut self) -> Option<String> {
        let c = self.peek()?;
        self.at += 1;
        let simple = match c {
            '\n' => return Some(String::new()),
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' if !self.peek().is_some_and(|c| c.is_digit(8)) => '\0',
            '\\' | '\'' | '"' => c,
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            'x' => return self.hex_escape(2),
            'u' => return self.hex_escape(4),
            'U' => return self.hex_escape(8),
            // Python keeps an unknown escape as written.
            other => return Some(format!("\\{other}")),
        };
        Some(simple.to_string())
    }

    fn hex_escape(&mut self, digits: usize) -> Option<String> {
        let hex: String = self.chars.get(self.at..self.at + digits)?.iter().collect();
        self.at += digits;
        let code = u32::from_str_radix(&hex, 16).ok()?;
        char::from_u32(code).map(String::from)
    }

    /// `True`, `False`, `None`, or a string with a prefix such as `r'...'`.
    fn word(&mut self) -> Option<Value> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.at += 1;
        }
        let word: String = self.chars[start..self.at].iter().collect();
        match word.as_str() {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            prefix if matches!(self.peek(), Some('\'' | '"')) => {
                let lower = prefix.to_ascii_lowercase();
                if !["r", "u", "b", "br", "rb"].contains(&lower.as_str()) {
                    return None;
                }
                let text = self.string_with(lower.contains('r'))?;
                Some(Value::String(text))
            }
            _ => None,
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.at;
        while let Some(c) = self.peek() {
            let exponent_sign = matches!(c, '+' | '-')
                && matches!(self.chars.get(self.at.wrapping_sub(1)), Some('e' | 'E'))
                && !self.chars[start..self.at]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X'));
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign {
                self.at += 1;
            } else {
                break;
            }
        }
        let text: String = self.chars[start..self.at].iter().collect();
        number(&text)
    }
}

/// A Python number literal (no sign) as JSON.
fn number(text: &str) -> Option<Value> {
    if text.is_empty() || text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits).replace('_', "");
            return int_value(u128::from_str_radix(&digits, radix).ok()?);
        }
    }
    let plain = lower.replace('_', "");
    if plain.chars().all(|c| c.is_ascii_digit()) {
        // Python refuses leading zeros in a decimal integer, except for zero.
        if plain.len() > 1 && plain.starts_with('0') && plain.chars().any(|c| c != '0') {
            return None;
        }
        return int_value(plain.parse().ok()?);
    }
    if lower.contains('j')
        || !plain
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
    {
        return None;
    }
    let float: f64 = plain.parse().ok()?;
    Number::from_f64(float).map(Value::Number)
}

fn int_value(int: u128) -> Option<Value> {
    u64::try_from(int).ok().map(|int| Value::Number(int.into()))
}

fn negate(number: Value) -> Option<Value> {
    let number = match number {
        Value::Number(number) => number,
        _ => return None,
    };
    if let Some(int) = number.as_u64() {
        if int == 0 {
            return Some(Value::from(0));
        }
        return i64::try_from(int).ok().map(|int| Value::from(-int));
    }
    if let Some(int) = number.as_i64() {
        return int.checked_neg().map(Value::from);
    }
    Number::from_f64(-number.as_f64()?).map(Value::Number)
}

/// A dict key as the text vars use: strings as they are, scalars as JSON.
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(match key {
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            other => other.to_string(),
        }),
        Value::Null => Some("None".to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(typed_value("22"), json!(22));
        assert_eq!(typed_value("-1"), json!(-1));
        assert_eq!(typed_value("0x1f"), json!(31));
        assert_eq!(typed_value("0o17"), json!(15));
        assert_eq!(typed_value("1_000"), json!(1000));
        assert_eq!(typed_value("0"), json!(0));
        assert_eq!(typed_value("00"), json!(0));
        assert_eq!(typed_value("1.5"), json!(1.5));
        assert_eq!(typed_value("1e3"), json!(1000.0));
        assert_eq!(typed_value("2.5e-1"), json!(0.25));
        assert_eq!(typed_value(".5"), json!(0.5));
        assert_eq!(typed_value("010"), json!("010"));
        assert_eq!(typed_value("1+2j"), json!("1+2j"));
        assert_eq!(typed_value("1_"), json!("1_"));
        assert_eq!(typed_value("10.0.0.1"), json!("10.0.0.1"));
    }

    #[test]
    fn words_and_strings() {
        assert_eq!(typed_value("True"), json!(true));
        assert_eq!(typed_value("False"), json!(false));
        assert_eq!(typed_value("None"), Value::Null);
        assert_eq!(typed_value("true"), json!("true"));
        assert_eq!(typed_value("yes"), json!("yes"));
        assert_eq!(typed_value("'5'"), json!("5"));
        assert_eq!(typed_value("\"a b\""), json!("a b"));
        assert_eq!(typed_value("'a' 'b'"), json!("ab"));
        assert_eq!(typed_value("'tab\\there'"), json!("tab\there"));
        assert_eq!(typed_value("r'a\\d'"), json!("a\\d"));
        assert_eq!(typed_value("a b"), json!("a b"));
        assert_eq!(typed_value("'open"), json!("'open"));
        assert_eq!(typed_value(""), json!(""));
        assert_eq!(typed_value("web1.example.com"), json!("web1.example.com"));
    }

    #[test]
    fn collections() {
        assert_eq!(typed_value("[1, 'a', None]"), json!([1, "a", null]));
        assert_eq!(typed_value("(1, 2)"), json!([1, 2]));
        assert_eq!(typed_value("1, 2"), json!([1, 2]));
        assert_eq!(typed_value("(1)"), json!(1));
        assert_eq!(
            typed_value("{'a': 1, 'b': [True]}"),
            json!({"a": 1, "b": [true]})
        );
        assert_eq!(typed_value("{1, 2}"), json!([1, 2]));
        assert_eq!(typed_value("[1, 2,]"), json!([1, 2]));
        assert_eq!(typed_value("[1, 2"), json!("[1, 2"));
        assert_eq!(typed_value("{'a': x}"), json!("{'a': x}"));
    }

    #[test]
    fn comments_and_blanks() {
        assert_eq!(typed_value("5 # five"), json!(5));
        assert_eq!(typed_value("  7"), json!(7));
        assert_eq!(typed_value("'x'  # note"), json!("x"));
    }
}
