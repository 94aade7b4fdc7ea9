//! `git`: clones a repository and keeps a checkout at a version, like
//! Ansible's `git`. The probe reads the checkout (its `HEAD`, local
//! changes, the remote's URL, its branches) and, with one `ls-remote`, the
//! remote's heads and tags. The plan follows Ansible's steps: clone (or
//! reset local changes when `force`, set the remote URL, fetch), then
//! check out the version (a branch: tracking `remote/branch`; a tag or a
//! SHA: detached), then submodules. Whether `HEAD` moved is read after the
//! steps ran ([`Module::applied`]).

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use super::de;
use super::git_facts::Facts;
use crate::text::fields;
use crate::{
    Applied, Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput,
    parse_params,
};

pub const PARAMS: &[&str] = &[
    "repo",
    "name",
    "dest",
    "version",
    "remote",
    "force",
    "depth",
    "clone",
    "update",
    "bare",
    "single_branch",
    "recursive",
    "accept_hostkey",
    "accept_newhostkey",
    "ssh_opts",
    "key_file",
    "executable",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitParams {
    #[serde(alias = "name")]
    pub repo: String,
    pub dest: Option<String>,
    #[serde(default = "head", deserialize_with = "text")]
    pub version: String,
    #[serde(default = "origin")]
    pub remote: String,
    #[serde(default, deserialize_with = "de::boolean")]
    pub force: bool,
    #[serde(default, deserialize_with = "de::optional_whole_number")]
    pub depth: Option<u32>,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub clone: bool,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub update: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub bare: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub single_branch: bool,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub recursive: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub accept_hostkey: bool,
    #[serde(default, deserialize_with = "de::boolean")]
    pub accept_newhostkey: bool,
    pub ssh_opts: Option<String>,
    pub key_file: Option<String>,
    pub executable: Option<String>,
}

fn head() -> String {
    "HEAD".into()
}

fn origin() -> String {
    "origin".into()
}

/// A version written as a number (`version: 1.0`) is its text.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = Value::deserialize(deserializer)?;
    de::scalar_text(&value)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a string, got {value}")))
}

#[derive(Debug)]
pub struct Git {
    params: GitParams,
    /// `repo`, with `file://` before an absolute path, as Ansible does.
    repo: String,
    /// `GIT_SSH_COMMAND`, as Ansible builds it.
    ssh_command: String,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "git".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: GitParams = parse_params("git", params)?;
    if params.dest.is_none() && params.clone {
        return Err(invalid(
            "the destination directory must be specified unless clone=no",
        ));
    }
    if params.accept_hostkey && params.accept_newhostkey {
        return Err(invalid(
            "parameters are mutually exclusive: accept_hostkey|accept_newhostkey",
        ));
    }
    for (name, value) in [
        ("repo", &params.repo),
        ("version", &params.version),
        ("remote", &params.remote),
    ] {
        if value.is_empty() || value.starts_with('-') {
            return Err(invalid(format!(
                "{name} must not be empty or start with `-`: {value:?}"
            )));
        }
    }
    if params.dest.as_deref().is_some_and(str::is_empty) {
        return Err(invalid("dest is empty"));
    }
    let repo = if params.repo.starts_with('/') {
        format!("file://{}", params.repo)
    } else {
        params.repo.clone()
    };
    let ssh_command = ssh_command(&params);
    Ok(Box::new(Git {
        params,
        repo,
        ssh_command,
    }))
}

/// Ansible's `GIT_SSH_COMMAND`: `ssh`, the operator's `ssh_opts`, host key
/// acceptance, `BatchMode=yes` and the key file.
fn ssh_command(params: &GitParams) -> String {
    let mut opts = params.ssh_opts.clone();
    for (wanted, option) in [
        (params.accept_hostkey, "-o StrictHostKeyChecking=no"),
        (
            params.accept_newhostkey,
            "-o StrictHostKeyChecking=accept-new",
        ),
    ] {
        if !wanted {
            continue;
        }
        opts = Some(match opts {
            Some(opts)
                if opts.contains("-o StrictHostKeyChecking=no")
                    || opts.contains("-o StrictHostKeyChecking=accept-new") =>
            {
                opts
            }
            Some(opts) => format!("{opts} {option}"),
            None => option.to_string(),
        });
    }
    let mut opts = opts.map_or(String::new(), |opts| format!(" {opts}"));
    if !opts.contains("BatchMode=yes") {
        opts.push_str(" -o BatchMode=yes");
    }
    if let Some(key) = &params.key_file {
        let key_opt = format!("-i {key}");
        if !opts.contains(&key_opt) {
            opts.push_str(&format!("  {key_opt}"));
        }
        if !opts.contains("IdentitiesOnly=yes") {
            opts.push_str(" -o IdentitiesOnly=yes");
        }
    }
    format!("ssh {opts}")
}

