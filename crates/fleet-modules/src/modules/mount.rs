//! `mount`: configures mount points in fstab and mounts them, as
//! ansible.posix's `mount` does on Linux: the same fstab lines, the same
//! `mount`, `umount` and `mount -o remount` commands, the same checks of
//! what is mounted (`/proc/self/mountinfo` and the mount point's device).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::de;
use super::mount_fstab::{Entry, linux_mounts};
use crate::text::{decode_base64, fields, unified_diff};
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

pub const PARAMS: &[&str] = &[
    "path",
    "name",
    "src",
    "fstype",
    "opts",
    "opts_no_log",
    "dump",
    "passno",
    "state",
    "fstab",
    "boot",
    "backup",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Absent,
    AbsentFromFstab,
    Mounted,
    Present,
    Unmounted,
    Remounted,
    Ephemeral,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountParams {
    #[serde(alias = "name")]
    pub path: String,
    #[serde(default)]
    pub src: Option<String>,
    #[serde(default)]
    pub fstype: Option<String>,
    #[serde(default)]
    pub opts: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub opts_no_log: bool,
    #[serde(default = "zero", deserialize_with = "optional_text")]
    pub dump: Option<String>,
    #[serde(default = "zero", deserialize_with = "optional_text")]
    pub passno: Option<String>,
    pub state: State,
    #[serde(default)]
    pub fstab: Option<String>,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub boot: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
}

fn zero() -> Option<String> {
    Some("0".into())
}

/// A `str` param that may be a number (`dump: 1`) or null.
fn optional_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        value => de::scalar_text(&value)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("expected a string, got {value}"))),
    }
}

#[derive(Debug)]
pub struct Mount {
    state: State,
    entry: Entry,
    fstab: String,
    /// `fstab` was given: `mount -T` names it.
    own_fstab: bool,
    backup: bool,
    opts_no_log: bool,
    boot: bool,
    warnings: Vec<String>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "mount".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let p: MountParams = parse_params("mount", params)?;
    let needs = matches!(p.state, State::Mounted | State::Present | State::Ephemeral);
    let missing: Vec<&str> = [("src", p.src.is_none()), ("fstype", p.fstype.is_none())]
        .iter()
        .filter(|(_, absent)| *absent && needs)
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        let state = serde_json::to_value(p.state).ok();
        let state = state.as_ref().and_then(Value::as_str).unwrap_or_default();
        return Err(invalid(format!(
            "state is {state} but all of the following are missing: {}",
            missing.join(", ")
        )));
    }
    let one_line = |value: &str| !value.contains(['\n', '\0']);
    if p.path.is_empty()
        || ![Some(&p.path), p.src.as_ref(), p.fstab.as_ref()]
            .into_iter()
            .flatten()
            .all(|v| one_line(v))
    {
        return Err(invalid(
            "path, src and fstab must be one non-empty line each",
        ));
    }
    let mut warnings = Vec::new();
    let mut opts = p.opts.clone().unwrap_or_else(|| "defaults".into());
    let has_noauto = opts.split(',').any(|opt| opt == "noauto");
    if p.boot && has_noauto {
        warnings.push("Ignore the 'boot' due to 'opts' contains 'noauto'.".to_string());
    } else if !p.boot {
        opts.push_str(",noauto");
    }
    let own_fstab = p.fstab.as_deref().is_some_and(|f| f != "/etc/fstab");
    Ok(Box::new(Mount {
        state: p.state,
        entry: Entry {
            src: p.src,
            name: p.path,
            fstype: p.fstype,
            opts,
            dump: p.dump,
            passno: p.passno,
        },
        fstab: p.fstab.unwrap_or_else(|| "/etc/fstab".into()),
        own_fstab,
        backup: p.backup,
        opts_no_log: p.opts_no_log,
        boot: p.boot,
        warnings,
    }))
}

/// `if out=$(CMD 2>&1); then`, as snippets around a command.
fn attempt(script: Script, cmd: Cmd) -> Script {
    script
        .snippet("if out=$(exec 2>&1\n")
        .cmd(cmd)
        .snippet("); then :\n")
}

impl Mount {
    fn ephemeral(&self) -> bool {
        self.state == State::Ephemeral
    }

    /// What the module returns besides `changed`.
    fn data(&self, backup_file: &str) -> Map<String, Value> {
        let e = &self.entry;
        let opts = if self.opts_no_log {
            "********".to_string()
        } else {
            e.opts.clone()
        };
        let mut data = Map::new();
        data.insert("name".into(), json!(e.name));
        data.insert("opts".into(), json!(opts));
        data.insert("dump".into(), json!(e.shown_dump()));
        data.insert("passno".into(), json!(e.shown_passno()));
        data.insert("fstab".into(), json!(self.fstab));
        data.insert("boot".into(), json!(if self.boot { "yes" } else { "no" }));
        data.insert("warnings".into(), json!(self.warnings));
        data.insert("backup_file".into(), json!(backup_file));
        if let Some(src) = &e.src {
            data.insert("src".into(), json!(src));
        }
        if let Some(fstype) = &e.fstype {
            data.insert("fstype".into(), json!(fstype));
        }
        data
    }

