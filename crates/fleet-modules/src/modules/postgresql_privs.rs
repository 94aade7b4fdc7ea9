//! `postgresql_privs`: grants and revokes privileges on databases,
//! schemas, tables and sequences, like community.postgresql's
//! `postgresql_privs`. Ansible runs the GRANT or REVOKE and compares the
//! ACLs before and after; fleet reads the ACLs in the probe
//! (`aclexplode`) and runs the statement only when it would change them.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::de;
use super::postgres::{
    LOGIN_PARAMS, Login, check_name, ident, invalid, login_fields, probe_row, with_login,
};
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

const OWN: &[&str] = &[
    "login_db",
    "db",
    "database",
    "state",
    "privs",
    "priv",
    "type",
    "objs",
    "obj",
    "schema",
    "roles",
    "role",
    "grant_option",
    "fail_on_role",
];

pub const PARAMS: &[&str] = &with_login::<{ OWN.len() + LOGIN_PARAMS.len() }>(OWN);

login_fields! {
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct PrivsParams {
        #[serde(alias = "db", alias = "database")]
        pub login_db: String,
        #[serde(default)]
        pub state: PrivState,
        #[serde(alias = "priv")]
        pub privs: String,
        #[serde(default, rename = "type")]
        pub kind: ObjectType,
        #[serde(alias = "obj")]
        pub objs: Option<String>,
        pub schema: Option<String>,
        #[serde(alias = "role")]
        pub roles: String,
        #[serde(default, deserialize_with = "de::optional_boolean")]
        pub grant_option: Option<bool>,
        #[serde(default = "de::yes", deserialize_with = "de::boolean")]
        pub fail_on_role: bool,
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivState {
    #[default]
    Present,
    Absent,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectType {
    #[default]
    Table,
    Sequence,
    Database,
    Schema,
}

impl ObjectType {
    fn word(self) -> &'static str {
        match self {
            ObjectType::Table => "table",
            ObjectType::Sequence => "sequence",
            ObjectType::Database => "database",
            ObjectType::Schema => "schema",
        }
    }

    /// What `ALL` means for this type, as `aclexplode` names them.
    fn all(self) -> &'static [&'static str] {
        match self {
            ObjectType::Table => &[
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
            ],
            ObjectType::Sequence => &["SELECT", "UPDATE", "USAGE"],
            ObjectType::Database => &["CREATE", "TEMPORARY", "CONNECT"],
            ObjectType::Schema => &["CREATE", "USAGE"],
        }
    }
}

#[derive(Debug)]
pub struct PostgresqlPrivs {
    params: PrivsParams,
    login: Login,
    /// As written (`ALL` kept), for the statement.
    privs: Vec<String>,
    /// Expanded, as `aclexplode` names them.
    wanted: BTreeSet<&'static str>,
    objs: Vec<String>,
    all_in_schema: bool,
    schema: String,
    roles: Vec<String>,
}

const MODULE: &str = "postgresql_privs";

const VALID: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "CREATE",
    "CONNECT",
    "TEMPORARY",
    "EXECUTE",
    "USAGE",
];

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    if let Some(kind) = params.get("type").and_then(Value::as_str)
        && !matches!(kind, "table" | "sequence" | "database" | "schema")
    {
        return Err(invalid(
            MODULE,
            format!("type {kind} is not supported (table, sequence, database, schema are)"),
        ));
    }
    let params: PrivsParams = parse_params(MODULE, params)?;
    check_name(MODULE, "login_db", &params.login_db)?;
    let kind = params.kind;
    let mut privs = Vec::new();
    let mut wanted = BTreeSet::new();
    for word in params
        .privs
        .split(',')
        .map(|w| w.trim().to_ascii_uppercase())
    {
        let word = if word == "TEMP" {
            "TEMPORARY".to_string()
        } else {
            word
        };
        if word == "ALL" {
            wanted.extend(kind.all().iter().copied());
        } else if let Some(valid) = VALID.iter().find(|v| **v == word) {
            if !kind.all().contains(valid) {
                return Err(invalid(
                    MODULE,
                    format!("privilege {word} does not apply to type {}", kind.word()),
                ));
            }
            wanted.insert(*valid);
        } else {
            return Err(invalid(
                MODULE,
                format!("Invalid privileges specified: {word}"),
            ));
        }
        privs.push(word);
    }
    let objs_text = params.objs.clone().unwrap_or_default();
    let all_in_schema = objs_text == "ALL_IN_SCHEMA";
    if all_in_schema && !matches!(kind, ObjectType::Table | ObjectType::Sequence) {
        return Err(invalid(
            MODULE,
            "ALL_IN_SCHEMA is for types table and sequence",
        ));
    }
    let objs: Vec<String> = if all_in_schema {
        Vec::new()
    } else {
        objs_text
            .split(',')
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect()
    };
    if objs.is_empty() && !all_in_schema {
        return Err(invalid(MODULE, "objs is required"));
    }
    for obj in &objs {
        check_name(MODULE, "obj", obj)?;
    }
    let roles: Vec<String> = params
        .roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect();
    for role in &roles {
        check_name(MODULE, "role", role)?;
    }
    let login = Login::new(
        MODULE,
        &params.login_user,
        params.login_host.as_ref(),
        params.login_unix_socket.as_ref(),
        params.port,
    )?;
    let schema = params.schema.clone().unwrap_or_else(|| "public".into());
    Ok(Box::new(PostgresqlPrivs {
        login,
        privs,
        wanted,
        objs,
        all_in_schema,
        schema,
        roles,
        params,
    }))
}

