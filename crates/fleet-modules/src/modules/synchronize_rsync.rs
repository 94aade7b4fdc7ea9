//! `synchronize`'s options for rsync, when the host has it (see
//! `Step::Rsync`): Ansible's own, from the task's params.

use super::Synchronize;
use crate::modules::synchronize_excludes::exclude_patterns;

impl Synchronize {
    /// rsync's options for this task, as Ansible's synchronize passes
    /// them, then the controller's source.
    pub(super) fn rsync_args(&self) -> Vec<String> {
        let p = &self.params;
        let mut args: Vec<String> = vec!["--delay-updates".into()];
        if p.compress {
            args.push("--compress".into());
        }
        let flags = [
            ("recursive", self.keep.recursive),
            ("links", self.keep.links),
            ("perms", self.keep.perms),
            ("times", self.keep.times),
            ("owner", self.keep.owner),
            ("group", self.keep.group),
        ];
        if p.archive {
            args.push("--archive".into());
            args.extend(
                flags
                    .iter()
                    .filter(|(_, on)| !on)
                    .map(|(name, _)| format!("--no-{name}")),
            );
        } else {
            args.extend(
                flags
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(name, _)| format!("--{name}")),
            );
        }
        if p.delete {
            args.push("--delete-after".into());
        }
        if p.checksum {
            args.push("--checksum".into());
        }
        args.extend(
            exclude_patterns(&p.rsync_opts)
                .unwrap_or_default()
                .into_iter()
                .map(|pattern| format!("--exclude={pattern}")),
        );
        args.push("--out-format=<<CHANGED>>%i %n%L".into());
        args.push(self.local_src.clone());
        args
    }
}
