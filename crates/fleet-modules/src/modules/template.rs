//! `template`: a controller template rendered with the host's vars (by the
//! playbook engine, with minijinja), then written like `copy` writes
//! content.

use serde::Deserialize;
use serde_json::Value;

use crate::modules::content_file::{WriteFile, basename};
use crate::modules::de;
use crate::modules::file_attrs::Attrs;
use crate::modules::validate::Validate;
use crate::{Controller, Module, ModuleError, parse_params};

pub const PARAMS: &[&str] = &[
    "src",
    "dest",
    "mode",
    "owner",
    "group",
    "backup",
    "force",
    "validate",
    "trim_blocks",
    "lstrip_blocks",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateParams {
    /// A template next to the playbook or under `templates/`.
    pub src: String,
    pub dest: String,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub force: bool,
    /// A command checking the new file (`%s`) before it replaces `dest`.
    pub validate: Option<String>,
    /// Drop the newline after a block tag.
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub trim_blocks: bool,
    /// Strip the spaces and tabs before a block tag on its line.
    #[serde(default, deserialize_with = "de::boolean")]
    pub lstrip_blocks: bool,
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: TemplateParams = parse_params("template", params)?;
    for (name, value) in [("src", &params.src), ("dest", &params.dest)] {
        if value.is_empty() {
            return Err(ModuleError::Params {
                module: "template".into(),
                message: format!("{name} is empty"),
            });
        }
    }
    let attrs = Attrs::new("template", params.mode, params.owner, params.group)?;
    let validate = params
        .validate
        .map(|text| Validate::parse("template", &text))
        .transpose()?;
    let rendered =
        controller.render_template_with(&params.src, params.trim_blocks, params.lstrip_blocks)?;
    Ok(Box::new(
        WriteFile::new(
            &params.dest,
            Some(basename(&params.src)),
            rendered.into_bytes(),
            attrs,
            params.backup,
            params.force,
        )
        .validated(validate),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use crate::{Probe, Step};
    use serde_json::json;

    #[test]
    fn uploads_the_rendered_text() {
        let module = build(
            json!({"src": "nginx.conf.j2", "dest": "/etc/nginx/nginx.conf", "mode": "0640", "owner": "www-data"}),
            &NoFiles,
        )
        .unwrap();
        let plan = module
            .plan(&Probe::ok(
                "path=/etc/nginx/nginx.conf\nme=0:0\nparent=1\nkind=absent\n",
            ))
            .unwrap();
        assert_eq!(
            plan.steps,
            [Step::Upload {
                dest: "/etc/nginx/nginx.conf".into(),
                contents: b"rendered nginx.conf.j2\n".to_vec(),
                mode: 0o640,
                owner: Some("www-data".into()),
            }]
        );
        assert!(plan.diff.unwrap().contains("+rendered nginx.conf.j2\n"));
    }

    #[test]
    fn params_are_checked() {
        let err = build(json!({"src": "a.j2"}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("dest"), "{err}");
        let err = build(
            json!({"src": "a.j2", "dest": "/f", "content": "x"}),
            &NoFiles,
        )
        .unwrap_err();
        assert!(err.to_string().contains("content"), "{err}");
        let err = build(json!({"src": "", "dest": "/f"}), &NoFiles).unwrap_err();
        assert!(err.to_string().contains("src is empty"), "{err}");
    }
}
