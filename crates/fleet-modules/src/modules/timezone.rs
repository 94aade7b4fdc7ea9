//! `timezone`: sets the time zone and whether the RTC keeps local time, as
//! community.general's `timezone` does on Linux: with `timedatectl` where
//! it answers (systemd), else Debian's way (`/etc/timezone`, a link
//! `/etc/localtime`, `dpkg-reconfigure tzdata`; `/etc/default/rcS` and
//! `hwclock --systohc` for the RTC).

use serde::Deserialize;
use serde_json::Value;

use crate::text::{decode_base64, fields};
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput};

pub const PARAMS: &[&str] = &["name", "hwclock", "rtc"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimezoneParams {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, alias = "rtc")]
    pub hwclock: Option<String>,
}

#[derive(Debug)]
pub struct Timezone {
    params: TimezoneParams,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "timezone".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: TimezoneParams = crate::parse_params("timezone", params)?;
    if params.name.is_none() && params.hwclock.is_none() {
        return Err(invalid("one of the following is required: hwclock, name"));
    }
    if let Some(hwclock) = &params.hwclock
        && hwclock != "local"
        && hwclock != "UTC"
    {
        return Err(invalid(format!(
            "value of hwclock must be one of: local, UTC, got: {hwclock}"
        )));
    }
    if let Some(name) = &params.name
        && (name.is_empty() || name.contains(['\n', '\0']))
    {
        return Err(invalid("name must be one non-empty line"));
    }
    Ok(Box::new(Timezone { params }))
}

/// Ansible's `boolean()` of a setting's text.
fn truthy(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t"
    )
}

/// The first group of `^\s*LABEL\s*:\s*(\S+)` in `timedatectl status`
/// (`Time zone` may be written `Timezone`).
fn status_value(status: &str, labels: &[&str]) -> Option<String> {
    status.lines().find_map(|line| {
        let line = line.trim_start();
        let rest = labels.iter().find_map(|label| line.strip_prefix(label))?;
        let value = rest.trim_start().strip_prefix(':')?;
        value.split_whitespace().next().map(str::to_string)
    })
}

/// What `timedatectl status` says: `(hwclock, name)`.
pub(crate) fn from_status(status: &str) -> (Option<String>, Option<String>) {
    let rtc = status_value(status, &["RTC in local TZ"])
        .map(|value| if truthy(&value) { "local" } else { "UTC" }.to_string());
    let zone = status_value(status, &["Time zone", "Timezone"]);
    (rtc, zone)
}

/// Ansible's `_edit_file`: every line `matches` drops, `line` goes where
/// the first of them was (else first). Returns the text and how many were
/// dropped.
pub(crate) fn edit_file(
    before: &str,
    matches: impl Fn(&str) -> bool,
    line: &str,
) -> (String, usize) {
    let lines: Vec<&str> = before.split_inclusive('\n').collect();
    let first = lines.iter().position(|l| matches(l)).unwrap_or(0);
    let dropped = lines.iter().filter(|l| matches(l)).count();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i == first {
            out.push_str(line);
        }
        if !matches(l) {
            out.push_str(l);
        }
    }
    if lines.is_empty() || first >= lines.len() {
        out.push_str(line);
    }
    (out, dropped)
}

/// `^UTC\s*=\s*(\S+)` of `/etc/default/rcS`.
fn rcs_utc(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("UTC")?.trim_start();
    rest.strip_prefix('=')?.split_whitespace().next()
}

/// The zone a link to a zone file names, as Ansible reads it.
fn linked_zone(target: &str) -> Option<&str> {
    ["/usr/share/zoneinfo/", "/etc/zoneinfo/"]
        .iter()
        .filter_map(|dir| target.find(dir).map(|at| (at, dir.len())))
        .min()
        .map(|(at, len)| &target[at + len..])
}

/// The state the module reads and sets, in Ansible's order of keys.
type Values = Vec<(&'static str, String)>;

fn render(values: &Values) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|(key, value)| format!("'{key}': '{value}'"))
        .collect();
    format!("{{{}}}", items.join(", "))
}

fn abort(message: &str, done: &[String]) -> ModuleError {
    let mut text = format!("Error message:\n{message}");
    if !done.is_empty() {
        text.push_str("\nOther message(s):\n");
        text.push_str(&done.join("\n"));
    }
    ModuleError::Failed(text)
}

impl Timezone {
    fn planned(&self) -> Values {
        let mut values = Vec::new();
        if let Some(hwclock) = &self.params.hwclock {
            values.push(("hwclock", hwclock.clone()));
        }
        if let Some(name) = &self.params.name {
            values.push(("name", name.clone()));
        }
        values
    }

