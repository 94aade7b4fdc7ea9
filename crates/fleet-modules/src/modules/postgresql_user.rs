//! `postgresql_user`: creates, changes and drops a role, like
//! community.postgresql's `postgresql_user`, over `psql` as the login
//! user. Whether a password changes is decided here, against the stored
//! verifier (SCRAM-SHA-256 or md5); the password itself reaches the host
//! only inside the SQL on psql's stdin.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::de;
use super::postgres::with_login;
use super::postgres::{
    LOGIN_PARAMS, Login, check_name, ident, invalid, literal, login_fields, probe_row,
};
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, Secret, parse_params};

#[path = "postgresql_password.rs"]
mod password;

const OWN: &[&str] = &[
    "name",
    "user",
    "password",
    "state",
    "login_db",
    "db",
    "fail_on_user",
    "fail_on_role",
    "role_attr_flags",
    "encrypted",
    "no_password_changes",
    "expires",
    "conn_limit",
    "comment",
];

pub const PARAMS: &[&str] = &with_login::<{ OWN.len() + LOGIN_PARAMS.len() }>(OWN);

login_fields! {
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct UserParams {
        #[serde(alias = "user")]
        pub name: String,
        /// Clear text, or a stored form (`md5…`, `SCRAM-SHA-256$…`); empty
        /// removes the password.
        #[serde(default, deserialize_with = "optional_secret")]
        pub password: Option<Secret>,
        #[serde(default)]
        pub state: RoleState,
        #[serde(default, alias = "db")]
        pub login_db: String,
        #[serde(default = "de::yes", alias = "fail_on_role", deserialize_with = "de::boolean")]
        pub fail_on_user: bool,
        /// `CREATEDB,NOSUPERUSER`, …
        #[serde(default)]
        pub role_attr_flags: String,
        #[serde(default = "de::yes", deserialize_with = "de::boolean")]
        pub encrypted: bool,
        #[serde(default, deserialize_with = "de::boolean")]
        pub no_password_changes: bool,
        /// `VALID UNTIL`: a timestamp, or `infinity`.
        pub expires: Option<String>,
        #[serde(default, deserialize_with = "optional_int")]
        pub conn_limit: Option<i32>,
        pub comment: Option<String>,
    }
}

fn optional_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

fn optional_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()) => {
            Ok(n.as_i64().map(|n| n as i32))
        }
        Some(Value::String(s)) if s.trim().parse::<i32>().is_ok() => Ok(s.trim().parse().ok()),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a whole number, got {other}"
        ))),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleState {
    #[default]
    Present,
    Absent,
}

/// Each flag and the pg_authid column that holds it.
const FLAGS: &[(&str, &str)] = &[
    ("SUPERUSER", "rolsuper"),
    ("CREATEROLE", "rolcreaterole"),
    ("CREATEDB", "rolcreatedb"),
    ("INHERIT", "rolinherit"),
    ("LOGIN", "rolcanlogin"),
    ("REPLICATION", "rolreplication"),
    ("BYPASSRLS", "rolbypassrls"),
];

#[derive(Debug)]
pub struct PostgresqlUser {
    params: UserParams,
    login: Login,
    /// `(FLAG, wanted)`, as given.
    flags: Vec<(&'static str, bool)>,
}

const MODULE: &str = "postgresql_user";

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: UserParams = parse_params(MODULE, params)?;
    check_name(MODULE, "name", &params.name)?;
    if !params.login_db.is_empty() {
        check_name(MODULE, "login_db", &params.login_db)?;
    }
    let mut flags = Vec::new();
    for word in params.role_attr_flags.split(',').filter(|w| !w.is_empty()) {
        let word = word.trim().to_ascii_uppercase();
        let (name, wanted) = match word.strip_prefix("NO") {
            Some(rest) if FLAGS.iter().any(|(f, _)| *f == rest) => (rest.to_string(), false),
            _ => (word.clone(), true),
        };
        let Some((flag, _)) = FLAGS.iter().find(|(f, _)| *f == name) else {
            return Err(invalid(
                MODULE,
                format!("Invalid role_attr_flags specified: {word}"),
            ));
        };
        flags.retain(|(f, _)| f != flag);
        flags.push((*flag, wanted));
    }
    let login = Login::new(
        MODULE,
        &params.login_user,
        params.login_host.as_ref(),
        params.login_unix_socket.as_ref(),
        params.port,
    )?;
    Ok(Box::new(PostgresqlUser {
        params,
        login,
        flags,
    }))
}

