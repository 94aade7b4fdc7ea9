//! `stat`: facts about a path, for `register` (read-only, never changed).
//! The result's `stat` has Ansible's keys: `exists`, `mode` (`"0644"`),
//! `isdir`, `isreg`, `islnk`, `uid`, `gid`, `pw_name`, `gr_name`, `size`,
//! `mtime`, `checksum` (sha1 by default) and more.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::modules::de;
use crate::modules::path_facts::{PathFacts, stat_with_target};
use crate::{Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

pub const PARAMS: &[&str] = &[
    "path",
    "dest",
    "name",
    "follow",
    "get_checksum",
    "checksum_algorithm",
    "checksum",
    "checksum_algo",
];

/// What `stat --printf` prints for [`Stat::describe`].
const STAT_FORMAT: &str = concat!(
    r"raw=%f\nuid=%u\ngid=%g\nowner=%U\ngroup=%G\nsize=%s\n",
    r"mtime=%.9Y\natime=%.9X\nctime=%.9Z\ninode=%i\ndev=%d\nnlink=%h\n",
);

/// Each `checksum_algorithm` and the program printing it.
const ALGORITHMS: &[(&str, &str)] = &[
    ("md5", "md5sum"),
    ("sha1", "sha1sum"),
    ("sha224", "sha224sum"),
    ("sha256", "sha256sum"),
    ("sha384", "sha384sum"),
    ("sha512", "sha512sum"),
];

/// Prints `exists=0` and stops when nothing is at `$p`, symlinks included.
const EXISTS: &str =
    "if ! { [ -e \"$p\" ] || [ -L \"$p\" ]; }; then echo exists=0; exit 0; fi\necho exists=1";
/// [`EXISTS`] following symlinks.
const EXISTS_FOLLOWED: &str = "if ! [ -e \"$p\" ]; then echo exists=0; exit 0; fi\necho exists=1";

/// Prints whether `$p` is readable, writeable and executable.
const ACCESS: &str = "for t in r:readable w:writeable x:executable; do \
    if [ -\"${t%%:*}\" \"$p\" ]; then echo \"${t#*:}=1\"; else echo \"${t#*:}=0\"; fi; done";

/// Prints a symlink's target (found by [`stat_with_target`]) and the path
/// it resolves to.
const LINK: &str = "if [ -L \"$p\" ]; then printf 'link=%s\\n' \"$target\"; \
    printf 'real=%s\\n' \"$(readlink -f -- \"$p\")\"; fi";

/// Prints the checksum of `$p`, a readable regular file and not a symlink,
/// by `$checksum_program`.
const CHECKSUM: &str = "if [ -f \"$p\" ] && [ ! -L \"$p\" ] && [ -r \"$p\" ]; then \
    sum=$(\"$checksum_program\" < \"$p\"); printf 'checksum=%s\\n' \"${sum%% *}\"; fi";
/// [`CHECKSUM`] following symlinks.
const CHECKSUM_FOLLOWED: &str = "if [ -f \"$p\" ] && [ -r \"$p\" ]; then \
    sum=$(\"$checksum_program\" < \"$p\"); printf 'checksum=%s\\n' \"${sum%% *}\"; fi";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatParams {
    #[serde(alias = "dest", alias = "name")]
    pub path: String,
    /// Describe what a symlink points to instead of the link.
    #[serde(default, deserialize_with = "de::boolean")]
    pub follow: bool,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub get_checksum: bool,
    #[serde(default = "sha1", alias = "checksum", alias = "checksum_algo")]
    pub checksum_algorithm: String,
}

fn sha1() -> String {
    "sha1".into()
}

#[derive(Debug)]
pub struct Stat {
    params: StatParams,
    checksum_program: &'static str,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: StatParams = parse_params("stat", params)?;
    let invalid = |message: String| ModuleError::Params {
        module: "stat".into(),
        message,
    };
    if params.path.is_empty() {
        return Err(invalid("path is empty".into()));
    }
    let Some((_, checksum_program)) = ALGORITHMS
        .iter()
        .find(|(name, _)| *name == params.checksum_algorithm)
    else {
        let names: Vec<&str> = ALGORITHMS.iter().map(|(name, _)| *name).collect();
        return Err(invalid(format!(
            "checksum_algorithm must be one of {}, got {:?}",
            names.join(", "),
            params.checksum_algorithm
        )));
    };
    Ok(Box::new(Stat {
        params,
        checksum_program,
    }))
}

impl Module for Stat {
    fn probe(&self) -> Option<Script> {
        let follow = self.params.follow;
        let script = Script::new().set("p", &self.params.path);
        let script = if follow {
            let stat = Cmd::new("stat")
                .flag("-L")
                .opt("--printf", STAT_FORMAT)
                .operand(Arg::var("p"));
            script.snippet(EXISTS_FOLLOWED).cmd(stat).snippet(ACCESS)
        } else {
            // The link's target comes from the same `stat` call.
            script
                .snippet(EXISTS)
                .set("stat_format", STAT_FORMAT)
                .snippet(stat_with_target!())
                .snippet(ACCESS)
                .snippet(LINK)
        };
        if !self.params.get_checksum {
            return Some(script);
        }
        let script = script.set("checksum_program", self.checksum_program);
        Some(script.snippet(if follow { CHECKSUM_FOLLOWED } else { CHECKSUM }))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = PathFacts::parse(&probe.stdout)?;
        let stat = match facts.exists {
            Some(false) => json!({ "exists": false }),
            Some(true) => self.describe(&facts)?,
            None => {
                return Err(ModuleError::Probe(format!(
                    "stat {} (rc={}): {}",
                    self.params.path,
                    probe.rc,
                    probe.stderr.trim()
                )));
            }
        };
        let mut data = Map::new();
        data.insert("stat".into(), stat);
        Ok(Plan {
            data,
            ..Plan::unchanged()
        })
    }
}

impl Stat {
    fn describe(&self, facts: &PathFacts) -> Result<Value, ModuleError> {
        fn field<T: Clone>(value: &Option<T>, name: &str) -> Result<T, ModuleError> {
            value
                .clone()
                .ok_or_else(|| ModuleError::Probe(format!("no `{name}` in the stat output")))
        }
        let raw = field(&facts.raw_mode, "raw")?;
        let attrs = field(&facts.attrs, "uid")?;
        let kind = raw & 0o170_000;
        let mut stat = json!({
            "exists": true,
            "path": self.params.path,
            "mode": format!("{:04o}", raw & 0o7777),
            "isdir": kind == 0o040_000,
            "isreg": kind == 0o100_000,
            "islnk": kind == 0o120_000,
            "isfifo": kind == 0o010_000,
            "issock": kind == 0o140_000,
            "ischr": kind == 0o020_000,
            "isblk": kind == 0o060_000,
            "isuid": raw & 0o4000 != 0,
            "isgid": raw & 0o2000 != 0,
            "uid": attrs.uid,
            "gid": attrs.gid,
            "size": field(&facts.size, "size")?,
            "mtime": field(&facts.mtime, "mtime")?,
            "atime": field(&facts.atime, "atime")?,
            "ctime": field(&facts.ctime, "ctime")?,
            "inode": field(&facts.inode, "inode")?,
            "dev": field(&facts.dev, "dev")?,
            "nlink": field(&facts.nlink, "nlink")?,
            "readable": field(&facts.readable, "readable")?,
            "writeable": field(&facts.writeable, "writeable")?,
            "executable": field(&facts.executable, "executable")?,
        });
        let Value::Object(map) = &mut stat else {
            return Err(ModuleError::Failed("stat is not an object".into()));
        };
        for (key, name) in [("pw_name", &attrs.owner), ("gr_name", &attrs.group)] {
            if name != "UNKNOWN" {
                map.insert(key.into(), Value::from(name.as_str()));
            }
        }
        for (key, value) in [
            ("lnk_target", &facts.link),
            ("lnk_source", &facts.real),
            ("checksum", &facts.checksum),
        ] {
            if let Some(value) = value {
                map.insert(key.into(), Value::from(value.as_str()));
            }
        }
        Ok(stat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::content_file::sha256_hex;
    use crate::modules::path_facts::tests::TempDir;
    use crate::modules::tests::NoFiles;

    fn module(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    const FILE: &str = "exists=1\nraw=81a4\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=6\n\
        mtime=1700000000.250000000\natime=1700000001.000000000\nctime=1700000002.000000000\n\
        inode=42\ndev=2049\nnlink=1\nreadable=1\nwriteable=1\nexecutable=0\n\
        checksum=f572d396fae9206628714fb2ce00f72e94f2258f\n";

    #[test]
    fn regular_file_facts_like_ansible() {
        let plan = module(json!({"path": "/etc/motd"}))
            .plan(&Probe::ok(FILE))
            .unwrap();
        assert!(!plan.changed);
        assert!(plan.steps.is_empty());
        let stat = &plan.data["stat"];
        assert_eq!(stat["exists"], true);
        assert_eq!(stat["mode"], "0644");
        assert_eq!(stat["isreg"], true);
        assert_eq!(stat["isdir"], false);
        assert_eq!(stat["islnk"], false);
        assert_eq!(stat["uid"], 0);
        assert_eq!(stat["pw_name"], "root");
        assert_eq!(stat["size"], 6);
        assert_eq!(stat["mtime"], 1_700_000_000.25);
        assert_eq!(stat["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
        assert_eq!(stat["executable"], false);
    }

    #[test]
    fn missing_path_and_links() {
        let plan = module(json!({"path": "/nope"}))
            .plan(&Probe::ok("exists=0\n"))
            .unwrap();
        assert_eq!(plan.data["stat"], json!({"exists": false}));
        let link = FILE
            .replace("raw=81a4", "raw=a1ff")
            .replace("owner=root", "owner=UNKNOWN")
            + "link=../x\nreal=/srv/x\n";
        let plan = module(json!({"path": "/srv/l"}))
            .plan(&Probe::ok(&link))
            .unwrap();
        let stat = &plan.data["stat"];
        assert_eq!(stat["islnk"], true);
        assert_eq!(stat["mode"], "0777");
        assert_eq!(stat["lnk_target"], "../x");
        assert!(stat.get("pw_name").is_none());
        let sticky = FILE.replace("raw=81a4", "raw=43ff");
        let plan = module(json!({"path": "/tmp"}))
            .plan(&Probe::ok(&sticky))
            .unwrap();
        assert_eq!(plan.data["stat"]["mode"], "1777");
        assert_eq!(plan.data["stat"]["isdir"], true);
    }

    #[test]
    fn probe_follows_only_when_asked_and_checksums_regular_files() {
        let probe = module(json!({"path": "/a b"})).probe().unwrap();
        assert!(probe.starts_with("p='/a b'\n"));
        assert!(probe.contains("stat --printf"));
        assert!(probe.contains("printf 'link=%s\\n' \"$target\""), "{probe}");
        assert!(probe.contains("\nchecksum_program=sha1sum\n"), "{probe}");
        assert!(
            probe.contains("sum=$(\"$checksum_program\" < \"$p\")"),
            "{probe}"
        );
        assert!(!probe.contains("cut ") && !probe.contains(" | "), "{probe}");
        assert_eq!(probe.matches("stat ").count(), 1, "{probe}");
        let probe = module(json!({"path": "/a", "follow": true, "get_checksum": false,
            "checksum_algorithm": "sha256"}))
        .probe()
        .unwrap();
        assert!(
            probe.contains("stat -L --printf 'raw=%f\\nuid=%u\\n"),
            "{probe}"
        );
        assert!(!probe.contains("'link=") && !probe.contains("checksum"));
    }

    #[test]
    fn hostile_paths_are_described_not_run() {
        let dir = TempDir::new("stat");
        dir.file("-rf", "hello\n");
        let link = dir.join("$(touch pwned) 'l'");
        std::os::unix::fs::symlink("-rf", &link).unwrap();
        let stat = |params: Value| {
            let module = module(params);
            let (rc, out) = dir.sh(&module.probe().unwrap());
            assert_eq!(rc, 0, "{out}");
            module.plan(&Probe::ok(&out)).unwrap().data["stat"].clone()
        };
        let linked = stat(json!({"path": link}));
        assert_eq!(linked["islnk"], true, "{linked}");
        assert_eq!(linked["lnk_target"], "-rf");
        assert_eq!(linked["lnk_source"], dir.join("-rf"));
        assert!(linked.get("checksum").is_none());
        let followed = stat(json!({"path": link, "follow": true}));
        assert_eq!(followed["isreg"], true, "{followed}");
        assert_eq!(followed["size"], 6);
        assert_eq!(
            followed["checksum"],
            "f572d396fae9206628714fb2ce00f72e94f2258f"
        );
        let relative = stat(json!({"path": "-rf", "checksum_algorithm": "sha256"}));
        assert_eq!(relative["isreg"], true, "{relative}");
        assert_eq!(relative["checksum"], sha256_hex(b"hello\n"));
        assert_eq!(
            stat(json!({"path": "$(touch pwned)"})),
            json!({"exists": false})
        );
        assert!(!dir.has("pwned"));
    }

    #[test]
    fn failures_and_bad_params() {
        let module = module(json!({"path": "/x"}));
        assert!(module.plan(&Probe::default()).is_err());
        let error = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
        assert!(error(json!({"path": "/x", "checksum_algorithm": "crc"})).contains("sha256"));
        assert!(error(json!({"path": "/x", "get_md5": true})).contains("get_md5"));
        assert!(error(json!({})).contains("path"));
    }
}
