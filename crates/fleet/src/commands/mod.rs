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

use fleet_inventory::Inventory;

use crate::cli::{Selection, SshArgs};
use crate::error::CliError;

/// The inventory `-i` names, with `-u` applied. The vault passwords are
/// gathered first: the inventory's vars files may be vaulted, and so may
/// everything read after it.
pub fn load_inventory(selection: &Selection, ssh: &SshArgs) -> Result<Inventory, CliError> {
    vault::install_run_keyring(&selection.vault)?;
    let mut inventory = Inventory::load(&selection.inventory)?;
    if let Some(user) = &ssh.user {
        inventory.set_user(user);
    }
    Ok(inventory)
}
