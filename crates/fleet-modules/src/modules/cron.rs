//! `cron`: manages a job or a variable in a user's crontab (through
//! `crontab`) or in a file under `/etc/cron.d`, line for line as Ansible's
//! `cron` writes it (see [`super::cron_tab`]).

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::cron_tab::CronTab;
use super::de;
use super::group::Presence;
use crate::text::{decode_base64, fields, unified_diff};
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "name",
    "user",
    "job",
    "value",
    "cron_file",
    "state",
    "backup",
    "minute",
    "hour",
    "day",
    "dom",
    "month",
    "weekday",
    "dow",
    "special_time",
    "disabled",
    "env",
    "insertafter",
    "insertbefore",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronParams {
    pub name: String,
    pub user: Option<String>,
    #[serde(default, alias = "value", deserialize_with = "optional_text")]
    pub job: Option<String>,
    pub cron_file: Option<String>,
    #[serde(default)]
    pub state: Presence,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    #[serde(default = "any", deserialize_with = "text")]
    pub minute: String,
    #[serde(default = "any", deserialize_with = "text")]
    pub hour: String,
    #[serde(default = "any", alias = "dom", deserialize_with = "text")]
    pub day: String,
    #[serde(default = "any", deserialize_with = "text")]
    pub month: String,
    #[serde(default = "any", alias = "dow", deserialize_with = "text")]
    pub weekday: String,
    pub special_time: Option<SpecialTime>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub disabled: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub env: bool,
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecialTime {
    Reboot,
    Yearly,
    Annually,
    Monthly,
    Weekly,
    Daily,
    Hourly,
}

impl SpecialTime {
    fn word(self) -> &'static str {
        match self {
            SpecialTime::Reboot => "reboot",
            SpecialTime::Yearly => "yearly",
            SpecialTime::Annually => "annually",
            SpecialTime::Monthly => "monthly",
            SpecialTime::Weekly => "weekly",
            SpecialTime::Daily => "daily",
            SpecialTime::Hourly => "hourly",
        }
    }
}

fn any() -> String {
    "*".into()
}

/// A string parameter that YAML may have typed as a number (`minute: 0`).
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string, got {other}"
        ))),
    }
}

fn optional_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string, got {other}"
        ))),
    }
}

#[derive(Debug)]
pub struct Cron {
    params: CronParams,
    /// The absolute path of `cron_file`.
    cron_file: Option<String>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "cron".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: CronParams = parse_params("cron", params)?;
    let present = params.state == Presence::Present;
    let cron_file = params.cron_file.as_deref().map(|file| {
        if file.starts_with('/') {
            file.to_string()
        } else {
            format!("/etc/cron.d/{file}")
        }
    });
    if cron_file.as_deref() == Some("/etc/crontab") {
        return Err(invalid(
            "Will not manage /etc/crontab via cron_file, see documentation.",
        ));
    }
    if params.user.as_deref().is_some_and(|user| {
        user.is_empty() || user.starts_with('-') || user.contains(['/', '\n', ':'])
    }) {
        return Err(invalid("invalid user name"));
    }
    let times = [
        &params.minute,
        &params.hour,
        &params.day,
        &params.month,
        &params.weekday,
    ];
    if params.special_time.is_some() && times.iter().any(|field| *field != "*") {
        return Err(invalid(
            "You must specify time and date fields or special time.",
        ));
    }
    if params.insertafter.is_some() && params.insertbefore.is_some() {
        return Err(invalid(
            "parameters are mutually exclusive: insertafter|insertbefore",
        ));
    }
    if present {
        if cron_file.is_some() && params.user.is_none() {
            return Err(invalid(
                "To use cron_file=... parameter you must specify user=... as well",
            ));
        }
        if params.job.is_none() {
            return Err(invalid(
                "You must specify 'job' to install a new cron job or variable",
            ));
        }
        if (params.insertafter.is_some() || params.insertbefore.is_some()) && !params.env {
            return Err(invalid(
                "Insertafter and insertbefore parameters are valid only with env=yes",
            ));
        }
    }
    if params.env && params.name.contains(' ') {
        return Err(invalid("Invalid name for environment variable"));
    }
    Ok(Box::new(Cron { params, cron_file }))
}

/// What the edit decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Edit {
    pub changed: bool,
    pub tab: CronTab,
    /// The cron file is left empty by an `absent`: it is removed.
    pub remove_file: bool,
}

impl Cron {
    /// The pure edit of the current table, as Ansible's `main` does it.
    pub(crate) fn edit(&self, mut tab: CronTab, existing: &str) -> Result<Edit, ModuleError> {
        let p = &self.params;
        let present = p.state == Presence::Present;
        let mut changed = false;
        if p.env {
            let decl = format!("{}=\"{}\"", p.name, p.job.as_deref().unwrap_or("None"));
            let old = tab.find_env(&p.name);
            match (present, old) {
                (true, None) => {
                    tab.add_env(&decl, p.insertafter.as_deref(), p.insertbefore.as_deref())
                        .map_err(ModuleError::Failed)?;
                    changed = true;
                }
                (true, Some((_, line))) if line != decl => {
                    tab.replace_env(&p.name, Some(&decl));
                    changed = true;
                }
                (false, Some(_)) => {
                    tab.replace_env(&p.name, None);
                    changed = true;
                }
                _ => {}
            }
        } else if present {
            let job = self.job_line();
            match tab.find_job(&p.name, Some(&job)) {
                None => {
                    tab.add_job(&p.name, &job);
                    changed = true;
                }
                Some(found) if found.job != job || found.marker_added => {
                    tab.replace_job(&p.name, Some(&job));
                    changed = true;
                }
                Some(_) => {}
            }
        } else if tab.find_job(&p.name, None).is_some() {
            tab.replace_job(&p.name, None);
            changed = true;
            if self.cron_file.is_some() && tab.is_empty() {
                return Ok(Edit {
                    changed,
                    tab,
                    remove_file: true,
                });
            }
        }
        if !changed && !existing.is_empty() && !existing.ends_with(['\r', '\n']) {
            changed = true;
        }
        Ok(Edit {
            changed,
            tab,
            remove_file: false,
        })
    }

