//! `user`: creates, changes and removes local users with
//! `useradd`/`usermod`/`userdel`, like Ansible's `user`. The password hash
//! goes to `chpasswd -e` on stdin and never appears in a diff or message.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::apt::StringList;
use super::de;
use super::group::{Presence, check_account_name};
use crate::shell::quote;
use crate::text::fields;
use crate::{Controller, Module, ModuleError, Plan, Probe, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "name",
    "state",
    "system",
    "shell",
    "home",
    "create_home",
    "uid",
    "group",
    "groups",
    "append",
    "password",
    "update_password",
    "comment",
    "remove",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserParams {
    pub name: String,
    #[serde(default)]
    pub state: Presence,
    #[serde(default, deserialize_with = "de::boolean")]
    pub system: bool,
    pub shell: Option<String>,
    pub home: Option<String>,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub create_home: bool,
    pub uid: Option<u32>,
    /// The primary group, by name or gid.
    pub group: Option<String>,
    /// Supplementary groups; with `append: false` exactly these.
    pub groups: Option<StringList>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub append: bool,
    /// A crypted hash, as in /etc/shadow.
    pub password: Option<String>,
    #[serde(default)]
    pub update_password: UpdatePassword,
    pub comment: Option<String>,
    /// With `state: absent`, also remove the home directory and mail spool.
    #[serde(default, deserialize_with = "de::boolean")]
    pub remove: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdatePassword {
    #[default]
    Always,
    OnCreate,
}

#[derive(Debug)]
pub struct User {
    params: UserParams,
    groups: Option<Vec<String>>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "user".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: UserParams = parse_params("user", params)?;
    check_account_name("user", &params.name)?;
    let groups = params.groups.as_ref().map(StringList::to_vec);
    for group in params.group.iter().chain(groups.iter().flatten()) {
        check_account_name("user", group)?;
    }
    let fields = [("shell", &params.shell), ("home", &params.home)];
    for (name, value) in fields.into_iter().chain([("comment", &params.comment)]) {
        if value.as_ref().is_some_and(|v| v.contains([':', '\n'])) {
            return Err(invalid(format!("{name} must not contain `:` or a newline")));
        }
    }
    if params
        .password
        .as_ref()
        .is_some_and(|p| p.contains([':', '\n']))
    {
        return Err(invalid(
            "password must be a crypted hash (no `:` or newline)",
        ));
    }
    Ok(Box::new(User { params, groups }))
}

/// The user as the probe found it.
struct Current<'a> {
    uid: &'a str,
    gid: &'a str,
    comment: &'a str,
    home: &'a str,
    shell: &'a str,
    primary: &'a str,
    supplementary: BTreeSet<&'a str>,
}

impl<'a> Current<'a> {
    fn parse(
        passwd: &'a str,
        primary: &'a str,
        groups: &'a str,
    ) -> Result<Current<'a>, ModuleError> {
        let entry: Vec<&str> = passwd.split(':').collect();
        let [_, _, uid, gid, comment, home, shell] = entry[..] else {
            return Err(ModuleError::Probe(format!("passwd entry {passwd:?}")));
        };
        let supplementary = groups
            .split_whitespace()
            .filter(|g| *g != primary)
            .collect();
        Ok(Current {
            uid,
            gid,
            comment,
            home,
            shell,
            primary,
            supplementary,
        })
    }
}

impl User {
    fn create(&self, own_group_exists: bool) -> Vec<Step> {
        let p = &self.params;
        let mut args = vec!["useradd".to_string()];
        if p.system {
            args.push("-r".into());
        }
        if let Some(uid) = p.uid {
            args.push(format!("-u {uid}"));
        }
        match (&p.group, own_group_exists) {
            (Some(group), _) => args.push(format!("-g {}", quote(group))),
            (None, true) => args.push(format!("-g {}", quote(&p.name))),
            (None, false) => {}
        }
        if let Some(groups) = self.groups.as_ref().filter(|g| !g.is_empty()) {
            args.push(format!("-G {}", quote(&groups.join(","))));
        }
        let options = [("-s", &p.shell), ("-d", &p.home), ("-c", &p.comment)];
        for (flag, value) in options {
            if let Some(value) = value {
                args.push(format!("{flag} {}", quote(value)));
            }
        }
        args.push(if p.create_home { "-m" } else { "-M" }.into());
        args.push(quote(&p.name));
        let mut steps = vec![Step::run(args.join(" "))];
        steps.extend(self.password_step());
        steps
    }

    fn password_step(&self) -> Option<Step> {
        self.params.password.as_ref().map(|hash| Step::Run {
            script: "chpasswd -e".into(),
            stdin: Some(format!("{}:{hash}\n", self.params.name).into_bytes().into()),
        })
    }