    /// The values without systemd, from Debian's files.
    fn debian_values(
        &self,
        facts: &std::collections::BTreeMap<&str, &str>,
    ) -> Result<Values, ModuleError> {
        let text = |key: &str| -> Result<Option<String>, ModuleError> {
            facts
                .get(key)
                .map(|encoded| {
                    Ok(String::from_utf8_lossy(&decode_base64(encoded, key)?).into_owned())
                })
                .transpose()
        };
        let mut values = Vec::new();
        if let Some(planned) = &self.params.hwclock {
            let rcs = text("rcs")?;
            let mut value = match rcs.as_deref().and_then(|t| t.lines().find_map(rcs_utc)) {
                Some(flag) if truthy(flag) => "UTC".to_string(),
                Some(_) => "local".to_string(),
                None => "n/a".to_string(),
            };
            if value == *planned {
                let adjtime = text("adjtime")?.unwrap_or_default();
                value = match adjtime.lines().find(|l| *l == "UTC" || *l == "LOCAL") {
                    Some("LOCAL") => "local".into(),
                    _ => "UTC".into(),
                };
            }
            values.push(("hwclock", value));
        }
        if let Some(planned) = &self.params.name {
            let file = text("timezone")?;
            let mut value = file
                .as_deref()
                .and_then(|t| {
                    t.lines().find_map(|l| {
                        l.split_whitespace()
                            .next()
                            .filter(|_| !l.starts_with(char::is_whitespace))
                    })
                })
                .unwrap_or("n/a")
                .to_string();
            if value == *planned {
                if let Some(link) = text("link")? {
                    value = match (
                        facts.contains_key("link_ok"),
                        linked_zone(link.trim_end_matches('\n')),
                    ) {
                        (false, _) | (true, None) => "n/a".into(),
                        (true, Some(zone)) => zone.to_string(),
                    };
                } else if !facts.contains_key("same") {
                    value = "n/a".into();
                }
            }
            values.push(("name", value));
        }
        Ok(values)
    }
}

