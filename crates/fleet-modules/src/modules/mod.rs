//! One file per module: its params struct, its probe and its plan.

pub mod apt;
pub mod apt_key;
pub mod apt_repository;
pub mod archive_create;
pub mod assert;
pub mod authorized_key;
pub mod blockinfile;
pub mod command;
pub mod copy;
pub mod cron;
pub mod deb822_repository;
pub mod debug;
pub mod fail;
pub mod fetch;
pub mod file;
pub mod find;
pub mod get_url;
pub mod git;
pub mod group;
pub mod hostname;
pub mod include_vars;
pub mod known_hosts;
pub mod lineinfile;
pub mod locale_gen;
pub mod mount;
pub mod package;
pub mod package_facts;
pub mod pam_limits;
pub mod pause;
pub mod pip;
pub mod postgresql_db;
pub mod postgresql_pg_hba;
pub mod postgresql_privs;
pub mod postgresql_query;
pub mod postgresql_user;
pub mod raw;
pub mod release;
pub mod replace;
pub mod script;
pub mod service;
pub mod service_facts;
pub mod set_fact;
pub mod setup;
pub mod shell;
pub mod slurp;
pub mod stat;
pub mod synchronize;
pub mod sysctl;
pub mod systemd;
pub mod template;
pub mod timezone;
pub mod ufw;
pub mod unarchive;
pub mod uri;
pub mod user;
pub mod wait_for;

// Helpers shared by the file modules.
mod apt_params;
mod apt_sources;
mod archive;
mod archive_listing;
mod content_file;
mod copy_remote;
mod copy_tree;
mod cron_tab;
mod de;
mod deb822_fields;
mod file_attrs;
mod find_listing;
mod generic;
mod get_url_checksum;
mod git_facts;
mod line_edit;
mod mount_fstab;
mod path_facts;
mod postgres;
mod pyre;
mod setup_extra;
mod setup_hardware;
mod setup_local;
mod setup_network;
mod setup_script;
mod setup_small;
mod setup_system;
mod synchronize_excludes;
mod validate;

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::Value;

    use crate::{Controller, ModuleError};

    /// A controller with one file, `files/motd` ("hello\n"), templates
    /// that render to their own name, one variable, `motd` ("hello motd"),
    /// and conditions that hold when they read `true`.
    pub struct NoFiles;

    impl Controller for NoFiles {
        fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
            match src {
                "files/motd" => Ok(b"hello\n".to_vec()),
                _ => Err(ModuleError::ControllerFile {
                    path: src.to_string(),
                    reason: "not found".into(),
                }),
            }
        }
        fn render_template(&self, src: &str) -> Result<String, ModuleError> {
            Ok(format!("rendered {src}\n"))
        }
        fn read_vars(
            &self,
            source: &super::include_vars::VarsSource,
        ) -> Result<super::include_vars::IncludedVars, ModuleError> {
            let super::include_vars::VarsSource::File(file) = source else {
                return Ok(Default::default());
            };
            let mut vars = serde_json::Map::new();
            vars.insert("from".into(), Value::String(file.clone()));
            Ok(super::include_vars::IncludedVars {
                vars,
                files: vec![file.clone()],
            })
        }
        fn condition(&self, expression: &str) -> Result<bool, ModuleError> {
            Ok(expression.trim() == "true")
        }
        fn variable(&self, expression: &str) -> Result<Option<Value>, ModuleError> {
            Ok((expression == "motd").then(|| Value::String("hello motd".into())))
        }
    }
}