impl Git {
    /// The start of every script: C locale, the SSH command, the git
    /// program, and `dest` when known.
    fn prelude(&self, dest: Option<&str>) -> Script {
        let mut script = Script::new();
        for name in ["LANG", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE"] {
            script = script.export(name, "C").expect("a name");
        }
        script = script
            .export("GIT_SSH_COMMAND", &self.ssh_command)
            .expect("a name")
            .set("git", self.params.executable.as_deref().unwrap_or("git"));
        match dest {
            Some(dest) => script.set("dest", dest),
            None => script,
        }
    }

    /// `git -C DEST`.
    fn git(&self) -> Cmd {
        Cmd::at(Arg::var("git")).opt("-C", Arg::var("dest"))
    }

    fn step(&self, dest: &str, cmd: Cmd) -> Step {
        Step::run(self.prelude(Some(dest)).cmd(cmd.stdout_to("/dev/null")))
    }

    /// The steps that bring an existing checkout (or a fresh clone) to
    /// the version: Ansible's `switch_version`.
    fn switch_version(&self, dest: &str, facts: &Facts, head: Option<&str>) -> Step {
        let version = self.params.version.as_str();
        let remote = self.params.remote.as_str();
        let script = self.prelude(Some(dest)).set("remote", remote);
        if version == "HEAD" {
            let script = match head {
                Some(branch) => script.set("branch", branch),
                // A fresh clone: the branch it checked out.
                None => script
                    .snippet("branch=$(\"$git\" -C \"$dest\" symbolic-ref --short HEAD) || exit\n"),
            };
            return Step::run(script.snippet(
                "\"$git\" -C \"$dest\" checkout --force \"$branch\" >/dev/null || exit\n\
                 \"$git\" -C \"$dest\" reset --hard \"$remote/$branch\" -- >/dev/null\n",
            ));
        }
        let script = script.set("version", version);
        if !facts.is_remote_branch(version) {
            return Step::run(
                script.snippet("\"$git\" -C \"$dest\" checkout --force \"$version\" >/dev/null\n"),
            );
        }
        let script = match self.params.depth {
            Some(depth) => script.set("depth", depth.to_string()).snippet(
                "if ! \"$git\" -C \"$dest\" show-ref --verify --quiet \"refs/heads/$version\"; then\n\
                 \"$git\" -C \"$dest\" fetch \"--depth=$depth\" \"$remote\" \
                 \"+refs/heads/$version:refs/heads/$version\" \
                 \"+refs/heads/$version:refs/remotes/$remote/$version\" >/dev/null || exit\n\
                 fi\n",
            ),
            None => script,
        };
        Step::run(script.snippet(
            "if \"$git\" -C \"$dest\" show-ref --verify --quiet \"refs/heads/$version\"; then\n\
             \"$git\" -C \"$dest\" checkout --force \"$version\" >/dev/null || exit\n\
             \"$git\" -C \"$dest\" reset --hard \"$remote/$version\" >/dev/null\n\
             else\n\
             \"$git\" -C \"$dest\" checkout --track -b \"$version\" \"$remote/$version\" >/dev/null\n\
             fi\n",
        ))
    }

    /// Ansible's `submodules_fetch` and `submodule_update`: a submodule
    /// not checked out, or one not at the commit the checkout records,
    /// is updated.
    fn submodules(&self, dest: &str) -> Step {
        let script = self.prelude(Some(dest)).snippet(
            "if [ -f \"$dest/.gitmodules\" ]; then\n\
             sub=0\n\
             for p in $(sed -n 's/^[[:space:]]*path[[:space:]]*=[[:space:]]*//p' \"$dest/.gitmodules\"); do\n\
             [ -e \"$dest/$p/.git\" ] || sub=1\n\
             done\n\
             if [ \"$sub\" = 0 ]; then\n\
             \"$git\" -C \"$dest\" submodule foreach \"$git\" fetch >/dev/null || exit\n\
             \"$git\" -C \"$dest\" submodule status | grep -q '^[^ ]' && sub=1\n\
             fi\n\
             if [ \"$sub\" = 1 ]; then\n\
             \"$git\" -C \"$dest\" submodule sync >/dev/null || exit\n",
        );
        let script = if self.params.force {
            script.snippet(
                "\"$git\" -C \"$dest\" submodule update --init --recursive --force >/dev/null || exit\n",
            )
        } else {
            script.snippet(
                "\"$git\" -C \"$dest\" submodule update --init --recursive >/dev/null || exit\n",
            )
        };
        Step::run(script.snippet("fi\necho \"submodules_changed=$sub\"\nfi\n"))
    }

