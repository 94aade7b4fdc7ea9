//! `become_method` and `become_flags`, on a play, a block, an include, a
//! role or a task: how a task becomes another user.
//!
//! fleet runs sudo the way Ansible does by default (`-H -S -n`), and su as
//! Ansible's `su` plugin does (`su FLAGS USER -c CMD`). sudo's flags are
//! fixed, so only Ansible's defaults may be written; su takes the options
//! that choose the shell and the environment.

use fleet_yaml::{Location, YamlNode, message_quote};
use serde::Serialize;

use crate::error::PlaybookError;
use crate::fields::Fields;
use crate::templater::is_template;
use crate::{Play, Task};

/// The program a task becomes another user with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BecomeMethod {
    #[default]
    Sudo,
    Su,
}

impl BecomeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BecomeMethod::Sudo => "sudo",
            BecomeMethod::Su => "su",
        }
    }
}

/// `become_flags`, one word each, and where they are written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BecomeFlags {
    pub words: Vec<String>,
    #[serde(skip)]
    pub at: Location,
}

/// The sudo flags fleet always uses, which are Ansible's default.
const SUDO_FLAGS: &[&str] = &["-H", "-S", "-n"];

/// su options that take no value.
const SU_SWITCHES: &[&str] = &[
    "-",
    "-l",
    "--login",
    "-m",
    "-p",
    "--preserve-environment",
    "-f",
    "--fast",
];

/// su options followed by a shell path.
const SU_SHELL: &[&str] = &["-s", "--shell"];

pub(crate) fn read_become_method(
    f: &Fields,
    node: &YamlNode,
) -> Result<BecomeMethod, PlaybookError> {
    match node.value.as_str().map(str::trim) {
        Some("sudo") => Ok(BecomeMethod::Sudo),
        Some("su") => Ok(BecomeMethod::Su),
        _ => Err(PlaybookError::invalid(
            f.at(node),
            format!(
                "`become_method: {}` is not supported",
                node.value.as_str().unwrap_or("?")
            ),
            "fleet becomes with sudo (the default) or su: write `become_method: sudo` or \
             `become_method: su`",
        )),
    }
}

/// Reads `become_flags` into words; whether they suit the method is
/// checked once the method is known ([`check_tasks`]).
pub(crate) fn read_become_flags(f: &Fields, node: &YamlNode) -> Result<BecomeFlags, PlaybookError> {
    let text = f.string(node, "become_flags", "become_flags: -s /bin/sh")?;
    if is_template(&text) {
        return Err(PlaybookError::invalid(
            f.at(node),
            "a templated `become_flags` is not supported",
            "write the flags themselves, e.g. `become_flags: -s /bin/sh`",
        ));
    }
    let words = fleet_shell::split_words(&text).map_err(|err| {
        PlaybookError::invalid(
            f.at(node),
            format!("`become_flags` {}: {err}", message_quote(&text)),
            "write the flags as on a command line, e.g. `become_flags: -s /bin/sh`",
        )
    })?;
    Ok(BecomeFlags {
        words,
        at: f.at(node),
    })
}

/// Every task's and handler's flags suit the method it becomes with (its
/// own, else its blocks', else the play's).
pub(crate) fn check_tasks(play: &Play) -> Result<(), PlaybookError> {
    if let Some(flags) = &play.become_flags {
        check(play.become_method.unwrap_or_default(), flags)?;
    }
    for task in play.tasks.iter().chain(&play.handlers) {
        let (method, flags) = effective(play, task);
        if let Some(flags) = flags {
            check(method, flags)?;
        }
    }
    Ok(())
}

/// The method and flags `task` becomes with in `play`.
pub fn effective<'a>(play: &'a Play, task: &'a Task) -> (BecomeMethod, Option<&'a BecomeFlags>) {
    let method = task
        .become_method
        .or(play.become_method)
        .unwrap_or_default();
    let flags = task.become_flags.as_ref().or(play.become_flags.as_ref());
    (method, flags)
}

/// `flags` are flags of `method`.
fn check(method: BecomeMethod, flags: &BecomeFlags) -> Result<(), PlaybookError> {
    let bad = match method {
        BecomeMethod::Sudo => flags
            .words
            .iter()
            .find(|word| !SUDO_FLAGS.contains(&word.as_str())),
        BecomeMethod::Su => bad_su_flag(&flags.words),
    };
    let Some(bad) = bad else {
        return Ok(());
    };
    let hint = match method {
        BecomeMethod::Sudo => {
            "fleet runs sudo with Ansible's default flags `-H -S -n`; leave `become_flags` out"
                .to_owned()
        }
        BecomeMethod::Su => format!(
            "su takes {}, and `-s`/`--shell` followed by an absolute shell path",
            SU_SWITCHES.join(", ")
        ),
    };
    Err(PlaybookError::invalid(
        flags.at.clone(),
        format!(
            "`become_flags` {} is not a flag fleet passes to {}",
            message_quote(bad),
            method.as_str()
        ),
        hint,
    ))
}

/// The first word of `words` that is not an su option fleet passes on.
fn bad_su_flag(words: &[String]) -> Option<&String> {
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if SU_SWITCHES.contains(&word.as_str()) {
            continue;
        }
        let shell = match word.strip_prefix("--shell=") {
            Some(shell) => Some(shell),
            None if SU_SHELL.contains(&word.as_str()) => match words.next() {
                Some(shell) => Some(shell.as_str()),
                None => return Some(word),
            },
            None => None,
        };
        match shell {
            Some(shell) if is_shell_path(shell) => {}
            _ => return Some(word),
        }
    }
    None
}

fn is_shell_path(path: &str) -> bool {
    path.starts_with('/')
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        fleet_shell::split_words(text).unwrap()
    }

    #[test]
    fn su_takes_its_shell_and_environment_options() {
        for good in [
            "",
            "-",
            "-l",
            "-s /bin/sh",
            "--shell /bin/bash -m",
            "--shell=/usr/bin/zsh",
            "-f -p",
        ] {
            assert_eq!(bad_su_flag(&words(good)), None, "{good}");
        }
        for (bad, word) in [
            ("-c id", "-c"),
            ("-s", "-s"),
            ("-s sh", "-s"),
            ("--shell='/bin/sh;id'", "--shell=/bin/sh;id"),
            ("root", "root"),
            ("-H -S -n", "-H"),
        ] {
            assert_eq!(
                bad_su_flag(&words(bad)).map(String::as_str),
                Some(word),
                "{bad}"
            );
        }
    }
}
