//! What `postgresql_query` does to the SQL text before psql sees it:
//! psycopg2's client-side binding of `positional_args` and `named_args`
//! (`%s`, `%(name)s`, `%%`), and splitting a query string into its
//! statements the way psql's own scanner does, so that the results of the
//! last one can be told apart.

use serde_json::Value;

/// An argument as psycopg2 adapts it: the SQL text that replaces its
/// placeholder.
pub fn adapt(value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::Null => "NULL".into(),
        Value::Bool(true) => "true".into(),
        Value::Bool(false) => "false".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => float_sql(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => quote(s)?,
        // community.postgresql turns a list into the text of a
        // PostgreSQL array: Python's `str(list)` without its brackets,
        // between braces.
        Value::Array(_) => {
            let text = py_repr(value);
            quote(&format!(
                "{{{}}}",
                text.trim_matches(|c| c == '[' || c == ']')
            ))?
        }
        Value::Object(_) => return Err("can't adapt type 'dict'".into()),
    })
}

fn float_sql(f: f64) -> String {
    if f.is_nan() {
        "'NaN'::float".into()
    } else if f.is_infinite() {
        format!("'{}Infinity'::float", if f < 0.0 { "-" } else { "" })
    } else {
        py_float(f)
    }
}

/// A string literal as psycopg2 writes it for a server with
/// `standard_conforming_strings` on: `'` doubled, backslashes as they are.
fn quote(s: &str) -> Result<String, String> {
    if s.contains('\0') {
        return Err("A string literal cannot contain NUL (0x00) characters.".into());
    }
    Ok(format!("'{}'", s.replace('\'', "''")))
}

