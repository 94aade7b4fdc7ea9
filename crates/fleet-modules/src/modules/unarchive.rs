//! `unarchive`: extracts a controller archive (.tar, .tar.gz/.tgz, .tar.xz,
//! .zip) into an existing directory on the host, like Ansible's.
//!
//! Idempotence: the archive is listed on the controller and the probe lists
//! what is at `dest` under the archive's top-level names (one `find`). It is
//! unchanged when every member is there: directories as directories, files
//! with the same size and modification time (which `tar` restores),
//! symlinks with the same target, and, when given, the same owner, group
//! and mode. Otherwise the archive is uploaded next to `dest`, extracted
//! with `tar` and removed.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::modules::archive::{self, Archive, Entry, Kind};
use crate::modules::content_file::sha256_hex;
use crate::modules::de;
use crate::modules::file_attrs::{Attrs, octal};
use crate::modules::path_facts::{FIND_FORMAT, Kind as HostKind, Listed, parse_listing};
use crate::{Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &[
    "src",
    "dest",
    "creates",
    "mode",
    "owner",
    "group",
    "extra_opts",
    "list_files",
];

/// Above this many bytes of top-level names, the probe lists all of `dest`.
const TOP_LEVEL_LIMIT: usize = 64 * 1024;
/// Diff lines shown before "… and N more".
const DIFF_LINES: usize = 20;

/// Prints `creates=1` and stops when `$creates` exists.
const CREATES: &str = "if [ -e \"$creates\" ]; then echo creates=1; exit 0; fi";

/// Goes to `$dest`, or prints that it is missing and stops.
const ENTER_DEST: &str = "cd \"$dest\" 2>/dev/null || { echo dest=missing; exit 0; }\n\
    echo dest=dir\necho entries:";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveParams {
    /// An archive on the controller.
    pub src: String,
    /// An existing directory on the host.
    pub dest: String,
    /// Skip when this path exists on the host.
    pub creates: Option<String>,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// More options for `tar -x`.
    #[serde(default)]
    pub extra_opts: Vec<String>,
    /// Put the archive's paths in the result as `files`.
    #[serde(default, deserialize_with = "de::boolean")]
    pub list_files: bool,
}

#[derive(Debug)]
pub struct Unarchive {
    params: UnarchiveParams,
    attrs: Attrs,
    archive: Archive,
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let mut params: UnarchiveParams = parse_params("unarchive", params)?;
    for (name, value) in [("src", &params.src), ("dest", &params.dest)] {
        if value.is_empty() {
            return Err(ModuleError::Params {
                module: "unarchive".into(),
                message: format!("{name} is empty"),
            });
        }
    }
    let attrs = Attrs::new(
        "unarchive",
        params.mode,
        params.owner.take(),
        params.group.take(),
    )?;
    let bytes = controller.read_file(&params.src)?;
    let archive = archive::read(bytes)
        .map_err(|err| ModuleError::Failed(format!("{}: {err}", params.src)))?;
    Ok(Box::new(Unarchive {
        params,
        attrs,
        archive,
    }))
}

impl Module for Unarchive {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new();
        if let Some(creates) = &self.params.creates {
            script = script.set("creates", creates).snippet(CREATES);
        }
        let find = self
            .start_points()
            .into_iter()
            .fold(Cmd::without_end_of_options("find"), Cmd::arg)
            .opt("-printf", FIND_FORMAT)
            .quiet();
        let script = script
            .set("dest", self.dest_dir())
            .snippet(ENTER_DEST)
            .cmd(find)
            .snippet("exit 0");
        Some(script)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let (head, listing) = probe
            .stdout
            .split_once("entries:\n")
            .unwrap_or((probe.stdout.as_str(), ""));
        if let Some(creates) = &self.params.creates
            && head.contains("creates=1")
        {
            return Ok(Plan {
                msg: Some(format!("skipped: {creates} exists")),
                ..Plan::unchanged()
            });
        }
        if head.contains("dest=missing") {
            return Err(ModuleError::Failed(format!(
                "dest {} must be an existing directory",
                self.params.dest
            )));
        }
        if !head.contains("dest=dir") {
            return Err(ModuleError::Probe(format!(
                "rc={}: {}",
                probe.rc,
                probe.stderr.trim()
            )));
        }
        let found = parse_listing(listing)?;
        let differences: Vec<String> = self
            .archive
            .entries
            .iter()
            .filter_map(|entry| self.difference(entry, found.get(entry.path.as_str())))
            .collect();
        let mut plan = if differences.is_empty() {
            Plan::unchanged()
        } else {
            Plan::change(self.steps()).with_diff(Some(diff(&differences)))
        };
        if self.params.list_files {
            let files: Vec<&str> = self
                .archive
                .entries
                .iter()
                .map(|e| e.path.as_str())
                .collect();
            plan.data.insert("files".into(), json!(files));
        }
        Ok(plan)
    }
}

