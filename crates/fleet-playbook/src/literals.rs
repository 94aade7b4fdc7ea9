//! Backslashes in the string literals of a task's templates, kept as
//! written, as Ansible does.
//!
//! In a playbook, `{{ out | regex_search('v(\d+)', '\1') }}` reaches Jinja
//! with the backslashes YAML left, and Ansible keeps them in the literal:
//! `'\d'` is the two characters `\` and `d`, `'\n'` is not a newline, and
//! `'it\'s'` is `it\'s`. minijinja, like plain Jinja, would decode them as
//! escapes, so each literal is rewritten for it to decode back to what was
//! written. Template files are left alone: there Ansible decodes escapes
//! as Jinja does.

use std::borrow::Cow;

/// `source`, a template, with the backslashes of the string literals in
/// its `{{ }}` and `{% %}` doubled for minijinja.
pub(crate) fn in_template(source: &str) -> Cow<'_, str> {
    if !source.contains('\\') {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 8);
    let mut rest = source;
    while let Some(start) = rest.find('{') {
        let (text, from) = rest.split_at(start);
        out.push_str(text);
        let close = match from.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => {
                let end = from.find("#}").map_or(from.len(), |end| end + 2);
                out.push_str(&from[..end]);
                rest = &from[end..];
                continue;
            }
            _ => {
                out.push('{');
                rest = &from[1..];
                continue;
            }
        };
        if close == "%}" && is_raw(&from[2..]) {
            let end = from
                .find("endraw")
                .and_then(|at| from[at..].find("%}").map(|end| at + end + 2))
                .unwrap_or(from.len());
            out.push_str(&from[..end]);
            rest = &from[end..];
            continue;
        }
        out.push_str(&from[..2]);
        rest = code(&from[2..], Some(close), &mut out);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `expr`, a bare expression (a `when`), rewritten as [`in_template`]
/// rewrites the code of a template.
pub(crate) fn in_expression(expr: &str) -> Cow<'_, str> {
    if !expr.contains('\\') {
        return Cow::Borrowed(expr);
    }
    let mut out = String::with_capacity(expr.len() + 8);
    code(expr, None, &mut out);
    Cow::Owned(out)
}

/// Whether a block tag's text (after `{%`) is `raw`.
fn is_raw(tag: &str) -> bool {
    let tag = tag.trim_start_matches(['-', '+']).trim_start();
    tag.strip_prefix("raw")
        .is_some_and(|after| after.trim_start().starts_with(['%', '-', '+']))
}

/// Copies code up to and including `close` (`}}` or `%}`, outside
/// brackets and literals; the end of the text without one), rewriting the
/// literals. Returns what follows.
fn code<'a>(text: &'a str, close: Option<&str>, out: &mut String) -> &'a str {
    let mut depth = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if let Some(close) = close
            && depth == 0
            && text[at..].starts_with(close)
        {
            out.push_str(close);
            return &text[at + close.len()..];
        }
        match c {
            '\'' | '"' => {
                out.push(c);
                while let Some((_, inner)) = chars.next() {
                    if inner == '\\' {
                        out.push_str("\\\\");
                        match chars.next() {
                            Some((_, next)) if next == c || next == '\\' => {
                                out.push('\\');
                                out.push(next);
                            }
                            Some((_, next)) => out.push(next),
                            None => {}
                        }
                    } else {
                        out.push(inner);
                        if inner == c {
                            break;
                        }
                    }
                }
            }
            '{' | '[' | '(' => {
                depth += 1;
                out.push(c);
            }
            '}' | ']' | ')' => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::{in_expression, in_template};

    #[test]
    fn literals_in_code_keep_their_backslashes() {
        assert_eq!(
            in_template(r"a\b {{ x | regex_search('v(\d+)', '\1') }} c\d"),
            r"a\b {{ x | regex_search('v(\\d+)', '\\1') }} c\d"
        );
        assert_eq!(in_template(r"{{ 'it\'s' }}"), r"{{ 'it\\\'s' }}");
        assert_eq!(
            in_template(r#"{{ "q\"r" ~ '\\' }}"#),
            r#"{{ "q\\\"r" ~ '\\\\' }}"#
        );
        assert_eq!(
            in_template(r"{% if x is match('\w') %}\n{% endif %}"),
            r"{% if x is match('\\w') %}\n{% endif %}"
        );
        assert_eq!(
            in_template(r"{{ {'a': {'b': '\t'}} }} '\t'"),
            r"{{ {'a': {'b': '\\t'}} }} '\t'"
        );
        assert_eq!(
            in_template(r"{# '\d' #}{% raw %}{{ '\d' }}{% endraw %}"),
            r"{# '\d' #}{% raw %}{{ '\d' }}{% endraw %}"
        );
        assert_eq!(
            in_template("no backslash {{ 'x' }}"),
            "no backslash {{ 'x' }}"
        );
        assert_eq!(in_expression(r"x is search('\d')"), r"x is search('\\d')");
    }
}
