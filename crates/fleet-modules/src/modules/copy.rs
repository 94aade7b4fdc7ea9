//! `copy`: puts a file on the host, from `content` or from a controller
//! file (`src`), like Ansible's. Content changes are uploaded atomically;
//! attribute-only changes are a `chown`/`chmod`.

use serde::Deserialize;
use serde_json::Value;

use crate::modules::content_file::{WriteFile, basename};
use crate::modules::copy_remote::RemoteCopy;
use crate::modules::copy_tree::TreeCopy;
use crate::modules::de;
use crate::modules::file_attrs::Attrs;
use crate::modules::validate::Validate;
use crate::{Controller, LocalKind, Module, ModuleError, parse_params};

pub const PARAMS: &[&str] = &[
    "src",
    "content",
    "dest",
    "mode",
    "owner",
    "group",
    "backup",
    "force",
    "validate",
    "remote_src",
    "directory_mode",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyParams {
    /// A controller file (under the play's `files/`, or next to it).
    pub src: Option<String>,
    pub content: Option<String>,
    pub dest: String,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    /// `false`: only create, never replace.
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub force: bool,
    /// A command checking the new file (`%s`) before it replaces `dest`.
    pub validate: Option<String>,
    /// `src` is on the host, not the controller.
    #[serde(default, deserialize_with = "de::boolean")]
    pub remote_src: bool,
    /// The mode of directories created for a `dest` ending in `/`.
    #[serde(default, deserialize_with = "de::mode")]
    pub directory_mode: Option<u32>,
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: CopyParams = parse_params("copy", params)?;
    let invalid = |message: &str| ModuleError::Params {
        module: "copy".into(),
        message: message.into(),
    };
    if params.dest.is_empty() {
        return Err(invalid("dest is empty"));
    }
    let dir_attrs = Attrs::new(
        "copy",
        params.directory_mode,
        params.owner.clone(),
        params.group.clone(),
    )?;
    let attrs = Attrs::new("copy", params.mode, params.owner, params.group)?;
    if params.remote_src && params.content.is_none() {
        let Some(src) = params.src.filter(|src| !src.is_empty()) else {
            return Err(invalid("src (or content) is required"));
        };
        if params.validate.is_some() {
            return Err(invalid("validate is not supported with remote_src"));
        }
        return Ok(Box::new(RemoteCopy {
            src,
            dest: params.dest,
            attrs,
            dir_attrs,
            backup: params.backup,
            force: params.force,
        }));
    }
    let validate = params
        .validate
        .map(|text| Validate::parse("copy", &text))
        .transpose()?;
    let (contents, source_name) = match (params.src, params.content) {
        (Some(_), Some(_)) => return Err(invalid("src and content are mutually exclusive")),
        (None, None) => return Err(invalid("one of src or content is required")),
        (None, Some(_)) if params.dest.ends_with('/') => {
            return Err(invalid("can not use content with a directory as dest"));
        }
        (None, Some(content)) => (content.into_bytes(), None),
        (Some(src), None) => {
            if src.is_empty() {
                return Err(invalid("src is empty"));
            }
            // A controller directory: its tree is copied.
            if let Ok(entries) = controller.read_tree(&src)
                && entries
                    .first()
                    .is_some_and(|top| top.kind == LocalKind::Dir)
            {
                if validate.is_some() {
                    return Err(invalid("validate is not supported with a directory src"));
                }
                return Ok(Box::new(TreeCopy::new(
                    &src,
                    &params.dest,
                    entries,
                    controller,
                    attrs,
                    dir_attrs,
                    params.force,
                )));
            }
            let contents = controller.read_file(&src)?;
            (contents, Some(basename(&src).to_string()))
        }
    };
    let mut write = WriteFile::new(
        &params.dest,
        source_name.as_deref(),
        contents,
        attrs,
        params.backup,
        params.force,
    )
    .validated(validate);
    write.dir_attrs = dir_attrs;
    Ok(Box::new(write))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::content_file::sha256_hex;
    use crate::modules::tests::NoFiles;
    use crate::{Probe, Step};
    use serde_json::json;

    fn copy(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    fn error(params: Value) -> String {
        build(params, &NoFiles).unwrap_err().to_string()
    }

    fn found_file(path: &str, content: &str) -> Probe {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        Probe::ok(&format!(
            "path={path}\nme=0:0\nparent=1\nkind=file\nmode=644\nuid=0\ngid=0\nowner=root\n\
             group=root\nsize={}\nreal={path}\nsha256={}\ncontent={encoded}\n",
            content.len(),
            sha256_hex(content.as_bytes())
        ))
    }

    #[test]
    fn src_into_a_directory_uses_the_basename() {
        let module = copy(json!({"src": "files/motd", "dest": "/etc"}));
        let probe = module.probe().unwrap();
        assert!(
            probe.contains(
                "\nname=motd\nif [ -d \"$t\" ]; then parent=$t; t=\"${t%/}\"/\"$name\"; fi\n"
            ),
            "{probe}"
        );
        let module = copy(json!({"src": "files/motd", "dest": "/srv/new/"}));
        let probe = module.probe().unwrap();
        assert!(probe.starts_with("t=/srv/new/motd\n"), "{probe}");
        let plan = module
            .plan(&Probe::ok(
                "path=/srv/new/motd\nme=0:0\nparent=0\nkind=absent\n",
            ))
            .unwrap();
        assert_eq!(plan.steps[0].script_text(), Some("mkdir -p -- /srv/new\n"));
        assert!(matches!(&plan.steps[1], Step::Upload { contents, .. } if contents == b"hello\n"));
    }

    #[test]
    fn content_is_compared_with_the_file() {
        let module = copy(json!({"content": "hello\n", "dest": "/etc/motd"}));
        assert!(
            !module
                .plan(&found_file("/etc/motd", "hello\n"))
                .unwrap()
                .changed
        );
        let plan = module.plan(&found_file("/etc/motd", "old\n")).unwrap();
        assert!(plan.changed);
        assert!(plan.diff.unwrap().contains("-old\n+hello\n"));
    }

    #[test]
    fn force_false_leaves_existing_files() {
        let module = copy(json!({"content": "x", "dest": "/f", "force": "no", "mode": "0600"}));
        let plan = module.plan(&found_file("/f", "y")).unwrap();
        assert!(!plan.changed);
        assert_eq!(plan.msg.as_deref(), Some("/f exists (force: false)"));
    }

    #[test]
    fn params_are_checked() {
        assert!(error(json!({"content": "x", "dest": "/f", "mdoe": "0644"})).contains("mdoe"));
        assert!(error(json!({"dest": "/f"})).contains("one of src or content"));
        assert!(
            error(json!({"src": "files/motd", "content": "x", "dest": "/f"})).contains("exclusive")
        );
        assert!(error(json!({"content": "x", "dest": "/etc/"})).contains("directory"));
        assert!(error(json!({"content": "x", "dest": "/f", "mode": 644})).contains("quoted"));
        assert!(error(json!({"content": "x", "dest": "/f", "owner": "a b"})).contains("owner"));
        assert!(error(json!({"src": "files/missing", "dest": "/f"})).contains("files/missing"));
        assert!(error(json!({"content": "x"})).contains("dest"));
    }

    #[test]
    fn validate_checks_the_new_file_before_the_rename() {
        let module = copy(json!({
            "dest": "/etc/sudoers.d/app", "content": "app ALL=(ALL) NOPASSWD: ALL\n",
            "validate": "/usr/sbin/visudo -csf %s",
        }));
        let plan = module
            .plan(&Probe::ok(
                "path=/etc/sudoers.d/app\nme=0:0\nparent=1\nkind=absent\n",
            ))
            .unwrap();
        let script = plan.steps[0].script_text().unwrap();
        assert!(
            script.contains("/usr/sbin/visudo -csf \"$tmp\"\n"),
            "{script}"
        );
        assert!(script.contains("chmod 0644 -- \"$tmp\""), "{script}");
        let unchanged = module
            .plan(&found_file(
                "/etc/sudoers.d/app",
                "app ALL=(ALL) NOPASSWD: ALL\n",
            ))
            .unwrap();
        assert!(!unchanged.changed, "{unchanged:?}");
        assert!(error(json!({"dest": "/f", "content": "x", "validate": "true"})).contains("%s"));
    }
}
