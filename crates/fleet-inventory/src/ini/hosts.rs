//! Host lines of an INI inventory: the shell-like split into words, the
//! `host:port` suffix, and ranges such as `web[01:20].example.com`.

/// One word of a host line and the column (from 1) where it starts.
#[derive(Debug, PartialEq)]
pub(crate) struct Word {
    pub(crate) text: String,
    pub(crate) column: usize,
}

/// Splits a host line as Python's `shlex.split(line, comments=True)` does:
/// words separated by blanks, `'...'` taken literally, `"..."` with `\`
/// escaping `\ " $` and a backquote, `\` escaping any character outside
/// quotes, and an unquoted `#` starting a comment. The error is the column
/// of an unclosed quote.
pub(crate) fn split_words(line: &str) -> Result<Vec<Word>, usize> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut chars = line.chars().enumerate().peekable();
    while let Some((index, c)) = chars.next() {
        let column = index + 1;
        if c.is_whitespace() {
            words.extend(current.take());
            continue;
        }
        if c == '#' {
            break;
        }
        let word = current.get_or_insert_with(|| Word {
            text: String::new(),
            column,
        });
        match c {
            '\'' => loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, other)) => word.text.push(other),
                    None => return Err(column),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, escaped @ ('\\' | '"' | '$' | '`'))) => word.text.push(escaped),
                        Some((_, other)) => {
                            word.text.push('\\');
                            word.text.push(other);
                        }
                        None => return Err(column),
                    },
                    Some((_, other)) => word.text.push(other),
                    None => return Err(column),
                }
            },
            '\\' => {
                if let Some((_, next)) = chars.next() {
                    word.text.push(next);
                }
            }
            other => word.text.push(other),
        }
    }
    words.extend(current);
    Ok(words)
}

/// Splits a `:PORT` suffix off a host pattern, as Ansible does: `[v6]:22`,
/// `host:22`, `web[1:3]:22`. A colon inside brackets belongs to a range or
/// an IPv6 address. Returns the pattern and the port text, if any.
pub(crate) fn split_port(pattern: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    let mut last_colon = None;
    let mut colons = 0;
    for (index, c) in pattern.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                colons += 1;
                last_colon = Some(index);
            }
            _ => {}
        }
    }
    match last_colon {
        Some(index) if colons == 1 => {
            let (host, port) = (&pattern[..index], &pattern[index + 1..]);
            if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) && !host.is_empty() {
                let host = host
                    .strip_prefix('[')
                    .and_then(|inner| inner.strip_suffix(']'))
                    .filter(|inner| inner.contains(':'))
                    .unwrap_or(host);
                (host, Some(port))
            } else {
                (pattern, None)
            }
        }
        _ => (pattern, None),
    }
}

/// Expands the `[begin:end]` and `[begin:end:step]` ranges of a host
/// pattern, left to right, as Ansible does: numbers (`[1:3]`; a begin with a
/// leading zero, `[01:10]`, pads every number to its width, and the end must
/// have the same width), or single letters (`[a:f]`). An empty begin is 0.
pub(crate) fn expand_ranges(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_owned()]);
    };
    let Some(close) = pattern[open..].find(']').map(|at| open + at) else {
        return Err("a `[` opens a range that no `]` closes".to_owned());
    };
    let (head, spec, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let bounds: Vec<&str> = spec.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!(
            "host range `[{spec}]` must be begin:end or begin:end:step"
        ));
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(format!("host range `[{spec}]` must give an end value"));
    }
    let step: usize = match bounds.get(2) {
        None => 1,
        Some(step) => step.parse().ok().filter(|step| *step > 0).ok_or_else(|| {
            format!("the step `{step}` of host range `[{spec}]` is not a positive number")
        })?,
    };
    let items: Vec<String> = match (single_letter(begin), single_letter(end)) {
        (Some(first), Some(last)) => {
            if first > last {
                return Err(format!("host range `[{spec}]` must have begin <= end"));
            }
            LETTERS[first..=last]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let number = |text: &str| {
                text.parse::<u64>().map_err(|_| {
                    format!(
                        "host range `[{spec}]`: `{text}` is neither a number nor a single letter"
                    )
                })
            };
            let (first, last) = (number(begin)?, number(end)?);
            let width = (begin.len() > 1 && begin.starts_with('0')).then_some(begin.len());
            if width.is_some_and(|width| width != end.len()) {
                return Err(format!(
                    "host range `[{spec}]` must give begin and end with the same number of digits"
                ));
            }
            (first..=last)
                .step_by(step)
                .map(|n| match width {
                    Some(width) => format!("{n:0width$}"),
                    None => n.to_string(),
                })
                .collect()
        }
    };
    let mut names = Vec::new();
    for item in items {
        names.extend(expand_ranges(&format!("{head}{item}{tail}"))?);
    }
    Ok(names)
}

/// The order Ansible's letter ranges follow (Python's `string.ascii_letters`).
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn single_letter(text: &str) -> Option<usize> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => LETTERS.find(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        split_words(line)
            .unwrap()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn words_split_like_shlex() {
        assert_eq!(
            texts("web1 a=1  b='x y' c=\"q\\\"z\""),
            ["web1", "a=1", "b=x y", "c=q\"z"]
        );
        assert_eq!(texts("web1 a=1 # comment b=2"), ["web1", "a=1"]);
        assert_eq!(texts("web1 a=x#y"), ["web1", "a=x"]);
        assert_eq!(texts("h a=\"'5'\""), ["h", "a='5'"]);
        assert_eq!(split_words("h a=1").unwrap()[1].column, 3);
        assert_eq!(split_words("h a='open"), Err(5));
    }

    #[test]
    fn ports() {
        assert_eq!(split_port("web1:2222"), ("web1", Some("2222")));
        assert_eq!(split_port("web[1:3]:22"), ("web[1:3]", Some("22")));
        assert_eq!(split_port("web[1:3]"), ("web[1:3]", None));
        assert_eq!(split_port("[2001:db8::1]:22"), ("2001:db8::1", Some("22")));
        assert_eq!(split_port("2001:db8::1"), ("2001:db8::1", None));
        assert_eq!(split_port("web1:ssh"), ("web1:ssh", None));
    }

    #[test]
    fn ranges() {
        assert_eq!(expand_ranges("web[1:3]").unwrap(), ["web1", "web2", "web3"]);
        assert_eq!(
            expand_ranges("web[08:10].x").unwrap(),
            ["web08.x", "web09.x", "web10.x"]
        );
        assert_eq!(expand_ranges("h[1:10:4]").unwrap(), ["h1", "h5", "h9"]);
        assert_eq!(expand_ranges("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand_ranges("[:1]x").unwrap(), ["0x", "1x"]);
        assert_eq!(
            expand_ranges("r[1:2]c[a:b]").unwrap(),
            ["r1ca", "r1cb", "r2ca", "r2cb"]
        );
        assert!(expand_ranges("web[01:100]").is_err());
        assert!(expand_ranges("web[1:]").is_err());
        assert!(expand_ranges("web[1]").is_err());
        assert!(expand_ranges("web[c:a]").is_err());
        assert!(expand_ranges("web[1:x]").is_err());
        assert!(expand_ranges("web[1:3").is_err());
    }
}
