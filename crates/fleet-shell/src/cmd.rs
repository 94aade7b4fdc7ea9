//! [`Cmd`]: one program with quoted arguments.

use crate::quote::quote;

/// One word of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Literal text, quoted as needed.
    Word(String),
    /// The value of a shell variable the [`Script`](crate::Script) binds,
    /// as `"$name"`.
    Var(&'static str),
    /// Parts written next to each other as one word: `"$t".bak`.
    Joined(Vec<Arg>),
}

impl Arg {
    /// The value of shell variable `name`.
    pub fn var(name: &'static str) -> Arg {
        Arg::Var(name)
    }

    pub(crate) fn render(&self, out: &mut String) {
        match self {
            Arg::Word(word) => out.push_str(&quote(word)),
            Arg::Var(name) => {
                out.push_str("\"$");
                out.push_str(name);
                out.push('"');
            }
            Arg::Joined(parts) => parts.iter().for_each(|part| part.render(out)),
        }
    }

    pub(crate) fn vars(&self, found: &mut Vec<&'static str>) {
        match self {
            Arg::Word(_) => {}
            Arg::Var(name) => found.push(name),
            Arg::Joined(parts) => parts.iter().for_each(|part| part.vars(found)),
        }
    }
}

impl From<&str> for Arg {
    fn from(word: &str) -> Arg {
        Arg::Word(word.to_string())
    }
}

impl From<String> for Arg {
    fn from(word: String) -> Arg {
        Arg::Word(word)
    }
}

impl From<&String> for Arg {
    fn from(word: &String) -> Arg {
        Arg::Word(word.clone())
    }
}

/// A program and its arguments. Options come first, then `--`, then the
/// operands, so an operand that starts with `-` is never read as an option.
/// Every argument is quoted; flags are `&'static str`, so only code can
/// write one.
///
/// ```
/// use fleet_shell::{Arg, Cmd};
/// let cmd = Cmd::new("chmod").flag("-R").arg("0750").operand("/srv/my app");
/// assert_eq!(cmd.render(), "chmod -R 0750 -- '/srv/my app'");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    program: Arg,
    args: Vec<Arg>,
    operands: Vec<Arg>,
    end_of_options: bool,
    redirects: Vec<(&'static str, Arg)>,
}

impl Cmd {
    /// A program that takes `--` before its operands (coreutils, most
    /// tools).
    pub fn new(program: &'static str) -> Cmd {
        Cmd {
            program: Arg::Word(program.to_string()),
            args: Vec::new(),
            operands: Vec::new(),
            end_of_options: true,
            redirects: Vec::new(),
        }
    }

    /// A program that does not take `--` (`printf`, `echo`, `test`, `[`):
    /// its operands follow its arguments directly.
    pub fn without_end_of_options(program: &'static str) -> Cmd {
        Cmd {
            end_of_options: false,
            ..Cmd::new(program)
        }
    }

    /// Exactly these words, as the `command` module runs them: the first is
    /// the program, every word is quoted (so `FOO=bar` is a program name,
    /// never an assignment), and no `--` is added. `None` when `words` is
    /// empty.
    pub fn argv(words: &[String]) -> Option<Cmd> {
        let (program, args) = words.split_first()?;
        Some(Cmd {
            program: Arg::Word(program.clone()),
            args: args.iter().map(Arg::from).collect(),
            operands: Vec::new(),
            end_of_options: false,
            redirects: Vec::new(),
        })
    }

    /// A program found at run time, such as a venv's `pip`: `"$pip"` or a
    /// quoted path. It takes `--` before its operands.
    pub fn at(program: impl Into<Arg>) -> Cmd {
        Cmd {
            program: program.into(),
            ..Cmd::new("")
        }
    }

    /// An option such as `-R` or `--no-deps`.
    pub fn flag(mut self, flag: &'static str) -> Cmd {
        self.args.push(Arg::Word(flag.to_string()));
        self
    }

    /// [`flag`](Self::flag), when `wanted`.
    pub fn flag_if(self, wanted: bool, flag: &'static str) -> Cmd {
        if wanted { self.flag(flag) } else { self }
    }

    /// An option with its value: `-u 'app'`.
    pub fn opt(self, flag: &'static str, value: impl Into<Arg>) -> Cmd {
        self.flag(flag).arg(value)
    }

