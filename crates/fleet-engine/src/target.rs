//! Turns an inventory host into the SSH target the transport connects to.

use fleet_inventory::Host;
use fleet_ssh::{JumpTarget, Target};

/// Builds the SSH target for `host`.
///
/// Only the connection vars the inventory sets explicitly are passed on, so
/// that `~/.ssh/config` (HostName, Port, User) still applies to the rest.
pub fn ssh_target(host: &Host) -> Target {
    let conn = &host.connection;
    let explicit = |key: &str| host.vars.contains_key(key);
    Target {
        name: host.name.clone(),
        address: conn.address.clone(),
        port: explicit("port").then_some(conn.port),
        user: conn.user.clone(),
        identity_file: conn.identity_file.clone(),
        jump: conn.jump.as_ref().map(|jump| JumpTarget {
            user: jump.user.clone(),
            host: jump.host.clone(),
            port: jump.port,
        }),
    }
}