const PROBE: &str = "sql=$(cat <<'FLEET_SQL'
select json_build_object(
  'role', (select json_build_object(
      'rolsuper', rolsuper, 'rolcreaterole', rolcreaterole, 'rolcreatedb', rolcreatedb,
      'rolinherit', rolinherit, 'rolcanlogin', rolcanlogin, 'rolreplication', rolreplication,
      'rolbypassrls', rolbypassrls, 'rolconnlimit', rolconnlimit, 'rolpassword', rolpassword,
      'rolvaliduntil', rolvaliduntil,
      'comment', coalesce(shobj_description(oid, 'pg_authid'), ''))
    from pg_authid where rolname = :'name'),
  'expires', nullif(:'expires', '')::timestamptz,
  'password_encryption', current_setting('password_encryption'));
FLEET_SQL
)
";

impl PostgresqlUser {
    fn flags_sql(&self) -> String {
        self.flags
            .iter()
            .map(|(flag, wanted)| {
                if *wanted {
                    flag.to_string()
                } else {
                    format!("NO{flag}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn crypt(&self) -> &'static str {
        if self.params.encrypted {
            "ENCRYPTED"
        } else {
            "UNENCRYPTED"
        }
    }

    fn create(&self) -> String {
        let p = &self.params;
        let mut sql = format!("CREATE USER {}", ident(&p.name));
        if let Some(password) = p.password.as_ref().filter(|pw| !pw.expose().is_empty()) {
            sql.push_str(&format!(
                " WITH {} PASSWORD {}",
                self.crypt(),
                literal(password.expose())
            ));
        }
        if let Some(expires) = &p.expires {
            sql.push_str(&format!(" VALID UNTIL {}", literal(expires)));
        }
        if let Some(limit) = p.conn_limit {
            sql.push_str(&format!(" CONNECTION LIMIT {limit}"));
        }
        let flags = self.flags_sql();
        if !flags.is_empty() {
            sql.push(' ');
            sql.push_str(&flags);
        }
        sql
    }

    /// The `ALTER USER` an existing role needs, if any, and whether it
    /// holds the password.
    fn alter(&self, role: &Map<String, Value>, row: &Map<String, Value>) -> Option<(String, bool)> {
        let p = &self.params;
        let flags_changing = self.flags.iter().any(|(flag, wanted)| {
            let column = FLAGS.iter().find(|(f, _)| f == flag).map(|(_, c)| *c);
            column.and_then(|c| role.get(c)) != Some(&Value::Bool(*wanted))
        });
        let user = ident(&p.name);
        if p.no_password_changes {
            return flags_changing.then(|| {
                (
                    format!("ALTER USER {user} WITH {}", self.flags_sql()),
                    false,
                )
            });
        }
        let wanted_any = p.password.is_some()
            || !self.flags.is_empty()
            || p.expires.is_some()
            || p.conn_limit.is_some();
        if !wanted_any {
            return None;
        }
        let current = role.get("rolpassword").and_then(Value::as_str);
        let encryption = row
            .get("password_encryption")
            .and_then(Value::as_str)
            .unwrap_or("scram-sha-256");
        let pw_changing = p.password.as_ref().is_some_and(|pw| {
            password::changes(pw.expose(), current, &p.name, p.encrypted, encryption)
        });
        let expires_changing =
            p.expires.is_some() && row.get("expires") != role.get("rolvaliduntil");
        let limit_changing = p.conn_limit.is_some_and(|limit| {
            role.get("rolconnlimit").and_then(Value::as_i64) != Some(i64::from(limit))
        });
        if !(pw_changing || flags_changing || expires_changing || limit_changing) {
            return None;
        }
        let mut sql = format!("ALTER USER {user}");
        let flags = self.flags_sql();
        if pw_changing {
            let password = p.password.as_ref().map(Secret::expose).unwrap_or_default();
            if password.is_empty() {
                sql.push_str(" WITH PASSWORD NULL");
            } else {
                sql.push_str(&format!(
                    " WITH {} PASSWORD {}",
                    self.crypt(),
                    literal(password)
                ));
            }
            if !flags.is_empty() {
                sql.push_str(&format!(" {flags}"));
            }
        } else if !flags.is_empty() {
            sql.push_str(&format!(" WITH {flags}"));
        }
        if let Some(expires) = &p.expires {
            sql.push_str(&format!(" VALID UNTIL {}", literal(expires)));
        }
        if let Some(limit) = p.conn_limit {
            sql.push_str(&format!(" CONNECTION LIMIT {limit}"));
        }
        Some((sql, pw_changing))
    }
}

impl Module for PostgresqlUser {
    fn probe(&self) -> Option<Script> {
        let p = &self.params;
        let db = if p.login_db.is_empty() {
            "postgres"
        } else {
            &p.login_db
        };
        Some(self.login.probe(
            db,
            PROBE,
            &[
                ("name", p.name.as_str()),
                ("expires", p.expires.as_deref().unwrap_or_default()),
            ],
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let row = probe_row(probe)?;
        let role = row.get("role").and_then(Value::as_object);
        let p = &self.params;
        let mut sql = Vec::new();
        let mut secret = false;
        let mut diff = Vec::new();
        match (p.state, role) {
            (RoleState::Absent, None) => {}
            (RoleState::Absent, Some(_)) => {
                diff.push(format!("role {}: present -> absent", p.name));
                sql.push(format!("DROP USER {}", ident(&p.name)));
            }
            (RoleState::Present, None) => {
                diff.push(format!("role {}: absent -> present", p.name));
                secret = p.password.is_some();
                sql.push(self.create());
            }
            (RoleState::Present, Some(role)) => {
                if let Some((alter, with_password)) = self.alter(role, &row) {
                    secret = with_password;
                    diff.push(if with_password {
                        format!("role {}: attributes and password changed", p.name)
                    } else {
                        alter.clone()
                    });
                    sql.push(alter);
                }
            }
        }
        if p.state == RoleState::Present {
            let now = role
                .and_then(|r| r.get("comment"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(comment) = p.comment.as_ref().filter(|c| *c != now) {
                let statement =
                    format!("COMMENT ON ROLE {} IS {}", ident(&p.name), literal(comment));
                diff.push(statement.clone());
                sql.push(statement);
            }
        }
        let queries: Vec<Value> = sql
            .iter()
            .map(|s| {
                if secret && s.contains("PASSWORD") {
                    "(a statement with the password)".into()
                } else {
                    s.clone().into()
                }
            })
            .collect();
        let mut plan = if sql.is_empty() {
            Plan::unchanged()
        } else {
            let db = if p.login_db.is_empty() {
                "postgres"
            } else {
                &p.login_db
            };
            Plan::change(vec![self.login.step(
                db,
                p.session_role.as_deref(),
                &sql,
                secret,
            )])
            .with_diff(Some(diff.join("\n") + "\n"))
        };
        plan.data.insert("user".into(), p.name.clone().into());
        plan.data.insert("queries".into(), Value::Array(queries));
        if p.state == RoleState::Absent {
            plan.data
                .insert("user_removed".into(), Value::Bool(role.is_some()));
        }
        Ok(plan)
    }

    fn outcome(&self, outputs: &[crate::StepOutput]) -> Result<(), ModuleError> {
        match outputs.iter().find(|out| out.rc != 0) {
            Some(out) if self.params.state == RoleState::Absent => Err(ModuleError::Failed(
                format!("Unable to remove user: {}", out.stderr.trim()),
            ))
            .or_else(|err| {
                if self.params.fail_on_user {
                    Err(err)
                } else {
                    Ok(())
                }
            }),
            Some(out) => Err(ModuleError::StepFailed {
                rc: out.rc,
                stderr: out.stderr.trim_end().to_string(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "postgresql_user_tests.rs"]
mod tests;