    fn base_script(&self) -> Script {
        Script::new()
            .set("p", self.entry.name.as_str())
            .set("f", self.fstab.as_str())
    }
}

/// What the probe learnt.
pub(crate) struct Facts {
    pub fstab: Option<String>,
    pub fstab_mode: u32,
    /// `os.path.ismount` (its device or inode rule).
    pub ismount: bool,
    pub exists: bool,
    /// The nearest existing directory at or above the mount point.
    pub ancestor: String,
    pub mounts: std::collections::BTreeMap<String, super::mount_fstab::Mounted>,
    /// `mount -v` (for `ephemeral`).
    pub mount_v: String,
}

pub(crate) fn read_facts(probe: &Probe) -> Result<Facts, ModuleError> {
    if probe.rc != 0 {
        return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
    }
    let f = fields(&probe.stdout);
    let text = |key: &str| -> Result<Option<String>, ModuleError> {
        f.get(key)
            .map(|e| Ok(String::from_utf8_lossy(&decode_base64(e, key)?).into_owned()))
            .transpose()
    };
    let ismount = match (f.get("self"), f.get("parent")) {
        (Some(a), Some(b)) => {
            let a: Vec<&str> = a.split(':').collect();
            let b: Vec<&str> = b.split(':').collect();
            a.len() == 2 && b.len() == 2 && (a[0] != b[0] || a[1] == b[1])
        }
        _ => false,
    };
    Ok(Facts {
        fstab: text("fstab")?,
        fstab_mode: f
            .get("fstab_mode")
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .unwrap_or(0o644),
        ismount,
        exists: f.contains_key("exists"),
        ancestor: text("ancestor")?.unwrap_or_else(|| "/".into()),
        mounts: linux_mounts(&text("mountinfo")?.unwrap_or_default()),
        mount_v: text("mount_v")?.unwrap_or_default(),
    })
}

#[path = "mount_plan.rs"]
mod mount_plan;

impl Module for Mount {
    fn probe(&self) -> Option<Script> {
        let script = self.base_script().snippet(
            "if [ -f \"$f\" ]; then echo \"fstab=$(base64 -w0 < \"$f\")\"; \
             echo \"fstab_mode=$(stat -c %a -- \"$f\")\"; fi\n\
             if [ -e \"$p\" ]; then echo exists=1; fi\n\
             if [ -e \"$p\" ] && [ ! -L \"$p\" ] && d=$(realpath -- \"$p/..\" 2>/dev/null); then \
             echo \"self=$(stat -c %d:%i -- \"$p\")\"; echo \"parent=$(stat -c %d:%i -- \"$d\")\"; fi\n\
             a=$p; while [ ! -e \"$a\" ] && [ \"$a\" != / ] && [ \"$a\" != . ]; do a=$(dirname -- \"$a\"); done\n\
             echo \"ancestor=$(printf '%s' \"$a\" | base64 -w0)\"\n\
             if [ -r /proc/self/mountinfo ]; then echo \"mountinfo=$(base64 -w0 < /proc/self/mountinfo)\"; fi\n",
        );
        if self.ephemeral() {
            return Some(script.snippet("echo \"mount_v=$(mount -v 2>/dev/null | base64 -w0)\"\n"));
        }
        Some(script)
    }

    fn target(&self) -> Option<&str> {
        Some(&self.fstab)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = read_facts(probe)?;
        let planned = self.plan_with(&facts)?;
        let mut plan = if planned.changed {
            Plan::change(planned.steps)
        } else {
            Plan::upkeep(planned.steps)
        };
        if let Some((before, after)) = &planned.fstab_edit {
            plan.diff = unified_diff(&self.fstab, before, after);
        }
        if let Some(note) = planned.mount_note {
            let diff = plan.diff.take().unwrap_or_default();
            plan.diff = Some(format!("{diff}{note}\n"));
        }
        plan.data = self.data("");
        Ok(plan)
    }

    fn applied(&self, outputs: &[crate::StepOutput]) -> Option<crate::Applied> {
        let backup = outputs.iter().find_map(|out| {
            fields(&out.stdout)
                .get("backup_file")
                .map(|b| b.to_string())
        })?;
        Some(crate::Applied {
            changed: true,
            data: self.data(&backup),
            msg: None,
        })
    }

    fn outcome(&self, outputs: &[crate::StepOutput]) -> Result<(), ModuleError> {
        super::apt_sources::outcome(outputs)
    }
}

pub(crate) use mount_plan::Planned;

#[cfg(test)]
#[path = "mount_tests.rs"]
mod tests;
