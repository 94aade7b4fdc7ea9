//! `slurp`: reads a file on the host into the result, base64-encoded, like
//! Ansible's `slurp`. It changes nothing; check mode reads as well.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::text::fields;
use crate::{Controller, Module, ModuleError, Plan, Probe, Script, parse_params};

pub const PARAMS: &[&str] = &["src", "path"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurpParams {
    #[serde(alias = "path")]
    pub src: String,
}

#[derive(Debug)]
pub struct Slurp {
    src: String,
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: SlurpParams = parse_params("slurp", params)?;
    if params.src.is_empty() {
        return Err(ModuleError::Params {
            module: "slurp".into(),
            message: "src is required".into(),
        });
    }
    Ok(Box::new(Slurp { src: params.src }))
}

impl Module for Slurp {
    fn probe(&self) -> Option<Script> {
        Some(Script::new().set("p", self.src.as_str()).snippet(
            "if [ -d \"$p\" ]; then echo kind=directory; \
             elif [ ! -e \"$p\" ]; then echo kind=absent; \
             elif [ ! -r \"$p\" ]; then echo kind=unreadable; \
             else echo \"content=$(base64 -w0 < \"$p\")\"; fi\n",
        ))
    }

    fn target(&self) -> Option<&str> {
        Some(&self.src)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let facts = fields(&probe.stdout);
        let src = &self.src;
        let content = match facts.get("kind").copied() {
            Some("directory") => {
                return Err(ModuleError::Failed(format!(
                    "source is a directory and must be a file: {src}"
                )));
            }
            Some("absent") => return Err(ModuleError::Failed(format!("file not found: {src}"))),
            Some(_) => return Err(ModuleError::Failed(format!("file is not readable: {src}"))),
            None => facts.get("content").copied().unwrap_or_default().trim(),
        };
        let mut data = Map::new();
        data.insert("content".into(), Value::String(content.to_string()));
        data.insert("source".into(), Value::String(src.clone()));
        data.insert("encoding".into(), Value::String("base64".into()));
        Ok(Plan {
            data,
            ..Plan::unchanged()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::command::stub_sh::run;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    #[test]
    fn returns_the_content_in_base64() {
        let dir = std::env::temp_dir().join(format!("fleet-slurp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("motd");
        std::fs::write(&file, "hi\n").unwrap();
        let module = build(json!({"path": file.to_str().unwrap()}), &NoFiles).unwrap();
        let out = run("", &module.probe().unwrap(), b"");
        let plan = module.plan(&Probe::ok(&out.stdout)).unwrap();
        assert!(!plan.changed && plan.steps.is_empty());
        assert_eq!(plan.data["content"], json!("aGkK"));
        assert_eq!(plan.data["encoding"], json!("base64"));
        let missing = build(json!({"src": dir.join("nope").to_str().unwrap()}), &NoFiles).unwrap();
        let out = run("", &missing.probe().unwrap(), b"");
        let err = missing.plan(&Probe::ok(&out.stdout)).unwrap_err();
        assert!(err.to_string().starts_with("file not found: "), "{err}");
        let folder = build(json!({"src": dir.to_str().unwrap()}), &NoFiles).unwrap();
        let out = run("", &folder.probe().unwrap(), b"");
        assert!(folder.plan(&Probe::ok(&out.stdout)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn src_is_required() {
        assert!(build(json!({}), &NoFiles).is_err());
        assert!(build(json!({"src": "/a", "encoding": "x"}), &NoFiles).is_err());
    }
}
