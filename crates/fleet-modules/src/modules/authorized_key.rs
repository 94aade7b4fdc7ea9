//! `authorized_key`: adds or removes SSH public keys in a user's
//! `authorized_keys`, like Ansible's `authorized_key`. The new file is
//! computed on the controller from the probed one and uploaded atomically.

use serde::Deserialize;
use serde_json::Value;

use super::de;
use super::group::{Presence, check_account_name};
use crate::text::{decode_base64, fields, unified_diff};
use crate::{Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &["user", "key", "state", "exclusive", "path", "manage_dir"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizedKeyParams {
    pub user: String,
    /// One or more public key lines.
    pub key: String,
    #[serde(default)]
    pub state: Presence,
    /// Remove every key not listed in `key`.
    #[serde(default, deserialize_with = "de::boolean")]
    pub exclusive: bool,
    /// Default: `~user/.ssh/authorized_keys`.
    pub path: Option<String>,
    /// Create the key file's directory (0700, owned by the user).
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub manage_dir: bool,
}

#[derive(Debug)]
pub struct AuthorizedKey {
    params: AuthorizedKeyParams,
    keys: Vec<String>,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "authorized_key".into(),
        message: message.into(),
    }
}

/// The key type and base64 blob of a key line, which identify it whatever
/// its options and comment.
fn identity(line: &str) -> Option<(&str, &str)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let is_type = ["ssh-", "ecdsa-", "sk-"]
            .iter()
            .any(|prefix| pair[0].starts_with(prefix));
        (is_type && pair[1].starts_with("AAAA")).then_some((pair[0], pair[1]))
    })
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: AuthorizedKeyParams = parse_params("authorized_key", params)?;
    check_account_name("authorized_key", &params.user)?;
    if params.key.trim_start().starts_with("http") {
        return Err(invalid("key URLs are not supported: pass the key lines"));
    }
    let keys: Vec<String> = params
        .key
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect();
    if let Some(bad) = keys.iter().find(|line| identity(line).is_none()) {
        return Err(invalid(format!("not an SSH public key: {bad:?}")));
    }
    if keys.is_empty() && !params.exclusive {
        return Err(invalid("key has no key lines"));
    }
    if params.path.as_ref().is_some_and(|p| !p.starts_with('/')) {
        return Err(invalid("path must be absolute"));
    }
    Ok(Box::new(AuthorizedKey { params, keys }))
}

