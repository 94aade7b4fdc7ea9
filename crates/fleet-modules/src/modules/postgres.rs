//! What the `postgresql_*` modules share: how `psql` is reached (as the
//! login user through `runuser` when the task runs as root, so peer
//! authentication lets it in), the one SQL quoting of identifiers and
//! literals, and reading a probe's JSON row.
//!
//! Probes run fleet's own fixed SQL, with every value bound as a psql
//! variable (`-v db=…`, read as `:'db'`), so psql itself quotes it. Changes
//! are SQL built here with [`ident`] and [`literal`], sent to psql on stdin
//! (a password's statement as a secret), never on a command line.

use serde::Deserialize;
use serde_json::Value;

use crate::{Cmd, ModuleError, Probe, Script, Stdin, Step};

/// The connection parameters every module takes (Ansible's
/// `postgres_common_argument_spec`, less the password and TLS ones).
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub user: String,
    pub host: Option<String>,
    pub unix_socket: Option<String>,
    pub port: u16,
}

/// Declares the login fields in a module's params struct, with Ansible's
/// names, aliases and defaults.
macro_rules! login_fields {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            #[serde(default = "crate::modules::postgres::default_login_user", alias = "login")]
            pub login_user: String,
            #[serde(default, alias = "host")]
            pub login_host: Option<String>,
            #[serde(default, alias = "unix_socket")]
            pub login_unix_socket: Option<String>,
            #[serde(
                default = "crate::modules::postgres::default_port",
                alias = "login_port",
                deserialize_with = "crate::modules::de::whole_number"
            )]
            pub port: u16,
            /// `SET ROLE` before the changes.
            pub session_role: Option<String>,
            /// Ansible checks the input for injections when false; fleet
            /// always quotes. Accepted.
            #[allow(dead_code)]
            #[serde(default = "crate::modules::de::yes", deserialize_with = "crate::modules::de::boolean")]
            pub trust_input: bool,
            $($body)*
        }
    };
}
pub(crate) use login_fields;

/// The login parameter names, for the modules' `PARAMS`.
pub const LOGIN_PARAMS: &[&str] = &[
    "login_user",
    "login",
    "login_host",
    "host",
    "login_unix_socket",
    "unix_socket",
    "port",
    "login_port",
    "session_role",
    "trust_input",
];

/// A module's own parameter names followed by [`LOGIN_PARAMS`]; `N` is
/// the sum of both lengths.
pub const fn with_login<const N: usize>(own: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < own.len() {
        out[i] = own[i];
        i += 1;
    }
    let mut j = 0;
    while j < LOGIN_PARAMS.len() {
        out[i + j] = LOGIN_PARAMS[j];
        j += 1;
    }
    out
}

pub fn default_login_user() -> String {
    "postgres".into()
}

pub fn default_port() -> u16 {
    5432
}

/// `"name"`, with `"` doubled: a PostgreSQL identifier, whatever it holds.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, with `'` doubled (standard_conforming_strings, on by default
/// since PostgreSQL 9.1, keeps backslashes literal), prefixed with `E`
/// and backslashes doubled when it holds one, so it reads the same under
/// either setting.
pub fn literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

pub(crate) fn invalid(module: &str, message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: module.into(),
        message: message.into(),
    }
}

/// Refuses what no PostgreSQL name can hold.
pub(crate) fn check_name(module: &str, what: &str, name: &str) -> Result<(), ModuleError> {
    if name.is_empty() || name.contains('\0') || name.len() > 63 {
        return Err(invalid(
            module,
            format!("{what} {name:?} must be 1 to 63 bytes without NUL"),
        ));
    }
    Ok(())
}

impl Login {
    pub fn new(
        module: &str,
        user: &str,
        host: Option<&String>,
        unix_socket: Option<&String>,
        port: u16,
    ) -> Result<Login, ModuleError> {
        if !fleet_shell::is_account_name(user) {
            return Err(invalid(
                module,
                format!(
                    "login_user {user:?} must be a user name of the host (fleet runs psql as it)"
                ),
            ));
        }
        Ok(Login {
            user: user.to_string(),
            host: host.filter(|h| !h.is_empty()).cloned(),
            unix_socket: unix_socket.filter(|s| !s.is_empty()).cloned(),
            port,
        })
    }

    /// psql's arguments for database `db`: no psqlrc, unaligned tuples
    /// only, stop at the first error, then `vars` as psql variables.
    fn psql_args(&self, flags: &[&str], db: &str, vars: &[(&str, &str)]) -> Vec<String> {
        let mut args: Vec<String> = flags.iter().map(|flag| flag.to_string()).collect();
        if let Some(host) = self.host.as_ref().or(self.unix_socket.as_ref()) {
            args.push(format!("--host={host}"));
        }
        args.push(format!("--port={}", self.port));
        args.push(format!("--username={}", self.user));
        args.push(format!("--dbname={db}"));
        for (name, value) in vars {
            args.push("-v".into());
            args.push(format!("{name}={value}"));
        }
        args
    }

    /// psql as the login user: through `runuser` when the script runs as
    /// root, else as whoever runs it (`become_user: postgres`).
    fn psql(&self, db: &str, vars: &[(&str, &str)]) -> Script {
        self.psql_with(&["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"], db, vars)
    }

