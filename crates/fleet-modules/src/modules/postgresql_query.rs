//! `postgresql_query`: runs SQL, like community.postgresql's
//! `postgresql_query`, over `psql` as the login user. The arguments are
//! bound here as psycopg2 binds them; the SQL reaches the host only on
//! psql's stdin. Whether the task changed anything is read from what the
//! statements report (see [`QueryResult::changed`]), so it is decided
//! once they ran; check mode runs them too, in a transaction that is
//! rolled back, as Ansible does.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::de;
use super::postgres::with_login;
use super::postgres::{LOGIN_PARAMS, Login, ident, invalid, login_fields};
use crate::{
    Applied, Controller, Module, ModuleError, Plan, Probe, Script, Stdin, Step, StepOutput,
    parse_params,
};

#[path = "postgresql_query_out.rs"]
mod out;
#[path = "postgresql_query_sql.rs"]
mod sql;

use out::{Query, QueryResult, Session};
use sql::{Args, adapt, mogrify};

const OWN: &[&str] = &[
    "query",
    "positional_args",
    "named_args",
    "login_db",
    "db",
    "autocommit",
    "encoding",
    "search_path",
];

pub const PARAMS: &[&str] = &with_login::<{ OWN.len() + LOGIN_PARAMS.len() }>(OWN);

login_fields! {
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct QueryParams {
        /// One query, or a list of them.
        pub query: Value,
        #[serde(default)]
        pub positional_args: Option<Vec<Value>>,
        #[serde(default)]
        pub named_args: Option<Map<String, Value>>,
        #[serde(default, alias = "db")]
        pub login_db: Option<String>,
        #[serde(default, deserialize_with = "de::boolean")]
        pub autocommit: bool,
        #[serde(default)]
        pub encoding: Option<String>,
        #[serde(default)]
        pub search_path: Option<Vec<String>>,
    }
}

#[derive(Debug)]
pub struct PostgresqlQuery {
    login: Login,
    db: String,
    session: Session,
    /// Each query as Ansible's `query_list` holds it.
    query_list: Vec<String>,
    queries: Vec<Query>,
    /// Starts fleet's lines in psql's output.
    marker: String,
}

const MODULE: &str = "postgresql_query";

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    Ok(Box::new(PostgresqlQuery::new(params)?))
}

