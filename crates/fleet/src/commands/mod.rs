pub mod apply;
pub mod become_flags;
pub mod extra_vars;
pub mod inventory;
pub mod listing;
pub mod release;
pub mod run;
pub mod start_at;

use std::path::Path;

use fleet_inventory::Inventory;

use crate::cli::{Selection, SshArgs};
use crate::error::CliError;

/// The inventory `-i` names, with its `group_vars/` and `host_vars/`
/// folders and those next to the playbook (when there is one), with `-u`
/// applied.
pub fn load_inventory(
    selection: &Selection,
    ssh: &SshArgs,
    playbook: Option<&Path>,
) -> Result<Inventory, CliError> {
    let playbook_dir = playbook.map(|path| path.parent().unwrap_or(Path::new("")));
    let mut inventory = Inventory::load_sources(&selection.inventory, playbook_dir)?;
    if let Some(user) = &ssh.user {
        inventory.set_user(user);
    }
    Ok(inventory)
}