    /// psql with `flags` (its own, fixed) for database `db`, reading its
    /// script from stdin: for a module that prints results itself
    /// (`postgresql_query`).
    pub fn session(&self, flags: &[&'static str], db: &str) -> Script {
        self.psql_with(flags, db, &[])
    }

    fn psql_with(&self, flags: &[&str], db: &str, vars: &[(&str, &str)]) -> Script {
        let args = self.psql_args(flags, db, vars);
        let as_root = Cmd::new("runuser")
            .opt("-u", &self.user)
            .operand("psql")
            .operands(args.iter().map(String::as_str));
        let direct = args
            .iter()
            .fold(Cmd::new("psql"), |cmd, arg| cmd.arg(arg.as_str()));
        Script::new()
            .snippet("cd / || exit 1\nif [ \"$(id -u)\" = 0 ]; then\n")
            .cmd(as_root)
            .snippet("else\n")
            .cmd(direct)
            .snippet("fi\n")
    }

    /// A probe: `sql` (fleet's fixed text, a snippet that sets `$sql`) on
    /// psql's stdin, with `vars` bound as psql variables.
    pub fn probe(&self, db: &str, sql: &'static str, vars: &[(&str, &str)]) -> Script {
        Script::new()
            .snippet(sql)
            .snippet("printf '%s\\n' \"$sql\" | (\n")
            .then(self.psql(db, vars))
            .snippet(")\n")
    }

    /// A step: `sql` on psql's stdin.
    pub fn step(&self, db: &str, session_role: Option<&str>, sql: &[String], secret: bool) -> Step {
        let mut text = String::new();
        if let Some(role) = session_role {
            text.push_str(&format!("SET ROLE {};\n", ident(role)));
        }
        for statement in sql {
            text.push_str(statement);
            text.push_str(";\n");
        }
        let stdin = if secret {
            Stdin::Secret(fleet_shell::Secret::new(text))
        } else {
            Stdin::Data(text.into_bytes())
        };
        Step::run_with_stdin(self.psql(db, &[]), stdin)
    }
}

/// The JSON object the probe's last line holds.
pub fn probe_row(probe: &Probe) -> Result<serde_json::Map<String, Value>, ModuleError> {
    if probe.rc != 0 {
        return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
    }
    let line = probe
        .stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    let parsed = serde_json::from_str(probe.stdout.trim()).or_else(|_| serde_json::from_str(line));
    match parsed {
        Ok(Value::Object(row)) => Ok(row),
        _ => Err(ModuleError::Probe(format!(
            "psql printed {:?}, not a JSON row",
            probe.stdout.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::run;

    #[test]
    fn identifiers_and_literals_are_quoted_whatever_they_hold() {
        assert_eq!(ident("app"), "\"app\"");
        assert_eq!(
            ident("a\"; DROP TABLE x; --"),
            "\"a\"\"; DROP TABLE x; --\""
        );
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\'b"), "E'a\\\\''b'");
        assert_eq!(literal(""), "''");
    }

    #[test]
    fn psql_runs_as_the_login_user_with_sql_on_stdin() {
        let login = Login::new("t", "postgres", None, None, 5432).unwrap();
        let step = login.step(
            "app",
            Some("owner"),
            &["CREATE DATABASE \"x\"".into()],
            false,
        );
        let Step::Run { script, stdin } = &step else {
            panic!("not a script")
        };
        assert_eq!(
            script.as_str(),
            "cd / || exit 1\nif [ \"$(id -u)\" = 0 ]; then\n\
             runuser -u postgres -- psql -X -q -A -t -v 'ON_ERROR_STOP=1' '--port=5432' '--username=postgres' '--dbname=app'\n\
             else\n\
             psql -X -q -A -t -v 'ON_ERROR_STOP=1' '--port=5432' '--username=postgres' '--dbname=app'\n\
             fi\n"
        );
        assert_eq!(
            stdin.as_ref().unwrap().bytes(),
            b"SET ROLE \"owner\";\nCREATE DATABASE \"x\";\n"
        );
        // The non-root branch, with psql standing in for itself.
        let stubs = "id() { echo 1000; }\npsql() { echo \"psql $*\"; cat; }\n";
        let out = run(stubs, script, b"select 1;\n");
        assert_eq!(
            out.stdout,
            "psql -X -q -A -t -v ON_ERROR_STOP=1 --port=5432 --username=postgres --dbname=app\nselect 1;\n"
        );
    }

    #[test]
    fn probes_bind_values_as_psql_variables() {
        let login = Login::new("t", "postgres", Some(&"db.internal".into()), None, 6432).unwrap();
        let probe = login.probe("postgres", "sql=\"select :'db'\"\n", &[("db", "a'b; x")]);
        let stubs = "id() { echo 1000; }\npsql() { printf '[%s]' \"$@\"; echo; cat; }\n";
        assert_eq!(
            run(stubs, &probe, b"").stdout,
            "[-X][-q][-A][-t][-v][ON_ERROR_STOP=1][--host=db.internal][--port=6432]\
             [--username=postgres][--dbname=postgres][-v][db=a'b; x]\nselect :'db'\n"
        );
        assert!(Login::new("t", "a b", None, None, 1).is_err());
    }

    #[test]
    fn the_probe_row_is_the_last_json_line() {
        let row = probe_row(&Probe::ok("notice\n{\"exists\": true}\n")).unwrap();
        assert_eq!(row["exists"], true);
        assert!(probe_row(&Probe::ok("garbage\n")).is_err());
    }
}