    /// The job's line: its times (or `@special`), the user in a cron file,
    /// the command; `#` first when disabled.
    fn job_line(&self) -> String {
        let p = &self.params;
        let job = p
            .job
            .as_deref()
            .unwrap_or_default()
            .trim_matches(['\r', '\n']);
        let prefix = if p.disabled { "#" } else { "" };
        let user = match (&self.cron_file, &p.user) {
            (Some(_), Some(user)) => format!("{user} "),
            _ => String::new(),
        };
        match p.special_time {
            Some(special) => format!("{prefix}@{} {user}{job}", special.word()),
            None => format!(
                "{prefix}{} {} {} {} {} {user}{job}",
                p.minute, p.hour, p.day, p.month, p.weekday
            ),
        }
    }

    fn header(&self) -> String {
        match (&self.cron_file, &self.params.user) {
            (Some(file), _) => file.clone(),
            (None, Some(user)) => format!("crontab for user \"{user}\""),
            (None, None) => "crontab".into(),
        }
    }

    fn crontab(&self) -> Cmd {
        let cmd = Cmd::without_end_of_options("crontab");
        match &self.params.user {
            Some(user) => cmd.opt("-u", user.as_str()),
            None => cmd,
        }
    }
}

impl Module for Cron {
    fn probe(&self) -> Option<Script> {
        let script = Script::new()
            .snippet("command -v crontab >/dev/null 2>&1 || { echo nocrontab=1; exit 0; }\n");
        Some(match &self.cron_file {
            Some(file) => script
                .set("f", file.as_str())
                .snippet("if [ -f \"$f\" ]; then echo \"content=$(base64 -w0 < \"$f\")\"; fi\n"),
            None => match &self.params.user {
                Some(user) => script.set("u", user.as_str()).snippet(
                    "if crontab -u \"$u\" -l >/dev/null 2>&1; then \
                     echo \"content=$(crontab -u \"$u\" -l | base64 -w0)\"; fi\n",
                ),
                None => script.snippet(
                    "if crontab -l >/dev/null 2>&1; then \
                     echo \"content=$(crontab -l | base64 -w0)\"; fi\n",
                ),
            },
        })
    }

    fn target(&self) -> Option<&str> {
        self.cron_file.as_deref()
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let facts = fields(&probe.stdout);
        if facts.contains_key("nocrontab") {
            return Err(ModuleError::Failed(
                "Failed to find required executable \"crontab\" in paths".into(),
            ));
        }
        let before = match facts.get("content") {
            Some(encoded) => {
                String::from_utf8_lossy(&decode_base64(encoded, "crontab")?).into_owned()
            }
            None => String::new(),
        };
        let (tab, existing) = CronTab::read(&before, self.cron_file.is_none());
        let original = tab.render();
        let edit = self.edit(tab, &existing)?;
        let mut data = Map::new();
        if let Some(file) = &self.params.cron_file {
            data.insert("cron_file".into(), Value::String(file.clone()));
        }
        if edit.remove_file {
            let file = self.cron_file.as_deref().unwrap_or_default();
            let exists = facts.contains_key("content");
            let mut plan = if exists {
                Plan::change(vec![Step::run(Script::of(
                    Cmd::new("rm").flag("-f").operand(file),
                ))])
                .with_diff(unified_diff(file, &existing, ""))
            } else {
                Plan::unchanged()
            };
            data.insert("state".into(), Value::String("absent".into()));
            plan.data = data;
            return Ok(plan);
        }
        let names =
            |items: Vec<String>| Value::Array(items.into_iter().map(Value::String).collect());
        data.insert("jobs".into(), names(edit.tab.job_names()));
        data.insert("envs".into(), names(edit.tab.env_names()));
        if !edit.changed {
            let mut plan = Plan::unchanged();
            plan.data = data;
            return Ok(plan);
        }
        let after = edit.tab.render();
        let mut steps = Vec::new();
        if self.params.backup {
            steps.push(Step::run_with_stdin(
                Script::new().snippet(
                    "umask 077; b=$(mktemp /tmp/crontabXXXXXXXX) && cat > \"$b\" && printf 'backup_file=%s\\n' \"$b\"\n",
                ),
                original.into_bytes(),
            ));
        }
        steps.push(match &self.cron_file {
            Some(file) => Step::Upload {
                dest: file.clone(),
                contents: after.clone().into_bytes(),
                mode: 0o644,
                owner: None,
            },
            None => Step::run_with_stdin(
                Script::of(self.crontab().arg("-")),
                after.clone().into_bytes(),
            ),
        });
        let diff = unified_diff(&self.header(), &existing, &after)
            .or_else(|| Some(format!("{}: newline at end of file\n", self.header())));
        let mut plan = Plan::change(steps).with_diff(diff);
        plan.data = data;
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "cron_tests.rs"]
mod tests;
