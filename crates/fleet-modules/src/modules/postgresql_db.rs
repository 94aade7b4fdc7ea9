//! `postgresql_db`: creates, changes and drops a database, like
//! community.postgresql's `postgresql_db`, over `psql` as the login user.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::de;
use super::postgres::with_login;
use super::postgres::{
    LOGIN_PARAMS, Login, check_name, ident, invalid, literal, login_fields, probe_row,
};
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

const OWN: &[&str] = &[
    "db",
    "name",
    "state",
    "owner",
    "template",
    "encoding",
    "lc_collate",
    "lc_ctype",
    "conn_limit",
    "tablespace",
    "maintenance_db",
    "force",
    "comment",
];

pub const PARAMS: &[&str] = &with_login::<{ OWN.len() + LOGIN_PARAMS.len() }>(OWN);

login_fields! {
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct DbParams {
        #[serde(alias = "name")]
        pub db: String,
        #[serde(default)]
        pub state: DbState,
        #[serde(default)]
        pub owner: String,
        #[serde(default)]
        pub template: String,
        #[serde(default)]
        pub encoding: String,
        #[serde(default)]
        pub lc_collate: String,
        #[serde(default)]
        pub lc_ctype: String,
        /// A number as text (Ansible's type is `str`); empty: unmanaged.
        #[serde(default, deserialize_with = "number_text")]
        pub conn_limit: String,
        #[serde(default)]
        pub tablespace: String,
        #[serde(default = "default_maintenance_db")]
        pub maintenance_db: String,
        /// With `absent`: `DROP DATABASE … WITH (FORCE)`.
        #[serde(default, deserialize_with = "de::boolean")]
        pub force: bool,
        pub comment: Option<String>,
    }
}

fn default_maintenance_db() -> String {
    "postgres".into()
}

/// `conn_limit: 10` or `"10"`.
fn number_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s),
        Value::Null => Ok(String::new()),
        other => Err(serde::de::Error::custom(format!(
            "expected a number, got {other}"
        ))),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbState {
    #[default]
    Present,
    Absent,
}

#[derive(Debug)]
pub struct PostgresqlDb {
    params: DbParams,
    login: Login,
}

const MODULE: &str = "postgresql_db";

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    if params
        .get("state")
        .and_then(Value::as_str)
        .is_some_and(|s| matches!(s, "dump" | "restore" | "rename"))
    {
        return Err(invalid(
            MODULE,
            "state dump, restore and rename are not supported (see docs/modules/postgresql_db.md)",
        ));
    }
    let params: DbParams = parse_params(MODULE, params)?;
    check_name(MODULE, "db", &params.db)?;
    check_name(MODULE, "maintenance_db", &params.maintenance_db)?;
    for (what, name) in [
        ("owner", &params.owner),
        ("template", &params.template),
        ("tablespace", &params.tablespace),
    ] {
        if !name.is_empty() {
            check_name(MODULE, what, name)?;
        }
    }
    if !params.conn_limit.is_empty() && params.conn_limit.parse::<i32>().is_err() {
        return Err(invalid(
            MODULE,
            format!("conn_limit {:?} is not a number", params.conn_limit),
        ));
    }
    if params.maintenance_db == params.db {
        return Err(invalid(MODULE, "maintenance_db and db cannot be the same"));
    }
    let login = Login::new(
        MODULE,
        &params.login_user,
        params.login_host.as_ref(),
        params.login_unix_socket.as_ref(),
        params.port,
    )?;
    Ok(Box::new(PostgresqlDb { params, login }))
}

/// Whether the database exists, what it is like, and whether the wanted
/// encoding (any spelling) is its encoding.
const PROBE: &str = "sql=$(cat <<'FLEET_SQL'
select json_build_object(
  'info', (select json_build_object(
      'owner', r.rolname, 'encoding', pg_encoding_to_char(d.encoding),
      'encoding_matches', :'encoding' = '' or pg_char_to_encoding(:'encoding') = d.encoding,
      'lc_collate', d.datcollate, 'lc_ctype', d.datctype,
      'conn_limit', d.datconnlimit::text, 'tablespace', t.spcname,
      'comment', coalesce(shobj_description(d.oid, 'pg_database'), ''))
    from pg_database d
    join pg_roles r on r.oid = d.datdba
    join pg_tablespace t on t.oid = d.dattablespace
    where d.datname = :'db'));
FLEET_SQL
)
";

