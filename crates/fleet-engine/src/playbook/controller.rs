//! What modules may read on the controller: files next to the playbook,
//! templates rendered and expressions evaluated with the host's vars.

use std::path::{Path, PathBuf};

use fleet_modules::modules::include_vars::{IncludedVars, VarsSource};
use fleet_modules::{Controller, ModuleError};
use fleet_playbook::{Play, Templater};
use serde_json::Value;

pub struct PlayController<'a> {
    pub play: &'a Play,
    /// Where the task is written (`file:line:col`).
    pub origin: &'a str,
    /// The folder of the task's role, searched first.
    pub role_dir: Option<&'a Path>,
    pub templater: &'a Templater,
    pub vars: &'a Value,
}

impl PlayController<'_> {
    /// `src` as given when absolute, else the first that exists of: the
    /// role's `files/` and the role itself (for a task of a role), under
    /// the play's `files/`, next to the playbook (Ansible's search path),
    /// then from the current directory (for paths given with `-e`). None
    /// existing: next to the playbook, for the message.
    fn file_path(&self, src: &str) -> PathBuf {
        let path = PathBuf::from(src);
        if path.is_absolute() {
            return path;
        }
        let next_to_playbook = self.play.dir.join(src);
        let in_role = self
            .role_dir
            .into_iter()
            .flat_map(|role| [role.join("files").join(src), role.join(src)]);
        let mut candidates: Vec<PathBuf> = in_role.collect();
        candidates.extend([
            self.play.dir.join("files").join(src),
            next_to_playbook.clone(),
            path,
        ]);
        candidates
            .into_iter()
            .find(|path| path.exists())
            .unwrap_or(next_to_playbook)
    }
}

impl Controller for PlayController<'_> {
    /// A vault-encrypted file is read as its plaintext (Ansible's
    /// `decrypt: true`, the default of copy and unarchive), which becomes a
    /// secret the outputs mask.
    fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
        let path = self.file_path(src);
        let failed = |reason: String| ModuleError::ControllerFile {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(&path).map_err(|err| failed(err.to_string()))?;
        if !fleet_vault::is_encrypted(&bytes) {
            return Ok(bytes);
        }
        let plaintext = fleet_vault::decrypt_loaded(&bytes)
            .map_err(|err| failed(format!("cannot decrypt this vault-encrypted file: {err}")))?
            .plaintext;
        fleet_vault::register_content(&String::from_utf8_lossy(&plaintext));
        Ok(plaintext)
    }

    fn read_tree(&self, src: &str) -> Result<Vec<fleet_modules::LocalEntry>, ModuleError> {
        // The trailing `/` of `src` means its contents; the search keeps it.
        let path = self.file_path(src.trim_end_matches('/'));
        fleet_modules::read_local_tree(&path).map_err(|reason| ModuleError::ControllerFile {
            path: path.display().to_string(),
            reason,
        })
    }

    fn tree_path(&self, src: &str) -> String {
        self.file_path(src.trim_end_matches('/'))
            .display()
            .to_string()
    }

    fn local_path(&self, path: &str) -> String {
        self.play.dir.join(path).display().to_string()
    }

    fn playbook(&self) -> String {
        origin_file(&self.play.origin).to_string()
    }

    fn read_vars(&self, source: &VarsSource) -> Result<IncludedVars, ModuleError> {
        fleet_playbook::read_included_vars(self.play, self.role_dir, self.origin, source)
            .map_err(ModuleError::Failed)
    }

    fn condition(&self, expression: &str) -> Result<bool, ModuleError> {
        self.templater
            .eval_bool(expression, self.vars)
            .map_err(|err| ModuleError::Failed(err.to_string()))
    }

    fn variable(&self, expression: &str) -> Result<Option<Value>, ModuleError> {
        self.templater
            .eval_value(expression, self.vars)
            .map_err(|err| ModuleError::Failed(err.to_string()))
    }

    fn render_template(&self, src: &str) -> Result<String, ModuleError> {
        self.render_template_with(src, true, false)
    }

    fn render_template_with(
        &self,
        src: &str,
        trim_blocks: bool,
        lstrip_blocks: bool,
    ) -> Result<String, ModuleError> {
        let path = self
            .play
            .template_path_in(self.role_dir, src)
            .ok_or_else(|| ModuleError::Template {
                path: src.to_string(),
                reason: "not found next to the playbook or in templates/".into(),
            })?;
        // Template files see `ansible_managed`, unless a variable sets it.
        let mut vars = self.vars.clone();
        if let Value::Object(map) = &mut vars {
            map.entry("ansible_managed")
                .or_insert_with(|| Value::from(fleet_playbook::ANSIBLE_MANAGED));
        }
        let whitespace = fleet_playbook::Whitespace {
            trim_blocks,
            lstrip_blocks,
        };
        self.templater
            .render_file_with(&path, &vars, whitespace)
            .map_err(|err| ModuleError::Template {
                path: path.display().to_string(),
                reason: err.to_string(),
            })
    }
}

/// The file of an origin written `file:line:col`.
fn origin_file(origin: &str) -> &str {
    let mut rest = origin;
    for _ in 0..2 {
        match rest.rsplit_once(':') {
            Some((head, number))
                if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
            {
                rest = head;
            }
            _ => return rest,
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::origin_file;

    #[test]
    fn the_playbook_is_the_file_of_the_plays_origin() {
        assert_eq!(
            origin_file("playbooks/release.yaml:6:3"),
            "playbooks/release.yaml"
        );
        assert_eq!(origin_file("C:/x/site.yaml:1:1"), "C:/x/site.yaml");
        assert_eq!(origin_file("p.yaml"), "p.yaml");
        assert_eq!(origin_file(""), "");
    }
}
