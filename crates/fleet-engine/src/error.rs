//! Errors the engine reports before or instead of running anything.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Inventory(#[from] fleet_inventory::InventoryError),
    #[error(transparent)]
    Ssh(#[from] fleet_ssh::SshError),
}