impl Unarchive {
    /// `./name` for each top-level name (so none reads as an option or an
    /// expression of `find`), or `.` when there are too many.
    fn start_points(&self) -> Vec<String> {
        let mut tops: Vec<&str> = self
            .archive
            .entries
            .iter()
            .map(|entry| entry.path.split('/').next().unwrap_or(&entry.path))
            .collect();
        tops.sort_unstable();
        tops.dedup();
        let points: Vec<String> = tops.iter().map(|top| format!("./{top}")).collect();
        let length: usize = points.iter().map(|point| point.len() + 1).sum();
        if points.is_empty() || length > TOP_LEVEL_LIMIT {
            vec![".".into()]
        } else {
            points
        }
    }

    /// `dest` without a trailing `/`, and as `./dest` when it starts with
    /// `-` (so `cd` cannot read it as an option).
    fn dest_dir(&self) -> String {
        let dest = self.params.dest.trim_end_matches('/');
        match dest {
            "" => "/".into(),
            dest if dest.starts_with('-') => format!("./{dest}"),
            dest => dest.into(),
        }
    }

    /// A diff line when `entry` is not as the archive has it.
    fn difference(&self, entry: &Entry, found: Option<&Listed>) -> Option<String> {
        let path = &entry.path;
        let Some(found) = found else {
            return Some(format!("{path}: absent -> {}", entry.kind.name()));
        };
        let detail = match (&entry.kind, found.kind) {
            (Kind::Dir, HostKind::Directory) | (Kind::Other, _) => None,
            (Kind::File { size, mtime }, HostKind::File) => {
                let parts: Vec<String> =
                    [("size", found.size, *size), ("mtime", found.mtime, *mtime)]
                        .into_iter()
                        .filter(|(_, before, after)| before != after)
                        .map(|(what, before, after)| format!("{what} {before} -> {after}"))
                        .collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            }
            (Kind::Symlink(target), HostKind::Symlink) if *target != found.target => {
                Some(format!("target {} -> {target}", found.target))
            }
            (Kind::Symlink(_), HostKind::Symlink) => None,
            (kind, other) => Some(format!("type {} -> {}", other.name(), kind.name())),
        };
        let mut attrs = self.attrs.clone();
        if found.kind == HostKind::Symlink {
            attrs.mode = None;
        }
        let attr_lines = attrs.changes(&found.attrs);
        let details: Vec<String> = detail.into_iter().chain(attr_lines).collect();
        (!details.is_empty()).then(|| format!("{path}: {}", details.join(", ")))
    }

