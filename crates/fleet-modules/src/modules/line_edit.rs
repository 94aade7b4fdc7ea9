//! The text edits of `lineinfile`: pure functions from the file's text to
//! the new text, following Ansible's `lineinfile.py` decision by decision.
//! Lines keep their endings; a line equals `line` when they match without
//! the trailing `\r`/`\n`; regexps are searched in each line without its
//! `\n` (so `$` matches at its end, as with Python's `re`).

use regex::{Captures, Regex};

/// What finds the line to replace or remove.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Regexp(Regex),
    /// A literal substring (`search_string`).
    SearchString(String),
}

impl Matcher {
    fn is_match(&self, line: &str) -> bool {
        match self {
            Matcher::Regexp(regex) => regex.is_match(line),
            Matcher::SearchString(text) => line.contains(text.as_str()),
        }
    }
}

/// Where a new line goes when nothing matched.
#[derive(Debug, Clone)]
pub(crate) enum Insert {
    /// After the last line matching (the first with `firstmatch`).
    After(Regex),
    /// Before the last line matching (the first with `firstmatch`).
    Before(Regex),
    Bof,
    /// The default.
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct LineEdit {
    pub matcher: Option<Matcher>,
    pub insert: Insert,
    pub firstmatch: bool,
    /// `line` is a template for the regexp's match (`\1`, `\g<name>`); when
    /// the regexp matches no line, nothing is added.
    pub backrefs: bool,
}

/// The new text and what happened (`None` when nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edited {
    pub text: String,
    pub msg: Option<String>,
}

impl Edited {
    fn unchanged(text: &str) -> Edited {
        Edited {
            text: text.to_string(),
            msg: None,
        }
    }

    fn changed(lines: &[String], msg: &str) -> Edited {
        Edited {
            text: lines.concat(),
            msg: Some(msg.to_string()),
        }
    }
}

impl LineEdit {
    /// `state: present`: replace the matched line, or add `line`.
    pub fn present(&self, text: &str, line: &str) -> Edited {
        let mut lines = split_lines(text);
        let mut found = None;
        let mut matched = false;
        if let Some(matcher) = &self.matcher {
            for (index, current) in lines.iter().enumerate() {
                if matcher.is_match(body(current)) {
                    found = Some(index);
                    matched = true;
                    if self.firstmatch {
                        break;
                    }
                }
            }
        }
        let mut insert_at = None;
        if !matched {
            let pattern = match &self.insert {
                Insert::After(regex) | Insert::Before(regex) => Some(regex),
                Insert::Bof | Insert::Eof => None,
            };
            for (index, current) in lines.iter().enumerate() {
                if trimmed(current) == line {
                    found = Some(index);
                } else if let Some(regex) = pattern
                    && regex.is_match(body(current))
                {
                    let after = matches!(self.insert, Insert::After(_));
                    insert_at = Some(if after { index + 1 } else { index });
                    if self.firstmatch {
                        break;
                    }
                }
            }
        }

        if let Some(index) = found {
            let replacement = match &self.matcher {
                Some(Matcher::Regexp(regex)) if self.backrefs && matched => regex
                    .captures(body(&lines[index]))
                    .map_or_else(|| line.to_string(), |caps| expand(line, &caps)),
                _ => line.to_string(),
            };
            let replacement = with_newline(replacement);
            if lines[index] == replacement {
                return Edited::unchanged(text);
            }
            lines[index] = replacement;
            return Edited::changed(&lines, "line replaced");
        }
        if self.backrefs {
            // Without a match there is nothing to fill the backrefs from.
            return Edited::unchanged(text);
        }
        let added = with_newline(line.to_string());
        match (&self.insert, insert_at) {
            (Insert::Bof, _) => lines.insert(0, added),
            (Insert::Eof, _) | (_, None) => {
                end_last_line(&mut lines);
                lines.push(added);
            }
            (Insert::After(_), Some(at)) if at == lines.len() => {
                end_last_line(&mut lines);
                lines.push(added);
            }
            (Insert::After(_), Some(at)) => {
                if trimmed(&lines[at]) == line {
                    return Edited::unchanged(text);
                }
                lines.insert(at, added);
            }
            (Insert::Before(_), Some(at)) => lines.insert(at, added),
        }
        Edited::changed(&lines, "line added")
    }

    /// `state: absent`: remove every line the matcher (or, without one,
    /// `line` exactly) matches.
    pub fn absent(&self, text: &str, line: Option<&str>) -> Edited {
        let lines = split_lines(text);
        let total = lines.len();
        let kept: Vec<String> = lines
            .into_iter()
            .filter(|current| match (&self.matcher, line) {
                (Some(matcher), _) => !matcher.is_match(body(current)),
                (None, Some(line)) => trimmed(current) != line,
                (None, None) => true,
            })
            .collect();
        match total - kept.len() {
            0 => Edited::unchanged(text),
            removed => Edited::changed(&kept, &format!("{removed} line(s) removed")),
        }
    }
}

