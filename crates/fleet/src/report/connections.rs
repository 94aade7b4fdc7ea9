//! `-vv`: how each host of a playbook run is reached, printed before the
//! first play from what fleet knows without contacting it (ssh_config may
//! still fill in what the inventory leaves open).

use std::path::Path;

use fleet_engine::runs_locally;
use fleet_inventory::Host;
use fleet_playbook::Play;

/// One `CONNECT host how` line per host, in the order the plays first
/// name them. `identity` is `--identity`, tried after the host's own key.
pub fn lines(plays: &[(&Play, Vec<&Host>)], identity: Option<&Path>) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut lines = Vec::new();
    for (play, hosts) in plays {
        for host in hosts {
            if seen.contains(&host.name.as_str()) {
                continue;
            }
            seen.push(&host.name);
            lines.push(format!(
                "CONNECT {} {}",
                host.name,
                how(play, host, identity)
            ));
        }
    }
    lines
}

fn how(play: &Play, host: &Host, identity: Option<&Path>) -> String {
    if runs_locally(host, play.connection) {
        return "local (on the controller, as the user running fleet)".to_string();
    }
    let conn = &host.connection;
    let mut text = String::from("ssh ");
    match &conn.user {
        Some(user) => text.push_str(&format!("{user}@{}", conn.address)),
        None => text.push_str(&conn.address),
    }
    if host.vars.contains_key("port") {
        text.push_str(&format!(":{}", conn.port));
    }
    if let Some(jump) = &conn.jump {
        text.push_str(&format!(" via {jump}"));
    }
    let keys: Vec<String> = conn
        .identity_file
        .as_deref()
        .into_iter()
        .chain(identity)
        .map(|key| key.display().to_string())
        .collect();
    if !keys.is_empty() {
        text.push_str(&format!(" key {}", keys.join(", ")));
    }
    if conn.user.is_none() {
        text.push_str(" (user from ssh_config, else yours)");
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use fleet_inventory::Inventory;
    use fleet_playbook::LoadOptions;

    use super::*;

    #[test]
    fn each_host_once_with_what_the_inventory_and_flags_say() {
        let yaml = "all:\n  hosts:\n    web1: {address: 10.0.0.1, user: deploy, port: 2222, jump: ops@bastion, identity_file: /keys/web}\n    web2: {address: 10.0.0.2}\n    ctl: {connection: local}\n";
        let inventory = Inventory::parse(yaml, Path::new("inv.yaml")).unwrap();
        let dir = std::env::temp_dir().join(format!("fleet-connections-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path: PathBuf = dir.join("playbook.yaml");
        std::fs::write(
            &path,
            "- hosts: all\n  tasks: []\n- hosts: web1\n  tasks: []\n",
        )
        .unwrap();
        let playbook = fleet_playbook::load(&path, &LoadOptions::default()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let hosts: Vec<&Host> = inventory.hosts().iter().collect();
        let plays = [
            (&playbook.plays[0], hosts.clone()),
            (&playbook.plays[1], hosts[..1].to_vec()),
        ];
        assert_eq!(
            lines(&plays, Some(Path::new("/keys/mine"))),
            [
                "CONNECT web1 ssh deploy@10.0.0.1:2222 via ops@bastion key /keys/web, /keys/mine",
                "CONNECT web2 ssh 10.0.0.2 key /keys/mine (user from ssh_config, else yours)",
                "CONNECT ctl local (on the controller, as the user running fleet)",
            ]
        );
    }
}