/// The objects' ACL entries, and which roles exist.
const PROBE: &str = "sql=$(cat <<'FLEET_SQL'
with objects(name, acl) as (
    select datname::text, datacl from pg_database
    where :'kind' = 'database' and datname in (select json_array_elements_text(:'objs'::json))
  union all
    select nspname::text, nspacl from pg_namespace
    where :'kind' = 'schema' and nspname in (select json_array_elements_text(:'objs'::json))
  union all
    select c.relname::text, c.relacl from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = :'schema'
      and ((:'kind' = 'table' and c.relkind in ('r', 'v', 'm', 'p', 'f'))
        or (:'kind' = 'sequence' and c.relkind = 'S'))
      and (:'all' = 'yes' or c.relname in (select json_array_elements_text(:'objs'::json))))
select json_build_object(
  'objects', (select coalesce(json_object_agg(o.name, (
      select coalesce(json_agg(json_build_object(
          'role', case when e.grantee = 0 then 'PUBLIC' else r.rolname end,
          'priv', e.privilege_type, 'grantable', e.is_grantable)), '[]')
      from aclexplode(o.acl) e left join pg_roles r on r.oid = e.grantee)), '{}') from objects o),
  'roles', (select coalesce(json_agg(rolname), '[]') from pg_roles
      where rolname in (select json_array_elements_text(:'roles'::json))));
FLEET_SQL
)
";

impl PostgresqlPrivs {
    fn role_sql(role: &str) -> String {
        if role.eq_ignore_ascii_case("PUBLIC") {
            "PUBLIC".into()
        } else {
            ident(role)
        }
    }

    fn target(&self) -> String {
        let kind = self.params.kind;
        if self.all_in_schema {
            let what = if kind == ObjectType::Table {
                "TABLES"
            } else {
                "SEQUENCES"
            };
            return format!("ALL {what} IN SCHEMA {}", ident(&self.schema));
        }
        let names: Vec<String> = self
            .objs
            .iter()
            .map(|o| match kind {
                ObjectType::Table | ObjectType::Sequence => {
                    format!("{}.{}", ident(&self.schema), ident(o))
                }
                _ => ident(o),
            })
            .collect();
        format!("{} {}", kind.word().to_ascii_uppercase(), names.join(","))
    }
}

impl Module for PostgresqlPrivs {
    fn probe(&self) -> Option<Script> {
        let json = |items: &[String]| Value::from(items.to_vec()).to_string();
        let objs = json(&self.objs);
        let roles = json(&self.roles);
        Some(self.login.probe(
            &self.params.login_db,
            PROBE,
            &[
                ("kind", self.params.kind.word()),
                ("objs", objs.as_str()),
                ("schema", self.schema.as_str()),
                ("all", if self.all_in_schema { "yes" } else { "no" }),
                ("roles", roles.as_str()),
            ],
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let row = probe_row(probe)?;
        let existing: BTreeSet<&str> = row
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut roles = Vec::new();
        for role in &self.roles {
            if role.eq_ignore_ascii_case("PUBLIC") || existing.contains(role.as_str()) {
                roles.push(role.as_str());
            } else if self.params.fail_on_role {
                return Err(ModuleError::Failed(format!("Role '{role}' does not exist")));
            }
        }
        let objects = row
            .get("objects")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let entries = |obj: &str, role: &str| -> Vec<(String, bool)> {
            objects
                .get(obj)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| {
                    e.get("role")
                        .and_then(Value::as_str)
                        .is_some_and(|r| r.eq_ignore_ascii_case(role))
                })
                .filter_map(|e| {
                    Some((
                        e.get("priv")?.as_str()?.to_string(),
                        e.get("grantable")?.as_bool()?,
                    ))
                })
                .collect()
        };
        let names: Vec<String> = if self.all_in_schema {
            objects.keys().cloned().collect()
        } else {
            self.objs.clone()
        };
        let (mut grant, mut revoke_option, mut revoke) = (false, false, false);
        for obj in &names {
            for role in &roles {
                let have = entries(obj, role);
                let has = |p: &str| have.iter().any(|(h, _)| h == p);
                let grantable = |p: &str| have.iter().any(|(h, g)| h == p && *g);
                match self.params.state {
                    PrivState::Present => {
                        let with_option = self.params.grant_option == Some(true);
                        if self
                            .wanted
                            .iter()
                            .any(|p| !has(p) || (with_option && !grantable(p)))
                        {
                            grant = true;
                        }
                        if self.params.grant_option == Some(false)
                            && self.wanted.iter().any(|p| grantable(p))
                        {
                            revoke_option = true;
                        }
                    }
                    PrivState::Absent => revoke |= self.wanted.iter().any(|p| has(p)),
                }
            }
        }
        let privs = self.privs.join(",");
        let target = self.target();
        let to: Vec<String> = roles.iter().map(|r| Self::role_sql(r)).collect();
        let to = to.join(",");
        let mut sql = Vec::new();
        if grant {
            let option = if self.params.grant_option == Some(true) {
                " WITH GRANT OPTION"
            } else {
                ""
            };
            sql.push(format!("GRANT {privs} ON {target} TO {to}{option}"));
        }
        if revoke_option {
            sql.push(format!(
                "REVOKE GRANT OPTION FOR {privs} ON {target} FROM {to}"
            ));
        }
        if revoke {
            sql.push(format!("REVOKE {privs} ON {target} FROM {to}"));
        }
        let mut plan = if sql.is_empty() {
            Plan::unchanged()
        } else {
            Plan::change(vec![self.login.step(
                &self.params.login_db,
                self.params.session_role.as_deref(),
                &sql,
                false,
            )])
            .with_diff(Some(sql.iter().map(|s| format!("{s}\n")).collect()))
        };
        plan.data
            .insert("queries".into(), sql.into_iter().map(Value::from).collect());
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "postgresql_privs_tests.rs"]
mod tests;
