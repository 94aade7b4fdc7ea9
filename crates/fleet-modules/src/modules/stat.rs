//! `stat`: facts about a path, for `register` (read-only, never changed).
//! The result's `stat` has Ansible's keys: `exists`, `mode` (`"0644"`),
//! `isdir`, `isreg`, `islnk`, `uid`, `gid`, `pw_name`, `gr_name`, `size`,
//! `mtime`, `checksum` (sha1 by default) and more.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::modules::de;
use crate::modules::file_attrs::stat_with_target;
use crate::shell::quote;
use crate::text::fields;
use crate::{Controller, Module, ModuleError, Plan, Probe, parse_params};

pub const PARAMS: &[&str] = &["path", "follow", "get_checksum", "checksum_algorithm"];

/// What `stat --printf` prints for [`Stat::describe`].
const STAT_FORMAT: &str = concat!(
    r"raw=%f\nuid=%u\ngid=%g\npw_name=%U\ngr_name=%G\nsize=%s\n",
    r"mtime=%.9Y\natime=%.9X\nctime=%.9Z\ninode=%i\ndev=%d\nnlink=%h\n",
);

const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatParams {
    pub path: String,
    /// Describe what a symlink points to instead of the link.
    #[serde(default, deserialize_with = "de::boolean")]
    pub follow: bool,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub get_checksum: bool,
    #[serde(default = "sha1")]
    pub checksum_algorithm: String,
}

fn sha1() -> String {
    "sha1".into()
}

#[derive(Debug)]
pub struct Stat {
    params: StatParams,
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
    if !ALGORITHMS.contains(&params.checksum_algorithm.as_str()) {
        return Err(invalid(format!(
            "checksum_algorithm must be one of {}, got {:?}",
            ALGORITHMS.join(", "),
            params.checksum_algorithm
        )));
    }
    Ok(Box::new(Stat { params }))
}

impl Module for Stat {
    fn probe(&self) -> Option<crate::Script> {
        let follow = self.params.follow;
        let (exists, regular) = if follow {
            ("[ -e \"$p\" ]", "[ -f \"$p\" ]")
        } else {
            (
                "{ [ -e \"$p\" ] || [ -L \"$p\" ]; }",
                "[ -f \"$p\" ] && [ ! -L \"$p\" ]",
            )
        };
        let mut script = format!(
            "p={path}\nif ! {exists}; then echo exists=0; exit 0; fi\necho exists=1\n",
            path = quote(&self.params.path),
        );
        if follow {
            script.push_str(&format!("stat -L --printf '{STAT_FORMAT}' -- \"$p\"\n"));
        } else {
            // The link's target comes from the same `stat` call.
            script.push_str(&stat_with_target(STAT_FORMAT));
        }
        script.push_str(
            "for t in r:readable w:writeable x:executable; do \
             if [ -\"${t%%:*}\" \"$p\" ]; then echo \"${t#*:}=1\"; else echo \"${t#*:}=0\"; fi; done\n",
        );
        if !follow {
            script.push_str(
                "if [ -L \"$p\" ]; then printf 'lnk_target=%s\\n' \"$target\"; \
                 printf 'lnk_source=%s\\n' \"$(readlink -f -- \"$p\")\"; fi\n",
            );
        }
        if self.params.get_checksum {
            script.push_str(&format!(
                "if {regular} && [ -r \"$p\" ]; then sum=$({}sum < \"$p\"); \
                 printf 'checksum=%s\\n' \"${{sum%% *}}\"; fi\n",
                self.params.checksum_algorithm
            ));
        }
        Some(script.into())
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let facts = fields(&probe.stdout);
        let stat = match facts.get("exists") {
            Some(&"0") => json!({ "exists": false }),
            Some(&"1") => self.describe(&facts)?,
            _ => {
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
    fn describe(
        &self,
        facts: &std::collections::BTreeMap<&str, &str>,
    ) -> Result<Value, ModuleError> {
        let field = |name: &str| {
            facts
                .get(name)
                .copied()
                .ok_or_else(|| ModuleError::Probe(format!("no `{name}` in the stat output")))
        };
        let integer = |name: &str| -> Result<Value, ModuleError> {
            let text = field(name)?;
            text.parse::<u64>()
                .map(Value::from)
                .map_err(|_| ModuleError::Probe(format!("{name}={text:?}")))
        };
        let float = |name: &str| -> Result<Value, ModuleError> {
            let text = field(name)?;
            text.parse::<f64>()
                .map(Value::from)
                .map_err(|_| ModuleError::Probe(format!("{name}={text:?}")))
        };
        let raw = field("raw")?;
        let raw = u32::from_str_radix(raw, 16)
            .map_err(|_| ModuleError::Probe(format!("raw mode {raw:?}")))?;
        let kind = raw & 0o170_000;
        let flag = |name: &str| field(name).map(|value| Value::Bool(value == "1"));
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
            "uid": integer("uid")?,
            "gid": integer("gid")?,
            "size": integer("size")?,
            "mtime": float("mtime")?,
            "atime": float("atime")?,
            "ctime": float("ctime")?,
            "inode": integer("inode")?,
            "dev": integer("dev")?,
            "nlink": integer("nlink")?,
            "readable": flag("readable")?,
            "writeable": flag("writeable")?,
            "executable": flag("executable")?,
        });
        let Value::Object(map) = &mut stat else {
            return Err(ModuleError::Failed("stat is not an object".into()));
        };
        for (key, absent) in [("pw_name", "UNKNOWN"), ("gr_name", "UNKNOWN")] {
            if let Some(name) = facts.get(key).filter(|name| **name != absent) {
                map.insert(key.into(), Value::from(*name));
            }
        }
        for key in ["lnk_target", "lnk_source", "checksum"] {
            if let Some(value) = facts.get(key) {
                map.insert(key.into(), Value::from(*value));
            }
        }
        Ok(stat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;

    fn module(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    const FILE: &str = "exists=1\nraw=81a4\nuid=0\ngid=0\npw_name=root\ngr_name=root\nsize=6\n\
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
            .replace("pw_name=root", "pw_name=UNKNOWN")
            + "lnk_target=../x\nlnk_source=/srv/x\n";
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
        assert!(probe.contains("lnk_target"));
        assert!(probe.contains("sum=$(sha1sum < \"$p\")"));
        assert!(!probe.contains("cut ") && !probe.contains(" | "), "{probe}");
        assert_eq!(probe.matches("stat ").count(), 1, "{probe}");
        let probe = module(json!({"path": "/a", "follow": true, "get_checksum": false,
            "checksum_algorithm": "sha256"}))
        .probe()
        .unwrap();
        assert!(probe.contains("stat -L --printf"));
        assert!(!probe.contains("lnk_target") && !probe.contains("checksum="));
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
