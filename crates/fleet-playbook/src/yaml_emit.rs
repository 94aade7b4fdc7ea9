//! YAML text laid out as PyYAML's `dump` lays it out for Ansible's
//! `to_yaml` and `to_nice_yaml`: keys sorted, a list under a key not
//! indented (`key:\n- a`), a map inside a list starting on the dash's line
//! (`-   name: a` with an indent of 4), and, for `to_yaml`, collections
//! that hold only scalars written inline (`[80, 443]`, `{a: 1}`).
//!
//! Strings are left plain when YAML reads them back as the same string,
//! else single-quoted, or double-quoted when they hold a line break or a
//! control character. Unlike PyYAML, long lines are never folded.

use serde_json::Value as Json;

pub(crate) struct YamlStyle {
    pub(crate) indent: usize,
    pub(crate) sort_keys: bool,
    /// Collections of scalars inline (PyYAML's `default_flow_style=None`).
    pub(crate) flow_leaves: bool,
}

/// The document, ending with a newline. A lone scalar is one line,
/// without PyYAML's `...` end marker, as Ansible 2.19 gives it.
pub(crate) fn dump(value: &Json, style: &YamlStyle) -> String {
    let mut out = String::new();
    if is_collection(value) && !is_empty(value) && !inline(value, style) {
        block(value, style, 0, &mut out);
    } else {
        out.push_str(&node_text(value, style, false));
        out.push('\n');
    }
    out
}

fn is_collection(value: &Json) -> bool {
    matches!(value, Json::Array(_) | Json::Object(_))
}

