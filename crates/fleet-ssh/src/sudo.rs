//! become: wrapping commands in sudo (or su), and the handshake with it.
//!
//! The command sent to the host is
//!
//! ```text
//! sudo -H -S -p '<prompt>' -u '<user>' -- sh -c 'echo <marker> >&2; exec sh -c "$1"' sh '<cmd>'
//! ```
//!
//! (`-n` instead of `-S -p` when no password is given). `<prompt>` and
//! `<marker>` are unique per command. Until the marker shows up on stderr,
//! stderr belongs to sudo: when the prompt appears the password is written
//! to stdin (once; a second prompt means a wrong password); the prompt,
//! sudo's lecture and "Sorry, try again" never reach the caller. Only once
//! the marker is seen is the caller's stdin sent, so the password can never
//! end up on the command's stdin (e.g. when sudo did not need it).
//!
//! With su (see [`crate::BecomeMethod::Su`]) the command is
//! `su FLAGS -c '<the same sh -c marker script>' -- '<user>'`, and the gate
//! works the same way, except that su's prompt is its own (`Password: `),
//! recognised as the last line of su's output, and is answered only once.
//!
//! Public so that other transports (the engine's local shell) wrap and
//! gate commands exactly the same way.

use fleet_shell::quote;
pub(crate) use fleet_shell::token;

use crate::options::{Become, BecomeMethod, Secret};
use crate::su;

/// Makes the remote side enforce `limit` too (plus a small grace, so the
/// client-side timeout fires first): sshd does not deliver signals to root
/// sessions and a closed channel does not stop a sleeping command, so
/// without this a timed-out command would keep running. Uses coreutils
/// `timeout` (TERM, then KILL 5 s later) when the host has it.
pub fn with_remote_timeout(command: &str, limit: std::time::Duration) -> String {
    let secs = limit.as_secs_f64() + 0.5;
    let quoted = quote(command);
    format!(
        "if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 {secs:.3} sh -c {quoted}; \
         else exec sh -c {quoted}; fi"
    )
}

/// A command wrapped in sudo, with what is needed to talk to sudo.
#[derive(Debug, Clone)]
pub struct Wrapped {
    pub command: String,
    pub gate: Gate,
}

/// Wraps `command` to run as `how.user` through sudo or su.
pub fn wrap(command: &str, how: &Become, token: &str) -> Wrapped {
    let prompt = format!("[fleet-sudo-{token}] password: ");
    let marker = format!("FLEET-BECOME-OK-{token}");
    let user = if how.user.is_empty() {
        "root"
    } else {
        how.user.as_str()
    };
    let script = format!("echo {marker} >&2; exec sh -c \"$1\"");
    let command = match &how.method {
        BecomeMethod::Sudo => {
            let auth = match how.password {
                Some(_) => format!("-S -p {}", quote(&prompt)),
                None => "-n".to_owned(),
            };
            format!(
                "sudo -H {auth} -u {} -- sh -c {} sh {}",
                quote(user),
                quote(&script),
                quote(command)
            )
        }
        BecomeMethod::Su { flags } => su::command(command, user, flags, &script),
    };
    Wrapped {
        command,
        gate: Gate {
            prompt: prompt.into_bytes(),
            marker: format!("{marker}\n").into_bytes(),
            password: how.password.clone(),
            method: how.method.name(),
            user: user.to_owned(),
            pending: Vec::new(),
            password_sent: false,
            open: false,
        },
    }
}

/// Watches stderr until sudo lets the command run.
#[derive(Debug, Clone)]
pub struct Gate {
    prompt: Vec<u8>,
    marker: Vec<u8>,
    password: Option<Secret>,
    /// `sudo` or `su`.
    method: &'static str,
    pub(crate) user: String,
    /// stderr seen before the marker (sudo's own output).
    pending: Vec<u8>,
    password_sent: bool,
    open: bool,
}

