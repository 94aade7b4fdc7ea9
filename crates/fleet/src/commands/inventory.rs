//! `fleet inventory`: the selected hosts and their resolved vars (with
//! `-u` applied, so that it shows whom fleet logs in as).

use std::io::Write;

use serde_json::json;

use crate::cli::{Format, InventoryArgs, SshArgs};
use crate::commands::load_inventory;
use crate::error::CliError;
use crate::exit::Exit;

pub fn show(args: InventoryArgs, ssh: &SshArgs) -> Result<Exit, CliError> {
    let inventory = load_inventory(&args.selection, ssh, None)?;
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