impl Module for Timezone {
    fn probe(&self) -> Option<Script> {
        let zone = self.params.name.clone().unwrap_or_default();
        Some(Script::new().set("z", zone.as_str()).snippet(
            "if t=$(command -v timedatectl) && st=$(LANGUAGE=C LC_ALL=C timedatectl status 2>/dev/null); then \
             echo \"timedatectl=$t\"; echo \"status=$(printf '%s' \"$st\" | base64 -w0)\"; fi\n\
             if [ -n \"$z\" ] && [ -f \"/usr/share/zoneinfo/$z\" ]; then echo zone=1; fi\n\
             if command -v dpkg-reconfigure >/dev/null 2>&1; then echo dpkg=1; fi\n\
             if h=$(command -v hwclock); then echo \"hwclock=$h\"; fi\n\
             if [ -f /etc/timezone ]; then echo \"timezone=$(base64 -w0 < /etc/timezone)\"; fi\n\
             if [ -f /etc/default/rcS ]; then echo \"rcs=$(base64 -w0 < /etc/default/rcS)\"; fi\n\
             if [ -f /etc/adjtime ]; then echo \"adjtime=$(base64 -w0 < /etc/adjtime)\"; fi\n\
             if [ -L /etc/localtime ]; then echo \"link=$(readlink /etc/localtime | base64 -w0)\"; \
             if [ -e /etc/localtime ]; then echo link_ok=1; fi; \
             elif [ -n \"$z\" ] && cmp -s /etc/localtime \"/usr/share/zoneinfo/$z\"; then echo same=1; fi\n",
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let facts = fields(&probe.stdout);
        if let Some(name) = &self.params.name
            && !facts.contains_key("zone")
        {
            return Err(abort(
                &format!("given timezone \"{name}\" is not available"),
                &[],
            ));
        }
        let planned = self.planned();
        let systemd = facts.get("timedatectl").copied();
        let before = match (systemd, facts.get("status")) {
            (Some(_), Some(status)) => {
                let status =
                    String::from_utf8_lossy(&decode_base64(status, "status")?).into_owned();
                let (rtc, zone) = from_status(&status);
                let mut values = Vec::new();
                for (key, _) in &planned {
                    let value = if *key == "hwclock" { &rtc } else { &zone };
                    let value = value.clone().ok_or_else(|| {
                        ModuleError::Failed(format!("timedatectl status does not say the {key}"))
                    })?;
                    values.push((*key, value));
                }
                values
            }
            _ if !facts.contains_key("dpkg") => {
                return Err(ModuleError::Failed(
                    "fleet's timezone needs timedatectl (systemd) or a Debian host (dpkg-reconfigure)"
                        .into(),
                ));
            }
            _ => {
                if self.params.hwclock.is_some() && !facts.contains_key("hwclock") {
                    return Err(ModuleError::Failed(
                        "Failed to find required executable \"hwclock\" in paths".into(),
                    ));
                }
                self.debian_values(&facts)?
            }
        };
        let changes: Vec<(&str, &str)> = planned
            .iter()
            .zip(&before)
            .filter(|((_, want), (_, have))| want != have)
            .map(|((key, want), _)| (*key, want.as_str()))
            .collect();
        if changes.is_empty() {
            return Ok(Plan::unchanged());
        }
        let mut steps = Vec::new();
        let mut messages = Vec::new();
        for (key, value) in &changes {
            match (systemd, *key) {
                (Some(path), "hwclock") => {
                    let flag = if *value == "local" { "yes" } else { "no" };
                    steps.push(Step::run(Script::of(
                        Cmd::new("timedatectl").arg("set-local-rtc").arg(flag),
                    )));
                    messages.push(format!("executed `{path} set-local-rtc {flag}`"));
                }
                (Some(path), _) => {
                    steps.push(Step::run(Script::of(
                        Cmd::new("timedatectl").arg("set-timezone").operand(*value),
                    )));
                    messages.push(format!("executed `{path} set-timezone {value}`"));
                }
                (None, "hwclock") => {
                    let (utc, option) = if *value == "local" {
                        ("no", "--localtime")
                    } else {
                        ("yes", "--utc")
                    };
                    let rcs = facts
                        .get("rcs")
                        .map(|e| decode_base64(e, "rcs"))
                        .transpose()?
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let (text, dropped) =
                        edit_file(&rcs, |l| rcs_utc(l).is_some(), &format!("UTC={utc}\n"));
                    steps.push(Step::Upload {
                        dest: "/etc/default/rcS".into(),
                        contents: text.into_bytes(),
                        mode: 0o644,
                        owner: None,
                    });
                    messages.push(format!(
                        "Added 1 line and deleted {dropped} line(s) on /etc/default/rcS"
                    ));
                    steps.push(Step::run(Script::of(
                        Cmd::new("hwclock").flag("--systohc").flag(option),
                    )));
                    let path = facts.get("hwclock").copied().unwrap_or("hwclock");
                    messages.push(format!("executed `{path} --systohc {option}`"));
                }
                (None, _) => {
                    let file = facts
                        .get("timezone")
                        .map(|e| decode_base64(e, "timezone"))
                        .transpose()?
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let (text, dropped) = edit_file(
                        &file,
                        |l| !l.is_empty() && !l.starts_with(char::is_whitespace),
                        &format!("{value}\n"),
                    );
                    steps.push(Step::Upload {
                        dest: "/etc/timezone".into(),
                        contents: text.into_bytes(),
                        mode: 0o644,
                        owner: None,
                    });
                    messages.push(format!(
                        "Added 1 line and deleted {dropped} line(s) on /etc/timezone"
                    ));
                    let zonefile = format!("/usr/share/zoneinfo/{value}");
                    steps.push(Step::run(
                        Script::new().all([
                            Cmd::new("ln")
                                .flag("-sf")
                                .operand(zonefile)
                                .operand("/etc/localtime"),
                            Cmd::new("dpkg-reconfigure")
                                .opt("--frontend", "noninteractive")
                                .operand("tzdata"),
                        ]),
                    ));
                }
            }
        }
        if systemd.is_some() {
            // Ansible reads the state again and fails when it is not the
            // planned one.
            steps.push(Step::run(
                Script::new().snippet("LANGUAGE=C LC_ALL=C timedatectl status\n"),
            ));
        }
        let diff: String = before
            .iter()
            .zip(&planned)
            .map(|((key, have), (_, want))| format!("{key}: {have} -> {want}\n"))
            .collect();
        let mut plan = Plan::change(steps).with_diff(Some(diff));
        plan.msg = Some(messages.join("\n"));
        Ok(plan)
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        super::apt_sources::outcome(outputs)?;
        let Some(last) = outputs.last().filter(|_| outputs.len() > 1) else {
            return Ok(());
        };
        let (rtc, zone) = from_status(&last.stdout);
        if rtc.is_none() && zone.is_none() {
            return Ok(());
        }
        let planned = self.planned();
        let after: Values = planned
            .iter()
            .map(|(key, _)| {
                let value = if *key == "hwclock" { &rtc } else { &zone };
                (*key, value.clone().unwrap_or_default())
            })
            .collect();
        if after != planned {
            return Err(abort(
                &format!(
                    "still not desired state, though changes have made - planned: {}, after: {}",
                    render(&planned),
                    render(&after)
                ),
                &[],
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "timezone_tests.rs"]
mod tests;