/// What to do after feeding stderr to the [`Gate`].
#[derive(Debug, PartialEq, Eq)]
pub enum GateStep {
    /// Nothing yet: keep reading.
    Wait,
    /// Write this to stdin (the password and a newline), keep reading.
    SendPassword(Vec<u8>),
    /// The command is running: send the caller's stdin; these stderr bytes
    /// (after the marker) belong to the command.
    Open(Vec<u8>),
    /// sudo refused; the reason for the error.
    Refused(String),
}

impl Gate {
    /// The user sudo runs the command as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `sudo` or `su`.
    pub fn method(&self) -> &'static str {
        self.method
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Feeds stderr received before the gate opened.
    pub fn feed(&mut self, data: &[u8]) -> GateStep {
        self.pending.extend_from_slice(data);
        if let Some(at) = find(&self.pending, &self.marker) {
            self.open = true;
            let rest = self.pending.split_off(at + self.marker.len());
            self.pending.clear();
            return GateStep::Open(rest);
        }
        let prompted = match self.method {
            "su" => su::is_prompt(&self.pending).then_some(self.pending.len()),
            _ => find(&self.pending, &self.prompt).map(|at| at + self.prompt.len()),
        };
        if let Some(end) = prompted {
            // Drop the prompt (and anything before it: lecture, "Sorry…").
            self.pending.drain(..end);
            if self.password_sent {
                return GateStep::Refused(format!("incorrect {} password", self.method));
            }
            return match &self.password {
                Some(password) => {
                    self.password_sent = true;
                    let mut line = password.expose().as_bytes().to_vec();
                    line.push(b'\n');
                    GateStep::SendPassword(line)
                }
                None => GateStep::Refused(format!(
                    "{} asked for a password but none was given",
                    self.method
                )),
            };
        }
        GateStep::Wait
    }

    /// The channel ended before the marker: why sudo refused.
    pub fn refusal(&self, status: Option<i32>) -> String {
        let text = String::from_utf8_lossy(&self.pending);
        let prompt = String::from_utf8_lossy(&self.prompt);
        let text = text.replace(prompt.as_ref(), "");
        let mut lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("Sorry, try again"))
            .collect();
        lines.dedup();
        let mut reason = lines.join("; ");
        let method = self.method;
        if reason.is_empty() && method == "su" && status == Some(1) {
            // nologin says why on stdout, which is the command's.
            reason = "su exited with status 1 before running the command (a user whose shell \
                      refuses logins, such as nologin, needs `become_flags: -s /bin/sh`)"
                .to_owned();
        }
        if reason.is_empty() {
            reason = match status {
                Some(code) => {
                    format!("{method} exited with status {code} before running the command")
                }
                None => format!("{method} ended before running the command"),
            };
        }
        if reason.contains("a password is required") {
            reason
                .push_str(" (give a become password: FLEET_BECOME_PASSWORD or --ask-become-pass)");
        } else if self.password_sent
            && (reason.contains("incorrect password") || reason.contains("Authentication failure"))
        {
            reason = format!("incorrect {method} password");
        } else if method == "su" && reason.contains("Authentication failure") {
            reason.push_str(
                " (su asks for the target user's password: give it with FLEET_BECOME_PASSWORD \
                 or --ask-become-pass, or connect as root)",
            );
        } else if method == "su" && reason.contains("account is currently not available") {
            reason.push_str(
                " (su runs the command with the user's login shell; give it one with \
                 `become_flags: -s /bin/sh`)",
            );
        }
        reason
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_password(pw: &str) -> Become {
        Become {
            password: Some(Secret::new(pw)),
            ..Become::root()
        }
    }

    #[test]
    fn command_without_password_uses_n() {
        let w = wrap("echo 'hi' && id -u", &Become::root(), "tok");
        assert_eq!(
            w.command,
            "sudo -H -n -u root -- sh -c 'echo FLEET-BECOME-OK-tok >&2; exec sh -c \"$1\"' sh 'echo '\"'\"'hi'\"'\"' && id -u'"
        );
    }

