//! The INI dialect of `ansible.cfg`, read as Python's `configparser` reads
//! it with the options ansible-core gives it: `[section]` headers, `key =
//! value` or `key: value` (the first `=` or `:` splits), whole-line
//! comments starting with `#` or `;`, inline comments only after `;`
//! preceded by whitespace, values continued on lines indented deeper than
//! their key, keys lower-cased, and a duplicate section or key refused.

use std::fmt;

/// One `key = value` line (and its continuation lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased, as `configparser` stores it.
    pub key: String,
    /// Continuation lines joined with `\n`, trailing empty lines dropped.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// As written (section names keep their case).
    pub name: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub sections: Vec<Section>,
}

/// A line `configparser` refuses, with a hint for fixing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: &'static str,
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl Ini {
    /// The entry `key` of `section`, falling back to `[DEFAULT]` as
    /// `configparser` does.
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        let find = |name: &str| {
            self.sections
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.entries.iter().find(|e| e.key == key))
        };
        find(section).or_else(|| find("DEFAULT"))
    }
}

/// Where an inline `;` comment starts: a `;` at the start of the line or
/// after whitespace.
fn inline_comment(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .find(|&at| bytes[at] == b';' && (at == 0 || bytes[at - 1].is_ascii_whitespace()))
}

pub fn parse(text: &str) -> Result<Ini, IniError> {
    let mut ini = Ini::default();
    // The entry being read: its indentation, for continuation lines.
    let mut open: Option<usize> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let value = match inline_comment(line) {
            Some(at) => line[..at].trim(),
            None => trimmed,
        };
        let indent = line.len() - line.trim_start().len();
        if value.is_empty() {
            // A blank line inside a value is kept (and trimmed at its end).
            if let (Some(_), Some(entry)) = (open, last_entry(&mut ini)) {
                entry.value.push('\n');
            }
            continue;
        }
        if let Some(key_indent) = open
            && indent > key_indent
            && let Some(entry) = last_entry(&mut ini)
        {
            entry.value.push('\n');
            entry.value.push_str(value);
            continue;
        }
        close(&mut ini);
        open = None;
        if let Some(name) = section_header(value) {
            if ini.sections.iter().any(|s| s.name == name) {
                return Err(IniError {
                    line: number,
                    col: indent + 1,
                    message: format!("section [{name}] appears twice"),
                    hint: "merge the two sections into one",
                });
            }
            ini.sections.push(Section {
                name: name.to_owned(),
                entries: Vec::new(),
            });
            continue;
        }
        let Some(section) = ini.sections.last_mut() else {
            return Err(IniError {
                line: number,
                col: indent + 1,
                message: "a setting before any [section] header".to_owned(),
                hint: "put settings under a section, e.g. `[defaults]`",
            });
        };
        let Some(split) = value.find(['=', ':']) else {
            return Err(IniError {
                line: number,
                col: indent + 1,
                message: format!("`{value}` is not a `key = value` line"),
                hint: "write `key = value` (or `key: value`); \
                       indent a line to continue the value above",
            });
        };
        let key = value[..split].trim_end().to_lowercase();
        if key.is_empty() {
            return Err(IniError {
                line: number,
                col: indent + 1,
                message: "a value without a key".to_owned(),
                hint: "write `key = value`",
            });
        }
        if section.entries.iter().any(|e| e.key == key) {
            return Err(IniError {
                line: number,
                col: indent + 1,
                message: format!("`{key}` is set twice in [{}]", section.name),
                hint: "keep one of the two lines",
            });
        }
        section.entries.push(Entry {
            key,
            value: value[split + 1..].trim_start().to_owned(),
            line: number,
        });
        open = Some(indent);
    }
    close(&mut ini);
    Ok(ini)
}

/// `[name]`: `configparser` takes everything up to the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    Some(&inner[..end]).filter(|name| !name.is_empty())
}

fn last_entry(ini: &mut Ini) -> Option<&mut Entry> {
    ini.sections.last_mut()?.entries.last_mut()
}

/// Drops the blank lines a value ended with.
fn close(ini: &mut Ini) {
    if let Some(entry) = last_entry(ini) {
        let kept = entry.value.trim_end_matches('\n').len();
        entry.value.truncate(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(ini: &'a Ini, section: &str, key: &str) -> &'a str {
        &ini.get(section, key).unwrap().value
    }

    #[test]
    fn sections_keys_and_both_delimiters() {
        let ini = parse(
            "[defaults]\nInventory = hosts\nremote_user: deploy\nforks=7\n\n[ssh_connection]\nssh_args = -o A=b\n",
        )
        .unwrap();
        assert_eq!(value(&ini, "defaults", "inventory"), "hosts");
        assert_eq!(value(&ini, "defaults", "remote_user"), "deploy");
        assert_eq!(value(&ini, "defaults", "forks"), "7");
        // The first delimiter splits: the value keeps its own `=`.
        assert_eq!(value(&ini, "ssh_connection", "ssh_args"), "-o A=b");
        assert_eq!(ini.get("defaults", "inventory").unwrap().line, 2);
        assert!(ini.get("Defaults", "inventory").is_none());
    }

    #[test]
    fn comments() {
        let ini = parse(
            "# top\n; also top\n[defaults]\n  # indented comment\ninventory = hosts ; the hosts\nremote_user = a;b\nkey = x # not a comment\n",
        )
        .unwrap();
        assert_eq!(value(&ini, "defaults", "inventory"), "hosts");
        assert_eq!(value(&ini, "defaults", "remote_user"), "a;b");
        assert_eq!(value(&ini, "defaults", "key"), "x # not a comment");
    }

    #[test]
    fn continuation_lines() {
        let ini = parse("[defaults]\ninventory = a,\n    b,\n\n    c\nforks = 3\n\n").unwrap();
        assert_eq!(value(&ini, "defaults", "inventory"), "a,\nb,\n\nc");
        assert_eq!(value(&ini, "defaults", "forks"), "3");
        // An indented key after a key continues it, as in configparser.
        let ini = parse("[defaults]\nremote_user = a\n  forks = 3\n").unwrap();
        assert_eq!(value(&ini, "defaults", "remote_user"), "a\nforks = 3");
    }

    #[test]
    fn empty_values_and_default_section() {
        let ini = parse("[DEFAULT]\ntimeout = 30\n[defaults]\nremote_user =\n").unwrap();
        assert_eq!(value(&ini, "defaults", "remote_user"), "");
        assert_eq!(value(&ini, "defaults", "timeout"), "30");
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let cases = [
            ("inventory = hosts\n", 1, "before any [section]"),
            ("[defaults]\njust words\n", 2, "is not a `key = value` line"),
            ("[defaults]\na = 1\n[x]\n[defaults]\n", 4, "appears twice"),
            ("[defaults]\nA = 1\na = 2\n", 3, "set twice"),
            ("[defaults]\n = 2\n", 2, "without a key"),
        ];
        for (text, line, message) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}");
            assert!(err.message.contains(message), "{text:?}: {}", err.message);
        }
    }
}