    /// `usermod` options and diff lines for an existing user.
    fn modify(&self, current: &Current, shadow: &str) -> (Vec<Step>, Vec<String>) {
        let p = &self.params;
        let mut options = Vec::new();
        let mut diff = Vec::new();
        let mut set = |flag: &str, field: &str, from: &str, to: &str| {
            if from != to {
                options.push(format!("{flag} {}", quote(to)));
                diff.push(format!("{field}: {from} -> {to}"));
            }
        };
        if let Some(uid) = p.uid {
            set("-u", "uid", current.uid, &uid.to_string());
        }
        if let Some(group) = &p.group {
            let now = if group.bytes().all(|b| b.is_ascii_digit()) {
                current.gid
            } else {
                current.primary
            };
            if now != group {
                set("-g", "group", current.primary, group);
            }
        }
        if let Some(shell) = &p.shell {
            set("-s", "shell", current.shell, shell);
        }
        if let Some(home) = &p.home {
            set("-d", "home", current.home, home);
        }
        if let Some(comment) = &p.comment {
            set("-c", "comment", current.comment, comment);
        }
        if let Some(groups) = &self.groups {
            let primary = p.group.as_deref().unwrap_or(current.primary);
            let wanted: BTreeSet<&str> = groups
                .iter()
                .map(String::as_str)
                .filter(|g| *g != primary)
                .collect();
            let list = |set: &BTreeSet<&str>| set.iter().copied().collect::<Vec<_>>().join(",");
            let target: BTreeSet<&str> = if p.append {
                current.supplementary.union(&wanted).copied().collect()
            } else {
                wanted.clone()
            };
            if target != current.supplementary {
                let flag = if p.append { "-a -G" } else { "-G" };
                options.push(format!("{flag} {}", quote(&list(&wanted))));
                diff.push(format!(
                    "groups: {} -> {}",
                    list(&current.supplementary),
                    list(&target)
                ));
            }
        }
        let mut steps = Vec::new();
        if !options.is_empty() {
            steps.push(Step::run(format!(
                "usermod {} {}",
                options.join(" "),
                quote(&p.name)
            )));
        }
        let password_due = p.update_password == UpdatePassword::Always
            && p.password.as_deref().is_some_and(|hash| hash != shadow);
        if password_due {
            diff.push("password: (changed)".into());
            steps.extend(self.password_step());
        }
        (steps, diff)
    }
}