fn is_empty(value: &Json) -> bool {
    match value {
        Json::Array(items) => items.is_empty(),
        Json::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Whether a collection is written inline.
fn inline(value: &Json, style: &YamlStyle) -> bool {
    is_empty(value)
        || (style.flow_leaves
            && match value {
                Json::Array(items) => !items.iter().any(is_collection),
                Json::Object(map) => !map.values().any(is_collection),
                _ => false,
            })
}

fn entries<'a>(
    map: &'a serde_json::Map<String, Json>,
    style: &YamlStyle,
) -> Vec<(&'a String, &'a Json)> {
    let mut entries: Vec<_> = map.iter().collect();
    if style.sort_keys {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    entries
}

/// A scalar or an inline collection.
fn node_text(value: &Json, style: &YamlStyle, in_flow: bool) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(flag) => flag.to_string(),
        Json::Number(number) => number_text(number),
        Json::String(text) => string_text(text, in_flow),
        Json::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| node_text(item, style, true))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Json::Object(map) => {
            let items: Vec<String> = entries(map, style)
                .into_iter()
                .map(|(key, item)| {
                    format!(
                        "{}: {}",
                        string_text(key, true),
                        node_text(item, style, true)
                    )
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

fn number_text(number: &serde_json::Number) -> String {
    if number.is_f64() {
        let float = number.as_f64().unwrap_or_default();
        return if float.is_nan() {
            ".nan".into()
        } else if float.is_infinite() {
            if float > 0.0 {
                ".inf".into()
            } else {
                "-.inf".into()
            }
        } else {
            let text = float.to_string();
            if text.contains(['.', 'e']) {
                text
            } else {
                format!("{text}.0")
            }
        };
    }
    number.to_string()
}

/// Writes a non-empty block collection whose first line starts at the
/// current position (`column` is where its lines start).
fn block(value: &Json, style: &YamlStyle, column: usize, out: &mut String) {
    let pad = |out: &mut String, first: &mut bool| {
        if !*first {
            out.push_str(&" ".repeat(column));
        }
        *first = false;
    };
    let mut first = true;
    match value {
        Json::Array(items) => {
            for item in items {
                pad(out, &mut first);
                out.push('-');
                if is_collection(item) && !inline(item, style) {
                    // The item's own lines start one indent in; its first
                    // line goes on the dash's.
                    out.push_str(&" ".repeat(style.indent - 1));
                    block(item, style, column + style.indent, out);
                } else {
                    out.push(' ');
                    out.push_str(&node_text(item, style, false));
                    out.push('\n');
                }
            }
        }
        Json::Object(map) => {
            for (key, item) in entries(map, style) {
                pad(out, &mut first);
                out.push_str(&string_text(key, false));
                out.push(':');
                match item {
                    Json::Array(_) if !inline(item, style) => {
                        out.push('\n');
                        out.push_str(&" ".repeat(column));
                        block(item, style, column, out);
                    }
                    Json::Object(_) if !inline(item, style) => {
                        out.push('\n');
                        out.push_str(&" ".repeat(column + style.indent));
                        block(item, style, column + style.indent, out);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&node_text(item, style, false));
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            out.push_str(&node_text(value, style, false));
            out.push('\n');
        }
    }
}

fn string_text(text: &str, in_flow: bool) -> String {
    if text
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
    {
        return double_quoted(text);
    }
    if plain_ok(text, in_flow) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

fn double_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\u{1b}' => out.push_str("\\e"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `text` can be written unquoted and still read back as this
/// string, by a YAML 1.1 reader (PyYAML, Ansible) and a YAML 1.2 one.
fn plain_ok(text: &str, in_flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace) {
        return false;
    }
    let second_is_space = text.chars().nth(1).is_none_or(char::is_whitespace);
    let indicator = match first {
        '-' | '?' | ':' => second_is_space,
        '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => true,
        _ => false,
    };
    if indicator
        || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
        || text.starts_with("---")
        || text.starts_with("...")
    {
        return false;
    }
    if in_flow && text.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    !reads_as_other_type(text)
}

/// Text a YAML 1.1 or 1.2 reader would take for a null, bool, number or
/// date rather than a string.
fn reads_as_other_type(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "<<",
        "=",
    ];
    if WORDS.contains(&text) {
        return true;
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let numberish = !body.is_empty()
        && body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body.chars().all(|c| {
            c.is_ascii_hexdigit()
                || matches!(
                    c,
                    '.' | '_' | ':' | 'x' | 'o' | 'X' | 'O' | '-' | '+' | 'e' | 'E'
                )
        });
    // A date such as 2001-12-14, or anything a number reader might accept
    // (1_000, 0x1F, 1e3, 12:30, 1.5): quoted, to be safe.
    numberish && body.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nice(value: Json) -> String {
        dump(
            &value,
            &YamlStyle {
                indent: 4,
                sort_keys: true,
                flow_leaves: false,
            },
        )
    }

    fn plain(value: Json) -> String {
        dump(
            &value,
            &YamlStyle {
                indent: 2,
                sort_keys: true,
                flow_leaves: true,
            },
        )
    }

    // Expected texts are Ansible 2.19's (PyYAML 6) for the same data, except
    // where noted.

    #[test]
    fn nice_layout_matches_pyyaml() {
        let value = json!({
            "z": {"b": [1, 2], "a": "x y"},
            "users": [{"name": "a", "keys": ["k1"]}, {"name": "b"}],
            "e": [], "f": {}, "n": null, "t": true, "s": "yes", "num": "12",
            "q": "it's", "c": "a: b", "u": "é",
        });
        assert_eq!(
            nice(value),
            "c: 'a: b'\ne: []\nf: {}\n'n': null\nnum: '12'\nq: it's\ns: 'yes'\nt: true\nu: é\n\
             users:\n-   keys:\n    - k1\n    name: a\n-   name: b\nz:\n    a: x y\n    b:\n    - 1\n    - 2\n"
        );
        assert_eq!(nice(json!([[1, 2], [3]])), "-   - 1\n    - 2\n-   - 3\n");
        assert_eq!(
            nice(json!([{"a": [1, {"b": 2}]}])),
            "-   a:\n    - 1\n    -   b: 2\n"
        );
        assert_eq!(nice(json!({"a": {"b": {}}})), "a:\n    b: {}\n");
    }

    #[test]
    fn plain_layout_writes_leaf_collections_inline() {
        assert_eq!(
            plain(json!({"APP_ENV": "prod", "WORKERS": 4})),
            "{APP_ENV: prod, WORKERS: 4}\n"
        );
        assert_eq!(plain(json!(["a", "b"])), "[a, b]\n");
        assert_eq!(
            plain(
                json!({"users": [{"name": "a", "keys": ["k1"]}, {"name": "b"}], "z": {"b": [1, 2]}})
            ),
            "users:\n- keys: [k1]\n  name: a\n- {name: b}\nz:\n  b: [1, 2]\n"
        );
        assert_eq!(plain(json!([[1, 2], [3]])), "- [1, 2]\n- [3]\n");
        assert_eq!(plain(json!([])), "[]\n");
    }

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        assert_eq!(plain(json!("foo")), "foo\n");
        assert_eq!(plain(json!(1)), "1\n");
        assert_eq!(nice(json!(null)), "null\n");
        assert_eq!(
            nice(json!([
                null,
                1.5,
                "-v",
                "- x",
                "a #b",
                "a#b",
                "x:",
                "@x",
                "~",
                "1_000",
                "2001-12-14",
                "12:30",
                " a",
                "ünï"
            ])),
            "- null\n- 1.5\n- -v\n- '- x'\n- 'a #b'\n- a#b\n- 'x:'\n- '@x'\n- '~'\n- '1_000'\n- '2001-12-14'\n- '12:30'\n- ' a'\n- ünï\n"
        );
        // PyYAML leaves these plain (also `n` as a key, above); fleet
        // quotes them so that any YAML 1.1 or 1.2 reader gets strings.
        assert_eq!(
            nice(json!(["y", "0o17", "1e3"])),
            "- 'y'\n- '0o17'\n- '1e3'\n"
        );
        // PyYAML would write `"\t"` alike, but breaks `a\nb` over lines.
        assert_eq!(
            nice(json!(["\t", "a\tb", "a\nb", "\u{7}"])),
            "- \"\\t\"\n- \"a\\tb\"\n- \"a\\nb\"\n- \"\\a\"\n"
        );
        assert_eq!(plain(json!(["a,b", "x"])), "['a,b', x]\n");
        assert_eq!(nice(json!({"k": "a,b"})), "k: a,b\n");
    }

    #[test]
    fn keys_keep_their_order_when_not_sorted() {
        let style = YamlStyle {
            indent: 2,
            sort_keys: false,
            flow_leaves: false,
        };
        assert_eq!(dump(&json!({"b": 1, "a": 2}), &style), "b: 1\na: 2\n");
    }
}
