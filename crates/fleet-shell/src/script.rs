//! [`Script`]: commands run one after another in one shell, and the
//! variables they share, bound by name.

use std::fmt;

use crate::cmd::{Arg, Cmd};

/// Environment variables a snippet may read without binding them
/// (`SSH_CONNECTION`: the port the controller came in on, for `ufw`).
const ENVIRONMENT: &[&str] = &[
    "HOME",
    "PATH",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "IFS",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "SSH_CONNECTION",
];

/// Shell text written by the operator: the `shell` module's `cmd`,
/// `fleet run -- COMMAND` and `release`'s `migrate` hook. Nothing else may
/// put unquoted text in a [`Script`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw(String);

impl Raw {
    /// Shell text as the operator wrote it, to run as it is.
    pub fn operator_text(text: impl Into<String>) -> Raw {
        Raw(text.into())
    }
}

/// A POSIX shell script built from parts that keep values as data:
/// - [`set`](Self::set) binds a value to a variable (`p='/srv/my app'`);
/// - [`cmd`](Self::cmd) adds a [`Cmd`], whose arguments are quoted;
/// - [`snippet`](Self::snippet) adds fixed shell text (`if`, `case`, loops)
///   that reads only variables bound before it or assigned by itself;
/// - [`raw`](Self::raw) adds the operator's own shell text.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Script {
    text: String,
    /// Variables bound or assigned so far.
    bound: Vec<String>,
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    /// A script of one command.
    pub fn of(cmd: Cmd) -> Script {
        Script::new().cmd(cmd)
    }

    /// A script of the operator's shell text.
    pub fn of_raw(raw: Raw) -> Script {
        Script::new().raw(raw)
    }

    /// Binds `value` to the variable `name`: `name='value'`.
    pub fn set(mut self, name: &'static str, value: impl Into<Arg>) -> Script {
        assert!(is_name(name), "not a shell variable name: {name:?}");
        let value = value.into();
        self.check(&{
            let mut vars = Vec::new();
            value.vars(&mut vars);
            vars
        });
        self.text.push_str(name);
        self.text.push('=');
        value.render(&mut self.text);
        self.text.push('\n');
        self.bind(name);
        self
    }

    /// Exports an environment variable to every command after it. `name`
    /// comes from a playbook, so it is checked.
    pub fn export(mut self, name: &str, value: &str) -> Result<Script, String> {
        if !is_name(name) {
            return Err(format!("{name:?} is not an environment variable name"));
        }
        self.text.push_str("export ");
        self.text.push_str(name);
        self.text.push('=');
        Arg::from(value).render(&mut self.text);
        self.text.push('\n');
        self.bind(name);
        Ok(self)
    }

    /// Runs `cmd`.
    pub fn cmd(mut self, cmd: Cmd) -> Script {
        self.check(&cmd.vars());
        self.text.push_str(&cmd.render());
        self.text.push('\n');
        self
    }

    /// Runs `cmds` joined with `&&`: the first failure stops them and is
    /// the script's exit code. Nothing when `cmds` is empty.
    pub fn all(self, cmds: impl IntoIterator<Item = Cmd>) -> Script {
        self.joined(cmds, " && ")
    }

    /// `cmds` joined with `|`: each one's stdout is the next one's stdin.
    pub fn pipeline(self, cmds: impl IntoIterator<Item = Cmd>) -> Script {
        self.joined(cmds, " | ")
    }

    /// `cmds` on one line, between `separator`s.
    fn joined(mut self, cmds: impl IntoIterator<Item = Cmd>, separator: &str) -> Script {
        let rendered: Vec<String> = cmds
            .into_iter()
            .map(|cmd| {
                self.check(&cmd.vars());
                cmd.render()
            })
            .collect();
        if !rendered.is_empty() {
            self.text.push_str(&rendered.join(separator));
            self.text.push('\n');
        }
        self
    }

    /// Fixed shell text. It may read variables bound before it, variables
    /// it assigns itself, and a few of the environment's (`HOME`, `PATH`…);
    /// reading any other is a bug, caught when the script is built in a
    /// debug build (every module's tests build its scripts).
    pub fn snippet(mut self, text: &'static str) -> Script {
        let (reads, assigns) = scan(text);
        for name in assigns {
            self.bind(&name);
        }
        let unbound: Vec<&String> = reads
            .iter()
            .filter(|name| !self.is_bound(name) && !ENVIRONMENT.contains(&name.as_str()))
            .collect();
        debug_assert!(
            unbound.is_empty(),
            "snippet reads unbound variables {unbound:?}:\n{text}"
        );
        self.push_text(text);
        self
    }

    /// The operator's shell text, as written.
    pub fn raw(mut self, raw: Raw) -> Script {
        self.push_text(&raw.0);
        self
    }

    /// `other` after this script, in the same shell.
    pub fn then(mut self, other: Script) -> Script {
        self.push_text(&other.text);
        for name in other.bound {
            self.bind(&name);
        }
        self
    }

    /// This script in a subshell: what it binds, `cd`s or `exit`s stays
    /// inside.
    pub fn subshell(self) -> Script {
        Script {
            text: format!("(\n{})\n", self.terminated()),
            bound: Vec::new(),
        }
    }

    /// `scripts`, each in its own subshell, joined with `&&`: the first
    /// that fails stops the rest, with its exit code.
    pub fn all_of(scripts: impl IntoIterator<Item = Script>) -> Script {
        let parts: Vec<String> = scripts
            .into_iter()
            .map(|script| format!("( {})", script.terminated()))
            .collect();
        let mut text = parts.join(" && ");
        if !text.is_empty() {
            text.push('\n');
        }
        Script {
            text,
            bound: Vec::new(),
        }
    }

    /// The script's text, to hand to `sh -c`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The text, ending with a newline (so that a closing `)` is never
    /// part of a comment).
    fn terminated(&self) -> String {
        let mut text = self.text.clone();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.text.push_str(text);
        if !text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    fn bind(&mut self, name: &str) {
        if !self.is_bound(name) {
            self.bound.push(name.to_string());
        }
    }

    fn is_bound(&self, name: &str) -> bool {
        self.bound.iter().any(|bound| bound == name)
    }

    fn check(&self, vars: &[&'static str]) {
        for name in vars {
            assert!(
                self.is_bound(name),
                "command reads ${name}, which the script does not bind"
            );
        }
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Script").field(&self.text).finish()
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<&str> for Script {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<str> for Script {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The variables `text` reads (`$x`, `${x…}`) outside single quotes, and
/// those it assigns (`x=`, `for x in`, `read … x`).
fn scan(text: &str) -> (Vec<String>, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut reads = Vec::new();
    let mut assigns = Vec::new();
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    let name_at = |start: usize| -> String {
        chars[start..]
            .iter()
            .take_while(|c| is_name_char(**c))
            .collect()
    };
    while i < chars.len() {
        let c = chars[i];
        let word_start = i == 0 || " \t\n;(&|{`".contains(chars[i - 1]);
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '\\' if !single => i += 1,
            '$' if !single => {
                let start = i + 1 + usize::from(chars.get(i + 1) == Some(&'{'));
                let name = name_at(start);
                if name.chars().next().is_some_and(|c| !c.is_ascii_digit()) {
                    i = start + name.len() - 1;
                    reads.push(name);
                }
            }
            c if !single && !double && word_start && (c.is_ascii_alphabetic() || c == '_') => {
                let word = name_at(i);
                let after = i + word.len();
                if chars.get(after) == Some(&'=') {
                    assigns.push(word.clone());
                } else if word == "for" || word == "read" {
                    let rest: String = chars[after..]
                        .iter()
                        .take_while(|c| !";\n<|".contains(**c))
                        .collect();
                    let names = rest.split_whitespace().filter(|w| is_name(w));
                    if word == "for" {
                        assigns.extend(names.take(1).map(str::to_string));
                    } else {
                        assigns.extend(names.map(str::to_string));
                    }
                }
                i = after.max(i + 1) - 1;
            }
            _ => {}
        }
        i += 1;
    }
    (reads, assigns)
}

/// Reads as its text, for tests and messages.
impl std::ops::Deref for Script {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &Script) -> (Option<i32>, String) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.as_str())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    }

    #[test]
    fn values_are_bound_by_name_and_stay_data() {
        let script = Script::new().set("p", "$(echo pwned) 'x'").cmd(
            Cmd::without_end_of_options("printf")
                .arg("%s")
                .operand(Arg::var("p")),
        );
        assert_eq!(
            script,
            "p='$(echo pwned) '\"'\"'x'\"'\"''\nprintf %s \"$p\"\n"
        );
        assert_eq!(sh(&script), (Some(0), "$(echo pwned) 'x'".into()));
    }

    #[test]
    #[should_panic(expected = "does not bind")]
    fn a_command_cannot_read_an_unbound_variable() {
        let _ = Script::new().cmd(Cmd::new("rm").operand(Arg::var("t")));
    }

    #[test]
    #[should_panic(expected = "unbound variables")]
    fn a_snippet_cannot_read_an_unbound_variable() {
        let _ = Script::new().snippet("if [ -d \"$t\" ]; then echo dir; fi");
    }

    #[test]
    fn snippets_may_read_what_they_assign() {
        let script = Script::new().set("p", "/").snippet(
            "n=0\nfor entry in \"$p\"/*; do n=$((n + 1)); done\n\
             while read -r key value rest; do :; done </dev/null\n\
             printf '%s %s\\n' \"${n}\" \"$key$HOME\" >/dev/null; awk '{print $NF}' </dev/null",
        );
        assert_eq!(sh(&script).0, Some(0));
        assert_eq!(
            scan("a=1; for x in y; do read -r k v; echo \"$a$x${k}$v$1$?\"; done").1,
            ["a", "x", "k", "v"]
        );
    }

    #[test]
    fn all_stops_at_the_first_failure() {
        let script = Script::new().all([
            Cmd::new("true"),
            Cmd::new("false"),
            Cmd::without_end_of_options("echo").operand("no"),
        ]);
        assert_eq!(script, "true && false && echo no\n");
        assert_eq!(sh(&script).0, Some(1));
        assert_eq!(Script::new().all(Vec::new()), "");
    }

    #[test]
    fn pipelines_feed_each_command_the_last_ones_output() {
        let script = Script::new().set("body", "@/etc/passwd").pipeline([
            Cmd::without_end_of_options("printf")
                .arg("%s")
                .operand(Arg::var("body")),
            Cmd::new("cat"),
        ]);
        assert_eq!(script.lines().last(), Some("printf %s \"$body\" | cat"));
        assert_eq!(sh(&script), (Some(0), "@/etc/passwd".into()));
    }

    #[test]
    fn subshells_keep_their_exits_apart() {
        let first = Script::new().snippet("echo one; exit 3");
        let second = Script::new().snippet("echo two");
        let joined = Script::all_of([second.clone(), first.clone(), second.clone()]);
        assert_eq!(sh(&joined), (Some(3), "two\none\n".into()));
        let script = first.subshell().then(second);
        assert_eq!(sh(&script), (Some(0), "one\ntwo\n".into()));
    }

    #[test]
    fn exports_check_the_name() {
        let script = Script::new()
            .export("GREETING", "a b $HOME")
            .unwrap()
            .snippet("printf '%s' \"$GREETING\"");
        assert_eq!(sh(&script), (Some(0), "a b $HOME".into()));
        assert!(Script::new().export("A;reboot", "x").is_err());
        assert!(Script::new().export("1A", "x").is_err());
    }

    #[test]
    fn raw_text_is_the_operators_own() {
        let script = Script::of_raw(Raw::operator_text("echo $((1 + 2)) | tr 3 4"));
        assert_eq!(sh(&script), (Some(0), "4\n".into()));
    }
}
