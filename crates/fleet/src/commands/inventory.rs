//! `fleet inventory`: the selected hosts and their resolved vars.

use std::io::Write;

use fleet_inventory::Inventory;
use serde_json::json;

use crate::cli::{Format, InventoryArgs};
use crate::error::CliError;
use crate::exit::Exit;

pub fn show(args: InventoryArgs) -> Result<Exit, CliError> {
    let inventory = Inventory::load(&args.selection.inventory)?;
    let hosts = inventory.select(&args.selection.limit)?;
    let mut out = std::io::stdout().lock();
    for host in hosts {
        match args.selection.format {
            Format::Json => {
                let line = json!({
                    "event": "host",
                    "name": host.name,
                    "groups": host.groups,
                    "vars": host.vars,
                });
                writeln!(out, "{line}")?;
            }
            Format::Human => {
                writeln!(out, "{}  [{}]", host.name, host.groups.join(", "))?;
                for (key, value) in &host.vars {
                    writeln!(out, "    {key}: {value}")?;
                }
            }
        }
    }
    Ok(Exit::Success)
}
