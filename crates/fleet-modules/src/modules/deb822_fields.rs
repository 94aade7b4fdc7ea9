//! `deb822_repository`'s params and how Ansible's module turns them into
//! the text of a `.sources` file.

use serde::de::Error;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::de;
use super::deb822_repository::State;

pub const PARAMS: &[&str] = &[
    "allow_downgrade_to_insecure",
    "allow_insecure",
    "allow_weak",
    "architectures",
    "by_hash",
    "check_date",
    "check_valid_until",
    "components",
    "date_max_future",
    "enabled",
    "inrelease_path",
    "languages",
    "name",
    "pdiffs",
    "signed_by",
    "suites",
    "targets",
    "trusted",
    "types",
    "uris",
    "mode",
    "state",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deb822Params {
    #[serde(default, deserialize_with = "optional_bool")]
    pub allow_downgrade_to_insecure: Option<bool>,
    #[serde(default, deserialize_with = "optional_bool")]
    pub allow_insecure: Option<bool>,
    #[serde(default, deserialize_with = "optional_bool")]
    pub allow_weak: Option<bool>,
    #[serde(default, deserialize_with = "optional_list")]
    pub architectures: Option<Vec<String>>,
    #[serde(default, deserialize_with = "optional_bool")]
    pub by_hash: Option<bool>,
    #[serde(default, deserialize_with = "optional_bool")]
    pub check_date: Option<bool>,
    #[serde(default, deserialize_with = "optional_bool")]
    pub check_valid_until: Option<bool>,
    #[serde(default, deserialize_with = "optional_list")]
    pub components: Option<Vec<String>>,
    #[serde(default, deserialize_with = "de::optional_whole_number")]
    pub date_max_future: Option<u64>,
    #[serde(default, deserialize_with = "optional_bool")]
    pub enabled: Option<bool>,
    pub inrelease_path: Option<String>,
    #[serde(default, deserialize_with = "optional_list")]
    pub languages: Option<Vec<String>>,
    pub name: String,
    #[serde(default, deserialize_with = "optional_bool")]
    pub pdiffs: Option<bool>,
    /// A URL of a key, a keyring path on the host, fingerprints, or an
    /// armored key.
    pub signed_by: Option<String>,
    #[serde(default, deserialize_with = "optional_list")]
    pub suites: Option<Vec<String>>,
    #[serde(default, deserialize_with = "optional_list")]
    pub targets: Option<Vec<String>>,
    #[serde(default, deserialize_with = "optional_bool")]
    pub trusted: Option<bool>,
    #[serde(default = "deb", deserialize_with = "list")]
    pub types: Vec<String>,
    #[serde(default, deserialize_with = "optional_list")]
    pub uris: Option<Vec<String>>,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    #[serde(default)]
    pub state: State,
}

fn deb() -> Vec<String> {
    vec!["deb".into()]
}

fn optional_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value) => de::boolean(value).map(Some).map_err(D::Error::custom),
    }
}

/// A list as Ansible's `list` type takes it: a list of scalars, or a
/// string split at commas.
fn to_list(value: Value) -> Result<Vec<String>, String> {
    let scalar = |value: &Value| {
        de::scalar_text(value).ok_or_else(|| format!("expected a string, got {value}"))
    };
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        Value::String(text) => Ok(text.split(',').map(str::to_string).collect()),
        other => scalar(&other).map(|text| vec![text]),
    }
}

fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    to_list(Value::deserialize(deserializer)?).map_err(D::Error::custom)
}

fn optional_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value) => to_list(value).map(Some).map_err(D::Error::custom),
    }
}

impl Deb822Params {
    pub fn check(&self) -> Result<(), String> {
        if let Some(bad) = self
            .types
            .iter()
            .find(|kind| !matches!(kind.as_str(), "deb" | "deb-src"))
        {
            return Err(format!(
                "value of types must be one or more of: deb, deb-src. Got no match for: {bad}"
            ));
        }
        Ok(())
    }
}

/// The file name Ansible derives from `name`: lower case, runs of `_` and
/// white space as `-`, anything but `a-z`, `0-9` and `-` dropped.
pub fn slug(name: &str) -> String {
    let mut dashed = String::new();
    let mut in_run = false;
    for c in name.to_lowercase().chars() {
        if c == '_' || c.is_whitespace() {
            if !in_run {
                dashed.push('-');
            }
            in_run = true;
        } else {
            dashed.push(c);
            in_run = false;
        }
    }
    dashed
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect()
}

/// The `.sources` text: one `Field: value` line per given parameter, in
/// the order of their names, as Ansible's module writes it.
pub fn render(params: &Deb822Params, signed_by: Option<&str>) -> String {
    let yes_no = |flag: Option<bool>| flag.map(|flag| if flag { "yes" } else { "no" }.to_string());
    let joined = |list: &Option<Vec<String>>| list.as_ref().map(|items| items.join(" "));
    let fields: [(&str, Option<String>); 20] = [
        (
            "Allow-Downgrade-To-Insecure",
            yes_no(params.allow_downgrade_to_insecure),
        ),
        ("Allow-Insecure", yes_no(params.allow_insecure)),
        ("Allow-Weak", yes_no(params.allow_weak)),
        ("Architectures", joined(&params.architectures)),
        ("By-Hash", yes_no(params.by_hash)),
        ("Check-Date", yes_no(params.check_date)),
        ("Check-Valid-Until", yes_no(params.check_valid_until)),
        ("Components", joined(&params.components)),
        (
            "Date-Max-Future",
            params.date_max_future.map(|n| n.to_string()),
        ),
        ("Enabled", yes_no(params.enabled)),
        ("Inrelease-Path", params.inrelease_path.clone()),
        ("Languages", joined(&params.languages)),
        ("X-Repolib-Name", Some(params.name.clone())),
        ("Pdiffs", yes_no(params.pdiffs)),
        ("Signed-By", signed_by.map(str::to_string)),
        ("Suites", joined(&params.suites)),
        ("Targets", joined(&params.targets)),
        ("Trusted", yes_no(params.trusted)),
        ("Types", Some(params.types.join(" "))),
        ("URIs", joined(&params.uris)),
    ];
    let mut text = String::new();
    for (field, value) in fields {
        let Some(value) = value else { continue };
        let value = if value.contains('\n') {
            multiline(&value)
        } else {
            value
        };
        if value.is_empty() || value.starts_with('\n') {
            text.push_str(&format!("{field}:{value}\n"));
        } else {
            text.push_str(&format!("{field}: {value}\n"));
        }
    }
    text
}

/// A value over several lines: each on its own line indented by four
/// spaces, an empty one as `.`.
fn multiline(value: &str) -> String {
    value
        .trim()
        .lines()
        .map(|line| match line.trim() {
            "" => "\n    .".to_string(),
            line => format!("\n    {line}"),
        })
        .collect()
}