impl AuthorizedKey {
    /// The file's lines after the change.
    fn edit<'a>(&'a self, current: &[&'a str]) -> Vec<&'a str> {
        let wanted = self.keys.iter().map(String::as_str);
        if self.params.state == Presence::Absent {
            let drop: Vec<_> = wanted.filter_map(identity).collect();
            return current
                .iter()
                .copied()
                .filter(|line| identity(line).is_none_or(|id| !drop.contains(&id)))
                .collect();
        }
        if self.params.exclusive {
            return wanted.collect();
        }
        let mut lines = current.to_vec();
        for key in wanted {
            match lines
                .iter()
                .position(|line| identity(line) == identity(key))
            {
                Some(index) => lines[index] = key,
                None => lines.push(key),
            }
        }
        lines
    }
}

impl Module for AuthorizedKey {
    fn probe(&self) -> Option<Script> {
        let script = Script::new()
            .set("user", self.params.user.as_str())
            .snippet(
                "entry=$(getent passwd \"$user\") || { echo user=missing; exit 0; }\n\
                 home=$(printf '%s' \"$entry\" | cut -d: -f6); echo \"home=$home\"\n\
                 echo \"group=$(id -gn -- \"$user\")\"\n",
            );
        let script = match &self.params.path {
            Some(path) => script.set("f", path.as_str()),
            None => script.snippet("f=\"$home/.ssh/authorized_keys\"\n"),
        };
        Some(script.snippet(
            "d=$(dirname -- \"$f\")\n\
             [ -d \"$d\" ] && echo \"dir=$(stat -c '%a %U' -- \"$d\")\"\n\
             [ -f \"$f\" ] && echo \"file=$(stat -c '%a %U' -- \"$f\")\" && echo \"content=$(base64 -w0 < \"$f\")\"\n\
             true\n",
        ))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let user = &self.params.user;
        if facts.get("user") == Some(&"missing") {
            return Err(ModuleError::Failed(format!("user {user} does not exist")));
        }
        let home = facts
            .get("home")
            .ok_or_else(|| ModuleError::Probe(probe.stdout.clone()))?;
        let group = facts.get("group").copied().unwrap_or(user);
        let path = match &self.params.path {
            Some(path) => path.clone(),
            None => format!("{}/.ssh/authorized_keys", home.trim_end_matches('/')),
        };
        let dir = path.rsplit_once('/').map_or("/", |(dir, _)| dir);
        let before = match facts.get("content") {
            Some(encoded) => {
                String::from_utf8_lossy(&decode_base64(encoded, "content")?).into_owned()
            }
            None => String::new(),
        };
        let current: Vec<&str> = before.lines().collect();
        let lines = self.edit(&current);
        let exists = facts.contains_key("file");
        let present = self.params.state == Presence::Present;
        let content_changes = lines != current || (present && !exists);
        let mut steps = Vec::new();
        let mut attributes = Vec::new();
        if present && self.params.manage_dir {
            match facts.get("dir").and_then(|d| d.split_once(' ')) {
                None => attributes.push(format!("{dir}: absent -> directory")),
                Some((mode, owner)) => {
                    if mode != "700" {
                        attributes.push(format!("{dir} mode: 0{mode} -> 0700"));
                    }
                    if owner != user {
                        attributes.push(format!("{dir} owner: {owner} -> {user}"));
                    }
                }
            }
            if !attributes.is_empty() {
                steps.push(Step::run(
                    Script::new().all([
                        Cmd::new("mkdir").flag("-p").operand(dir),
                        Cmd::new("chown")
                            .arg(format!("{user}:{group}"))
                            .operand(dir),
                        Cmd::new("chmod").arg("0700").operand(dir),
                    ]),
                ));
            }
        }
        let owner = format!("{user}:{group}");
        let after = if lines.is_empty() {
            String::new()
        } else {
            lines.join("\n") + "\n"
        };
        if content_changes {
            steps.push(Step::Upload {
                dest: path.clone(),
                contents: after.clone().into_bytes(),
                mode: 0o600,
                owner: Some(owner),
            });
        } else if let Some((mode, file_owner)) = facts.get("file").and_then(|f| f.split_once(' '))
            && present
            && (mode != "600" || file_owner != user)
        {
            if mode != "600" {
                attributes.push(format!("mode: 0{mode} -> 0600"));
            }
            if file_owner != user {
                attributes.push(format!("owner: {file_owner} -> {user}"));
            }
            steps.push(Step::run(Script::new().all([
                Cmd::new("chown").arg(owner).operand(path.as_str()),
                Cmd::new("chmod").arg("0600").operand(path.as_str()),
            ])));
        }
        if steps.is_empty() {
            return Ok(Plan::unchanged());
        }
        let content_diff = if content_changes {
            unified_diff(&path, &before, &after)
        } else {
            None
        };
        let diff: String = content_diff
            .into_iter()
            .chain(attributes.iter().map(|line| format!("{line}\n")))
            .collect();
        Ok(Plan::change(steps).with_diff(Some(diff)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
    use crate::modules::tests::NoFiles;
    use base64::Engine;
    use serde_json::json;

    const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAaaa alice@laptop";
    const B: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABbbb bob";

    fn module(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    fn probe(content: Option<&str>, file: &str, dir: &str) -> Probe {
        let mut out = format!("home=/home/app\ngroup=app\ndir={dir}\n");
        if let Some(content) = content {
            let encoded = base64::engine::general_purpose::STANDARD.encode(content);
            out.push_str(&format!("file={file}\ncontent={encoded}\n"));
        }
        Probe::ok(&out)
    }

    fn upload(plan: &Plan) -> (String, String) {
        match plan.steps.last() {
            Some(Step::Upload {
                dest,
                contents,
                mode: 0o600,
                owner: Some(owner),
            }) => {
                assert_eq!(owner, "app:app");
                (dest.clone(), String::from_utf8(contents.clone()).unwrap())
            }
            other => panic!("expected an upload, got {other:?}"),
        }
    }

    #[test]
    fn identity_ignores_options_and_comment() {
        assert_eq!(
            identity(A),
            Some(("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIAaaa"))
        );
        let with_options = format!("from=\"10.0.0.1\",no-pty {A} other");
        assert_eq!(identity(&with_options), identity(A));
        assert_eq!(identity("# comment"), None);
    }

    #[test]
    fn adds_a_missing_key_and_creates_the_directory() {
        let key = module(json!({"user": "app", "key": A}));
        assert!(
            key.probe()
                .unwrap()
                .contains("\"$home/.ssh/authorized_keys\"")
        );
        let plan = key.plan(&Probe::ok("home=/home/app\ngroup=app\n")).unwrap();
        assert_eq!(
            scripts(&plan.steps[..1]),
            [
                "mkdir -p -- /home/app/.ssh && chown app:app -- /home/app/.ssh && chmod 0700 -- /home/app/.ssh\n"
            ]
        );
        assert_eq!(
            upload(&plan),
            ("/home/app/.ssh/authorized_keys".into(), format!("{A}\n"))
        );
        let diff = plan.diff.unwrap();
        assert!(diff.contains(&format!("+{A}")), "{diff}");
        assert!(
            diff.contains("/home/app/.ssh: absent -> directory"),
            "{diff}"
        );
    }

    #[test]
    fn present_keys_are_left_alone_and_changed_options_replaced() {
        let key = module(json!({"user": "app", "key": A}));
        let current = format!("{B}\n{A}\n");
        assert_eq!(
            key.plan(&probe(Some(&current), "600 app", "700 app"))
                .unwrap(),
            Plan::unchanged()
        );
        let renamed = format!("{B}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAaaa old-comment\n");
        let plan = key
            .plan(&probe(Some(&renamed), "600 app", "700 app"))
            .unwrap();
        assert_eq!(upload(&plan).1, format!("{B}\n{A}\n"));
    }

    #[test]
    fn exclusive_keeps_only_the_given_keys() {
        let key = module(json!({"user": "app", "key": A, "exclusive": true}));
        let plan = key
            .plan(&probe(Some(&format!("{B}\n{A}\n")), "600 app", "700 app"))
            .unwrap();
        assert_eq!(upload(&plan).1, format!("{A}\n"));
        assert!(plan.diff.unwrap().contains(&format!("-{B}")));
    }

    #[test]
    fn absent_removes_the_key_only() {
        let key = module(json!({"user": "app", "key": A, "state": "absent"}));
        let plan = key
            .plan(&probe(
                Some(&format!("# keys\n{A}\n{B}\n")),
                "600 app",
                "700 app",
            ))
            .unwrap();
        assert_eq!(upload(&plan).1, format!("# keys\n{B}\n"));
        assert!(!key.plan(&probe(None, "", "700 app")).unwrap().changed);
        assert!(
            !key.plan(&probe(Some(&format!("{B}\n")), "644 root", "755 root"))
                .unwrap()
                .changed
        );
    }

    #[test]
    fn fixes_modes_and_owners() {
        let key = module(json!({"user": "app", "key": A}));
        let plan = key
            .plan(&probe(Some(&format!("{A}\n")), "644 root", "755 app"))
            .unwrap();
        assert_eq!(
            plan.diff.as_deref(),
            Some("/home/app/.ssh mode: 0755 -> 0700\nmode: 0644 -> 0600\nowner: root -> app\n")
        );
        assert_eq!(
            scripts(&plan.steps[1..]),
            [
                "chown app:app -- /home/app/.ssh/authorized_keys && chmod 0600 -- /home/app/.ssh/authorized_keys\n"
            ]
        );
    }

    #[test]
    fn paths_reach_mkdir_chown_and_chmod_as_operands() {
        let stubs = argv_stubs(&["mkdir", "chown", "chmod"]);
        let key = module(json!({"user": "app", "key": A}));
        let plan = key.plan(&Probe::ok("home=-R\ngroup=app\n")).unwrap();
        assert_eq!(
            run_step(&stubs, &plan.steps[0]).stdout,
            "mkdir [-p] [--] [-R/.ssh]\nchown [app:app] [--] [-R/.ssh]\nchmod [0700] [--] [-R/.ssh]\n"
        );
        let plan = key
            .plan(&Probe::ok(&format!(
                "home=-R\ngroup=app\ndir=700 app\nfile=644 app\ncontent={}\n",
                base64::engine::general_purpose::STANDARD.encode(format!("{A}\n"))
            )))
            .unwrap();
        assert_eq!(
            run_step(&stubs, &plan.steps[0]).stdout,
            "chown [app:app] [--] [-R/.ssh/authorized_keys]\nchmod [0600] [--] [-R/.ssh/authorized_keys]\n"
        );
    }

    #[test]
    fn the_probe_reads_the_user_and_path_as_data() {
        let stubs = "getent() { echo 'app:x:1:1::/home/app:/bin/sh'; }\nid() { argv id \"$@\"; }\n";
        let key = module(json!({"user": "app", "key": A, "path": "/nonexistent/$(id)/keys"}));
        let out = run(stubs, &key.probe().unwrap(), b"");
        assert_eq!(
            (out.rc, out.stdout.as_str()),
            (0, "home=/home/app\ngroup=id [-gn] [--] [app]\n")
        );
    }

    #[test]
    fn fails_for_a_missing_user() {
        let key = module(json!({"user": "ghost", "key": A}));
        let err = key.plan(&Probe::ok("user=missing\n")).unwrap_err();
        assert_eq!(err.to_string(), "user ghost does not exist");
    }

    #[test]
    fn rejects_bad_params() {
        let err = build(json!({"user": "app", "key": A, "exclusiv": true}), &NoFiles).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `exclusiv`"),
            "{err}"
        );
        assert!(build(json!({"user": "app", "key": "hello"}), &NoFiles).is_err());
        assert!(build(json!({"user": "app", "key": "https://x/keys"}), &NoFiles).is_err());
        assert!(build(json!({"user": "app", "key": A, "path": "rel"}), &NoFiles).is_err());
    }
}
