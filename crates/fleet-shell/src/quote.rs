//! Quoting for a POSIX shell, and the reverse: splitting a command line
//! into words.

/// Quotes `word` for a POSIX shell: `it's` becomes `'it'"'"'s'`, as
/// Python's `shlex.quote` (and so Ansible's `quote` filter) writes it. Words made
/// only of characters no shell treats specially are left as they are; `=`
/// is not one of them, so `FOO=bar` can never become an assignment.
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:,+@%".contains(&b));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r#"'"'"'"#))
    }
}

/// Splits a command line into words the way a POSIX shell would for simple
/// quoting (`'…'`, `"…"`, `\`), without expanding anything.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => current.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                let escaped = chars.next().ok_or("trailing backslash")?;
                word.get_or_insert_with(String::new).push(escaped);
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `sh` makes of `script`: its stdout.
    fn sh(script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn only_words_with_special_characters_get_quoted() {
        assert_eq!(quote("/etc/hosts"), "/etc/hosts");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(quote("$(reboot)"), "'$(reboot)'");
        assert_eq!(quote("FOO=bar"), "'FOO=bar'");
        assert_eq!(quote("~root"), "'~root'");
    }

    #[test]
    fn hostile_words_reach_the_program_unchanged() {
        let hostile = [
            "it's",
            "$(touch /tmp/x)",
            "`id`",
            "a\nb",
            "*",
            "FOO=bar",
            "~",
            "-n",
            "\\",
            "\"",
            "",
            "{a,b}",
            "#comment",
            "a;b|c&d",
        ];
        for word in hostile {
            assert_eq!(
                sh(&format!("printf '%s' {}", quote(word))),
                word,
                "{word:?}"
            );
        }
    }

    #[test]
    fn splits_like_a_shell_without_expanding() {
        assert_eq!(
            split_words(r#"echo "a b" 'c d' e\ f $X"#).unwrap(),
            ["echo", "a b", "c d", "e f", "$X"]
        );
        assert_eq!(split_words("''").unwrap(), [""]);
        assert!(split_words("echo 'x").is_err());
    }

    #[test]
    fn split_then_quote_round_trips() {
        let line = r#"FOO=bar printf "%s|" 'a b' "$HOME" c\ d"#;
        let words = split_words(line).unwrap();
        let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
        assert_eq!(split_words(&quoted.join(" ")).unwrap(), words);
    }
}