impl PostgresqlQuery {
    fn new(params: Value) -> Result<PostgresqlQuery, ModuleError> {
        for gone in ["as_single_query", "path_to_script"] {
            if params.get(gone).is_some() {
                return Err(invalid(
                    MODULE,
                    format!(
                        "{gone} was removed from community.postgresql's postgresql_query (use a list of queries, or postgresql_script)"
                    ),
                ));
            }
        }
        for refused in [
            "login_password",
            "ca_cert",
            "ssl_mode",
            "ssl_cert",
            "ssl_key",
            "connect_params",
        ] {
            if params.get(refused).is_some() {
                return Err(invalid(
                    MODULE,
                    format!("{refused} is not supported (see docs/modules/postgresql_query.md)"),
                ));
            }
        }
        let p: QueryParams = parse_params(MODULE, params)?;
        let query_list: Vec<String> = match &p.query {
            Value::String(text) => vec![text.clone()],
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    other => Err(invalid(
                        MODULE,
                        format!("each query must be a string, not {other}"),
                    )),
                })
                .collect::<Result<_, _>>()?,
            Value::Null => return Err(invalid(MODULE, "query is required")),
            _ => {
                return Err(invalid(
                    MODULE,
                    "query argument must be of type string or list",
                ));
            }
        };
        if query_list.is_empty() {
            return Err(invalid(MODULE, "query must hold at least one query"));
        }
        if p.positional_args.as_ref().is_some_and(|a| !a.is_empty())
            && p.named_args.as_ref().is_some_and(|a| !a.is_empty())
        {
            return Err(invalid(
                MODULE,
                "parameters are mutually exclusive: positional_args|named_args",
            ));
        }
        let adapt_all = |value: &Value| adapt(value).map_err(|err| invalid(MODULE, err));
        let args = match (&p.positional_args, &p.named_args) {
            (Some(values), _) if !values.is_empty() => {
                Args::Positional(values.iter().map(adapt_all).collect::<Result<_, _>>()?)
            }
            (_, Some(values)) if !values.is_empty() => Args::Named(
                values
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), adapt_all(v)?)))
                    .collect::<Result<_, ModuleError>>()?,
            ),
            _ => Args::None,
        };
        let queries = query_list
            .iter()
            .map(|query| {
                mogrify(query, &args).map(Query::new).map_err(|err| {
                    ModuleError::Failed(format!(
                        "Cannot execute SQL '{query}': {err}, query list: {query_list:?}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(encoding) = &p.encoding
            && (encoding.is_empty()
                || !encoding
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(invalid(
                MODULE,
                format!("encoding {encoding:?} is not an encoding name"),
            ));
        }
        let login = Login::new(
            MODULE,
            &p.login_user,
            p.login_host.as_ref(),
            p.login_unix_socket.as_ref(),
            p.port,
        )?;
        // libpq's default database is the user's name.
        let db = p
            .login_db
            .clone()
            .filter(|db| !db.is_empty())
            .unwrap_or_else(|| p.login_user.clone());
        let search_path = p
            .search_path
            .as_ref()
            .filter(|path| !path.is_empty())
            .map(|path| {
                path.iter()
                    .map(|schema| schema.trim_matches(' '))
                    .collect::<Vec<_>>()
                    .join(",")
            });
        let session = Session {
            autocommit: p.autocommit,
            encoding: p.encoding.clone(),
            role: p
                .session_role
                .as_ref()
                .filter(|role| !role.is_empty())
                .map(|role| ident(role)),
            search_path,
            rollback: false,
        };
        Ok(PostgresqlQuery {
            login,
            db,
            session,
            query_list,
            queries,
            marker: format!("__fleet_pgq_{}__", fleet_shell::token()),
        })
    }

    fn step(&self, rollback: bool) -> Step {
        let session = Session {
            rollback,
            ..self.session.clone()
        };
        let text = out::script(&session, &self.queries, &self.marker);
        Step::run_with_stdin(
            self.login.session(&["-X", "-A"], &self.db),
            Stdin::Data(text.into_bytes()),
        )
    }

    fn results(&self, outputs: &[StepOutput]) -> Result<Vec<QueryResult>, String> {
        let output = outputs.last().ok_or("psql did not run")?;
        out::parse(&output.stdout, &self.queries, &self.marker)
    }

    /// Ansible's result for `results`.
    fn result_data(&self, results: &[QueryResult]) -> Map<String, Value> {
        let rows = |result: &QueryResult| match &result.rows {
            Some(rows) if !rows.is_empty() => json!(rows),
            _ => json!({}),
        };
        let mut data = Map::new();
        let last = results.last();
        data.insert(
            "query".into(),
            json!(self.queries.last().map(|q| q.text.as_str()).unwrap_or("")),
        );
        data.insert("query_list".into(), json!(self.query_list));
        data.insert(
            "statusmessage".into(),
            json!(last.map_or("", |r| r.statusmessage.as_str())),
        );
        data.insert("query_result".into(), last.map_or_else(|| json!({}), rows));
        data.insert(
            "query_all_results".into(),
            Value::Array(results.iter().map(rows).collect()),
        );
        data.insert(
            "rowcount".into(),
            json!(results.iter().map(|r| r.rowcount.max(0)).sum::<i64>()),
        );
        data.insert(
            "execution_time_ms".into(),
            json!(results.iter().map(|r| r.time_ms).collect::<Vec<_>>()),
        );
        data
    }
}

impl Module for PostgresqlQuery {
    fn probe(&self) -> Option<Script> {
        None
    }

    /// Nothing is known before the queries ran: one step, and
    /// [`Module::applied`] decides.
    fn plan(&self, _probe: &Probe) -> Result<Plan, ModuleError> {
        Ok(Plan::upkeep(vec![self.step(false)]))
    }

    fn check_mode_steps(&self) -> Option<Result<Vec<Step>, ModuleError>> {
        Some(if self.session.autocommit {
            Err(ModuleError::Failed(
                "Using autocommit is mutually exclusive with check_mode".into(),
            ))
        } else {
            Ok(vec![self.step(true)])
        })
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        if let Some(failed) = outputs.iter().find(|out| out.rc != 0) {
            return Err(ModuleError::Failed(format!(
                "Cannot execute SQL: {}, query list: {:?}",
                failed.stderr.trim(),
                self.query_list
            )));
        }
        self.results(outputs)
            .map(|_| ())
            .map_err(ModuleError::Failed)
    }

    fn applied(&self, outputs: &[StepOutput]) -> Option<Applied> {
        let results = self.results(outputs).ok()?;
        Some(Applied {
            changed: results.iter().any(QueryResult::changed),
            data: self.result_data(&results),
            msg: None,
        })
    }
}

#[cfg(test)]
#[path = "postgresql_query_tests.rs"]
mod tests;
