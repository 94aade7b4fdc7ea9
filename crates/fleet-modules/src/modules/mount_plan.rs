//! `mount`'s decisions, state by state, as ansible.posix's `main()` takes
//! them on Linux.

use super::{Facts, Mount, State, attempt};
use crate::{Arg, Cmd, ModuleError, Script, Step};

/// What `plan` turns into a `Plan`.
pub(crate) struct Planned {
    pub changed: bool,
    pub steps: Vec<Step>,
    /// The fstab's text before and after, when it is rewritten.
    pub fstab_edit: Option<(String, String)>,
    /// A line for the diff: what is mounted, unmounted or remounted.
    pub mount_note: Option<String>,
}

/// The failure of the mount command, after putting fstab back and removing
/// the directories this run made.
const ROLLBACK_FSTAB: &str = "rollback() { printf '%s' \"$old\" > \"$f\"\n\
    printf '%s\\n' \"$c\" | while IFS= read -r d; do if [ -n \"$d\" ]; then rmdir -- \"$d\"; fi; done; }\n";
const ROLLBACK_DIRS: &str = "rollback() { printf '%s\\n' \"$c\" | while IFS= read -r d; do \
    if [ -n \"$d\" ]; then rmdir -- \"$d\"; fi; done; }\n";
const NO_ROLLBACK: &str = "rollback() { :; }\n";
/// The old fstab from stdin, trailing newlines kept.
const READ_OLD: &str = "old=$(cat; echo x); old=${old%x}\n";
const FAIL_MOUNTING: &str =
    "else rollback; printf 'Error mounting %s: %s\\n' \"$p\" \"$out\" >&2; exit 1; fi\n";
const FAIL_REMOUNTING: &str =
    "else printf 'Error remounting %s: %s\\n' \"$p\" \"$out\" >&2; exit 1; fi\n";
const FAIL_UNMOUNTING: &str =
    "else printf 'Error unmounting %s: %s\\n' \"$p\" \"$out\" >&2; exit 1; fi\n";
const REMOUNT_WITH_OPTS_FAILED: &str = "else printf '%s\\n' 'Options were specified with remounted, but the remount command failed. Failing in order to prevent an unexpected mount result. Try replacing this command with a \"state: unmounted\" followed by a \"state: mounted\" using the full desired mount options instead.' >&2; exit 1; fi\n";

impl Mount {
    /// `mount [-o remount[,OPTS]] [-T fstab | -t TYPE [-o OPTS] SRC] PATH`.
    fn mount_cmd(&self, remount: bool) -> Cmd {
        let mut cmd = Cmd::new("mount");
        let e = &self.entry;
        if remount {
            let opts = if self.state == State::Remounted && e.opts != "defaults" {
                format!("remount,{}", e.opts)
            } else {
                "remount".to_string()
            };
            cmd = cmd.opt("-o", opts);
        }
        if self.ephemeral() {
            cmd = cmd.opt("-t", e.fstype.clone().unwrap_or_default());
            if e.opts != "defaults" {
                cmd = cmd.opt("-o", e.opts.as_str());
            }
            cmd = cmd.operand(e.src.clone().unwrap_or_default());
        } else if self.own_fstab {
            cmd = cmd.opt("-T", Arg::var("f"));
        }
        cmd.operand(Arg::var("p"))
    }

    /// The steps that write `text` to the fstab (after a backup).
    fn write_fstab(&self, facts: &Facts, text: &str, steps: &mut Vec<Step>) {
        if self.backup {
            steps.push(Step::run(super::super::content_file::backup_script(
                &self.fstab,
            )));
        }
        steps.push(Step::Upload {
            dest: self.fstab.clone(),
            contents: text.as_bytes().to_vec(),
            mode: facts.fstab_mode,
            owner: None,
        });
    }

    fn umount_step(&self) -> Step {
        let script = attempt(
            self.base_script(),
            Cmd::new("umount").operand(Arg::var("p")),
        );
        Step::run(script.snippet(FAIL_UNMOUNTING))
    }

    /// Ansible's `remount`: `mount -o remount`, else `umount` then `mount`.
    fn remount_script(&self, script: Script, fail: &'static str) -> Script {
        let script = attempt(script, self.mount_cmd(true));
        let with_opts = self.state == State::Remounted && self.entry.opts != "defaults";
        if with_opts {
            return script.snippet(REMOUNT_WITH_OPTS_FAILED);
        }
        let script = attempt(
            script.snippet("else\n"),
            Cmd::new("umount").operand(Arg::var("p")),
        );
        let script = attempt(script, self.mount_cmd(false));
        script.snippet(fail).snippet(fail).snippet("fi\n")
    }

    /// The directories `mkdir -p` makes for the mount point, deepest first.
    fn dirs_to_make(&self, ancestor: &str) -> Vec<String> {
        let path = self.entry.name.trim_end_matches('/');
        let mut dirs = Vec::new();
        let mut dir = path.to_string();
        while !dir.is_empty() && dir != ancestor && dir != "/" {
            dirs.push(dir.clone());
            dir = match dir.rsplit_once('/') {
                Some(("", _)) => "/".to_string(),
                Some((parent, _)) => parent.to_string(),
                None => String::new(),
            };
        }
        dirs
    }

