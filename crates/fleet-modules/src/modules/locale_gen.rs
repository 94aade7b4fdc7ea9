//! `locale_gen`: makes locales present or absent as community.general's
//! `locale_gen` does with glibc's `/etc/locale.gen`: it uncomments (or
//! comments out) the locales' lines there and runs `locale-gen`. Whether
//! the locales are present is what `locale -a` lists, before and after.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::group::Presence;
use crate::text::{decode_base64, fields};
use crate::{Applied, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput};

pub const PARAMS: &[&str] = &["name", "state"];

pub const LOCALE_GEN: &str = "/etc/locale.gen";
const SUPPORTED: &str = "/usr/share/i18n/SUPPORTED";

/// How `locale -a` may spell an encoding, and how Ansible compares it.
const NORMALIZATION: &[(&str, &str)] = &[
    (".utf8", ".UTF-8"),
    (".eucjp", ".EUC-JP"),
    (".iso885915", ".ISO-8859-15"),
    (".cp1251", ".CP1251"),
    (".koi8r", ".KOI8-R"),
    (".armscii8", ".ARMSCII-8"),
    (".euckr", ".EUC-KR"),
    (".gbk", ".GBK"),
    (".gb18030", ".GB18030"),
    (".euctw", ".EUC-TW"),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocaleGenParams {
    #[serde(deserialize_with = "names")]
    pub name: Vec<String>,
    #[serde(default)]
    pub state: Presence,
}

/// Ansible's `list` of `str`: a list, or a string split at commas.
fn names<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let text = |value: &Value| {
        super::de::scalar_text(value)
            .ok_or_else(|| serde::de::Error::custom(format!("expected a string, got {value}")))
    };
    match &value {
        Value::Array(items) => items.iter().map(text).collect(),
        Value::String(list) => Ok(list.split(',').map(str::to_string).collect()),
        other => Ok(vec![text(other)?]),
    }
}

#[derive(Debug)]
pub struct LocaleGen {
    params: LocaleGenParams,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: LocaleGenParams = crate::parse_params("locale_gen", params)?;
    if params.name.is_empty() || params.name.iter().any(|name| name.is_empty()) {
        return Err(ModuleError::Params {
            module: "locale_gen".into(),
            message: "name must list one or more locales".into(),
        });
    }
    if params.name.iter().any(|name| name.contains(['\n', '\0'])) {
        return Err(ModuleError::Params {
            module: "locale_gen".into(),
            message: "a locale name must be one line".into(),
        });
    }
    Ok(Box::new(LocaleGen { params }))
}

fn fix_case(name: &str) -> String {
    NORMALIZATION
        .iter()
        .fold(name.to_string(), |name, (from, to)| name.replace(from, to))
}

/// The locale of a line `[#] LOCALE CHARSET` of SUPPORTED or locale.gen
/// (Ansible's `^\s*#?\s*(\S+[._\S]+) (\S+)\s*$`).
pub(crate) fn listed_locale(line: &str) -> Option<&str> {
    let body = line.trim_start();
    let body = body
        .strip_prefix('#')
        .unwrap_or(body)
        .trim_start()
        .trim_end();
    let (locale, charset) = body.split_once(' ')?;
    let token = |text: &str| !text.is_empty() && !text.contains(char::is_whitespace);
    (locale.chars().count() >= 2 && token(locale) && token(charset)).then_some(locale)
}

/// Ansible's pass over `/etc/locale.gen`: a line `#?\s*NAME CHARSET`
/// becomes `NAME CHARSET` (present) or `# NAME CHARSET` (absent).
pub(crate) fn edit(before: &str, names: &[String], enable: bool) -> String {
    let mut out = String::new();
    for line in before.split_inclusive('\n') {
        let mut line = line.to_string();
        for name in names {
            let (body, newline) = match line.strip_suffix('\n') {
                Some(body) => (body.to_string(), "\n"),
                None => (line.clone(), ""),
            };
            let rest = body.strip_prefix('#').unwrap_or(&body);
            let rest = rest.trim_start_matches(|c: char| c.is_whitespace());
            let Some(charset) = rest
                .strip_prefix(name.as_str())
                .and_then(|rest| rest.strip_prefix(' '))
                .filter(|charset| !charset.is_empty())
            else {
                continue;
            };
            let prefix = if enable { "" } else { "# " };
            line = format!("{prefix}{name} {charset}{newline}");
        }
        out.push_str(&line);
    }
    out
}

impl LocaleGen {
    /// Whether every locale is in `locale -a`'s list.
    fn present(&self, listed: &str) -> bool {
        self.missing(listed, &self.params.name).is_empty()
    }