    /// An argument before `--`: an option's value or a program's leading
    /// argument such as `chmod`'s mode. The caller makes sure it cannot be
    /// read as an option (a mode, a validated name).
    pub fn arg(mut self, value: impl Into<Arg>) -> Cmd {
        self.args.push(value.into());
        self
    }

    /// An operand, after `--`: a path, a package, a key.
    pub fn operand(mut self, value: impl Into<Arg>) -> Cmd {
        self.operands.push(value.into());
        self
    }

    /// Operands, after `--`.
    pub fn operands<A: Into<Arg>>(mut self, values: impl IntoIterator<Item = A>) -> Cmd {
        self.operands.extend(values.into_iter().map(Into::into));
        self
    }

    /// Reads stdin from `path`: `< "$t"`.
    pub fn stdin_from(self, path: impl Into<Arg>) -> Cmd {
        self.redirect("<", path)
    }

    /// Writes stdout to `path`: `> "$tmp"`.
    pub fn stdout_to(self, path: impl Into<Arg>) -> Cmd {
        self.redirect(">", path)
    }

    /// Writes stdout to stderr: `>&2`, for messages.
    pub fn to_stderr(self) -> Cmd {
        self.redirect(">&", "2")
    }

    /// Drops stderr: `2>/dev/null`.
    pub fn quiet(self) -> Cmd {
        self.redirect("2>", "/dev/null")
    }

    fn redirect(mut self, op: &'static str, target: impl Into<Arg>) -> Cmd {
        self.redirects.push((op, target.into()));
        self
    }

    /// The command line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.program.render(&mut out);
        for arg in &self.args {
            out.push(' ');
            arg.render(&mut out);
        }
        if !self.operands.is_empty() && self.end_of_options {
            out.push_str(" --");
        }
        for operand in &self.operands {
            out.push(' ');
            operand.render(&mut out);
        }
        for (op, target) in &self.redirects {
            out.push(' ');
            out.push_str(op);
            target.render(&mut out);
        }
        out
    }

    /// The shell variables this command reads.
    pub(crate) fn vars(&self) -> Vec<&'static str> {
        let mut found = Vec::new();
        self.program.vars(&mut found);
        let args = self.args.iter().chain(&self.operands);
        for arg in args.chain(self.redirects.iter().map(|(_, target)| target)) {
            arg.vars(&mut found);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_follow_end_of_options() {
        let cmd = Cmd::new("chown")
            .flag_if(true, "-h")
            .flag_if(false, "-R")
            .arg("app:www")
            .operand("-rf");
        assert_eq!(cmd.render(), "chown -h app:www -- -rf");
        assert_eq!(Cmd::new("sync").render(), "sync");
        let message = Cmd::without_end_of_options("printf")
            .arg("%s\\n")
            .arg("a b");
        assert_eq!(message.to_stderr().render(), "printf '%s\\n' 'a b' >&2");
    }

    #[test]
    fn argv_runs_exactly_its_words() {
        let words: Vec<String> = ["FOO=bar", "ls", "-l", "$HOME"].map(String::from).to_vec();
        assert_eq!(
            Cmd::argv(&words).unwrap().render(),
            "'FOO=bar' ls -l '$HOME'"
        );
        assert_eq!(Cmd::argv(&[]), None);
        let pip = Cmd::at("/opt/my app/bin/pip").arg("install").operand("x");
        assert_eq!(pip.render(), "'/opt/my app/bin/pip' install -- x");
    }

    #[test]
    fn builtins_without_end_of_options() {
        let cmd = Cmd::without_end_of_options("printf")
            .arg("%s\n")
            .operand(Arg::var("p"));
        assert_eq!(cmd.render(), "printf '%s\n' \"$p\"");
    }

    #[test]
    fn variables_and_redirects() {
        let cmd = Cmd::new("base64")
            .flag("-w0")
            .stdin_from(Arg::var("t"))
            .quiet();
        assert_eq!(cmd.render(), "base64 -w0 <\"$t\" 2>/dev/null");
        assert_eq!(cmd.vars(), ["t"]);
        let joined = Arg::Joined(vec![Arg::var("t"), ".bak".into()]);
        let cmd = Cmd::new("mv").operand(Arg::var("t")).operand(joined);
        assert_eq!(cmd.render(), "mv -- \"$t\" \"$t\".bak");
    }
}
