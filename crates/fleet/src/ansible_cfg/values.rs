//! Typing `ansible.cfg` values as ansible-core does: paths with `~`, `$VAR`
//! and the file's folder, `,` and `:` lists, booleans, integers.

use std::path::PathBuf;

use fleet_inventory::{Jump, UserName};
use fleet_playbook::BecomeMethod;

use super::{CfgError, Origin};

/// `[ssh_connection] ssh_args`: the ProxyJump it sets, and the words that
/// fleet does not use (named with `-v`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshArgs {
    pub jump: Option<Jump>,
    pub ignored: Vec<String>,
}

fn invalid(origin: &Origin<'_>, message: String, hint: &str) -> CfgError {
    CfgError {
        at: origin.at.clone(),
        message,
        hint: hint.to_owned(),
    }
}

/// An ini value in matching single or double quotes loses them.
pub fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

/// `$NAME` and `${NAME}` from the environment (unknown ones stay), then
/// `~`, then relative to the origin's folder.
pub fn path(value: &str, origin: &Origin<'_>) -> PathBuf {
    let expanded = expand_vars(value.trim());
    let path = super::find::expand_home(&expanded, origin.home);
    if path.is_relative() {
        origin.base.join(path)
    } else {
        path
    }
}

pub fn path_list(value: &str, origin: &Origin<'_>, separator: char) -> Vec<PathBuf> {
    value
        .split(separator)
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| path(item, origin))
        .collect()
}

fn expand_vars(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match std::env::var(name).ok().filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[at..at + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// ansible-core's booleans; fleet refuses anything else (ansible-core
/// would read it as false).
pub fn boolean(value: &str, origin: &Origin<'_>, key: &str) -> Result<bool, CfgError> {
    match value.trim().to_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => Ok(true),
        "n" | "no" | "off" | "0" | "false" | "f" => Ok(false),
        other => Err(invalid(
            origin,
            format!("{key} `{other}` is not a boolean"),
            "write true or false (yes/no, on/off, 1/0 also work)",
        )),
    }
}

/// A whole number of at least 1 (`10` and `10.0` alike, as ansible-core
/// reads integers).
pub fn count(value: &str, origin: &Origin<'_>, key: &str) -> Result<u64, CfgError> {
    let text = value.trim();
    let number = text
        .parse::<u64>()
        .ok()
        .or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n < 1e15)
                .map(|n| n as u64)
        })
        .filter(|n| *n >= 1);
    number.ok_or_else(|| {
        invalid(
            origin,
            format!("{key} `{text}` is not a whole number of at least 1"),
            "write a number, e.g. `10`",
        )
    })
}

pub fn user(value: &str, origin: &Origin<'_>, key: &str) -> Result<UserName, CfgError> {
    value.trim().parse().map_err(|_| {
        invalid(
            origin,
            format!("{key} `{}` is not a user name", value.trim()),
            "write one user name, without spaces",
        )
    })
}

pub fn become_method(value: &str, origin: &Origin<'_>) -> Result<BecomeMethod, CfgError> {
    match value.trim() {
        "sudo" => Ok(BecomeMethod::Sudo),
        "su" => Ok(BecomeMethod::Su),
        other => Err(invalid(
            origin,
            format!("become_method `{other}` is not supported"),
            "fleet becomes another user with sudo or su",
        )),
    }
}

/// Splits `ssh_args` as a shell would and keeps its ProxyJump: `-J HOST`,
/// `-JHOST`, `-o ProxyJump=HOST` or `-oProxyJump HOST` (any case).
pub fn ssh_args(value: &str, origin: &Origin<'_>) -> Result<SshArgs, CfgError> {
    let words = split_words(value).ok_or_else(|| {
        invalid(
            origin,
            "ssh_args has an unclosed quote".to_owned(),
            "close the quote",
        )
    })?;
    let mut args = SshArgs::default();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let (flag, attached) = match word.strip_prefix("-J").or_else(|| word.strip_prefix("-o")) {
            Some(rest) => (&word[..2], rest.to_owned()),
            None => {
                args.ignored.push(word);
                continue;
            }
        };
        let operand = match attached.is_empty() {
            true => words.next().unwrap_or_default(),
            false => attached,
        };
        let spec = match flag {
            "-J" => Some(operand.clone()),
            _ => proxy_jump_option(&operand),
        };
        match spec {
            Some(spec) if spec.eq_ignore_ascii_case("none") => args.jump = None,
            Some(spec) => {
                let jump = spec.parse::<Jump>().map_err(|err| {
                    invalid(
                        origin,
                        format!("ssh_args: invalid ProxyJump \"{spec}\": {err}"),
                        "write one jump host as [user@]host[:port], e.g. `-J admin@bastion:22`",
                    )
                })?;
                args.jump = Some(jump);
            }
            None => args.ignored.push(format!("{flag} {operand}")),
        }
    }
    Ok(args)
}