    fn steps(&self) -> Vec<Step> {
        let dest = self.dest_dir();
        let extension = if self.archive.gzip { "tar.gz" } else { "tar" };
        let sha = sha256_hex(&self.archive.upload);
        let temp = format!(
            "{}/.fleet-unarchive-{}.{extension}",
            dest.trim_end_matches('/'),
            &sha[..16]
        );
        let tar = Cmd::new("tar")
            .flag("-x")
            .flag_if(self.archive.gzip, "-z")
            .opt("-f", Arg::var("archive"))
            .opt("-C", Arg::var("dest"));
        let tar = self.params.extra_opts.iter().fold(tar, Cmd::arg);
        let extract = Script::new()
            .set("archive", temp.as_str())
            .set("dest", dest.as_str())
            .cmd(tar)
            .snippet("rc=$?")
            .cmd(Cmd::new("rm").flag("-f").operand(Arg::var("archive")))
            .snippet("exit $rc");
        let mut steps = vec![
            Step::Upload {
                dest: temp,
                contents: self.archive.upload.clone(),
                mode: 0o600,
                owner: None,
            },
            Step::run(extract),
        ];
        let paths = |keep: &dyn Fn(&Entry) -> bool| -> Vec<u8> {
            let mut list = Vec::new();
            for entry in self.archive.entries.iter().filter(|e| keep(e)) {
                list.extend_from_slice(entry.path.as_bytes());
                list.push(0);
            }
            list
        };
        // `xargs` appends the paths it reads after the command's `--`.
        let each_path = |then: &dyn Fn(Cmd) -> Cmd| {
            let xargs = Cmd::new("xargs").flag("-0").flag("-r");
            Script::new().set("dest", dest.as_str()).all([
                Cmd::without_end_of_options("cd").operand(Arg::var("dest")),
                then(xargs).flag("--"),
            ])
        };
        if let Some(spec) = self.attrs.chown_spec() {
            let chown = each_path(&|xargs| xargs.arg("chown").flag("-h").arg(spec.as_str()));
            steps.push(Step::run_with_stdin(chown, paths(&|_| true)));
        }
        if let Some(mode) = self.attrs.mode {
            let chmod = each_path(&|xargs| xargs.arg("chmod").arg(octal(mode)));
            steps.push(Step::run_with_stdin(
                chmod,
                paths(&|e| !matches!(e.kind, Kind::Symlink(_))),
            ));
        }
        steps
    }
}

