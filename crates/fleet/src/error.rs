//! Everything that can stop a command before its hosts report results.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::ansible_cfg::CfgError),
    #[error(transparent)]
    Inventory(#[from] fleet_inventory::InventoryError),
    #[error(transparent)]
    Playbook(#[from] fleet_playbook::PlaybookError),
    #[error(transparent)]
    Ssh(#[from] fleet_ssh::SshError),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}