    /// Ansible's `fetch`: the refs a checkout at the version needs.
    fn fetch(&self, facts: &Facts) -> Cmd {
        let version = self.params.version.as_str();
        let remote = self.params.remote.as_str();
        let mut refspecs: Vec<String> = Vec::new();
        let mut cmd = self.git().arg("fetch");
        if let Some(depth) = self.params.depth {
            let current = facts.head_branch(remote, self.params.bare);
            if version == "HEAD" {
                refspecs.push(current.clone().unwrap_or_else(|| "None".into()));
            } else if facts.is_remote_branch(version) {
                if current.as_deref() != Some(version) {
                    refspecs.push(format!("+refs/heads/{version}:refs/heads/{version}"));
                }
                refspecs.push(format!(
                    "+refs/heads/{version}:refs/remotes/{remote}/{version}"
                ));
            } else if facts.is_remote_tag(version) {
                refspecs.push(format!("+refs/tags/{version}:refs/tags/{version}"));
            }
            if !refspecs.is_empty() {
                cmd = cmd.opt("--depth", depth.to_string());
            }
        }
        if self.params.depth.is_none() || refspecs.is_empty() {
            if self.params.bare {
                refspecs = vec![
                    "+refs/heads/*:refs/heads/*".into(),
                    "+refs/tags/*:refs/tags/*".into(),
                ];
            } else {
                cmd = cmd.flag("--tags");
            }
        }
        cmd.flag_if(self.params.force, "--force")
            .arg(remote)
            .operands(refspecs)
    }

    /// Ansible's `clone`.
    fn clone_step(&self, dest: &str, facts: &Facts) -> Step {
        let version = self.params.version.as_str();
        let branch_or_tag = facts.is_remote_branch(version) || facts.is_remote_tag(version);
        let mut cmd = Cmd::at(Arg::var("git")).arg("clone");
        cmd = if self.params.bare {
            cmd.flag("--bare")
        } else {
            cmd.opt("--origin", self.params.remote.as_str())
        };
        if let Some(depth) = self.params.depth.filter(|depth| *depth > 0) {
            if version == "HEAD" {
                cmd = cmd.opt("--depth", depth.to_string());
            } else if branch_or_tag {
                cmd = cmd
                    .opt("--depth", depth.to_string())
                    .opt("--branch", version);
            }
        }
        if self.params.single_branch {
            cmd = cmd.flag("--single-branch");
            if branch_or_tag {
                cmd = cmd.opt("--branch", version);
            }
        }
        let parent = parent_dir(dest);
        let cmd = cmd.operand(self.repo.as_str()).operand(Arg::var("dest"));
        Step::run(
            self.prelude(Some(dest))
                .set("parent", parent.as_str())
                .snippet("mkdir -p -- \"$parent\" 2>/dev/null\ncd -- \"$parent\" || exit\n")
                .cmd(cmd.stdout_to("/dev/null")),
        )
    }

    /// The last step: what `applied` reads.
    fn report(
        &self,
        dest: &str,
        before: Option<&str>,
        local_mods: bool,
        url_changed: bool,
    ) -> Step {
        let mut script = self
            .prelude(Some(dest))
            .snippet("echo \"after=$(\"$git\" -C \"$dest\" rev-parse HEAD)\"\n")
            .set("before", before.unwrap_or(""))
            .snippet("echo \"before=$before\"\n");
        if local_mods {
            script = script.snippet("echo local_mods=1\n");
        }
        if url_changed {
            script = script.snippet("echo remote_url_changed=1\n");
        }
        Step::run(script)
    }
}

fn parent_dir(dest: &str) -> String {
    match dest.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/".into(),
        Some((parent, _)) => parent.into(),
    }
}

