pub mod apply;
pub mod become_flags;
pub mod extra_vars;
pub mod inventory;
pub mod listing;
pub mod release;
pub mod run;
pub mod start_at;

use std::path::PathBuf;

use fleet_inventory::Inventory;

use crate::cli::{Selection, SshArgs};
use crate::error::CliError;

/// The inventory sources: `-i`, else `inventory` of ansible.cfg (or
/// `ANSIBLE_INVENTORY`), a list either way.
pub fn inventory_sources(selection: &Selection, ssh: &SshArgs) -> Result<Vec<PathBuf>, CliError> {
    if let Some(path) = &selection.inventory {
        return Ok(vec![path.clone()]);
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

/// The inventory `-i` (or ansible.cfg) names, with `-u` applied, then
/// ansible.cfg's `remote_user` and ProxyJump where the inventory sets none.
pub fn load_inventory(selection: &Selection, ssh: &SshArgs) -> Result<Inventory, CliError> {
    let sources = inventory_sources(selection, ssh)?;
    let mut inventory = match sources.as_slice() {
        [one] => Inventory::load(one)?,
        several => {
            let names: Vec<String> = several.iter().map(|p| p.display().to_string()).collect();
            return Err(CliError::Usage(format!(
                "ansible.cfg names several inventories ({}), and fleet reads one\n  \
                 hint: name one in `inventory`, or pass `-i FILE`",
                names.join(", ")
            )));
        }
    };
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
