pub mod apply;
pub mod become_flags;
pub mod extra_vars;
pub mod inventory;
pub mod listing;
pub mod release;
pub mod run;
pub mod start_at;
pub mod vault;
pub mod vault_args;
pub mod vault_edit;
pub mod vault_string;

use std::path::PathBuf;

use std::path::Path;

use fleet_inventory::Inventory;

use crate::cli::{Selection, SshArgs};
use crate::error::CliError;

/// The inventory sources: `-i`, else `inventory` of ansible.cfg (or
/// `ANSIBLE_INVENTORY`), a list either way.
pub fn inventory_sources(selection: &Selection, ssh: &SshArgs) -> Result<Vec<PathBuf>, CliError> {
    if !selection.inventory.is_empty() {
        return Ok(selection.inventory.clone());
    }
    match &ssh.config.inventory {
        Some(paths) if !paths.is_empty() => Ok(paths.clone()),
        _ => Err(CliError::Usage(
            "no inventory: pass `-i FILE`\n  hint: or set `inventory` in ansible.cfg's \
             [defaults] (or ANSIBLE_INVENTORY)"
                .to_owned(),
        )),
    }
}

/// The inventory `-i` (or ansible.cfg) names, with its `group_vars/` and
/// `host_vars/` folders and those next to the playbook (when there is one),
/// with `-u` applied, then
/// ansible.cfg's `remote_user` and ProxyJump where the inventory sets none.
/// The vault passwords are gathered first: the inventory's vars files may
/// be vaulted, and so may everything read after it.
pub fn load_inventory(
    selection: &Selection,
    ssh: &SshArgs,
    playbook: Option<&Path>,
) -> Result<Inventory, CliError> {
    vault::install_run_keyring(&selection.vault, ssh.config.vault_password_file())?;
    let sources = inventory_sources(selection, ssh)?;
    let playbook_dir = playbook.map(|path| path.parent().unwrap_or(Path::new("")));
    let mut inventory = Inventory::load_sources(&sources, playbook_dir)?;
    if let Some(user) = &ssh.user {
        inventory.set_user(user);
    } else if let Some(user) = &ssh.config.remote_user {
        inventory.set_default_user(user);
    }
    if let Some(jump) = ssh.config.jump() {
        inventory.set_default_jump(jump);
    }
    Ok(inventory)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;

    use super::*;
    use crate::ansible_cfg::AnsibleCfg;
    use crate::cli::{Cli, Command};

    const INVENTORY: &str = "\
all:
  hosts:
    own: {address: 10.0.0.1, user: alice, jump: \"gw2\"}
    bare: {address: 10.0.0.2}
    here: {connection: local}
";

    fn selection_and_ssh(args: &[&str], config: AnsibleCfg) -> (Selection, SshArgs) {
        let cli =
            Cli::try_parse_from(std::iter::once("fleet").chain(args.iter().copied())).unwrap();
        let Command::Inventory(inventory) = cli.command else {
            panic!("not inventory");
        };
        let mut ssh = cli.ssh;
        ssh.config = config;
        (inventory.selection, ssh)
    }

    fn inventory_file(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fleet-cfg-inv-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hosts.yaml");
        std::fs::write(&path, INVENTORY).unwrap();
        path
    }

    fn config(inventory: &Path) -> AnsibleCfg {
        AnsibleCfg {
            inventory: Some(vec![inventory.to_path_buf()]),
            remote_user: Some("deploy".parse().unwrap()),
            ssh_args: crate::ansible_cfg::SshArgs {
                jump: Some("ops@gw:2222".parse().unwrap()),
                ignored: Vec::new(),
            },
            ..AnsibleCfg::default()
        }
    }

    fn user_and_jump(inventory: &Inventory, name: &str) -> (Option<String>, Option<String>) {
        let connection = &inventory.host(name).unwrap().connection;
        (
            connection.user.clone(),
            connection.jump.as_ref().map(ToString::to_string),
        )
    }

    #[test]
    fn the_cfg_fills_in_what_the_inventory_leaves_open() {
        let path = inventory_file("fill");
        let (selection, ssh) = selection_and_ssh(&["inventory"], config(&path));
        assert_eq!(
            inventory_sources(&selection, &ssh).unwrap(),
            vec![path.clone()]
        );
        let inventory = load_inventory(&selection, &ssh, None).unwrap();
        let own = (Some("alice".to_owned()), Some("gw2".to_owned()));
        assert_eq!(user_and_jump(&inventory, "own"), own);
        let bare = (Some("deploy".to_owned()), Some("ops@gw:2222".to_owned()));
        assert_eq!(user_and_jump(&inventory, "bare"), bare);
        assert_eq!(user_and_jump(&inventory, "here"), (None, None));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn flags_win_over_the_cfg() {
        let path = inventory_file("flags");
        let elsewhere = PathBuf::from("/nonexistent/inventory.yaml");
        let args = ["inventory", "-i", path.to_str().unwrap(), "-u", "root"];
        let (selection, ssh) = selection_and_ssh(&args, config(&elsewhere));
        assert_eq!(
            inventory_sources(&selection, &ssh).unwrap(),
            vec![path.clone()]
        );
        let inventory = load_inventory(&selection, &ssh, None).unwrap();
        assert_eq!(user_and_jump(&inventory, "own").0.as_deref(), Some("root"));
        assert_eq!(user_and_jump(&inventory, "bare").0.as_deref(), Some("root"));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn without_an_inventory_anywhere_it_is_a_usage_error_and_the_cfg_may_name_several() {
        let (selection, ssh) = selection_and_ssh(&["inventory"], AnsibleCfg::default());
        let err = inventory_sources(&selection, &ssh).unwrap_err();
        assert!(
            err.to_string().starts_with("no inventory: pass `-i FILE`"),
            "{err}"
        );
        let several = AnsibleCfg {
            inventory: Some(vec!["a.yaml".into(), "b.yaml".into()]),
            ..AnsibleCfg::default()
        };
        let (selection, ssh) = selection_and_ssh(&["inventory"], several);
        assert_eq!(
            inventory_sources(&selection, &ssh).unwrap(),
            vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]
        );
    }
}
