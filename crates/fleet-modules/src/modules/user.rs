//! `user`: creates, changes and removes local users with
//! `useradd`/`usermod`/`userdel`/`chage`, like Ansible's `user`. The
//! password hash goes to `chpasswd -e` and an SSH key's passphrase to
//! `ssh-keygen`, both on stdin; neither appears in a diff or message.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::apt::StringList;
use super::de;
use super::group::{Presence, check_account_name};
use crate::text::fields;
use crate::{
    Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Secret, Stdin, Step, parse_params,
};

#[path = "user_keys.rs"]
mod keys;

pub const PARAMS: &[&str] = &[
    "name",
    "user",
    "state",
    "system",
    "shell",
    "home",
    "create_home",
    "createhome",
    "skeleton",
    "umask",
    "uid",
    "non_unique",
    "group",
    "groups",
    "append",
    "password",
    "update_password",
    "password_lock",
    "expires",
    "password_expire_max",
    "password_expire_min",
    "password_expire_warn",
    "comment",
    "remove",
    "force",
    "move_home",
    "generate_ssh_key",
    "ssh_key_bits",
    "ssh_key_type",
    "ssh_key_file",
    "ssh_key_comment",
    "ssh_key_passphrase",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserParams {
    #[serde(alias = "user")]
    pub name: String,
    #[serde(default)]
    pub state: Presence,
    #[serde(default, deserialize_with = "de::boolean")]
    pub system: bool,
    pub shell: Option<String>,
    pub home: Option<String>,
    #[serde(
        default = "de::yes",
        alias = "createhome",
        deserialize_with = "de::boolean"
    )]
    pub create_home: bool,
    /// The skeleton directory `useradd -k` copies into a new home.
    pub skeleton: Option<String>,
    /// The new home's umask (`useradd -K UMASK=`).
    pub umask: Option<String>,
    #[serde(default, deserialize_with = "de::optional_whole_number")]
    pub uid: Option<u32>,
    /// Allows a uid another user has (`-o`).
    #[serde(default, deserialize_with = "de::boolean")]
    pub non_unique: bool,
    /// The primary group, by name or gid.
    pub group: Option<String>,
    /// Supplementary groups; with `append: false` exactly these.
    pub groups: Option<StringList>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub append: bool,
    /// A crypted hash, as in /etc/shadow.
    #[serde(default, deserialize_with = "optional_secret")]
    pub password: Option<Secret>,
    #[serde(default)]
    pub update_password: UpdatePassword,
    /// `true` locks the password (`usermod -L`), `false` unlocks it.
    #[serde(default, deserialize_with = "de::optional_boolean")]
    pub password_lock: Option<bool>,
    /// When the account expires, in seconds since the epoch (a date is
    /// kept); a negative number removes the expiry.
    pub expires: Option<f64>,
    #[serde(default, deserialize_with = "optional_integer")]
    pub password_expire_max: Option<i64>,
    #[serde(default, deserialize_with = "optional_integer")]
    pub password_expire_min: Option<i64>,
    #[serde(default, deserialize_with = "optional_integer")]
    pub password_expire_warn: Option<i64>,
    pub comment: Option<String>,
    /// With `state: absent`, also remove the home directory and mail spool.
    #[serde(default, deserialize_with = "de::boolean")]
    pub remove: bool,
    /// `userdel -f`; with `generate_ssh_key`, replaces an existing key.
    #[serde(default, deserialize_with = "de::boolean")]
    pub force: bool,
    /// With a changed `home`, moves the old home's content there.
    #[serde(default, deserialize_with = "de::boolean")]
    pub move_home: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub generate_ssh_key: bool,
    /// 0: ssh-keygen's default for the type.
    #[serde(default, deserialize_with = "de::whole_number")]
    pub ssh_key_bits: u32,
    #[serde(default = "default_key_type")]
    pub ssh_key_type: String,
    /// Relative paths are inside the user's home; default `.ssh/id_TYPE`.
    pub ssh_key_file: Option<String>,
    /// Default: `ansible-generated on HOSTNAME` (the host's name).
    pub ssh_key_comment: Option<String>,
    #[serde(default, deserialize_with = "optional_secret")]
    pub ssh_key_passphrase: Option<Secret>,
}

fn optional_secret<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(Secret::new))
}

fn default_key_type() -> String {
    "rsa".into()
}