/// `ProxyJump=HOST` or `ProxyJump HOST`.
fn proxy_jump_option(option: &str) -> Option<String> {
    let split = option.find(['=', ' ', '\t'])?;
    let (name, rest) = option.split_at(split);
    let value = rest[1..].trim_start_matches(['=', ' ', '\t']);
    name.eq_ignore_ascii_case("proxyjump")
        .then(|| value.trim().to_owned())
}

/// Words as `shlex.split` gives them: whitespace separates, quotes group,
/// a backslash escapes outside single quotes. `None` for an open quote.
fn split_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => current.push(c),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => current.push(chars.next()?),
                        c => current.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).push(chars.next()?),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn origin() -> Origin<'static> {
        Origin {
            at: "ansible.cfg:3:1".to_owned(),
            base: Path::new("/srv/site"),
            home: Some(Path::new("/home/me")),
        }
    }

    #[test]
    fn paths_are_relative_to_the_origin_folder() {
        let o = origin();
        assert_eq!(path("hosts", &o), Path::new("/srv/site/hosts"));
        assert_eq!(path("~/keys/id", &o), Path::new("/home/me/keys/id"));
        assert_eq!(path("/etc/hosts", &o), Path::new("/etc/hosts"));
        assert_eq!(
            path_list("a.yaml, b.yaml,", &o, ','),
            [Path::new("/srv/site/a.yaml"), Path::new("/srv/site/b.yaml")]
        );
        assert_eq!(
            path_list("roles:~/roles", &o, ':'),
            [Path::new("/srv/site/roles"), Path::new("/home/me/roles")]
        );
        assert_eq!(
            path("$FLEET_CFG_SURELY_UNSET/x", &o),
            Path::new("/srv/site/$FLEET_CFG_SURELY_UNSET/x")
        );
        assert_eq!(unquote("\"a b\""), "a b");
        assert_eq!(unquote("'a'"), "a");
        assert_eq!(unquote("\"a'"), "\"a'");
    }

    #[test]
    fn booleans_and_numbers() {
        let o = origin();
        for yes in ["yes", "True", "on", "1", "t", "Y"] {
            assert!(boolean(yes, &o, "become").unwrap(), "{yes}");
        }
        for no in ["no", "FALSE", "off", "0", "f", "n"] {
            assert!(!boolean(no, &o, "become").unwrap(), "{no}");
        }
        let err = boolean("maybe", &o, "become").unwrap_err();
        assert_eq!(err.at, "ansible.cfg:3:1");
        assert_eq!(count("20", &o, "forks").unwrap(), 20);
        assert_eq!(count("10.0", &o, "timeout").unwrap(), 10);
        for bad in ["0", "-1", "1.5", "ten"] {
            assert!(count(bad, &o, "forks").is_err(), "{bad}");
        }
        assert_eq!(become_method("su", &o).unwrap(), BecomeMethod::Su);
        assert!(become_method("doas", &o).is_err());
        assert!(user("two words", &o, "remote_user").is_err());
    }

    #[test]
    fn ssh_args_keep_their_proxy_jump() {
        let o = origin();
        let jump = |text: &str| ssh_args(text, &o).unwrap().jump.map(|j| j.to_string());
        assert_eq!(
            jump("-J admin@bastion:2222"),
            Some("admin@bastion:2222".into())
        );
        assert_eq!(jump("-Jbastion"), Some("bastion".into()));
        assert_eq!(jump("-o ProxyJump=ops@gw"), Some("ops@gw".into()));
        assert_eq!(jump("-oproxyjump=gw"), Some("gw".into()));
        assert_eq!(jump("-o 'ProxyJump gw:22'"), Some("gw:22".into()));
        assert_eq!(jump("-J gw -o ProxyJump=none"), None);
        assert_eq!(jump("-C -o ControlMaster=auto"), None);
        let args = ssh_args("-C -o ControlMaster=auto -o ControlPersist=60s -J gw", &o).unwrap();
        assert_eq!(
            args.ignored,
            ["-C", "-o ControlMaster=auto", "-o ControlPersist=60s"]
        );
        assert!(ssh_args("-J a,b", &o).is_err());
        assert!(ssh_args("-o 'ProxyJump=gw", &o).is_err());
    }
}