/// Python's `repr` of a float.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf".into() } else { "inf".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let text = format!("{f}");
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Python's `repr` of a JSON value, as `str(list)` writes its elements.
fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => match n
            .as_i64()
            .map(|i| i.to_string())
            .or(n.as_u64().map(|u| u.to_string()))
        {
            Some(int) => int,
            None => py_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => py_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The arguments of a query, adapted.
#[derive(Debug, Clone, PartialEq)]
pub enum Args {
    /// No arguments: the query is sent as it is, `%` and all.
    None,
    Positional(Vec<String>),
    Named(Vec<(String, String)>),
}

/// `query` with its placeholders replaced, as psycopg2's `mogrify`; an
/// error in Python's words for a placeholder without an argument and the
/// other way round.
pub fn mogrify(query: &str, args: &Args) -> Result<String, String> {
    if *args == Args::None {
        return Ok(query.to_string());
    }
    let mut out = String::with_capacity(query.len());
    let mut next = 0;
    let mut rest = query;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('s') {
            let Args::Positional(values) = args else {
                return Err("format requires a mapping".into());
            };
            let value = values
                .get(next)
                .ok_or("not enough arguments for format string")?;
            next += 1;
            out.push_str(value);
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('(') {
            let Args::Named(values) = args else {
                return Err("format requires a mapping".into());
            };
            let close = tail
                .find(')')
                .ok_or("incomplete placeholder: '%(' without ')'")?;
            let name = &tail[..close];
            let Some(tail) = tail[close + 1..].strip_prefix('s') else {
                return Err("only '%s', '%(name)s' and '%%' are supported in a query".into());
            };
            let value = values
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
                .ok_or_else(|| format!("'{name}'"))?;
            out.push_str(value);
            rest = tail;
        } else {
            return Err("only '%s', '%(name)s' and '%%' are supported in a query".into());
        }
    }
    out.push_str(rest);
    if let Args::Positional(values) = args
        && next < values.len()
    {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(out)
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn ident_char(c: char) -> bool {
    ident_start(c) || c.is_ascii_digit() || c == '$'
}

/// The statements of `sql`, split at each `;` that psql's scanner ends a
/// statement at: outside quotes (`'…'`, `E'…'`, `"…"`, `$tag$…$tag$`),
/// comments, parentheses and the `BEGIN … END` body of a `CREATE
/// FUNCTION`/`PROCEDURE`. Statements without anything but whitespace and
/// comments are left out; the `;` is not kept.
pub fn split_statements(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut significant = false;
    let mut parens = 0usize;
    let mut begins = 0usize;
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    let push_range = |current: &mut String, from: usize, to: usize| {
        current.extend(&chars[from..to.min(chars.len())]);
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            push_range(&mut current, start, i);
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            push_range(&mut current, start, i);
            continue;
        }
        if c == ';' && parens == 0 && begins == 0 {
            if significant {
                statements.push(current.trim().to_string());
            }
            current.clear();
            significant = false;
            words.clear();
            i += 1;
            continue;
        }
        significant |= !c.is_whitespace();
        if c == '\'' {
            let escapes = start > 0
                && matches!(chars[start - 1], 'E' | 'e')
                && (start < 2 || !ident_char(chars[start - 2]));
            i += 1;
            while i < chars.len() {
                if escapes && chars[i] == '\\' {
                    i += 2;
                } else if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' {
                    if chars.get(i + 1) == Some(&'"') {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '$'
            && let Some(tag) = dollar_tag(&chars, i)
        {
            i += tag.len();
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i..].starts_with(&tag) {
                    i += tag.len();
                    break;
                }
                i += 1;
            }
        } else if ident_start(c) {
            while i < chars.len() && ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
            track_begin(&mut words, &mut begins, parens, &word);
        } else if c.is_ascii_digit() {
            while i < chars.len() && (ident_char(chars[i]) || chars[i] == '.') {
                i += 1;
            }
        } else {
            match c {
                '(' => parens += 1,
                ')' => parens = parens.saturating_sub(1),
                _ => {}
            }
            i += 1;
        }
        push_range(&mut current, start, i);
    }
    if significant {
        statements.push(current.trim().to_string());
    }
    statements
}

/// `$tag$` starting at `at`, when one does (not `$1`).
fn dollar_tag(chars: &[char], at: usize) -> Option<Vec<char>> {
    let mut end = at + 1;
    if chars.get(end).is_some_and(|c| ident_start(*c)) {
        end += 1;
        while chars
            .get(end)
            .is_some_and(|c| ident_start(*c) || c.is_ascii_digit())
        {
            end += 1;
        }
    }
    (chars.get(end) == Some(&'$')).then(|| chars[at..=end].to_vec())
}

/// psql's heuristic for `CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN
/// ATOMIC … END`: inside such a statement, `BEGIN` (and then `CASE`)
/// opens a block that `END` closes.
fn track_begin(words: &mut Vec<String>, begins: &mut usize, parens: usize, word: &str) {
    if words.len() < 4 {
        words.push(word.to_string());
    }
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let routine = |w: &str| w == "function" || w == "procedure";
    let is_routine = matches!(w.first(), Some(&"create"))
        && (w.get(1).is_some_and(|w| routine(w))
            || (w.get(1) == Some(&"or")
                && w.get(2) == Some(&"replace")
                && w.get(3).is_some_and(|w| routine(w))));
    if !is_routine || parens != 0 {
        return;
    }
    match word {
        "begin" => *begins += 1,
        "case" if *begins >= 1 => *begins += 1,
        "end" if *begins > 0 => *begins -= 1,
        _ => {}
    }
}

/// The first keyword of a statement, upper-cased (`SELECT`, `WITH`,
/// `SHOW`…), after comments and opening parentheses.
pub fn leading_keyword(statement: &str) -> String {
    let mut rest = statement.trim_start();
    loop {
        if let Some(tail) = rest.strip_prefix("--") {
            rest = tail.split_once('\n').map_or("", |(_, t)| t).trim_start();
        } else if let Some(tail) = rest.strip_prefix("/*") {
            rest = tail.split_once("*/").map_or("", |(_, t)| t).trim_start();
        } else if let Some(tail) = rest.strip_prefix('(') {
            rest = tail.trim_start();
        } else {
            break;
        }
    }
    rest.chars()
        .take_while(|c| ident_char(*c))
        .collect::<String>()
        .to_uppercase()
}