impl Module for User {
    fn probe(&self) -> Option<crate::Script> {
        let name = quote(&self.params.name);
        let shadow = if self.params.password.is_some() {
            format!(
                "shadow=$(getent shadow {name}); shadow=${{shadow#*:}}; \
                 echo \"shadow=${{shadow%%:*}}\"; "
            )
        } else {
            String::new()
        };
        // `id -Gn` lists the primary group first; the own group matters
        // only to create the user.
        Some(
            format!(
                "if entry=$(getent passwd {name}); then echo \"passwd=$entry\"; \
             groups=$(id -Gn {name}); echo \"primary=${{groups%% *}}\"; echo \"groups=$groups\"; \
             {shadow}else getent group {name} >/dev/null && echo own_group=1; fi; true"
            )
            .into(),
        )
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let name = quote(&self.params.name);
        let Some(passwd) = facts.get("passwd") else {
            return Ok(match self.params.state {
                Presence::Absent => Plan::unchanged(),
                Presence::Present => Plan::change(self.create(facts.contains_key("own_group")))
                    .with_diff(Some("user: absent -> present\n".into())),
            });
        };
        if self.params.state == Presence::Absent {
            let remove = if self.params.remove { " -r" } else { "" };
            return Ok(
                Plan::change(vec![Step::run(format!("userdel{remove} {name}"))])
                    .with_diff(Some("user: present -> absent\n".into())),
            );
        }
        let value = |key: &str| facts.get(key).copied().unwrap_or_default();
        let current = Current::parse(passwd, value("primary"), value("groups"))?;
        let (steps, diff) = self.modify(&current, value("shadow"));
        if steps.is_empty() {
            return Ok(Plan::unchanged());
        }
        Ok(Plan::change(steps).with_diff(Some(diff.join("\n") + "\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    const PASSWD: &str = "passwd=app:x:1001:1001:App:/home/app:/bin/sh\nprimary=app\n";

    fn user(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    #[test]
    fn creates_a_missing_user_with_its_attributes() {
        let module = user(json!({
            "name": "app", "system": true, "shell": "/usr/sbin/nologin", "uid": 990,
            "groups": ["adm", "www-data"], "comment": "App user", "create_home": false,
        }));
        let probe = module.probe().unwrap();
        assert!(
            probe.contains("getent passwd app") && !probe.contains("shadow"),
            "{probe}"
        );
        let plan = module.plan(&Probe::ok("")).unwrap();
        assert_eq!(
            plan.steps,
            vec![Step::run(
                "useradd -r -u 990 -G adm,www-data -s /usr/sbin/nologin -c 'App user' -M app"
            )]
        );
        assert_eq!(plan.diff.as_deref(), Some("user: absent -> present\n"));
        let plan = module.plan(&Probe::ok("own_group=1\n")).unwrap();
        assert!(matches!(&plan.steps[0], Step::Run { script, .. } if script.contains("-g app")));
    }

    #[test]
    fn changes_only_what_differs() {
        let module =
            user(json!({"name": "app", "shell": "/usr/sbin/nologin", "home": "/home/app"}));
        let plan = module
            .plan(&Probe::ok(&format!("{PASSWD}groups=app\n")))
            .unwrap();
        assert_eq!(
            plan.steps,
            vec![Step::run("usermod -s /usr/sbin/nologin app")]
        );
        assert_eq!(
            plan.diff.as_deref(),
            Some("shell: /bin/sh -> /usr/sbin/nologin\n")
        );
        let same = user(json!({"name": "app", "shell": "/bin/sh", "uid": 1001, "group": "1001"}));
        assert_eq!(
            same.plan(&Probe::ok(&format!("{PASSWD}groups=app\n")))
                .unwrap(),
            Plan::unchanged()
        );
    }

    #[test]
    fn groups_are_exact_unless_appended() {
        let probe = Probe::ok(&format!("{PASSWD}groups=app adm audio\n"));
        let exact = user(json!({"name": "app", "groups": "adm,sudo"}));
        let plan = exact.plan(&probe).unwrap();
        assert_eq!(plan.steps, vec![Step::run("usermod -G adm,sudo app")]);
        assert_eq!(
            plan.diff.as_deref(),
            Some("groups: adm,audio -> adm,sudo\n")
        );
        let append = user(json!({"name": "app", "groups": ["sudo"], "append": true}));
        let plan = append.plan(&probe).unwrap();
        assert_eq!(plan.steps, vec![Step::run("usermod -a -G sudo app")]);
        assert_eq!(
            plan.diff.as_deref(),
            Some("groups: adm,audio -> adm,audio,sudo\n")
        );
        let present = user(json!({"name": "app", "groups": ["adm"], "append": true}));
        assert!(!present.plan(&probe).unwrap().changed);
        let none = user(json!({"name": "app", "groups": []}));
        assert_eq!(
            none.plan(&probe).unwrap().steps,
            vec![Step::run("usermod -G '' app")]
        );
    }

    #[test]
    fn the_password_goes_to_chpasswd_and_never_into_the_diff() {
        let hash = "$6$salt$secrethash";
        let module = user(json!({"name": "app", "password": hash}));
        let probe = module.probe().unwrap();
        assert!(probe.contains("shadow=$(getent shadow app)"), "{probe}");
        assert!(probe.contains("groups=$(id -Gn app)") && !probe.contains("id -gn"));
        assert!(!probe.contains("cut ") && !probe.contains(" | "), "{probe}");
        let plan = module
            .plan(&Probe::ok(&format!("{PASSWD}groups=app\nshadow=!\n")))
            .unwrap();
        assert_eq!(
            plan.steps,
            vec![Step::Run {
                script: "chpasswd -e".into(),
                stdin: Some(format!("app:{hash}\n").into_bytes().into())
            }]
        );
        let diff = plan.diff.unwrap();
        assert_eq!(diff, "password: (changed)\n");
        assert!(!diff.contains("secret"));
        let same = Probe::ok(&format!("{PASSWD}groups=app\nshadow={hash}\n"));
        assert!(!module.plan(&same).unwrap().changed);
        let on_create =
            user(json!({"name": "app", "password": hash, "update_password": "on_create"}));
        let differs = Probe::ok(&format!("{PASSWD}groups=app\nshadow=!\n"));
        assert!(!on_create.plan(&differs).unwrap().changed);
        assert_eq!(on_create.plan(&Probe::ok("")).unwrap().steps.len(), 2);
    }

    #[test]
    fn absent_removes_with_or_without_home() {
        let module = user(json!({"name": "app", "state": "absent", "remove": true}));
        let plan = module.plan(&Probe::ok(PASSWD)).unwrap();
        assert_eq!(plan.steps, vec![Step::run("userdel -r app")]);
        assert!(!module.plan(&Probe::ok("")).unwrap().changed);
    }

    #[test]
    fn rejects_bad_params() {
        let err = build(json!({"name": "app", "shel": "/bin/sh"}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("unknown field `shel`"), "{err}");
        assert!(build(json!({"name": "app", "groups": ["a b"]}), &NoFiles).is_err());
        assert!(build(json!({"name": "app", "comment": "a:b"}), &NoFiles).is_err());
        assert!(build(json!({"name": "app", "password": "x\ny"}), &NoFiles).is_err());
        assert!(build(json!({"name": "app", "state": "gone"}), &NoFiles).is_err());
    }
}