impl Module for Git {
    fn probe(&self) -> Option<Script> {
        let script = self
            .prelude(None)
            .set("repo", self.repo.as_str())
            .set("remote", self.params.remote.as_str())
            .set("update", if self.params.update { "1" } else { "0" });
        let script = match &self.params.dest {
            Some(dest) => script.set("dest", dest.as_str()),
            None => script.set("dest", ""),
        };
        let script = script.set("bare", if self.params.bare { "1" } else { "0" });
        Some(script.snippet(super::git_facts::PROBE))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = Facts::parse(&probe.stdout)?;
        let version = self.params.version.as_str();
        let mut plan = Plan::unchanged();
        let Some(dest) = facts.dest.clone().filter(|_| self.params.dest.is_some()) else {
            // No checkout to look at (clone=no without dest).
            plan.changed = true;
            plan.data.insert("before".into(), Value::Null);
            plan.data.insert(
                "after".into(),
                json!(facts.remote_head(version, true, &self.params)?),
            );
            return Ok(plan);
        };
        if !facts.has_config {
            plan.data.insert("before".into(), Value::Null);
            plan.changed = true;
            if !self.params.clone {
                plan.data.insert(
                    "after".into(),
                    json!(facts.remote_head(version, true, &self.params)?),
                );
                return Ok(plan);
            }
            // What check mode reports (a run reads it back); only check
            // mode fails without it, as in Ansible.
            plan.data.insert(
                "after".into(),
                json!(facts.remote_head(version, true, &self.params).ok()),
            );
            plan.steps.push(self.clone_step(&dest, &facts));
            if self.params.bare && self.params.remote != "origin" {
                plan.steps.push(
                    self.step(
                        &dest,
                        self.git()
                            .arg("remote")
                            .arg("add")
                            .arg(self.params.remote.as_str())
                            .arg(self.repo.as_str()),
                    ),
                );
            }
            if !self.params.bare {
                plan.steps.push(self.switch_version(&dest, &facts, None));
                if self.params.recursive {
                    plan.steps.push(self.submodules(&dest));
                }
            }
            plan.steps.push(self.report(&dest, None, false, false));
            return Ok(plan);
        }
        let before = facts.before.clone();
        plan.data.insert("before".into(), json!(before));
        if !self.params.update {
            plan.data.insert("after".into(), json!(before));
            return Ok(plan);
        }
        let local_mods = !self.params.bare && facts.local_mods();
        if local_mods && !self.params.force {
            return Err(ModuleError::Failed(format!(
                "Local modifications exist in the destination: {dest} (force=no)."
            )));
        }
        let url_changed = facts
            .remote_url
            .as_deref()
            .is_some_and(|url| !same_url(url, &self.repo));
        plan.data
            .insert("remote_url_changed".into(), json!(url_changed));
        let remote_head = facts.remote_head(version, false, &self.params).ok();
        plan.changed = remote_head.as_deref() != Some(before.as_str()) || url_changed;
        plan.data.insert("after".into(), json!(remote_head));
        if local_mods {
            plan.steps
                .push(self.step(&dest, self.git().arg("reset").flag("--hard").arg("HEAD")));
        }
        if url_changed {
            plan.steps.push(
                self.step(
                    &dest,
                    self.git()
                        .arg("remote")
                        .arg("set-url")
                        .arg(self.params.remote.as_str())
                        .arg(self.repo.as_str()),
                ),
            );
        }
        plan.steps.push(self.step(&dest, self.fetch(&facts)));
        if !self.params.bare {
            let head = facts.head_branch(&self.params.remote, false);
            if version == "HEAD" && head.is_none() {
                return Err(ModuleError::Failed(
                    "Failed to checkout branch None: the checkout's HEAD names no branch".into(),
                ));
            }
            plan.steps
                .push(self.switch_version(&dest, &facts, head.as_deref()));
            if self.params.recursive {
                plan.steps.push(self.submodules(&dest));
            }
        }
        plan.steps
            .push(self.report(&dest, Some(&before), local_mods, url_changed));
        if local_mods {
            plan.msg = Some(format!(
                "Local modifications exist in the destination: {dest}"
            ));
        }
        Ok(plan)
    }

    fn applied(&self, outputs: &[StepOutput]) -> Option<Applied> {
        let stdout: String = outputs.iter().map(|out| out.stdout.as_str()).collect();
        let values = fields(&stdout);
        let after = values.get("after")?.to_string();
        let before = values.get("before").copied().filter(|b| !b.is_empty());
        let local_mods = values.get("local_mods") == Some(&"1");
        let url_changed = values.get("remote_url_changed") == Some(&"1");
        let submodules = values.get("submodules_changed") == Some(&"1");
        let mut data = Map::new();
        data.insert("before".into(), json!(before));
        data.insert("after".into(), json!(after));
        if before.is_some() {
            data.insert("remote_url_changed".into(), json!(url_changed));
        }
        if submodules {
            data.insert("submodules_changed".into(), json!(true));
        }
        Some(Applied {
            changed: before != Some(after.as_str()) || local_mods || submodules || url_changed,
            data,
            msg: None,
        })
    }
}

/// Ansible's comparison of the remote's URL with `repo`: equal, or equal
/// once normalized as paths.
fn same_url(current: &str, repo: &str) -> bool {
    fn normalized(path: &str) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                part => parts.push(part),
            }
        }
        parts.join("/")
    }
    current == repo || normalized(current) == normalized(repo)
}

#[cfg(test)]
#[path = "git_tests.rs"]
mod tests;