    fn missing<'a>(&self, listed: &str, names: &'a [String]) -> Vec<&'a String> {
        let listed: Vec<String> = listed.lines().map(fix_case).collect();
        names
            .iter()
            .filter(|name| !listed.contains(&fix_case(name)))
            .collect()
    }

    fn data(&self) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("name".into(), json!(self.params.name));
        data.insert("mechanism".into(), json!("glibc"));
        data.insert("ubuntu_mode".into(), json!(false));
        data
    }
}

fn decoded(
    facts: &std::collections::BTreeMap<&str, &str>,
    key: &str,
) -> Result<String, ModuleError> {
    match facts.get(key) {
        Some(encoded) => Ok(String::from_utf8_lossy(&decode_base64(encoded, key)?).into_owned()),
        None => Ok(String::new()),
    }
}

impl Module for LocaleGen {
    fn probe(&self) -> Option<Script> {
        Some(Script::new().snippet(
            "if [ -e /etc/locale.gen ]; then echo \"mode=$(stat -c %a /etc/locale.gen)\"; \
             echo \"gen=$(base64 -w0 < /etc/locale.gen)\"; \
             elif [ -e /var/lib/locales/supported.d ]; then echo legacy=1; fi\n\
             if [ -f /usr/share/i18n/SUPPORTED ]; then \
             echo \"supported=$(base64 -w0 < /usr/share/i18n/SUPPORTED)\"; fi\n\
             if a=$(locale -a); then echo \"locales=$(printf '%s' \"$a\" | base64 -w0)\"; \
             else echo \"locale_rc=$?\"; fi\n",
        ))
    }

    fn target(&self) -> Option<&str> {
        Some(LOCALE_GEN)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let facts = fields(&probe.stdout);
        if !facts.contains_key("gen") {
            return Err(ModuleError::Failed(if facts.contains_key("legacy") {
                "/var/lib/locales/supported.d (Ubuntu's legacy mechanism) is not supported by fleet's locale_gen: it edits /etc/locale.gen".into()
            } else {
                "/var/lib/locales/supported.d and /etc/locale.gen are missing. Is the package \"locales\" installed?".into()
            }));
        }
        if !facts.contains_key("supported") {
            return Err(ModuleError::Failed(format!(
                "[Errno 2] No such file or directory: '{SUPPORTED}'"
            )));
        }
        if let Some(rc) = facts.get("locale_rc") {
            return Err(ModuleError::Failed(format!("locale -a failed (rc={rc})")));
        }
        let supported = decoded(&facts, "supported")?;
        let listed = decoded(&facts, "locales")?;
        let available: Vec<&str> = supported.lines().filter_map(listed_locale).collect();
        let unlisted: Vec<String> = self
            .params
            .name
            .iter()
            .filter(|name| !available.contains(&name.as_str()))
            .cloned()
            .collect();
        let unavailable = self.missing(&listed, &unlisted);
        if !unavailable.is_empty() {
            let names: Vec<&str> = unavailable.iter().map(|name| name.as_str()).collect();
            return Err(ModuleError::Failed(format!(
                "The following locales you have entered are not available on your system: {}",
                names.join(", ")
            )));
        }
        let want = self.params.state == Presence::Present;
        let present = self.present(&listed);
        if present == want {
            return Ok(Plan {
                data: self.data(),
                ..Plan::unchanged()
            });
        }
        let before = decoded(&facts, "gen")?;
        let after = edit(&before, &self.params.name, want);
        let mode = facts
            .get("mode")
            .and_then(|mode| u32::from_str_radix(mode.trim(), 8).ok())
            .unwrap_or(0o644);
        let steps = vec![
            Step::Upload {
                dest: LOCALE_GEN.into(),
                contents: after.clone().into_bytes(),
                mode,
                owner: None,
            },
            Step::run(
                Script::of(Cmd::new("locale-gen"))
                    .snippet("echo \"locales=$(locale -a | base64 -w0)\"\n"),
            ),
        ];
        let diff = crate::text::unified_diff(LOCALE_GEN, &before, &after);
        let mut plan = Plan::change(steps).with_diff(diff);
        plan.data = self.data();
        Ok(plan)
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        super::apt_sources::outcome(outputs)
    }

    /// Changed when `locale -a` says otherwise than before, as Ansible
    /// reports it.
    fn applied(&self, outputs: &[StepOutput]) -> Option<Applied> {
        let out = outputs.last()?;
        let encoded = fields(&out.stdout).get("locales")?.to_string();
        let listed =
            String::from_utf8_lossy(&decode_base64(&encoded, "locales").ok()?).into_owned();
        let want = self.params.state == Presence::Present;
        Some(Applied {
            changed: self.present(&listed) == want,
            data: self.data(),
            msg: None,
        })
    }
}

#[cfg(test)]
#[path = "locale_gen_tests.rs"]
mod tests;