    pub(crate) fn plan_with(&self, facts: &Facts) -> Result<super::Planned, ModuleError> {
        let name = &self.entry.name;
        let mut steps = Vec::new();
        let fstab = facts.fstab.clone().unwrap_or_default();
        if !self.ephemeral() && facts.fstab.is_none() {
            // Ansible creates a missing fstab (and its directory) first.
            steps.push(Step::run(
                Script::new()
                    .set("f", self.fstab.as_str())
                    .snippet("mkdir -p -- \"$(dirname -- \"$f\")\" && : >> \"$f\"\n"),
            ));
        }
        let mounted_any = facts.ismount || facts.mounts.contains_key(name.as_str());
        let mut changed = false;
        let mut fstab_edit = None;
        let mut mount_note = None;
        match self.state {
            State::AbsentFromFstab | State::Absent => {
                let (after, removed) = self.entry.unset(&fstab);
                if removed {
                    changed = true;
                    self.write_fstab(facts, &after, &mut steps);
                    fstab_edit = Some((fstab.clone(), after));
                    if self.state == State::Absent {
                        if mounted_any {
                            steps.push(self.umount_step());
                            mount_note = Some(format!("unmounted: {name}"));
                        }
                        steps.push(Step::run(self.base_script().snippet(
                            "if [ -e \"$p\" ]; then if out=$(rmdir -- \"$p\" 2>&1); then :; \
                             else printf 'Error rmdir %s: %s\\n' \"$p\" \"$out\" >&2; exit 1; fi; fi\n",
                        )));
                    }
                }
            }
            State::Unmounted => {
                if mounted_any {
                    changed = true;
                    steps.push(self.umount_step());
                    mount_note = Some(format!("unmounted: {name}"));
                }
            }
            State::Present => {
                let (after, _, edited) = self.entry.set(&fstab);
                if edited {
                    changed = true;
                    self.write_fstab(facts, &after, &mut steps);
                    fstab_edit = Some((fstab.clone(), after));
                }
            }
            State::Remounted => {
                changed = true;
                steps.push(Step::run(
                    self.remount_script(self.base_script(), FAIL_REMOUNTING),
                ));
                mount_note = Some(format!("remounted: {name}"));
            }
            State::Mounted | State::Ephemeral => {
                let made = if facts.exists {
                    Vec::new()
                } else {
                    self.dirs_to_make(&facts.ancestor)
                };
                if !made.is_empty() {
                    steps.push(Step::run(
                        self.base_script().snippet("mkdir -p -- \"$p\"\n"),
                    ));
                }
                let mut old = String::new();
                if self.state == State::Mounted {
                    let (after, before, edited) = self.entry.set(&fstab);
                    old = before;
                    if edited {
                        changed = true;
                        self.write_fstab(facts, &after, &mut steps);
                        fstab_edit = Some((fstab.clone(), after));
                    }
                }
                let src = self.entry.src.as_deref().unwrap_or_default();
                let bound = facts
                    .mounts
                    .get(name.as_str())
                    .is_some_and(|mounted| mounted.src == src);
                let mut script = self.base_script().set("c", made.join("\n").as_str());
                if self.state == State::Mounted {
                    script = script.snippet(READ_OLD);
                }
                let script = script.snippet(match (self.state, made.is_empty()) {
                    (State::Mounted, _) => ROLLBACK_FSTAB,
                    (_, false) => ROLLBACK_DIRS,
                    _ => NO_ROLLBACK,
                });
                let with_old = |script: Script| {
                    if self.state == State::Mounted {
                        Step::run_with_stdin(script, old.clone().into_bytes())
                    } else {
                        Step::run(script)
                    }
                };
                if facts.ismount || bound {
                    let remount = if self.ephemeral() {
                        if !self.same_source(facts) {
                            return Err(ModuleError::Failed(
                                "Ephemeral mount point is already mounted with a different source than the specified one. Failing in order to prevent an unwanted unmount or override operation. Try replacing this command with a \"state: unmounted\" followed by a \"state: ephemeral\", or use a different destination path.".into(),
                            ));
                        }
                        true
                    } else {
                        changed
                    };
                    if remount {
                        changed = true;
                        steps.push(with_old(self.remount_script(script, FAIL_MOUNTING)));
                        mount_note = Some(format!("remounted: {name}"));
                    }
                } else {
                    changed = true;
                    let script = attempt(script, self.mount_cmd(false)).snippet(FAIL_MOUNTING);
                    steps.push(with_old(script));
                    mount_note = Some(format!("mounted: {name}"));
                }
            }
        }
        Ok(super::Planned {
            changed,
            steps,
            fstab_edit,
            mount_note,
        })
    }

    /// `_is_same_mount_src`: the mount point shows `src` (a bind mount's
    /// directory) or `mount -v` lists `src on PATH`.
    fn same_source(&self, facts: &Facts) -> bool {
        let name = self.entry.name.as_str();
        let src = self.entry.src.as_deref().unwrap_or_default();
        if !facts.ismount && !facts.mounts.contains_key(name) {
            return false;
        }
        if facts.mounts.get(name).is_some_and(|m| m.src == src) {
            return true;
        }
        facts.mount_v.lines().any(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            f.len() > 2 && f[0] == src && f[2] == name
        })
    }
}
