//! `fetch`: copies one file from the host to the controller, like Ansible's
//! `fetch` with `flat: true`.
//!
//! Idempotence: the probe prints the remote file's sha256, and the file is
//! fetched only when the controller's copy is missing or differs. The
//! engine writes it to a temp file next to `dest`, then renames it.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::modules::content_file::sha256_hex;
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, Step, parse_params};

pub const PARAMS: &[&str] = &["src", "dest"];

/// Prints the sha256 of `$src`, a file, else `missing`.
const SHA256: &str = "if [ -f \"$src\" ]; then sum=$(sha256sum < \"$src\"); \
    printf '%s\\n' \"${sum%% *}\"; else echo missing; fi";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchParams {
    /// A file on the host.
    pub src: String,
    /// A file on the controller; a relative path is taken from the
    /// playbook's directory.
    pub dest: String,
}

#[derive(Debug)]
pub struct Fetch {
    src: String,
    /// `dest`, resolved on the controller.
    dest: String,
    /// The sha256 of the controller's copy, when there is one.
    local: Option<String>,
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: FetchParams = parse_params("fetch", params)?;
    for (name, value) in [("src", &params.src), ("dest", &params.dest)] {
        if value.is_empty() {
            return Err(ModuleError::Params {
                module: "fetch".into(),
                message: format!("{name} is empty"),
            });
        }
    }
    let dest = controller.local_path(&params.dest);
    let local = std::fs::read(&dest).ok().map(|bytes| sha256_hex(&bytes));
    Ok(Box::new(Fetch {
        src: params.src,
        dest,
        local,
    }))
}

impl Module for Fetch {
    fn probe(&self) -> Option<Script> {
        Some(Script::new().set("src", &self.src).snippet(SHA256))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let remote = probe.stdout.trim();
        if probe.rc != 0 || remote.is_empty() {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        if remote == "missing" {
            return Err(ModuleError::Failed(format!(
                "{} is not a file on the host",
                self.src
            )));
        }
        let data = json!({"dest": self.dest, "checksum": remote});
        let Value::Object(data) = data else {
            unreachable!("json! of an object")
        };
        if self.local.as_deref() == Some(remote) {
            return Ok(Plan {
                data,
                ..Plan::unchanged()
            });
        }
        let was = self.local.as_deref().unwrap_or("absent");
        Ok(Plan {
            data,
            diff: Some(format!("{}: sha256 {was} -> {remote}\n", self.dest)),
            ..Plan::change(vec![Step::Fetch {
                src: self.src.clone(),
                dest: self.dest.clone(),
            }])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::path_facts::tests::TempDir;
    use crate::modules::tests::NoFiles;

    fn fetch(local: Option<&str>) -> Fetch {
        Fetch {
            src: "/var/cache/py.tar.gz".into(),
            dest: "/ctl/cache/py.tar.gz".into(),
            local: local.map(str::to_string),
        }
    }

    #[test]
    fn fetches_when_the_controller_copy_is_missing_or_differs() {
        for local in [None, Some("bbb")] {
            let plan = fetch(local).plan(&Probe::ok("aaa\n")).unwrap();
            assert!(plan.changed);
            assert_eq!(
                plan.steps,
                vec![Step::Fetch {
                    src: "/var/cache/py.tar.gz".into(),
                    dest: "/ctl/cache/py.tar.gz".into()
                }]
            );
        }
    }

    #[test]
    fn same_checksum_is_unchanged() {
        let plan = fetch(Some("aaa")).plan(&Probe::ok("aaa\n")).unwrap();
        assert!(!plan.changed);
        assert_eq!(plan.data["checksum"], "aaa");
    }

    #[test]
    fn a_missing_source_fails() {
        let err = fetch(None).plan(&Probe::ok("missing\n")).unwrap_err();
        assert!(err.to_string().contains("not a file on the host"), "{err}");
    }

    #[test]
    fn probe_binds_the_source() {
        let mut module = fetch(None);
        module.src = "/tmp/a b".into();
        assert_eq!(
            module.probe().unwrap(),
            "src='/tmp/a b'\nif [ -f \"$src\" ]; then sum=$(sha256sum < \"$src\"); \
             printf '%s\\n' \"${sum%% *}\"; else echo missing; fi\n"
        );
    }

    #[test]
    fn hostile_sources_are_hashed_not_run() {
        let dir = TempDir::new("fetch");
        let mut module = fetch(None);
        for name in ["-rf", "a'b", "$(touch pwned)", "`touch pwned`"] {
            module.src = dir.file(name, "hello\n");
            let (rc, out) = dir.sh(&module.probe().unwrap());
            assert_eq!((rc, out.trim()), (0, sha256_hex(b"hello\n").as_str()));
            assert!(module.plan(&Probe::ok(&out)).unwrap().changed);
        }
        module.src = dir.join("$(touch pwned)/x");
        assert_eq!(dir.sh(&module.probe().unwrap()), (0, "missing\n".into()));
        // A relative source starting with `-` is a path, not an option.
        module.src = "-rf".into();
        assert_eq!(dir.sh(&module.probe().unwrap()).0, 0);
        assert!(!dir.has("pwned"));
    }

    #[test]
    fn params_are_checked() {
        let err = build(json!({"src": "/a", "dst": "b"}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("unknown field `dst`"), "{err}");
        let err = build(json!({"src": "", "dest": "b"}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("src is empty"), "{err}");
    }
}