/// A whole number that may be negative (`-1` clears a `chage` field),
/// also written as a string.
fn optional_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a whole number, got {other}"
        ))),
    }
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
    let fields = [
        ("shell", &params.shell),
        ("home", &params.home),
        ("comment", &params.comment),
        ("skeleton", &params.skeleton),
    ];
    for (name, value) in fields {
        if value.as_ref().is_some_and(|v| v.contains([':', '\n'])) {
            return Err(invalid(format!("{name} must not contain `:` or a newline")));
        }
    }
    if params
        .password
        .as_ref()
        .is_some_and(|p| p.expose().contains([':', '\n']))
    {
        return Err(invalid(
            "password must be a crypted hash (no `:` or newline)",
        ));
    }
    if let Some(umask) = &params.umask
        && !(umask.len() <= 4 && umask.bytes().all(|b| (b'0'..=b'7').contains(&b)))
    {
        return Err(invalid(format!("umask {umask:?} must be octal digits")));
    }
    if params.expires.is_some_and(|e| !e.is_finite()) {
        return Err(invalid("expires must be a number of seconds"));
    }
    keys::check(&params)?;
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
    /// The fields of the user's /etc/shadow line after the name.
    shadow: Vec<&'a str>,
    home_exists: bool,
}

impl<'a> Current<'a> {
    fn parse(passwd: &'a str, facts: &BTreeMap<&str, &'a str>) -> Result<Current<'a>, ModuleError> {
        let value = |key: &str| facts.get(key).copied().unwrap_or_default();
        let entry: Vec<&str> = passwd.split(':').collect();
        let [_, _, uid, gid, comment, home, shell] = entry[..] else {
            return Err(ModuleError::Probe(format!("passwd entry {passwd:?}")));
        };
        let primary = value("primary");
        let supplementary = value("groups")
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
            shadow: value("shadow").split(':').collect(),
            home_exists: facts.contains_key("home_exists"),
        })
    }

    fn shadow_field(&self, index: usize) -> &'a str {
        self.shadow.get(index).copied().unwrap_or_default()
    }
}

/// `expires` as `useradd -e` takes it: `YYYY-MM-DD` in UTC, or empty for
/// none; and as a day count since the epoch (the shadow field).
fn expiry(expires: f64) -> (String, Option<i64>) {
    if expires < 0.0 {
        return (String::new(), None);
    }
    let days = (expires / 86400.0).floor() as i64;
    (civil_date(days), Some(days))
}

/// The proleptic Gregorian date of day `days` after 1970-01-01.
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