fn diff(differences: &[String]) -> String {
    let mut text: String = differences
        .iter()
        .take(DIFF_LINES)
        .map(|line| format!("{line}\n"))
        .collect();
    if differences.len() > DIFF_LINES {
        text.push_str(&format!("… and {} more\n", differences.len() - DIFF_LINES));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::archive::tests::sample_tar;
    use crate::modules::path_facts::tests::TempDir;
    use serde_json::json;

    /// Serves `files/app.tar` (the sample tar) and a file that is no archive.
    struct Archives;

    impl Controller for Archives {
        fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
            match src {
                "files/app.tar" => Ok(sample_tar()),
                _ => Ok(b"not an archive".to_vec()),
            }
        }
        fn render_template(&self, src: &str) -> Result<String, ModuleError> {
            Ok(src.to_string())
        }
    }

    fn module(params: Value) -> Box<dyn Module> {
        build(params, &Archives).unwrap()
    }

    /// `find -printf` output for (kind, mode, owner, size, mtime, target, path).
    fn listing(records: &[(&str, &str, &str, u64, u64, &str, &str)]) -> String {
        let mut out = String::from("dest=dir\nentries:\n");
        for (kind, mode, owner, size, mtime, target, path) in records {
            let id = if *owner == "root" { "0" } else { "1000" };
            out.push_str(&format!(
                "{kind}\0{mode}\0{id}\0{id}\0{owner}\0{owner}\0{size}\0{mtime}.5000000000\0{target}\0./{path}\0"
            ));
        }
        out
    }

    fn extracted(owner: &str) -> String {
        listing(&[
            ("d", "755", owner, 4096, 1, "", "app"),
            ("f", "755", owner, 8, 1_700_000_001, "", "app/run.sh"),
            ("l", "777", owner, 6, 5, "run.sh", "app/current"),
            ("f", "755", owner, 8, 1_700_000_001, "", "app/again"),
            ("f", "644", owner, 3, 9, "", "app/extra-file-not-in-archive"),
        ])
    }

    #[test]
    fn probe_lists_the_top_level_names() {
        let module =
            module(json!({"src": "files/app.tar", "dest": "/opt/x", "creates": "/opt/x/app"}));
        let probe = module.probe().unwrap();
        assert_eq!(
            probe,
            "creates=/opt/x/app\nif [ -e \"$creates\" ]; then echo creates=1; exit 0; fi\n\
             dest=/opt/x\ncd \"$dest\" 2>/dev/null || { echo dest=missing; exit 0; }\n\
             echo dest=dir\necho entries:\n\
             find ./app -printf '%y\\0%m\\0%U\\0%G\\0%u\\0%g\\0%s\\0%T@\\0%l\\0%p\\0' 2>/dev/null\n\
             exit 0\n"
        );
    }

    #[test]
    fn extracted_tree_is_unchanged() {
        let module = module(json!({"src": "files/app.tar", "dest": "/opt/x", "list_files": true}));
        let plan = module.plan(&Probe::ok(&extracted("root"))).unwrap();
        assert!(!plan.changed, "{plan:?}");
        assert_eq!(
            plan.data["files"],
            json!(["app", "app/run.sh", "app/current", "app/again"])
        );
    }

    #[test]
    fn missing_or_different_members_extract_again() {
        let module = module(
            json!({"src": "files/app.tar", "dest": "/opt/x/", "extra_opts": ["--no-same-owner"]}),
        );
        let probe = listing(&[
            ("d", "755", "root", 4096, 1, "", "app"),
            ("f", "755", "root", 9, 1_700_000_001, "", "app/run.sh"),
            ("l", "777", "root", 3, 5, "old", "app/current"),
        ]);
        let plan = module.plan(&Probe::ok(&probe)).unwrap();
        assert!(plan.changed);
        assert_eq!(
            plan.diff.as_deref(),
            Some(
                "app/run.sh: size 9 -> 8\n\
                 app/current: target old -> run.sh\n\
                 app/again: absent -> file\n"
            )
        );
        let sha = sha256_hex(&sample_tar());
        let temp = format!("/opt/x/.fleet-unarchive-{}.tar", &sha[..16]);
        assert_eq!(
            plan.steps[..1],
            [Step::Upload {
                dest: temp.clone(),
                contents: sample_tar(),
                mode: 0o600,
                owner: None
            },][..]
        );
        assert_eq!(
            plan.steps[1].script_text().unwrap(),
            format!(
                "archive={temp}\ndest=/opt/x\n\
                 tar -x -f \"$archive\" -C \"$dest\" --no-same-owner\n\
                 rc=$?\nrm -f -- \"$archive\"\nexit $rc\n"
            )
        );
    }

    #[test]
    fn owner_and_mode_are_compared_and_set_on_members() {
        let module = module(
            json!({"src": "files/app.tar", "dest": "/opt/x", "owner": "app", "mode": "0755"}),
        );
        assert!(!module.plan(&Probe::ok(&extracted("app"))).unwrap().changed);
        let plan = module.plan(&Probe::ok(&extracted("root"))).unwrap();
        let diff = plan.diff.as_deref().unwrap();
        assert!(diff.starts_with("app: owner: root -> app\n"), "{diff}");
        let Step::Run { script, stdin } = &plan.steps[2] else {
            panic!("{:?}", plan.steps)
        };
        assert_eq!(
            (script.as_str(), stdin),
            (
                "dest=/opt/x\ncd \"$dest\" && xargs -0 -r chown -h app --\n",
                &Some(b"app\0app/run.sh\0app/current\0app/again\0".to_vec().into())
            )
        );
        let Step::Run { script, stdin } = &plan.steps[3] else {
            panic!("{:?}", plan.steps)
        };
        assert_eq!(
            (script.as_str(), stdin),
            (
                "dest=/opt/x\ncd \"$dest\" && xargs -0 -r chmod 0755 --\n",
                &Some(b"app\0app/run.sh\0app/again\0".to_vec().into())
            )
        );
    }

    #[test]
    fn creates_skips_and_dest_must_exist() {
        let module =
            module(json!({"src": "files/app.tar", "dest": "/nope", "creates": "/etc/done"}));
        let plan = module.plan(&Probe::ok("creates=1\n")).unwrap();
        assert!(!plan.changed);
        assert_eq!(plan.msg.as_deref(), Some("skipped: /etc/done exists"));
        let err = module.plan(&Probe::ok("dest=missing\n")).unwrap_err();
        assert_eq!(err.to_string(), "dest /nope must be an existing directory");
    }

    /// Probes in `dir` with `sh`, plans, and applies the plan as the
    /// engine would: uploads written, scripts run with their stdin.
    fn apply(dir: &TempDir, module: &dyn Module) -> Plan {
        let (rc, out) = dir.sh(&module.probe().unwrap());
        assert_eq!(rc, 0, "{out}");
        let plan = module.plan(&Probe::ok(&out)).unwrap();
        for step in &plan.steps {
            match step {
                Step::Upload { dest, contents, .. } => {
                    std::fs::write(dir.path.join(dest), contents).unwrap()
                }
                Step::Run { script, stdin } => {
                    let stdin = stdin
                        .as_ref()
                        .map(|stdin| stdin.bytes())
                        .unwrap_or_default();
                    assert_eq!(dir.sh_with_stdin(script, stdin).0, 0, "{script}");
                }
                Step::Fetch { .. } | Step::Rsync { .. } => panic!("{step:?}"),
            }
        }
        plan
    }

    #[test]
    fn hostile_destinations_are_extracted_into_as_data() {
        let dir = TempDir::new("unarchive");
        let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&dir.path).unwrap());
        for dest in [dir.join("-d $(touch pwned) 'x'"), "-C".to_string()] {
            std::fs::create_dir(dir.path.join(&dest)).unwrap();
            let module = module(json!({
                "src": "files/app.tar", "dest": dest, "owner": uid.to_string(), "mode": "0750",
                "creates": dir.join("$(touch pwned)"),
            }));
            let plan = apply(&dir, module.as_ref());
            assert!(plan.changed, "{plan:?}");
            let extracted = dir.path.join(&dest).join("app");
            let mode = |name: &str| {
                let meta = std::fs::metadata(extracted.join(name)).unwrap();
                std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777
            };
            assert_eq!((mode("run.sh"), mode("again")), (0o750, 0o750));
            assert_eq!(
                std::fs::read_link(extracted.join("current"))
                    .unwrap()
                    .to_str(),
                Some("run.sh")
            );
            assert_eq!(apply(&dir, module.as_ref()), Plan::unchanged());
        }
        assert!(!dir.has("pwned") && !dir.has("app"));
    }

    #[test]
    fn bad_archives_and_params() {
        let err = build(json!({"src": "files/readme", "dest": "/x"}), &Archives).unwrap_err();
        assert!(matches!(err, ModuleError::Failed(_)), "{err}");
        assert!(
            err.to_string().starts_with("files/readme: not a tar"),
            "{err}"
        );
        let err = build(
            json!({"src": "a.tar", "dest": "/x", "remote_src": true}),
            &Archives,
        )
        .unwrap_err();
        assert!(err.to_string().contains("remote_src"), "{err}");
        let err = build(json!({"src": "", "dest": "/x"}), &Archives).unwrap_err();
        assert!(err.to_string().contains("src is empty"), "{err}");
        // Validation reads no files: only the params are checked.
        assert_eq!(
            crate::validate("unarchive", &json!({"src": "a.tar", "dest": "/x"})),
            Ok(())
        );
    }
}
