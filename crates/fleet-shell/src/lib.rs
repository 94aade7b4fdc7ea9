//! fleet-shell: everything fleet runs on a host is built here.
//!
//! - [`quote`] is the one shell quoter of the project.
//! - A [`Cmd`] is a program and its arguments. Every argument is quoted,
//!   and `--` goes before the operands, so a value that starts with `-` or
//!   holds `$(…)` stays data.
//! - A [`Script`] is a sequence of commands. The values it works on are
//!   bound to shell variables by name ([`Script::set`]); fixed shell text
//!   ([`Script::snippet`]) may only read variables that are bound or that
//!   it assigns itself, and a `&'static str` is the only text it takes.
//! - [`Raw`] is shell text written by the operator, allowed only where a
//!   parameter is documented as a shell command (the `shell` module,
//!   `fleet run`, `release`'s `migrate` hook): it has to be asked for by
//!   name.
//! - [`Stdin`] carries payloads (bodies, file contents) and [`Secret`]s,
//!   which never appear in a command line and print as `***`.
//! - [`is_account_name`] and [`is_owner_spec`] are the one rule for user
//!   and group names and for `chown`'s `user:group`, so a name reaches a
//!   command as neither an option nor shell text.

mod account;
mod cmd;
mod quote;
mod script;
mod secret;

pub use account::{is_account_name, is_owner_spec};
pub use cmd::{Arg, Cmd};
pub use quote::{quote, split_words};
pub use script::{Raw, Script};
pub use secret::{Secret, Stdin, token};