    #[test]
    fn command_with_password_uses_prompt_and_other_user() {
        let b = Become {
            user: "app's".into(),
            password: Some(Secret::new("pw")),
            method: BecomeMethod::Sudo,
        };
        let w = wrap("true", &b, "tok");
        assert_eq!(
            w.command,
            "sudo -H -S -p '[fleet-sudo-tok] password: ' -u 'app'\"'\"'s' -- sh -c 'echo FLEET-BECOME-OK-tok >&2; exec sh -c \"$1\"' sh true"
        );
        assert!(!w.command.contains("pw'"));
        assert!(!format!("{:?}", w.gate).contains("\"pw\""));
    }

    #[test]
    fn wrapped_command_really_runs_through_a_shell() {
        // Check the quoting with a real sh, standing in for sudo with `env`.
        let w = wrap(
            "printf '%s|' \"$HOME\" 'a b' \"it's\"; exit 7",
            &Become::root(),
            "t1",
        );
        let fake = w.command.replacen("sudo -H -n -u root --", "env", 1);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&fake)
            .env("HOME", "/h")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/h|a b|it's|");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "FLEET-BECOME-OK-t1\n");
    }

    #[test]
    fn gate_password_flow_split_across_chunks() {
        let mut g = wrap("true", &with_password("s3cret"), "abc").gate;
        assert_eq!(g.feed(b"[fleet-sudo-a"), GateStep::Wait);
        assert_eq!(
            g.feed(b"bc] password: "),
            GateStep::SendPassword(b"s3cret\n".to_vec())
        );
        assert_eq!(g.feed(b"\nFLEET-BECOME-OK-"), GateStep::Wait);
        assert_eq!(
            g.feed(b"abc\nreal stderr"),
            GateStep::Open(b"real stderr".to_vec())
        );
        assert!(g.is_open());
    }

    #[test]
    fn gate_wrong_password_is_refused_on_second_prompt() {
        let mut g = wrap("true", &with_password("bad"), "x").gate;
        assert!(matches!(
            g.feed(b"[fleet-sudo-x] password: "),
            GateStep::SendPassword(_)
        ));
        assert_eq!(
            g.feed(b"\nSorry, try again.\n[fleet-sudo-x] password: "),
            GateStep::Refused("incorrect sudo password".into())
        );
    }

    #[test]
    fn gate_nopasswd_opens_directly_and_drops_lecture() {
        let mut g = wrap("true", &with_password("unused"), "x").gate;
        assert_eq!(
            g.feed(b"We trust you have received the usual lecture\nFLEET-BECOME-OK-x\n"),
            GateStep::Open(vec![])
        );
    }

    #[test]
    fn refusal_reasons() {
        let mut g = wrap("true", &Become::root(), "x").gate;
        assert_eq!(g.feed(b"sudo: a password is required\n"), GateStep::Wait);
        assert!(
            g.refusal(Some(1))
                .starts_with("sudo: a password is required (give")
        );
        let g = wrap("true", &Become::root(), "x").gate;
        assert_eq!(
            g.refusal(Some(127)),
            "sudo exited with status 127 before running the command"
        );
        let mut g = wrap("true", &with_password("pw"), "x").gate;
        assert!(matches!(
            g.feed(b"[fleet-sudo-x] password: "),
            GateStep::SendPassword(_)
        ));
        g.feed(b"\nalice is not in the sudoers file.\n");
        assert_eq!(g.refusal(Some(1)), "alice is not in the sudoers file.");
    }

    #[test]
    fn remote_timeout_wrapper() {
        let w = with_remote_timeout("echo 'a'; exit 4", std::time::Duration::from_millis(1500));
        assert_eq!(
            w,
            "if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 2.000 sh -c 'echo '\"'\"'a'\"'\"'; exit 4'; \
             else exec sh -c 'echo '\"'\"'a'\"'\"'; exit 4'; fi"
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&w)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4));
        assert_eq!(out.stdout, b"a\n");
        let slow = with_remote_timeout("sleep 5", std::time::Duration::from_millis(100));
        let started = std::time::Instant::now();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&slow)
            .output()
            .unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert_eq!(out.status.code(), Some(124));
    }
}
