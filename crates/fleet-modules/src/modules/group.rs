//! `group`: creates, changes and removes local groups with
//! `groupadd`/`groupmod`/`groupdel`, like Ansible's `group`.

use serde::Deserialize;
use serde_json::Value;

use super::de;
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &["name", "state", "gid", "system"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupParams {
    pub name: String,
    #[serde(default)]
    pub state: Presence,
    #[serde(default, deserialize_with = "de::optional_whole_number")]
    pub gid: Option<u32>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub system: bool,
}

/// `state: present|absent`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    #[default]
    Present,
    Absent,
}

#[derive(Debug)]
pub struct Group {
    params: GroupParams,
}

/// Checks a user or group name: what `useradd`/`groupadd` accept, and safe
/// to print in a `key=value` probe line.
pub(crate) fn check_account_name(module: &str, name: &str) -> Result<(), ModuleError> {
    if fleet_shell::is_account_name(name) {
        Ok(())
    } else {
        Err(ModuleError::Params {
            module: module.to_string(),
            message: format!("invalid name {name:?}"),
        })
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: GroupParams = parse_params("group", params)?;
    check_account_name("group", &params.name)?;
    Ok(Box::new(Group { params }))
}

impl Module for Group {
    fn probe(&self) -> Option<Script> {
        Some(
            Script::new()
                .set("name", self.params.name.as_str())
                .snippet(
                    "if entry=$(getent group \"$name\"); then gid=${entry#*:*:}; \
                     echo \"group=${entry%%:*}:${gid%%:*}\"; else echo group=; fi\n",
                ),
        )
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = crate::text::fields(&probe.stdout);
        let name = self.params.name.as_str();
        let current_gid = facts
            .get("group")
            .and_then(|entry| entry.split_once(':'))
            .map(|(_, gid)| gid.trim());
        let run = |cmd: Cmd| vec![Step::run(Script::of(cmd.operand(name)))];
        let plan = match (self.params.state, current_gid) {
            (Presence::Absent, None) => Plan::unchanged(),
            (Presence::Absent, Some(_)) => Plan::change(run(Cmd::new("groupdel")))
                .with_diff(Some("group: present -> absent\n".into())),
            (Presence::Present, None) => {
                let mut groupadd = Cmd::new("groupadd").flag_if(self.params.system, "-r");
                if let Some(gid) = self.params.gid {
                    groupadd = groupadd.opt("-g", gid.to_string());
                }
                Plan::change(run(groupadd)).with_diff(Some("group: absent -> present\n".into()))
            }
            (Presence::Present, Some(gid)) => match self.params.gid {
                Some(wanted) if gid != wanted.to_string() => {
                    Plan::change(run(Cmd::new("groupmod").opt("-g", wanted.to_string())))
                        .with_diff(Some(format!("gid: {gid} -> {wanted}\n")))
                }
                _ => Plan::unchanged(),
            },
        };
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::{run, scripts};
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    fn group(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    #[test]
    fn creates_a_missing_group() {
        let module = group(json!({"name": "app", "gid": 1500, "system": true}));
        assert_eq!(
            module.probe().unwrap(),
            "name=app\nif entry=$(getent group \"$name\"); then gid=${entry#*:*:}; \
             echo \"group=${entry%%:*}:${gid%%:*}\"; else echo group=; fi\n"
        );
        let plan = module.plan(&Probe::ok("group=\n")).unwrap();
        assert_eq!(scripts(&plan.steps), ["groupadd -r -g 1500 -- app\n"]);
        assert_eq!(plan.diff.as_deref(), Some("group: absent -> present\n"));
        assert!(!module.plan(&Probe::ok("group=app:1500\n")).unwrap().changed);
    }

    #[test]
    fn changes_the_gid() {
        let module = group(json!({"name": "app", "gid": 1500}));
        let plan = module.plan(&Probe::ok("group=app:1001\n")).unwrap();
        assert_eq!(scripts(&plan.steps), ["groupmod -g 1500 -- app\n"]);
        assert_eq!(plan.diff.as_deref(), Some("gid: 1001 -> 1500\n"));
        let any_gid = group(json!({"name": "app"}));
        assert!(
            !any_gid
                .plan(&Probe::ok("group=app:1001\n"))
                .unwrap()
                .changed
        );
    }

    #[test]
    fn removes_a_present_group() {
        let module = group(json!({"name": "app", "state": "absent"}));
        let plan = module.plan(&Probe::ok("group=app:1001\n")).unwrap();
        assert_eq!(scripts(&plan.steps), ["groupdel -- app\n"]);
        assert!(!module.plan(&Probe::ok("group=\n")).unwrap().changed);
    }

    #[test]
    fn the_probe_parses_getent() {
        let getent = "getent() { [ \"$1 $2\" = 'group app' ] && echo 'app:x:1500:alice,bob'; }\n";
        let module = group(json!({"name": "app"}));
        assert_eq!(
            run(getent, &module.probe().unwrap(), b"").stdout,
            "group=app:1500\n"
        );
        let other = group(json!({"name": "web"}));
        assert_eq!(run(getent, &other.probe().unwrap(), b"").stdout, "group=\n");
    }

    #[test]
    fn rejects_bad_params() {
        let err = build(json!({"name": "app", "gdi": 1}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("unknown field `gdi`"), "{err}");
        assert!(build(json!({"name": "a b"}), &NoFiles).is_err());
        assert!(build(json!({"name": "-o"}), &NoFiles).is_err());
        assert!(build(json!({"gid": 5}), &NoFiles).is_err());
    }
}