impl PostgresqlDb {
    fn create(&self) -> Vec<String> {
        let p = &self.params;
        let mut create = format!("CREATE DATABASE {}", ident(&p.db));
        let names = [("OWNER", &p.owner), ("TEMPLATE", &p.template)];
        for (word, name) in names {
            if !name.is_empty() {
                create.push_str(&format!(" {word} {}", ident(name)));
            }
        }
        let texts = [
            ("ENCODING", &p.encoding),
            ("LC_COLLATE", &p.lc_collate),
            ("LC_CTYPE", &p.lc_ctype),
        ];
        for (word, text) in texts {
            if !text.is_empty() {
                create.push_str(&format!(" {word} {}", literal(text)));
            }
        }
        if !p.tablespace.is_empty() {
            create.push_str(&format!(" TABLESPACE {}", ident(&p.tablespace)));
        }
        if !p.conn_limit.is_empty() {
            create.push_str(&format!(" CONNECTION LIMIT {}", p.conn_limit));
        }
        let mut sql = vec![create];
        if let Some(comment) = p.comment.as_ref().filter(|c| !c.is_empty()) {
            sql.push(self.comment(comment));
        }
        sql
    }

    fn comment(&self, comment: &str) -> String {
        format!(
            "COMMENT ON DATABASE {} IS {}",
            ident(&self.params.db),
            literal(comment)
        )
    }

    /// The statements that bring an existing database to the params; an
    /// error for what PostgreSQL cannot change.
    fn update(&self, info: &Map<String, Value>) -> Result<Vec<String>, ModuleError> {
        let p = &self.params;
        let text = |key: &str| info.get(key).and_then(Value::as_str).unwrap_or_default();
        if info.get("encoding_matches") == Some(&Value::Bool(false)) {
            return Err(ModuleError::Failed(format!(
                "Changing database encoding is not supported. Current encoding: {}",
                text("encoding")
            )));
        }
        for (param, key, label) in [
            (&p.lc_collate, "lc_collate", "LC_COLLATE"),
            (&p.lc_ctype, "lc_ctype", "LC_CTYPE"),
        ] {
            if !param.is_empty() && param != text(key) {
                return Err(ModuleError::Failed(format!(
                    "Changing {label} is not supported. Current {label}: {}",
                    text(key)
                )));
            }
        }
        let db = ident(&p.db);
        let mut sql = Vec::new();
        if !p.owner.is_empty() && p.owner != text("owner") {
            sql.push(format!("ALTER DATABASE {db} OWNER TO {}", ident(&p.owner)));
        }
        if !p.conn_limit.is_empty() && p.conn_limit != text("conn_limit") {
            sql.push(format!(
                "ALTER DATABASE {db} CONNECTION LIMIT {}",
                p.conn_limit
            ));
        }
        if !p.tablespace.is_empty() && p.tablespace != text("tablespace") {
            sql.push(format!(
                "ALTER DATABASE {db} SET TABLESPACE {}",
                ident(&p.tablespace)
            ));
        }
        if let Some(comment) = p.comment.as_ref().filter(|c| *c != text("comment")) {
            sql.push(self.comment(comment));
        }
        Ok(sql)
    }
}

impl Module for PostgresqlDb {
    fn probe(&self) -> Option<Script> {
        let p = &self.params;
        Some(self.login.probe(
            &p.maintenance_db,
            PROBE,
            &[("db", p.db.as_str()), ("encoding", p.encoding.as_str())],
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let row = probe_row(probe)?;
        let info = row.get("info").and_then(Value::as_object);
        let p = &self.params;
        let sql = match (p.state, info) {
            (DbState::Absent, None) => Vec::new(),
            (DbState::Absent, Some(_)) => {
                let force = if p.force { " WITH (FORCE)" } else { "" };
                vec![format!("DROP DATABASE {}{force}", ident(&p.db))]
            }
            (DbState::Present, None) => self.create(),
            (DbState::Present, Some(info)) => self.update(info)?,
        };
        let mut plan = if sql.is_empty() {
            Plan::unchanged()
        } else {
            let diff = match (p.state, info) {
                (DbState::Absent, _) => format!("database {}: present -> absent\n", p.db),
                (_, None) => format!("database {}: absent -> present\n", p.db),
                _ => sql.iter().map(|s| format!("{s}\n")).collect(),
            };
            Plan::change(vec![self.login.step(
                &p.maintenance_db,
                p.session_role.as_deref(),
                &sql,
                false,
            )])
            .with_diff(Some(diff))
        };
        plan.data.insert("db".into(), p.db.clone().into());
        plan.data.insert(
            "executed_commands".into(),
            sql.into_iter().map(Value::from).collect(),
        );
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "postgresql_db_tests.rs"]
mod tests;