impl User {
    fn create(&self, own_group_exists: bool) -> Vec<Step> {
        let p = &self.params;
        let mut useradd = Cmd::new("useradd").flag_if(p.system, "-r");
        if let Some(uid) = p.uid {
            useradd = useradd
                .opt("-u", uid.to_string())
                .flag_if(p.non_unique, "-o");
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
        if let Some(expires) = p.expires {
            useradd = useradd.opt("-e", expiry(expires).0);
        }
        useradd = useradd.flag(if p.create_home { "-m" } else { "-M" });
        if p.create_home {
            if let Some(skeleton) = &p.skeleton {
                useradd = useradd.opt("-k", skeleton);
            }
            if let Some(umask) = &p.umask {
                useradd = useradd.opt("-K", format!("UMASK={umask}"));
            }
        }
        let mut steps = vec![Step::run(Script::of(useradd.operand(&p.name)))];
        steps.extend(self.password_step());
        if p.password_lock == Some(true) && p.password.is_none() {
            steps.push(Step::run(Script::of(
                Cmd::new("usermod").flag("-L").operand(&p.name),
            )));
        }
        steps.extend(self.chage(None));
        steps
    }

    /// `chpasswd -e`, with `name:hash` on its stdin (`!hash` when the
    /// password is to be locked).
    fn password_step(&self) -> Option<Step> {
        let p = &self.params;
        p.password.as_ref().map(|hash| {
            let lock = if p.password_lock == Some(true) {
                "!"
            } else {
                ""
            };
            let hash = hash.expose().trim_start_matches('!');
            Step::run_with_stdin(
                Script::of(Cmd::new("chpasswd").flag("-e")),
                Stdin::Secret(Secret::new(format!("{}:{lock}{hash}\n", p.name))),
            )
        })
    }

    /// `chage` for the password ageing fields that differ from the
    /// shadow line (all given ones for a new user).
    fn chage(&self, current: Option<&Current>) -> Option<Step> {
        let p = &self.params;
        let wanted = [
            ("-m", 2, p.password_expire_min),
            ("-M", 3, p.password_expire_max),
            ("-W", 4, p.password_expire_warn),
        ];
        let mut cmd = Cmd::new("chage");
        let mut any = false;
        for (flag, index, value) in wanted {
            let Some(value) = value else { continue };
            let now = current.map(|c| c.shadow_field(index).parse::<i64>().unwrap_or(-1));
            if now != Some(value) {
                cmd = cmd.opt(flag, value.to_string());
                any = true;
            }
        }
        any.then(|| Step::run(Script::of(cmd.operand(&p.name))))
    }

    /// `usermod` options and diff lines for an existing user.
    fn modify(&self, current: &Current) -> (Vec<Step>, Vec<String>) {
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
        if let Some(expires) = p.expires {
            let now = current
                .shadow_field(6)
                .parse::<i64>()
                .ok()
                .filter(|d| *d >= 0);
            let (date, days) = expiry(expires);
            if now != days {
                let show = |d: Option<i64>| d.map_or("never".to_string(), civil_date);
                diff.push(format!("expires: {} -> {}", show(now), show(days)));
                options.push(("-e", date));
            }
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
        let hash_now = current.shadow_field(0);
        let locked = hash_now.starts_with('!');
        let password_due = p.update_password == UpdatePassword::Always
            && p.password.as_ref().is_some_and(|hash| {
                hash.expose().trim_start_matches('!') != hash_now.trim_start_matches('!')
            });
        let lock_flag = match p.password_lock {
            Some(true) if !locked => Some("-L"),
            Some(false) if locked => Some("-U"),
            _ => None,
        };
        let mut steps = Vec::new();
        let usermod_due = !options.is_empty()
            || groups_option.is_some()
            || (lock_flag.is_some() && !password_due);
        if usermod_due {
            let mut usermod = options
                .into_iter()
                .fold(Cmd::new("usermod"), |usermod, (flag, value)| {
                    usermod.opt(flag, value)
                });
            if p.uid.is_some() {
                usermod = usermod.flag_if(p.non_unique, "-o");
            }
            if p.home.as_deref().is_some_and(|h| h != current.home) {
                usermod = usermod.flag_if(p.move_home, "-m");
            }
            if let Some(groups) = groups_option {
                usermod = usermod.flag_if(p.append, "-a").opt("-G", groups);
            }
            if let Some(flag) = lock_flag.filter(|_| !password_due) {
                usermod = usermod.flag(flag);
                diff.push(format!(
                    "password: {}",
                    if flag == "-L" { "locked" } else { "unlocked" }
                ));
            }
            steps.push(Step::run(Script::of(usermod.operand(&p.name))));
        }
        if password_due {
            diff.push("password: (changed)".into());
            steps.extend(self.password_step());
        }
        if let Some(chage) = self.chage(Some(current)) {
            diff.push("password ageing: changed".into());
            steps.push(chage);
        }
        (steps, diff)
    }

    /// Creates a missing home of an existing user, as Ansible does with
    /// `create_home` (its default): the skeleton, owned by the user.
    fn home_step(&self, current: &Current) -> Option<Step> {
        let p = &self.params;
        let home = p.home.as_deref().unwrap_or(current.home);
        let moved = p.move_home && home != current.home;
        if !p.create_home || current.home_exists && home == current.home || moved {
            return None;
        }
        let skeleton = p.skeleton.as_deref().unwrap_or("/etc/skel");
        Some(Step::run(
            Script::new()
                .set("home", home)
                .set("skel", skeleton)
                .set("owner", format!("{}:{}", current.uid, current.gid))
                .snippet(
                    "[ -d \"$home\" ] && exit 0\n\
                     mkdir -p -- \"$home\" && { [ ! -d \"$skel\" ] || cp -a -- \"$skel\"/. \"$home\"/; } && chown -R -- \"$owner\" \"$home\"\n",
                ),
        ))
    }
}

impl Module for User {
    fn probe(&self) -> Option<Script> {
        // `id -Gn` lists the primary group first; the own group matters
        // only to create the user.
        let script = Script::new().set("name", self.params.name.as_str()).snippet(
            "if entry=$(getent passwd \"$name\"); then echo \"passwd=$entry\"\n\
             groups=$(id -Gn -- \"$name\"); echo \"primary=${groups%% *}\"; echo \"groups=$groups\"\n\
             shadow=$(getent shadow \"$name\"); echo \"shadow=${shadow#*:}\"\n\
             home=${entry#*:*:*:*:*:}; home=${home%:*}; [ -d \"$home\" ] && echo home_exists=1\n",
        );
        let script = keys::probe(&self.params, script);
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
                Presence::Present => {
                    let mut steps = self.create(facts.contains_key("own_group"));
                    let mut diff = "user: absent -> present\n".to_string();
                    if let Some(step) = keys::generate(&self.params, None) {
                        diff.push_str("ssh key: generated\n");
                        steps.push(step);
                    }
                    Plan::change(steps).with_diff(Some(diff))
                }
            });
        };
        if self.params.state == Presence::Absent {
            let userdel = Cmd::new("userdel")
                .flag_if(self.params.force, "-f")
                .flag_if(self.params.remove, "-r")
                .operand(&self.params.name);
            return Ok(Plan::change(vec![Step::run(Script::of(userdel))])
                .with_diff(Some("user: present -> absent\n".into())));
        }
        let current = Current::parse(passwd, &facts)?;
        let (mut steps, mut diff) = self.modify(&current);
        if let Some(step) = self.home_step(&current) {
            diff.push("home: created".into());
            steps.push(step);
        }
        if let Some(step) = keys::generate(&self.params, Some((&current, &facts))) {
            diff.push("ssh key: generated".into());
            steps.push(step);
        }
        if steps.is_empty() {
            return Ok(Plan::unchanged());
        }
        Ok(Plan::change(steps).with_diff(Some(diff.join("\n") + "\n")))
    }
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