/// The lines of `text`, each with its `\n` (the last may lack one).
pub(crate) fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// A line without its `\n`: what regexps are searched in.
pub(crate) fn body(line: &str) -> &str {
    line.strip_suffix('\n').unwrap_or(line)
}

/// A line without trailing `\r`/`\n`: what `line` is compared with.
pub(crate) fn trimmed(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn with_newline(mut line: String) -> String {
    if !line.ends_with('\n') {
        line.push('\n');
    }
    line
}

/// Ends the last line, so that a line appended after it stays separate.
fn end_last_line(lines: &mut [String]) {
    if let Some(last) = lines.last_mut()
        && !last.ends_with(['\n', '\r'])
    {
        last.push('\n');
    }
}

/// Python's `match.expand`: `\1`..`\99`, `\g<1>`, `\g<name>`, and the
/// escapes `\n`, `\t`, `\r`, `\\`. A group that did not take part is empty.
pub(crate) fn expand(template: &str, caps: &Captures) -> String {
    let group = |name: &str| {
        let found = match name.parse::<usize>() {
            Ok(index) => caps.get(index),
            Err(_) => caps.name(name),
        };
        found.map_or("", |m| m.as_str()).to_string()
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at + 1..];
        let digits = escape
            .bytes()
            .take(2)
            .take_while(u8::is_ascii_digit)
            .count();
        let consumed = if digits > 0 && !escape.starts_with('0') {
            out.push_str(&group(&escape[..digits]));
            digits
        } else if let Some(named) = escape.strip_prefix("g<")
            && let Some(end) = named.find('>')
        {
            out.push_str(&group(&named[..end]));
            end + 3
        } else {
            match escape.chars().next() {
                Some(c) => {
                    match c {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        '\\' => out.push('\\'),
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                    c.len_utf8()
                }
                None => {
                    out.push('\\');
                    0
                }
            }
        };
        rest = &escape[consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap()
    }

    fn edit(matcher: Option<Matcher>, insert: Insert) -> LineEdit {
        LineEdit {
            matcher,
            insert,
            firstmatch: false,
            backrefs: false,
        }
    }

    fn regexp(pattern: &str) -> LineEdit {
        edit(Some(Matcher::Regexp(re(pattern))), Insert::Eof)
    }

    /// Applies `present`, checks the result, and checks a second run
    /// changes nothing (idempotence).
    fn present(edit: &LineEdit, text: &str, line: &str, expected: &str) {
        let first = edit.present(text, line);
        assert_eq!(first.text, expected, "first run on {text:?}");
        assert_eq!(first.msg.is_some(), text != expected, "{first:?}");
        let second = edit.present(&first.text, line);
        assert_eq!(second, Edited::unchanged(expected), "second run");
    }

    #[test]
    fn regexp_replaces_the_last_matching_line() {
        present(
            &regexp("^a="),
            "a=1\nb=2\na=3\nc=4\n",
            "a=9",
            "a=1\nb=2\na=9\nc=4\n",
        );
        let first = regexp("^a=").present("a=1\n", "a=9");
        assert_eq!(first.msg.as_deref(), Some("line replaced"));
    }

    #[test]
    fn firstmatch_replaces_the_first_matching_line() {
        let edit = LineEdit {
            firstmatch: true,
            ..regexp("^a=")
        };
        present(&edit, "a=1\nb=2\na=3\n", "a=9", "a=9\nb=2\na=3\n");
    }

    #[test]
    fn regexp_without_match_appends_at_the_end() {
        present(&regexp("^x="), "a=1\n", "x=1", "a=1\nx=1\n");
        // A last line without a newline gets one before the new line.
        present(&regexp("^x="), "a=1", "x=1", "a=1\nx=1\n");
        present(&regexp("^x="), "", "x=1", "x=1\n");
    }

    #[test]
    fn line_already_present_is_no_change_even_if_regexp_misses() {
        let edit = regexp("^nomatch");
        assert_eq!(
            edit.present("a\nline\nb\n", "line"),
            Edited::unchanged("a\nline\nb\n")
        );
        let plain = edit_none();
        assert_eq!(plain.present("x\ny\n", "y"), Edited::unchanged("x\ny\n"));
    }

    fn edit_none() -> LineEdit {
        edit(None, Insert::Eof)
    }

    #[test]
    fn matched_line_gets_its_newline() {
        // Ansible compares the whole line, ending included.
        present(&edit_none(), "a\nb", "b", "a\nb\n");
        present(&edit_none(), "a\r\nb\n", "a", "a\nb\n");
    }

    #[test]
    fn selinux_example_from_the_ansible_docs() {
        present(
            &regexp("^SELINUX="),
            "# comment\nSELINUX=permissive\nSELINUXTYPE=targeted\n",
            "SELINUX=enforcing",
            "# comment\nSELINUX=enforcing\nSELINUXTYPE=targeted\n",
        );
    }

    #[test]
    fn insertafter_uses_the_last_match_unless_firstmatch() {
        let edit = LineEdit {
            insert: Insert::After(re("^#Listen ")),
            ..regexp("^Listen ")
        };
        let text = "#Listen 12.34.56.78:80\n#Listen 80\nServerName x\n";
        present(
            &edit,
            text,
            "Listen 8080",
            "#Listen 12.34.56.78:80\n#Listen 80\nListen 8080\nServerName x\n",
        );
        let first = LineEdit {
            firstmatch: true,
            ..edit
        };
        present(
            &first,
            text,
            "Listen 8080",
            "#Listen 12.34.56.78:80\nListen 8080\n#Listen 80\nServerName x\n",
        );
    }

    #[test]
    fn insertafter_is_ignored_when_the_regexp_matches() {
        let edit = LineEdit {
            insert: Insert::After(re("^top")),
            ..regexp("^key=")
        };
        present(&edit, "top\nx\nkey=1\n", "key=2", "top\nx\nkey=2\n");
    }

    #[test]
    fn insertafter_the_last_line_and_unmatched_insertafter() {
        let edit = edit(None, Insert::After(re("^end$")));
        present(&edit, "a\nend", "new", "a\nend\nnew\n");
        present(&edit, "a\nb\n", "new", "a\nb\nnew\n");
    }

    #[test]
    fn insertbefore_uses_the_last_match_unless_firstmatch() {
        let edit = edit(None, Insert::Before(re("^www")));
        let text = "a\nwww 80\nwww 443\n";
        present(&edit, text, "# http", "a\nwww 80\n# http\nwww 443\n");
        let first = LineEdit {
            firstmatch: true,
            ..edit
        };
        present(&first, text, "# http", "a\n# http\nwww 80\nwww 443\n");
        // No match: the end of the file, as in Ansible.
        present(&first, "a\n", "# http", "a\n# http\n");
    }

    #[test]
    fn bof_and_eof() {
        present(&edit(None, Insert::Bof), "a\nb\n", "top", "top\na\nb\n");
        present(&edit(None, Insert::Eof), "a\nb\n", "end", "a\nb\nend\n");
        present(&edit(None, Insert::Bof), "", "only", "only\n");
    }

    #[test]
    fn backrefs_fill_groups_and_add_nothing_without_a_match() {
        let edit = LineEdit {
            backrefs: true,
            ..regexp(r"^(?P<key>\w+)\s*=\s*(\w+)$")
        };
        present(
            &edit,
            "a\nopt = off\n",
            r"\g<key>=on # was \2",
            "a\nopt=on # was off\n",
        );
        let untouched = "nothing here\n";
        assert_eq!(
            edit.present(untouched, r"\1=on"),
            Edited::unchanged(untouched)
        );
    }

    #[test]
    fn search_string_is_literal() {
        let edit = edit(Some(Matcher::SearchString("a.b[1]".into())), Insert::Eof);
        present(&edit, "axb1\nx a.b[1] y\n", "fixed", "axb1\nfixed\n");
    }

    #[test]
    fn absent_removes_every_match() {
        let first = regexp("^#").absent("#a\nb\n#c\n", None);
        assert_eq!(first.text, "b\n");
        assert_eq!(first.msg.as_deref(), Some("2 line(s) removed"));
        let exact = edit_none().absent("keep\ndrop\ndrop\r\ndropx\n", Some("drop"));
        assert_eq!(exact.text, "keep\ndropx\n");
        let literal =
            edit(Some(Matcher::SearchString("x.".into())), Insert::Eof).absent("ax.b\naxb\n", None);
        assert_eq!(literal.text, "axb\n");
        assert_eq!(regexp("^z").absent("a\n", None), Edited::unchanged("a\n"));
    }

    #[test]
    fn dollar_matches_at_the_end_of_each_line() {
        present(
            &regexp("^port=\\d+$"),
            "port=1\nx\n",
            "port=2",
            "port=2\nx\n",
        );
    }

    #[test]
    fn python_style_expansion() {
        let regex = re(r"(a)(b)?(?P<c>c)");
        let caps = regex.captures("ac").unwrap();
        assert_eq!(expand(r"\1-\2-\g<c>-\g<1>", &caps), "a--c-a");
        assert_eq!(expand(r"x\\y\tz\q\", &caps), "x\\y\tz\\q\\");
        assert_eq!(expand("plain", &caps), "plain");
        assert_eq!(expand(r"\g<unclosed", &caps), "\\g<unclosed");
    }
}
