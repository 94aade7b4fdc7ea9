//! become with su: the command line, and how su's password prompt looks.
//!
//! Ansible runs `su FLAGS USER -c CMD`; fleet writes the user after `--`
//! (`su FLAGS -c CMD -- USER`), so that no user name is ever read as an
//! option. The command runs through the user's login shell, as with
//! Ansible: a user whose shell is `nologin` needs `-s /bin/sh` in the
//! flags.

use fleet_shell::Cmd;

/// The words that end su's password prompt, lower case, before the colon:
/// PAM's `Password: ` in English and in the languages hosts are most often
/// set up in.
const PROMPT_WORDS: &[&str] = &[
    "password",
    "passwort",
    "mot de passe",
    "contraseña",
    "senha",
    "parola",
    "wachtwoord",
    "lösenord",
    "hasło",
    "heslo",
    "salasana",
    "пароль",
    "密码",
    "パスワード",
];

/// `su FLAGS -c 'sh -c SCRIPT sh CMD' -- USER`: the user's shell starts
/// `sh`, which runs `script` (it prints the marker, then runs `$1`) with
/// `command` as `$1`.
pub(crate) fn command(command: &str, user: &str, flags: &[String], script: &str) -> String {
    let inner = Cmd::without_end_of_options("sh")
        .flag("-c")
        .arg(script)
        .arg("sh")
        .arg(command)
        .render();
    flags
        .iter()
        .fold(Cmd::new("su"), |su, flag| su.arg(flag))
        .flag("-c")
        .arg(inner)
        .operand(user)
        .render()
}

/// Whether su's output so far ends with its password prompt: the last
/// line, not yet ended, is a prompt word and a colon (`Password: `,
/// `alice's Password:`, `Mot de passe : `).
pub(crate) fn is_prompt(pending: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pending);
    let last = text.rsplit('\n').next().unwrap_or_default().trim_end();
    let Some(before) = last
        .strip_suffix(':')
        .or_else(|| last.strip_suffix('：'))
        .map(|before| before.trim_end().to_lowercase())
    else {
        return false;
    };
    PROMPT_WORDS.iter().any(|word| before.ends_with(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Become, BecomeMethod, Secret};
    use crate::sudo::{GateStep, wrap};

    fn su(flags: &[&str], password: Option<&str>) -> Become {
        Become {
            user: "app".into(),
            password: password.map(Secret::new),
            method: BecomeMethod::Su {
                flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
            },
        }
    }

    #[test]
    fn the_user_comes_after_the_options_and_the_command_is_one_word() {
        let wrapped = wrap("id -u", &su(&[], None), "tok");
        assert_eq!(
            wrapped.command,
            "su -c 'sh -c '\"'\"'echo FLEET-BECOME-OK-tok >&2; exec sh -c \"$1\"'\"'\"' sh '\"'\"'id -u'\"'\"'' -- app"
        );
        let flagged = wrap("true", &su(&["-l", "-s", "/bin/sh"], None), "tok");
        assert!(
            flagged.command.starts_with("su -l -s /bin/sh -c "),
            "{}",
            flagged.command
        );
        assert!(flagged.command.ends_with(" -- app"), "{}", flagged.command);
    }

    #[test]
    fn the_wrapped_command_really_runs_through_two_shells() {
        // `env` stands in for su, and `sh -c` for the user's shell.
        let wrapped = wrap(
            "printf '%s|' 'a b' \"it's\" \"$0\"; exit 7",
            &su(&[], None),
            "t1",
        );
        let fake = wrapped
            .command
            .replacen("su -c", "env sh -c", 1)
            .replace(" -- app", "");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&fake)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b|it's|sh|");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "FLEET-BECOME-OK-t1\n");
    }

    #[test]
    fn prompts_are_the_last_unended_line_with_a_prompt_word() {
        for prompt in [
            "Password: ",
            "Password:",
            "alice's Password: ",
            "su: warning\nPassword: ",
            "Mot de passe : ",
            "Пароль: ",
            "密码：",
        ] {
            assert!(is_prompt(prompt.as_bytes()), "{prompt:?}");
        }
        for other in [
            "",
            "Password: \n",
            "su: Authentication failure\n",
            "su: warning: cannot change directory to /nonexistent:",
            "FLEET-BECOME-OK-",
            "Password",
        ] {
            assert!(!is_prompt(other.as_bytes()), "{other:?}");
        }
    }

    #[test]
    fn the_gate_answers_one_prompt_with_the_password_and_refuses_a_second() {
        let mut gate = wrap("true", &su(&[], Some("s3cret")), "x").gate;
        assert_eq!(gate.feed(b"Pass"), GateStep::Wait);
        assert_eq!(
            gate.feed(b"word: "),
            GateStep::SendPassword(b"s3cret\n".to_vec())
        );
        assert_eq!(
            gate.feed(b"\nFLEET-BECOME-OK-x\nout"),
            GateStep::Open(b"out".to_vec())
        );
        let mut again = wrap("true", &su(&[], Some("bad")), "x").gate;
        assert!(matches!(
            again.feed(b"Password: "),
            GateStep::SendPassword(_)
        ));
        assert_eq!(
            again.feed(b"\nPassword: "),
            GateStep::Refused("incorrect su password".into())
        );
    }

    #[test]
    fn without_a_password_a_prompt_is_refused_and_explained() {
        let mut gate = wrap("true", &su(&[], None), "x").gate;
        assert_eq!(
            gate.feed(b"Password: "),
            GateStep::Refused("su asked for a password but none was given".into())
        );
        let mut failed = wrap("true", &su(&[], Some("bad")), "x").gate;
        assert!(matches!(
            failed.feed(b"Password: "),
            GateStep::SendPassword(_)
        ));
        failed.feed(b"\nsu: Authentication failure\n");
        assert_eq!(failed.refusal(Some(1)), "incorrect su password");
        let mut nologin = wrap("true", &su(&[], None), "x").gate;
        nologin.feed(b"This account is currently not available.\n");
        assert!(
            nologin
                .refusal(Some(1))
                .contains("`become_flags: -s /bin/sh`")
        );
        let quiet = wrap("true", &su(&[], None), "x").gate;
        assert!(
            quiet
                .refusal(Some(1))
                .contains("`become_flags: -s /bin/sh`")
        );
        assert_eq!(
            quiet.refusal(Some(125)),
            "su exited with status 125 before running the command"
        );
    }
}
