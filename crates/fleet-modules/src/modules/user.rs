//! `user`: creates, changes and removes local users with
//! `useradd`/`usermod`/`userdel`, like Ansible's `user`. The password hash
//! goes to `chpasswd -e` on stdin and never appears in a diff or message.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::apt::StringList;
use super::de;
use super::group::{Presence, check_account_name};
use crate::text::fields;
use crate::{
    Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Secret, Stdin, Step, parse_params,
};

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
    #[serde(default, deserialize_with = "de::optional_whole_number")]
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
        let mut useradd = Cmd::new("useradd").flag_if(p.system, "-r");
        if let Some(uid) = p.uid {
            useradd = useradd.opt("-u", uid.to_string());
        }
        match (&p.group, own_group_exists) {
            (Some(group), _) => useradd = useradd.opt("-g", group),
            (None, true) => useradd = useradd.opt("-g", &p.name),
            (None, false) => {}
        }
        if let Some(groups) = self.groups.as_ref().filter(|g| !g.is_empty()) {
            useradd = useradd.opt("-G", groups.join(","));
        }
        let options = [("-s", &p.shell), ("-d", &p.home), ("-c", &p.comment)];
        for (flag, value) in options {
            if let Some(value) = value {
                useradd = useradd.opt(flag, value);
            }
        }
        let useradd = useradd
            .flag(if p.create_home { "-m" } else { "-M" })
            .operand(&p.name);
        let mut steps = vec![Step::run(Script::of(useradd))];
        steps.extend(self.password_step());
        steps
    }

    /// `chpasswd -e`, with `name:hash` on its stdin.
    fn password_step(&self) -> Option<Step> {
        self.params.password.as_ref().map(|hash| {
            Step::run_with_stdin(
                Script::of(Cmd::new("chpasswd").flag("-e")),
                Stdin::Secret(Secret::new(format!("{}:{hash}\n", self.params.name))),
            )
        })
    }

    /// `usermod` options and diff lines for an existing user.
    fn modify(&self, current: &Current, shadow: &str) -> (Vec<Step>, Vec<String>) {
        let p = &self.params;
        let mut options: Vec<(&'static str, String)> = Vec::new();
        let mut diff = Vec::new();
        let mut set = |flag: &'static str, field: &str, from: &str, to: &str| {
            if from != to {
                options.push((flag, to.to_string()));
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
        let mut groups_option = None;
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
                groups_option = Some(list(&wanted));
                diff.push(format!(
                    "groups: {} -> {}",
                    list(&current.supplementary),
                    list(&target)
                ));
            }
        }
        let mut steps = Vec::new();
        if !options.is_empty() || groups_option.is_some() {
            let mut usermod = options
                .into_iter()
                .fold(Cmd::new("usermod"), |usermod, (flag, value)| {
                    usermod.opt(flag, value)
                });
            if let Some(groups) = groups_option {
                usermod = usermod.flag_if(p.append, "-a").opt("-G", groups);
            }
            steps.push(Step::run(Script::of(usermod.operand(&p.name))));
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
    fn probe(&self) -> Option<Script> {
        // `id -Gn` lists the primary group first; the own group matters
        // only to create the user.
        let script = Script::new().set("name", self.params.name.as_str()).snippet(
            "if entry=$(getent passwd \"$name\"); then echo \"passwd=$entry\"\n\
             groups=$(id -Gn -- \"$name\"); echo \"primary=${groups%% *}\"; echo \"groups=$groups\"\n",
        );
        let script = if self.params.password.is_some() {
            script.snippet(
                "shadow=$(getent shadow \"$name\"); shadow=${shadow#*:}; echo \"shadow=${shadow%%:*}\"\n",
            )
        } else {
            script
        };
        Some(
            script
                .snippet("else getent group \"$name\" >/dev/null && echo own_group=1; fi\ntrue\n"),
        )
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let Some(passwd) = facts.get("passwd") else {
            return Ok(match self.params.state {
                Presence::Absent => Plan::unchanged(),
                Presence::Present => Plan::change(self.create(facts.contains_key("own_group")))
                    .with_diff(Some("user: absent -> present\n".into())),
            });
        };
        if self.params.state == Presence::Absent {
            let userdel = Cmd::new("userdel")
                .flag_if(self.params.remove, "-r")
                .operand(&self.params.name);
            return Ok(Plan::change(vec![Step::run(Script::of(userdel))])
                .with_diff(Some("user: present -> absent\n".into())));
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
    use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
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
        assert_eq!(
            module.probe().unwrap(),
            "name=app\n\
             if entry=$(getent passwd \"$name\"); then echo \"passwd=$entry\"\n\
             groups=$(id -Gn -- \"$name\"); echo \"primary=${groups%% *}\"; echo \"groups=$groups\"\n\
             else getent group \"$name\" >/dev/null && echo own_group=1; fi\n\
             true\n"
        );
        let plan = module.plan(&Probe::ok("")).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            ["useradd -r -u 990 -G adm,www-data -s /usr/sbin/nologin -c 'App user' -M -- app\n"]
        );
        assert_eq!(plan.diff.as_deref(), Some("user: absent -> present\n"));
        let plan = module.plan(&Probe::ok("own_group=1\n")).unwrap();
        assert_eq!(
            scripts(&plan.steps),
            [
                "useradd -r -u 990 -g app -G adm,www-data -s /usr/sbin/nologin -c 'App user' -M -- app\n"
            ]
        );
    }

    #[test]
    fn changes_only_what_differs() {
        let module =
            user(json!({"name": "app", "shell": "/usr/sbin/nologin", "home": "/home/app"}));
        let plan = module
            .plan(&Probe::ok(&format!("{PASSWD}groups=app\n")))
            .unwrap();
        assert_eq!(
            scripts(&plan.steps),
            ["usermod -s /usr/sbin/nologin -- app\n"]
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
        assert_eq!(scripts(&plan.steps), ["usermod -G adm,sudo -- app\n"]);
        assert_eq!(
            plan.diff.as_deref(),
            Some("groups: adm,audio -> adm,sudo\n")
        );
        let append = user(json!({"name": "app", "groups": ["sudo"], "append": true}));
        let plan = append.plan(&probe).unwrap();
        assert_eq!(scripts(&plan.steps), ["usermod -a -G sudo -- app\n"]);
        assert_eq!(
            plan.diff.as_deref(),
            Some("groups: adm,audio -> adm,audio,sudo\n")
        );
        let present = user(json!({"name": "app", "groups": ["adm"], "append": true}));
        assert!(!present.plan(&probe).unwrap().changed);
        let none = user(json!({"name": "app", "groups": []}));
        assert_eq!(
            scripts(&none.plan(&probe).unwrap().steps),
            ["usermod -G '' -- app\n"]
        );
    }

    #[test]
    fn the_password_goes_to_chpasswd_and_never_into_the_diff() {
        let hash = "$6$salt$secrethash";
        let module = user(json!({"name": "app", "password": hash}));
        assert_eq!(
            module.probe().unwrap(),
            "name=app\n\
             if entry=$(getent passwd \"$name\"); then echo \"passwd=$entry\"\n\
             groups=$(id -Gn -- \"$name\"); echo \"primary=${groups%% *}\"; echo \"groups=$groups\"\n\
             shadow=$(getent shadow \"$name\"); shadow=${shadow#*:}; echo \"shadow=${shadow%%:*}\"\n\
             else getent group \"$name\" >/dev/null && echo own_group=1; fi\n\
             true\n"
        );
        let plan = module
            .plan(&Probe::ok(&format!("{PASSWD}groups=app\nshadow=!\n")))
            .unwrap();
        assert_eq!(
            plan.steps,
            vec![Step::run_with_stdin(
                Script::of(Cmd::new("chpasswd").flag("-e")),
                Stdin::Secret(Secret::new(format!("app:{hash}\n")))
            )]
        );
        assert_eq!(scripts(&plan.steps), ["chpasswd -e\n"]);
        assert_eq!(format!("{:?}", plan.steps[0]).matches("secret").count(), 0);
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
        assert_eq!(scripts(&plan.steps), ["userdel -r -- app\n"]);
        assert!(!module.plan(&Probe::ok("")).unwrap().changed);
    }

    #[test]
    fn the_probe_reads_passwd_groups_and_shadow() {
        let stubs = "getent() { case \"$1 $2\" in\n\
                     'passwd app') echo 'app:x:1001:1001:App:/home/app:/bin/sh' ;;\n\
                     'shadow app') echo 'app:$6$s$h:19000:0:99999:7:::' ;;\n\
                     *) return 2 ;; esac; }\n\
                     id() { echo 'app adm'; }\n";
        let module = user(json!({"name": "app", "password": "$6$s$h"}));
        assert_eq!(
            run(stubs, &module.probe().unwrap(), b"").stdout,
            "passwd=app:x:1001:1001:App:/home/app:/bin/sh\nprimary=app\ngroups=app adm\nshadow=$6$s$h\n"
        );
        let missing = user(json!({"name": "web"}));
        assert_eq!(run(stubs, &missing.probe().unwrap(), b"").stdout, "");
    }

    #[test]
    fn values_reach_useradd_as_single_words() {
        let module = user(json!({"name": "app", "comment": "$(id) `x` 'y'", "shell": "-x"}));
        let plan = module.plan(&Probe::ok("")).unwrap();
        assert_eq!(
            run_step(&argv_stubs(&["useradd"]), &plan.steps[0]).stdout,
            "useradd [-s] [-x] [-c] [$(id) `x` 'y'] [-m] [--] [app]\n"
        );
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
